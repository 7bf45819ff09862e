import type { Actor } from '../../domain/actor.js';
import { authorize } from '../../domain/policy.js';
import type { SecuritySettings } from '../../store/meta/schema.js';
import type { Ctx } from '../context.js';

/** The roles for which the site may require a second factor (members are never forced). */
export const TOTP_ROLES = ['chair', 'secretariat'] as const;
export type TotpRole = (typeof TOTP_ROLES)[number];

/** The site's security settings as they stand (nothing required on a fresh install). */
export function getSecuritySettings(ctx: Ctx): SecuritySettings {
  const s = ctx.meta.get('settings', 'security');
  return { requireTotpFor: [...(s?.requireTotpFor ?? [])] };
}

/** For each role a second factor can be required for: how many enabled accounts holding it have none. */
export function withoutSecondFactor(ctx: Ctx, actor: Actor | null): { role: TotpRole; without: number }[] {
  authorize(actor, 'settings.manage');
  // Whole-table: every account is counted (a committee's few hundred at most).
  const users = ctx.meta.all('users');
  return TOTP_ROLES.map((role) => ({
    role,
    without: users.filter((u) => !u.disabled && u.roles.includes(role) && !u.totp?.enabled).length,
  }));
}

/**
 * Set which roles must have a second factor. Holders without one are sent to set it up at
 * their next request (see mustEnrolTotp); nobody is signed out.
 */
export async function setSecuritySettings(
  ctx: Ctx,
  actor: Actor | null,
  input: { requireTotpFor: readonly TotpRole[] },
): Promise<SecuritySettings> {
  authorize(actor, 'settings.manage');
  const settings: SecuritySettings = { requireTotpFor: [...new Set(input.requireTotpFor)].sort() };
  await ctx.meta.write({
    actor: actor?.email ?? null,
    at: ctx.clock(),
    events: [{ action: 'settings.updated', subject: 'settings/security' }],
    puts: { settings: { security: settings } },
  });
  return settings;
}
