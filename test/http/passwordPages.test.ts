/**
 * The pages of issue 6 (supertest over the real app and a real data folder): "forgot password"
 * (the same answer for known and unknown addresses; a mail only for the known one), setting a
 * password through a link (mismatch, too short, success, then sign-in, then the link is spent),
 * CSRF, the account page's notification preference, the secretariat's mail queue page (pending
 * and failed messages, the retry button; 403 for a member) and the invite button.
 */
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Express } from 'express';
import request from 'supertest';
import { addUser } from '../../server/services/accounts/users.js';
import { requestPasswordReset } from '../../server/services/accounts/links.js';
import { MailWorker, MAX_ATTEMPTS } from '../../server/services/notifications/deliver.js';
import type { MailTransport } from '../../server/store/mail/transport.js';
import type { UserRecord } from '../../server/store/meta/schema.js';
import { openTestApp, testClock } from '../helpers/data.js';
import { csrfFrom, csrfOf, makeUser, signIn, signedIn, type Agent } from '../helpers/auth.js';

describe('http/passwordPages', () => {
  const PASSWORD = 'a long enough password';
  const clock = testClock('2026-03-01T09:00:00Z');
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let app: Express;
  let sec: Awaited<ReturnType<typeof makeUser>>;
  let member: Awaited<ReturnType<typeof makeUser>>;
  let target: UserRecord; // no password yet: gets reset links and invitations
  let admin: Agent;
  let plain: Agent;
  let failedId: number;
  let pendingId: number;

  const mails = () => t.ctx.meta.all('mails').sort((a, b) => a.id - b.id);
  const mailsTo = (email: string, event: string) => mails().filter((m) => m.event === event && m.to.includes(email));
  const tokenIn = (text: string) => /\/password\/set\?token=([A-Za-z0-9_-]+)/.exec(text)![1];

  /** A transport that always fails, to make failed messages. */
  const down: MailTransport = {
    kind: 'smtp',
    send: async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:2525');
    },
    close: () => {},
  };

  beforeAll(async () => {
    t = await openTestApp({ clock });
    app = t.app;
    sec = await makeUser(t.ctx, {
      email: 'sec@example.org',
      name: 'Sam Sec',
      roles: ['secretariat'],
      groups: [],
      password: PASSWORD,
    });
    member = await makeUser(t.ctx, {
      email: 'mem@example.org',
      name: 'Mia Member',
      roles: ['member'],
      groups: [],
      password: PASSWORD,
    });
    target = await addUser(t.ctx, CLI_ACTOR, {
      email: 'tia@example.org',
      name: 'Tia Target',
      roles: ['member'],
      groups: [],
    });

    // A failed message (every attempt refused, MAX_ATTEMPTS times) and a pending one.
    await requestPasswordReset(t.ctx, member.email);
    failedId = mails().at(-1)!.id;
    const worker = new MailWorker(t.ctx, down, 'ratify@ratify.test');
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      await worker.tick();
      const m = t.ctx.meta.get('mails', failedId)!;
      if (m.state === 'failed') break;
      clock.set(m.nextAttemptAt!);
    }
    expect(t.ctx.meta.get('mails', failedId)!.state).toBe('failed');
    await requestPasswordReset(t.ctx, sec.email);
    pendingId = mails().at(-1)!.id;

    admin = await signedIn(app, sec.email, PASSWORD);
    plain = await signedIn(app, member.email, PASSWORD);
  });

  afterAll(async () => {
    await t?.cleanup();
  });

  describe('forgot password', () => {
    test('GET /password/forgot → a form posting an e-mail address with a CSRF token', async () => {
      const res = await request(app).get('/password/forgot');
      expect(res.status).toBe(200);
      expect(res.text).toMatch(/<form method="post" action="\/password\/forgot"/);
      expect(res.text).toMatch(/name="email"/);
      expect(csrfFrom(res.text).length).toBeGreaterThan(10);
    });

    test('a known and an unknown address get the same status and the same page; only the known one gets a mail', async () => {
      const known = target.email;
      const unknown = 'nobody-here@example.org';
      const post = async (email: string) => {
        const agent = request.agent(app);
        const form = await agent.get('/password/forgot');
        return agent
          .post('/password/forgot')
          .type('form')
          .send({ _csrf: csrfFrom(form.text), email });
      };
      const beforeKnown = mailsTo(known, 'password.reset').length;
      const beforeAll_ = mails().length;
      const a = await post(known);
      const b = await post(unknown);
      expect(a.status).toBe(200);
      expect(b.status).toBe(a.status);
      const norm = (html: string, email: string) =>
        html
          .replace(/name="_csrf" value="[^"]*"/g, 'name="_csrf" value=""')
          .split(email)
          .join('EMAIL');
      expect(norm(b.text, unknown)).toBe(norm(a.text, known));
      // The page no longer shows the form (it says a link may be on its way).
      expect(a.text).not.toMatch(/action="\/password\/forgot"/);
      expect(mailsTo(known, 'password.reset').length).toBe(beforeKnown + 1);
      expect(mails().length).toBe(beforeAll_ + 1);
      expect(mails().some((m) => m.to.includes(unknown))).toBe(false);
    });

    test('without the CSRF token → 403 and nothing queued', async () => {
      const agent = request.agent(app);
      await agent.get('/password/forgot');
      const before = mails().length;
      const res = await agent.post('/password/forgot').type('form').send({ email: target.email });
      expect(res.status).toBe(403);
      expect(mails().length).toBe(before);
    });
  });

  describe('setting a password through a link', () => {
    let token: string;

    beforeAll(async () => {
      await requestPasswordReset(t.ctx, target.email);
      token = tokenIn(mailsTo(target.email, 'password.reset').at(-1)!.text!);
    });

    const setForm = async (agent: Agent, tok: string) => {
      const res = await agent.get(`/password/set?token=${encodeURIComponent(tok)}`);
      return res;
    };
    /** Post the set-password form (the session's CSRF token from the forgot form, which always has one). */
    const post = async (agent: Agent, body: Record<string, string>) => {
      const form = await agent.get('/password/forgot');
      return agent
        .post('/password/set')
        .type('form')
        .send({ _csrf: csrfFrom(form.text), token, ...body });
    };

    test('GET with a valid token → the form (token kept in a hidden field)', async () => {
      const res = await setForm(request.agent(app), token);
      expect(res.status).toBe(200);
      expect(res.text).toMatch(/<form method="post" action="\/password\/set"/);
      expect(res.text).toContain(`name="token" value="${token}"`);
      expect(res.text).toMatch(/name="password"/);
      expect(res.text).toMatch(/name="confirm"/);
    });

    test('GET with an unknown token → a page without the form', async () => {
      const res = await setForm(request.agent(app), 'not-a-real-token');
      expect(res.status).toBe(200);
      expect(res.text).not.toMatch(/action="\/password\/set"/);
    });

    test('mismatched passwords → 400; too short → 400; the link still works after both', async () => {
      const agent = request.agent(app);
      const mismatch = await post(agent, { password: PASSWORD, confirm: `${PASSWORD}!` });
      expect(mismatch.status).toBe(400);
      const short = await post(agent, { password: 'short', confirm: 'short' });
      expect(short.status).toBe(400);
      expect(t.ctx.meta.get('users', target.id)!.passwordHash).toBeNull();
      expect((await setForm(agent, token)).text).toMatch(/action="\/password\/set"/);
    });

    test('without the CSRF token → 403 and the password is not set', async () => {
      const agent = request.agent(app);
      await setForm(agent, token);
      const res = await agent.post('/password/set').type('form').send({ token, password: PASSWORD, confirm: PASSWORD });
      expect(res.status).toBe(403);
      expect(t.ctx.meta.get('users', target.id)!.passwordHash).toBeNull();
    });

    test('a valid password → 303 to /login?password=set; then sign-in works; the same link again → 400 and no form', async () => {
      const agent = request.agent(app);
      const res = await post(agent, { password: PASSWORD, confirm: PASSWORD });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/login?password=set');
      const login = await agent.get('/login?password=set');
      expect(login.status).toBe(200);

      const { res: signed } = await signIn(app, target.email, PASSWORD);
      expect(signed.status).toBe(303);
      expect(signed.headers.location).not.toMatch(/^\/login/);

      const again = await post(request.agent(app), {
        password: 'yet another password',
        confirm: 'yet another password',
      });
      expect(again.status).toBe(400);
      expect(again.text).not.toMatch(/action="\/password\/set"/);
      expect((await setForm(request.agent(app), token)).text).not.toMatch(/action="\/password\/set"/);
      // The old password still works; the refused one does not.
      expect((await signIn(app, target.email, 'yet another password')).res.status).toBe(401);
    });

    test('an expired reset link (after 2 h) → 400, no form', async () => {
      const other = await addUser(t.ctx, CLI_ACTOR, {
        email: 'old@example.org',
        name: 'Olga Old',
        roles: ['member'],
        groups: [],
      });
      await requestPasswordReset(t.ctx, other.email);
      const tok = tokenIn(mailsTo(other.email, 'password.reset').at(-1)!.text!);
      const agent = request.agent(app);
      const form = await setForm(agent, tok);
      expect(form.text).toMatch(/action="\/password\/set"/);
      clock.advance(2 * 3_600_000);
      const res = await agent
        .post('/password/set')
        .type('form')
        .send({ _csrf: csrfFrom(form.text), token: tok, password: PASSWORD, confirm: PASSWORD });
      expect(res.status).toBe(400);
      expect(res.text).not.toMatch(/action="\/password\/set"/);
      expect(t.ctx.meta.get('users', other.id)!.passwordHash).toBeNull();
    });
  });

  describe('the notification preference on the account page', () => {
    test('saves immediate, digest and none; refuses anything else (400) and a post without CSRF (403)', async () => {
      const page = await plain.get('/account');
      expect(page.status).toBe(200);
      expect(page.text).toMatch(/<form method="post" action="\/account\/notifications"/);
      expect(page.text).toMatch(/value="immediate" checked/);
      for (const pref of ['digest', 'none', 'immediate'] as const) {
        const res = await plain
          .post('/account/notifications')
          .type('form')
          .send({ _csrf: await csrfOf(plain), notify: pref });
        expect(res.status).toBe(303);
        expect(res.headers.location).toBe('/account#notifications');
        expect(t.ctx.meta.get('users', member.id)!.notify).toBe(pref);
        expect((await plain.get('/account')).text).toMatch(new RegExp(`value="${pref}" checked`));
      }
      const bad = await plain
        .post('/account/notifications')
        .type('form')
        .send({ _csrf: await csrfOf(plain), notify: 'weekly' });
      expect(bad.status).toBe(400);
      expect(t.ctx.meta.get('users', member.id)!.notify).toBe('immediate');
      const noCsrf = await plain.post('/account/notifications').type('form').send({ notify: 'none' });
      expect(noCsrf.status).toBe(403);
      expect(t.ctx.meta.get('users', member.id)!.notify).toBe('immediate');
    });

    test('signed out → not saved', async () => {
      const res = await request(app).post('/account/notifications').type('form').send({ notify: 'none' });
      expect([401, 403]).toContain(res.status);
    });
  });

  describe('the mail queue page', () => {
    test('the secretariat sees a pending and a failed message (with its reason); a member gets 403', async () => {
      const res = await admin.get('/admin/mail');
      expect(res.status).toBe(200);
      const failed = t.ctx.meta.get('mails', failedId)!;
      const pending = t.ctx.meta.get('mails', pendingId)!;
      const failedSection = res.text.slice(res.text.indexOf('id="failed-h"'), res.text.indexOf('id="pending-h"'));
      const pendingSection = res.text.slice(res.text.indexOf('id="pending-h"'), res.text.indexOf('id="sent-h"'));
      expect(failedSection).toContain(`action="/admin/mail/${failedId}/retry"`);
      expect(failedSection).toContain(failed.lastError!);
      expect(failedSection).toContain(member.email);
      expect(pendingSection).toContain(`action="/admin/mail/${pendingId}/retry"`);
      expect(pendingSection).toContain(pending.to[0]);
      expect((await plain.get('/admin/mail')).status).toBe(403);
      expect((await request(app).get('/admin/mail')).status).not.toBe(200);
    });

    test('the retry button puts a failed message back (303); a member gets 403; an unknown id 404', async () => {
      const res = await admin
        .post(`/admin/mail/${failedId}/retry`)
        .type('form')
        .send({ _csrf: await csrfOf(admin, '/admin/mail') });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/admin/mail');
      expect(t.ctx.meta.get('mails', failedId)).toMatchObject({ state: 'pending', attempts: 0 });
      const page = await admin.get('/admin/mail');
      const pendingSection = page.text.slice(page.text.indexOf('id="pending-h"'), page.text.indexOf('id="sent-h"'));
      expect(pendingSection).toContain(`action="/admin/mail/${failedId}/retry"`);

      const byMember = await plain
        .post(`/admin/mail/${pendingId}/retry`)
        .type('form')
        .send({ _csrf: await csrfOf(plain) });
      expect(byMember.status).toBe(403);
      const unknown = await admin
        .post('/admin/mail/9999/retry')
        .type('form')
        .send({ _csrf: await csrfOf(admin, '/admin/mail') });
      expect(unknown.status).toBe(404);
      // An id that is no number names no message either (as every id in a page's path).
      const malformed = await admin
        .post('/admin/mail/abc/retry')
        .type('form')
        .send({ _csrf: await csrfOf(admin, '/admin/mail') });
      expect(malformed.status).toBe(404);
      expect(malformed.text).toContain('mail_not_found');
      const noCsrf = await admin.post(`/admin/mail/${pendingId}/retry`).type('form').send({});
      expect(noCsrf.status).toBe(403);
    });
  });

  describe('the invite button', () => {
    test('/admin/users/:id/invite queues an invitation (303 back to the user page); a member gets 403', async () => {
      const u = await addUser(t.ctx, CLI_ACTOR, {
        email: 'newbie@example.org',
        name: 'Nia Newbie',
        roles: ['member'],
        groups: [],
      });
      const userPage = await admin.get(`/admin/users/${u.id}`);
      expect(userPage.status).toBe(200);
      expect(userPage.text).toContain(`action="/admin/users/${u.id}/invite"`);
      const res = await admin
        .post(`/admin/users/${u.id}/invite`)
        .type('form')
        .send({ _csrf: csrfFrom(userPage.text.slice(userPage.text.indexOf(`action="/admin/users/${u.id}/invite"`))) });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(`/admin/users/${u.id}`);
      const invites = mailsTo(u.email, 'user.invited');
      expect(invites).toHaveLength(1);
      expect(invites[0].text).toMatch(/http:\/\/ratify\.test\/password\/set\?token=/);

      const byMember = await plain
        .post(`/admin/users/${u.id}/invite`)
        .type('form')
        .send({ _csrf: await csrfOf(plain) });
      expect(byMember.status).toBe(403);
      expect(mailsTo(u.email, 'user.invited')).toHaveLength(1);
      const unknown = await admin
        .post('/admin/users/9999/invite')
        .type('form')
        .send({ _csrf: await csrfOf(admin, '/admin/mail') });
      expect(unknown.status).toBe(404);
      expect(unknown.text).toContain('user_not_found');
      const malformed = await admin
        .post('/admin/users/abc/invite')
        .type('form')
        .send({ _csrf: await csrfOf(admin, '/admin/mail') });
      expect(malformed.status).toBe(404);
      expect(malformed.text).toContain('user_not_found');
    });

    test('the invitation link sets a password through the page', async () => {
      const u = t.ctx.meta.all('users').find((x) => x.email === 'newbie@example.org')!;
      const tok = tokenIn(mailsTo(u.email, 'user.invited')[0].text!);
      const agent = request.agent(app);
      const form = await agent.get(`/password/set?token=${tok}`);
      expect(form.status).toBe(200);
      const res = await agent
        .post('/password/set')
        .type('form')
        .send({ _csrf: csrfFrom(form.text), token: tok, password: PASSWORD, confirm: PASSWORD });
      expect(res.status).toBe(303);
      expect((await signIn(app, u.email, PASSWORD)).res.status).toBe(303);
    });
  });
});
