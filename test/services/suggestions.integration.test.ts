/**
 * Suggested changes at the service level (issue 15), over a real git repository and journal in
 * a temp folder: a comment on a passage carries the words that replace it; the proposal's
 * editors apply one or several as ONE revision authored by them, with each suggester in a
 * `Co-authored-by` trailer that stock git reads (and `git fsck --strict` accepts), and the
 * threads resolved; a suggestion whose passage changed is outdated and refused; a stale head,
 * a frozen or withdrawn proposal and someone who may not edit are refused as a revision is.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { documentPath } from '../../server/domain/slug.js';
import { proposalCommentable } from '../../server/services/proposals/commentable.js';
import { addComment, commentsOf } from '../../server/services/proposals/comments.js';
import { reviseProposal, withdrawProposal } from '../../server/services/proposals/proposals.js';
import { proposalText } from '../../server/services/proposals/read.js';
import { applySuggestions } from '../../server/services/proposals/suggestions.js';
import { consolidationCommentable } from '../../server/services/consolidations/commentable.js';
import type { ProposalRecord } from '../../server/store/meta/schema.js';
import { openTestData, testClock, type TestData } from '../helpers/data.js';
import { committee, refusal, sharedProposal, S1, S2, twoProposalConsolidation } from '../helpers/people.js';

describe('services/suggestions.integration', () => {
  type Who = Awaited<ReturnType<typeof committee>>;
  const clock = testClock('2026-04-01T09:00:00Z');
  let t: TestData;
  let who: Who;

  function git(...args: string[]): string {
    return execFileSync('git', ['--git-dir', path.join(t.dataDir, 'git'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: t.dataDir, LC_ALL: 'C' },
    }).toString('utf8');
  }

  const rec = (id: number): ProposalRecord => t.ctx.meta.get('proposals', id)!;
  const on = (id: number) => proposalCommentable(t.ctx, rec(id));
  const suggest = (by: keyof Who, id: number, quote: string, suggestion: string, body = 'Better so.') =>
    addComment(t.ctx, who[by].actor, on(id), { body, anchor: { quote }, suggestion });

  /** Everything a refused apply must leave as it was. */
  async function state(id: number) {
    return {
      record: JSON.stringify(rec(id)),
      comments: JSON.stringify(commentsOf(t.ctx, { type: 'proposal', id })),
      branch: await t.ctx.repo.resolve(`refs/ratify/proposals/${id}`),
      mails: t.ctx.meta.all('mails').length,
    };
  }

  beforeAll(async () => {
    t = await openTestData({ clock });
    who = await committee(t.ctx);
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  describe('suggesting', () => {
    test('a suggestion is kept with its comment and anchor; empty means "delete the passage"', async () => {
      const p = await sharedProposal(t.ctx, who.drafter, 'Keep', (x) => x);
      const c = await suggest('m1', p.id, S1.trim(), 'Closed meetings are held under the Chatham House Rule.');
      expect(c).toMatchObject({
        suggestion: 'Closed meetings are held under the Chatham House Rule.',
        resolved: false,
      });
      expect(c.anchor?.quote).toBe(S1.trim());
      const d = await suggest('m2', p.id, S2.trim(), '', '');
      expect(d).toMatchObject({ suggestion: '', body: '' });
      // The author's notice says what is suggested (and, with no comment, nothing more).
      const notices = t.ctx.meta
        .all('mails')
        .filter((m) => m.to.includes(who.drafter.email) && m.event === 'comment.on-your-proposal');
      expect(notices.at(-2)?.text).toContain(
        `${who.m1.name} suggests replacing it with:\n> Closed meetings are held under the Chatham House Rule.`,
      );
      expect(notices.at(-2)?.text).toContain(`${who.m1.name} wrote:\nBetter so.`);
      expect(notices.at(-1)?.text).toContain(`${who.m2.name} suggests deleting it.`);
      expect(notices.at(-1)?.text).not.toContain('wrote:');
    });

    test('a suggestion needs an anchor, starts a thread, fits a comment, and is for proposals only', async () => {
      const p = await sharedProposal(t.ctx, who.drafter, 'Rules', (x) => x);
      const first = await suggest('m1', p.id, S1.trim(), 'x');
      expect(await refusal(addComment(t.ctx, who.m1.actor, on(p.id), { body: 'Hm', suggestion: 'x' }))).toEqual({
        kind: 'invalid',
        code: 'suggestion_needs_anchor',
      });
      expect(
        await refusal(
          addComment(t.ctx, who.m1.actor, on(p.id), {
            body: 'Hm',
            anchor: { quote: S1.trim() },
            replyTo: first.id,
            suggestion: 'x',
          }),
        ),
      ).toEqual({ kind: 'invalid', code: 'suggestion_needs_anchor' });
      expect(await refusal(suggest('m1', p.id, S1.trim(), 'x'.repeat(64 * 1024 + 1)))).toEqual({
        kind: 'too_large',
        code: 'suggestion_too_large',
      });
      // Without a suggestion, an empty comment is still refused.
      expect(
        await refusal(addComment(t.ctx, who.m1.actor, on(p.id), { body: ' ', anchor: { quote: S1.trim() } })),
      ).toEqual({ kind: 'invalid', code: 'invalid_comment' });
      const { c } = await twoProposalConsolidation(t.ctx, who);
      const text = consolidationCommentable(t.ctx, t.ctx.meta.get('consolidations', c.id)!);
      expect(
        await refusal(
          addComment(t.ctx, who.m1.actor, text, { body: 'Hm', anchor: { quote: 'Group' }, suggestion: 'Committee' }),
        ),
      ).toEqual({ kind: 'invalid', code: 'invalid_suggestion' });
    });

    test('no suggestion on a proposal that cannot change: the refusal of a revision', async () => {
      const p = await sharedProposal(t.ctx, who.drafter, 'Gone', (x) => x);
      await withdrawProposal(t.ctx, who.drafter.actor, p.id);
      // Comments are closed on a withdrawn proposal anyway.
      expect(await refusal(suggest('m1', p.id, S1.trim(), 'x'))).toEqual({
        kind: 'conflict',
        code: 'closed_for_comments',
      });
      const q = await sharedProposal(t.ctx, who.drafter, 'Voted', (x) => x);
      await t.ctx.meta.write({
        actor: null,
        at: clock(),
        events: [],
        puts: { proposals: { [q.id]: { ...rec(q.id), openRound: 99 } } },
      });
      expect(await refusal(suggest('m1', q.id, S1.trim(), 'x'))).toEqual({ kind: 'conflict', code: 'frozen' });
    });
  });

  describe('applying', () => {
    test('one suggestion: one revision by the applier, the suggester as co-author, the thread resolved', async () => {
      const p = await sharedProposal(t.ctx, who.drafter, 'Open meetings', (x) => x);
      const before = await proposalText(t.ctx, p);
      const c = await suggest('m1', p.id, 'held under the Chatham House Rule', 'open to observers');
      const mails = t.ctx.meta.all('mails').length;
      const { proposal, applied } = await applySuggestions(t.ctx, who.drafter.actor, p.id, {
        comments: [c.id],
        head: p.head,
      });
      expect(applied).toEqual([c.id]);
      expect(proposal.revisions).toBe(2);
      expect(await proposalText(t.ctx, proposal)).toBe(
        before.replace('held under the Chatham House Rule', 'open to observers'),
      );
      expect(t.ctx.meta.get('comments', c.id)).toMatchObject({
        resolved: true,
        resolvedBy: who.drafter.id,
        appliedIn: 2,
      });
      // The suggester is told their thread was resolved.
      expect(t.ctx.meta.all('mails').length).toBeGreaterThan(mails);

      // Stock git: one commit on the proposal's branch, by the applier, with the trailer.
      const log = git('log', '-1', '--format=%an <%ae>%n%B', proposal.head);
      expect(log.split('\n')[0]).toBe(`${who.drafter.name} <${who.drafter.email}>`);
      expect(log).toContain(`\n\nCo-authored-by: ${who.m1.name} <${who.m1.email}>\n`);
      expect(git('log', '-1', '--format=%(trailers:key=Co-authored-by,valueonly)', proposal.head).trim()).toBe(
        `${who.m1.name} <${who.m1.email}>`,
      );
      expect(git('rev-list', '--count', `${p.head}..${proposal.head}`).trim()).toBe('1');
      git('fsck', '--strict', '--no-dangling');
      expect((await t.ctx.meta.auditLog(5)).map((e) => e.action)).toEqual(
        expect.arrayContaining(['proposal.revised', 'comment.resolved']),
      );
    });

    test('several suggestions by several people: one revision, each suggester once', async () => {
      const p = await sharedProposal(t.ctx, who.drafter, 'Two at once', (x) => x);
      const before = await proposalText(t.ctx, p);
      const a = await suggest('m1', p.id, 'Chatham House Rule', 'rules of the Group');
      const b = await suggest('m2', p.id, 'participate in person', 'take part');
      const c = await suggest('m1', p.id, 'closed meetings of the Group', '');
      const { proposal } = await applySuggestions(t.ctx, who.chair.actor, p.id, {
        comments: [a.id, b.id, c.id],
        head: p.head,
      });
      expect(proposal.revisions).toBe(2);
      expect(await proposalText(t.ctx, proposal)).toBe(
        before
          .replace('Chatham House Rule', 'rules of the Group')
          .replace('participate in person', 'take part')
          .replace('closed meetings of the Group', ''),
      );
      const trailers = git('log', '-1', '--format=%(trailers:key=Co-authored-by,valueonly)', proposal.head).trim();
      expect(trailers.split('\n')).toEqual([`${who.m1.name} <${who.m1.email}>`, `${who.m2.name} <${who.m2.email}>`]);
      expect(git('log', '-1', '--format=%an', proposal.head).trim()).toBe(who.chair.name);
      for (const x of [a, b, c]) expect(t.ctx.meta.get('comments', x.id)?.appliedIn).toBe(2);
      git('fsck', '--strict', '--no-dangling');
    });

    test('a suggester who applies their own suggestion is the author, not a co-author', async () => {
      const p = await sharedProposal(t.ctx, who.drafter, 'Mine', (x) => x);
      const c = await suggest('drafter', p.id, 'Chatham House Rule', 'house rules');
      const { proposal } = await applySuggestions(t.ctx, who.drafter.actor, p.id, { comments: [c.id], head: p.head });
      expect(git('log', '-1', '--format=%B', proposal.head)).not.toContain('Co-authored-by');
    });

    test('a passage changed since is outdated: refused with a code, nothing written; others still apply', async () => {
      const p = await sharedProposal(t.ctx, who.drafter, 'Moving', (x) => x);
      const old = await suggest('m1', p.id, 'Chatham House Rule', 'house rules');
      const other = await suggest('m2', p.id, 'participate in person', 'take part');
      const text = await proposalText(t.ctx, p);
      const r2 = await reviseProposal(t.ctx, who.drafter.actor, p.id, {
        text: text.replace('the Chatham House Rule', 'the Rule'),
        head: p.head,
      });
      const before = await state(p.id);
      expect(
        await refusal(
          applySuggestions(t.ctx, who.drafter.actor, p.id, { comments: [old.id, other.id], head: r2.head }),
        ),
      ).toEqual({ kind: 'conflict', code: 'suggestion_outdated' });
      expect(await state(p.id)).toEqual(before);
      // The untouched passage was followed through the revision.
      const { proposal } = await applySuggestions(t.ctx, who.drafter.actor, p.id, {
        comments: [other.id],
        head: r2.head,
      });
      expect(await proposalText(t.ctx, proposal)).toContain('take part in the closed meetings');
      // Applied once: not again.
      expect(
        await refusal(applySuggestions(t.ctx, who.drafter.actor, p.id, { comments: [other.id], head: proposal.head })),
      ).toEqual({ kind: 'conflict', code: 'suggestion_applied' });
    });

    test('refusals: stale head, overlap, not a suggestion, another proposal, who may not edit, frozen, withdrawn', async () => {
      const p = await sharedProposal(t.ctx, who.drafter, 'Refusals', (x) => x);
      const a = await suggest('m1', p.id, 'Chatham House Rule', 'house rules');
      const b = await suggest('m2', p.id, 'the Chatham House', 'our');
      const plain = await addComment(t.ctx, who.m1.actor, on(p.id), { body: 'Just a remark.' });
      const q = await sharedProposal(t.ctx, who.drafter, 'Elsewhere', (x) => x);
      const elsewhere = await suggest('m1', q.id, 'Chatham House Rule', 'house rules');
      const before = await state(p.id);
      const tries: [() => Promise<unknown>, { kind: string; code: string }][] = [
        [
          () => applySuggestions(t.ctx, who.drafter.actor, p.id, { comments: [a.id], head: '0'.repeat(40) }),
          { kind: 'conflict', code: 'stale_head' },
        ],
        [
          () => applySuggestions(t.ctx, who.drafter.actor, p.id, { comments: [a.id, b.id], head: p.head }),
          { kind: 'conflict', code: 'suggestions_overlap' },
        ],
        [
          () => applySuggestions(t.ctx, who.drafter.actor, p.id, { comments: [plain.id], head: p.head }),
          { kind: 'invalid', code: 'not_a_suggestion' },
        ],
        [
          () => applySuggestions(t.ctx, who.drafter.actor, p.id, { comments: [elsewhere.id], head: p.head }),
          { kind: 'not_found', code: 'comment_not_found' },
        ],
        [
          () => applySuggestions(t.ctx, who.m1.actor, p.id, { comments: [a.id], head: p.head }),
          { kind: 'forbidden', code: 'forbidden' },
        ],
        [
          () => applySuggestions(t.ctx, null, p.id, { comments: [a.id], head: p.head }),
          { kind: 'unauthenticated', code: 'unauthenticated' },
        ],
      ];
      for (const [run, expected] of tries) expect(await refusal(run())).toEqual(expected);
      expect(await state(p.id)).toEqual(before);

      await t.ctx.meta.write({
        actor: null,
        at: clock(),
        events: [],
        puts: { proposals: { [p.id]: { ...rec(p.id), openRound: 99 } } },
      });
      expect(
        await refusal(applySuggestions(t.ctx, who.drafter.actor, p.id, { comments: [a.id], head: p.head })),
      ).toEqual({
        kind: 'conflict',
        code: 'frozen',
      });
      await t.ctx.meta.write({
        actor: null,
        at: clock(),
        events: [],
        puts: { proposals: { [p.id]: { ...rec(p.id), openRound: null } } },
      });
      await withdrawProposal(t.ctx, who.drafter.actor, p.id);
      expect(
        await refusal(applySuggestions(t.ctx, who.drafter.actor, p.id, { comments: [a.id], head: p.head })),
      ).toEqual({
        kind: 'conflict',
        code: 'not_editable',
      });
      expect((await t.ctx.repo.readFile(rec(p.id).head, documentPath('terms-of-reference')))?.text).toContain(
        'Chatham House Rule',
      );
    });
  });
});
