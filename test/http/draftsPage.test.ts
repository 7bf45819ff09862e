/**
 * "My drafts" over the years: each list shows its newest 50, says how many there are, and links
 * to all of them (issue 17: the page listed every draft of the member's groups, 1.1 MB at three
 * years' volume).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { makeUser, signedIn, type Agent } from '../helpers/auth.js';
import { openTestApp, testClock } from '../helpers/data.js';
import { publishedText } from '../helpers/people.js';
import { section } from '../helpers/pages.js';
import { createProposal } from '../../server/services/proposals/proposals.js';
import { DRAFTS_SHOWN } from '../../server/http/pages/draftPages.js';
import { awaitingItem, threadsOf } from '../../server/http/presenters/proposalView.js';
import { addComment, openThreads } from '../../server/services/proposals/comments.js';
import { proposalCommentable } from '../../server/services/proposals/commentable.js';
import { myDrafts } from '../../server/services/proposals/drafts.js';
import type { CommentRecord, ProposalRecord } from '../../server/store/meta/schema.js';
import type { Actor } from '../../server/domain/actor.js';
import { runs } from '../helpers/depth.js';

describe('http/draftsPage', () => {
  const PASSWORD = 'a long enough password';
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let wanda: Agent;
  let wandaActor: Actor;
  let otherId: number;

  beforeAll(async () => {
    t = await openTestApp({ clock: testClock('2026-01-15T10:00:00Z') });
    const w = await makeUser(t.ctx, {
      email: 'wanda@example.org',
      name: 'Wanda Strategy',
      roles: ['member'],
      groups: ['wg-strategy'],
      password: PASSWORD,
    });
    wandaActor = w.actor;
    otherId = (
      await makeUser(t.ctx, { email: 'omar@example.org', name: 'Omar Other', roles: ['member'], password: PASSWORD })
    ).actor.id;
    const text = await publishedText(t.ctx);
    for (let i = 1; i <= DRAFTS_SHOWN + 3; i++)
      await createProposal(t.ctx, w.actor, 'terms-of-reference', {
        title: `Draft ${i}`,
        rationale: 'Why',
        text: `${text}\nAddendum ${i}.\n`,
      });
    wanda = await signedIn(t.app, w.email, PASSWORD);
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  const titles = (html: string) => [...html.matchAll(/>Draft (\d+)</g)].map((m) => Number(m[1]));

  test('each list shows its newest 50, says how many there are, and links to all', async () => {
    const res = await wanda.get('/drafts');
    expect(res.status).toBe(200);
    for (const id of ['group-h', 'mine-h']) {
      const part = section(res.text, id);
      expect(titles(part)).toEqual(Array.from({ length: DRAFTS_SHOWN }, (_, i) => DRAFTS_SHOWN + 3 - i)); // newest first
      expect(part).toContain(`The newest ${DRAFTS_SHOWN} of ${DRAFTS_SHOWN + 3}.`);
      expect(part).toContain('<a href="/drafts?all=1">Show them all</a>');
    }
    const all = await wanda.get('/drafts?all=1');
    expect(titles(section(all.text, 'mine-h'))).toHaveLength(DRAFTS_SHOWN + 3);
    expect(section(all.text, 'mine-h')).not.toContain('Show them all');
  });

  test("the threads awaiting a reply are those the full thread view leaves open with the last word not the reader's, made alike", async () => {
    // "My drafts" counts every awaiting thread without building its view (no names, quotes or
    // excerpts), then builds the shown ones: both must agree with threadsOf, the proposal page's view.
    const proposal = { id: 7, title: 'P', state: 'shared' } as ProposalRecord;
    const comment = fc.record({
      mine: fc.boolean(),
      replyBack: fc.option(fc.nat(20), { nil: null }),
      resolved: fc.boolean(),
      anchored: fc.boolean(),
      body: fc.string({ maxLength: 40 }),
    });
    fc.assert(
      fc.property(fc.array(comment, { maxLength: 25 }), fc.boolean(), (specs, shuffled) => {
        const comments: CommentRecord[] = specs.map((c, i) => ({
          id: i + 1,
          subject: { type: 'proposal', id: 7 },
          authorId: c.mine ? wandaActor.id : otherId,
          body: c.body,
          anchor: c.anchored ? { quote: '**Bold** words', offset: 0, revision: 1 } : null,
          replyTo: c.replyBack !== null && c.replyBack < i ? i - c.replyBack : null,
          resolved: c.resolved,
          resolvedBy: null,
          createdAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
        }));
        const given = shuffled ? [...comments].reverse() : comments;
        const reference = threadsOf(t.ctx, given).filter(
          ({ view }) => !view.resolved && view.comments.at(-1)!.authorId !== wandaActor.id,
        );
        const fast = openThreads(given)
          .filter((o) => o.last.authorId !== wandaActor.id)
          .map((o) => ({ ...o, proposal }));
        expect(fast.map((a) => [a.root.id, a.last.id, a.count])).toEqual(
          reference.map(({ view }) => [view.id, view.comments.at(-1)!.id, view.comments.length]),
        );
        for (const [i, a] of fast.entries()) {
          const item = awaitingItem(t.ctx, a);
          const view = reference[i].view;
          expect([item.thread, item.quote, item.last.author, item.replies]).toEqual([
            view.id,
            view.quote,
            view.comments.at(-1)!.author,
            view.comments.length - 1,
          ]);
        }
      }),
      runs(300),
    );
  });

  /** Another member of Wanda's working group (each test its own address). */
  const memberOfWandasGroup = (email: string) =>
    makeUser(t.ctx, { email, name: 'Gail Strategy', roles: ['member'], groups: ['wg-strategy'], password: PASSWORD });

  test('threads awaiting a reply: counted in full, the first 50 shown, all with ?all=1; the service makes only those it is asked for', async () => {
    // Gail, in Wanda's group, starts a thread on each of Wanda's drafts: 53 wait for Wanda.
    const gail = await memberOfWandasGroup('gail@example.org');
    const drafts = t.ctx.meta.by('proposals', 'author', String(wandaActor.id));
    for (const p of drafts)
      await addComment(t.ctx, gail.actor, proposalCommentable(t.ctx, p), { body: `On ${p.title}` });
    const every = myDrafts(t.ctx, wandaActor);
    expect(every.awaitingCount).toBe(drafts.length);
    expect(every.awaiting).toHaveLength(drafts.length);
    const first = myDrafts(t.ctx, wandaActor, DRAFTS_SHOWN);
    expect(first.awaitingCount).toBe(drafts.length);
    expect(first.awaiting.map((a) => a.root.id)).toEqual(every.awaiting.slice(0, DRAFTS_SHOWN).map((a) => a.root.id));
    const links = (html: string) => section(html, 'awaiting-h').match(/#thread-\d+/g) ?? [];
    const page = await wanda.get('/drafts');
    expect(section(page.text, 'awaiting-h')).toContain(`(${drafts.length})`);
    expect(links(page.text)).toHaveLength(DRAFTS_SHOWN);
    expect(links((await wanda.get('/drafts?all=1')).text)).toHaveLength(drafts.length);
    // Gail's page: the last word is hers, so none waits for her.
    expect(myDrafts(t.ctx, gail.actor).awaitingCount).toBe(0);
  });

  test('the page is made again after each change it shows (it is kept between them)', async () => {
    const gail = await memberOfWandasGroup('gail2@example.org');
    const [p] = t.ctx.meta.by('proposals', 'author', String(wandaActor.id));
    const before = myDrafts(t.ctx, wandaActor);
    expect(myDrafts(t.ctx, wandaActor)).toBe(before); // kept
    // A comment waits for Wanda as soon as it is written, and her reply ends the wait.
    const root = await addComment(t.ctx, gail.actor, proposalCommentable(t.ctx, p), { body: 'A question' });
    expect(myDrafts(t.ctx, wandaActor).awaitingCount).toBe(before.awaitingCount + 1);
    await addComment(t.ctx, wandaActor, proposalCommentable(t.ctx, p), { body: 'An answer', replyTo: root.id });
    expect(myDrafts(t.ctx, wandaActor).awaitingCount).toBe(before.awaitingCount);
    // Another actor, or the same one with other groups, is not given Wanda's page.
    expect(myDrafts(t.ctx, { ...wandaActor, groups: [] }).groupDrafts).toHaveLength(0);
    expect(section((await wanda.get('/drafts')).text, 'awaiting-h')).toContain(`(${before.awaitingCount})`);
  });
});
