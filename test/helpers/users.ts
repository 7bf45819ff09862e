/**
 * People for API tests: an account made through the same service the CLI uses (`addUser`)
 * plus a personal API token (`createToken`). Without a password no scrypt hash is computed,
 * so making a user is cheap (with one, one scrypt hash at the tests' low cost).
 */
import { CLI_ACTOR } from '../../server/domain/actor.js';
import type { Actor } from '../../server/domain/actor.js';
import type { Ctx } from '../../server/services/context.js';
import { actorOf, addUser, type NewUser } from '../../server/services/accounts/users.js';
import { createToken } from '../../server/services/auth/tokens.js';
import type { UserRecord } from '../../server/store/meta/schema.js';

export interface ApiUser extends UserRecord {
  /** The bearer token (shown once by the service; kept here for the test). */
  token: string;
  actor: Actor;
  /** `{ Authorization: 'Bearer …' }`, ready for supertest's `.set()`. */
  auth: { Authorization: string };
}

/** One account with an API token. */
export async function makeApiUser(ctx: Ctx, input: NewUser): Promise<ApiUser> {
  const u = await addUser(ctx, CLI_ACTOR, input);
  const { token } = await createToken(ctx, CLI_ACTOR, u, 'test token');
  return { ...u, token, actor: actorOf(u), auth: { Authorization: `Bearer ${token}` } };
}

/**
 * Several accounts at once, keyed by the caller's names. Users are made one after another
 * (ids then follow the order given), password hashing (if any) still dominates the cost.
 */
export async function makeApiUsers<K extends string>(
  ctx: Ctx,
  inputs: Record<K, NewUser>,
): Promise<Record<K, ApiUser>> {
  const out = {} as Record<K, ApiUser>;
  for (const key of Object.keys(inputs) as K[]) out[key] = await makeApiUser(ctx, inputs[key]);
  return out;
}

/** The supertest headers for a user, or none for the public. */
export const authOf = (u: ApiUser | null): Record<string, string> => (u ? u.auth : {});
