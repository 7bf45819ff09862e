import type { RequestHandler } from 'express';
import { unauthenticated } from '../../domain/errors.js';

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * PRODUCT.md rule 9: a request without credentials that tries to change anything gets 401 —
 * before anything else is looked at, so it learns nothing about what exists. `open` lists the
 * write routes that are how one signs in.
 */
export function requireSignInForWrites(open: RegExp): RequestHandler {
  return (req, _res, next) => {
    if (WRITES.has(req.method) && !req.actor && !open.test(req.path)) return next(unauthenticated());
    next();
  };
}
