import type { Express, Request, RequestHandler } from 'express';
import { randomFillSync } from 'node:crypto';
import session from 'express-session';
import { Passport } from 'passport';
import { forbidden } from '../../domain/errors.js';
import type { Ctx } from '../../services/context.js';
import { actorOf } from '../../services/accounts/users.js';
import { sessionUser } from '../../services/auth/authenticate.js';
import { mustEnrolTotp } from '../../services/auth/totp.js';
import { cookieNames } from './csrf.js';
import type { Scheme } from '../scheme.js';

export const IDLE_MS = 12 * 3_600_000;
export const ABSOLUTE_MS = 7 * 24 * 3_600_000;

export interface SessionOptions {
  secret: string;
  store: session.Store;
  /** Whether a request is served over https (cookie names and the Secure flag follow it). */
  scheme: Scheme;
}

/**
 * Sessions for the pages: express-session (a store under DATA_DIR), passport for who is signed
 * in — an instance of its own for each app, never passport's process-wide default (whose
 * serializers, registered by every app, would answer with the first app's store for all of
 * them). A session is stored only once there is something to keep — a sign-in, or a password
 * waiting for its one-time code — never for an anonymous visitor (CSRF protection needs no
 * session: csrf.ts). Cookies: HttpOnly, SameSite=Lax; Secure on every answer served over https
 * (`scheme.ts`: BASE_URL https, or a trusted proxy says https), `__Host-` prefixed when BASE_URL is https;
 * idle timeout 12 h (rolling), absolute lifetime 7 days; a session ends when its account is
 * disabled or its password changes (the epoch moves).
 */
export function sessionMiddleware(app: Express, ctx: Ctx, opts: SessionOptions): void {
  const cookieName = cookieNames(opts.scheme.httpsSite).session;
  const sessions = session({
    name: cookieName,
    secret: opts.secret,
    store: opts.store,
    resave: false,
    saveUninitialized: false,
    rolling: true,
    genid: sessionIds(),
    cookie: (req) => ({ httpOnly: true, sameSite: 'lax', secure: opts.scheme.secure(req), maxAge: IDLE_MS }),
  });

  const passport = new Passport();
  passport.serializeUser((user, done) => done(null, { id: user.id, epoch: user.sessionEpoch }));
  passport.deserializeUser((stamp: { id: number; epoch: number }, done) => {
    done(null, sessionUser(ctx, stamp));
  });
  const signedIn = passport.session();

  // The absolute lifetime, and who is signed in as the rules see them.
  const who: RequestHandler = (req, res, next) => {
    if (req.user && (req.session.startedAt ?? 0) + ABSOLUTE_MS < ctx.clock().getTime()) {
      return req.session.destroy(() => {
        res.clearCookie(cookieName, {
          path: '/',
          secure: opts.scheme.secure(req),
          httpOnly: true,
          sameSite: 'lax',
        });
        res.redirect(303, '/login?expired=1');
      });
    }
    req.actor = req.user ? actorOf(req.user) : null;
    res.locals.user = req.actor;
    res.locals.signInHref = signInHref(req);
    next();
  };

  // A page read without a session cookie (a reader of the published texts, a feed reader, a
  // crawler) has no session to load and none would be kept: nothing a GET does for someone not
  // signed in is stored in one (a notice is left by a form's answer, which makes the session).
  // It skips the three steps (a new session object, its hash twice, passport's strategy: ~12 % of
  // a published page's CPU) and has no `req.session`.
  const cookie = `${cookieName}=`;
  app.use((req, res, next) => {
    if ((req.method === 'GET' || req.method === 'HEAD') && !req.headers.cookie?.includes(cookie)) {
      req.actor = null;
      res.locals.user = null;
      // Worked out when a page is made, not for one sent as kept (pageCache.ts).
      Object.defineProperty(res.locals, 'signInHref', {
        get: () => signInHref(req),
        enumerable: true,
        configurable: true,
      });
      return next();
    }
    sessions(req, res, (e?: unknown) => {
      if (e) return next(e);
      signedIn(req, res, (e2?: unknown) => (e2 ? next(e2) : who(req, res, next)));
    });
  });
}

/**
 * Session ids as express-session makes them (24 random bytes, base64url), drawn from a pool of
 * random bytes refilled 4 KiB at a time. express-session makes an id for every request that
 * comes without a session it can load (a stale cookie's too), and one call for random bytes
 * each was ~5 % of what a kept public page cost. Each id's bytes are used once.
 */
function sessionIds(): () => string {
  const pool = Buffer.alloc(4096);
  let at = pool.length;
  return () => {
    if (at + 24 > pool.length) {
      randomFillSync(pool);
      at = 0;
    }
    const id = pool.toString('base64url', at, at + 24);
    at += 24;
    return id;
  };
}

/** Where the site requires a second factor for a role, a signed-in holder must set one up before anything else. */
export function requireTotpEnrolment(ctx: Ctx): RequestHandler {
  const allowed = /^\/(?:account\/totp(?:\/|$)|logout$|login(?:\/code)?$|assets\/)/;
  return (req, res, next) => {
    if (req.user && mustEnrolTotp(ctx, req.user) && !allowed.test(req.path)) {
      if (req.method === 'GET') return res.redirect(303, '/account/totp');
      return next(forbidden('totp_required', 'Set up a second factor first (Account → Second factor).'));
    }
    next();
  };
}

/** Pages whose "Sign in" must not come back to them (or come back to where they already say). */
const NOT_A_DESTINATION = /^\/(?:login|logout|password\/|unsubscribe\/|assets\/)/;

/**
 * Where a "Sign in" link on this page goes: the sign-in form, coming back to this page after
 * (a GET of a page of the site; `/` needs no `next`). On the sign-in page itself, the `next` it
 * was given is kept.
 */
export function signInHref(req: Request): string {
  const url = req.originalUrl;
  if (req.path === '/login') {
    const kept = typeof req.query.next === 'string' ? req.query.next : '';
    return /^\/(?![/\\])/.test(kept) && kept !== '/' ? `/login?next=${encodeURIComponent(kept)}` : '/login';
  }
  if (req.method !== 'GET' || url === '/' || !/^\/(?![/\\])/.test(url) || NOT_A_DESTINATION.test(req.path))
    return '/login';
  return `/login?next=${encodeURIComponent(url)}`;
}
