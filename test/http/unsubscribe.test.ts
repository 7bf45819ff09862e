/**
 * One-click unsubscribe (RFC 8058, issue 13): every non-essential notification carries
 * List-Unsubscribe with a link that names its member under an HMAC, and List-Unsubscribe-Post;
 * a POST to it (as a mail client sends, without session or CSRF token) sets the member's mail
 * preference to "none" for that kind of mail only (proposals, comments, rounds, versions); the
 * other kinds still come; a GET only shows a button; a wrong or forged token is 404 and changes
 * nothing; ballot invitations carry no one-click link.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { openRound } from '../../server/services/rounds/rounds.js';
import { openTestApp, testClock } from '../helpers/data.js';
import { committee, sharedProposal, S1 } from '../helpers/people.js';

describe('http/unsubscribe', () => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let who: Awaited<ReturnType<typeof committee>>;
  beforeAll(async () => {
    t = await openTestApp({ clock: testClock('2026-03-01T09:00:00Z') });
    who = await committee(t.ctx);
    const p = await sharedProposal(t.ctx, who.drafter, 'Open meetings', (x) => x.replace(S1, ''));
    await openRound(t.ctx, who.chair.actor, {
      subject: { type: 'proposal', id: p.id },
      rule: 'majority',
      quorum: 0.5,
      closesAt: '2026-03-08T17:00:00Z',
    });
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  const linkOf = (email: string, event: string) => {
    const m = t.ctx.meta.all('mails').find((x) => x.to[0] === email && x.event === event)!;
    return m.listUnsubscribe;
  };

  test('notifications carry a one-click link; ballot invitations do not', () => {
    const link = linkOf(who.m1.email, 'proposal.shared')!;
    expect(link).toMatch(
      new RegExp(`^<http://ratify\\.test/unsubscribe/${who.m1.id}\\.proposals\\.[A-Za-z0-9_-]{22}>$`),
    );
    expect(linkOf(who.m1.email, 'round.ballot') ?? '').not.toContain('/unsubscribe/');
  });

  test('a forged or unknown token: 404, nothing changes', async () => {
    const real = linkOf(who.m1.email, 'proposal.shared')!.slice(1, -1).split('/unsubscribe/')[1];
    const [, kind, mac] = real.split('.');
    // Another member's, another kind's, a made-up one.
    const forged = [`${who.m2.id}.${kind}.${mac}`, `${who.m1.id}.comments.${mac}`, `${who.m1.id}.everything.${mac}`];
    for (const tok of [...forged, 'abc', `${who.m1.id}.proposals.${'A'.repeat(22)}`]) {
      const res = await request(t.app)
        .post(`/unsubscribe/${tok}`)
        .type('form')
        .send({ 'List-Unsubscribe': 'One-Click' });
      expect(res.status).toBe(404);
    }
    expect(t.ctx.meta.get('users', who.m2.id)!.notify ?? 'immediate').toBe('immediate');
    expect(t.ctx.meta.get('users', who.m1.id)!.notifyKinds ?? {}).toEqual({});
  });

  test("GET shows a button and changes nothing; the mail client's POST unsubscribes, without session or CSRF token", async () => {
    const path = linkOf(who.m1.email, 'proposal.shared')!.slice(1, -1).replace('http://ratify.test', '');
    const page = await request(t.app).get(path);
    expect(page.status).toBe(200);
    expect(page.headers['cache-control']).toContain('no-store');
    expect(page.text).toContain(`action="${path}"`);
    expect(t.ctx.meta.get('users', who.m1.id)!.notify ?? 'immediate').toBe('immediate');
    const done = await request(t.app).post(path).type('form').send({ 'List-Unsubscribe': 'One-Click' });
    expect(done.status).toBe(200);
    // That kind only: the member still gets the other kinds as before.
    expect(t.ctx.meta.get('users', who.m1.id)!.notifyKinds).toEqual({ proposals: 'none' });
    expect(t.ctx.meta.get('users', who.m1.id)!.notify ?? 'immediate').toBe('immediate');
    expect(done.text).toContain('proposals');
    // Again: the same answer, nothing more written.
    const entries = (await t.ctx.meta.auditLog(1000)).length;
    expect((await request(t.app).post(path).type('form').send({ 'List-Unsubscribe': 'One-Click' })).status).toBe(200);
    expect((await t.ctx.meta.auditLog(1000)).length).toBe(entries);
  });

  test('after unsubscribing from one kind, that kind stops and the others still come', async () => {
    const { shareProposal, createProposal } = await import('../../server/services/proposals/proposals.js');
    const before = t.ctx.meta.all('mails').filter((m) => m.to[0] === who.m1.email).length;
    const p = await createProposal(t.ctx, who.drafter.actor, 'terms-of-reference', { title: 'Another', text: 'x\n' });
    await shareProposal(t.ctx, who.drafter.actor, p.id);
    const after = t.ctx.meta.all('mails').filter((m) => m.to[0] === who.m1.email);
    // No proposal mail for m1 any more; m2 (who did not unsubscribe) got it.
    expect(after.length).toBe(before);
    expect(
      t.ctx.meta
        .all('mails')
        .some((m) => m.to[0] === who.m2.email && m.event === 'proposal.shared' && m.subject.includes('Another')),
    ).toBe(true);
  });

  test('a link sent before kinds existed (member id and MAC only) still unsubscribes from everything', async () => {
    const { legacyUnsubscribeToken } = await import('../../server/services/notifications/unsubscribe.js');
    const tok = legacyUnsubscribeToken(t.ctx, who.m3.id)!;
    const res = await request(t.app).post(`/unsubscribe/${tok}`).type('form').send({ 'List-Unsubscribe': 'One-Click' });
    expect(res.status).toBe(200);
    expect(t.ctx.meta.get('users', who.m3.id)!.notify).toBe('none');
  });
});
