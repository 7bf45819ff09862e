import type { Actor } from '../../domain/actor.js';
import { listId } from '../../domain/mail.js';
import { absent } from '../../domain/errors.js';
import { authorize } from '../../domain/policy.js';
import type { MailRecord } from '../../store/meta/schema.js';
import type { MailTransport } from '../../store/mail/transport.js';
import type { Ctx } from '../context.js';

/**
 * Retry after 5, 10, 20, 40 s … at most 15 minutes apart, so mail flows again soon after the
 * server is back; give up (failed, retryable by hand) after 48 attempts, about ten hours.
 */
export const backoffMs = (attempts: number) => Math.min(900_000, 5_000 * 2 ** Math.max(0, attempts - 1));
export const MAX_ATTEMPTS = 48;

/**
 * Deliver what is due, oldest first, one at a time. Delivery state is in the store, so it
 * survives restarts; a message keeps its Message-ID on every attempt. A message is marked sent
 * right after the transport accepted it (if the process dies in between, it is sent again
 * with the same Message-ID — never as a different message).
 */
export class MailWorker {
  private running: Promise<number> | null = null;

  constructor(
    private readonly ctx: Ctx,
    private readonly transport: MailTransport,
    private readonly from: string,
  ) {}

  /** Run one pass unless one is running; resolves with how many were sent. */
  tick(limit = 50): Promise<number> {
    return (this.running ??= this.pass(limit).finally(() => (this.running = null)));
  }

  private async pass(limit: number): Promise<number> {
    const { ctx } = this;
    const now = ctx.clock().getTime();
    // Pending mails in id order (the index's order).
    const due = ctx.meta
      .by('mails', 'state', 'pending')
      .filter((m) => Date.parse(m.nextAttemptAt) <= now)
      .slice(0, limit);
    let sent = 0;
    for (const m of due) {
      try {
        await this.transport.send({
          ...m,
          from: this.from,
          listId: listId({ baseUrl: ctx.mail.baseUrl, host: ctx.mail.host }),
        });
        await this.record(
          m,
          { state: 'sent', attempts: m.attempts + 1, sentAt: ctx.clock().toISOString(), lastError: null },
          'mail.sent',
        );
        sent++;
      } catch (e) {
        const attempts = m.attempts + 1;
        // A permanent refusal (5xx: no such mailbox, relaying denied) will not get better by waiting.
        const permanent = Number((e as { responseCode?: number })?.responseCode) >= 500;
        const failed = permanent || attempts >= MAX_ATTEMPTS;
        await this.record(
          m,
          {
            state: failed ? 'failed' : 'pending',
            attempts,
            lastError: String((e as Error)?.message ?? e).slice(0, 500),
            nextAttemptAt: new Date(ctx.clock().getTime() + backoffMs(attempts)).toISOString(),
          },
          failed ? 'mail.failed' : null,
        );
        // The server is probably down: try the rest on a later pass.
        if (!permanent) break;
      }
    }
    return sent;
  }

  private async record(m: MailRecord, change: Partial<MailRecord>, action: string | null) {
    const latest = this.ctx.meta.get('mails', m.id) ?? m;
    await this.ctx.meta.write({
      actor: null,
      at: this.ctx.clock(),
      events: action ? [{ action, subject: `mail/${m.id}` }] : [],
      puts: { mails: { [m.id]: { ...latest, ...change } } },
    });
  }
}

/** At most this many messages of each kind on the queue's page (a backlog of 100,000 is counted, not listed). */
export const MAIL_PAGE = 100;

/**
 * The mail queue as the secretariat sees it: how many messages wait and failed, the newest
 * MAIL_PAGE of each and the 50 sent last, newest first; items waiting for digests.
 */
export function mailQueue(ctx: Ctx, actor: Actor | null) {
  authorize(actor, 'user.manage');
  return {
    pending: ctx.meta.newest('mails', 'state', 'pending', MAIL_PAGE),
    pendingCount: ctx.meta.countBy('mails', 'state', 'pending'),
    failed: ctx.meta.newest('mails', 'state', 'failed', MAIL_PAGE),
    failedCount: ctx.meta.countBy('mails', 'state', 'failed'),
    sent: ctx.meta.newest('mails', 'state', 'sent', 50),
    digestWaiting: ctx.meta.count('digestItems'),
  };
}

/** Bodies of sent messages are dropped after this many days (MAIL_RETENTION_DAYS): the outbox file or the mail server has the message. */
export const DEFAULT_MAIL_RETENTION_DAYS = 30;
/** At most this many messages lose their bodies in one pass (one store write), so a pass never holds the loop long. */
const PRUNE_BATCH = 500;

/**
 * Drop the text and HTML of messages sent more than `days` ago, keeping their record (ids,
 * recipients, subject, times: what the queue page and threading need). Oldest first, at most
 * PRUNE_BATCH a call; returns how many were pruned (call again while it is PRUNE_BATCH).
 */
export async function pruneMailBodies(ctx: Ctx, days: number): Promise<number> {
  const cutoff = ctx.clock().getTime() - days * 86_400_000;
  const puts: Record<number, MailRecord> = {};
  let n = 0;
  for (const m of ctx.meta.by('mails', 'bodyKept', 'kept')) {
    if (n >= PRUNE_BATCH) break;
    if (!m.sentAt || Date.parse(m.sentAt) > cutoff) continue;
    puts[m.id] = { ...m, text: '', html: '', bodyDroppedAt: ctx.clock().toISOString() };
    n++;
  }
  if (n) await ctx.meta.write({ actor: null, at: ctx.clock(), events: [], puts: { mails: puts } });
  return n;
}

/** One message of the queue, for the secretariat (401 / 403 first), then 404 if there is none (any id that is not a positive whole number included). */
export function loadMail(ctx: Ctx, actor: Actor | null, id: number): MailRecord {
  authorize(actor, 'user.manage');
  const m = Number.isInteger(id) && id > 0 ? ctx.meta.get('mails', id) : undefined;
  if (!m) throw absent('mail');
  return m;
}

/** The secretariat retries a failed message (or sends a waiting one now). */
export async function retryMail(ctx: Ctx, actor: Actor | null, id: number): Promise<void> {
  authorize(actor, 'settings.manage');
  const m = ctx.meta.get('mails', id);
  if (!m || m.state === 'sent') return;
  await ctx.meta.write({
    actor: actor.email,
    at: ctx.clock(),
    events: [{ action: 'mail.retried', subject: `mail/${id}` }],
    puts: {
      mails: {
        [id]: {
          ...m,
          state: 'pending',
          nextAttemptAt: ctx.clock().toISOString(),
          attempts: m.state === 'failed' ? 0 : m.attempts,
        },
      },
    },
  });
}
