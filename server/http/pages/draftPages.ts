import { Router } from 'express';
import type { Ctx } from '../../services/context.js';
import { proposalSubject, visibleProposals } from '../../services/proposals/access.js';
import { commentsOf } from '../../services/proposals/comments.js';
import type { ProposalRecord } from '../../store/meta/schema.js';
import { awaitingReply, proposalItem } from '../presenters/proposalView.js';
import { signedInActor, takeNotice } from './formHelpers.js';
import { page } from './render.js';

/** "My drafts": the signed-in member's proposals, their groups' drafts, and the comments awaiting their reply. */
export function draftPages(ctx: Ctx): Router {
  const r = Router();

  // ── My drafts ─────────────────────────────────────────────────────────────
  r.get('/drafts', (req, res) => {
    const actor = signedInActor(req);
    const visible = visibleProposals(ctx, actor);
    const mineOrGroups = (p: ProposalRecord) => {
      const s = proposalSubject(ctx, p);
      return s.kind === 'proposal' && actor.groups.includes(s.group);
    };
    const awaiting = visible
      .filter((p) => p.state !== 'withdrawn' && (p.authorId === actor.id || mineOrGroups(p)))
      .flatMap((p) => awaitingReply(ctx, actor, p, commentsOf(ctx, { type: 'proposal', id: p.id })));
    page(res, 'drafts/index', {
      title: 'My drafts',
      notice: takeNotice(req),
      groupDrafts: visible.filter((p) => p.state === 'draft' && mineOrGroups(p)).map((p) => proposalItem(ctx, p)),
      mine: visible.filter((p) => p.authorId === actor.id).map((p) => proposalItem(ctx, p)),
      awaiting,
    });
  });

  return r;
}
