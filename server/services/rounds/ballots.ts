import type { Actor } from '../../domain/actor.js';
import { conflict, forbidden, invalid } from '../../domain/errors.js';
import { MAX_CANCEL_REASON, MAX_RECORD_NOTE } from '../../domain/limits.js';
import { authorize, can } from '../../domain/policy.js';
import { checkPosition, isDue, mayRecordFor, type Position } from '../../domain/round.js';
import type { BallotRecord, RecusalEntry, RoundRecord } from '../../store/meta/schema.js';
import type { Ctx } from '../context.js';
import { findUserByEmail } from '../accounts/users.js';
import { mergePuts } from '../notifications/queue.js';
import { ballotReceiptMails, ballotRecordedMails, recusalMails } from '../notifications/events.js';
import { getRoundSettings } from '../settings/roundSettings.js';
import { ballotsOf, closeIfDue, loadRound, lockKey, votersOf } from './rounds.js';

/**
 * What an elector does in an open round — casts a ballot, stands aside, withdraws — and what
 * the secretariat records on a member's behalf. The round's lifecycle is in rounds.ts.
 */

/**
 * Cast (or change) a ballot. Only the electorate; an objection needs a reason; nothing after
 * the close — a round past its deadline is closed first, as of its deadline. The secretariat
 * may record a ballot on a member's behalf (`voter`, with a `note` saying where and how it was
 * given): never over a ballot the member cast themselves (409 `voter_has_voted`), while the
 * member may replace a recorded one with their own until the close; the member is told by mail.
 */
export async function castBallot(
  ctx: Ctx,
  actor: Actor | null,
  roundId: number,
  input: BallotInput,
): Promise<BallotRecord> {
  const r0 = loadRound(ctx, actor, roundId);
  authorize(actor, 'ballot.cast');
  return ctx.subjects.run(lockKey(r0.subject), async () => {
    await closeIfDue(ctx, roundId);
    const r = ctx.meta.get('rounds', roundId)!;
    const draft = draftBallot(ctx, actor, r, input);
    // The same ballot again (a double click, a form sent twice): nothing new to record.
    const counted = [...ballotsOf(ctx, r.id)].reverse().find((x) => x.voterId === draft.voterId);
    if (counted && sameBallot(counted, draft)) return counted;
    const b: BallotRecord = { id: ctx.meta.nextId('ballots'), ...draft };
    await ctx.meta.write({
      actor: actor.email,
      at: ctx.clock(),
      events: [{ action: b.recordedBy ? 'ballot.recorded' : 'ballot.cast', subject: `round/${roundId}` }],
      puts: mergePuts(
        { ballots: { [b.id]: b } },
        b.recordedBy ? ballotRecordedMails(ctx, r, b) : ballotReceiptMails(ctx, r, b),
      ),
    });
    return b;
  });
}

/** On a member's behalf: the e-mail of their account and where and how they gave it (the secretariat; the chair when allowed). */
export interface OnBehalf {
  voter?: string | null;
  note?: string | null;
}

/** Whether two ballots say the same: position, reason, who recorded it and how, and the wish to be named. */
const sameBallot = (a: Omit<BallotRecord, 'id'>, b: Omit<BallotRecord, 'id'>) =>
  a.position === b.position &&
  a.reason === b.reason &&
  a.recordedBy === b.recordedBy &&
  (a.note ?? '') === (b.note ?? '') &&
  !!a.named === !!b.named;

export interface BallotInput extends OnBehalf {
  position: Position;
  reason?: string | null;
  /** In an unnamed round: name this voter in the public record. */
  named?: boolean | null;
}

/**
 * What recording this ballot would do, without doing it (the page's confirmation step): the
 * same checks as `castBallot`, and the member's counted ballot now, if any.
 */
export function previewBallot(ctx: Ctx, actor: Actor | null, roundId: number, input: BallotInput) {
  const r = loadRound(ctx, actor, roundId);
  authorize(actor, 'ballot.cast');
  if (isDue(r, ctx.clock())) throw conflict('round_not_open', 'This round has reached its deadline: no more ballots.');
  const draft = draftBallot(ctx, actor, r, input);
  const current = [...ballotsOf(ctx, r.id)].reverse().find((b) => b.voterId === draft.voterId) ?? null;
  return { draft, current };
}

/** The checks every ballot passes (one home for "may this ballot be cast or recorded"), as the ballot it would be. */
function draftBallot(ctx: Ctx, actor: Actor, r: RoundRecord, input: BallotInput): Omit<BallotRecord, 'id'> {
  const { position, reason } = checkPosition(input.position, input.reason);
  const named = input.named === true;
  const { voterId, recordedBy, note } = whoActs(ctx, actor, r, input, 'ballot');
  if (r.state !== 'open') throw conflict('round_not_open', `This round is ${r.state}: no more ballots.`);
  if ((r.recusals ?? []).some((x) => x.voterId === voterId)) {
    throw conflict(
      'recused',
      recordedBy
        ? 'This member has recused themselves from this round.'
        : 'You have recused yourself from this round: withdraw the recusal to vote.',
    );
  }
  if (recordedBy !== null && !mayRecordFor(ballotsOf(ctx, r.id).filter((c) => c.voterId === voterId))) {
    throw conflict(
      'voter_has_voted',
      'This member has cast their own ballot in this round; a recorded ballot never replaces it.',
    );
  }
  return {
    round: r.id,
    voterId,
    position,
    reason,
    castAt: ctx.clock().toISOString(),
    recordedBy,
    ...(note ? { note } : {}),
    ...(named ? { named } : {}),
  };
}

/**
 * Who a ballot or recusal is for: the actor, or (with `voter` and a `note`) a member on whose
 * behalf the secretariat — or the chair, if the settings allow — records it. The member must be
 * in the round's electorate.
 */
function whoActs(ctx: Ctx, actor: Actor, r: RoundRecord, input: OnBehalf, what: 'ballot' | 'recusal' | 'withdrawal') {
  let voterId = actor.id;
  let recordedBy: number | null = null;
  let note = '';
  if (input.voter !== undefined && input.voter !== null) {
    authorize(actor, 'ballot.record', { kind: 'proxy', chairMayRecord: getRoundSettings(ctx).chairMayRecord });
    const v = input.voter ? findUserByEmail(ctx, input.voter) : undefined;
    if (!v) throw invalid('invalid_voter', 'Name the voter by the e-mail of their account.');
    note = input.note?.trim() ?? '';
    if (!note || note.length > MAX_RECORD_NOTE) {
      throw invalid(
        'note_required',
        `Say where and how the member ${{ ballot: 'voted', recusal: 'asked to stand aside', withdrawal: 'asked to take part again' }[what]} (up to 2000 characters), e.g. "at the meeting of 12 Sept".`,
      );
    }
    voterId = v.id;
    recordedBy = actor.id;
  }
  if (!r.electorate.includes(voterId)) {
    throw forbidden(
      'not_in_electorate',
      recordedBy
        ? "That person is not in this round's electorate."
        : "You are not in this round's electorate (the members when it opened).",
    );
  }
  return { voterId, recordedBy, note };
}

export interface RecusalInput extends OnBehalf {
  reason: string;
}

/**
 * An elector stands aside (a conflict of interest): they cannot vote, a ballot they cast
 * stops counting, and they are out of the electorate for the quorum and the rule. Recusals
 * are always named, with the reason. The secretariat may record one on a member's behalf.
 */
export async function recuse(
  ctx: Ctx,
  actor: Actor | null,
  roundId: number,
  input: RecusalInput,
): Promise<RecusalEntry> {
  const r0 = loadRound(ctx, actor, roundId);
  authorize(actor, 'ballot.cast');
  const reason = input.reason.trim();
  if (!reason || reason.length > MAX_CANCEL_REASON)
    throw invalid(
      'reason_required',
      'Say why you stand aside (up to 2000 characters); recusals are in the public record.',
    );
  return ctx.subjects.run(lockKey(r0.subject), async () => {
    await closeIfDue(ctx, roundId);
    const r = ctx.meta.get('rounds', roundId)!;
    const { voterId, recordedBy, note } = whoActs(ctx, actor, r, input, 'recusal');
    if (r.state !== 'open') throw conflict('round_not_open', `This round is ${r.state}.`);
    if ((r.recusals ?? []).some((x) => x.voterId === voterId))
      throw conflict('already_recused', 'This member has already recused themselves from this round.');
    const entry: RecusalEntry = {
      voterId,
      reason,
      at: ctx.clock().toISOString(),
      recordedBy,
      ...(note ? { note } : {}),
    };
    const next: RoundRecord = { ...r, recusals: [...(r.recusals ?? []), entry] };
    await ctx.meta.write({
      actor: actor.email,
      at: ctx.clock(),
      events: [{ action: 'round.recused', subject: `round/${r.id}` }],
      puts: mergePuts({ rounds: { [r.id]: next } }, recusalMails(ctx, next, entry, 'recorded')),
    });
    return entry;
  });
}

/** Withdraw a recusal before the close: the member votes again (a ballot they had cast counts again). */
export async function withdrawRecusal(
  ctx: Ctx,
  actor: Actor | null,
  roundId: number,
  input: OnBehalf,
): Promise<RoundRecord> {
  const r0 = loadRound(ctx, actor, roundId);
  authorize(actor, 'ballot.cast');
  return ctx.subjects.run(lockKey(r0.subject), async () => {
    await closeIfDue(ctx, roundId);
    const r = ctx.meta.get('rounds', roundId)!;
    const { voterId } = whoActs(ctx, actor, r, input, 'withdrawal');
    if (r.state !== 'open') throw conflict('round_not_open', `This round is ${r.state}.`);
    const entry = (r.recusals ?? []).find((x) => x.voterId === voterId);
    if (!entry) throw conflict('not_recused', 'There is no recusal to withdraw.');
    const next: RoundRecord = { ...r, recusals: (r.recusals ?? []).filter((x) => x.voterId !== voterId) };
    await ctx.meta.write({
      actor: actor.email,
      at: ctx.clock(),
      events: [{ action: 'round.recusal_withdrawn', subject: `round/${r.id}` }],
      puts: mergePuts({ rounds: { [r.id]: next } }, recusalMails(ctx, next, entry, 'withdrawn')),
    });
    return next;
  });
}

/**
 * The open rounds this member is asked to vote in and has not: in the electorate, not recused,
 * no ballot cast or recorded yet, deadline not passed. For the "vote open" banner; empty for
 * anyone who may not vote.
 */
export function roundsAwaiting(ctx: Ctx, actor: Actor | null): RoundRecord[] {
  if (!actor || !can(actor, 'ballot.cast')) return [];
  const now = ctx.clock();
  return ctx.meta
    .by('rounds', 'state', 'open')
    .filter(
      (r) =>
        !isDue(r, now) &&
        r.electorate.includes(actor.id) &&
        !(r.recusals ?? []).some((x) => x.voterId === actor.id) &&
        !votersOf(ctx, r.id).has(actor.id),
    )
    .sort((a, b) => a.closesAt.localeCompare(b.closesAt));
}
