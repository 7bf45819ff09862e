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

/** How many due messages the worker takes from the index at a time. */
const BATCH = 64;

/**
 * Deliver what is due, earliest due first. The worker takes the next due messages from the
 * store's `mails.due` index (waiting messages ordered by `nextAttemptAt`), a batch at a time, so a
 * pass reads only the messages it sends — never a delivered one, never one waiting for a later
 * attempt — whatever the size of the store; it goes on until nothing is due (a backlog drains in
 * one pass). A transport that takes several messages at once (`parallel`: the outbox) gets them
 * in as many lanes; SMTP gets one message at a time. Delivery state is in the store, so it
 * survives restarts; a message keeps its Message-ID on every attempt. A message is marked sent
 * right after the transport accepted it (if the process dies in between, it is sent again
 * with the same Message-ID — never as a different message).
 */
export class MailWorker {
  private running: Promise<number> | null = null;
  private stopped = false;

  constructor(
    private readonly ctx: Ctx,
    private readonly transport: MailTransport,
    private readonly from: string,
  ) {}

  /** Run one pass (at most `limit` messages) unless one is running; resolves with how many were sent. */
  tick(limit = Number.POSITIVE_INFINITY): Promise<number> {
    if (this.stopped) return Promise.resolve(0);
    return (this.running ??= this.pass(limit).finally(() => (this.running = null)));
  }

  /**
   * Stop for good: a pass in progress finishes the messages in flight (each sent and recorded)
   * and takes no more; resolves once it has, so the store can then be closed.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running?.catch(() => {});
  }

  private async pass(limit: number): Promise<number> {
    const { ctx } = this;
    const lanes = Math.max(1, Math.floor(this.transport.parallel ?? 1));
    let sent = 0;
    let taken = 0;
    while (taken < limit && !this.stopped) {
      const due = ctx.meta.oldest('mails', 'due', 'pending', Math.min(BATCH, limit - taken), ctx.clock().toISOString());
      if (!due.length) break;
      taken += due.length;
      let next = 0;
      let halt = false;
      let error: unknown = null;
      await Promise.all(
        Array.from({ length: Math.min(lanes, due.length) }, async () => {
          while (!halt && !this.stopped && next < due.length) {
            const m = due[next++];
            try {
              const outcome = await this.deliver(m);
              if (outcome === 'sent') sent++;
              // The server is probably down: try the rest on a later pass.
              else if (outcome === 'later') halt = true;
            } catch (e) {
              // The store refused the record: stop here (every lane ends before the pass does).
              error ??= e;
              halt = true;
            }
          }
        }),
      );
      if (error) throw error;
      if (halt) break;
    }
    return sent;
  }

  /**
   * One attempt at one message, recorded: sent; failed for good (a permanent refusal, or the
   * last attempt); or to be tried again later.
   */
  private async deliver(m: MailRecord): Promise<'sent' | 'failed' | 'later'> {
    const { ctx } = this;
    try {
      // On the server the text and HTML are in a file of their own (store/meta/detachedBodies.ts).
      const full = await ctx.meta.withDetached('mails', m);
      await this.transport.send({
        ...full,
        // Only waiting messages are sent, and they are whole (a compact record is a sent one).
        bcc: full.bcc ?? [],
        text: full.text ?? '',
        html: full.html ?? '',
        from: this.from,
        listId: listId({ baseUrl: ctx.mail.baseUrl, host: ctx.mail.host }),
      });
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
      // Only a temporary failure halts the pass: a refused address says nothing of the server.
      return permanent ? 'failed' : 'later';
    }
    await this.record(
      m,
      { state: 'sent', attempts: m.attempts + 1, sentAt: ctx.clock().toISOString(), lastError: null },
      'mail.sent',
    );
    return 'sent';
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
    sent: sentLast(ctx, 50),
    digestWaiting: ctx.meta.count('digestItems'),
  };
}

/**
 * The `n` messages sent last, newest first: those still whole (the `state` index) and the compact
 * ones, which are cold (on disk, left out of that index: `COLD` in store/meta/indexes.ts).
 */
function sentLast(ctx: Ctx, n: number): MailRecord[] {
  const both = [...ctx.meta.newest('mails', 'state', 'sent', n), ...ctx.meta.newestCold('mails', n)];
  return both.sort((a, b) => b.id - a.id).slice(0, n);
}

/** Bodies of sent messages are dropped after this many days (MAIL_RETENTION_DAYS): the outbox file or the mail server has the message. */
export const DEFAULT_MAIL_RETENTION_DAYS = 30;
/** At most this many messages lose their bodies in one pass (one store write), so a pass never holds the loop long. */
const PRUNE_BATCH = 500;

/**
 * A sent message's compact record: ids, recipients, subject, references and times — what the
 * queue page and threading read. Without `body` the file that held its text goes once no
 * message names it; the rest (In-Reply-To, List-Unsubscribe, Reply-To, the next attempt, the
 * last error, an empty Bcc) served only to send it. At ten years most messages are such records.
 */
export function compactMail(m: MailRecord, droppedAt: string): MailRecord {
  const { id, messageId, key, thread, event, to, bcc, subject, references, state, attempts, createdAt, sentAt } = m;
  return {
    id,
    messageId,
    ...(key !== undefined ? { key } : {}),
    ...(thread !== undefined ? { thread } : {}),
    event,
    to,
    ...(bcc?.length ? { bcc } : {}),
    subject,
    references,
    state,
    attempts,
    createdAt,
    sentAt,
    bodyDroppedAt: droppedAt,
  };
}

/**
 * Drop the text and HTML of messages sent more than `days` ago, and the rest of what only
 * sending needed (`compactMail`), keeping their compact record. Oldest first, at most
 * PRUNE_BATCH a call; returns how many were pruned (call again while it is PRUNE_BATCH).
 */
export async function pruneMailBodies(ctx: Ctx, days: number): Promise<number> {
  const cutoff = new Date(ctx.clock().getTime() - days * 86_400_000).toISOString();
  const puts: Record<number, MailRecord> = {};
  let n = 0;
  // Sent earliest first, only those sent by the cutoff: reads no other record.
  for (const m of ctx.meta.oldest('mails', 'bodyKept', 'kept', PRUNE_BATCH, cutoff)) {
    puts[m.id] = compactMail(m, ctx.clock().toISOString());
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
