import type { Actor } from '../../domain/actor.js';
import type { ConflictBlock } from '../../domain/merge.js';
import { can } from '../../domain/policy.js';
import type { Ctx } from '../../services/context.js';
import { consolidationSubject, isStale } from '../../services/consolidations/consolidations.js';
import { userName } from '../../services/accounts/users.js';
import { findProposal } from '../../services/proposals/access.js';
import { findDocument } from '../../services/readDocuments.js';
import { currentTally, roundsOn } from '../../services/rounds/rounds.js';
import { publicationCheck } from '../../services/consolidations/publish.js';
import type { ConsolidationRecord } from '../../store/meta/schema.js';
import { resultLabel } from './roundView.js';
import { tallyView } from './tallyView.js';

/**
 * View data for the consolidation pages: the facts at the top and what the viewer may do
 * (where each change came from: attributionView.ts). Records in, flat values out.
 */

const nameOf = (ctx: Ctx, id: number | null) => (id === null ? '' : userName(ctx, id));

/** What the viewer may do to a consolidation now. */
export function consolidationActions(ctx: Ctx, actor: Actor | null, c: ConsolidationRecord, conflicts: number) {
  const subject = consolidationSubject(ctx, c);
  const manage = can(actor, 'consolidation.manage', subject);
  const stale = isStale(ctx, c);
  const open = c.state === 'open';
  return {
    manage,
    edit: manage && open && c.openRound === null,
    openRound: manage && open && !stale && c.openRound === null && conflicts === 0,
    abandon: manage && open && c.openRound === null,
    rebuild: manage && stale && c.state !== 'published',
    publish: manage && publicationCheck(ctx, c).ok,
    comment: can(actor, 'comment.create', subject) && c.state !== 'abandoned',
    resolve: can(actor, 'comment.resolve', subject),
  };
}

/** The facts at the top of the consolidation page. */
export function consolidationView(ctx: Ctx, actor: Actor | null, c: ConsolidationRecord, conflicts: ConflictBlock[]) {
  const doc = findDocument(ctx, c.document);
  const proposal = (id: number) => {
    const p = findProposal(ctx, actor, id);
    return { id, title: p?.title ?? `Proposal ${id}`, state: p?.state ?? '', href: `/proposals/${id}` };
  };
  const rounds = roundsOn(ctx, { type: 'consolidation', id: c.id })
    .reverse()
    .map((r) => ({
      id: r.id,
      state: r.state,
      result: r.result,
      resultLabel: resultLabel(r.result),
      closesAt: r.closesAt,
      closedAt: r.closedAt,
      revision: r.revision,
      onHead: r.commit === c.head,
      tally: tallyView(currentTally(ctx, r)),
      cancelReason: r.cancelReason,
    }));
  return {
    id: c.id,
    document: { slug: c.document, title: doc?.title ?? c.document, latest: doc?.latest ?? 0 },
    state: c.state,
    // A published consolidation is the version it became, not a stale candidate.
    stale: c.state !== 'published' && isStale(ctx, c),
    summary: c.summary,
    createdBy: nameOf(ctx, c.createdBy),
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    baseVersion: c.baseVersion,
    revisions: c.revisions,
    head: c.head,
    publishedVersion: c.publishedVersion,
    openRound: c.openRound,
    proposals: c.proposals.map(proposal),
    conflicts: conflicts.map((k, i) => ({ n: i + 1, proposals: k.proposals.map(proposal), text: k.text })),
    rounds,
    may: consolidationActions(ctx, actor, c, conflicts.length),
    /** Whether it may be published, and if not why (the one rule: domain `publishability`). */
    publication: publicationCheck(ctx, c),
  };
}
