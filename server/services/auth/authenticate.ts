import { DomainError } from '../../domain/errors.js';
import type { EntryMeta } from '../../store/meta/metaStore.js';
import type { UserRecord } from '../../store/meta/schema.js';
import type { Ctx } from '../context.js';
import { findUserByEmail } from '../accounts/users.js';
import { burnTime, verifyPassword } from './passwords.js';
import type { LoginThrottle } from './throttle.js';

/**
 * Check an e-mail and password (the login form and POST /api/v1/tokens). Throttled per
 * account+address; every failure is audited as `login.failed`. The refusal never says whether
 * the address has an account.
 */
export async function checkCredentials(
  ctx: Ctx,
  throttle: LoginThrottle,
  input: { email: unknown; password: unknown; ip: string; via: 'form' | 'api'; meta?: EntryMeta },
): Promise<UserRecord> {
  const email = typeof input.email === 'string' ? input.email.trim().toLowerCase().slice(0, 320) : '';
  const password = typeof input.password === 'string' ? input.password.slice(0, 1024) : '';
  throttle.check(email, input.ip);
  const user = email ? findUserByEmail(ctx, email) : undefined;
  let ok = false;
  if (user?.passwordHash && !user.disabled) ok = await verifyPassword(password, user.passwordHash);
  else await burnTime(password);
  if (!ok) {
    throttle.failed(email, input.ip);
    await ctx.meta.write({ actor: null, at: ctx.clock(), events: [{ action: 'login.failed', subject: `user/${email || '(none)'}` }], meta: input.meta });
    throw new DomainError('unauthenticated', 'bad_credentials', 'That e-mail and password do not match an active account.');
  }
  throttle.succeeded(email, input.ip);
  return user!;
}
