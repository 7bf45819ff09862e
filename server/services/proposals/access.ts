import type { Actor } from '../../domain/actor.js';
import { absent } from '../../domain/errors.js';
import { authorize, can, canSee, type Action, type Subject } from '../../domain/policy.js';
import type { ProposalRecord } from '../../store/meta/schema.js';
import { documentStateKey } from '../../store/meta/indexes.js';
import type { Ctx } from '../context.js';

/** The policy's view of a proposal (its owning group is the document's). */
export function proposalSubject(ctx: Ctx, p: ProposalRecord): Subject {
  const group = ctx.meta.get('documents', p.document)?.group ?? '';
  return { kind: 'proposal', group, state: p.state, authorId: p.authorId, wasShared: p.wasShared };
}

/** Load a proposal the actor may see (404 otherwise — also for ids that do not exist). */
export function loadProposal(ctx: Ctx, actor: Actor | null, id: number): ProposalRecord {
  const p = Number.isInteger(id) && id > 0 ? ctx.meta.get('proposals', id) : undefined;
  if (!p || !canSee(actor, proposalSubject(ctx, p))) throw absent('proposal');
  return p;
}

/**
 * A proposal by id if the actor may see it, else undefined — the same as for an id that does
 * not exist (where a consolidation or a round names its proposals, their titles and states).
 */
export function findProposal(ctx: Ctx, actor: Actor | null, id: number): ProposalRecord | undefined {
  const p = ctx.meta.get('proposals', id);
  return p && canSee(actor, proposalSubject(ctx, p)) ? p : undefined;
}

/** Load, then check the action: 404 if not visible, 401 without sign-in, 403 if visible but not allowed. */
export function loadProposalFor(ctx: Ctx, actor: Actor | null, id: number, action: Action): ProposalRecord {
  const p = Number.isInteger(id) && id > 0 ? ctx.meta.get('proposals', id) : undefined;
  // Signed in but not allowed to see it: the same answer as for an id that does not exist.
  if (!p || (actor && !canSee(actor, proposalSubject(ctx, p)))) throw absent('proposal');
  authorize(actor, action, proposalSubject(ctx, p), 'proposal');
  return p;
}

export const mayDo = (ctx: Ctx, actor: Actor | null, action: Action, p: ProposalRecord) =>
  can(actor, action, proposalSubject(ctx, p));

/** The proposals the actor may see, newest first (optionally of one document, and then optionally in one state). */
export function visibleProposals(
  ctx: Ctx,
  actor: Actor | null,
  document?: string,
  state?: ProposalRecord['state'],
): ProposalRecord[] {
  const found = !document
    ? // Whole-table: the list of every proposal, all documents (GET /proposals, the proposals page).
      ctx.meta.all('proposals')
    : state
      ? ctx.meta.by('proposals', 'documentState', documentStateKey(document, state))
      : ctx.meta.by('proposals', 'document', document);
  return found.filter((p) => canSee(actor, proposalSubject(ctx, p))).sort((a, b) => b.id - a.id);
}
