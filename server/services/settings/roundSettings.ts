import type { Actor } from '../../domain/actor.js';
import { invalid } from '../../domain/errors.js';
import { authorize } from '../../domain/policy.js';
import { RECORDS, type RecordKind } from '../../domain/round.js';
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
  input: { defaultRecord?: unknown; chairMayRecord?: unknown },
): Promise<RoundSettings> {
  authorize(actor, 'settings.manage');
  const now = getRoundSettings(ctx);
  if (input.defaultRecord !== undefined && !RECORDS.includes(input.defaultRecord as RecordKind))
    throw invalid('invalid_record', 'The default record is "named" or "unnamed".');
  if (input.chairMayRecord !== undefined && typeof input.chairMayRecord !== 'boolean')
    throw invalid('invalid_settings', 'chairMayRecord is true or false.');
  const next: RoundSettings = {
    defaultRecord: (input.defaultRecord as RecordKind | undefined) ?? now.defaultRecord,
    chairMayRecord: (input.chairMayRecord as boolean | undefined) ?? now.chairMayRecord,
  };
  await ctx.meta.write({
    actor: actor.email,
    at: ctx.clock(),
    events: [{ action: 'settings.updated', subject: 'settings/rounds' }],
    puts: { settings: { rounds: next } },
  });
  return next;
}
