import * as mail from '../../domain/mail.js';
import type { Ctx } from '../context.js';
import { mailSite, mergePuts, toPerson, type Puts } from './queue.js';

/**
 * Once a day (at `digestHour` UTC), each person who chose the digest gets one message with
 * what waited for them; the items and the digest land in one write.
 */
export async function composeDigests(ctx: Ctx): Promise<number> {
  const now = ctx.clock();
  const day = now.toISOString().slice(0, 10);
  if (now.getUTCHours() < ctx.mail.digestHour) return 0;
  const state = ctx.meta.get('system', 'digest');
  if (state?.lastDay === day) return 0;
  // Whole-table: every waiting item goes out in today's digests (and is deleted).
  const items = ctx.meta.all('digestItems');
  const byUser = new Map<number, typeof items>();
  for (const i of items) byUser.set(i.userId, [...(byUser.get(i.userId) ?? []), i]);
  const parts: Puts[] = [];
  for (const [uid, list] of byUser) {
    const u = ctx.meta.get('users', uid);
    if (!u || u.disabled) continue;
    const m = mail.digest(
      mailSite(ctx),
      u.name,
      list.sort((a, b) => a.id - b.id),
      day,
    );
    parts.push(toPerson(ctx, u, m, 'digest', `${ctx.mail.baseUrl}/account`, true));
  }
  await ctx.meta.write({
    actor: null,
    at: now,
    events: parts.length ? [{ action: 'digest.composed', subject: `digest/${day}` }] : [],
    puts: mergePuts(...parts, { system: { digest: { lastDay: day } } }),
    dels: { digestItems: items.map((i) => String(i.id)) },
  });
  return parts.length;
}
