/**
 * The JSON API's self and audit routes (API.md "Self and audit"), bearer-only authentication,
 * POST /api/v1/tokens (credentials, throttling, the second factor) and WRITE_LIMIT.
 */
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as path from 'node:path';
import { generate } from 'otplib';
import request from 'supertest';
import { createApp } from '../../server/app.js';
import { addUser, disableUser } from '../../server/services/accounts/users.js';
import { setSecuritySettings } from '../../server/services/settings/securitySettings.js';
import { beginTotp, confirmTotp } from '../../server/services/auth/totp.js';
import { createToken, revokeToken } from '../../server/services/auth/tokens.js';
import { FileSessionStore } from '../../server/store/sessions/fileSessionStore.js';
import { csrfOf, makeUser, signedIn } from '../helpers/auth.js';
import { openTestApp, testClock } from '../helpers/data.js';

describe('http/accountApi', () => {
  const clock = testClock('2026-01-15T10:00:00Z');
  let t: Awaited<ReturnType<typeof openTestApp>>;
  type U = Awaited<ReturnType<typeof makeUser>>;
  let alice: U; // member, wg-strategy
  let sam: U; // secretariat (not a member)
  let dora: U; // disabled below
  let ted: U; // second factor
  let aliceToken: string;
  let samToken: string;

  const PW = {
    alice: 'alice api password',
    sam: 'sam secretariat words',
    dora: 'dora will be disabled',
    ted: 'ted has totp on',
  };

  const bearer = (tok: string) => ({ Authorization: `Bearer ${tok}` });

  /** Every error answer: the status, exactly {error:{code,message}} — plus `fields` for refused input (docs/API.md "Errors") —, the code. */
  function expectError(res: request.Response, status: number, code: string) {
    expect([res.status, res.body?.error?.code]).toEqual([status, code]);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(Object.keys(res.body)).toEqual(['error']);
    const { fields, ...rest } = res.body.error;
    expect(Object.keys(rest).sort()).toEqual(['code', 'message']);
    if (fields !== undefined) {
      expect(status).toBe(400);
      expect(fields).toEqual(expect.arrayContaining([expect.objectContaining({ code })]));
      for (const f of fields) expect(Object.keys(f).sort()).toEqual(['code', 'message', 'path']);
    }
  }

  beforeAll(async () => {
    t = await openTestApp({ clock });
    [alice, sam, dora, ted] = await Promise.all([
      makeUser(t.ctx, {
        email: 'alice@example.org',
        name: 'Alice Api',
        roles: ['member'],
        groups: ['wg-strategy'],
        password: PW.alice,
      }),
      makeUser(t.ctx, { email: 'sam@example.org', name: 'Sam Sec', roles: ['secretariat'], password: PW.sam }),
      makeUser(t.ctx, { email: 'dora@example.org', name: 'Dora Gone', password: PW.dora }),
      makeUser(t.ctx, { email: 'ted@example.org', name: 'Ted Totp', password: PW.ted }),
    ]);
    aliceToken = (await createToken(t.ctx, CLI_ACTOR, alice)).token;
    samToken = (await createToken(t.ctx, CLI_ACTOR, sam)).token;
  }, 120_000);

  afterAll(async () => {
    await t.cleanup();
  });

  describe('GET /api/v1/me', () => {
    test('without a token: 401 unauthenticated', async () => {
      expectError(await request(t.app).get('/api/v1/me'), 401, 'unauthenticated');
    });

    test.each([['Bearer rat_notatoken'], ['Bearer garbage'], ['Bearer '], ['Basic YWxpY2U6cGFzcw=='], ['bearer']])(
      'with %j: 401 invalid_token',
      async (h) => {
        expectError(await request(t.app).get('/api/v1/me').set('Authorization', h), 401, 'invalid_token');
      },
    );

    test('with a good token: exactly {email,name,roles,groups}', async () => {
      const res = await request(t.app).get('/api/v1/me').set(bearer(aliceToken));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        email: 'alice@example.org',
        name: 'Alice Api',
        roles: ['member'],
        groups: ['wg-strategy'],
      });
    });

    test('the API ignores cookies: a signed-in browser session without a bearer token is the public', async () => {
      const agent = await signedIn(t.app, 'alice@example.org', PW.alice);
      expect((await agent.get('/account')).status).toBe(200);
      expectError(await agent.get('/api/v1/me'), 401, 'unauthenticated');
      expectError(await agent.get('/api/v1/audit'), 401, 'unauthenticated');
    });

    test('a revoked token: 401 invalid_token', async () => {
      const { token, record } = await createToken(t.ctx, CLI_ACTOR, alice, 'short-lived');
      expect((await request(t.app).get('/api/v1/me').set(bearer(token))).status).toBe(200);
      await revokeToken(t.ctx, alice.actor, record.id);
      expectError(await request(t.app).get('/api/v1/me').set(bearer(token)), 401, 'invalid_token');
    });

    test("a disabled user's token: 401 invalid_token", async () => {
      const { token } = await createToken(t.ctx, CLI_ACTOR, dora);
      expect((await request(t.app).get('/api/v1/me').set(bearer(token))).status).toBe(200);
      await disableUser(t.ctx, CLI_ACTOR, 'dora@example.org');
      expectError(await request(t.app).get('/api/v1/me').set(bearer(token)), 401, 'invalid_token');
    });
  });

  describe('POST /api/v1/tokens', () => {
    test('good credentials: 201 {token}, which works; audit token.created', async () => {
      const res = await request(t.app)
        .post('/api/v1/tokens')
        .send({ email: 'Alice@Example.org', password: PW.alice, label: 'my script' });
      expect(res.status).toBe(201);
      expect(Object.keys(res.body)).toEqual(['token']);
      expect(res.body.token).toMatch(/^rat_[A-Za-z0-9_-]{40,}$/);
      expect((await t.ctx.meta.auditLog(1))[0]).toMatchObject({
        action: 'token.created',
        subject: 'user/alice@example.org',
      });
      const me = await request(t.app).get('/api/v1/me').set(bearer(res.body.token));
      expect(me.body.email).toBe('alice@example.org');
    });

    test('bad credentials: 401 bad_credentials and an audit line login.failed (unknown e-mail alike)', async () => {
      expectError(
        await request(t.app).post('/api/v1/tokens').send({ email: 'alice@example.org', password: 'not it at all' }),
        401,
        'bad_credentials',
      );
      expect((await t.ctx.meta.auditLog(1))[0]).toMatchObject({
        action: 'login.failed',
        subject: 'user/alice@example.org',
      });
      expectError(
        await request(t.app).post('/api/v1/tokens').send({ email: 'ghost@example.org', password: 'not it at all' }),
        401,
        'bad_credentials',
      );
    });

    test("a disabled user's right password: 401", async () => {
      expectError(
        await request(t.app).post('/api/v1/tokens').send({ email: 'dora@example.org', password: PW.dora }),
        401,
        'bad_credentials',
      );
    });

    test.each([
      ['an empty object', {}],
      ['no password', { email: 'alice@example.org' }],
      ['a number for the e-mail', { email: 1, password: 'x' }],
      ['an array', [PW.alice]],
      ['an over-long e-mail', { email: `${'a'.repeat(400)}@x.org`, password: 'x' }],
    ])('a malformed body (%s): 400 invalid_input', async (_what, body) => {
      expectError(
        await request(t.app)
          .post('/api/v1/tokens')
          .send(body as object),
        400,
        'invalid_input',
      );
    });

    test('not JSON: 400 (invalid_json, or invalid_input for another content type), never 5xx', async () => {
      expectError(
        await request(t.app).post('/api/v1/tokens').set('Content-Type', 'application/json').send('{"email":'),
        400,
        'invalid_json',
      );
      const xml = await request(t.app).post('/api/v1/tokens').set('Content-Type', 'text/xml').send('<x/>');
      expect(xml.status).toBe(400);
    });

    test('the 11th failure for an account is 429 with Retry-After, even with the right password, except where the account signed in before', async () => {
      const ip = '10.2.2.2';
      // Sam made a token from his usual address earlier.
      expect(
        (
          await request(t.app)
            .post('/api/v1/tokens')
            .set('X-Forwarded-For', '10.2.2.3')
            .send({ email: 'sam@example.org', password: PW.sam })
        ).status,
      ).toBe(201);
      for (let i = 1; i <= 10; i++) {
        const res = await request(t.app)
          .post('/api/v1/tokens')
          .set('X-Forwarded-For', ip)
          .send({ email: 'sam@example.org', password: `guess number ${i}` });
        expect([i, res.status]).toEqual([i, 401]);
      }
      const res = await request(t.app)
        .post('/api/v1/tokens')
        .set('X-Forwarded-For', ip)
        .send({ email: 'sam@example.org', password: PW.sam });
      expectError(res, 429, 'too_many_attempts');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      // The count is per account: another new address is refused too…
      expectError(
        await request(t.app)
          .post('/api/v1/tokens')
          .set('X-Forwarded-For', '10.2.2.4')
          .send({ email: 'sam@example.org', password: PW.sam }),
        429,
        'too_many_attempts',
      );
      // …but the address Sam used before keeps its own budget.
      expect(
        (
          await request(t.app)
            .post('/api/v1/tokens')
            .set('X-Forwarded-For', '10.2.2.3')
            .send({ email: 'sam@example.org', password: PW.sam })
        ).status,
      ).toBe(201);
    }, 120_000);
  });

  describe('POST /api/v1/tokens for an account with a second factor', () => {
    let secret: string;
    const epoch = () => Math.floor(clock().getTime() / 1000);

    beforeAll(async () => {
      ({ secret } = await beginTotp(t.ctx, ted.actor));
      await confirmTotp(t.ctx, ted.actor, await generate({ secret, epoch: epoch() }));
      clock.advance(30_000);
    });

    test('the password alone: 401; a wrong code: 401; the current code: 201', async () => {
      expectError(
        await request(t.app).post('/api/v1/tokens').send({ email: 'ted@example.org', password: PW.ted }),
        401,
        'unauthenticated',
      );
      expectError(
        await request(t.app)
          .post('/api/v1/tokens')
          .send({ email: 'ted@example.org', password: PW.ted, code: 'abcdef' }),
        401,
        'unauthenticated',
      );
      const res = await request(t.app)
        .post('/api/v1/tokens')
        .send({ email: 'ted@example.org', password: PW.ted, code: await generate({ secret, epoch: epoch() }) });
      expect(res.status).toBe(201);
    });

    test('guessing the code is throttled too: the 11th wrong code (right password) is 429', async () => {
      clock.advance(15 * 60_000); // the wrong code above counted for this account
      const ip = '10.3.3.3';
      const window = await Promise.all([-30, 0, 30].map((d) => generate({ secret, epoch: epoch() + d })));
      const wrongCodes: string[] = [];
      for (let n = 0; wrongCodes.length < 11; n++) {
        const c = String(100000 + n * 7919).slice(0, 6);
        if (!window.includes(c)) wrongCodes.push(c);
      }
      const statuses: number[] = [];
      for (const code of wrongCodes) {
        const res = await request(t.app)
          .post('/api/v1/tokens')
          .set('X-Forwarded-For', ip)
          .send({ email: 'ted@example.org', password: PW.ted, code });
        statuses.push(res.status);
      }
      expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
      expect(statuses[10]).toBe(429);
    }, 120_000);
  });

  describe('GET /api/v1/audit', () => {
    test('public: 401; a member: 403', async () => {
      expectError(await request(t.app).get('/api/v1/audit'), 401, 'unauthenticated');
      expectError(await request(t.app).get('/api/v1/audit').set(bearer(aliceToken)), 403, 'forbidden');
    });

    test('secretariat: 200, newest first, exactly {seq,at,actor,action,subject} (+ meta {ip,ua} on sign-in events)', async () => {
      clock.advance(1000);
      await request(t.app).post('/api/v1/tokens').send({ email: 'alice@example.org', password: 'wrong once more' });
      clock.advance(1000);
      await createToken(t.ctx, sam.actor, alice, 'newest');
      const res = await request(t.app).get('/api/v1/audit').set(bearer(samToken));
      expect(res.status).toBe(200);
      expect(Array.isArray(res.body)).toBe(true);
      expect(res.body.length).toBeGreaterThan(5);
      for (const e of res.body) {
        // Sign-in events also carry the client (IP address and user agent).
        expect(Object.keys(e).sort()).toEqual(
          e.meta ? ['action', 'actor', 'at', 'meta', 'seq', 'subject'] : ['action', 'actor', 'at', 'seq', 'subject'],
        );
        if (e.meta) expect(Object.keys(e.meta).sort()).toEqual(['ip', 'ua']);
        expect(e.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      }
      expect(res.body[0]).toMatchObject({
        action: 'token.created',
        actor: 'sam@example.org',
        subject: 'user/alice@example.org',
      });
      expect(res.body[1]).toMatchObject({ action: 'login.failed', actor: null, subject: 'user/alice@example.org' });
      const times = res.body.map((e: { at: string }) => Date.parse(e.at));
      expect(times).toEqual([...times].sort((a, b) => b - a));
      // No secrets in the log.
      const all = JSON.stringify(res.body);
      for (const pw of Object.values(PW)) expect(all).not.toContain(pw);
      expect(all).not.toContain(aliceToken);
    });

    test('?limit=2 → two entries, the newest', async () => {
      const res = await request(t.app).get('/api/v1/audit?limit=2').set(bearer(samToken));
      expect(res.status).toBe(200);
      expect(res.body).toHaveLength(2);
      expect(res.body[0].action).toBe('token.created');
    });

    test('?before=SEQ pages back: the pages, joined, are the whole log, each entry once, newest first', async () => {
      const whole = (await request(t.app).get('/api/v1/audit?limit=10000').set(bearer(samToken))).body as {
        seq: number;
        action: string;
      }[];
      expect(whole.length).toBeGreaterThan(8);
      const joined: typeof whole = [];
      let before = '';
      for (let n = 0; n < 100; n++) {
        const res = await request(t.app).get(`/api/v1/audit?limit=3${before}`).set(bearer(samToken));
        expect(res.status).toBe(200);
        if (!res.body.length) break;
        joined.push(...res.body);
        before = `&before=${res.body.at(-1).seq}`;
      }
      expect(joined).toEqual(whole);
      const seqs = whole.map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    });

    test.each([['0'], ['abc'], ['-1'], ['1.5'], ['01']])('?before=%s → 400 invalid_before', async (v) => {
      expectError(await request(t.app).get(`/api/v1/audit?before=${v}`).set(bearer(samToken)), 400, 'invalid_before');
    });

    test.each([['0'], ['abc'], ['-1'], ['1.5'], ['10001'], ['1e3x'], ['2&limit=3']])(
      '?limit=%s → 400 invalid_limit',
      async (v) => {
        expectError(await request(t.app).get(`/api/v1/audit?limit=${v}`).set(bearer(samToken)), 400, 'invalid_limit');
      },
    );
  });

  describe('WRITE_LIMIT (writes per account per minute)', () => {
    let limited: ReturnType<typeof createApp>;
    let store: FileSessionStore;

    beforeAll(async () => {
      // The same data, an app with WRITE_LIMIT=3 and its own session store.
      store = await FileSessionStore.open(path.join(t.dataDir, 'sessions-limited'), clock);
      limited = createApp({
        ctx: t.ctx,
        config: { baseUrl: 'http://ratify.test', writeLimit: 3 },
        sessions: { secret: t.sessions.secret, store },
      });
    });
    afterAll(() => store.close());

    test('API: three authenticated writes pass, the fourth is 429 write_limit with Retry-After; reads are never limited; others are not affected; a minute later it passes', async () => {
      for (let i = 1; i <= 3; i++) {
        const res = await request(limited)
          .post('/api/v1/tokens')
          .set(bearer(samToken))
          .send({ email: 'sam@example.org', password: PW.sam });
        expect([i, res.status]).toEqual([i, 201]);
      }
      const fourth = await request(limited)
        .post('/api/v1/tokens')
        .set(bearer(samToken))
        .send({ email: 'sam@example.org', password: PW.sam });
      expectError(fourth, 429, 'write_limit');
      expect(Number(fourth.headers['retry-after'])).toBeGreaterThan(0);
      for (let i = 0; i < 10; i++)
        expect((await request(limited).get('/api/v1/me').set(bearer(samToken))).status).toBe(200);
      expect(
        (
          await request(limited)
            .post('/api/v1/tokens')
            .set(bearer(aliceToken))
            .send({ email: 'alice@example.org', password: PW.alice })
        ).status,
      ).toBe(201);
      clock.advance(60_000);
      expect(
        (
          await request(limited)
            .post('/api/v1/tokens')
            .set(bearer(samToken))
            .send({ email: 'sam@example.org', password: PW.sam })
        ).status,
      ).toBe(201);
    }, 120_000);

    test('pages: the fourth form post in a minute is 429 write_limit', async () => {
      clock.advance(60_000);
      const agent = await signedIn(limited, 'alice@example.org', PW.alice);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await agent
          .post('/account/tokens')
          .type('form')
          .send({ _csrf: await csrfOf(agent), label: `t${i}` });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([201, 201, 201, 429]);
    });

    test('signing out is not a "write" the limit may refuse', async () => {
      clock.advance(60_000);
      const agent = await signedIn(limited, 'alice@example.org', PW.alice);
      for (let i = 0; i < 3; i++)
        await agent
          .post('/account/tokens')
          .type('form')
          .send({ _csrf: await csrfOf(agent), label: `u${i}` });
      const out = await agent
        .post('/logout')
        .type('form')
        .send({ _csrf: await csrfOf(agent) });
      expect(out.status).toBe(303);
      expect((await agent.get('/account')).status).toBe(401);
    });
  });

  describe('a second factor required for a role applies to that role’s API tokens', () => {
    test('a token made before the requirement is refused 403 totp_required on every call until its owner enrols', async () => {
      const chair = await addUser(t.ctx, CLI_ACTOR, {
        email: 'carla@example.org',
        name: 'Carla Chair',
        roles: ['member', 'chair'],
      });
      const { token } = await createToken(t.ctx, CLI_ACTOR, chair, 'made before the rule');
      expect((await request(t.app).get('/api/v1/me').set(bearer(token))).status).toBe(200);
      await setSecuritySettings(t.ctx, CLI_ACTOR, { requireTotpFor: ['chair'] });
      try {
        for (const [method, url] of [
          ['get', '/api/v1/me'],
          ['get', '/api/v1/documents'],
          ['get', '/api/v1/proposals'],
          ['post', '/api/v1/proposals'],
          ['get', '/api/v1/no-such-route'],
        ] as const) {
          expectError(await request(t.app)[method](url).set(bearer(token)).send({}), 403, 'totp_required');
        }
        // Others are unaffected: the public, and a member's token.
        expect((await request(t.app).get('/api/v1/documents')).status).toBe(200);
        expect((await request(t.app).get('/api/v1/me').set(bearer(aliceToken))).status).toBe(200);
        // Once the chair has a second factor, the same token works again.
        const actor = { id: chair.id, email: chair.email, name: chair.name, roles: chair.roles, groups: chair.groups };
        const { secret } = await beginTotp(t.ctx, actor);
        await confirmTotp(t.ctx, actor, await generate({ secret, epoch: Math.floor(clock().getTime() / 1000) }));
        expect((await request(t.app).get('/api/v1/me').set(bearer(token))).status).toBe(200);
      } finally {
        await setSecuritySettings(t.ctx, CLI_ACTOR, { requireTotpFor: [] });
      }
    });
  });
});
