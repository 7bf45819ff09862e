import { Router } from 'express';
import { z } from 'zod';
import { authorize } from '../../domain/policy.js';
import { forbidden, unauthenticated } from '../../domain/errors.js';
import { clientOf } from '../log.js';
import type { Ctx } from '../../services/context.js';
import { checkCredentials } from '../../services/auth/authenticate.js';
import { createToken } from '../../services/auth/tokens.js';
import { actorOf } from '../../services/accounts/users.js';
import { checkSecondFactor, mustEnrolTotp } from '../../services/auth/totp.js';
import type { LoginThrottle } from '../../services/auth/throttle.js';
import { parse } from '../validate.js';

const TokenBody = z.object({
  email: z.string().max(320),
  password: z.string().max(1024),
  code: z.string().max(64).optional(),
  label: z.string().max(100).optional(),
});
const AuditQuery = z.object({ limit: z.coerce.number().int().min(1).max(10_000).default(100) });

/** Who am I, the audit log, and tokens made with a password (API.md "Self and audit"). */
export function accountApi(ctx: Ctx, throttle: LoginThrottle): Router {
  const r = Router();

  r.get('/me', (req, res) => {
    if (!req.actor) throw unauthenticated('Send an API token: Authorization: Bearer <token>.');
    const { email, name, roles, groups } = req.actor;
    res.json({ email, name, roles, groups });
  });

  r.get('/audit', (req, res) => {
    authorize(req.actor ?? null, 'audit.read');
    const { limit } = parse(AuditQuery, { limit: req.query.limit ?? undefined }, 'invalid_limit');
    res.json(ctx.meta.auditLog(limit).map(({ at, actor, action, subject, meta }) => ({ at, actor, action, subject, ...(meta ? { meta: { ip: meta.ip, ua: meta.ua } } : {}) })));
  });

  r.post('/tokens', async (req, res) => {
    const body = parse(TokenBody, req.body ?? {}, 'invalid_input');
    const user = await checkCredentials(ctx, throttle, { email: body.email, password: body.password, ip: req.ip ?? '', via: 'api', meta: clientOf(req) });
    if (user.totp?.enabled) {
      // The same throttle as the form's code step: the right password must not open unlimited code guessing.
      // Reserved before the check, given back on success, so parallel requests get no more tries.
      if (!body.code) throw unauthenticated('This account has a second factor: send the current one-time code as "code".');
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
    if (mustEnrolTotp(ctx, user)) throw forbidden('totp_required', 'Set up a second factor on your account page before making tokens.');
    // The person proved who they are with their password (and code): they make their own token.
    const { token } = await createToken(ctx, actorOf(user), user, body.label, clientOf(req));
    res.status(201).json({ token });
  });

  return r;
}
