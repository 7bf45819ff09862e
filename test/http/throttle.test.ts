/**
 * Throttles that count first: a guess is reserved before its hash (or code check) is computed,
 * so parallel requests get no more guesses evaluated than the budget — on the login form,
 * POST /api/v1/tokens and the one-time-code step. Requests that guess nothing (forgot
 * password, unknown addresses) have their own budget and never lock a real account out; a
 * stranger cannot lock a person out where they usually sign in; a full hash queue answers
 * 503 `busy` with Retry-After.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as http from 'node:http';
import { generate } from 'otplib';
import request from 'supertest';
import { checkCredentials } from '../../server/services/auth/authenticate.js';
import { LoginThrottle } from '../../server/services/auth/throttle.js';
import { beginTotp, confirmTotp } from '../../server/services/auth/totp.js';
import { csrfFrom, makeUser, signIn } from '../helpers/auth.js';
import { openTestApp, testClock } from '../helpers/data.js';

describe('http/throttle', () => {
  const clock = testClock();
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let server: http.Server;
  const epoch = () => Math.floor(clock().getTime() / 1000);

  const PW = 'the right pass phrase';
  const failedFor = async (email: string) =>
    (await t.ctx.meta.auditLog(1_000_000)).filter((e) => e.action === 'login.failed' && e.subject === `user/${email}`)
      .length;
  const count = async (action: string, email: string) =>
    (await t.ctx.meta.auditLog(1_000_000)).filter((e) => e.action === action && e.subject === `user/${email}`).length;

  /** 60 answers to 60 requests started at once, in order; `right` is the index of the right guess. */
  const RIGHT_AT = 45;
  const guesses = (right: string) =>
    Array.from({ length: 60 }, (_, i) => (i === RIGHT_AT ? right : `wrong guess number ${i}`));

  beforeAll(async () => {
    t = await openTestApp({ clock });
    // One listening server, so the 60 requests queue on it in the order they were made.
    server = http.createServer(t.app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    await Promise.all(
      ['form', 'api', 'code', 'apicode', 'forgot', 'real', 'busy1'].map((n) =>
        makeUser(t.ctx, { email: `${n}@example.org`, name: `User ${n}`, password: PW }),
      ),
    );
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await t.cleanup();
  });

  describe('60 parallel guesses: at most 10 evaluated, the right one at position 45 does not get in', () => {
    test('the login form', async () => {
      const ip = '10.60.0.1';
      const agent = request.agent(server);
      const csrf = csrfFrom((await agent.get('/login').set('X-Forwarded-For', ip)).text);
      const hashesBefore = t.ctx.passwords.evaluated;
      const answers = await Promise.all(
        guesses(PW).map((password) =>
          agent
            .post('/login')
            .set('X-Forwarded-For', ip)
            .type('form')
            .send({ _csrf: csrf, email: 'form@example.org', password }),
        ),
      );
      const statuses = answers.map((r) => r.status);
      expect(t.ctx.passwords.evaluated - hashesBefore).toBeLessThanOrEqual(10);
      expect(await failedFor('form@example.org')).toBeLessThanOrEqual(10);
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(50);
      expect(statuses[RIGHT_AT]).toBe(429);
      expect(statuses).not.toContain(303);
      expect(await count('login', 'form@example.org')).toBe(0);
      expect((await agent.get('/account')).status).toBe(401);
      expect(Number(answers[RIGHT_AT].headers['retry-after'])).toBeGreaterThan(0);
    });

    test('POST /api/v1/tokens', async () => {
      const tokensBefore = t.ctx.meta.all('tokens').length;
      const hashesBefore = t.ctx.passwords.evaluated;
      const answers = await Promise.all(
        guesses(PW).map((password) =>
          request(server)
            .post('/api/v1/tokens')
            .set('X-Forwarded-For', '10.60.0.2')
            .send({ email: 'api@example.org', password }),
        ),
      );
      const statuses = answers.map((r) => r.status);
      expect(t.ctx.passwords.evaluated - hashesBefore).toBeLessThanOrEqual(10);
      expect(await failedFor('api@example.org')).toBeLessThanOrEqual(10);
      expect(statuses[RIGHT_AT]).toBe(429);
      expect(answers[RIGHT_AT].body.error.code).toBe('too_many_attempts');
      expect(statuses).not.toContain(201);
      expect(t.ctx.meta.all('tokens').length).toBe(tokensBefore);
    });

    describe('the one-time-code step', () => {
      let secret: string;
      beforeAll(async () => {
        for (const email of ['code@example.org', 'apicode@example.org']) {
          const u = t.ctx.meta.all('users').find((x) => x.email === email)!;
          const actor = { id: u.id, email: u.email, name: u.name, roles: u.roles, groups: u.groups };
          ({ secret } = await beginTotp(t.ctx, actor));
          await confirmTotp(t.ctx, actor, await generate({ secret, epoch: epoch() }));
          if (email === 'code@example.org') clock.advance(30_000); // the confirming code's step is used up
          (email === 'code@example.org' ? secrets : apiSecrets).push(secret);
        }
      });
      const secrets: string[] = [];
      const apiSecrets: string[] = [];

      /** Sixty six-digit codes none of which is valid now, except the one at RIGHT_AT. */
      const codes = async (s: string) => {
        const window = await Promise.all([-60, -30, 0, 30, 60].map((d) => generate({ secret: s, epoch: epoch() + d })));
        const wrong: string[] = [];
        for (let n = 0; wrong.length < 60; n++) {
          const c = String(100000 + n * 7919).slice(0, 6);
          if (!window.includes(c)) wrong.push(c);
        }
        wrong[RIGHT_AT] = await generate({ secret: s, epoch: epoch() });
        return wrong;
      };

      test('on the form (POST /login/code)', async () => {
        const ip = '10.60.0.3';
        const r = await signIn(t.app, 'code@example.org', PW, { agent: request.agent(server), ip });
        expect(r.res.headers.location).toBe('/login/code');
        const csrf = csrfFrom((await r.agent.get('/login/code').set('X-Forwarded-For', ip)).text);
        const before = await failedFor('code@example.org');
        const answers = await Promise.all(
          (await codes(secrets[0])).map((code) =>
            r.agent.post('/login/code').set('X-Forwarded-For', ip).type('form').send({ _csrf: csrf, code }),
          ),
        );
        const statuses = answers.map((x) => x.status);
        expect((await failedFor('code@example.org')) - before).toBeLessThanOrEqual(10);
        expect(statuses[RIGHT_AT]).toBe(429);
        expect(statuses).not.toContain(303);
        expect(await count('login.totp', 'code@example.org')).toBe(0);
        expect((await r.agent.get('/account')).status).toBe(401);
      });

      test('on POST /api/v1/tokens with "code"', async () => {
        const tokensBefore = t.ctx.meta.all('tokens').length;
        const answers = await Promise.all(
          (await codes(apiSecrets[0])).map((code) =>
            request(server)
              .post('/api/v1/tokens')
              .set('X-Forwarded-For', '10.60.0.4')
              .send({ email: 'apicode@example.org', password: PW, code }),
          ),
        );
        const statuses = answers.map((x) => x.status);
        expect(await failedFor('apicode@example.org')).toBeLessThanOrEqual(10);
        expect(statuses[RIGHT_AT]).toBe(429);
        expect(statuses).not.toContain(201);
        expect(await count('login.totp', 'apicode@example.org')).toBe(0);
        expect(t.ctx.meta.all('tokens').length).toBe(tokensBefore);
      });
    });
  });

  describe('requests that guess nothing never lock a real account out', () => {
    test('100 POST /password/forgot for random addresses from one IP, then the right password from that IP signs in', async () => {
      const ip = '10.70.0.1';
      const agent = request.agent(server);
      const csrf = csrfFrom((await agent.get('/password/forgot').set('X-Forwarded-For', ip)).text);
      for (let i = 0; i < 100; i++) {
        const res = await agent
          .post('/password/forgot')
          .set('X-Forwarded-For', ip)
          .type('form')
          .send({ _csrf: csrf, email: `random${i}@nowhere.example` });
        expect([200, 429]).toContain(res.status);
      }
      const { res } = await signIn(t.app, 'forgot@example.org', PW, { ip });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/');
    });

    test('sign-in attempts for 105 unknown addresses from one IP do not cap that IP for real accounts', async () => {
      const ip = '10.70.0.2';
      for (let i = 0; i < 105; i++) {
        const res = await request(server)
          .post('/api/v1/tokens')
          .set('X-Forwarded-For', ip)
          .send({ email: `ghost${i}@nowhere.example`, password: 'anything at all' });
        expect(res.status).toBe(401);
      }
      const res = await request(server)
        .post('/api/v1/tokens')
        .set('X-Forwarded-For', ip)
        .send({ email: 'forgot@example.org', password: PW });
      expect(res.status).toBe(201);
    });

    test("a stranger who spends an account's budget does not lock the person out where they signed in before", async () => {
      const home = '10.80.0.1';
      expect((await signIn(t.app, 'real@example.org', PW, { ip: home })).res.status).toBe(303);
      for (let i = 0; i < 12; i++)
        await request(server)
          .post('/api/v1/tokens')
          .set('X-Forwarded-For', `10.81.0.${i}`)
          .send({ email: 'real@example.org', password: `guess ${i}` });
      // From a new address the account is locked for now…
      expect((await signIn(t.app, 'real@example.org', PW, { ip: '10.82.0.1' })).res.status).toBe(429);
      // …but not where its owner signed in before.
      expect((await signIn(t.app, 'real@example.org', PW, { ip: home })).res.status).toBe(303);
    });
  });

  describe('the per-IP daily cap counts first too', () => {
    test('40 parallel wrong guesses over 40 accounts from one IP, with a cap of 5: at most 5 evaluated', async () => {
      const users = [];
      for (let i = 0; i < 40; i++)
        users.push(await makeUser(t.ctx, { email: `spray${i}@example.org`, name: `Spray ${i}`, password: PW }));
      const throttle = new LoginThrottle(clock, { perIpDay: 5 });
      const before = t.ctx.passwords.evaluated;
      const out = await Promise.allSettled(
        users.map((u) =>
          checkCredentials(t.ctx, throttle, { email: u.email, password: 'not it at all', ip: '10.90.0.1', via: 'api' }),
        ),
      );
      expect(t.ctx.passwords.evaluated - before).toBeLessThanOrEqual(5);
      const codes = out.map((o) => (o.status === 'rejected' ? (o.reason as { code: string }).code : 'signed in'));
      expect(codes.filter((c) => c === 'bad_credentials')).toHaveLength(5);
      expect(codes.filter((c) => c === 'too_many_attempts')).toHaveLength(35);
    });
  });

  describe('a full hash queue answers 503 busy with Retry-After, and the refused request costs no guess', () => {
    let small: Awaited<ReturnType<typeof openTestApp>>;
    beforeAll(async () => {
      small = await openTestApp({ clock, hashing: { maxConcurrent: 1, maxQueued: 1 } });
      for (let i = 0; i < 8; i++)
        await makeUser(small.ctx, { email: `q${i}@example.org`, name: `Q ${i}`, password: PW });
    });
    afterAll(async () => {
      await small.cleanup();
    });

    test('8 parallel token requests for 8 accounts: each is 201 or 503 busy; at least one is 503', async () => {
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          request(small.app)
            .post('/api/v1/tokens')
            .send({ email: `q${i}@example.org`, password: PW }),
        ),
      );
      const busy = answers.filter((a) => a.status === 503);
      expect(answers.every((a) => a.status === 201 || a.status === 503)).toBe(true);
      expect(busy.length).toBeGreaterThan(0);
      for (const b of busy) {
        expect(b.body.error.code).toBe('busy');
        expect(Number(b.headers['retry-after'])).toBeGreaterThan(0);
      }
      // A refused request was not counted as a failed guess.
      expect((await small.ctx.meta.auditLog(1_000)).filter((e) => e.action === 'login.failed')).toHaveLength(0);
    });
  });
});
