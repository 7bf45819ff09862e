import { authorize } from '../../domain/policy.js';
import { createHash, randomBytes } from 'node:crypto';
import type { Actor } from '../../domain/actor.js';
import { absent, invalid } from '../../domain/errors.js';
import type { EntryMeta } from '../../store/meta/metaStore.js';
import type { TokenRecord, UserRecord } from '../../store/meta/schema.js';
import type { Ctx } from '../context.js';

/** Tokens are 32 random bytes; only their SHA-256 is kept (checked on every request, so not scrypt). */
export const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

const PREFIX = 'rat_';

/** Make a personal API token for `user`; the token is returned once and never stored. */
export async function createToken(
  ctx: Ctx,
  by: Actor | null,
  user: UserRecord,
  label = 'API token',
  meta?: EntryMeta,
): Promise<{ token: string; record: TokenRecord }> {
  // A person makes their own tokens; account management (the secretariat, the command line) anyone's.
  if (by?.id !== user.id) authorize(by, 'user.manage');
  const clean = label.trim().slice(0, 100) || 'API token';
  const token = PREFIX + randomBytes(32).toString('base64url');
  const record: TokenRecord = {
    id: ctx.meta.nextId('tokens'),
    hash: hashToken(token),
    userId: user.id,
    label: clean,
    createdAt: ctx.clock().toISOString(),
    revokedAt: null,
  };
  await ctx.meta.write({
    actor: by?.email ?? user.email,
    at: ctx.clock(),
    events: [{ action: 'token.created', subject: `user/${user.email}` }],
    meta,
    puts: { tokens: { [record.hash]: record } },
  });
  return { token, record };
}

/** The user a bearer token belongs to, or null when the token is unknown, revoked or its user disabled. */
export function userForToken(ctx: Ctx, token: string): UserRecord | null {
  if (!token.startsWith(PREFIX) || token.length > 200) return null;
  const rec = ctx.meta.get('tokens', hashToken(token));
  if (!rec || rec.revokedAt) return null;
  const user = ctx.meta.get('users', rec.userId);
  return user && !user.disabled ? user : null;
}

export function listTokens(ctx: Ctx, userId: number): TokenRecord[] {
  // Tokens are keyed by hash: the index gives them in the order stored, so sort by id.
  return ctx.meta
    .by('tokens', 'user', String(userId))
    .filter((t) => !t.revokedAt)
    .sort((a, b) => a.id - b.id);
}

/** Revoke one of the user's own tokens. */
export async function revokeToken(ctx: Ctx, by: Actor, id: number): Promise<void> {
  if (!Number.isInteger(id)) throw invalid('invalid_token_id', 'Name the token to revoke.');
  const rec = ctx.meta.by('tokens', 'user', String(by.id)).find((t) => t.id === id && !t.revokedAt);
  if (!rec) throw absent('token');
  await ctx.meta.write({
    actor: by.email,
    at: ctx.clock(),
    events: [{ action: 'token.revoked', subject: `user/${by.email}` }],
    puts: { tokens: { [rec.hash]: { ...rec, revokedAt: ctx.clock().toISOString() } } },
  });
}
