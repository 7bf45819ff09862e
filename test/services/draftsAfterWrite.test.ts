/**
 * "My drafts" reads each proposal's open threads as ids kept by the store (`openThreadIdsOf`):
 * after a comment on one proposal, the next view (made again: the memo) reads the comments of
 * that proposal and of the threads it shows, no other proposal's — and it gives what a fresh
 * reading gives. `prepareDrafts` (the page calls it first) makes those ids beside the event loop.
 */
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { addComment } from '../../server/services/proposals/comments.js';
import { proposalCommentable } from '../../server/services/proposals/commentable.js';
import { myDrafts, prepareDrafts } from '../../server/services/proposals/drafts.js';
import { openTestData, testClock, type TestData } from '../helpers/data.js';
import { committee, people, sharedProposal, S1 } from '../helpers/people.js';

describe('services/draftsAfterWrite', () => {
  let t: TestData;
  let who: Awaited<ReturnType<typeof committee>>;
  const proposals: number[] = [];

  beforeAll(async () => {
    t = await openTestData({ clock: testClock() });
    who = await committee(t.ctx);
    for (let i = 1; i <= 3; i++) {
      const p = await sharedProposal(t.ctx, who.drafter, `Proposal ${i}`, (s) => s.replace(S1, ''));
      proposals.push(p.id);
      const on = proposalCommentable(t.ctx, t.ctx.meta.get('proposals', p.id)!);
      // Two threads a proposal, the last word the drafter's in one of them.
      const root = await addComment(t.ctx, who.m1.actor, on, { body: `Question ${i}` });
      await addComment(t.ctx, who.drafter.actor, on, { body: `Answer ${i}`, replyTo: root.id });
      await addComment(t.ctx, who.m2.actor, on, { body: `Another point ${i}` });
    }
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  test('after a comment on one proposal, a view reads the comments of that proposal only, and of the threads it shows', async () => {
    expect(myDrafts(t.ctx, who.drafter.actor, 1).awaitingCount).toBe(3);
    const [first] = proposals;
    await addComment(t.ctx, who.m3.actor, proposalCommentable(t.ctx, t.ctx.meta.get('proposals', first)!), {
      body: 'One more',
    });
    // Every read of records through an index goes through the store's `records`.
    const store = t.ctx.meta as unknown as { records: (kind: string, ids: string[]) => unknown[] };
    const records = jest.spyOn(store, 'records');
    const view = myDrafts(t.ctx, who.drafter.actor, 1);
    const commentReads = records.mock.calls.filter(([kind]) => kind === 'comments').map(([, ids]) => ids);
    records.mockRestore();
    const ofFirst = t.ctx.meta
      .all('comments')
      .filter((c) => c.subject.type === 'proposal' && c.subject.id === first)
      .map((c) => String(c.id));
    expect(commentReads).toEqual([ofFirst]);
    expect(view.awaitingCount).toBe(4);
    expect(view.awaiting).toHaveLength(1);
    // The thread shown is whole records, as they are stored.
    const [shown] = view.awaiting;
    expect(shown.root).toEqual(t.ctx.meta.get('comments', shown.root.id));
    expect(shown.last.authorId).not.toBe(who.drafter.actor.id);
  });

  test('after a comment, the threads awaiting the actor are counted again on that proposal only', async () => {
    const [, second] = proposals;
    myDrafts(t.ctx, who.drafter.actor, 0);
    await addComment(t.ctx, who.m2.actor, proposalCommentable(t.ctx, t.ctx.meta.get('proposals', second)!), {
      body: 'A point on the second',
    });
    const store = t.ctx.meta as unknown as {
      derived: (kind: string, index: string, key: string, what: string) => unknown;
    };
    const derived = jest.spyOn(store, 'derived');
    const view = myDrafts(t.ctx, who.drafter.actor, 0);
    const looked = derived.mock.calls.filter(([, , , what]) => what === 'openThreadIds').map(([, , key]) => key);
    derived.mockRestore();
    // Not every proposal's threads: ~15,000 lookups a comment for a member of every group at thirty years.
    expect(looked).toEqual([`proposal/${second}`]);
    expect(view.awaitingCount).toBe(5);
    expect(view.awaiting).toEqual([]);
  });

  test('the first view of another member of the group: prepareDrafts makes, a slice at a time, what the view then reads', async () => {
    const [, second] = proposals;
    // The second proposal's threads are forgotten by the store, and this member's drafts are not kept.
    await addComment(t.ctx, who.m3.actor, proposalCommentable(t.ctx, t.ctx.meta.get('proposals', second)!), {
      body: 'Yet another',
    });
    const { walt } = await people(t.ctx, {
      walt: { email: 'walt@example.org', name: 'Walt Member', roles: ['member'], groups: ['wg-strategy'] },
    });
    // Views asked for together wait for one preparation: each proposal's threads looked up once.
    const lookups = jest.spyOn(
      t.ctx.meta as unknown as { derived: (kind: string, index: string, key: string, what: string) => unknown },
      'derived',
    );
    await Promise.all([prepareDrafts(t.ctx, walt.actor), prepareDrafts(t.ctx, walt.actor)]);
    const prepared = lookups.mock.calls.filter(([, , , what]) => what === 'openThreadIds').map(([, , key]) => key);
    lookups.mockRestore();
    expect(prepared.sort()).toEqual(proposals.map((id) => `proposal/${id}`).sort());
    const store = t.ctx.meta as unknown as { records: (kind: string, ids: string[]) => unknown[] };
    const records = jest.spyOn(store, 'records');
    const view = myDrafts(t.ctx, walt.actor, 1);
    const commentReads = records.mock.calls.filter(([kind]) => kind === 'comments');
    records.mockRestore();
    expect(commentReads).toEqual([]);
    // Walt wrote none: every open thread waits for him (3 + 4 + 2).
    expect(view.awaitingCount).toBe(9);
  });
});
