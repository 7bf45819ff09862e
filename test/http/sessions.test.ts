/**
 * Sessions only when needed: anonymous visitors get no stored session (their forms are
 * protected by a signed double-submit cookie instead), and the cookies carry the `__Host-`
 * prefix over https.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import request from 'supertest';
import { createApp } from '../../server/app.js';
import { FileSessionStore } from '../../server/store/sessions/fileSessionStore.js';
import { csrfFrom, makeUser, setCookies, signIn } from '../helpers/auth.js';
import { openTestApp, testClock } from '../helpers/data.js';

describe('http/sessions', () => {
  const clock = testClock(new Date().toISOString());
  let t: Awaited<ReturnType<typeof openTestApp>>;
  const PW = 'a session is earned';

  const sessionFiles = async () =>
    (await fsp.readdir(path.join(t.dataDir, 'sessions'))).filter((f) => f.endsWith('.json')).length;
  const store = () => t.sessions.store as FileSessionStore;

  beforeAll(async () => {
    t = await openTestApp({ clock });
    await makeUser(t.ctx, { email: 'sid@example.org', name: 'Sid Session', password: PW });
  });

  afterAll(async () => {
    await t.cleanup();
  });

  describe('no stored session for anonymous visitors', () => {
    test('200 anonymous GET /login (and the other anonymous forms) create 0 session files and 0 sessions in the store', async () => {
      const files = await sessionFiles();
      const held = store().size;
      for (let i = 0; i < 200; i++) {
        const res = await request(t.app).get('/login');
        expect(res.status).toBe(200);
        expect(setCookies(res).some((c) => /^ratify\.sid=/.test(c))).toBe(false);
      }
      for (const p of ['/password/forgot', '/password/set?token=nothing', '/', '/documents/terms-of-reference'])
        expect((await request(t.app).get(p)).status).toBe(200);
      expect(await sessionFiles()).toBe(files);
      expect(store().size).toBe(held);
    });

    test('a GET without the session cookie has no session at all: the pages that read one answer as for a new visitor', async () => {
      for (const [p, status] of [
        ['/login/code', 303],
        ['/', 200],
        ['/admin/mail', 401],
        ['/proposals/1', 404],
      ] as const) {
        const res = await request(t.app).get(p);
        expect([p, res.status]).toEqual([p, status]);
        expect(setCookies(res).some((c) => /^ratify\.sid=/.test(c))).toBe(false);
      }
      expect((await request(t.app).get('/login/code')).headers.location).toBe('/login');
      expect((await request(t.app).head('/documents/terms-of-reference')).status).toBe(200);
      // An unknown session cookie goes the whole way and is still a new visitor.
      const stale = await request(t.app).get('/login/code').set('Cookie', 'ratify.sid=s%3Anothing.bad');
      expect(stale.status).toBe(303);
    });

    test('a failed sign-in and a reset request store nothing either', async () => {
      const files = await sessionFiles();
      const agent = request.agent(t.app);
      const csrf = csrfFrom((await agent.get('/login')).text);
      expect(
        (
          await agent
            .post('/login')
            .type('form')
            .send({ _csrf: csrf, email: 'sid@example.org', password: 'not the password' })
        ).status,
      ).toBe(401);
      expect(
        (await agent.post('/password/forgot').type('form').send({ _csrf: csrf, email: 'sid@example.org' })).status,
      ).toBe(200);
      expect(await sessionFiles()).toBe(files);
    });

    test('the anonymous form token lives in a cookie, not a session: it works, and only with its own cookie', async () => {
      const form = await request(t.app).get('/login');
      const cookie = setCookies(form).find((c) => c.startsWith('ratify.csrf='))!;
      expect(cookie).toMatch(/;\s*HttpOnly/i);
      expect(cookie).toMatch(/;\s*SameSite=Lax/i);
      expect(cookie).toMatch(/;\s*Path=\//i);
      const value = cookie.split(';')[0];
      const csrf = csrfFrom(form.text);
      // The right password with this cookie and its token: signed in (and only now a session).
      const files = await sessionFiles();
      const ok = await request(t.app)
        .post('/login')
        .set('Cookie', value)
        .type('form')
        .send({ _csrf: csrf, email: 'sid@example.org', password: PW });
      expect(ok.status).toBe(303);
      expect(await sessionFiles()).toBe(files + 1);
      // The same token with another browser's cookie, or with none: refused.
      const other = setCookies(await request(t.app).get('/login'))
        .find((c) => c.startsWith('ratify.csrf='))!
        .split(';')[0];
      const wrong = await request(t.app)
        .post('/login')
        .set('Cookie', other)
        .set('Accept', 'application/json')
        .type('form')
        .send({ _csrf: csrf, email: 'sid@example.org', password: PW });
      expect([wrong.status, wrong.body.error.code]).toEqual([403, 'invalid_csrf']);
      expect(
        (await request(t.app).post('/login').type('form').send({ _csrf: csrf, email: 'sid@example.org', password: PW }))
          .status,
      ).toBe(403);
    });

    test('signed in, the token changes (it is bound to the new session)', async () => {
      const agent = request.agent(t.app);
      const before = csrfFrom((await agent.get('/login')).text);
      const { res } = await signIn(t.app, 'sid@example.org', PW, { agent });
      expect(res.status).toBe(303);
      const after = csrfFrom((await agent.get('/account')).text);
      expect(after).not.toBe(before);
      // The anonymous token no longer works for the signed-in session.
      const stale = await agent
        .post('/account/tokens')
        .type('form')
        .set('Accept', 'application/json')
        .send({ _csrf: before, label: 'x' });
      expect([stale.status, stale.body.error.code]).toEqual([403, 'invalid_csrf']);
    });
  });

  describe('session ids', () => {
    test('each sign-in gets an id of its own: 24 random bytes, base64url, in a signed cookie', async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 60; i++) {
        // Anonymous requests draw ids too (never stored): between sign-ins, as on a live site.
        await request(t.app).get('/login');
        const { after } = await signIn(t.app, 'sid@example.org', PW);
        const id = /^s:([^.]+)\./.exec(decodeURIComponent(after ?? ''))?.[1];
        expect(id).toMatch(/^[A-Za-z0-9_-]{32}$/);
        ids.add(id!);
      }
      // Each round draws ~4 ids (two anonymous requests, the sign-in's, the new session's): 240
      // ids of 24 bytes, more than one pool of random bytes (4 KiB, 170 ids) used up.
      expect(ids.size).toBe(60);
    });
  });

  describe('cookie names over https', () => {
    test('__Host-ratify.sid and __Host-ratify.csrf, Secure, Path=/, no Domain', async () => {
      const sessions = await FileSessionStore.open(path.join(t.dataDir, 'sessions-https'), clock);
      const https = createApp({
        ctx: t.ctx,
        config: { baseUrl: 'https://ratify.example', writeLimit: 0 },
        sessions: { secret: t.sessions.secret, store: sessions },
      });
      try {
        const form = await request(https).get('/login').set('X-Forwarded-Proto', 'https');
        const csrfLine = setCookies(form).find((c) => c.startsWith('__Host-ratify.csrf='));
        expect(csrfLine).toBeTruthy();
        expect(setCookies(form).some((c) => /^(__Host-)?ratify\.sid=/.test(c))).toBe(false);
        const res = await request(https)
          .post('/login')
          .set('X-Forwarded-Proto', 'https')
          .set('Cookie', csrfLine!.split(';')[0])
          .type('form')
          .send({ _csrf: csrfFrom(form.text), email: 'sid@example.org', password: PW });
        expect(res.status).toBe(303);
        const sid = setCookies(res).find((c) => c.startsWith('__Host-ratify.sid='));
        expect(sid).toBeTruthy();
        for (const line of [csrfLine!, sid!]) {
          expect(line).toMatch(/;\s*Secure/i);
          expect(line).toMatch(/;\s*Path=\/(;|$)/i);
          expect(line).toMatch(/;\s*HttpOnly/i);
          expect(line).not.toMatch(/;\s*Domain=/i);
        }
        expect(setCookies(res).some((c) => c.startsWith('ratify.sid='))).toBe(false);
      } finally {
        sessions.close();
      }
    });
  });
});
