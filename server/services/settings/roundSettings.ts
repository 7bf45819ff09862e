import type { Actor } from '../../domain/actor.js';
import { authorize } from '../../domain/policy.js';
import type { RoundSettings } from '../../store/meta/schema.js';
import type { Ctx } from '../context.js';

/** How rounds are held unless a round says otherwise: named records and secretariat-only proxies on a fresh store. */
export function getRoundSettings(ctx: Ctx): RoundSettings {
  const s = ctx.meta.get('settings', 'rounds');
  return { defaultRecord: s?.defaultRecord ?? 'named', chairMayRecord: s?.chairMayRecord ?? false };
}

/** The round settings for the form that changes them (Admin › Rounds: the secretariat; 403 / 401 otherwise). */
export function editableRoundSettings(ctx: Ctx, actor: Actor | null): RoundSettings {
  authorize(actor, 'settings.manage');
  return getRoundSettings(ctx);
}

/** Change the default record of new rounds and whether the chair may record ballots on members' behalf. */
export async function setRoundSettings(
  ctx: Ctx,
  actor: Actor | null,
  input: Partial<RoundSettings>,
): Promise<RoundSettings> {
  authorize(actor, 'settings.manage');
  const now = getRoundSettings(ctx);
  const next: RoundSettings = {
    defaultRecord: input.defaultRecord ?? now.defaultRecord,
    chairMayRecord: input.chairMayRecord ?? now.chairMayRecord,
  };
  await ctx.meta.write({
    actor: actor.email,
    at: ctx.clock(),
    events: [{ action: 'settings.updated', subject: 'settings/rounds' }],
    puts: { settings: { rounds: next } },
  });
  return next;
}
