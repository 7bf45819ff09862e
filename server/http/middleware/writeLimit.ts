import type { RequestHandler } from 'express';
import type { WriteLimiter } from '../../services/auth/throttle.js';

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Writes (comments, ballots, edits…) per signed-in account per minute; reads are never limited. */
export function writeLimit(limiter: WriteLimiter): RequestHandler {
  return (req, _res, next) => {
    if (WRITES.has(req.method) && req.actor) limiter.take(req.actor.id);
    next();
  };
}
