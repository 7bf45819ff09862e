import { bpToQuorum } from '../../domain/round.js';
import type { Ctx } from '../../services/context.js';
import { isStale } from '../../services/consolidations/consolidations.js';
import { findConflicts } from '../../domain/merge.js';
import { ballotRecord } from '../../services/rounds/decision.js';
import { currentTally } from '../../services/rounds/rounds.js';
import type { ConsolidationRecord, RoundRecord } from '../../store/meta/schema.js';

export const nameOf = (ctx: Ctx, id: number | null) => (id === null ? null : (ctx.meta.get('users', id)?.name ?? `user ${id}`));

/** The round summary carried by version entries and decision records. */
export const roundSummary = (r: RoundRecord) => ({
  id: r.id,
  rule: r.rule,
  quorum: bpToQuorum(r.quorumBp),
  result: r.result,
  tally: r.tally,
  electorate: r.electorate.length,
  closedAt: r.closedAt,
});

export const ballotsJson = (ctx: Ctx, r: RoundRecord) =>
  ballotRecord(ctx, r).map((b) => ({
    voter: nameOf(ctx, b.voterId),
    position: b.position,
    reason: b.reason,
    castAt: b.castAt,
    counted: b.counted,
    ...(b.recordedBy ? { recordedBy: nameOf(ctx, b.recordedBy), note: b.note ?? '' } : {}),
  }));

export const roundJson = (ctx: Ctx, r: RoundRecord) => ({
  id: r.id,
  subject: r.subject,
  document: r.document,
  commit: r.commit,
  rule: r.rule,
  quorum: bpToQuorum(r.quorumBp),
  closesAt: r.closesAt,
  openedAt: r.openedAt,
  state: r.state,
  electorate: r.electorate.length,
  tally: currentTally(ctx, r),
  ...(r.result ? { result: r.result } : {}),
  closedAt: r.closedAt,
  ...(r.cancelReason ? { cancelReason: r.cancelReason } : {}),
  ballots: ballotsJson(ctx, r),
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
