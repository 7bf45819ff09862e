import { Router, type Request, type Response } from 'express';
import QRCode from 'qrcode';
import { authorize } from '../../domain/policy.js';
import { DomainError, invalid } from '../../domain/errors.js';
import { clientOf } from '../log.js';
import type { Ctx } from '../../services/context.js';
import { getUser, publicUser } from '../../services/accounts/users.js';
import { changePassword } from '../../services/accounts/password.js';
import { setNotify } from '../../services/accounts/links.js';
import { createToken, listTokens, revokeToken } from '../../services/auth/tokens.js';
import { beginTotp, confirmTotp, disableTotp, mustEnrolTotp } from '../../services/auth/totp.js';
import type { LoginThrottle } from '../../services/auth/throttle.js';
import { done, field, onRefusal, takeNotice } from './formHelpers.js';
import { page } from './render.js';

/** My account: password, API tokens, second factor. */
export function accountPages(ctx: Ctx, throttle: LoginThrottle): Router {
  const r = Router();

  const show = (req: Request, res: Response, extra: Record<string, unknown> = {}) => {
    const actor = req.actor!;
    const user = getUser(ctx, actor.id);
    const notice = takeNotice(req);
    page(res, 'account/index', {
      title: 'My account',
      account: publicUser(user),
      notify: user.notify ?? 'immediate',
      groups: user.groups.map((g) => ctx.meta.get('groups', g)?.name ?? g),
      tokens: listTokens(ctx, user.id),
      newToken: null,
      error: null,
      notice,
      ...extra,
    });
  };

  /**
   * Refusals a person can fix are shown on the page they came from (`render`), with the right
   * status. Only "forbidden" goes to the error page: everything here is the person's own account.
   */
  const refusedOn =
    (render: (req: Request, res: Response, extra: Record<string, unknown>) => unknown) =>
    (req: Request, res: Response, fn: () => Promise<void>) =>
      onRefusal(res, fn, (e) => render(req, res, { error: e.message }), ['forbidden']);

  const orShow = refusedOn(show);

  /**
   * A step that checks the current password is throttled like the login form (someone holding
   * a session cookie must not be able to guess the password itself); a wrong one is audited.
   */
  const checkingPassword = async <T>(req: Request, fn: () => Promise<T>): Promise<T> => {
    // Reserved before the hash, so parallel posts get no more tries than the budget.
    const guess = throttle.beginAccountCheck('password', req.actor!.id);
    try {
      const out = await fn();
      guess.succeeded();
      return out;
    } catch (e) {
      if (e instanceof DomainError && e.code === 'bad_password') {
        guess.failed();
        await ctx.meta.write({
          actor: req.actor!.email,
          at: ctx.clock(),
          events: [{ action: 'login.failed', subject: `user/${req.actor!.email}` }],
          meta: clientOf(req),
        });
      } else guess.cancelled();
      throw e;
    }
  };

  r.use('/account', (req, _res, next) => {
    authorize(req.actor ?? null, 'account.use');
    next();
  });

  r.get('/account', (req, res) => show(req, res));

  r.post('/account/password', (req, res) =>
    orShow(req, res, async () => {
      if (field(req, 'next') !== field(req, 'confirm'))
        throw invalid('password_mismatch', 'The new password and its confirmation differ.');
      const epoch = await checkingPassword(req, () =>
        changePassword(ctx, req.actor!, field(req, 'current'), field(req, 'next')),
      );
      // Other sessions end; this one goes on under the new epoch.
      await new Promise<void>((resolve, reject) =>
        req.login({ ...getUser(ctx, req.actor!.id), sessionEpoch: epoch }, (err) => (err ? reject(err) : resolve())),
      );
      req.session.startedAt = ctx.clock().getTime();
      done(req, res, '/account', 'Your password was changed. Other sessions have been signed out.');
    }),
  );

  r.post('/account/notifications', (req, res) =>
    orShow(req, res, async () => {
      await setNotify(ctx, req.actor!, field(req, 'notify'));
      done(req, res, '/account#notifications', 'Your notification settings were saved.');
    }),
  );

  r.post('/account/tokens', (req, res) =>
    orShow(req, res, async () => {
      const user = getUser(ctx, req.actor!.id);
      if (mustEnrolTotp(ctx, user)) throw invalid('totp_required', 'Set up a second factor first.');
      const { token } = await createToken(ctx, req.actor!, user, field(req, 'label'), clientOf(req));
      res.status(201);
      show(req, res, { newToken: token });
    }),
  );

  r.post('/account/tokens/:id/revoke', (req, res) =>
    orShow(req, res, async () => {
      await revokeToken(ctx, req.actor!, Number(req.params.id));
      done(req, res, '/account', 'The token was revoked.');
    }),
  );

  const totpPage = async (req: Request, res: Response, extra: Record<string, unknown> = {}) => {
    const user = getUser(ctx, req.actor!.id);
    const pending = user.totp && !user.totp.enabled ? user.totp : null;
    const uri = pending
      ? `otpauth://totp/Ratify:${encodeURIComponent(user.email)}?secret=${pending.secret}&issuer=Ratify`
      : null;
    page(res, 'account/totp', {
      title: 'Second factor',
      enabled: !!user.totp?.enabled,
      required: mustEnrolTotp(ctx, user),
      secret: pending?.secret ?? null,
      qr: uri ? await QRCode.toDataURL(uri, { margin: 1, width: 220 }) : null,
      recovery: null,
      recoveryLeft: user.totp?.enabled ? user.totp.recovery.length : 0,
      error: null,
      ...extra,
    });
  };

  const orTotp = refusedOn(totpPage);

  r.get('/account/totp', (req, res) => totpPage(req, res));
  r.post('/account/totp/begin', (req, res) =>
    orTotp(req, res, async () => {
      await beginTotp(ctx, req.actor!, clientOf(req));
      res.redirect(303, '/account/totp');
    }),
  );
  r.post('/account/totp/confirm', (req, res) =>
    orTotp(req, res, async () => {
      const recovery = await confirmTotp(ctx, req.actor!, field(req, 'code'), clientOf(req));
      await totpPage(req, res, { recovery });
    }),
  );
  r.post('/account/totp/disable', (req, res) =>
    orTotp(req, res, async () => {
      await checkingPassword(req, () => disableTotp(ctx, req.actor!, field(req, 'password'), clientOf(req)));
      done(req, res, '/account', 'The second factor is off.');
    }),
  );

  return r;
}
