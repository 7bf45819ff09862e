import { Router } from 'express';
import { forbidden, unauthenticated } from '../../domain/errors.js';
import { clientOf } from '../log.js';
import type { Ctx } from '../../services/context.js';
import { openAuditLog } from '../../services/audit.js';
import { checkCredentials } from '../../services/auth/authenticate.js';
import { createToken } from '../../services/auth/tokens.js';
import { actorOf } from '../../services/accounts/users.js';
import { checkSecondFactor, mustEnrolTotp } from '../../services/auth/totp.js';
import type { LoginThrottle } from '../../services/auth/throttle.js';
import { parseBody, parseQuery } from '../validate.js';
import { AuditQuery, TokenBody } from '../schemas/index.js';

/** Who am I, the audit log, and tokens made with a password (API.md "Self and audit"). */
export function accountApi(ctx: Ctx, throttle: LoginThrottle): Router {
  const r = Router();

  r.get('/me', (req, res) => {
    if (!req.actor) throw unauthenticated('Send an API token: Authorization: Bearer <token>.');
    const { email, name, roles, groups } = req.actor;
    res.json({ email, name, roles, groups });
  });

  r.get('/audit', async (req, res) => {
    // Opened (403 / 401) before the query is checked: who may not read the log learns nothing more.
    const page = openAuditLog(ctx, req.actor ?? null);
    const { limit, before } = parseQuery(AuditQuery, req, 'invalid_limit');
    res.json(
      (await page(limit, before)).map(({ seq, at, actor, action, subject, meta }) => ({
        seq,
        at,
        actor,
        action,
        subject,
        ...(meta ? { meta: { ip: meta.ip, ua: meta.ua } } : {}),
      })),
    );
  });

  r.post('/tokens', async (req, res) => {
    const body = parseBody(TokenBody, req);
    const user = await checkCredentials(ctx, throttle, {
      email: body.email,
      password: body.password,
      ip: req.ip ?? '',
      via: 'api',
      meta: clientOf(req),
    });
    if (user.totp?.enabled) {
      // The same throttle as the form's code step: the right password must not open unlimited code guessing.
      // Reserved before the check, given back on success, so parallel requests get no more tries.
      if (!body.code)
        throw unauthenticated('This account has a second factor: send the current one-time code as "code".');
      const guess = throttle.beginAccountCheck('code', user.id);
      let right: boolean;
      try {
        right = await checkSecondFactor(ctx, user.id, body.code, clientOf(req));
      } catch (e) {
        guess.cancelled();
        throw e;
      }
      if (!right) {
        guess.failed();
        throw unauthenticated('This account has a second factor: send the current one-time code as "code".');
      }
      guess.succeeded();
    }
    if (mustEnrolTotp(ctx, user))
      throw forbidden('totp_required', 'Set up a second factor on your account page before making tokens.');
    // The person proved who they are with their password (and code): they make their own token.
    const { token } = await createToken(ctx, actorOf(user), user, body.label, clientOf(req));
    res.status(201).json({ token });
  });

  return r;
}
