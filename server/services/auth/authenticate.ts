import { setTimeout as sleep } from 'node:timers/promises';
import { DomainError } from '../../domain/errors.js';
import type { EntryMeta } from '../../store/meta/metaStore.js';
import type { UserRecord } from '../../store/meta/schema.js';
import type { Ctx } from '../context.js';
import { findUserByEmail } from '../accounts/users.js';
import type { LoginThrottle } from './throttle.js';

/**
 * Check an e-mail and password (the login form and POST /api/v1/tokens). The guess is reserved
 * in the throttle before the hash is computed and given back on success, so parallel requests
 * never get more guesses evaluated than the budget; a request refused as busy (the hash queue
 * is full) costs no guess. Every failure is audited as `login.failed`. The refusal never says
 * whether the address has an account.
 */
export async function checkCredentials(
  ctx: Ctx,
  throttle: LoginThrottle,
  input: { email: string; password: string; ip: string; via: 'form' | 'api'; meta?: EntryMeta },
): Promise<UserRecord> {
  const email = input.email.trim().toLowerCase().slice(0, 320);
  const password = input.password.slice(0, 1024);
  const found = email ? findUserByEmail(ctx, email) : undefined;
  const user = found?.passwordHash && !found.disabled ? found : undefined;
  const guess = throttle.beginPassword(email, input.ip, user ? user.id : null);
  let ok = false;
  try {
    if (user) ok = await ctx.passwords.verify(password, user.passwordHash!);
    else if (throttle.takeDecoy(input.ip)) await ctx.passwords.burnTime(password);
    // Beyond the decoy budget an unknown address costs no CPU, but still the time a hash takes.
    else await sleep(ctx.passwords.typicalMs);
  } catch (e) {
    guess.cancelled();
    throw e;
  }
  if (!ok) {
    guess.failed();
    await ctx.meta.write({
      actor: null,
      at: ctx.clock(),
      events: [{ action: 'login.failed', subject: `user/${email || '(none)'}` }],
      meta: input.meta,
    });
    throw new DomainError(
      'unauthenticated',
      'bad_credentials',
      'That e-mail and password do not match an active account.',
    );
  }
  guess.succeeded();
  return user!;
}

/**
 * The account a signed-in session names, while it may still act: it exists, is not disabled and
 * its session epoch is the one the session began under (a password change or a disable moves it).
 * `false` otherwise, which ends the session.
 */
export function sessionUser(ctx: Ctx, stamp: { id: number; epoch: number } | undefined): UserRecord | false {
  const u = stamp ? ctx.meta.get('users', stamp.id) : undefined;
  return u && !u.disabled && u.sessionEpoch === stamp?.epoch ? u : false;
}

/** The audit line of a completed sign-in (after the password, and the code where the account has one). */
export async function recordLogin(ctx: Ctx, user: UserRecord, meta?: EntryMeta): Promise<void> {
  await ctx.meta.write({
    actor: user.email,
    at: ctx.clock(),
    events: [{ action: 'login', subject: `user/${user.email}` }],
    meta,
  });
}

/** The audit line of a sign-out. */
export async function recordLogout(ctx: Ctx, email: string, meta?: EntryMeta): Promise<void> {
  await ctx.meta.write({
    actor: email,
    at: ctx.clock(),
    events: [{ action: 'logout', subject: `user/${email}` }],
    meta,
  });
}

/**
 * The audit line of a wrong current password given by someone signed in (the account page's
 * password checks): `login.failed`, as on the sign-in form, but with the account as the actor.
 */
export async function recordWrongPassword(ctx: Ctx, email: string, meta?: EntryMeta): Promise<void> {
  await ctx.meta.write({
    actor: email,
    at: ctx.clock(),
    events: [{ action: 'login.failed', subject: `user/${email}` }],
    meta,
  });
}
