import type { Actor } from '../../domain/actor.js';
import { absent, conflict, invalid } from '../../domain/errors.js';
import { hasConflictMarkers } from '../../domain/merge.js';
import { MAX_CANCEL_REASON } from '../../domain/limits.js';
import { authorize, can } from '../../domain/policy.js';
import { documentPath } from '../../domain/slug.js';
import {
  deadlineProblem,
  decide,
  everyoneVoted,
  fullTally,
  isDue,
  isReminderDue,
  NO_CONDITIONS,
  quorumToBp,
  type Conditions,
  type RecordKind,
  type Rule,
  tally,
  type Electorate,
  type Tally,
} from '../../domain/round.js';
import type { BallotRecord, RoundRecord, SubjectRef } from '../../store/meta/schema.js';
import { subjectKey } from '../../store/meta/indexes.js';
import { getRoundSettings } from '../settings/roundSettings.js';
import { randomBytes } from 'node:crypto';
import type { Ctx } from '../context.js';
import { consolidationText, isStale, loadConsolidation } from '../consolidations/consolidations.js';
import { loadProposalFor } from '../proposals/access.js';
import { baseText, proposalText } from '../proposals/read.js';
import { activeMembers } from '../accounts/users.js';
import { mergePuts } from '../notifications/queue.js';
import { reminderMails, roundCancelledMails, roundClosedMails, roundOpenedMails } from '../notifications/events.js';

function checkDeadline(ctx: Ctx, closesAt: string, after?: string): string {
  const problem = deadlineProblem(closesAt, ctx.clock(), after);
  if (problem) throw invalid(problem.code, problem.message);
  return new Date(Date.parse(closesAt)).toISOString();
}

export function loadRound(ctx: Ctx, actor: Actor | null, id: number): RoundRecord {
  const r = Number.isInteger(id) && id > 0 ? ctx.meta.get('rounds', id) : undefined;
  if (!r) throw absent('round');
  authorize(
    actor,
    'round.read',
    { kind: 'consolidation', group: ctx.meta.get('documents', r.document)?.group ?? '' },
    'round',
  );
  return r;
}

export const lockKey = (s: SubjectRef) => `${s.type}/${s.id}`;

/** The subject's record key and current head, with the checks that it may be put to a vote. */
async function subjectForRound(ctx: Ctx, actor: Actor | null, subject: SubjectRef) {
  if (subject.type === 'proposal') {
    const p = loadProposalFor(ctx, actor, subject.id, 'proposal.read');
    if (p.state !== 'shared')
      throw conflict('not_shared', `Proposal ${p.id} is ${p.state}: only a shared proposal can be put to a round.`);
    if (p.openRound !== null) throw conflict('round_open', 'A round is already open on this proposal.');
    if (hasConflictMarkers(await proposalText(ctx, p)))
      throw conflict('unresolved_conflicts', 'The text still has conflict markers.');
    return {
      document: p.document,
      head: p.head,
      revision: p.revisions,
      setOpen: (round: number | null) => ({
        proposals: { [p.id]: { ...ctx.meta.get('proposals', p.id)!, openRound: round } },
      }),
    };
  }
  const c = loadConsolidation(ctx, actor, subject.id);
  if (c.state !== 'open') throw conflict('not_open', `This consolidation is ${c.state}.`);
  if (isStale(ctx, c))
    throw conflict('stale', 'A newer version was published after this consolidation was made: rebuild it first.');
  if (c.openRound !== null) throw conflict('round_open', 'A round is already open on this consolidation.');
  if (hasConflictMarkers(await consolidationText(ctx, c)))
    throw conflict('unresolved_conflicts', 'Resolve the conflicts in the text first.');
  return {
    document: c.document,
    head: c.head,
    revision: c.revisions,
    setOpen: (round: number | null) => ({
      consolidations: { [c.id]: { ...ctx.meta.get('consolidations', c.id)!, openRound: round } },
    }),
  };
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
export interface OpenRoundInput {
  subject: SubjectRef;
  rule: Rule;
  /** A fraction of the electorate, 0 to 1, at most four decimals. */
  quorum: number;
  /** ISO 8601 with its zone. */
  closesAt: string;
  /** The site's default when absent. */
  record?: RecordKind | null;
  /** Each absent condition is off. */
  conditions?: Partial<Conditions> | null;
}

export async function openRound(ctx: Ctx, actor: Actor | null, input: OpenRoundInput): Promise<RoundRecord> {
  authorize(actor, 'round.manage');
  const subject: SubjectRef = { type: input.subject.type, id: input.subject.id };
  const rule = input.rule;
  const quorumBp = quorumToBp(input.quorum);
  const closesAt = checkDeadline(ctx, input.closesAt);
  const record = input.record ?? getRoundSettings(ctx).defaultRecord;
  const conditions = { ...NO_CONDITIONS, ...input.conditions };
  return ctx.subjects.run(lockKey(subject), async () => {
    const sub = await subjectForRound(ctx, actor, subject);
    const members = activeMembers(ctx);
    const electorate = members.map((u) => u.id);
    const stakeholderOf = Object.fromEntries(
      members.filter((u) => u.stakeholder).map((u) => [String(u.id), u.stakeholder!]),
    );
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
      openedBy: actor.id,
      state: 'open',
      electorate,
      result: null,
      tally: null,
      closedAt: null,
      closedBy: null,
      cancelReason: null,
      record,
      conditions,
      stakeholderOf,
      recusals: [],
      receiptKey: randomBytes(16).toString('hex'),
      // A round opened inside the reminder window: the invitation is the reminder.
      remindedAt: Date.parse(closesAt) - ctx.mail.reminderHours * 3_600_000 <= ctx.clock().getTime() ? now : null,
    };
    await ctx.meta.write({
      actor: actor.email,
      at: ctx.clock(),
      events: [{ action: 'round.opened', subject: `round/${round.id}` }],
      puts: mergePuts({ rounds: { [round.id]: round }, ...sub.setOpen(round.id) }, roundOpenedMails(ctx, round)),
    });
    return round;
  });
}

/**
 * Every ballot cast in the round, in the order cast (by id). Ballots are cold (read from their
 * file), so the list is kept by the store until the round gets a ballot (`derived`): an open
 * round's tally and record are made on every view of its page and of the rounds list, and its
 * ballots may be more than the store keeps parsed. Read-only.
 */
export function ballotsOf(ctx: Ctx, roundId: number): readonly BallotRecord[] {
  return ctx.meta.derived('ballots', 'round', String(roundId), 'list', (ballots) => ballots);
}

/** The ids of those who have cast a ballot in the round (kept as `ballotsOf`, small: ids only). */
export function votersOf(ctx: Ctx, roundId: number): ReadonlySet<number> {
  return ctx.meta.derived(
    'ballots',
    'round',
    String(roundId),
    'voters',
    (ballots) => new Set(ballots.map((b) => b.voterId)),
    { small: true },
  );
}

/** Who votes in the round, in which stakeholder group, and who has stood aside. */
export const electorateOf = (r: RoundRecord): Electorate => ({
  ids: r.electorate,
  groupOf: Object.fromEntries(Object.entries(r.stakeholderOf ?? {}).map(([id, g]) => [Number(id), g])),
  recused: (r.recusals ?? []).map((x) => x.voterId),
});

/** The tally at the close, or as it stands while the round is open. */
export const currentTally = (ctx: Ctx, r: RoundRecord): Tally =>
  r.tally ? fullTally(r.tally) : tally(ballotsOf(ctx, r.id), electorateOf(r));

/** The round's decision as it stands (what closing now would give). */
export const currentDecision = (ctx: Ctx, r: RoundRecord) => decide(r, ballotsOf(ctx, r.id), electorateOf(r));

/** Close with the result, as of `at` (the deadline for automatic closes). Callers hold the subject lock. */
async function closeNow(ctx: Ctx, r: RoundRecord, at: string, by: Actor | null): Promise<RoundRecord> {
  const d = decide(r, ballotsOf(ctx, r.id), electorateOf(r));
  const closed: RoundRecord = {
    ...r,
    state: 'closed',
    tally: d.tally,
    result: d.result,
    failedCondition: d.failedCondition,
    closedAt: at,
    closedBy: by?.id ?? null,
  };
  await ctx.meta.write({
    actor: by?.email ?? null,
    at: ctx.clock(),
    events: [{ action: 'round.closed', subject: `round/${r.id}` }],
    puts: mergePuts({ rounds: { [r.id]: closed }, ...clearOpen(ctx, r) }, roundClosedMails(ctx, closed)),
  });
  return closed;
}

/** Close the round now if its deadline has come (as of the deadline). Callers hold the subject lock. */
export async function closeIfDue(ctx: Ctx, roundId: number): Promise<void> {
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
    if (!everyoneVoted(tally(ballotsOf(ctx, r.id), electorateOf(r)))) {
      throw conflict(
        'not_everyone_voted',
        'Before the deadline a round can be closed only once every eligible member has voted.',
      );
    }
    return closeNow(ctx, r, ctx.clock().toISOString(), actor);
  });
}

export async function extendRound(
  ctx: Ctx,
  actor: Actor | null,
  roundId: number,
  input: { closesAt: string },
): Promise<RoundRecord> {
  const r0 = loadRound(ctx, actor, roundId);
  authorize(actor, 'round.manage');
  return ctx.subjects.run(lockKey(r0.subject), async () => {
    await closeIfDue(ctx, roundId);
    const r = ctx.meta.get('rounds', roundId)!;
    if (r.state !== 'open') throw conflict('round_not_open', `This round is ${r.state}.`);
    const closesAt = checkDeadline(ctx, input.closesAt, r.closesAt);
    // A later deadline earns a reminder before it too.
    const next: RoundRecord = { ...r, closesAt, remindedAt: null };
    await ctx.meta.write({
      actor: actor.email,
      at: ctx.clock(),
      events: [{ action: 'round.extended', subject: `round/${r.id}` }],
      puts: { rounds: { [r.id]: next } },
    });
    return next;
  });
}

export async function cancelRound(
  ctx: Ctx,
  actor: Actor | null,
  roundId: number,
  input: { reason: string },
): Promise<RoundRecord> {
  const r0 = loadRound(ctx, actor, roundId);
  authorize(actor, 'round.manage');
  const reason = input.reason.trim();
  if (!reason || reason.length > MAX_CANCEL_REASON)
    throw invalid('reason_required', 'Say why the round is cancelled (up to 2000 characters).');
  return ctx.subjects.run(lockKey(r0.subject), async () => {
    await closeIfDue(ctx, roundId);
    const r = ctx.meta.get('rounds', roundId)!;
    if (r.state !== 'open') throw conflict('round_not_open', `This round is already ${r.state}.`);
    const next: RoundRecord = {
      ...r,
      state: 'cancelled',
      cancelReason: reason,
      closedAt: ctx.clock().toISOString(),
      closedBy: actor.id,
    };
    await ctx.meta.write({
      actor: actor.email,
      at: ctx.clock(),
      events: [{ action: 'round.cancelled', subject: `round/${r.id}` }],
      puts: mergePuts({ rounds: { [r.id]: next }, ...clearOpen(ctx, r) }, roundCancelledMails(ctx, next)),
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
  const open = ctx.meta.by('rounds', 'state', 'open');
  const due = open.filter((r) => isDue(r, now));
  for (const r of due) await ctx.subjects.run(lockKey(r.subject), () => closeIfDue(ctx, r.id));
  const soon = open.filter((r) => isReminderDue(r, now, ctx.mail.reminderHours));
  for (const r0 of soon) {
    await ctx.subjects.run(lockKey(r0.subject), async () => {
      const r = ctx.meta.get('rounds', r0.id)!;
      if (r.state !== 'open' || r.remindedAt) return;
      // Those who voted and those who stood aside are not reminded.
      const voted = new Set([
        ...ballotsOf(ctx, r.id).map((b) => b.voterId),
        ...(r.recusals ?? []).map((x) => x.voterId),
      ]);
      await ctx.meta.write({
        actor: null,
        at: ctx.clock(),
        events: [{ action: 'round.reminded', subject: `round/${r.id}` }],
        puts: mergePuts(
          { rounds: { [r.id]: { ...r, remindedAt: ctx.clock().toISOString() } } },
          reminderMails(ctx, r, voted),
        ),
      });
    });
  }
  return due.length;
}

/** Every round held on a subject, oldest first. */
export function roundsOn(ctx: Ctx, subject: SubjectRef): RoundRecord[] {
  return ctx.meta.by('rounds', 'subject', subjectKey(subject));
}

/**
 * The texts of a round's page (after `loadRound`): the text put to the vote (the document at the
 * round's commit) and the published text its subject was drafted on, for the diff between them.
 */
export async function roundTexts(ctx: Ctx, r: RoundRecord): Promise<{ base: string; text: string }> {
  const text = (await ctx.repo.readFile(r.commit, documentPath(r.document)))?.text ?? '';
  const subject =
    r.subject.type === 'consolidation'
      ? ctx.meta.get('consolidations', r.subject.id)
      : ctx.meta.get('proposals', r.subject.id);
  return { base: subject ? await baseText(ctx, { base: subject.base, document: r.document }) : '', text };
}

/**
 * A round's electorate by name (after `loadRound`), with each member's address only for who may
 * record ballots on members' behalf (the secretariat; the chair too when the settings say so);
 * '' for anyone else.
 */
export function electorateRoll(
  ctx: Ctx,
  actor: Actor | null,
  r: RoundRecord,
): { id: number; name: string; email: string }[] {
  const recorder = can(actor, 'ballot.record', { kind: 'proxy', chairMayRecord: getRoundSettings(ctx).chairMayRecord });
  return r.electorate.map((id) => {
    const u = ctx.meta.get('users', id);
    return { id, name: u?.name ?? `user ${id}`, email: recorder ? (u?.email ?? '') : '' };
  });
}

/** The rounds open now (members, the chair and the secretariat), oldest first. */
export function openRounds(ctx: Ctx, actor: Actor | null): RoundRecord[] {
  authorize(actor, 'round.read');
  return ctx.meta.by('rounds', 'state', 'open');
}

/** The `limit` rounds that ended last (closed or cancelled), the latest first. */
export function endedRounds(ctx: Ctx, actor: Actor | null, limit: number): RoundRecord[] {
  authorize(actor, 'round.read');
  return ctx.meta.newest('rounds', 'ended', 'ended', limit);
}

/** Rounds newest first (by id), at most `limit`, with `before` only those older than that round; `more` if older ones remain. */
export function listRounds(
  ctx: Ctx,
  actor: Actor | null,
  page: { limit: number; before?: number },
): { rounds: RoundRecord[]; more: boolean } {
  authorize(actor, 'round.read');
  const found = ctx.meta.newest('rounds', 'all', 'all', page.limit + 1, page.before);
  return { rounds: found.slice(0, page.limit), more: found.length > page.limit };
}
