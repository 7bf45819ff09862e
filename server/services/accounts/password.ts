import { authorize } from '../../domain/policy.js';
import type { Actor } from '../../domain/actor.js';
import { invalid } from '../../domain/errors.js';
import { checkPassword } from '../../domain/passwordRules.js';
import { commonPasswords } from '../../store/commonPasswords.js';
import type { Ctx } from '../context.js';
import { getUser } from './users.js';

/**
 * Change one's password: the current one is required. Other sessions end (the epoch moves);
 * the caller keeps its own session by re-stamping it.
 */
export async function changePassword(ctx: Ctx, actor: Actor, current: string, next: string): Promise<number> {
  const user = getUser(ctx, actor.id);
  if (!user.passwordHash || !(await ctx.passwords.verify(current, user.passwordHash)))
    throw invalid('bad_password', 'Your current password is not right.');
  checkPassword(next, commonPasswords());
  if (current === next) throw invalid('password_unchanged', 'Choose a password different from the current one.');
  const passwordHash = await ctx.passwords.hash(next);
  return ctx.accounts.run(async () => {
    const latest = getUser(ctx, actor.id);
    const sessionEpoch = latest.sessionEpoch + 1;
    await ctx.meta.write({
      actor: actor.email,
      at: ctx.clock(),
      events: [{ action: 'password.changed', subject: `user/${user.email}` }],
      puts: { users: { [user.id]: { ...latest, passwordHash, sessionEpoch, updatedAt: ctx.clock().toISOString() } } },
    });
    return sessionEpoch;
  });
}

/** Set a password with no current one to check (the CLI, and later an invitation link). */
export async function setPassword(ctx: Ctx, by: Actor | null, userId: number, password: string): Promise<void> {
  // Without the current password: only the account management (the secretariat, the command line).
  authorize(by, 'user.manage');
  checkPassword(password, commonPasswords());
  const passwordHash = await ctx.passwords.hash(password);
  await ctx.accounts.run(async () => {
    const latest = getUser(ctx, userId);
    await ctx.meta.write({
      actor: by?.email ?? null,
      at: ctx.clock(),
      events: [{ action: 'password.set', subject: `user/${latest.email}` }],
      puts: {
        users: {
          [userId]: {
            ...latest,
            passwordHash,
            sessionEpoch: latest.sessionEpoch + 1,
            updatedAt: ctx.clock().toISOString(),
          },
        },
      },
    });
  });
}
