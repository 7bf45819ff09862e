import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { forbidden } from '../../domain/errors.js';
import { markPersonal } from '../caching.js';
import type { Scheme } from '../scheme.js';

/**
 * The cookies' names: with the `__Host-` prefix when BASE_URL is https (the browser then insists
 * on Secure, Path=/ and no Domain, so no sibling host can plant or overwrite them), plain
 * otherwise — also behind an https proxy with an http BASE_URL, where the cookies are still
 * Secure but one name serves every request.
 */
export const cookieNames = (httpsSite: boolean) => ({
  session: httpsSite ? '__Host-ratify.sid' : 'ratify.sid',
  csrf: httpsSite ? '__Host-ratify.csrf' : 'ratify.csrf',
});

const NONCE = /^[A-Za-z0-9_-]{43}$/;
const SAFE = ['GET', 'HEAD', 'OPTIONS'];
const NONCE_MAX_AGE = 30 * 24 * 3_600_000;

/** One cookie's value from the Cookie header (no parser needed for one name). */
function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/**
 * CSRF protection that needs no server session: a signed double-submit token. The browser
 * holds a random value in an HttpOnly cookie (set the first time a form is shown); the form
 * carries HMAC(key, value + binding), the key derived from the session secret. The binding is
 * the session id once signed in (so a token dies with its session, and a new one is issued at
 * sign-in, when the id changes) and "anonymous" before. A post is refused (403 invalid_csrf)
 * unless its `_csrf` field (or X-CSRF-Token header) matches the token computed from its own
 * cookie — which another site can neither read nor forge without the key.
 */
export function csrfProtection(opts: { secret: string; scheme: Scheme }): RequestHandler {
  const key = createHmac('sha256', opts.secret).update('ratify csrf token v1').digest();
  const name = cookieNames(opts.scheme.httpsSite).csrf;
  const binding = (req: Request) => (req.user ? `session:${req.sessionID}` : 'anonymous');
  // A token is the same for every page of a session: made once (an HMAC is ~20 µs of a small
  // page's ~1 ms), kept for the sessions seen last (the map starts again when full).
  const made = new Map<string, string>();
  const sign = (nonce: string, req: Request) => {
    const of = `${nonce}|${binding(req)}`;
    let token = made.get(of);
    if (token === undefined) {
      token = createHmac('sha256', key).update(of).digest('hex');
      if (made.size >= 4096) made.clear();
      made.set(of, token);
    }
    return token;
  };

  return (req, res, next) => {
    const sent = readCookie(req, name);
    let nonce = sent && NONCE.test(sent) ? sent : undefined;
    // The token for this request's forms; the cookie is set only when a form needs it.
    res.locals.csrf = () => {
      // The token is made from this visitor's cookie: the page is theirs alone (never cached).
      markPersonal(res);
      if (!nonce) {
        nonce = randomBytes(32).toString('base64url');
        res.cookie(name, nonce, {
          httpOnly: true,
          sameSite: 'lax',
          secure: opts.scheme.secure(req),
          path: '/',
          maxAge: NONCE_MAX_AGE,
        });
      }
      return sign(nonce, req);
    };
    if (!SAFE.includes(req.method)) {
      const body = req.body as Record<string, unknown> | undefined;
      const given = typeof body?._csrf === 'string' ? body._csrf : req.get('x-csrf-token');
      const expected = sent && nonce ? Buffer.from(sign(nonce, req)) : null;
      const g = typeof given === 'string' ? Buffer.from(given) : null;
      const ok = !!expected && !!g && g.length === expected.length && timingSafeEqual(g, expected);
      if (!ok)
        return next(
          forbidden(
            'invalid_csrf',
            'This form has expired or did not come from Ratify. Go back, reload the page and try again.',
          ),
        );
    }
    if (req.user) res.locals.csrfToken = (res.locals.csrf as () => string)();
    next();
  };
}

/** The CSRF token for a page's forms (issues the browser's cookie when it has none). */
export const csrfToken = (res: Response): string => (res.locals.csrf as (() => string) | undefined)?.() ?? '';
