/**
 * Approval rounds as services (PRODUCT.md rules 1–4, API.md "Members"), on a real data folder
 * with an injected clock: opening and its refusals, the frozen text, the electorate, ballots
 * (also concurrent), early close, close at the deadline (by the sweep and across a restart),
 * extend, cancel, and ballots recorded by the secretariat.
 */
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { afterEach, describe, expect, test } from '@jest/globals';
import type { DomainError } from '../../server/domain/errors.js';
import { disableUser, setUser } from '../../server/services/accounts/users.js';
import {
  createConsolidation,
  reviseConsolidation,
  consolidationText,
} from '../../server/services/consolidations/consolidations.js';
import { publishConsolidation } from '../../server/services/consolidations/publish.js';
import { createProposal, reviseProposal } from '../../server/services/proposals/proposals.js';
import { ballotRecord } from '../../server/services/rounds/decision.js';
import {
  ballotsOf,
  cancelRound,
  closeRound,
  currentTally,
  extendRound,
  openRound,
  roundsOn,
  sweepRounds,
} from '../../server/services/rounds/rounds.js';
import { castBallot, roundsAwaiting } from '../../server/services/rounds/ballots.js';
import { ColdRecords } from '../../server/store/meta/coldRecords.js';
import { jest } from '@jest/globals';
import type { RoundRecord } from '../../server/store/meta/schema.js';
import type { Rule } from '../../server/domain/round.js';
import { openTestData, testClock, type TestData } from '../helpers/data.js';
import {
  after,
  committee,
  openWithConsolidation,
  DAY,
  person,
  publishedText,
  refusal,
  S1,
  sharedProposal,
  TOR,
  twoProposalConsolidation,
  type Person,
} from '../helpers/people.js';

describe('services/rounds', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  type Clock = ReturnType<typeof testClock>;

  /** Fresh data, the usual committee, and a conflict-free consolidation of two shared proposals. */
  async function setup(start = '2026-03-01T09:00:00Z') {
    const clock = testClock(start);
    const { t, who, p1, p2, c } = await openWithConsolidation({ clock });
    cleanups.push(() => t.cleanup());
    return { t, ctx: t.ctx, clock, who, p1, p2, c };
  }

  const openOn = (
    ctx: TestData['ctx'],
    chair: Person,
    clock: Clock,
    subject: { type: 'proposal' | 'consolidation'; id: number },
    extra: Partial<{ rule: Rule; quorum: number; closesAt: string }> = {},
  ) =>
    openRound(ctx, chair.actor, { subject, rule: 'majority', quorum: 0.5, closesAt: after(clock, 7 * DAY), ...extra });

  /** The electorate of the usual committee: everyone with the member role (not the secretariat). */
  const memberIds = (who: Awaited<ReturnType<typeof committee>>) =>
    [who.drafter.id, who.chair.id, who.m1.id, who.m2.id, who.m3.id].sort((a, b) => a - b);

  describe('opening a round: refusals', () => {
    // An unknown rule, or a value of the wrong type, is the schema's refusal (test/http/apiSchemas.test.ts).
    test('quorum outside 0–1 or with more than four decimals, deadline not in the future → 400', async () => {
      const { ctx, clock, who, c } = await setup();
      const subject = { type: 'consolidation' as const, id: c.id };
      for (const quorum of [-0.1, 1.01, NaN, 0.12345]) {
        expect(await refusal(openOn(ctx, who.chair, clock, subject, { quorum }))).toEqual({
          kind: 'invalid',
          code: 'invalid_quorum',
        });
      }
      for (const closesAt of [
        clock().toISOString(),
        after(clock, -1000),
        after(clock, -DAY),
        '2020-01-01T00:00:00Z',
        'next week',
        '',
        '2027-03-01T17:00:00',
      ]) {
        expect(await refusal(openOn(ctx, who.chair, clock, subject, { closesAt }))).toEqual({
          kind: 'invalid',
          code: 'invalid_deadline',
        });
      }
      // Nothing was opened by the refusals.
      expect(ctx.meta.all('rounds')).toEqual([]);
      expect(ctx.meta.get('consolidations', c.id)!.openRound).toBeNull();
    });

    test('any future deadline is accepted: one second, and 400 days ahead', async () => {
      const { ctx, clock, who, c, p1 } = await setup();
      const r1 = await openOn(
        ctx,
        who.chair,
        clock,
        { type: 'consolidation', id: c.id },
        { closesAt: after(clock, 1000) },
      );
      expect(r1.closesAt).toBe(after(clock, 1000));
      const far = after(clock, 400 * DAY);
      const r2 = await openOn(ctx, who.chair, clock, { type: 'proposal', id: p1.id }, { closesAt: far });
      expect(r2.closesAt).toBe(far);
      expect(r2.state).toBe('open');
    });

    test('the round records rule, quorum in ten-thousandths, the exact revision and the deadline', async () => {
      const { ctx, clock, who, c } = await setup();
      const r = await openOn(
        ctx,
        who.chair,
        clock,
        { type: 'consolidation', id: c.id },
        { rule: 'two-thirds', quorum: 0.6667, closesAt: '2026-03-08T17:00:00Z' },
      );
      expect(r).toMatchObject({
        subject: { type: 'consolidation', id: c.id },
        document: TOR,
        commit: c.head,
        revision: c.revisions,
        rule: 'two-thirds',
        quorumBp: 6667,
        closesAt: '2026-03-08T17:00:00.000Z',
        openedAt: clock().toISOString(),
        openedBy: who.chair.id,
        state: 'open',
        result: null,
        tally: null,
        closedAt: null,
      });
      expect(ctx.meta.get('consolidations', c.id)!.openRound).toBe(r.id);
      expect((await ctx.meta.auditLog(5)).map((a) => a.action)).toContain('round.opened');
    });

    test('a stale consolidation → 409 stale', async () => {
      const { ctx, clock, who, c } = await setup();
      // Another consolidation of the same document is approved and published first.
      const p3 = await sharedProposal(ctx, who.drafter, 'Other change', (t) =>
        t.replace('## 1. Mandate', '## 1. Mandate and scope'),
      );
      const other = await createConsolidation(ctx, who.chair.actor, TOR, { proposals: [p3.id], summary: 'Scope' });
      const r = await openOn(
        ctx,
        who.chair,
        clock,
        { type: 'consolidation', id: other.id },
        { rule: 'consensus', quorum: 0 },
      );
      clock.advance(8 * DAY);
      await sweepRounds(ctx);
      expect(ctx.meta.get('rounds', r.id)!.result).toBe('passed');
      await publishConsolidation(ctx, who.chair.actor, other.id, {});
      expect(await refusal(openOn(ctx, who.chair, clock, { type: 'consolidation', id: c.id }))).toEqual({
        kind: 'conflict',
        code: 'stale',
      });
    });

    test('a proposal that is not shared → 409 not_shared', async () => {
      const { ctx, clock, who } = await setup();
      const draft = await createProposal(ctx, who.drafter.actor, TOR, {
        title: 'Draft only',
        rationale: 'x',
        text: (await publishedText(ctx)).replace(S1, ''),
      });
      expect(await refusal(openOn(ctx, who.chair, clock, { type: 'proposal', id: draft.id }))).toEqual({
        kind: 'conflict',
        code: 'not_shared',
      });
    });

    test('conflict markers in the text → 409 unresolved_conflicts; resolved by an edit → it opens', async () => {
      const { ctx, clock, who } = await setup();
      const a = await sharedProposal(ctx, who.drafter, 'Open meetings', (t) =>
        t.replace(S1, 'Meetings of the Group are open. '),
      );
      const b = await sharedProposal(ctx, who.drafter, 'Confidential meetings', (t) =>
        t.replace(S1, 'Meetings of the Group are confidential. '),
      );
      const c = await createConsolidation(ctx, who.chair.actor, TOR, { proposals: [a.id, b.id], summary: 'Clash' });
      const text = await consolidationText(ctx, c);
      expect(text).toContain('<<<<<<< ');
      expect(await refusal(openOn(ctx, who.chair, clock, { type: 'consolidation', id: c.id }))).toEqual({
        kind: 'conflict',
        code: 'unresolved_conflicts',
      });
      const resolved = await reviseConsolidation(ctx, who.chair.actor, c.id, {
        text: (await publishedText(ctx)).replace(S1, 'Meetings of the Group are open. '),
        head: c.head,
      });
      const r = await openOn(ctx, who.chair, clock, { type: 'consolidation', id: c.id });
      expect(r.commit).toBe(resolved.head);
    });

    test('already open → 409 round_open; of 6 concurrent openings exactly one succeeds', async () => {
      const { ctx, clock, who, c, p1 } = await setup();
      await openOn(ctx, who.chair, clock, { type: 'consolidation', id: c.id });
      expect(await refusal(openOn(ctx, who.chair, clock, { type: 'consolidation', id: c.id }))).toEqual({
        kind: 'conflict',
        code: 'round_open',
      });
      const all = await Promise.allSettled(
        Array.from({ length: 6 }, () => openOn(ctx, who.chair, clock, { type: 'proposal', id: p1.id })),
      );
      expect(all.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
      for (const x of all.filter((x): x is PromiseRejectedResult => x.status === 'rejected'))
        expect((x.reason as DomainError).code).toBe('round_open');
      expect(ctx.meta.all('rounds').filter((r) => r.subject.type === 'proposal')).toHaveLength(1);
    });

    test('only the chair and the secretariat open rounds; unknown subjects are 404 / 400', async () => {
      const { ctx, clock, who, c } = await setup();
      expect(await refusal(openOn(ctx, who.m1, clock, { type: 'consolidation', id: c.id }))).toEqual({
        kind: 'forbidden',
        code: 'forbidden',
      });
      expect(
        await refusal(
          openRound(ctx, null, {
            subject: { type: 'consolidation', id: c.id },
            rule: 'majority',
            quorum: 0.5,
            closesAt: after(clock, DAY),
          }),
        ),
      ).toEqual({ kind: 'unauthenticated', code: 'unauthenticated' });
      expect(await refusal(openOn(ctx, who.chair, clock, { type: 'consolidation', id: 999 }))).toEqual({
        kind: 'not_found',
        code: 'consolidation_not_found',
      });
      const r = await openOn(ctx, who.sec, clock, { type: 'consolidation', id: c.id });
      expect(r.openedBy).toBe(who.sec.id);
    });
  });

  describe('the text is frozen while a round is open (rule 1)', () => {
    test('consolidation: an edit → 409 frozen; after cancel it is editable again', async () => {
      const { ctx, clock, who, c } = await setup();
      const r = await openOn(ctx, who.chair, clock, { type: 'consolidation', id: c.id });
      const edited = (await consolidationText(ctx, c)).replace('## 1. Mandate', '## 1. The mandate');
      expect(await refusal(reviseConsolidation(ctx, who.chair.actor, c.id, { text: edited, head: c.head }))).toEqual({
        kind: 'conflict',
        code: 'frozen',
      });
      expect(ctx.meta.get('consolidations', c.id)!.head).toBe(c.head);
      expect(await refusal(cancelRound(ctx, who.chair.actor, r.id, { reason: '' }))).toEqual({
        kind: 'invalid',
        code: 'reason_required',
      });
      expect(await refusal(cancelRound(ctx, who.chair.actor, r.id, { reason: ' \n ' }))).toEqual({
        kind: 'invalid',
        code: 'reason_required',
      });
      const cancelled = await cancelRound(ctx, who.chair.actor, r.id, { reason: 'Wrong text attached' });
      expect(cancelled).toMatchObject({
        state: 'cancelled',
        cancelReason: 'Wrong text attached',
        closedBy: who.chair.id,
      });
      expect(ctx.meta.get('consolidations', c.id)!.openRound).toBeNull();
      const next = await reviseConsolidation(ctx, who.chair.actor, c.id, { text: edited, head: c.head });
      expect(next.head).not.toBe(c.head);
      // A cancelled round takes no ballots and cannot be cancelled again.
      expect(await refusal(castBallot(ctx, who.m1.actor, r.id, { position: 'approve' }))).toEqual({
        kind: 'conflict',
        code: 'round_not_open',
      });
      expect(await refusal(cancelRound(ctx, who.chair.actor, r.id, { reason: 'again' }))).toEqual({
        kind: 'conflict',
        code: 'round_not_open',
      });
    });

    test('proposal: an edit → 409 frozen while its round is open; editable again after the close', async () => {
      const { ctx, clock, who, p1 } = await setup();
      const r = await openOn(
        ctx,
        who.chair,
        clock,
        { type: 'proposal', id: p1.id },
        { rule: 'consensus', quorum: 0, closesAt: after(clock, DAY) },
      );
      expect(r.commit).toBe(p1.head);
      const text = (await publishedText(ctx)).replace(S1, 'Meetings are open. ');
      expect(await refusal(reviseProposal(ctx, who.drafter.actor, p1.id, { text, head: p1.head }))).toEqual({
        kind: 'conflict',
        code: 'frozen',
      });
      clock.advance(DAY);
      expect(await sweepRounds(ctx)).toBe(1);
      expect(ctx.meta.get('rounds', r.id)).toMatchObject({ state: 'closed', result: 'passed' });
      const next = await reviseProposal(ctx, who.drafter.actor, p1.id, { text, head: p1.head });
      expect(next.revisions).toBe(2);
    });
  });

  describe('the electorate (members, not disabled, when the round opens)', () => {
    test('members only; secretariat staff without the member role and disabled members are out; later members cannot vote', async () => {
      const { ctx, clock, who, c } = await setup();
      const gone = await person(ctx, { email: 'gone@example.org', name: 'Gone Member' });
      await disableUser(ctx, CLI_ACTOR, gone.email);
      const r = await openOn(ctx, who.chair, clock, { type: 'consolidation', id: c.id });
      expect(r.electorate).toEqual(memberIds(who));
      // A member who joins after the opening, and a user made member after it, are not in it.
      const late = await person(ctx, { email: 'late@example.org', name: 'Late Member' });
      await setUser(ctx, CLI_ACTOR, who.sec.email, { roles: ['member', 'secretariat'] });
      expect(await refusal(castBallot(ctx, late.actor, r.id, { position: 'approve' }))).toEqual({
        kind: 'forbidden',
        code: 'not_in_electorate',
      });
      expect(
        await refusal(
          castBallot(ctx, { ...who.sec.actor, roles: ['member', 'secretariat'] }, r.id, { position: 'approve' }),
        ),
      ).toEqual({ kind: 'forbidden', code: 'not_in_electorate' });
      expect(ctx.meta.get('rounds', r.id)!.electorate).toEqual(memberIds(who));
      // Someone who loses the member role after the opening still votes (the electorate is fixed).
      await setUser(ctx, CLI_ACTOR, who.m3.email, { roles: ['chair'] });
      await castBallot(ctx, { ...who.m3.actor, roles: ['chair'] }, r.id, { position: 'abstain' });
      expect(currentTally(ctx, ctx.meta.get('rounds', r.id)!)).toEqual({
        approve: 0,
        object: 0,
        abstain: 1,
        notVoted: 4,
        recused: 0,
        groups: {},
      });
    });
  });

  describe('ballots (rule 2)', () => {
    test('an open round’s ballots are read from the cold store once: the vote banner and the tally then read memory, until a ballot is cast', async () => {
      const { ctx, clock, who, c } = await setup();
      const r = await openOn(ctx, who.chair, clock, { type: 'consolidation', id: c.id });
      await castBallot(ctx, who.m1.actor, r.id, { position: 'approve' });
      await castBallot(ctx, who.m2.actor, r.id, { position: 'object', reason: 'Too soon.' });
      const reads = jest.spyOn(ColdRecords.prototype, 'read');
      try {
        const view = () => ({
          m1: roundsAwaiting(ctx, who.m1.actor).map((x) => x.id),
          m3: roundsAwaiting(ctx, who.m3.actor).map((x) => x.id),
          tally: currentTally(ctx, ctx.meta.get('rounds', r.id)!),
        });
        const first = view();
        expect(first.m1).toEqual([]);
        expect(first.m3).toEqual([r.id]);
        expect(first.tally).toMatchObject({ approve: 1, object: 1 });
        reads.mockClear();
        for (let i = 0; i < 5; i++) expect(view()).toEqual(first);
        expect(reads).not.toHaveBeenCalled();
        // A new ballot is seen at once: the kept values of that round are dropped with the write.
        await castBallot(ctx, who.m3.actor, r.id, { position: 'approve' });
        expect(view()).toMatchObject({ m3: [], tally: { approve: 2, object: 1 } });
      } finally {
        reads.mockRestore();
      }
    });

    test('12 concurrent ballots from 6 voters → exactly one counted ballot each, 12 casts recorded', async () => {
      const { ctx, clock, who, c } = await setup();
      const m4 = await person(ctx, { email: 'm4@example.org', name: 'Member Four' });
      const voters = [who.drafter, who.chair, who.m1, who.m2, who.m3, m4];
      const r = await openOn(ctx, who.chair, clock, { type: 'consolidation', id: c.id });
      expect(r.electorate).toHaveLength(6);
      const casts = voters.flatMap((v, i) => [
        castBallot(ctx, v.actor, r.id, { position: 'object', reason: `first thought of ${v.name}` }),
        castBallot(ctx, v.actor, r.id, { position: i % 2 ? 'approve' : 'abstain' }),
      ]);
      const made = await Promise.all(casts);
      expect(new Set(made.map((b) => b.id)).size).toBe(12);
      const all = ballotsOf(ctx, r.id);
      expect(all).toHaveLength(12);
      const record = ballotRecord(ctx, ctx.meta.get('rounds', r.id)!);
      for (const v of voters) {
        const mine = record.filter((b) => b.voterId === v.id);
        expect(mine).toHaveLength(2);
        expect(mine.filter((b) => b.counted)).toHaveLength(1);
        // The counted one is the later cast.
        expect(mine[1].counted).toBe(true);
      }
      const tally = currentTally(ctx, ctx.meta.get('rounds', r.id)!);
      expect(tally.approve + tally.object + tally.abstain).toBe(6);
      expect(tally.notVoted).toBe(0);
      expect((await ctx.meta.auditLog(100)).filter((a) => a.action === 'ballot.cast')).toHaveLength(12);
    });

    test('a voter may change the ballot until the close; every cast is kept; object needs a reason', async () => {
      const { ctx, clock, who, c } = await setup();
      const r = await openOn(ctx, who.chair, clock, { type: 'consolidation', id: c.id });
      expect(await refusal(castBallot(ctx, who.m1.actor, r.id, { position: 'object' }))).toEqual({
        kind: 'invalid',
        code: 'reason_required',
      });
      await castBallot(ctx, who.m1.actor, r.id, { position: 'object', reason: 'Too early' });
      clock.advance(60_000);
      await castBallot(ctx, who.m1.actor, r.id, { position: 'approve' });
      const rec = ballotRecord(ctx, ctx.meta.get('rounds', r.id)!);
      expect(rec.map((b) => [b.position, b.reason, b.counted])).toEqual([
        ['object', 'Too early', false],
        ['approve', '', true],
      ]);
      expect(rec[1].castAt).toBe(clock().toISOString());
    });

    test('the same ballot again (a double click, a resent form) is not stored twice: the counted one is returned', async () => {
      const { ctx, clock, who, c } = await setup();
      const r = await openOn(ctx, who.chair, clock, { type: 'consolidation', id: c.id });
      const first = await castBallot(ctx, who.m1.actor, r.id, { position: 'object', reason: 'Too early' });
      const mails = ctx.meta.all('mails').length;
      const audit = (await ctx.meta.auditLog(10_000)).length;
      clock.advance(60_000);
      const again = await castBallot(ctx, who.m1.actor, r.id, { position: 'object', reason: '  Too early ' });
      expect(again).toEqual(first);
      expect(ctx.meta.by('ballots', 'round', String(r.id))).toHaveLength(1);
      expect([ctx.meta.all('mails').length, (await ctx.meta.auditLog(10_000)).length]).toEqual([mails, audit]);
      // A different reason is a new ballot.
      await castBallot(ctx, who.m1.actor, r.id, { position: 'object', reason: 'Too early, and too vague' });
      expect(ctx.meta.by('ballots', 'round', String(r.id))).toHaveLength(2);
    });

    test('ballots after the close → 409 round_not_open (also past the deadline before any sweep)', async () => {
      const { ctx, clock, who, c, p1 } = await setup();
      const r = await openOn(ctx, who.chair, clock, { type: 'consolidation', id: c.id }, { quorum: 0 });
      for (const v of [who.drafter, who.chair, who.m1, who.m2, who.m3])
        await castBallot(ctx, v.actor, r.id, { position: 'approve' });
      await closeRound(ctx, who.chair.actor, r.id);
      expect(await refusal(castBallot(ctx, who.m1.actor, r.id, { position: 'object', reason: 'late' }))).toEqual({
        kind: 'conflict',
        code: 'round_not_open',
      });
      // Past the deadline, nobody swept yet: the ballot is refused and the round closes as of its deadline.
      const r2 = await openOn(ctx, who.chair, clock, { type: 'proposal', id: p1.id }, { closesAt: after(clock, DAY) });
      clock.advance(DAY);
      expect(await refusal(castBallot(ctx, who.m1.actor, r2.id, { position: 'approve' }))).toEqual({
        kind: 'conflict',
        code: 'round_not_open',
      });
      expect(ctx.meta.get('rounds', r2.id)).toMatchObject({
        state: 'closed',
        closedAt: r2.closesAt,
        result: 'no-quorum',
      });
      expect(ballotsOf(ctx, r2.id)).toEqual([]);
    });

    test("the secretariat records a ballot on a member's behalf (recordedBy); a chair cannot", async () => {
      const { ctx, clock, who, c } = await setup();
      const r = await openOn(ctx, who.chair, clock, { type: 'consolidation', id: c.id });
      const b = await castBallot(ctx, who.sec.actor, r.id, {
        position: 'object',
        reason: 'Said so in the meeting',
        voter: who.m2.email,
        note: 'at the meeting of 12 Sept',
      });
      expect(b).toMatchObject({
        voterId: who.m2.id,
        recordedBy: who.sec.id,
        position: 'object',
        reason: 'Said so in the meeting',
        note: 'at the meeting of 12 Sept',
      });
      expect(ballotRecord(ctx, ctx.meta.get('rounds', r.id)!)).toEqual([
        expect.objectContaining({ voterId: who.m2.id, recordedBy: who.sec.id, counted: true }),
      ]);
      expect((await ctx.meta.auditLog(3)).map((a) => a.action)).toContain('ballot.recorded');
      // E-mail matching ignores case, as everywhere.
      await castBallot(ctx, who.sec.actor, r.id, {
        position: 'approve',
        voter: who.m2.email.toUpperCase(),
        note: 'by letter',
      });
      expect(
        await refusal(castBallot(ctx, who.chair.actor, r.id, { position: 'approve', voter: who.m1.email })),
      ).toEqual({ kind: 'forbidden', code: 'forbidden' });
      expect(
        await refusal(castBallot(ctx, who.sec.actor, r.id, { position: 'approve', voter: 'nobody@example.org' })),
      ).toEqual({ kind: 'invalid', code: 'invalid_voter' });
      // The secretariat (not a member) cannot vote for itself, nor for someone outside the electorate.
      expect(await refusal(castBallot(ctx, who.sec.actor, r.id, { position: 'approve' }))).toEqual({
        kind: 'forbidden',
        code: 'not_in_electorate',
      });
      expect(
        await refusal(
          castBallot(ctx, who.sec.actor, r.id, { position: 'approve', voter: who.sec.email, note: 'by letter' }),
        ),
      ).toEqual({ kind: 'forbidden', code: 'not_in_electorate' });
      expect(ballotsOf(ctx, r.id)).toHaveLength(2);
    });
  });

  describe('closing (rule 4)', () => {
    test('early close refused until everyone voted (409 not_everyone_voted), allowed then, with the result', async () => {
      const { ctx, clock, who, c } = await setup();
      const r = await openOn(
        ctx,
        who.chair,
        clock,
        { type: 'consolidation', id: c.id },
        { rule: 'two-thirds', quorum: 1 },
      );
      const voters = [who.drafter, who.chair, who.m1, who.m2, who.m3];
      for (const v of voters.slice(0, 4)) await castBallot(ctx, v.actor, r.id, { position: 'approve' });
      expect(await refusal(closeRound(ctx, who.chair.actor, r.id))).toEqual({
        kind: 'conflict',
        code: 'not_everyone_voted',
      });
      expect(await refusal(closeRound(ctx, who.m1.actor, r.id))).toEqual({ kind: 'forbidden', code: 'forbidden' });
      await castBallot(ctx, who.m3.actor, r.id, { position: 'object', reason: 'Disagree' });
      clock.advance(3600_000);
      const closed = await closeRound(ctx, who.chair.actor, r.id);
      expect(closed).toMatchObject({
        state: 'closed',
        result: 'passed',
        tally: { approve: 4, object: 1, abstain: 0, notVoted: 0 },
        closedAt: clock().toISOString(),
        closedBy: who.chair.id,
      });
      expect(ctx.meta.get('consolidations', c.id)!.openRound).toBeNull();
      expect(await refusal(closeRound(ctx, who.chair.actor, r.id))).toEqual({
        kind: 'conflict',
        code: 'round_not_open',
      });
      // The record no longer changes with later casts (there are none) or later users.
      await person(ctx, { email: 'new@example.org', name: 'New Member' });
      expect(currentTally(ctx, ctx.meta.get('rounds', r.id)!)).toEqual(closed.tally);
    });

    test('automatic close at the deadline: the sweep closes it as of closesAt, not as of now', async () => {
      const { ctx, clock, who, c } = await setup();
      const r = await openOn(
        ctx,
        who.chair,
        clock,
        { type: 'consolidation', id: c.id },
        { rule: 'consensus', quorum: 0.5, closesAt: '2026-03-08T17:00:00Z' },
      );
      for (const v of [who.m1, who.m2, who.m3]) await castBallot(ctx, v.actor, r.id, { position: 'approve' });
      clock.set('2026-03-08T16:59:59.999Z');
      expect(await sweepRounds(ctx)).toBe(0);
      expect(ctx.meta.get('rounds', r.id)!.state).toBe('open');
      clock.set('2026-03-09T11:22:33Z');
      expect(await sweepRounds(ctx)).toBe(1);
      expect(ctx.meta.get('rounds', r.id)).toMatchObject({
        state: 'closed',
        closedAt: '2026-03-08T17:00:00.000Z',
        closedBy: null,
        result: 'passed',
        tally: { approve: 3, object: 0, abstain: 0, notVoted: 2 },
      });
      expect(ctx.meta.get('consolidations', c.id)!.openRound).toBeNull();
      expect(await sweepRounds(ctx)).toBe(0);
    });

    test('exactly at the deadline the round is due', async () => {
      const { ctx, clock, who, c } = await setup();
      const r = await openOn(
        ctx,
        who.chair,
        clock,
        { type: 'consolidation', id: c.id },
        { closesAt: after(clock, DAY) },
      );
      clock.advance(DAY);
      expect(await sweepRounds(ctx)).toBe(1);
      expect(ctx.meta.get('rounds', r.id)).toMatchObject({
        state: 'closed',
        closedAt: r.closesAt,
        result: 'no-quorum',
      });
    });

    test('the chair closing after the deadline (before the sweep ran) gets the round, closed as of its deadline', async () => {
      // API.md: POST /rounds/:id/close → 200 with the round; 409 only *before* the deadline.
      // BUG: closeRound() first lets closeIfDue() close the due round, then finds it no longer
      // open and throws 409 round_not_open.
      const { ctx, clock, who, c } = await setup();
      const r = await openOn(
        ctx,
        who.chair,
        clock,
        { type: 'consolidation', id: c.id },
        { closesAt: after(clock, DAY) },
      );
      clock.advance(DAY + 5000);
      let got: RoundRecord | { refused: string };
      try {
        got = await closeRound(ctx, who.chair.actor, r.id);
      } catch (e) {
        got = { refused: (e as DomainError).code };
      }
      expect(got).toMatchObject({ state: 'closed', closedAt: r.closesAt });
    });

    test('across a restart: a round whose deadline passed while the server was down is closed on start, as of its deadline', async () => {
      const clock = testClock('2026-03-01T09:00:00Z');
      const t = await openTestData({ clock });
      const dataDir = t.dataDir;
      cleanups.push(() => t.cleanup());
      const who = await committee(t.ctx);
      const { c } = await twoProposalConsolidation(t.ctx, who);
      const r = await openRound(t.ctx, who.chair.actor, {
        subject: { type: 'consolidation', id: c.id },
        rule: 'majority',
        quorum: 0.4,
        closesAt: '2026-03-05T12:00:00Z',
      });
      await castBallot(t.ctx, who.m1.actor, r.id, { position: 'approve' });
      await castBallot(t.ctx, who.m2.actor, r.id, { position: 'approve' });
      await castBallot(t.ctx, who.m3.actor, r.id, { position: 'object', reason: 'No' });
      await t.close();
      clock.set('2026-04-01T00:00:00Z');
      const t2 = await openTestData({ dataDir, seed: false, clock });
      cleanups.push(() => t2.close());
      expect(t2.ctx.meta.get('rounds', r.id)).toMatchObject({
        state: 'closed',
        closedAt: '2026-03-05T12:00:00.000Z',
        result: 'passed',
        tally: { approve: 2, object: 1, abstain: 0, notVoted: 2 },
      });
      expect(t2.ctx.meta.get('consolidations', c.id)!.openRound).toBeNull();
      expect(roundsOn(t2.ctx, { type: 'consolidation', id: c.id }).at(-1)!.id).toBe(r.id);
    });

    test('a round still before its deadline at restart stays open', async () => {
      const clock = testClock('2026-03-01T09:00:00Z');
      const t = await openTestData({ clock });
      cleanups.push(() => t.cleanup());
      const who = await committee(t.ctx);
      const { c } = await twoProposalConsolidation(t.ctx, who);
      const r = await openRound(t.ctx, who.chair.actor, {
        subject: { type: 'consolidation', id: c.id },
        rule: 'majority',
        quorum: 0.4,
        closesAt: '2026-03-05T12:00:00Z',
      });
      await t.close();
      clock.set('2026-03-05T11:59:59Z');
      const t2 = await openTestData({ dataDir: t.dataDir, seed: false, clock });
      cleanups.push(() => t2.close());
      expect(t2.ctx.meta.get('rounds', r.id)!.state).toBe('open');
    });
  });

  describe('extend', () => {
    test('only to later deadlines; not on a closed round', async () => {
      const { ctx, clock, who, c } = await setup();
      const r = await openOn(
        ctx,
        who.chair,
        clock,
        { type: 'consolidation', id: c.id },
        { closesAt: '2026-03-08T17:00:00Z' },
      );
      expect(await refusal(extendRound(ctx, who.chair.actor, r.id, { closesAt: '2026-03-08T16:00:00Z' }))).toEqual({
        kind: 'invalid',
        code: 'invalid_deadline',
      });
      expect(await refusal(extendRound(ctx, who.chair.actor, r.id, { closesAt: '2026-03-08T17:00:00Z' }))).toEqual({
        kind: 'invalid',
        code: 'invalid_deadline',
      });
      expect(await refusal(extendRound(ctx, who.chair.actor, r.id, { closesAt: 'soon' }))).toEqual({
        kind: 'invalid',
        code: 'invalid_deadline',
      });
      expect(await refusal(extendRound(ctx, who.m1.actor, r.id, { closesAt: '2026-03-09T17:00:00Z' }))).toEqual({
        kind: 'forbidden',
        code: 'forbidden',
      });
      const x = await extendRound(ctx, who.chair.actor, r.id, { closesAt: '2026-03-09T17:00:00Z' });
      expect(x.closesAt).toBe('2026-03-09T17:00:00.000Z');
      expect(ctx.meta.get('rounds', r.id)!.closesAt).toBe('2026-03-09T17:00:00.000Z');
      // The old deadline passes: still open; the new one passes: closed as of the new one.
      clock.set('2026-03-08T18:00:00Z');
      expect(await sweepRounds(ctx)).toBe(0);
      clock.set('2026-03-10T00:00:00Z');
      expect(await sweepRounds(ctx)).toBe(1);
      expect(ctx.meta.get('rounds', r.id)!.closedAt).toBe('2026-03-09T17:00:00.000Z');
      expect(await refusal(extendRound(ctx, who.chair.actor, r.id, { closesAt: '2026-03-20T17:00:00Z' }))).toEqual({
        kind: 'conflict',
        code: 'round_not_open',
      });
    });
  });

  describe('rounds on a single shared proposal (in-principle decisions)', () => {
    test('open, vote, close; publishing still needs a round on the consolidation', async () => {
      const { ctx, clock, who, c, p2 } = await setup();
      const r = await openOn(
        ctx,
        who.chair,
        clock,
        { type: 'proposal', id: p2.id },
        { rule: 'consensus', quorum: 0.2 },
      );
      await castBallot(ctx, who.m1.actor, r.id, { position: 'approve' });
      clock.advance(8 * DAY);
      await sweepRounds(ctx);
      expect(ctx.meta.get('rounds', r.id)!.result).toBe('passed');
      expect(ctx.meta.get('proposals', p2.id)!.openRound).toBeNull();
      expect(await refusal(publishConsolidation(ctx, who.chair.actor, c.id, {}))).toEqual({
        kind: 'conflict',
        code: 'not_approved',
      });
    });
  });
});
