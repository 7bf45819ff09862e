import type { ConsolidationRecord } from '../../store/meta/schema.js';
import type { Ctx } from '../context.js';
import type { Commentable } from '../proposals/comments.js';
import { consolidationSubject } from './consolidations.js';

export const consolidationCommentable = (ctx: Ctx, c: ConsolidationRecord): Commentable => ({
  ref: { type: 'consolidation', id: c.id },
  state: c.state,
  revisions: c.revisions,
  policy: consolidationSubject(ctx, c),
});
