import { Router } from 'express';
import type { Ctx } from '../../services/context.js';
import { myDrafts, prepareDrafts } from '../../services/proposals/drafts.js';
import { awaitingItem, proposalItem } from '../presenters/proposalView.js';
import { signedInActor, takeNotice } from './formHelpers.js';
import { page } from './render.js';
import { FragmentCache } from '../render/fragments.js';
import { publicStateVersion } from '../../services/readDocuments.js';

/** How many entries each list of "My drafts" shows unless all are asked for. */
export const DRAFTS_SHOWN = 50;

/** "My drafts": the signed-in member's proposals, their groups' drafts, and the comments awaiting their reply. */
export function draftPages(ctx: Ctx): Router {
  const r = Router();

  // ── My drafts ─────────────────────────────────────────────────────────────
  // Each reader's lists, kept until the next write (render/fragments.ts): they are the whole
  // page but for its frame, and the same on every visit in between.
  const fragments = new FragmentCache();

  r.get('/drafts', async (req, res) => {
    const actor = signedInActor(req);
    // Each list shows its newest DRAFTS_SHOWN (a working group's drafts pile up over the years);
    // `?all=1` shows every one.
    const all = req.query.all === '1';
    const limit = all ? Infinity : DRAFTS_SHOWN;
    // The proposals' open threads first, a slice at a time (the first view of a group after a start).
    await prepareDrafts(ctx, actor);
    const newest = <T>(list: T[]) => (all ? list : list.slice(0, DRAFTS_SHOWN)); // lists are newest first
    const kept = fragments.forPage(() => String(publicStateVersion(ctx)), '');
    page(res, 'drafts/index', {
      title: 'My drafts',
      notice: takeNotice(req),
      fragment: kept.fragment,
      listsKey: `drafts ${actor.id} ${all}`,
      // Made only when the lists are not kept.
      lists: () => {
        const { mine, groupDrafts, awaiting, awaitingCount } = myDrafts(ctx, actor, limit);
        return {
          groupDrafts: newest(groupDrafts).map((p) => proposalItem(ctx, p)),
          groupDraftsCount: groupDrafts.length,
          mine: newest(mine).map((p) => proposalItem(ctx, p)),
          mineCount: mine.length,
          // Counted in full, made for the page only as far as it shows them.
          awaiting: newest(awaiting).map((t) => awaitingItem(ctx, t)),
          awaitingCount,
        };
      },
    });
  });

  return r;
}
