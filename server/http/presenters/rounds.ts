import { bpToQuorum, fullTally, voterShown, NO_CONDITIONS } from '../../domain/round.js';
import { isOfficer, type Actor } from '../../domain/actor.js';
import type { Ctx } from '../../services/context.js';
import { isStale } from '../../services/consolidations/consolidations.js';
import { findConflicts } from '../../domain/merge.js';
import { ballotRecord, receiptOf } from '../../services/rounds/decision.js';
import { currentTally } from '../../services/rounds/rounds.js';
import { userName } from '../../services/accounts/users.js';
import type { ConsolidationRecord, RoundRecord } from '../../store/meta/schema.js';

export const nameOf = (ctx: Ctx, id: number | null) => (id === null ? null : userName(ctx, id));

/** The round summary carried by version entries and decision records. */
export const roundSummary = (ctx: Ctx, r: RoundRecord) => ({
  id: r.id,
  rule: r.rule,
  quorum: bpToQuorum(r.quorumBp),
  record: r.record ?? 'named',
  conditions: r.conditions ?? NO_CONDITIONS,
  result: r.result,
  ...(r.failedCondition ? { failedCondition: r.failedCondition } : {}),
  tally: r.tally ? fullTally(r.tally) : null,
  electorate: r.electorate.length,
  closedAt: r.closedAt,
  recusals: recusalsJson(ctx, r),
});

/** Recusals are always named, with their reason. */
export const recusalsJson = (ctx: Ctx, r: RoundRecord) =>
  (r.recusals ?? []).map((x) => ({
    voter: nameOf(ctx, x.voterId),
    reason: x.reason,
    at: x.at,
    ...(x.recordedBy !== null ? { recordedBy: nameOf(ctx, x.recordedBy), note: x.note ?? '' } : {}),
  }));

/**
 * Every cast of a round as `viewer` may see it: in a named round, or for the chair and the
 * secretariat, with the voter's name; in an unnamed round, for anyone else, by receipt only
 * (with the name when the voter asked to be named). Never an e-mail.
 */
export const ballotsJson = (ctx: Ctx, r: RoundRecord, viewer: Actor | null) => {
  const record = r.record ?? 'named';
  const officer = isOfficer(viewer);
  return ballotRecord(ctx, r).map((b) => {
    const shown = voterShown(record, officer, !!b.named);
    return {
      receipt: b.receipt,
      ...(shown ? { voter: nameOf(ctx, b.voterId) } : {}),
      position: b.position,
      reason: b.reason,
      castAt: b.castAt,
      counted: b.counted,
      ...(b.notCounted ? { notCounted: b.notCounted } : {}),
      ...(b.named ? { named: true } : {}),
      ...(b.recordedBy
        ? shown
          ? { recordedBy: nameOf(ctx, b.recordedBy), note: b.note ?? '' }
          : { recorded: true }
        : {}),
    };
  });
};

/**
 * What `roundJson` shows differently to two viewers of the same state: whether they are an
 * officer (voters' names), and their own receipt when they are in the electorate. An answer kept
 * under this key (http/render/fragments.ts) is the answer made for the viewer.
 */
export const roundJsonKey = (r: RoundRecord, viewer: Actor | null) =>
  `round ${r.id} ${+isOfficer(viewer)} ${viewer && r.electorate.includes(viewer.id) ? viewer.id : '-'}`;

export const roundJson = (ctx: Ctx, r: RoundRecord, viewer: Actor | null) => ({
  id: r.id,
  subject: r.subject,
  document: r.document,
  commit: r.commit,
  rule: r.rule,
  quorum: bpToQuorum(r.quorumBp),
  record: r.record ?? 'named',
  conditions: r.conditions ?? NO_CONDITIONS,
  closesAt: r.closesAt,
  openedAt: r.openedAt,
  state: r.state,
  electorate: r.electorate.length,
  tally: currentTally(ctx, r),
  ...(r.result ? { result: r.result } : {}),
  ...(r.failedCondition ? { failedCondition: r.failedCondition } : {}),
  closedAt: r.closedAt,
  ...(r.cancelReason ? { cancelReason: r.cancelReason } : {}),
  ...(viewer && r.electorate.includes(viewer.id) ? { receipt: receiptOf(r, viewer.id) } : {}),
  recusals: recusalsJson(ctx, r),
  ballots: ballotsJson(ctx, r, viewer),
});

export const consolidationJson = (ctx: Ctx, c: ConsolidationRecord, text: string) => ({
  id: c.id,
  document: c.document,
  state: c.state,
  stale: isStale(ctx, c),
  base: c.base,
  head: c.head,
  text,
  proposals: c.proposals,
  summary: c.summary,
  conflicts: findConflicts(text),
  openRound: c.openRound,
  revisions: c.revisions,
  publishedVersion: c.publishedVersion,
  createdAt: c.createdAt,
});
