import type { ProposalRecord } from '../../store/meta/schema.js';
import type { Ctx } from '../context.js';
import { proposalSubject } from './access.js';
import type { Commentable } from './comments.js';

export const proposalCommentable = (ctx: Ctx, p: ProposalRecord): Commentable => ({
  ref: { type: 'proposal', id: p.id },
  state: p.state,
  revisions: p.revisions,
  policy: proposalSubject(ctx, p),
  roundOpen: p.openRound !== null,
});
