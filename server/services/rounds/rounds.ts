import type { Actor } from '../../domain/actor.js';
import { absent, conflict, forbidden, invalid } from '../../domain/errors.js';
import { hasConflictMarkers } from '../../domain/merge.js';
import { MAX_CANCEL_REASON, MAX_RECORD_NOTE } from '../../domain/limits.js';
import { authorize } from '../../domain/policy.js';
import { checkPosition, checkRule, everyoneVoted, isDue, isReminderDue, mayRecordFor, quorumToBp, result, tally } from '../../domain/round.js';
import type { BallotRecord, RoundRecord, SubjectRef } from '../../store/meta/schema.js';
import type { Ctx } from '../context.js';
import { consolidationText, isStale, loadConsolidation } from '../consolidations/consolidations.js';
import { loadProposalFor } from '../proposals/access.js';
import { proposalText } from '../proposals/read.js';
import { findUserByEmail } from '../accounts/users.js';
import { mergePuts } from '../notifications/queue.js';
import { ballotRecordedMails, reminderMails, roundClosedMails, roundOpenedMails } from '../notifications/events.js';

/** An ISO 8601 date-time with its zone (Z or ±hh:mm): a deadline must not depend on the server's time zone. */
const DEADLINE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

function checkDeadline(ctx: Ctx, closesAt: unknown, after?: string): string {
  const t = typeof closesAt === 'string' && DEADLINE.test(closesAt) ? Date.parse(closesAt) : NaN;
  if (!Number.isFinite(t)) throw invalid('invalid_deadline', 'Give the deadline as an ISO 8601 date and time with its zone, e.g. 2027-03-01T17:00:00Z.');
  const now = ctx.clock().getTime();
  if (t <= now) throw invalid('invalid_deadline', 'The deadline must be in the future.');
  if (after && t <= Date.parse(after)) throw invalid('invalid_deadline', 'A deadline can only be extended to a later moment.');
  return new Date(t).toISOString();
}

export function loadRound(ctx: Ctx, actor: Actor | null, id: number): RoundRecord {
  const r = Number.isInteger(id) && id > 0 ? ctx.meta.get('rounds', id) : undefined;
  if (!r) throw absent('round');
  authorize(actor, 'round.read', { kind: 'consolidation', group: ctx.meta.get('documents', r.document)?.group ?? '' }, 'round');
  return r;
}

const lockKey = (s: SubjectRef) => `${s.type}/${s.id}`;

/** The subject's record key and current head, with the checks that it may be put to a vote. */
async function subjectForRound(ctx: Ctx, actor: Actor | null, subject: SubjectRef) {
  if (subject.type === 'proposal') {
    const p = loadProposalFor(ctx, actor, subject.id, 'proposal.read');
    if (p.state !== 'shared') throw conflict('not_shared', `Proposal ${p.id} is ${p.state}: only a shared proposal can be put to a round.`);
    if (p.openRound !== null) throw conflict('round_open', 'A round is already open on this proposal.');
    if (hasConflictMarkers(await proposalText(ctx, p))) throw conflict('unresolved_conflicts', 'The text still has conflict markers.');
    return { document: p.document, head: p.head, revision: p.revisions, setOpen: (round: number | null) => ({ proposals: { [p.id]: { ...ctx.meta.get('proposals', p.id)!, openRound: round } } }) };
  }
  const c = loadConsolidation(ctx, actor, subject.id);
  if (c.state !== 'open') throw conflict('not_open', `This consolidation is ${c.state}.`);
  if (isStale(ctx, c)) throw conflict('stale', 'A newer version was published after this consolidation was made: rebuild it first.');
  if (c.openRound !== null) throw conflict('round_open', 'A round is already open on this consolidation.');
  if (hasConflictMarkers(await consolidationText(ctx, c))) throw conflict('unresolved_conflicts', 'Resolve the conflicts in the text first.');
  return { document: c.document, head: c.head, revision: c.revisions, setOpen: (round: number | null) => ({ consolidations: { [c.id]: { ...ctx.meta.get('consolidations', c.id)!, openRound: round } } }) };
}

/** Clear the subject's open-round mark (on close or cancel). */
function clearOpen(ctx: Ctx, r: RoundRecord) {
  if (r.subject.type === 'proposal') {
    const p = ctx.meta.get('proposals', r.subject.id);
    return p && p.openRound === r.id ? { proposals: { [p.id]: { ...p, openRound: null } } } : {};
  }
  const c = ctx.meta.get('consolidations', r.subject.id);
  return c && c.openRound === r.id ? { consolidations: { [c.id]: { ...c, openRound: null } } } : {};
}

/**
 * Open a round on one exact revision: the electorate is everyone holding the member role
 * (and not disabled) now; the text is frozen until the round closes or is cancelled.
 */
export async function openRound(ctx: Ctx, actor: Actor | null, input: { subject: unknown; rule: unknown; quorum: unknown; closesAt: unknown }): Promise<RoundRecord> {
  authorize(actor, 'round.manage');
  const s = input.subject as { type?: unknown; id?: unknown } | undefined;
  if (!s || typeof s !== 'object' || (s.type !== 'proposal' && s.type !== 'consolidation') || !Number.isInteger(s.id) || (s.id as number) < 1) {
    throw invalid('invalid_subject', 'The subject is {type: "proposal" | "consolidation", id}.');
  }
  const subject: SubjectRef = { type: s.type, id: s.id as number };
  const rule = checkRule(input.rule);
  const quorumBp = quorumToBp(input.quorum);
  const closesAt = checkDeadline(ctx, input.closesAt);
  return ctx.subjects.run(lockKey(subject), async () => {
    const sub = await subjectForRound(ctx, actor, subject);
    const electorate = ctx.meta
      .all('users')
      .filter((u) => !u.disabled && u.roles.includes('member'))
      .map((u) => u.id)
      .sort((a, b) => a - b);
    const now = ctx.clock().toISOString();
    const round: RoundRecord = {
      id: ctx.meta.nextId('rounds'),
      subject,
      document: sub.document,
      commit: sub.head,
      revision: sub.revision,
      rule,
      quorumBp,
      closesAt,
      openedAt: now,
      openedBy: actor!.id,
      state: 'open',
      electorate,
      result: null,
      tally: null,
      closedAt: null,
      closedBy: null,
      cancelReason: null,
      // A round opened inside the reminder window: the invitation is the reminder.
      remindedAt: Date.parse(closesAt) - ctx.mail.reminderHours * 3_600_000 <= ctx.clock().getTime() ? now : null,
    };
    await ctx.meta.write({
      actor: actor!.email,
      at: ctx.clock(),
      events: [{ action: 'round.opened', subject: `round/${round.id}` }],
      puts: mergePuts({ rounds: { [round.id]: round }, ...sub.setOpen(round.id) }, roundOpenedMails(ctx, round)),
    });
    return round;
  });
}

export function ballotsOf(ctx: Ctx, roundId: number): BallotRecord[] {
  return ctx.meta
    .all('ballots')
    .filter((b) => b.round === roundId)
    .sort((a, b) => a.id - b.id);
}

export const currentTally = (ctx: Ctx, r: RoundRecord) => r.tally ?? tally(ballotsOf(ctx, r.id), r.electorate);

/**
 * Cast (or change) a ballot. Only the electorate; an objection needs a reason; nothing after
 * the close — a round past its deadline is closed first, as of its deadline. The secretariat
 * may record a ballot on a member's behalf (`voter`, with a `note` saying where and how it was
 * given): never over a ballot the member cast themselves (409 `voter_has_voted`), while the
 * member may replace a recorded one with their own until the close; the member is told by mail.
 */
export async function castBallot(ctx: Ctx, actor: Actor | null, roundId: number, input: BallotInput): Promise<BallotRecord> {
  const r0 = loadRound(ctx, actor, roundId);
  authorize(actor, 'ballot.cast');
  return ctx.subjects.run(lockKey(r0.subject), async () => {
    await closeIfDue(ctx, roundId);
    const r = ctx.meta.get('rounds', roundId)!;
    const draft = draftBallot(ctx, actor, r, input);
    const b: BallotRecord = { id: ctx.meta.nextId('ballots'), ...draft };
    await ctx.meta.write({
      actor: actor!.email,
      at: ctx.clock(),
      events: [{ action: b.recordedBy ? 'ballot.recorded' : 'ballot.cast', subject: `round/${roundId}` }],
      puts: mergePuts({ ballots: { [b.id]: b } }, b.recordedBy ? ballotRecordedMails(ctx, r, b) : {}),
    });
    return b;
  });
}

export interface BallotInput {
  position: unknown;
  reason?: unknown;
  /** The e-mail of the member on whose behalf a ballot is recorded (secretariat). */
  voter?: unknown;
  /** With `voter`: where and how the member voted. */
  note?: unknown;
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
function draftBallot(ctx: Ctx, actor: Actor | null, r: RoundRecord, input: BallotInput): Omit<BallotRecord, 'id'> {
  const { position, reason } = checkPosition(input.position, input.reason);
  let voterId = actor!.id;
  let recordedBy: number | null = null;
  let note = '';
  if (input.voter !== undefined && input.voter !== null) {
    authorize(actor, 'ballot.record');
    const v = typeof input.voter === 'string' && input.voter ? findUserByEmail(ctx, input.voter) : undefined;
    if (!v) throw invalid('invalid_voter', 'Name the voter by the e-mail of their account.');
    note = typeof input.note === 'string' ? input.note.trim() : '';
    if (!note || note.length > MAX_RECORD_NOTE) throw invalid('note_required', 'Say where and how the member voted (up to 2000 characters), e.g. "by show of hands at the meeting of 12 Sept".');
    voterId = v.id;
    recordedBy = actor!.id;
  }
  if (r.state !== 'open') throw conflict('round_not_open', `This round is ${r.state}: no more ballots.`);
  if (!r.electorate.includes(voterId)) {
    throw forbidden('not_in_electorate', recordedBy ? "That person is not in this round's electorate." : "You are not in this round's electorate (the members when it opened).");
  }
  if (recordedBy !== null && !mayRecordFor(ballotsOf(ctx, r.id).filter((c) => c.voterId === voterId))) {
    throw conflict('voter_has_voted', 'This member has cast their own ballot in this round; a recorded ballot never replaces it.');
  }
  return { round: r.id, voterId, position, reason, castAt: ctx.clock().toISOString(), recordedBy, ...(note ? { note } : {}) };
}

/** Close with the result, as of `at` (the deadline for automatic closes). Callers hold the subject lock. */
async function closeNow(ctx: Ctx, r: RoundRecord, at: string, by: Actor | null): Promise<RoundRecord> {
  const t = tally(ballotsOf(ctx, r.id), r.electorate);
  const closed: RoundRecord = { ...r, state: 'closed', tally: t, result: result(r.rule, r.quorumBp, r.electorate.length, t), closedAt: at, closedBy: by?.id ?? null };
  await ctx.meta.write({
    actor: by?.email ?? null,
    at: ctx.clock(),
    events: [{ action: 'round.closed', subject: `round/${r.id}` }],
    puts: mergePuts({ rounds: { [r.id]: closed }, ...clearOpen(ctx, r) }, roundClosedMails(ctx, closed)),
  });
  return closed;
}

async function closeIfDue(ctx: Ctx, roundId: number): Promise<void> {
  const r = ctx.meta.get('rounds', roundId);
  if (r && isDue(r, ctx.clock())) await closeNow(ctx, r, r.closesAt, null);
}

/** The chair closes early only once every eligible member has voted; at or after the deadline, any time. */
export async function closeRound(ctx: Ctx, actor: Actor | null, roundId: number): Promise<RoundRecord> {
  const r0 = loadRound(ctx, actor, roundId);
  authorize(actor, 'round.manage');
  return ctx.subjects.run(lockKey(r0.subject), async () => {
    const r = ctx.meta.get('rounds', roundId)!;
    if (r.state !== 'open') throw conflict('round_not_open', `This round is already ${r.state}.`);
    // At or after the deadline the chair may close it (as of the deadline), whoever voted.
    if (isDue(r, ctx.clock())) return closeNow(ctx, r, r.closesAt, actor);
    if (!everyoneVoted(tally(ballotsOf(ctx, r.id), r.electorate))) {
      throw conflict('not_everyone_voted', 'Before the deadline a round can be closed only once every eligible member has voted.');
    }
    return closeNow(ctx, r, ctx.clock().toISOString(), actor);
  });
}

export async function extendRound(ctx: Ctx, actor: Actor | null, roundId: number, input: { closesAt: unknown }): Promise<RoundRecord> {
  const r0 = loadRound(ctx, actor, roundId);
  authorize(actor, 'round.manage');
  return ctx.subjects.run(lockKey(r0.subject), async () => {
    await closeIfDue(ctx, roundId);
    const r = ctx.meta.get('rounds', roundId)!;
    if (r.state !== 'open') throw conflict('round_not_open', `This round is ${r.state}.`);
    const closesAt = checkDeadline(ctx, input.closesAt, r.closesAt);
    // A later deadline earns a reminder before it too.
    const next: RoundRecord = { ...r, closesAt, remindedAt: null };
    await ctx.meta.write({ actor: actor!.email, at: ctx.clock(), events: [{ action: 'round.extended', subject: `round/${r.id}` }], puts: { rounds: { [r.id]: next } } });
    return next;
  });
}

export async function cancelRound(ctx: Ctx, actor: Actor | null, roundId: number, input: { reason: unknown }): Promise<RoundRecord> {
  const r0 = loadRound(ctx, actor, roundId);
  authorize(actor, 'round.manage');
  const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
  if (!reason || reason.length > MAX_CANCEL_REASON) throw invalid('reason_required', 'Say why the round is cancelled (up to 2000 characters).');
  return ctx.subjects.run(lockKey(r0.subject), async () => {
    await closeIfDue(ctx, roundId);
    const r = ctx.meta.get('rounds', roundId)!;
    if (r.state !== 'open') throw conflict('round_not_open', `This round is already ${r.state}.`);
    const next: RoundRecord = { ...r, state: 'cancelled', cancelReason: reason, closedAt: ctx.clock().toISOString(), closedBy: actor!.id };
    await ctx.meta.write({
      actor: actor!.email,
      at: ctx.clock(),
      events: [{ action: 'round.cancelled', subject: `round/${r.id}` }],
      puts: { rounds: { [r.id]: next }, ...clearOpen(ctx, r) },
    });
    return next;
  });
}

/**
 * The periodic sweep (and at start): close every round whose deadline has passed, as of its
 * deadline; queue the reminder for rounds whose deadline is near, once.
 */
export async function sweepRounds(ctx: Ctx): Promise<number> {
  const now = ctx.clock();
  const open = ctx.meta.all('rounds').filter((r) => r.state === 'open');
  const due = open.filter((r) => isDue(r, now));
  for (const r of due) await ctx.subjects.run(lockKey(r.subject), () => closeIfDue(ctx, r.id));
  const soon = open.filter((r) => isReminderDue(r, now, ctx.mail.reminderHours));
  for (const r0 of soon) {
    await ctx.subjects.run(lockKey(r0.subject), async () => {
      const r = ctx.meta.get('rounds', r0.id)!;
      if (r.state !== 'open' || r.remindedAt) return;
      const voted = new Set(ballotsOf(ctx, r.id).map((b) => b.voterId));
      await ctx.meta.write({
        actor: null,
        at: ctx.clock(),
        events: [{ action: 'round.reminded', subject: `round/${r.id}` }],
        puts: mergePuts({ rounds: { [r.id]: { ...r, remindedAt: ctx.clock().toISOString() } } }, reminderMails(ctx, r, voted)),
      });
    });
  }
  return due.length;
}

/** Every round held on a subject, oldest first. */
export function roundsOn(ctx: Ctx, subject: SubjectRef): RoundRecord[] {
  return ctx.meta
    .all('rounds')
    .filter((r) => r.subject.type === subject.type && r.subject.id === subject.id)
    .sort((a, b) => a.id - b.id);
}

