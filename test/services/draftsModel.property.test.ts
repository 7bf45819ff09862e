/**
 * "My drafts" is kept per actor and brought up to date from the proposals whose comments changed
 * (`myDrafts`, the store's change log). Against a reference that reads every proposal and comment
 * afresh: random comments, replies, resolutions and reopenings by four people on three proposals,
 * each followed by views of random people with random limits, give what the reference gives.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { addComment, setResolved } from '../../server/services/proposals/comments.js';
import { proposalCommentable } from '../../server/services/proposals/commentable.js';
import { myDrafts } from '../../server/services/proposals/drafts.js';
import type { Actor } from '../../server/domain/actor.js';
import type { Ctx } from '../../server/services/context.js';
import { openTestData, testClock, type TestData } from '../helpers/data.js';
import { committee, people, sharedProposal, S1, S2, type Person } from '../helpers/people.js';
import { runs } from '../helpers/depth.js';

describe('services/draftsModel.property', () => {
  let t: TestData;
  let cast: Person[];
  const proposals: number[] = [];

  beforeAll(async () => {
    t = await openTestData({ clock: testClock() });
    const who = await committee(t.ctx);
    const { walt } = await people(t.ctx, {
      walt: { email: 'walt@example.org', name: 'Walt Member', roles: ['member'], groups: ['wg-strategy'] },
    });
    cast = [who.drafter, walt, who.m1, who.m2];
    for (const [i, cut] of [S1, S2, S1].entries()) {
      const p = await sharedProposal(t.ctx, who.drafter, `Proposal ${i + 1}`, (s) => s.replace(cut, ''));
      proposals.push(p.id);
    }
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  /** What "My drafts" counts and shows, read afresh from every comment. */
  function reference(ctx: Ctx, actor: Actor, limit: number) {
    const awaiting: { root: number; last: number; count: number; proposal: number }[] = [];
    let count = 0;
    // The actor's own proposals and those of their groups' documents (the three are shared: visible to all).
    const theirs = proposals.filter((id) => {
      const p = ctx.meta.get('proposals', id)!;
      return p.authorId === actor.id || actor.groups.includes(ctx.meta.get('documents', p.document)?.group ?? '');
    });
    for (const id of theirs.sort((a, b) => b - a)) {
      const comments = ctx.meta
        .all('comments')
        .filter((c) => c.subject.type === 'proposal' && c.subject.id === id)
        .sort((a, b) => a.id - b.id);
      for (const root of comments.filter((c) => c.replyTo === null && !c.resolved)) {
        const thread = comments.filter((c) => c.id === root.id || c.replyTo === root.id);
        const last = thread.at(-1)!;
        if (last.authorId === actor.id) continue;
        if (count++ < limit) awaiting.push({ root: root.id, last: last.id, count: thread.length, proposal: id });
      }
    }
    return { awaiting, awaitingCount: count };
  }

  type Step =
    | { kind: 'comment'; by: number; on: number }
    | { kind: 'reply'; by: number; to: number }
    | { kind: 'resolve'; to: number; resolved: boolean };

  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ kind: fc.constant('comment' as const), by: fc.nat(3), on: fc.nat(2) }),
    fc.record({ kind: fc.constant('reply' as const), by: fc.nat(3), to: fc.nat(50) }),
    fc.record({ kind: fc.constant('resolve' as const), to: fc.nat(50), resolved: fc.boolean() }),
  );
  const view = fc.record({ who: fc.nat(3), limit: fc.constantFrom(0, 1, 2, 5, Infinity) });

  test('after any comments, replies and resolutions, every view gives what a fresh reading gives', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(step, fc.array(view, { maxLength: 3 })), { minLength: 1, maxLength: 8 }),
        async (steps) => {
          for (const [s, views] of steps) {
            const roots = t.ctx.meta.all('comments').filter((c) => c.replyTo === null);
            const root = roots.length && s.kind !== 'comment' ? roots[s.to % roots.length] : undefined;
            if (s.kind === 'comment') {
              const on = proposalCommentable(t.ctx, t.ctx.meta.get('proposals', proposals[s.on])!);
              await addComment(t.ctx, cast[s.by].actor, on, { body: `A point (${s.by})` });
            } else if (root) {
              const on = proposalCommentable(t.ctx, t.ctx.meta.get('proposals', root.subject.id)!);
              if (s.kind === 'reply')
                await addComment(t.ctx, cast[s.by].actor, on, { body: 'A reply', replyTo: root.id });
              // The drafter edits the text: they may resolve any thread and open it again.
              else await setResolved(t.ctx, cast[0].actor, on, root.id, s.resolved);
            }
            for (const v of views) {
              const actor = cast[v.who].actor;
              const got = myDrafts(t.ctx, actor, v.limit);
              expect({
                awaiting: got.awaiting.map((a) => ({
                  root: a.root.id,
                  last: a.last.id,
                  count: a.count,
                  proposal: a.proposal.id,
                })),
                awaitingCount: got.awaitingCount,
              }).toEqual(reference(t.ctx, actor, v.limit));
            }
          }
        },
      ),
      runs(40),
    );
  }, 120_000);
});
