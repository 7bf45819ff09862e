/**
 * Two apps in one process, each over its own data folder: nothing about who is signed in, nor
 * any limit, may cross from one to the other. Both apps number their accounts from 1, so user 1 is the
 * secretariat in app A and a plain member in app B; a sign-in, a session or a role that leaked
 * between them would show here. App B is given app A's session secret, so a cookie of app A is
 * well signed in app B and only B's own session store can refuse it.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Express } from 'express';
import request from 'supertest';
import { createApp } from '../../server/app.js';
import type { UserRecord } from '../../server/store/meta/schema.js';
import { csrfFrom, makeUser, signIn, signedIn, type Agent } from '../helpers/auth.js';
import { openTestApp, openTestData, testClock } from '../helpers/data.js';

describe('http/twoApps', () => {
  const PASSWORD = 'a long enough password';

  let a: Awaited<ReturnType<typeof openTestApp>>;
  let b: Awaited<ReturnType<typeof openTestData>>;
  let appA: Express;
  let appB: Express;
  let secA: UserRecord;
  let memB: UserRecord;
  let otherB: UserRecord;
  let agentA: Agent;
  let agentB: Agent;
  /** The session cookies (`ratify.sid=…`) of those two sign-ins. */
  let sidA: string;
  let sidB: string;

  /** Sign in through the form and keep the agent and its session cookie. */
  async function signInKeepingCookie(app: Express, email: string) {
    const { agent, res, after } = await signIn(app, email, PASSWORD);
    expect(res.status).toBe(303);
    expect(res.headers.location).not.toMatch(/^\/login/);
    expect(after).toBeDefined();
    return { agent, cookie: `ratify.sid=${after}` };
  }

  beforeAll(async () => {
    // Opened one after the other, A first: any process-wide registration would be A's.
    a = await openTestApp({ clock: testClock(), seed: false });
    appA = a.app;
    b = await openTestData({ clock: testClock(), seed: false });
    appB = createApp({
      ctx: b.ctx,
      config: { baseUrl: 'http://ratify.test', writeLimit: 0 },
      sessions: { ...b.sessions, secret: a.sessions.secret },
    });

    secA = await makeUser(a.ctx, {
      email: 'sec-a@example.org',
      name: 'Sam Sec',
      roles: ['secretariat'],
      password: PASSWORD,
    });
    memB = await makeUser(b.ctx, {
      email: 'mem-b@example.org',
      name: 'Mia Member',
      roles: ['member'],
      password: PASSWORD,
    });
    otherB = await makeUser(b.ctx, {
      email: 'other-b@example.org',
      name: 'Olu Other',
      roles: ['member'],
      password: PASSWORD,
    });

    ({ agent: agentA, cookie: sidA } = await signInKeepingCookie(appA, secA.email));
    ({ agent: agentB, cookie: sidB } = await signInKeepingCookie(appB, memB.email));
  });

  afterAll(async () => {
    await a?.cleanup();
    await b?.cleanup();
  });

  describe('two apps in one process', () => {
    test('the accounts share ids: user 1 is the secretariat in A and a member in B', () => {
      expect(secA.id).toBe(memB.id);
      expect(a.ctx.meta.get('users', secA.id)?.roles).toEqual(['secretariat']);
      expect(b.ctx.meta.get('users', memB.id)?.roles).toEqual(['member']);
    });

    test("a member of B signed in to B is refused B's admin pages, and is B's member", async () => {
      const admin = await agentB.get('/admin/users');
      expect(admin.status).toBe(403);
      const account = await agentB.get('/account');
      expect(account.status).toBe(200);
      expect(account.text).toContain(memB.email);
      expect(account.text).not.toContain(secA.email);
    });

    test("the secretariat of A has A's admin pages, listing A's users only", async () => {
      const users = await agentA.get('/admin/users');
      expect(users.status).toBe(200);
      expect(users.text).toContain(secA.email);
      expect(users.text).not.toContain(memB.email);
      expect(users.text).not.toContain(otherB.email);
    });

    test('a session of A signs no one in to B, though its cookie is well signed there', async () => {
      expect((await request(appA).get('/account').set('Cookie', sidA)).status).toBe(200);
      const account = await request(appB).get('/account').set('Cookie', sidA);
      expect(account.status).toBe(401);
      const admin = await request(appB).get('/admin/users').set('Cookie', sidA);
      expect(admin.status).not.toBe(200);
      expect(admin.text).not.toContain(memB.email);
    });

    test('a session of B signs no one in to A', async () => {
      expect((await request(appB).get('/account').set('Cookie', sidB)).status).toBe(200);
      const account = await request(appA).get('/account').set('Cookie', sidB);
      expect(account.status).toBe(401);
    });

    test("each app answers only for its own accounts: B's member cannot sign in to A, nor A's secretariat to B", async () => {
      for (const [app, email] of [
        [appA, memB.email],
        [appB, secA.email],
      ] as const) {
        const agent = request.agent(app);
        const form = await agent.get('/login');
        const res = await agent
          .post('/login')
          .type('form')
          .send({ _csrf: csrfFrom(form.text), email, password: PASSWORD });
        expect(res.status).toBe(401);
      }
    });

    test("spending A's sign-in budget for an address leaves B's budget for the same address whole", async () => {
      // The same address has an account in each app; the throttle counts guesses per address.
      const email = 'both@example.org';
      await makeUser(a.ctx, { email, name: 'Bo Both', password: PASSWORD });
      await makeUser(b.ctx, { email, name: 'Bo Both', password: PASSWORD });
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++)
        statuses.push((await signIn(appA, email, 'not the password', { ip: '10.20.30.40' })).res.status);
      expect(statuses).toEqual([...Array(10).fill(401), 429]);
      expect((await signIn(appA, email, PASSWORD, { ip: '10.20.30.41' })).res.status).toBe(429);
      const inB = await signIn(appB, email, PASSWORD, { ip: '10.20.30.41' });
      expect(inB.res.status).toBe(303);
      expect(inB.res.headers.location).not.toMatch(/^\/login/);
    });

    test('signing out of B leaves the sign-in to A standing', async () => {
      const again = await signedIn(appB, otherB.email, PASSWORD);
      const out = await again
        .post('/logout')
        .type('form')
        .send({ _csrf: csrfFrom((await again.get('/account')).text) });
      expect(out.status).toBe(303);
      expect((await again.get('/account')).status).toBe(401);
      expect((await agentA.get('/admin/users')).status).toBe(200);
    });
  });
});
