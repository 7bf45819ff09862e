import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  parseReplyAddress,
  REPLY_MAC_CHARS,
  replyAddressOf,
  replyPayload,
  type ReplyTarget,
} from '../../domain/replyAddress.js';
import type { UserRecord } from '../../store/meta/schema.js';
import type { Ctx } from '../context.js';

/** Crockford's base 32, lower case: survives a mail system that lower-cases the address. */
const B32 = '0123456789abcdefghjkmnpqrstvwxyz';

function base32(bytes: Buffer, chars: number): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5 && out.length < chars) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= 0xff;
  }
  return out;
}

/** The MAC of a payload under this installation's mail secret ("reply:" keeps it apart from the unsubscribe links' MAC). */
const mac = (secret: string, payload: string) =>
  base32(createHmac('sha256', secret).update(`reply:${payload}`).digest(), REPLY_MAC_CHARS);

const secretOf = (ctx: Ctx) => ctx.meta.get('system', 'install')?.mailSecret ?? null;

/**
 * The Reply-To of one member's copy of a notification: `reply+<token>@<REPLY_DOMAIN>`, naming the
 * member and what a reply answers, under an HMAC of the installation's mail secret — so it
 * cannot be guessed or changed to name another member or thread. Null without REPLY_DOMAIN.
 */
export function replyAddress(ctx: Ctx, userId: number, target: ReplyTarget): string | null {
  const secret = secretOf(ctx);
  const domain = ctx.mail.replyDomain;
  if (!secret || !domain) return null;
  const payload = replyPayload(userId, target);
  return replyAddressOf(domain, payload, mac(secret, payload));
}

/** The member and target a reply address names, or null for anything else (forged, altered, another site's, an account that is gone). */
export function readReplyAddress(ctx: Ctx, address: string): { user: UserRecord; target: ReplyTarget } | null {
  const secret = secretOf(ctx);
  const domain = ctx.mail.replyDomain;
  const token = secret && domain ? parseReplyAddress(address, domain) : null;
  if (!token || !secret) return null;
  const want = Buffer.from(mac(secret, replyPayload(token.userId, token.target)));
  if (!timingSafeEqual(want, Buffer.from(token.mac))) return null;
  const user = ctx.meta.get('users', token.userId);
  return user ? { user, target: token.target } : null;
}
