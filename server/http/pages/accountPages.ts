import { MAIL_KIND_WORDS } from '../../domain/mail.js';
import { MAIL_KINDS } from '../../domain/records.js';
import { Router, type Request, type Response } from 'express';
import { renderSVG } from 'uqr';
import { authorize } from '../../domain/policy.js';
import { DomainError, invalid } from '../../domain/errors.js';
import { clientOf } from '../log.js';
import type { Ctx } from '../../services/context.js';
import { getUser, publicUser } from '../../services/accounts/users.js';
import { recordWrongPassword } from '../../services/auth/authenticate.js';
import { groupName } from '../../services/groups.js';
import { changePassword } from '../../services/accounts/password.js';
import { setNotify } from '../../services/accounts/links.js';
import { createToken, listTokens, revokeToken } from '../../services/auth/tokens.js';
import { beginTotp, confirmTotp, disableTotp, mustEnrolTotp } from '../../services/auth/totp.js';
import type { LoginThrottle } from '../../services/auth/throttle.js';
import { done, field, fromForm, onRefusal, signedInActor, takeNotice } from './formHelpers.js';
import { NotifyBody } from '../schemas/index.js';
import { page } from './render.js';

/** My account: password, API tokens, second factor. */
export function accountPages(ctx: Ctx, throttle: LoginThrottle): Router {
  const r = Router();

  const show = (req: Request, res: Response, extra: Record<string, unknown> = {}) => {
    const user = getUser(ctx, signedInActor(req).id);
    const notice = takeNotice(req);
    page(res, 'account/index', {
      title: 'My account',
      account: publicUser(user),
      notify: user.notify ?? 'immediate',
      kinds: MAIL_KINDS.map((k) => ({ kind: k, words: MAIL_KIND_WORDS[k], pref: user.notifyKinds?.[k] ?? 'default' })),
      groups: user.groups.map((g) => groupName(ctx, g)),
      tokens: listTokens(ctx, user.id),
      newToken: null,
      error: null,
      errorCode: null,
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
      onRefusal(res, fn, (e) => render(req, res, { error: e.message, errorCode: e.code }), ['forbidden']);

  const orShow = refusedOn(show);

  /**
   * A step that checks the current password is throttled like the login form (someone holding
   * a session cookie must not be able to guess the password itself); a wrong one is audited.
   */
  const checkingPassword = async <T>(req: Request, fn: () => Promise<T>): Promise<T> => {
    const actor = signedInActor(req);
    // Reserved before the hash, so parallel posts get no more tries than the budget.
    const guess = throttle.beginAccountCheck('password', actor.id);
    try {
      const out = await fn();
      guess.succeeded();
      return out;
    } catch (e) {
      if (e instanceof DomainError && e.code === 'bad_password') {
        guess.failed();
        await recordWrongPassword(ctx, actor.email, clientOf(req));
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
      const actor = signedInActor(req);
      const epoch = await checkingPassword(req, () =>
        changePassword(ctx, actor, field(req, 'current'), field(req, 'next')),
      );
      // Other sessions end; this one goes on under the new epoch.
      await new Promise<void>((resolve, reject) =>
        req.login({ ...getUser(ctx, actor.id), sessionEpoch: epoch }, (err) => (err ? reject(err) : resolve())),
      );
      req.session.startedAt = ctx.clock().getTime();
      done(req, res, '/account', 'Your password was changed. Other sessions have been signed out.');
    }),
  );

  r.post('/account/notifications', (req, res) =>
    orShow(req, res, async () => {
      const kinds = Object.fromEntries(MAIL_KINDS.map((k) => [k, field(req, `kind-${k}`) || 'default']));
      const input = fromForm(NotifyBody, { notify: field(req, 'notify'), kinds });
      await setNotify(ctx, signedInActor(req), input.notify, input.kinds);
      done(req, res, '/account#notifications', 'Your notification settings were saved.');
    }),
  );

  r.post('/account/tokens', (req, res) =>
    orShow(req, res, async () => {
      const actor = signedInActor(req);
      const user = getUser(ctx, actor.id);
      if (mustEnrolTotp(ctx, user)) throw invalid('totp_required', 'Set up a second factor first.');
      const { token } = await createToken(ctx, actor, user, field(req, 'label'), clientOf(req));
      res.status(201);
      show(req, res, { newToken: token });
    }),
  );

  r.post('/account/tokens/:id/revoke', (req, res) =>
    orShow(req, res, async () => {
      await revokeToken(ctx, signedInActor(req), Number(req.params.id));
      done(req, res, '/account', 'The token was revoked.');
    }),
  );

  const totpPage = async (req: Request, res: Response, extra: Record<string, unknown> = {}) => {
    const user = getUser(ctx, signedInActor(req).id);
    const pending = user.totp && !user.totp.enabled ? user.totp : null;
    const uri = pending
      ? `otpauth://totp/Ratify:${encodeURIComponent(user.email)}?secret=${pending.secret}&issuer=Ratify`
      : null;
    page(res, 'account/totp', {
      title: 'Second factor',
      enabled: !!user.totp?.enabled,
      required: mustEnrolTotp(ctx, user),
      secret: pending?.secret ?? null,
      // An SVG drawn here (one quiet module around it), shown as an image the size the template gives.
      qr: uri ? `data:image/svg+xml;base64,${Buffer.from(renderSVG(uri, { border: 1 })).toString('base64')}` : null,
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
      await beginTotp(ctx, signedInActor(req), clientOf(req));
      res.redirect(303, '/account/totp');
    }),
  );
  r.post('/account/totp/confirm', (req, res) =>
    orTotp(req, res, async () => {
      const recovery = await confirmTotp(ctx, signedInActor(req), field(req, 'code'), clientOf(req));
      await totpPage(req, res, { recovery });
    }),
  );
  r.post('/account/totp/disable', (req, res) =>
    orTotp(req, res, async () => {
      await checkingPassword(req, () => disableTotp(ctx, signedInActor(req), field(req, 'password'), clientOf(req)));
      done(req, res, '/account', 'The second factor is off.');
    }),
  );

  return r;
}
