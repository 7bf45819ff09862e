/**
 * Form sign-in, sessions and the second factor, through the real app (supertest): wrong and
 * right passwords, session-id rotation, cookie flags, sign-out, throttling, disabled users,
 * the absolute lifetime, `next` redirects, TOTP with recovery codes, a restart keeping
 * sessions and tokens, and no plaintext password anywhere under DATA_DIR.
 */
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { inflateSync } from 'node:zlib';
import { generate } from 'otplib';
import request from 'supertest';
import { createApp } from '../../server/app.js';
import { disableUser } from '../../server/services/accounts/users.js';
import { beginTotp, confirmTotp } from '../../server/services/auth/totp.js';
import { ABSOLUTE_MS, IDLE_MS } from '../../server/http/middleware/session.js';
import { FileSessionStore } from '../../server/store/sessions/fileSessionStore.js';
import { csrfFrom, csrfOf, makeUser, setCookies, sidCookieLine, signIn, signedIn } from '../helpers/auth.js';
import { openTestApp, testClock } from '../helpers/data.js';

describe('http/auth', () => {
  const DAY = 24 * 3_600_000;
  /*
   * express-session computes cookie expiry with the real clock, the store compares it with the
   * injected one: start the injected clock 9 days before real time, so that advancing it by 8
   * days passes the absolute lifetime (checked with the injected clock) while the store still
   * holds the session (its idle expiry is real now + 12 h).
   */
  const clock = testClock(new Date(Date.now() - 9 * DAY).toISOString());
  let t: Awaited<ReturnType<typeof openTestApp>>;
  // alice: member of wg-strategy; bob: member; tara: throttled; dora: disabled; otto: has a
  // second factor; lena: session lifetimes.
  let otto: Awaited<ReturnType<typeof makeUser>>;

  const PW = {
    alice: 'alice-pass-Ω-2026',
    bob: 'bob correct horse',
    tara: 'tara battery staple',
    dora: 'dora-secret-words',
    otto: 'otto two factors here',
    lena: 'lena long lived session',
  };

  const audit = async (n = 20) => await t.ctx.meta.auditLog(n);

  beforeAll(async () => {
    t = await openTestApp({ clock });
    [, , , , otto] = await Promise.all([
      makeUser(t.ctx, {
        email: 'Alice@Example.org',
        name: 'Alice Example',
        roles: ['member'],
        groups: ['wg-strategy'],
        password: PW.alice,
      }),
      makeUser(t.ctx, { email: 'bob@example.org', name: 'Bob Builder', password: PW.bob }),
      makeUser(t.ctx, { email: 'tara@example.org', name: 'Tara Throttle', password: PW.tara }),
      makeUser(t.ctx, { email: 'dora@example.org', name: 'Dora Disabled', password: PW.dora }),
      makeUser(t.ctx, { email: 'otto@example.org', name: 'Otto Two', password: PW.otto }),
      makeUser(t.ctx, { email: 'lena@example.org', name: 'Lena Long', password: PW.lena }),
    ]);
  }, 120_000);

  afterAll(async () => {
    await t.cleanup();
  });

  describe('form sign-in', () => {
    test('a wrong password: 401 with the form again, and a login.failed audit line', async () => {
      const { res } = await signIn(t.app, 'alice@example.org', 'not the password');
      expect(res.status).toBe(401);
      expect(res.text).toContain('action="/login"');
      expect(res.text).not.toContain('not the password');
      expect((await audit(1))[0]).toMatchObject({
        action: 'login.failed',
        subject: 'user/alice@example.org',
        actor: null,
      });
    });

    test('an unknown e-mail answers exactly like a wrong password', async () => {
      const { res } = await signIn(t.app, 'nobody@example.org', 'whatever-password');
      expect(res.status).toBe(401);
      expect((await audit(1))[0]).toMatchObject({ action: 'login.failed' });
    });

    test('the right password (e-mail in any case): 303, a NEW session id, the name on signed-in pages, a login audit line', async () => {
      const { agent, res, before, after } = await signIn(t.app, 'ALICE@example.ORG', PW.alice);
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/');
      expect(before).toBeUndefined(); // an anonymous visitor has no session, so none to fixate
      expect(after).toBeTruthy();
      expect((await audit(1))[0]).toMatchObject({
        action: 'login',
        actor: 'alice@example.org',
        subject: 'user/alice@example.org',
      });
      for (const p of ['/', '/account', '/documents/terms-of-reference']) {
        const page = await agent.get(p);
        expect([p, page.status]).toEqual([p, 200]);
        expect(page.text).toContain('Alice Example');
        expect(page.text).toContain('action="/logout"');
      }
    });

    test('POST /logout ends the session (the old cookie is refused afterwards); a logout audit line', async () => {
      const { agent, after } = await signIn(t.app, 'bob@example.org', PW.bob);
      expect((await agent.get('/account')).status).toBe(200);
      const out = await agent
        .post('/logout')
        .type('form')
        .send({ _csrf: await csrfOf(agent) });
      expect(out.status).toBe(303);
      expect(out.headers.location).toBe('/');
      expect((await audit(1))[0]).toMatchObject({ action: 'logout', actor: 'bob@example.org' });
      const acc = await agent.get('/account');
      expect(acc.status).toBe(401);
      const home = await agent.get('/');
      expect(home.text).not.toContain('Bob Builder');
      const replay = await request(t.app).get('/account').set('Cookie', `ratify.sid=${after}`);
      expect(replay.status).toBe(401);
    });

    test('GET /login when signed in goes to `next` (a local path only)', async () => {
      const agent = await signedIn(t.app, 'bob@example.org', PW.bob);
      expect((await agent.get('/login?next=/documents/terms-of-reference')).headers.location).toBe(
        '/documents/terms-of-reference',
      );
      expect((await agent.get('/login?next=//evil.example')).headers.location).toBe('/');
    });

    test.each([
      ['//evil.example'],
      ['https://evil.example'],
      ['/\\evil.example'],
      ['http:/evil.example'],
      [' /x'],
      ['javascript:alert(1)'],
    ])('a `next` of %j redirects to / only', async (next) => {
      const { res } = await signIn(t.app, 'bob@example.org', PW.bob, { next });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/');
    });

    test('a local `next` is honoured', async () => {
      const { res } = await signIn(t.app, 'bob@example.org', PW.bob, { next: '/documents/terms-of-reference/history' });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/documents/terms-of-reference/history');
    });

    test('a body that is not a form (JSON, text/xml) does not crash: 403 for want of a CSRF token', async () => {
      const agent = request.agent(t.app);
      await agent.get('/login');
      expect((await agent.post('/login').send({ email: 'bob@example.org', password: PW.bob })).status).toBe(403);
      expect((await agent.post('/login').set('Content-Type', 'text/xml').send('<x/>')).status).toBe(403);
    });
  });

  describe('cookie flags', () => {
    test('on http: HttpOnly, SameSite=Lax, not Secure; expires (idle timeout)', async () => {
      const { res } = await signIn(t.app, 'bob@example.org', PW.bob);
      const line = sidCookieLine(res)!;
      expect(line).toBeTruthy();
      expect(line).toMatch(/;\s*HttpOnly/i);
      expect(line).toMatch(/;\s*SameSite=Lax/i);
      expect(line).not.toMatch(/;\s*Secure/i);
      expect(line).toMatch(/;\s*(Expires|Max-Age)=/i);
      expect(line).toMatch(/;\s*Path=\//i);
    });

    test('when BASE_URL is https: Secure too, and the __Host- prefix', async () => {
      // Its own session store: express-session installs its cookie options on the store it is
      // given (store.generate), so two apps must not share one.
      const store = await FileSessionStore.open(path.join(t.dataDir, 'sessions-https'), clock);
      const https = createApp({
        ctx: t.ctx,
        config: { baseUrl: 'https://ratify.example', writeLimit: 0 },
        sessions: { secret: t.sessions.secret, store },
      });
      // Behind a TLS-terminating proxy on loopback (the app trusts loopback proxies).
      const form = await request(https).get('/login').set('X-Forwarded-Proto', 'https');
      const csrf = setCookies(form)
        .find((c) => c.startsWith('__Host-ratify.csrf='))!
        .split(';')[0];
      const res = await request(https)
        .post('/login')
        .set('X-Forwarded-Proto', 'https')
        .set('Cookie', csrf)
        .type('form')
        .send({ _csrf: csrfFrom(form.text), email: 'bob@example.org', password: PW.bob });
      store.close();
      expect(res.status).toBe(303);
      const line = sidCookieLine(res)!;
      expect(line).toMatch(/^__Host-ratify\.sid=/);
      expect(line).toBeTruthy();
      expect(line).toMatch(/;\s*Secure/i);
      expect(line).toMatch(/;\s*HttpOnly/i);
      expect(line).toMatch(/;\s*SameSite=Lax/i);
    });
  });

  describe('throttling of failed passwords (per account; an address it signed in from keeps its own budget)', () => {
    const IP = '10.9.8.7';
    test('10 wrong → 401 each; the 11th → 429 with Retry-After, even with the right password', async () => {
      // Tara signed in from her usual address earlier.
      expect((await signIn(t.app, 'tara@example.org', PW.tara, { ip: '10.9.8.8' })).res.status).toBe(303);
      for (let i = 1; i <= 10; i++) {
        const { res } = await signIn(t.app, 'tara@example.org', `wrong guess ${i}`, { ip: IP });
        expect([i, res.status]).toEqual([i, 401]);
      }
      const { res } = await signIn(t.app, 'tara@example.org', PW.tara, { ip: IP });
      expect(res.status).toBe(429);
      const retry = Number(res.headers['retry-after']);
      expect(retry).toBeGreaterThan(0);
      expect(retry).toBeLessThanOrEqual(15 * 60);
      expect(res.text).not.toContain(PW.tara);
    }, 120_000);

    test('the account from an address it signed in from, and another account from the same address, are unaffected; a new address is refused', async () => {
      expect((await signIn(t.app, 'tara@example.org', PW.tara, { ip: '10.9.8.8' })).res.status).toBe(303);
      expect((await signIn(t.app, 'bob@example.org', PW.bob, { ip: IP })).res.status).toBe(303);
      expect((await signIn(t.app, 'tara@example.org', PW.tara, { ip: '10.9.8.9' })).res.status).toBe(429);
    });

    test('after the lock time the right password works again', async () => {
      clock.advance(15 * 60_000 + 1000);
      const { res } = await signIn(t.app, 'tara@example.org', PW.tara, { ip: IP });
      expect(res.status).toBe(303);
    });
  });

  describe('other password checks are throttled like the login form', () => {
    test('guessing the current password at /account/password: the 11th wrong guess is 429', async () => {
      const ip = '10.5.5.5';
      const agent = await signedIn(t.app, 'bob@example.org', PW.bob, { ip });
      const statuses: number[] = [];
      for (let i = 1; i <= 11; i++) {
        const res = await agent
          .post('/account/password')
          .set('X-Forwarded-For', ip)
          .type('form')
          .send({
            _csrf: await csrfOf(agent),
            current: `guess ${i} of the current`,
            next: 'a brand new password',
            confirm: 'a brand new password',
          });
        statuses.push(res.status);
      }
      expect(statuses.slice(0, 10)).toEqual(Array(10).fill(400));
      expect(statuses[10]).toBe(429);
    }, 120_000);
  });

  describe('sessions end', () => {
    test("a disabled user's existing session is refused on the next request", async () => {
      const agent = await signedIn(t.app, 'dora@example.org', PW.dora);
      expect((await agent.get('/account')).status).toBe(200);
      await disableUser(t.ctx, CLI_ACTOR, 'dora@example.org');
      const after = await agent.get('/account');
      expect(after.status).toBe(401);
      expect((await agent.get('/')).text).not.toContain('Dora Disabled');
      // …and the password no longer signs in.
      expect((await signIn(t.app, 'dora@example.org', PW.dora)).res.status).toBe(401);
    });

    test('idle timeout: 12 h without a request → signed out', async () => {
      const start = clock().getTime();
      clock.set(new Date().toISOString()); // the store's expiry is on the real clock (see the top)
      try {
        const agent = await signedIn(t.app, 'lena@example.org', PW.lena);
        clock.advance(IDLE_MS - 60 * 60_000);
        expect((await agent.get('/account')).status).toBe(200);
        clock.advance(2 * 60 * 60_000);
        expect((await agent.get('/account')).status).toBe(401);
      } finally {
        clock.set(new Date(start).toISOString());
      }
    });

    test('absolute lifetime: 8 days later (active or not) the session is signed out', async () => {
      const agent = await signedIn(t.app, 'lena@example.org', PW.lena);
      expect((await agent.get('/account')).status).toBe(200);
      const start = clock().getTime();
      try {
        clock.advance(ABSOLUTE_MS - 60_000);
        expect((await agent.get('/account')).status).toBe(200); // still inside the week
        clock.advance(DAY + 60_000); // 8 days after sign-in
        const res = await agent.get('/account');
        expect(res.status).toBe(303);
        expect(res.headers.location).toBe('/login?expired=1');
        expect((await agent.get('/account')).status).toBe(401);
      } finally {
        clock.set(new Date(start).toISOString());
      }
    });
  });

  describe('second factor (TOTP)', () => {
    const epoch = () => Math.floor(clock().getTime() / 1000);
    let secret: string;
    let recovery: string[];

    beforeAll(async () => {
      ({ secret } = await beginTotp(t.ctx, otto.actor));
      recovery = await confirmTotp(t.ctx, otto.actor, await generate({ secret, epoch: epoch() }));
      expect(recovery).toHaveLength(10);
      clock.advance(30_000); // the confirming code's time step is used up
    });

    const passwordStep = async () => {
      const r = await signIn(t.app, 'otto@example.org', PW.otto);
      expect(r.res.status).toBe(303);
      expect(r.res.headers.location).toBe('/login/code');
      const form = await r.agent.get('/login/code');
      expect(form.status).toBe(200);
      return { agent: r.agent, csrf: csrfFrom(form.text) };
    };

    test('the password alone does not sign in', async () => {
      const { agent } = await passwordStep();
      expect((await agent.get('/account')).status).toBe(401);
      expect((await agent.get('/')).text).not.toContain('Otto Two');
    });

    test('a wrong code → 401, a right code → signed in, the same code again → 401', async () => {
      const now = await generate({ secret, epoch: epoch() });
      const window = await Promise.all([-30, 0, 30].map((d) => generate({ secret, epoch: epoch() + d })));
      let wrong = await generate({ secret, epoch: epoch() + 3600 });
      if (window.includes(wrong)) wrong = String((Number(wrong) + 1) % 1_000_000).padStart(6, '0');

      const a = await passwordStep();
      const bad = await a.agent.post('/login/code').type('form').send({ _csrf: a.csrf, code: wrong });
      expect(bad.status).toBe(401);
      expect((await audit(1))[0]).toMatchObject({ action: 'login.failed', subject: 'user/otto@example.org' });
      const good = await a.agent
        .post('/login/code')
        .type('form')
        .send({ _csrf: csrfFrom(bad.text), code: now });
      expect(good.status).toBe(303);
      expect(good.headers.location).toBe('/');
      const page = await a.agent.get('/account');
      expect(page.status).toBe(200);
      expect(page.text).toContain('Otto Two');

      const b = await passwordStep();
      const replay = await b.agent.post('/login/code').type('form').send({ _csrf: b.csrf, code: now });
      expect(replay.status).toBe(401);
      expect((await b.agent.get('/account')).status).toBe(401);
    });

    test('a recovery code works once', async () => {
      const a = await passwordStep();
      const ok = await a.agent.post('/login/code').type('form').send({ _csrf: a.csrf, code: recovery[0] });
      expect(ok.status).toBe(303);
      expect((await a.agent.get('/account')).status).toBe(200);
      expect((await audit(5)).map((e) => e.action)).toContain('login.recovery_code');

      const b = await passwordStep();
      const again = await b.agent.post('/login/code').type('form').send({ _csrf: b.csrf, code: recovery[0] });
      expect(again.status).toBe(401);
      expect((await b.agent.get('/account')).status).toBe(401);
    });

    test('the pending second step expires (5 minutes)', async () => {
      const a = await passwordStep();
      clock.advance(5 * 60_000 + 1000);
      const code = await generate({ secret, epoch: epoch() });
      const res = await a.agent.post('/login/code').type('form').send({ _csrf: a.csrf, code });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/login');
      expect((await a.agent.get('/account')).status).toBe(401);
    });
    test('guessing codes at /login/code is throttled: the 11th attempt is 429, even with the right code', async () => {
      clock.advance(15 * 60_000); // wrong codes above counted for this account
      const ip = '10.4.4.4';
      const r = await signIn(t.app, 'otto@example.org', PW.otto, { ip });
      expect(r.res.headers.location).toBe('/login/code');
      let csrf = csrfFrom((await r.agent.get('/login/code').set('X-Forwarded-For', ip)).text);
      const window = await Promise.all([-30, 0, 30].map((d) => generate({ secret, epoch: epoch() + d })));
      const statuses: number[] = [];
      for (let n = 0; statuses.length < 10; n++) {
        const code = String(200000 + n * 7919).slice(0, 6);
        if (window.includes(code)) continue;
        const res = await r.agent
          .post('/login/code')
          .set('X-Forwarded-For', ip)
          .type('form')
          .send({ _csrf: csrf, code });
        statuses.push(res.status);
        if (res.status === 401) csrf = csrfFrom(res.text);
      }
      expect(statuses).toEqual(Array(10).fill(401));
      const right = await r.agent
        .post('/login/code')
        .set('X-Forwarded-For', ip)
        .type('form')
        .send({ _csrf: csrf, code: await generate({ secret, epoch: epoch() }) });
      expect(right.status).toBe(429);
      expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
      expect((await r.agent.get('/account')).status).toBe(401);
    });
  });

  describe('a restart keeps sessions and tokens', () => {
    const rclock = testClock(new Date(Date.now() - DAY).toISOString());
    let r: Awaited<ReturnType<typeof openTestApp>>;
    let r2: Awaited<ReturnType<typeof openTestApp>> | null = null;
    afterAll(async () => {
      if (r2) await r2.cleanup();
      else await r.cleanup();
    });

    test('sign in, make a token, close, reopen: the old cookie and token still work', async () => {
      r = await openTestApp({ clock: rclock });
      await makeUser(r.ctx, { email: 'rita@example.org', name: 'Rita Restart', password: 'rita restarts servers' });
      const { agent, after: sid } = await signIn(r.app, 'rita@example.org', 'rita restarts servers');
      expect(sid).toBeTruthy();
      expect((await agent.get('/account')).status).toBe(200);
      const tok = await request(r.app)
        .post('/api/v1/tokens')
        .send({ email: 'rita@example.org', password: 'rita restarts servers' });
      expect(tok.status).toBe(201);

      await r.close();
      r2 = await openTestApp({ dataDir: r.dataDir, seed: false, clock: rclock });

      const page = await request(r2.app).get('/account').set('Cookie', `ratify.sid=${sid}`);
      expect(page.status).toBe(200);
      expect(page.text).toContain('Rita Restart');
      const me = await request(r2.app).get('/api/v1/me').set('Authorization', `Bearer ${tok.body.token}`);
      expect(me.status).toBe(200);
      expect(me.body.email).toBe('rita@example.org');
    });
  });

  describe('no plaintext password or token anywhere under DATA_DIR', () => {
    /** Every file under `dir`, with git's zlib-compressed loose objects also inflated. */
    async function* files(dir: string): AsyncGenerator<{ file: string; bytes: Buffer }> {
      for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) yield* files(p);
        else if (e.isFile()) {
          const bytes = await fsp.readFile(p);
          yield { file: p, bytes };
          if (/[\\/]objects[\\/][0-9a-f]{2}[\\/]/.test(p)) {
            try {
              yield { file: `${p} (inflated)`, bytes: inflateSync(bytes) };
            } catch {
              // not zlib
            }
          }
        }
      }
    }

    test('after sign-ins, a password change and tokens, no file holds a password or a token', async () => {
      const secrets: string[] = Object.values(PW);
      // A password change through the account page.
      const agent = await signedIn(t.app, 'alice@example.org', PW.alice);
      const changed = 'alice changed it ✓ 2026';
      const res = await agent
        .post('/account/password')
        .type('form')
        .send({ _csrf: await csrfOf(agent), current: PW.alice, next: changed, confirm: changed });
      expect(res.status).toBe(303);
      secrets.push(changed);
      expect((await signIn(t.app, 'alice@example.org', changed)).res.status).toBe(303);
      // Tokens: one through the API, one through the account page.
      const api = await request(t.app).post('/api/v1/tokens').send({ email: 'bob@example.org', password: PW.bob });
      expect(api.status).toBe(201);
      secrets.push(api.body.token);
      const page = await agent
        .post('/account/tokens')
        .type('form')
        .send({ _csrf: await csrfOf(agent), label: 'script' });
      expect(page.status).toBe(201);
      const pageToken = /id="new-token">([^<]+)</.exec(page.text)?.[1];
      expect(pageToken).toMatch(/^rat_/);
      secrets.push(pageToken!);

      let scanned = 0;
      const found: string[] = [];
      for await (const { file, bytes } of files(t.dataDir)) {
        scanned++;
        for (const s of secrets) {
          for (const form of [
            Buffer.from(s, 'utf8'),
            Buffer.from(s, 'utf16le'),
            Buffer.from(JSON.stringify(s).slice(1, -1), 'utf8'),
          ]) {
            if (bytes.includes(form)) found.push(`${path.relative(t.dataDir, file)} holds ${s.slice(0, 6)}…`);
          }
        }
      }
      expect(scanned).toBeGreaterThan(10);
      expect([...new Set(found)]).toEqual([]);
    });
  });
});
