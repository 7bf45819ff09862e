/**
 * CSRF: every state-changing page route — enumerated from the express router, so a route
 * added later is covered without editing this file — refuses a form post without the
 * session's synchronizer token, or with a wrong one, with 403 and changes nothing. The login
 * form is protected too, and nothing changes state on GET.
 */
import { enumerateRoutes, type RouteInfo } from '../helpers/routes.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { createToken } from '../../server/services/auth/tokens.js';
import { csrfFrom, csrfOf, makeUser, signedIn, type Agent } from '../helpers/auth.js';
import { openTestApp, testClock } from '../helpers/data.js';

describe('http/csrf', () => {
  const clock = testClock('2026-01-15T10:00:00Z');
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let sec: Awaited<ReturnType<typeof makeUser>>;
  let agent: Agent;
  let tokenId: number;

  const WRITES = ['POST', 'PUT', 'PATCH', 'DELETE'];
  let allRoutes: RouteInfo[];
  let pageWrites: RouteInfo[];

  /** A concrete URL for a route pattern (`:id` → a real token id where it matters). */
  const concrete = (p: string) =>
    p
      .replace(/[{}]/g, '')
      .replace(/:id\b/g, String(tokenId))
      .replace(/:slug\b/g, 'terms-of-reference')
      .replace(/:email\b/g, 'sec%40example.org')
      .replace(/:n\b/g, '1')
      .replace(/:[A-Za-z_]\w*/g, '1')
      .replace(/\*\w*/g, 'x');

  /** Everything a refused post must leave as it was. */
  const snapshot = async () =>
    JSON.stringify({
      audit: (await t.ctx.meta.auditLog(1_000_000)).length,
      users: t.ctx.meta.all('users'),
      tokens: t.ctx.meta.all('tokens'),
      groups: t.ctx.meta.all('groups'),
      documents: t.ctx.meta.all('documents'),
      settings: t.ctx.meta.all('settings'),
    });

  beforeAll(async () => {
    t = await openTestApp({ clock });
    sec = await makeUser(t.ctx, {
      email: 'sec@example.org',
      name: 'Sam Secretariat',
      roles: ['secretariat'],
      password: 'secretariat pass phrase',
    });
    tokenId = (await createToken(t.ctx, sec.actor, sec, 'to be kept')).record.id;
    agent = await signedIn(t.app, 'sec@example.org', 'secretariat pass phrase');
    allRoutes = enumerateRoutes((t.app as unknown as { router: { stack: unknown[] } }).router.stack);
    // One-click unsubscribe takes no form token: the signed token in its link is its authorization
    // (RFC 8058; a mail client posts it). test/http/unsubscribe.test.ts covers it: a forged link is 404.
    const TOKEN_AUTHORIZED = ['/unsubscribe/:token'];
    pageWrites = allRoutes.filter(
      (r) => WRITES.includes(r.method) && !r.path.startsWith('/api/') && !TOKEN_AUTHORIZED.includes(r.path),
    );
    if (process.env.SHOW_ROUTES) console.log(allRoutes.map((r) => `${r.method} ${r.path}`).join('\n'));
  }, 120_000);

  afterAll(async () => {
    await t.cleanup();
  });

  describe('route enumeration', () => {
    test('finds the page routes we know of, and the API ones under /api/v1', () => {
      const names = pageWrites.map((r) => `${r.method} ${r.path}`);
      for (const known of [
        'POST /login',
        'POST /login/code',
        'POST /logout',
        'POST /account/password',
        'POST /account/tokens',
        'POST /account/tokens/:id/revoke',
        'POST /account/totp/begin',
        'POST /account/totp/confirm',
        'POST /account/totp/disable',
      ]) {
        expect(names).toContain(known);
      }
      expect(allRoutes.map((r) => `${r.method} ${r.path}`)).toContain('POST /api/v1/tokens');
      expect(allRoutes.some((r) => r.method === 'GET' && r.path === '/documents/:slug')).toBe(true);
    });
  });

  describe('every state-changing page route refuses a missing or wrong CSRF token (signed in as the secretariat)', () => {
    test('the session is signed in and has a token to compare with', async () => {
      expect((await agent.get('/account')).status).toBe(200);
      expect(await csrfOf(agent)).toMatch(/^[0-9a-f]{32,}$/);
    });

    test('no route slips through: each is refused 403 invalid_csrf, and nothing changes', async () => {
      expect(pageWrites.length).toBeGreaterThanOrEqual(9);
      const before = await snapshot();
      const real = await csrfOf(agent);
      const wrongs: [string, Record<string, string>][] = [
        ['missing', {}],
        ['empty', { _csrf: '' }],
        ['wrong', { _csrf: 'f'.repeat(real.length) }],
        ['truncated', { _csrf: real.slice(0, -1) }],
      ];
      const fields = {
        email: 'sec@example.org',
        password: 'secretariat pass phrase',
        current: 'secretariat pass phrase',
        next: 'another good password',
        confirm: 'another good password',
        label: 'x',
        code: '123456',
        name: 'X',
        slug: 'x-group',
        title: 'T',
        group: 'mag',
        roles: 'secretariat',
      };
      const answers: string[] = [];
      for (const r of pageWrites) {
        const url = concrete(r.path);
        for (const [what, csrf] of wrongs) {
          const json = await agent[r.method.toLowerCase() as 'post'](url)
            .type('form')
            .set('Accept', 'application/json')
            .send({ ...fields, ...csrf });
          answers.push(`${r.method} ${r.path} ${what} json: ${json.status} ${json.body?.error?.code ?? ''}`);
          const html = await agent[r.method.toLowerCase() as 'post'](url)
            .type('form')
            .set('Accept', 'text/html')
            .send({ ...fields, ...csrf });
          answers.push(`${r.method} ${r.path} ${what} html: ${html.status}`);
        }
      }
      const expected = pageWrites.flatMap((r) =>
        wrongs.flatMap(([what]) => [
          `${r.method} ${r.path} ${what} json: 403 invalid_csrf`,
          `${r.method} ${r.path} ${what} html: 403`,
        ]),
      );
      expect(answers).toEqual(expected);
      expect(await snapshot()).toEqual(before);
      // Still signed in (the refused POST /logout did not sign out), the token not revoked.
      expect((await agent.get('/account')).status).toBe(200);
      expect(t.ctx.meta.all('tokens').find((x) => x.id === tokenId)?.revokedAt).toBeNull();
    }, 120_000);

    test('the token in an X-CSRF-Token header of another session does not work either', async () => {
      const other = request.agent(t.app);
      const theirs = csrfFrom((await other.get('/login')).text);
      const res = await agent.post('/account/tokens').type('form').set('X-CSRF-Token', theirs).send({ label: 'x' });
      expect(res.status).toBe(403);
    });

    test('with the right token the same post goes through (the refusals above were about the token)', async () => {
      const before = t.ctx.meta.all('tokens').length;
      const res = await agent
        .post('/account/tokens')
        .type('form')
        .send({ _csrf: await csrfOf(agent), label: 'made with a token' });
      expect(res.status).toBe(201);
      expect(t.ctx.meta.all('tokens').length).toBe(before + 1);
    });
  });

  describe('the login form is protected too', () => {
    test('no _csrf → 403 and not signed in, even with the right password', async () => {
      const a = request.agent(t.app);
      await a.get('/login');
      const auditBefore = (await t.ctx.meta.auditLog(1_000_000)).length;
      const res = await a
        .post('/login')
        .type('form')
        .set('Accept', 'application/json')
        .send({ email: 'sec@example.org', password: 'secretariat pass phrase' });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('invalid_csrf');
      expect((await a.get('/account')).status).toBe(401);
      expect((await t.ctx.meta.auditLog(1_000_000)).length).toBe(auditBefore);
    });

    test('no session at all → 403', async () => {
      const res = await request(t.app)
        .post('/login')
        .type('form')
        .send({ _csrf: 'anything', email: 'sec@example.org', password: 'secretariat pass phrase' });
      expect(res.status).toBe(403);
    });

    test("another visitor's token (login CSRF with the attacker's own token) → 403", async () => {
      const attacker = request.agent(t.app);
      const token = csrfFrom((await attacker.get('/login')).text);
      const victim = request.agent(t.app);
      await victim.get('/login');
      const res = await victim
        .post('/login')
        .type('form')
        .send({ _csrf: token, email: 'sec@example.org', password: 'secretariat pass phrase' });
      expect(res.status).toBe(403);
    });
  });

  describe('nothing changes state on GET', () => {
    test('GET /logout → 404 and the session goes on', async () => {
      const res = await agent.get('/logout');
      expect(res.status).toBe(404);
      expect((await agent.get('/account')).status).toBe(200);
    });

    test('GET of every page route (signed in as the secretariat) changes nothing', async () => {
      const gets = allRoutes.filter((r) => r.method === 'GET' && !r.path.startsWith('/api/'));
      expect(gets.length).toBeGreaterThan(5);
      const before = await snapshot();
      const statuses: string[] = [];
      for (const r of gets) {
        const res = await agent.get(concrete(r.path));
        statuses.push(`${r.path} ${res.status}`);
        expect(res.status).toBeLessThan(500);
      }
      expect(await snapshot()).toEqual(before);
      expect((await agent.get('/account')).status).toBe(200);
    });

    test('GET with state-changing query strings does nothing either', async () => {
      const before = await snapshot();
      for (const p of [
        '/account/tokens?label=x',
        '/account/password?current=a&next=b',
        '/account/totp/begin',
        '/login?email=sec@example.org&password=secretariat+pass+phrase',
      ]) {
        const res = await request(t.app).get(p);
        expect(res.status).not.toBe(500);
      }
      expect(await snapshot()).toEqual(before);
    });
  });
});
