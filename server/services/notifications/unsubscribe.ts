import { createHmac, timingSafeEqual } from 'node:crypto';
import { notFound } from '../../domain/errors.js';
import type { Ctx } from '../context.js';

/**
 * One-click unsubscribe (RFC 8058): every non-essential notification carries a link naming its
 * recipient with an HMAC under this installation's mail secret, so a mail client can unsubscribe
 * the member with one POST — no sign-in, nothing guessable. It sets the member's mail preference
 * to "none" (ballot invitations, reminders and account mail still go: they are essential).
 */
const mac = (secret: string, userId: number) =>
  createHmac('sha256', secret).update(`unsubscribe:${userId}`).digest('base64url').slice(0, 22);

const secretOf = (ctx: Ctx) => ctx.meta.get('system', 'install')?.mailSecret ?? null;

/** The token in a member's unsubscribe link, or null before the installation has a mail secret. */
export function unsubscribeToken(ctx: Ctx, userId: number): string | null {
  const secret = secretOf(ctx);
  return secret ? `${userId}.${mac(secret, userId)}` : null;
}

/** The member a token names, or a 404 for anything else (the same answer for every wrong token). */
export function memberOfToken(ctx: Ctx, token: string) {
  const secret = secretOf(ctx);
  const m = /^(\d{1,9})\.([A-Za-z0-9_-]{22})$/.exec(token);
  const u = m && secret ? ctx.meta.get('users', Number(m[1])) : undefined;
  const ok = !!u && !!secret && timingSafeEqual(Buffer.from(mac(secret, u.id)), Buffer.from(m![2]));
  if (!u || !ok) throw notFound('unknown_link', 'This unsubscribe link is not valid.');
  return u;
}

/** Unsubscribe the member the token names (idempotent). */
export async function unsubscribeByToken(ctx: Ctx, token: string): Promise<{ email: string }> {
  const u = memberOfToken(ctx, token);
  if (u.notify !== 'none') {
    await ctx.meta.write({
      actor: u.email,
      at: ctx.clock(),
      events: [{ action: 'notify.unsubscribed', subject: `user/${u.email}` }],
      puts: { users: { [u.id]: { ...u, notify: 'none', updatedAt: ctx.clock().toISOString() } } },
    });
  }
  return { email: u.email };
}
