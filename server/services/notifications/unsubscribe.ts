import { createHmac, timingSafeEqual } from 'node:crypto';
import { notFound } from '../../domain/errors.js';
import { MAIL_KINDS, type MailKind, type UserRecord } from '../../domain/records.js';
import type { Ctx } from '../context.js';

/**
 * One-click unsubscribe (RFC 8058): every non-essential notification carries a link naming its
 * recipient and its kind of mail (proposals, comments, rounds, versions) under an HMAC with this
 * installation's mail secret, so a mail client can unsubscribe the member from that kind with
 * one POST — no sign-in, nothing guessable. It sets the member's preference for that kind to
 * "none"; the other kinds, ballot invitations, reminders and account mail still go.
 *
 * A link sent before there were kinds (`<id>.<mac>`) still works: it stops every kind.
 */
const mac = (secret: string, userId: number, kind: MailKind | 'all') =>
  createHmac('sha256', secret)
    .update(kind === 'all' ? `unsubscribe:${userId}` : `unsubscribe:${userId}:${kind}`)
    .digest('base64url')
    .slice(0, 22);

const secretOf = (ctx: Ctx) => ctx.meta.get('system', 'install')?.mailSecret ?? null;

/** The token in a member's unsubscribe link for one kind of mail, or null before the installation has a mail secret. */
export function unsubscribeToken(ctx: Ctx, userId: number, kind: MailKind): string | null {
  const secret = secretOf(ctx);
  return secret ? `${userId}.${kind}.${mac(secret, userId, kind)}` : null;
}

/** The token of the links sent before kinds existed (for the test that they still work). */
export function legacyUnsubscribeToken(ctx: Ctx, userId: number): string | null {
  const secret = secretOf(ctx);
  return secret ? `${userId}.${mac(secret, userId, 'all')}` : null;
}

const TOKEN = new RegExp(`^(\\d{1,9})\\.(?:(${MAIL_KINDS.join('|')})\\.)?([A-Za-z0-9_-]{22})$`);

/** The member and kind a token names, or a 404 for anything else (the same answer for every wrong token). */
export function memberOfToken(ctx: Ctx, token: string): { user: UserRecord; kind: MailKind | 'all' } {
  const secret = secretOf(ctx);
  const m = TOKEN.exec(token);
  const u = m && secret ? ctx.meta.get('users', Number(m[1])) : undefined;
  const kind = (m?.[2] as MailKind | undefined) ?? 'all';
  const ok = !!u && !!secret && timingSafeEqual(Buffer.from(mac(secret, u.id, kind)), Buffer.from(m![3]));
  if (!u || !ok) throw notFound('unknown_link', 'This unsubscribe link is not valid.');
  return { user: u, kind };
}

/** Unsubscribe the member the token names from its kind of mail (idempotent). */
export async function unsubscribeByToken(ctx: Ctx, token: string): Promise<{ email: string; kind: MailKind | 'all' }> {
  const { user: u, kind } = memberOfToken(ctx, token);
  const next: UserRecord =
    kind === 'all' ? { ...u, notify: 'none' } : { ...u, notifyKinds: { ...u.notifyKinds, [kind]: 'none' } };
  const already = kind === 'all' ? u.notify === 'none' : u.notifyKinds?.[kind] === 'none';
  if (!already) {
    await ctx.meta.write({
      actor: u.email,
      at: ctx.clock(),
      events: [{ action: 'notify.unsubscribed', subject: `user/${u.email}` }],
      puts: { users: { [u.id]: { ...next, updatedAt: ctx.clock().toISOString() } } },
    });
  }
  return { email: u.email, kind };
}
