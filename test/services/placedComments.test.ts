/**
 * A subject's comments placed in its current revision are kept by the store until one of its
 * comments changes (`placedCommentsOf`): the same answer as placing them anew, after every kind
 * of change; a placement that failed, or was made through a coarse diff, is not kept; one
 * placement a subject.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { openTestData, testClock, type TestData } from '../helpers/data.js';
import { committee, S1, sharedProposal, type Person } from '../helpers/people.js';
import { reviseProposal } from '../../server/services/proposals/proposals.js';
import { proposalText } from '../../server/services/proposals/read.js';
import {
  addComment,
  commentsOf,
  placeComments,
  placedCommentsOf,
  setResolved,
} from '../../server/services/proposals/comments.js';
import { proposalCommentable } from '../../server/services/proposals/commentable.js';
import type { ProposalRecord } from '../../server/store/meta/schema.js';
import { coarseDiff } from '../../server/domain/diff.js';
import type { PlacedComment } from '../../server/services/proposals/comments.js';

describe('services/placedComments', () => {
  let t: TestData;
  let cast: Awaited<ReturnType<typeof committee>>;
  let p: ProposalRecord;
  const ref = () => ({ type: 'proposal' as const, id: p.id });
  const on = () => proposalCommentable(t.ctx, t.ctx.meta.get('proposals', p.id)!);
  const revisions = () => t.ctx.meta.get('proposals', p.id)!.revisions;
  /** What placing the comments anew gives. */
  const fresh = async () => placeComments(t.ctx, ref(), revisions(), commentsOf(t.ctx, ref()));

  beforeAll(async () => {
    t = await openTestData({ clock: testClock() });
    cast = await committee(t.ctx);
    p = await sharedProposal(t.ctx, cast.drafter, 'Remote participation', (text) => `${text}\nA closing line.\n`);
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  const comment = (who: Person, body: string, extra: Record<string, unknown> = {}) =>
    addComment(t.ctx, who.actor, on(), { body, ...extra });

  test('kept between views, placed again after a comment is added, answered, resolved, or the text revised', async () => {
    await comment(cast.m1, 'On the rule.', { anchor: { quote: S1.trim() } });
    const first = await placedCommentsOf(t.ctx, ref(), revisions());
    expect(first).toEqual(await fresh());
    expect(await placedCommentsOf(t.ctx, ref(), revisions())).toBe(first); // kept

    const reply = await comment(cast.m2, 'Agreed.', { replyTo: first[0].id });
    const second = await placedCommentsOf(t.ctx, ref(), revisions());
    expect(second).not.toBe(first);
    expect(second.map((c) => c.id)).toEqual([first[0].id, reply.id]);
    expect(second).toEqual(await fresh());

    await setResolved(t.ctx, cast.drafter.actor, on(), first[0].id, true);
    const third = await placedCommentsOf(t.ctx, ref(), revisions());
    expect(third[0].resolved).toBe(true);
    expect(third).toEqual(await fresh());

    // A revision that removes the quoted passage: the anchor is outdated in the new revision.
    const now = t.ctx.meta.get('proposals', p.id)!;
    const head = now.head;
    const text = await proposalText(t.ctx, now);
    expect(text).toContain(S1);
    await reviseProposal(t.ctx, cast.drafter.actor, p.id, { text: text.replace(S1, ''), head });
    const fourth = await placedCommentsOf(t.ctx, ref(), revisions());
    expect(fourth[0].outdated).toBe(true);
    expect(fourth).toEqual(await fresh());
  });

  test('a placement that failed is not kept: the next view places again', async () => {
    await comment(cast.m3, 'Another view.');
    const diff = t.ctx.diff;
    // An anchored comment of an older revision needs a diff: the pool is busy once.
    t.ctx.diff = async () => {
      throw Object.assign(new Error('busy'), { code: 'busy' });
    };
    try {
      await expect(placedCommentsOf(t.ctx, ref(), revisions())).rejects.toMatchObject({ code: 'busy' });
    } finally {
      t.ctx.diff = diff;
    }
    expect(await placedCommentsOf(t.ctx, ref(), revisions())).toEqual(await fresh());
  });

  test('a placement through a coarse diff (the pool ran out of time) is shown but not kept', async () => {
    await comment(cast.m1, 'A comment since the last view.');
    const diff = t.ctx.diff;
    // The anchored comment is of revision 1, the text at revision 2: its anchor is followed through a diff.
    let calls = 0;
    t.ctx.diff = async (from, to) => {
      calls++;
      return coarseDiff(from, to);
    };
    let coarse: readonly PlacedComment[];
    try {
      // The coarse diff calls the whole changed middle one change: the anchor inside it is outdated
      // there, wherever the word diff would find it.
      coarse = await placedCommentsOf(t.ctx, ref(), revisions());
    } finally {
      t.ctx.diff = diff;
    }
    expect(calls).toBe(1);
    const again = await placedCommentsOf(t.ctx, ref(), revisions());
    expect(again).not.toBe(coarse);
    expect(again).toEqual(await fresh());
    expect(await placedCommentsOf(t.ctx, ref(), revisions())).toBe(again); // a word diff's placement is kept
  });

  test('one placement is kept a subject: asking for another revision replaces it', async () => {
    const now = await placedCommentsOf(t.ctx, ref(), revisions());
    const older = await placedCommentsOf(t.ctx, ref(), revisions() - 1);
    expect(older).toEqual(await placeComments(t.ctx, ref(), revisions() - 1, commentsOf(t.ctx, ref())));
    expect(await placedCommentsOf(t.ctx, ref(), revisions())).not.toBe(now);
  });
});
