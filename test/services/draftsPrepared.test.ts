/**
 * "My drafts" reads each proposal's open threads as ids kept by the store (`openThreadIdsOf`),
 * made ahead of the first view by `prepareOpenThreads` (run beside the event loop after a start):
 * after it, a view reads no comment but those of the threads it shows, and it gives what a view
 * without it gives.
 */
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import { addComment } from '../../server/services/proposals/comments.js';
import { proposalCommentable } from '../../server/services/proposals/commentable.js';
import { myDrafts, prepareOpenThreads } from '../../server/services/proposals/drafts.js';
import { runThrough } from '../../server/util/steps.js';
import { openTestData, testClock, type TestData } from '../helpers/data.js';
import { committee, sharedProposal, S1 } from '../helpers/people.js';

let t: TestData;
let who: Awaited<ReturnType<typeof committee>>;

beforeAll(async () => {
  t = await openTestData({ clock: testClock() });
  who = await committee(t.ctx);
  for (let i = 1; i <= 3; i++) {
    const p = await sharedProposal(t.ctx, who.drafter, `Proposal ${i}`, (s) => s.replace(S1, ''));
    const on = proposalCommentable(t.ctx, t.ctx.meta.get('proposals', p.id)!);
    // Two threads a proposal, the last word the drafter's in one of them; a third resolved later.
    const root = await addComment(t.ctx, who.m1.actor, on, { body: `Question ${i}` });
    await addComment(t.ctx, who.drafter.actor, on, { body: `Answer ${i}`, replyTo: root.id });
    await addComment(t.ctx, who.m2.actor, on, { body: `Another point ${i}` });
  }
});
afterAll(async () => {
  await t?.cleanup();
});

test('after the open threads are prepared, a view reads only the comments of the threads it shows', async () => {
  const expected = myDrafts(t.ctx, who.drafter.actor, 2);
  expect(expected.awaitingCount).toBe(3);
  // A write to comments: the next view is made again (the memo), from the ids kept per proposal.
  const p = t.ctx.meta.all('proposals')[0];
  await addComment(t.ctx, who.m3.actor, proposalCommentable(t.ctx, p), { body: 'One more' });
  runThrough(prepareOpenThreads(t.ctx));
  // Every read of records through an index goes through the store's `records`.
  const store = t.ctx.meta as unknown as { records: (kind: string, ids: string[]) => unknown[] };
  const records = jest.spyOn(store, 'records');
  const view = myDrafts(t.ctx, who.drafter.actor, 2);
  const commentReads = records.mock.calls.filter(([kind]) => kind === 'comments');
  records.mockRestore();
  expect(commentReads).toEqual([]);
  expect(view.awaitingCount).toBe(4);
  expect(view.awaiting).toHaveLength(2);
  // The threads shown are whole records, as a view gives them without the preparation.
  for (const a of view.awaiting) {
    expect(a.root).toEqual(t.ctx.meta.get('comments', a.root.id));
    expect(a.last.authorId).not.toBe(who.drafter.actor.id);
  }
});
