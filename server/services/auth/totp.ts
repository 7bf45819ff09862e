import { createHash, randomBytes } from 'node:crypto';
import type { Actor } from '../../domain/actor.js';
import { conflict, invalid } from '../../domain/errors.js';
import type { EntryMeta } from '../../store/meta/metaStore.js';
import type { UserRecord } from '../../store/meta/schema.js';
import type { Ctx } from '../context.js';
import { getUser } from '../accounts/users.js';

/** otplib loads with the first second-factor step, not with the server (most members never use it). */
const otp = () => import('otplib');

const hashCode = (c: string) => createHash('sha256').update(c.replace(/[\s-]/g, '').toLowerCase()).digest('hex');

/** Step 1: a new secret, kept pending (not enabled) until a code from it is confirmed. */
export function beginTotp(ctx: Ctx, actor: Actor, meta?: EntryMeta): Promise<{ secret: string; uri: string }> {
  return ctx.accounts.run(() => beginTotpNow(ctx, actor, meta));
}

async function beginTotpNow(ctx: Ctx, actor: Actor, meta?: EntryMeta): Promise<{ secret: string; uri: string }> {
  const user = getUser(ctx, actor.id);
  if (user.totp?.enabled)
    throw conflict('totp_enabled', 'A second factor is already set up; turn it off first to replace it.');
  const { generateSecret, generateURI } = await otp();
  const secret = generateSecret();
  await ctx.meta.write({
    actor: actor.email,
    at: ctx.clock(),
    events: [{ action: 'totp.started', subject: `user/${user.email}` }],
    meta,
    puts: {
      users: {
        [user.id]: {
          ...user,
          totp: { secret, enabled: false, lastStep: 0, recovery: [] },
          updatedAt: ctx.clock().toISOString(),
        },
      },
    },
  });
  return { secret, uri: generateURI({ issuer: 'Ratify', label: user.email, secret }) };
}

/** Check a 6-digit code (±30 s) once: a code already used cannot be used again. */
async function codeStep(ctx: Ctx, user: UserRecord, code: string): Promise<number | null> {
  if (!user.totp || !/^\d{6}$/.test(code)) return null;
  const { verify } = await otp();
  const r = await verify({
    secret: user.totp.secret,
    token: code,
    epoch: Math.floor(ctx.clock().getTime() / 1000),
    epochTolerance: 30,
    afterTimeStep: user.totp.lastStep || undefined,
  });
  return r.valid && 'timeStep' in r ? (r as { timeStep: number }).timeStep : null;
}

/** Step 2: confirm a code from the new secret; enables the factor and returns ten recovery codes (shown once). */
export function confirmTotp(ctx: Ctx, actor: Actor, code: string, meta?: EntryMeta): Promise<string[]> {
  return ctx.accounts.run(() => confirmTotpNow(ctx, actor, code, meta));
}

async function confirmTotpNow(ctx: Ctx, actor: Actor, code: string, meta?: EntryMeta): Promise<string[]> {
  const user = getUser(ctx, actor.id);
  if (!user.totp || user.totp.enabled) throw conflict('totp_not_pending', 'Start setting up the second factor first.');
  const step = await codeStep(ctx, user, code.trim());
  if (step === null) throw invalid('bad_code', 'That code is not right; check the time on your device and try again.');
  const recovery = Array.from({ length: 10 }, () =>
    randomBytes(5)
      .toString('hex')
      .replace(/(.{5})/, '$1-'),
  );
  await ctx.meta.write({
    actor: actor.email,
    at: ctx.clock(),
    events: [{ action: 'totp.enabled', subject: `user/${user.email}` }],
    meta,
    puts: {
      users: {
        [user.id]: {
          ...user,
          totp: { ...user.totp, enabled: true, lastStep: step, recovery: recovery.map(hashCode) },
          updatedAt: ctx.clock().toISOString(),
        },
      },
    },
  });
  return recovery;
}

/**
 * Sign-in's second step: a current code, or one of the recovery codes (each works once, also
 * for two requests at the same moment: the check and the write that spends it hold the lock).
 */
export function checkSecondFactor(ctx: Ctx, userId: number, code: string, meta?: EntryMeta): Promise<boolean> {
  return ctx.accounts.run(() => checkSecondFactorNow(ctx, userId, code, meta));
}

async function checkSecondFactorNow(ctx: Ctx, userId: number, code: string, meta?: EntryMeta): Promise<boolean> {
  const user = getUser(ctx, userId);
  if (!user.totp?.enabled) return true;
  const trimmed = code.trim();
  const step = await codeStep(ctx, user, trimmed);
  let totp = user.totp;
  let event = 'login.totp';
  if (step !== null) totp = { ...totp, lastStep: step };
  else {
    const h = hashCode(trimmed);
    if (!trimmed || !totp.recovery.includes(h)) {
      await ctx.meta.write({
        actor: null,
        at: ctx.clock(),
        events: [{ action: 'login.failed', subject: `user/${user.email}` }],
        meta,
      });
      return false;
    }
    totp = { ...totp, recovery: totp.recovery.filter((r) => r !== h) };
    event = 'login.recovery_code';
  }
  await ctx.meta.write({
    actor: user.email,
    at: ctx.clock(),
    events: [{ action: event, subject: `user/${user.email}` }],
    meta,
    puts: { users: { [user.id]: { ...user, totp } } },
  });
  return true;
}

/** Turn the second factor off (needs the password). */
export async function disableTotp(ctx: Ctx, actor: Actor, password: string, meta?: EntryMeta): Promise<void> {
  const user = getUser(ctx, actor.id);
  if (!user.passwordHash || !(await ctx.passwords.verify(password, user.passwordHash)))
    throw invalid('bad_password', 'Your current password is not right.');
  await ctx.accounts.run(async () => {
    const latest = getUser(ctx, actor.id);
    await ctx.meta.write({
      actor: actor.email,
      at: ctx.clock(),
      events: [{ action: 'totp.disabled', subject: `user/${latest.email}` }],
      meta,
      puts: { users: { [latest.id]: { ...latest, totp: null, updatedAt: ctx.clock().toISOString() } } },
    });
  });
}

/** Whether the site requires this user to have a second factor before doing anything else. */
export function mustEnrolTotp(ctx: Ctx, user: UserRecord): boolean {
  const req = ctx.meta.get('settings', 'security')?.requireTotpFor ?? [];
  return !user.totp?.enabled && user.roles.some((r) => (req as string[]).includes(r));
}
