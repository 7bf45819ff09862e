import type { Request, Router } from 'express';
import type { Actor } from '../../domain/actor.js';
import { absent } from '../../domain/errors.js';
import type { Ctx } from '../../services/context.js';
import { addComment, placedCommentsOf, setResolved, type Commentable } from '../../services/proposals/comments.js';
import { commentJson } from '../presenters/proposals.js';
import { parse, parseBody } from '../validate.js';
import { CommentBody, CommentIdParams, IdParams } from '../schemas/index.js';

/**
 * The comment routes shared by proposals and consolidations: list (anchors followed to the
 * current revision), add, resolve, reopen. `load` finds the subject the actor may see.
 */
export function commentRoutes(
  r: Router,
  ctx: Ctx,
  base: string,
  load: (actor: Actor | null, id: number) => Commentable,
) {
  const idOf = (req: Request) => {
    const p = IdParams.safeParse(req.params);
    if (!p.success) throw absent(base === '/proposals' ? 'proposal' : 'consolidation');
    return p.data.id;
  };

  r.get(`${base}/:id/comments`, async (req, res) => {
    const on = load(req.actor ?? null, idOf(req));
    const placed = await placedCommentsOf(ctx, on.ref, on.revisions);
    res.json(placed.map((c) => commentJson(ctx, c)));
  });

  r.post(`${base}/:id/comments`, async (req, res) => {
    const on = load(req.actor ?? null, idOf(req));
    const c = await addComment(ctx, req.actor ?? null, on, parseBody(CommentBody, req));
    res.status(201).json(commentJson(ctx, c));
  });

  for (const [verb, resolved] of [
    ['resolve', true],
    ['reopen', false],
  ] as const) {
    r.post(`${base}/:id/comments/:cid/${verb}`, async (req, res) => {
      const ids = parse(CommentIdParams, req.params, 'invalid_id');
      const on = load(req.actor ?? null, ids.id);
      res.json(commentJson(ctx, await setResolved(ctx, req.actor ?? null, on, ids.cid, resolved)));
    });
  }
}
