/**
 * Signed out is not "absent" (issue 14, item 5): a signed-out visitor who follows a link to a
 * page for members — a notification's link, typically — gets a 404 that offers to sign in and
 * come back to that very URL, and that answer is the same whether the page exists or not (no
 * existence is revealed). Every "Sign in" link carries the page it is on.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { makeUser, signIn } from '../helpers/auth.js';
import { openTestApp, testClock } from '../helpers/data.js';
import { createProposal } from '../../server/services/proposals/proposals.js';

describe('http/signInToSee', () => {
  const PASSWORD = 'a long enough password';
  const SLUG = 'terms-of-reference';

  let t: Awaited<ReturnType<typeof openTestApp>>;
  let proposal = 0;

  beforeAll(async () => {
    t = await openTestApp({ clock: testClock('2026-01-15T10:00:00Z') });
    const m = await makeUser(t.ctx, {
      email: 'mo@example.org',
      name: 'Mo Member',
      roles: ['member'],
      groups: ['wg-strategy'],
      password: PASSWORD,
    });
    proposal = (await createProposal(t.ctx, m.actor, SLUG, { title: 'A change', text: 'A new text.\n' })).id;
  }, 60_000);

  afterAll(() => t.cleanup());

  /** The href of the page's "Sign in to see it" link, or null. */
  const signInToSee = (html: string) =>
    /<a[^>]*href="([^"]*)"[^>]*data-action="sign-in-to-see"/.exec(html)?.[1] ?? null;
  /** The href of the header's "Sign in" link. */
  const headerSignIn = (html: string) => /<li class="who"><a href="([^"]*)">Sign in<\/a>/.exec(html)?.[1] ?? null;
  const decode = (href: string) => href.replace(/&amp;/g, '&');

  describe('a members-only page, signed out', () => {
    test('404 with "Sign in to see it" whose next is the URL; signing in lands there', async () => {
      const url = `/proposals/${proposal}?tab=changes`;
      const res = await request(t.app).get(url).accept('html');
      expect(res.status).toBe(404);
      const href = decode(signInToSee(res.text)!);
      expect(href).toBe(`/login?next=${encodeURIComponent(url)}`);

      const form = await request(t.app).get(href);
      expect(form.status).toBe(200);
      const { agent, res: signedIn } = await signIn(t.app, 'mo@example.org', PASSWORD, { next: url });
      expect(signedIn.status).toBe(303);
      expect(signedIn.headers.location).toBe(url);
      expect((await agent.get(url)).status).toBe(200);
    });

    test('the same answer for a page that does not exist: nothing is revealed', async () => {
      const shape = (html: string, id: number) =>
        html
          .replaceAll(`/proposals/${id}`, '/proposals/N')
          .replaceAll(`%2Fproposals%2F${id}`, '%2Fproposals%2FN')
          .replace(/name="_csrf" value="[^"]*"/g, '')
          .replace(/nonce="[^"]*"/g, '');
      const there = await request(t.app).get(`/proposals/${proposal}`).accept('html');
      const absent = await request(t.app).get('/proposals/987654').accept('html');
      expect([there.status, absent.status]).toEqual([404, 404]);
      expect(shape(absent.text, 987654)).toBe(shape(there.text, proposal));
    });

    test('signed in, a page that does not exist has no sign-in offer', async () => {
      const { agent } = await signIn(t.app, 'mo@example.org', PASSWORD);
      const res = await agent.get('/proposals/987654').accept('html');
      expect(res.status).toBe(404);
      expect(signInToSee(res.text)).toBeNull();
    });
  });

  describe('the header\'s "Sign in" carries the page it is on', () => {
    test.each(['/', `/documents/${SLUG}`, `/documents/${SLUG}/versions/1?x=1`])('%s', async (url) => {
      const res = await request(t.app).get(url);
      expect(res.status).toBe(200);
      expect(decode(headerSignIn(res.text)!)).toBe(url === '/' ? '/login' : `/login?next=${encodeURIComponent(url)}`);
    });

    test('the sign-in page itself links to itself without a loop of next', async () => {
      const res = await request(t.app).get('/login?next=%2Fdrafts');
      expect(res.status).toBe(200);
      expect(headerSignIn(res.text)).toBe('/login?next=%2Fdrafts');
    });
  });

  describe('"1 vote open — you have not voted" for every elector who has not voted', () => {
    test('in the header of every page, until the member votes; never for others', async () => {
      const { openRound } = await import('../../server/services/rounds/rounds.js');
      const { shareProposal } = await import('../../server/services/proposals/proposals.js');
      const { castBallot } = await import('../../server/services/rounds/ballots.js');
      const chair = await makeUser(t.ctx, {
        email: 'cara@example.org',
        name: 'Cara',
        roles: ['chair'],
        password: PASSWORD,
      });
      const { actorOf, findUserByEmail } = await import('../../server/services/accounts/users.js');
      const moActor = actorOf(findUserByEmail(t.ctx, 'mo@example.org')!);
      await shareProposal(t.ctx, moActor, proposal);
      const r = await openRound(t.ctx, chair.actor, {
        subject: { type: 'proposal', id: proposal },
        rule: 'majority',
        quorum: 0.5,
        closesAt: '2026-02-01T17:00:00Z',
      });
      const banner = (html: string) => /<p class="vote-banner"[^>]*>([\s\S]*?)<\/p>/.exec(html)?.[1] ?? null;
      const { agent } = await signIn(t.app, 'mo@example.org', PASSWORD);
      for (const url of ['/', `/documents/${SLUG}`, '/drafts']) {
        const res = await agent.get(url);
        expect(res.status).toBe(200);
        expect(banner(res.text)).toContain(`href="/rounds/${r.id}"`);
        expect(banner(res.text)).toContain('1 vote open');
      }
      // The chair is not a member: not in the electorate, no banner; nor the public.
      const { agent: asChair } = await signIn(t.app, 'cara@example.org', PASSWORD);
      expect(banner((await asChair.get('/')).text)).toBeNull();
      expect(banner((await request(t.app).get('/')).text)).toBeNull();
      await castBallot(t.ctx, moActor, r.id, { position: 'approve' });
      expect(banner((await agent.get('/')).text)).toBeNull();
    });
  });
});
