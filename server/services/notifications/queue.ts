import { randomBytes } from 'node:crypto';
import { unsubscribeToken } from './unsubscribe.js';
import { replyAddress } from './replyToken.js';
import type { ReplyTarget } from '../../domain/replyAddress.js';
import { mailKindOf, titled, type Composed, type Site } from '../../domain/mail.js';
import { renderMailItem } from '../../util/markdown.js';
import { recipientKey } from '../../store/meta/indexes.js';
import type { DigestItemRecord, MailRecord, UserRecord } from '../../store/meta/schema.js';
import type { Change } from '../../store/meta/metaStore.js';
import type { Ctx } from '../context.js';

export type Puts = NonNullable<Change['puts']>;

/**
 * How mails address this site, and render what members wrote: with the pages' markdown renderer,
 * headings moved two levels down (a comment's "# Title" is not the largest text of the mail).
 */
export const mailSite = (ctx: Ctx): Site => ({
  baseUrl: ctx.mail.baseUrl,
  host: ctx.mail.host,
  markdown: (text) => renderMailItem({ text, by: 2 }),
});

/** Merge the record puts of several parts of one logical change. */
export function mergePuts(...parts: (Puts | undefined)[]): Puts {
  const out: Record<string, Record<string, unknown>> = {};
  for (const p of parts)
    for (const [k, v] of Object.entries(p ?? {})) out[k] = { ...out[k], ...(v as Record<string, unknown>) };
  return out as Puts;
}

/** Letters and digits that read unambiguously (Crockford's base 32, lower case). */
const B32 = '0123456789abcdefghjkmnpqrstvwxyz';

/** Make this installation's id (in every Message-ID) and mail secret (of its unsubscribe links) once, at first start. */
export async function ensureInstallId(ctx: Ctx): Promise<string> {
  const have = ctx.meta.get('system', 'install');
  if (have?.installId && have.mailSecret && have.tagAuthority) return have.installId;
  const installId = have?.installId ?? [...randomBytes(6)].map((b) => B32[b & 31]).join('');
  const mailSecret = have?.mailSecret ?? randomBytes(32).toString('base64url');
  // The feeds' tagging authority (RFC 4151), chosen once: BASE_URL's host on the day of first start.
  const tagAuthority = have?.tagAuthority ?? `${tagHost(ctx.mail.baseUrl)},${ctx.clock().toISOString().slice(0, 10)}`;
  await ctx.meta.write({
    actor: null,
    at: ctx.clock(),
    events: [],
    puts: { system: { install: { ...have, installId, mailSecret, tagAuthority } } },
  });
  return installId;
}

/** A host name fit for a tag: URI (lower case; `localhost` when BASE_URL has none that fits). */
function tagHost(baseUrl: string): string {
  try {
    const host = new URL(baseUrl).hostname.toLowerCase();
    return /^[a-z0-9.-]+$/.test(host) ? host : 'localhost';
  } catch {
    return 'localhost';
  }
}

const installId = (ctx: Ctx) => ctx.meta.get('system', 'install')?.installId ?? 'local';

/**
 * Whether `address` was sent its copy of the logical message `key` of the thread whose root is
 * `thread` (its first reference, or itself): looked for among the recipient's copies in that
 * thread, which the `mails.thread` index lists.
 */
export function wasSent(ctx: Ctx, address: string, thread: string, key: string): boolean {
  const copies = recipientKey(address, thread);
  // The thread's root is its first copy; any other is most often recent (the comment answered):
  // newest first, a page at a time, so a long thread is not read whole for each recipient.
  if (ctx.meta.oldest('mails', 'thread', copies, 1)[0]?.key === key) return true;
  let before: number | undefined;
  for (let page = 16; ; page = Math.min(page * 4, 1024)) {
    const batch = ctx.meta.newest('mails', 'thread', copies, page, before);
    if (batch.some((m) => m.key === key)) return true;
    if (batch.length < page) return false;
    before = batch[batch.length - 1].id;
  }
}

/**
 * One recipient's copy of a logical message (threading law, RFC 5322 §3.6.4): its own
 * Message-ID (`<proposal-1.u5.k7q2m9@host>`: the logical key, the recipient, this
 * installation), and In-Reply-To/References naming only copies this recipient was sent
 * earlier, oldest first — so no mail client ever sees a parent that never reached it.
 */
function copyFor(ctx: Ctx, m: Composed, address: string, tag: string): Composed & { key: string; thread: string } {
  const real = (logical: string) => logical.replace(/^<([^@>]+)@/, `<$1.${tag}.${installId(ctx)}@`);
  const thread = m.references[0] ?? m.messageId;
  const received = (logical: string) => wasSent(ctx, address, thread, logical);
  let references = m.references.filter(received).map(real);
  if (!references.length && m.references.length) {
    // None of its ancestors reached this recipient (the list got them, or they wrote them), but
    // earlier messages of this thread did: answer the latest, so the thread stays one.
    const prior = ctx.meta.newest('mails', 'thread', recipientKey(address, thread), 1)[0];
    if (prior) references = [...prior.references, prior.messageId];
  }
  return {
    ...m,
    key: m.messageId,
    thread,
    messageId: real(m.messageId),
    references,
    inReplyTo: references.at(-1) ?? null,
  };
}

/** The one-click unsubscribe link of a member's non-essential mail. */
const oneClick = (ctx: Ctx, userId: number, event: string) => {
  const kind = mailKindOf(event);
  const token = kind ? unsubscribeToken(ctx, userId, kind) : null;
  return token ? `<${ctx.mail.baseUrl}/unsubscribe/${token}>` : null;
};

const members = (ctx: Ctx) => ctx.meta.by('users', 'activeMember', 'yes');
/** How the member takes this event's kind of mail: their choice for the kind, else their general one. */
const prefOf = (u: UserRecord, event: string) => {
  const kind = mailKindOf(event);
  return (kind && u.notifyKinds?.[kind]) || u.notify || 'immediate';
};

function mailRecord(
  ctx: Ctx,
  m: Composed,
  event: string,
  to: string[],
  bcc: string[],
  listUnsubscribe: string | null = null,
  replyTo: string | null = null,
): MailRecord {
  m = titled(m);
  const now = ctx.clock().toISOString();
  return {
    id: ctx.meta.nextId('mails'),
    messageId: m.messageId,
    ...('key' in m
      ? { key: (m as unknown as { key: string }).key, thread: (m as unknown as { thread: string }).thread }
      : {}),
    event,
    to,
    bcc,
    subject: m.subject,
    text: m.text,
    html: m.html,
    inReplyTo: m.inReplyTo,
    references: m.references,
    listUnsubscribe,
    ...(replyTo ? { replyTo } : {}),
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

/** The Reply-To of one member's copy: the address that takes their answer by mail, when the site has REPLY_DOMAIN. */
const replyOf = (ctx: Ctx, userId: number, reply: ReplyTarget | undefined) =>
  reply ? replyAddress(ctx, userId, reply) : null;

/**
 * A message for the whole group: to the list address when there is one; otherwise to each
 * member as they chose — now (one message, members in Bcc), in the daily digest, or not at all.
 * `reply` is what an answer by mail to a member's own copy becomes (a list's copy has no
 * per-member address, so it takes none).
 */
export function toList(
  ctx: Ctx,
  m: Composed,
  event: string,
  link: string,
  reply?: ReplyTarget,
  exceptUserId?: number,
): Puts {
  if (ctx.mail.listAddress) {
    const rec = mailRecord(ctx, copyFor(ctx, m, ctx.mail.listAddress, 'list'), event, [ctx.mail.listAddress], []);
    return { mails: { [rec.id]: rec } };
  }
  const people = members(ctx).filter((u) => u.id !== exceptUserId);
  const later = people.filter((u) => prefOf(u, event) === 'digest');
  const puts: Puts = { mails: {}, digestItems: {} };
  // One copy per member (never a Bcc list): each copy threads by what that member was sent.
  for (const u of people.filter((x) => prefOf(x, event) === 'immediate')) {
    const rec = mailRecord(
      ctx,
      copyFor(ctx, m, u.email, `u${u.id}`),
      event,
      [u.email],
      [],
      oneClick(ctx, u.id, event),
      replyOf(ctx, u.id, reply),
    );
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
 * password resets) always go; others follow the person's preference. `reply`: what their
 * answer by mail becomes (none for account mail).
 */
export function toPerson(
  ctx: Ctx,
  u: UserRecord,
  m: Composed,
  event: string,
  link: string,
  essential: boolean,
  reply?: ReplyTarget,
): Puts {
  if (u.disabled && event !== 'password.reset') return {};
  const pref = essential ? 'immediate' : prefOf(u, event);
  if (pref === 'none') return {};
  if (pref === 'digest') {
    const d = digestItem(ctx, u, m, link);
    return { digestItems: { [d.id]: d } };
  }
  const rec = mailRecord(
    ctx,
    copyFor(ctx, m, u.email, `u${u.id}`),
    event,
    [u.email],
    [],
    // Essential mail cannot be unsubscribed from (the account page says how to vote in person);
    // every other notification carries a one-click unsubscribe link (RFC 8058).
    essential
      ? event.startsWith('round.')
        ? `<${ctx.mail.baseUrl}/account#notifications>`
        : null
      : oneClick(ctx, u.id, event),
    replyOf(ctx, u.id, reply),
  );
  return { mails: { [rec.id]: rec } };
}
