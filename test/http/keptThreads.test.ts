/**
 * The threads of a proposal page are kept between requests (issue 17: they were most of the
 * heaviest member page's cost), and what is kept must never show: another reader's rights or
 * form token, or a state older than the last write. Checked on the page itself: a reader's page
 * made from what another reader's request kept is the page made for them alone, token for token
 * their own; a write shows at once; the reply a refusal brings back is the reader's. And on the
 * cache: pieces and values are made once per key and version, never kept across a write that
 * came in while they were made, and bounded.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Actor } from '../../server/domain/actor.js';
import { FragmentCache, KeptBytes } from '../../server/http/render/fragments.js';
import { addComment } from '../../server/services/proposals/comments.js';
import { proposalCommentable } from '../../server/services/proposals/commentable.js';
import { createProposal, shareProposal } from '../../server/services/proposals/proposals.js';
import { csrfFrom, makeUser, signedIn, type Agent } from '../helpers/auth.js';
import { appsOver, openTestData, testClock, type TestData } from '../helpers/data.js';
import { publishedText } from '../helpers/people.js';

describe('http/keptThreads', () => {
  describe('the cache', () => {
    test('a piece is made once per key and version, with each reader’s own token', () => {
      const cache = new FragmentCache();
      let made = 0;
      const make = (token: string) => {
        made++;
        return `<form><input name="_csrf" value="${token}"></form><p>x</p><form><input value="${token}"></form>`;
      };
      const a = cache.forPage(() => 'v1', 'token-a').fragment('k', make);
      const b = cache.forPage(() => 'v1', 'token-b').fragment('k', make);
      expect(made).toBe(1);
      expect(a).toBe(make('token-a'));
      expect(b).toBe(make('token-b'));
      expect(a).not.toContain(cache.slot);
      // Null: made for this request alone, never kept.
      cache.forPage(() => 'v1', 't').fragment(null, make);
      cache.forPage(() => 'v1', 't').fragment(null, make);
      expect(made).toBe(1 + 2 + 2);
      // Another version: made again; the piece of v1 is never given for it.
      expect(cache.forPage(() => 'v2', 't').fragment('k', make)).toBe(make('t'));
      expect(made).toBe(7);
      expect(cache.stats()).toMatchObject({ hits: 1, misses: 2, pieces: 2 });
    });

    test('pieces of pages at different versions are kept side by side (two proposals, one written to)', () => {
      const cache = new FragmentCache();
      const versions = { a: 'a1', b: 'b1' };
      let made = 0;
      const make = (page: 'a' | 'b') => () => `${page} ${versions[page]} ${++made}`;
      const view = (page: 'a' | 'b') => cache.forPage(() => versions[page], '').fragment('thread', make(page));
      expect(view('a')).toBe('a a1 1');
      expect(view('b')).toBe('b b1 2');
      // A write to b: b's page is made again at its new version; a's piece is still given.
      versions.b = 'b2';
      expect(view('b')).toBe('b b2 3');
      expect(view('a')).toBe('a a1 1');
      expect(view('b')).toBe('b b2 3');
      expect(cache.stats()).toMatchObject({ hits: 2, misses: 3 });
    });

    test('a page during which something was written neither keeps a piece nor uses one', () => {
      const cache = new FragmentCache();
      let version = 'v1';
      let made = 0;
      const make = () => `made ${++made}`;
      cache.forPage(() => version, '').fragment('k', make);
      const page = cache.forPage(() => version, '');
      version = 'v2';
      expect(page.fragment('k', make)).toBe('made 2');
      expect(cache.stats()).toMatchObject({ hits: 0, misses: 1 });
      // A page that began at v2 makes its own and keeps it.
      expect(cache.forPage(() => version, '').fragment('k', make)).toBe('made 3');
      expect(cache.forPage(() => version, '').fragment('k', make)).toBe('made 3');
    });

    test('values: kept and shared at one version, not kept across a write during their making', async () => {
      const cache = new FragmentCache();
      let version = 'v1';
      let made = 0;
      const make = async () => ({ n: ++made });
      const first = await cache.forPage(() => version, '').value('view', make);
      expect(await cache.forPage(() => version, '').value('view', make)).toBe(first);
      const during = cache.forPage(() => version, '');
      const late = during.value('other', async () => {
        version = 'v2';
        return { n: ++made };
      });
      expect(await late).toEqual({ n: 2 });
      expect(await cache.forPage(() => version, '').value('other', make)).toEqual({ n: 3 });
      expect(await cache.forPage(() => version, '').value('view', make)).toEqual({ n: 4 });
      // A page that began before a write asks after it: it gets a value made now, not the kept one.
      const before = cache.forPage(() => version, '');
      version = 'v3';
      expect(await before.value('view', make)).toEqual({ n: 5 });
    });

    test('values asked for at once are made once per version; a failure reaches each asker and is not kept', async () => {
      const cache = new FragmentCache();
      let version = 'v1';
      let made = 0;
      let fail = false;
      const make = async () => {
        made++;
        await new Promise((r) => setTimeout(r, 5));
        if (fail) throw new Error('renderer down');
        return { n: made };
      };
      const page = () => cache.forPage(() => version, '').value('view', make);
      const [a, b, c] = await Promise.all([page(), page(), page()]);
      expect(made).toBe(1);
      expect(b).toBe(a);
      expect(c).toBe(a);
      // Another version while one is being made: made for it.
      version = 'v2';
      const d = page();
      version = 'v3';
      const e = page();
      const [dv, ev] = await Promise.all([d, e]);
      expect(made).toBe(3);
      expect(dv).not.toBe(ev);
      version = 'v4';
      fail = true;
      const failed = await Promise.allSettled([page(), page()]);
      expect(failed.map((x) => x.status)).toEqual(['rejected', 'rejected']);
      expect(made).toBe(4);
      fail = false;
      expect(await page()).toEqual({ n: 5 });
    });

    test('bytes: the text as UTF-8, kept at one version, never across a write during the page', () => {
      const cache = new FragmentCache();
      let version = 'v1';
      let made = 0;
      const make = () => `{"name":"Zoë “Z” 名前 ${++made}"}`;
      const first = cache.forPage(() => version, '').bytes('r', make);
      expect(first.toString('utf8')).toBe('{"name":"Zoë “Z” 名前 1"}');
      expect(cache.forPage(() => version, '').bytes('r', make)).toBe(first);
      const page = cache.forPage(() => version, '');
      version = 'v2';
      expect(page.bytes('r', make).toString('utf8')).toContain(' 2"');
      const now = () =>
        cache
          .forPage(() => version, '')
          .bytes('r', make)
          .toString('utf8');
      expect(now()).toContain(' 3"');
      expect(now()).toContain(' 3"');
    });

    test('pieces nest: one made inside another is kept too, and each reader gets their token in both', () => {
      const cache = new FragmentCache();
      let made = 0;
      const inner = (token: string) => {
        made++;
        return `<input value="${token}">`;
      };
      const page = (reader: string, outerKey: string) => {
        const parts = cache.forPage(() => 'v', reader);
        return parts.fragment(outerKey, (token) => `<form value="${token}">${parts.fragment('inner', inner)}</form>`);
      };
      // The inner piece kept first (by another page), then used while an outer one is made.
      cache.forPage(() => 'v', 'a').fragment('inner', inner);
      expect(page('b', 'outer')).toBe('<form value="b"><input value="b"></form>');
      expect(page('c', 'outer')).toBe('<form value="c"><input value="c"></form>');
      expect(page('d', 'other')).toBe('<form value="d"><input value="d"></form>');
      expect(made).toBe(1);
      expect(cache.stats()).toMatchObject({ misses: 3, pieces: 3 });
    });

    test('a large piece is kept as bytes and sent as them, each reader’s token in it', () => {
      const cache = new FragmentCache();
      let made = 0;
      const text = (token: string) => `<p>Zoë “1”</p><input value="${token}"><p>名前</p><input value="${token}">`;
      const make = (token: string) => {
        made++;
        return text(token);
      };
      const page = (reader: string) => cache.forPage(() => 'v', reader).large('k', make);
      expect(String(page('a'))).toBe(text('a'));
      const b = page('b');
      expect(made).toBe(1);
      expect(b).toBeInstanceOf(KeptBytes);
      expect(String(b)).toBe(text('b'));
      const into = Buffer.alloc((b as KeptBytes).byteLength + 2);
      expect((b as KeptBytes).writeInto(into, 1)).toBe(into.length - 2);
      expect(into.subarray(1, -1).toString('utf8')).toBe(String(b));
      // Null, or a write during the page: made for this request alone.
      expect(cache.forPage(() => 'v', 'c').large(null, make)).toBe(text('c'));
      expect(made).toBe(2);
      // A piece of the same key that is not large is another piece.
      expect(cache.forPage(() => 'v', 'd').fragment('k', (t) => `f ${t}`)).toBe('f d');
    });

    test('a large piece given as a template’s pieces is never joined, and reads the same', () => {
      const cache = new FragmentCache();
      // Thousands of pieces (more than one chunk), characters beyond Latin-1, a token in a piece of its own and inside one.
      const pieces = (token: string) => [
        ...Array.from({ length: 3000 }, (_, i) => (i % 7 ? `<li>Zoë “${i}” 名前</li>` : `<li>${i}</li>`)),
        '<input value="',
        token,
        '">',
        `<p>${token}</p>`,
        42,
      ];
      const text = (token: string) => pieces(token).join('');
      const page = (reader: string, key: string | null = 'p') => cache.forPage(() => 'v', reader).large(key, pieces);
      const [made, kept, alone] = [page('a'), page('b'), page('c', null)];
      for (const [piece, reader] of [
        [made, 'a'],
        [kept, 'b'],
        [alone, 'c'],
      ] as const) {
        expect(piece).toBeInstanceOf(KeptBytes);
        expect(String(piece)).toBe(text(reader));
        const into = Buffer.alloc((piece as KeptBytes).byteLength);
        (piece as KeptBytes).writeInto(into, 0);
        expect(into.equals(Buffer.from(text(reader), 'utf8'))).toBe(true);
      }
      expect(cache.stats()).toMatchObject({ hits: 1, misses: 1 });
    });

    test('bounded in characters, the least recently used let go first', () => {
      const cache = new FragmentCache(1000);
      const page = cache.forPage(() => 'v', '');
      for (let i = 0; i < 30; i++) page.fragment(`k${i}`, () => 'x'.repeat(60));
      expect(cache.stats().chars).toBeLessThanOrEqual(1000);
      expect(cache.stats().pieces).toBe(16);
      // Larger than a sixteenth of the bound: never kept.
      page.fragment('big', () => 'x'.repeat(100));
      expect(cache.stats().pieces).toBe(16);
    });
  });

  describe('the proposal page', () => {
    const PASSWORD = 'a long enough password';
    let t: TestData;
    let apps: ReturnType<typeof appsOver>;
    let id: number;
    let kimThread: number;
    let leeThread: number;
    let kimSuggestion: number;
    let leeActor: Actor;
    let danaActor: Actor;
    // Max and Ned wrote nothing: they share the text tab's kept piece (and Kim's and Lee's threads).
    const people = ['dana', 'kim', 'lee', 'max', 'ned'].map((n) => ({ name: n, email: `${n}@example.org` }));

    beforeAll(async () => {
      const clock = testClock('2026-02-01T09:00:00Z');
      t = await openTestData({ clock });
      apps = appsOver(t);
      const [dana, kim, lee] = await Promise.all(
        // Kim and Lee are of another working group than the proposal's: they may comment, not edit.
        people.map((p) =>
          makeUser(t.ctx, {
            ...p,
            roles: ['member'],
            groups: [p.name === 'dana' ? 'wg-strategy' : 'wg-wsp'],
            password: PASSWORD,
          }),
        ),
      );
      const p = await createProposal(t.ctx, dana.actor, 'terms-of-reference', {
        title: 'Kept threads',
        rationale: '',
        text: await publishedText(t.ctx),
      });
      id = p.id;
      const on = proposalCommentable(t.ctx, await shareProposal(t.ctx, dana.actor, id));
      kimThread = (await addComment(t.ctx, kim.actor, on, { body: 'Kim asks.' })).id;
      await addComment(t.ctx, lee.actor, on, { body: 'Lee answers.', replyTo: kimThread });
      // Two suggested changes of the same passage.
      const suggest = async (by: Actor, body: string, suggestion: string) =>
        (await addComment(t.ctx, by, on, { body, anchor: { quote: 'Chatham House Rule' }, suggestion })).id;
      leeThread = await suggest(lee.actor, 'Lee suggests.', 'house rules');
      kimSuggestion = await suggest(kim.actor, 'A second suggestion.', 'the rule');
      leeActor = lee.actor;
      danaActor = dana.actor;
    }, 60_000);
    afterAll(async () => {
      await apps?.close();
      await t?.cleanup();
    });

    /** The page as `who` sees it, with their form token, and with it blanked (to compare pages). */
    const pageOf = async (agent: Agent, path = `/proposals/${id}`) => {
      const res = await agent.get(path);
      expect(res.status).toBe(200);
      const token = csrfFrom(res.text);
      const tokens = new Set([...res.text.matchAll(/name="_csrf" value="([^"]*)"/g)].map((m) => m[1]));
      return { html: res.text, token, tokens, blank: res.text.replaceAll(token, 'TOKEN') };
    };
    const resolvable = (html: string) =>
      [...html.matchAll(/action="\/proposals\/\d+\/comments\/(\d+)\/resolve"/g)].map((m) => Number(m[1])).sort();

    test('a reader’s page made from what others kept is the page made for them alone: their rights, their token', async () => {
      const warm = await apps.make();
      const agents = Object.fromEntries(
        await Promise.all(people.map(async (p) => [p.name, await signedIn(warm, p.email, PASSWORD)] as const)),
      );
      // Everyone views the page in turn, twice: the later views are made from kept threads.
      const seen: Record<string, Awaited<ReturnType<typeof pageOf>>[]> = {};
      for (let round = 0; round < 2; round++)
        for (const p of people)
          (seen[p.name] ??= []).push(await pageOf(agents[p.name], `/proposals/${id}?comments=all`));
      for (const p of people) {
        const alone = await pageOf(
          await signedIn(await apps.make(), p.email, PASSWORD),
          `/proposals/${id}?comments=all`,
        );
        for (const page of seen[p.name]) {
          expect(page.blank).toBe(alone.blank);
          // Every form on the page carries the reader's own token.
          expect([...page.tokens]).toEqual([page.token]);
        }
      }
      // Each resolves their own threads only; the author of the proposal may apply the suggestions.
      expect(resolvable(seen.kim[1].html)).toEqual([kimThread, kimThread + 3].sort());
      expect(resolvable(seen.lee[1].html)).toEqual([leeThread]);
      expect(seen.dana[1].html).toContain(`/comments/${leeThread}/apply"`);
      expect(seen.kim[1].html).not.toContain(`/comments/${leeThread}/apply"`);
      expect(resolvable(seen.ned[0].html)).toEqual([]);
      // The same page but for the name in the header.
      expect(seen.ned[0].blank.replace('/account">ned<', '/account">max<')).toBe(seen.max[0].blank);
    });

    test('a write shows on the next view; a refused reply comes back in its thread for its writer alone', async () => {
      const app = await apps.make();
      const kim = await signedIn(app, 'kim@example.org', PASSWORD);
      const lee = await signedIn(app, 'lee@example.org', PASSWORD);
      const before = await pageOf(kim);
      await pageOf(lee);
      const reply = await kim
        .post(`/proposals/${id}/comments`)
        .type('form')
        .send({ _csrf: before.token, replyTo: String(leeThread), body: 'Kim replies to the suggestion.' });
      expect(reply.status).toBe(303);
      expect((await pageOf(lee)).html).toContain('Kim replies to the suggestion.');
      // An empty reply is refused and shown again, open, in its thread: only in Kim's page.
      const refused = await kim
        .post(`/proposals/${id}/comments`)
        .type('form')
        .send({ _csrf: before.token, replyTo: String(kimThread), body: ' ' });
      expect(refused.status).toBe(400);
      expect(refused.text).toMatch(
        new RegExp(
          `<details class="reply" open><summary>Reply</summary>\\s*<form method="post" action="/proposals/${id}/comments#thread-${kimThread}"`,
        ),
      );
      const leeAfter = await pageOf(lee);
      expect(leeAfter.html).not.toContain('<details class="reply" open>');
      expect(leeAfter.blank).toBe((await pageOf(await signedIn(await apps.make(), 'lee@example.org', PASSWORD))).blank);
    });

    test('“My drafts”: each reader’s lists as a fresh app makes them; a comment waiting for them shows on the next view', async () => {
      const app = await apps.make();
      // Dana wrote the proposal: its threads wait for her reply.
      const dana = await signedIn(app, 'dana@example.org', PASSWORD);
      const lee = await signedIn(app, 'lee@example.org', PASSWORD);
      const blank = async (agent: Agent) => {
        const res = await agent.get('/drafts');
        expect(res.status).toBe(200);
        return res.text.replaceAll(csrfFrom(res.text), 'TOKEN');
      };
      const [dana1, lee1, dana2] = [await blank(dana), await blank(lee), await blank(dana)];
      expect(dana2).toBe(dana1);
      expect(lee1).not.toBe(dana1);
      const fresh = await apps.make();
      expect(await blank(await signedIn(fresh, 'dana@example.org', PASSWORD))).toBe(dana1);
      // Lee's lists were made after Dana's were kept: his own, as a fresh app makes them.
      expect(await blank(await signedIn(await apps.make(), 'lee@example.org', PASSWORD))).toBe(lee1);
      // Lee answers Kim's suggestion: the thread's last word is Lee's, and it waits for Dana.
      const on = proposalCommentable(t.ctx, t.ctx.meta.get('proposals', id)!);
      await addComment(t.ctx, leeActor, on, { body: 'Lee answers the second suggestion.', replyTo: kimSuggestion });
      const after = await blank(dana);
      expect(after).toContain('Lee answers the second suggestion.');
      expect(after).toBe(await blank(await signedIn(await apps.make(), 'dana@example.org', PASSWORD)));
    });

    test('a comment on another proposal leaves this page’s pieces kept; one on this proposal shows at once', async () => {
      // The caches of the app's pages, seen as they are asked for pieces.
      const caches = new Set<FragmentCache>();
      const forPage = FragmentCache.prototype.forPage;
      FragmentCache.prototype.forPage = function (this: FragmentCache, ...args: Parameters<typeof forPage>) {
        caches.add(this);
        return forPage.apply(this, args);
      };
      try {
        const app = await apps.make();
        const ned = await signedIn(app, 'ned@example.org', PASSWORD);
        const alone = async (path: string) =>
          (await pageOf(await signedIn(await apps.make(), 'ned@example.org', PASSWORD), path)).blank;
        const other = await createProposal(t.ctx, danaActor, 'terms-of-reference', {
          title: 'Another proposal',
          rationale: '',
          text: `${await publishedText(t.ctx)}\nAnother change.\n`,
        });
        const onOther = proposalCommentable(t.ctx, await shareProposal(t.ctx, danaActor, other.id));
        const path = `/proposals/${id}?comments=all`;
        const first = await pageOf(ned, path);
        // The pieces the warm app made (not those of the fresh apps made to compare with).
        const warm = [...caches];
        const made = () => warm.reduce((n, c) => n + c.stats().misses, 0);
        const before = made();
        expect(before).toBeGreaterThan(0);
        // A thread and its reply on the other proposal: this page is given from what was kept.
        const asked = (await addComment(t.ctx, leeActor, onOther, { body: 'On the other proposal.' })).id;
        await addComment(t.ctx, danaActor, onOther, { body: 'Answered there.', replyTo: asked });
        const kept = await pageOf(ned, path);
        expect(made()).toBe(before);
        expect(kept.blank).toBe(first.blank);
        expect(kept.blank).toBe(await alone(path));
        // A comment on this proposal: on the next view, made again.
        const on = proposalCommentable(t.ctx, t.ctx.meta.get('proposals', id)!);
        await addComment(t.ctx, leeActor, on, { body: 'Lee adds a word here.' });
        const after = await pageOf(ned, path);
        expect(made()).toBeGreaterThan(before);
        expect(after.html).toContain('Lee adds a word here.');
        expect(after.blank).toBe(await alone(path));
      } finally {
        FragmentCache.prototype.forPage = forPage;
      }
    });
  });
});
