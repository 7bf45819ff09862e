import { Router, type Request, type Response } from 'express';
import { DomainError } from '../../domain/errors.js';
import { clientOf } from '../log.js';
import type { Ctx } from '../../services/context.js';
import { getUser } from '../../services/accounts/users.js';
import { checkCredentials, recordLogin, recordLogout } from '../../services/auth/authenticate.js';
import { requestPasswordReset, setPasswordByLink, usableLink } from '../../services/accounts/links.js';
import { checkSecondFactor, mustEnrolTotp } from '../../services/auth/totp.js';
import type { LoginThrottle } from '../../services/auth/throttle.js';
import type { UserRecord } from '../../store/meta/schema.js';
import { STATUS } from '../errors.js';
import { csrfToken } from '../middleware/csrf.js';
import { field, onRefusal } from './formHelpers.js';
import { page } from './render.js';

/** Only a local path may be a place to return to after sign-in (no `//host`, no scheme). */
export const safeNext = (v: unknown) =>
  typeof v === 'string' && /^\/(?![/\\])[^\s]*$/.test(v) && v.length < 500 ? v : '/';

/** Sign in (password, then the one-time code where the account has one) and sign out. */
export function authPages(ctx: Ctx, throttle: LoginThrottle): Router {
  const r = Router();

  const loginForm = (req: Request, res: Response, extra: Record<string, unknown> = {}) =>
    page(res, 'auth/login', {
      title: 'Sign in',
      csrfToken: csrfToken(res),
      next: safeNext(req.query.next ?? field(req, 'next')),
      email: '',
      error: null,
      expired: req.query.expired === '1',
      passwordSet: req.query.password === 'set',
      ...extra,
    });

  /** Finish signing in: a new session id (passport regenerates it), a fresh CSRF token, the audit line. */
  const complete = (req: Request, res: Response, user: UserRecord, next: string) =>
    new Promise<void>((resolve, reject) => {
      req.login(user, async (err) => {
        if (err) return reject(err);
        try {
          req.session.startedAt = ctx.clock().getTime();
          await recordLogin(ctx, user, clientOf(req));
          res.redirect(303, mustEnrolTotp(ctx, user) ? '/account/totp' : next);
          resolve();
        } catch (e) {
          reject(e);
        }
      });
    });

  r.get('/login', (req, res) => {
    if (req.user) return res.redirect(303, safeNext(req.query.next));
    loginForm(req, res);
  });

  r.post('/login', async (req, res) => {
    const email = field(req, 'email');
    const next = safeNext(field(req, 'next'));
    let user: UserRecord;
    try {
      user = await checkCredentials(ctx, throttle, {
        email,
        password: field(req, 'password'),
        ip: req.ip ?? '',
        via: 'form',
        meta: clientOf(req),
      });
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      res.status(STATUS[e.kind]);
      if (e.data.retryAfter) res.set('Retry-After', String(e.data.retryAfter));
      return loginForm(req, res, { email, next, error: e.message });
    }
    if (user.totp?.enabled) {
      await new Promise<void>((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
      req.session.pendingLogin = { userId: user.id, at: ctx.clock().getTime(), next };
      return res.redirect(303, '/login/code');
    }
    await complete(req, res, user, next);
  });

  const pending = (req: Request) => {
    // No session (a GET without its cookie: middleware/session.ts): nothing pending.
    const p = req.session?.pendingLogin;
    return p && ctx.clock().getTime() - p.at < 5 * 60_000 ? p : null;
  };

  r.get('/login/code', (req, res) => {
    if (!pending(req)) return res.redirect(303, '/login');
    page(res, 'auth/code', { title: 'One-time code', csrfToken: csrfToken(res), error: null });
  });

  r.post('/login/code', async (req, res) => {
    const p = pending(req);
    if (!p) return res.redirect(303, '/login');
    // Reserved before the check, given back on success: parallel posts get no more tries.
    const guess = throttle.beginAccountCheck('code', p.userId);
    let right: boolean;
    try {
      right = await checkSecondFactor(ctx, p.userId, field(req, 'code'), clientOf(req));
    } catch (e) {
      guess.cancelled();
      throw e;
    }
    if (!right) {
      guess.failed();
      res.status(401);
      return page(res, 'auth/code', {
        title: 'One-time code',
        csrfToken: csrfToken(res),
        error: 'That code is not right. Use the current code from your app, or one of your recovery codes.',
      });
    }
    guess.succeeded();
    delete req.session.pendingLogin;
    const user = getUser(ctx, p.userId);
    if (user.disabled) return res.redirect(303, '/login');
    await complete(req, res, user, p.next);
  });

  // Forgot password: the same answer whether or not the address has an account.
  r.get('/password/forgot', (_req, res) => {
    page(res, 'auth/forgot', { title: 'Forgot your password?', csrfToken: csrfToken(res), sent: false, email: '' });
  });

  r.post('/password/forgot', async (req, res) => {
    const email = field(req, 'email').trim().slice(0, 320);
    // Its own budget (per address and per IP, an hour): never counted against signing in.
    throttle.takeReset(email, req.ip ?? '');
    await requestPasswordReset(ctx, email);
    page(res, 'auth/forgot', { title: 'Forgot your password?', csrfToken: csrfToken(res), sent: true, email });
  });

  const setForm = (_req: Request, res: Response, token: string, error: string | null) =>
    page(res, 'auth/set-password', {
      title: 'Choose your password',
      csrfToken: csrfToken(res),
      token,
      valid: !!usableLink(ctx, token),
      error,
    });

  r.get('/password/set', (req, res) =>
    setForm(req, res, typeof req.query.token === 'string' ? req.query.token : '', null),
  );

  // Every refusal (a spent or unknown link too) is shown on the form: it says what to do next.
  r.post('/password/set', async (req, res) => {
    const token = field(req, 'token');
    await onRefusal(
      res,
      async () => {
        if (field(req, 'password') !== field(req, 'confirm'))
          throw new DomainError('invalid', 'password_mismatch', 'The two passwords differ.');
        await setPasswordByLink(ctx, token, field(req, 'password'));
        res.redirect(303, '/login?password=set');
      },
      (e) => setForm(req, res, token, e.message),
      [],
    );
  });

  r.post('/logout', async (req, res) => {
    const who = req.user?.email;
    await new Promise<void>((resolve, reject) => req.logout((err) => (err ? reject(err) : resolve())));
    if (who) await recordLogout(ctx, who, clientOf(req));
    res.redirect(303, '/');
  });

  return r;
}
