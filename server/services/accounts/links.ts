import { authorize } from '../../domain/policy.js';
import { createHash, randomBytes } from 'node:crypto';
import type { Actor } from '../../domain/actor.js';
import { conflict, invalid } from '../../domain/errors.js';
import * as mail from '../../domain/mail.js';
import { checkPassword } from '../../domain/passwordRules.js';
import { commonPasswords } from '../../store/commonPasswords.js';
import type { LinkTokenRecord, MailKind, NotifyPreference, UserRecord } from '../../domain/records.js';
import type { Ctx } from '../context.js';
import { mailSite, mergePuts, toPerson } from '../notifications/queue.js';
import { findUserByEmail, getUser } from './users.js';

export const INVITE_DAYS = 7;
export const RESET_HOURS = 2;

const hash = (t: string) => createHash('sha256').update(t).digest('hex');

function newLink(ctx: Ctx, u: UserRecord, purpose: 'invite' | 'reset') {
  const token = randomBytes(32).toString('base64url');
  const ms = purpose === 'invite' ? INVITE_DAYS * 86_400_000 : RESET_HOURS * 3_600_000;
  const rec: LinkTokenRecord = {
    hash: hash(token),
    userId: u.id,
    purpose,
    expiresAt: new Date(ctx.clock().getTime() + ms).toISOString(),
    usedAt: null,
    createdAt: ctx.clock().toISOString(),
  };
  return { token, rec, url: `${ctx.mail.baseUrl}/password/set?token=${token}` };
}

/** Store changes that invite one person: a single-use link (valid a few days) and the mail carrying it. */
export function invitationPuts(ctx: Ctx, u: UserRecord) {
  const { rec, url } = newLink(ctx, u, 'invite');
  const m = mail.invitation(mailSite(ctx), u.name, url, rec.expiresAt, rec.hash.slice(0, 16));
  return mergePuts({ linkTokens: { [rec.hash]: rec } }, toPerson(ctx, u, m, 'user.invited', url, true));
}

/** Invite an existing account to set its password (the secretariat, one at a time or after an import). */
export async function inviteUser(ctx: Ctx, by: Actor | null, userId: number): Promise<void> {
  authorize(by, 'user.manage');
  const u = getUser(ctx, userId);
  if (u.disabled) throw conflict('user_disabled', 'This account is disabled; enable it first.');
  await ctx.meta.write({
    actor: by?.email ?? null,
    at: ctx.clock(),
    events: [{ action: 'user.invited', subject: `user/${u.email}` }],
    puts: invitationPuts(ctx, u),
  });
}

/**
 * "Forgot password": a single-use link valid two hours, mailed when the address has an active
 * account. The caller answers the same either way, so the answer never tells whether an
 * address has an account.
 */
export async function requestPasswordReset(ctx: Ctx, email: string): Promise<void> {
  const u = findUserByEmail(ctx, email);
  if (!u || u.disabled) {
    await ctx.meta.write({
      actor: null,
      at: ctx.clock(),
      events: [{ action: 'password.reset_requested', subject: 'user/(unknown)' }],
    });
    return;
  }
  const { rec, url } = newLink(ctx, u, 'reset');
  const m = mail.passwordReset(mailSite(ctx), url, rec.expiresAt, rec.hash.slice(0, 16));
  await ctx.meta.write({
    actor: null,
    at: ctx.clock(),
    events: [{ action: 'password.reset_requested', subject: `user/${u.email}` }],
    puts: mergePuts({ linkTokens: { [rec.hash]: rec } }, toPerson(ctx, u, m, 'password.reset', url, true)),
  });
}

/** The link a token names, if it is still usable. */
export function usableLink(ctx: Ctx, token: string): LinkTokenRecord | null {
  if (token.length > 100) return null;
  const rec = ctx.meta.get('linkTokens', hash(token));
  if (!rec || rec.usedAt || Date.parse(rec.expiresAt) <= ctx.clock().getTime()) return null;
  const u = ctx.meta.get('users', rec.userId);
  return u && !u.disabled ? rec : null;
}

/** Set a password through a link: once, before it expires. Other sessions end. */
export async function setPasswordByLink(ctx: Ctx, token: string, password: string): Promise<UserRecord> {
  const rec = usableLink(ctx, token);
  if (!rec) throw invalid('link_invalid', 'This link has expired or was already used. Ask for a new one.');
  const pw = checkPassword(password, commonPasswords());
  const passwordHash = await ctx.passwords.hash(pw);
  return ctx.accounts.run(async () => {
    // Check again under the lock: a link works once, even for two requests at the same moment.
    const again = usableLink(ctx, token);
    if (!again) throw invalid('link_invalid', 'This link has expired or was already used. Ask for a new one.');
    const u = getUser(ctx, rec.userId);
    const next: UserRecord = {
      ...u,
      passwordHash,
      sessionEpoch: u.sessionEpoch + 1,
      updatedAt: ctx.clock().toISOString(),
    };
    await ctx.meta.write({
      actor: u.email,
      at: ctx.clock(),
      events: [
        { action: rec.purpose === 'invite' ? 'invitation.accepted' : 'password.reset', subject: `user/${u.email}` },
      ],
      puts: { users: { [u.id]: next }, linkTokens: spentLinks(ctx, u.id) },
    });
    return next;
  });
}

/** Every open link of a user marked used: once a password is set, the other links die too. */
export function spentLinks(ctx: Ctx, userId: number): Record<string, LinkTokenRecord> {
  const at = ctx.clock().toISOString();
  return Object.fromEntries(
    ctx.meta
      .by('linkTokens', 'user', String(userId))
      .filter((l) => !l.usedAt)
      .map((l) => [l.hash, { ...l, usedAt: at }]),
  );
}

/** The per-kind choices after a change: a kind set to `default` follows the general preference again. */
function ownKinds(
  now: UserRecord['notifyKinds'],
  change: Partial<Record<MailKind, NotifyPreference | 'default'>>,
): UserRecord['notifyKinds'] {
  const next: Partial<Record<MailKind, NotifyPreference>> = { ...now };
  for (const [k, v] of Object.entries(change) as [MailKind, NotifyPreference | 'default'][]) {
    if (v === 'default') delete next[k];
    else next[k] = v;
  }
  return next;
}

/** Immediate, daily digest or none, for non-essential messages; optionally per kind of mail. */
export async function setNotify(
  ctx: Ctx,
  actor: Actor,
  pref: NotifyPreference,
  kinds: Partial<Record<MailKind, NotifyPreference | 'default'>> = {},
): Promise<void> {
  await ctx.accounts.run(async () => {
    const u = getUser(ctx, actor.id);
    await ctx.meta.write({
      actor: actor.email,
      at: ctx.clock(),
      events: [{ action: 'notifications.updated', subject: `user/${u.email}` }],
      puts: { users: { [u.id]: { ...u, notify: pref, notifyKinds: ownKinds(u.notifyKinds, kinds) } } },
    });
  });
}
