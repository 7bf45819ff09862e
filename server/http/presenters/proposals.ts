import type { Ctx } from '../../services/context.js';
import { userName } from '../../services/accounts/users.js';
import type { PlacedComment } from '../../services/proposals/comments.js';
import type { CommentRecord, ProposalRecord } from '../../store/meta/schema.js';

const nameOf = (ctx: Ctx, id: number) => userName(ctx, id);

export const proposalSummary = (p: ProposalRecord) => ({
  id: p.id,
  document: p.document,
  title: p.title,
  state: p.state,
  base: p.base,
  head: p.head,
});

export const proposalFull = (ctx: Ctx, p: ProposalRecord, text: string) => ({
  id: p.id,
  document: p.document,
  title: p.title,
  rationale: p.rationale,
  author: nameOf(ctx, p.authorId),
  state: p.state,
  base: p.base,
  head: p.head,
  revisions: p.revisions,
  openRound: p.openRound,
  createdAt: p.createdAt,
  updatedAt: p.updatedAt,
  text,
});

export const commentJson = (ctx: Ctx, c: CommentRecord | PlacedComment) => ({
  id: c.id,
  author: nameOf(ctx, c.authorId),
  body: c.body,
  anchor: c.anchor
    ? { quote: c.anchor.quote, revision: c.anchor.revision, outdated: 'outdated' in c ? c.outdated : false }
    : null,
  createdAt: c.createdAt,
  replyTo: c.replyTo,
  resolved: c.resolved,
  /** The words suggested for the passage ('' deletes it), or null; `appliedIn`: the revision that applied it. */
  suggestion: c.suggestion ?? null,
  appliedIn: c.appliedIn ?? null,
});
