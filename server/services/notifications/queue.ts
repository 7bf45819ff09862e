import type { Composed } from '../../domain/mail.js';
import type { DigestItemRecord, MailRecord, UserRecord } from '../../store/meta/schema.js';
import type { Change } from '../../store/meta/metaStore.js';
import type { Ctx } from '../context.js';

export type Puts = NonNullable<Change['puts']>;

/** Merge the record puts of several parts of one logical change. */
export function mergePuts(...parts: (Puts | undefined)[]): Puts {
  const out: Record<string, Record<string, unknown>> = {};
  for (const p of parts)
    for (const [k, v] of Object.entries(p ?? {})) out[k] = { ...out[k], ...(v as Record<string, unknown>) };
  return out as Puts;
}

const members = (ctx: Ctx) => ctx.meta.by('users', 'activeMember', 'yes');
const prefOf = (u: UserRecord) => u.notify ?? 'immediate';

function mailRecord(
  ctx: Ctx,
  m: Composed,
  event: string,
  to: string[],
  bcc: string[],
  listUnsubscribe: string | null = null,
): MailRecord {
  const now = ctx.clock().toISOString();
  return {
    id: ctx.meta.nextId('mails'),
    messageId: m.messageId,
    event,
    to,
    bcc,
    subject: m.subject,
    text: m.text,
    html: m.html,
    inReplyTo: m.inReplyTo,
    references: m.references,
    listUnsubscribe,
    state: 'pending',
    attempts: 0,
    nextAttemptAt: now,
    lastError: null,
    createdAt: now,
    sentAt: null,
  };
}

function digestItem(ctx: Ctx, u: UserRecord, m: Composed, link: string): DigestItemRecord {
  return {
    id: ctx.meta.nextId('digestItems'),
    userId: u.id,
    subject: m.subject,
    text: m.text,
    link,
    createdAt: ctx.clock().toISOString(),
  };
}

/**
 * A message for the whole group: to the list address when there is one; otherwise to each
 * member as they chose — now (one message, members in Bcc), in the daily digest, or not at all.
 */
export function toList(ctx: Ctx, m: Composed, event: string, link: string, exceptUserId?: number): Puts {
  if (ctx.mail.listAddress) {
    const rec = mailRecord(ctx, m, event, [ctx.mail.listAddress], []);
    return { mails: { [rec.id]: rec } };
  }
  const people = members(ctx).filter((u) => u.id !== exceptUserId);
  const now = people.filter((u) => prefOf(u) === 'immediate').map((u) => u.email);
  const later = people.filter((u) => prefOf(u) === 'digest');
  const puts: Puts = { mails: {}, digestItems: {} };
  if (now.length) {
    const rec = mailRecord(ctx, m, event, [], now);
    puts.mails![rec.id] = rec;
  }
  for (const u of later) {
    const d = digestItem(ctx, u, m, link);
    puts.digestItems![d.id] = d;
  }
  return puts;
}

/**
 * A message for one person. Essential messages (ballot invitations, reminders, invitations,
 * password resets) always go; others follow the person's preference.
 */
export function toPerson(ctx: Ctx, u: UserRecord, m: Composed, event: string, link: string, essential: boolean): Puts {
  if (u.disabled && event !== 'password.reset') return {};
  const pref = essential ? 'immediate' : prefOf(u);
  if (pref === 'none') return {};
  if (pref === 'digest') {
    const d = digestItem(ctx, u, m, link);
    return { digestItems: { [d.id]: d } };
  }
  const rec = mailRecord(
    ctx,
    m,
    event,
    [u.email],
    [],
    essential && event.startsWith('round.') ? `<${ctx.mail.baseUrl}/account#notifications>` : null,
  );
  return { mails: { [rec.id]: rec } };
}
