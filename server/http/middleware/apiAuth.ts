import type { RequestHandler } from 'express';
import { DomainError, forbidden } from '../../domain/errors.js';
import type { Ctx } from '../../services/context.js';
import { actorOf } from '../../services/accounts/users.js';
import { userForToken } from '../../services/auth/tokens.js';
import { mustEnrolTotp } from '../../services/auth/totp.js';

/**
 * The API authenticates by `Authorization: Bearer <token>` only and ignores cookies (so it
 * needs no CSRF token). No header: the public. A header that is not a valid, live token: 401.
 * A token of someone whose role requires a second factor they have not set up is refused
 * (403 `totp_required`) on every call, tokens made before the requirement included: the API
 * offers no way to enrol, so nothing is exempt.
 */
export function apiAuth(ctx: Ctx): RequestHandler {
  return (req, _res, next) => {
    const h = req.get('authorization');
    if (!h) {
      req.actor = null;
      return next();
    }
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    const user = m ? userForToken(ctx, m[1]) : null;
    if (!user)
      return next(
        new DomainError(
          'unauthenticated',
          'invalid_token',
          'The API token is missing, wrong, revoked, or its account is disabled.',
        ),
      );
    if (mustEnrolTotp(ctx, user))
      return next(
        forbidden(
          'totp_required',
          'Your role requires a second factor: set one up on your account page, then use this token again.',
        ),
      );
    req.actor = actorOf(user);
    next();
  };
}
