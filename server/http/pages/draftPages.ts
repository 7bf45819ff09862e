import { Router } from 'express';
import type { Ctx } from '../../services/context.js';
import { myDrafts } from '../../services/proposals/drafts.js';
import { awaitingItem, proposalItem } from '../presenters/proposalView.js';
import { signedInActor, takeNotice } from './formHelpers.js';
import { page } from './render.js';

/** How many entries each list of "My drafts" shows unless all are asked for. */
export const DRAFTS_SHOWN = 50;

/** "My drafts": the signed-in member's proposals, their groups' drafts, and the comments awaiting their reply. */
export function draftPages(ctx: Ctx): Router {
  const r = Router();

  // ── My drafts ─────────────────────────────────────────────────────────────
  r.get('/drafts', (req, res) => {
    const actor = signedInActor(req);
    // Each list shows its newest DRAFTS_SHOWN (a working group's drafts pile up over the years);
    // `?all=1` shows every one.
    const all = req.query.all === '1';
    const newest = <T>(list: T[]) => (all ? list : list.slice(0, DRAFTS_SHOWN)); // lists are newest first
    const { mine, groupDrafts, awaiting, awaitingCount } = myDrafts(ctx, actor, all ? Infinity : DRAFTS_SHOWN);
    page(res, 'drafts/index', {
      title: 'My drafts',
      notice: takeNotice(req),
      groupDrafts: newest(groupDrafts).map((p) => proposalItem(ctx, p)),
      groupDraftsCount: groupDrafts.length,
      mine: newest(mine).map((p) => proposalItem(ctx, p)),
      mineCount: mine.length,
      // Counted in full, made for the page only as far as it shows them.
      awaiting: newest(awaiting).map((t) => awaitingItem(ctx, t)),
      awaitingCount,
    });
  });

  return r;
}
