import type { RequestHandler } from 'express';
import type { Ctx } from '../../services/context.js';
import { roundsAwaiting } from '../../services/rounds/ballots.js';

/**
 * The header's "1 vote open — you have not voted" (views/partials/top.ejs): for a signed-in
 * member, the open rounds they are asked to vote in and have not, on every page they read.
 * Pages for a signed-in visitor are personal (never cached), so the banner is always current.
 */
export function votesAwaiting(ctx: Ctx): RequestHandler {
  return (req, res, next) => {
    if (req.method === 'GET' && req.actor) {
      res.locals.votesAwaiting = roundsAwaiting(ctx, req.actor).map((r) => ({ id: r.id, closesAt: r.closesAt }));
    }
    next();
  };
}
