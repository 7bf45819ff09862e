/**
 * 7. Mail to the outbox: messages a second the MailWorker writes to `outbox/` (each an fsynced
 * .eml, and its "sent" record an fsynced journal line) with 10,000 and 100,000 delivered messages
 * already in the store. The worker takes due messages from the `mails.due` index, so the
 * delivered ones should not slow it down. Target (issue 18): ≥ 500 messages a second.
 *
 * Run alone with `npx tsx bench/mail.ts` (prints the table; `npm run bench` writes it into
 * docs/BENCHMARKS.md).
 */
import * as path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as fsp from 'node:fs/promises';
import { MAIL_BODIES } from '../server/bootstrap.js';
import { makeCtx } from '../server/services/context.js';
import { MailWorker } from '../server/services/notifications/deliver.js';
import { outboxTransport, OUTBOX_PARALLEL } from '../server/store/mail/transport.js';
import type { GitRepository } from '../server/store/git/repository.js';
import type { MailRecord } from '../server/store/meta/schema.js';
import { MetaStore } from '../server/store/meta/metaStore.js';
import { load1, log, tempDir, temps, type Report } from './common.js';
import { ms, table } from './stats.js';

/** Messages queued for each measure. */
const WAITING = 2_000;
const TARGET_PER_SECOND = 500;

export interface MailSize {
  delivered: number;
  waiting: number;
  drainMs: number;
  perSecond: number;
  /** CPU time of this process per message (what the code costs, whatever else runs). */
  cpuMs: number;
  loopMaxMs: number;
}

/** A notification as the queue holds it: about 1.5 KB of text and 3 KB of HTML. */
function message(id: number, state: MailRecord['state'], at: string): MailRecord {
  const para = `Proposal ${id % 400} on the terms of reference was shared by a member of the working group. `;
  return {
    id,
    messageId: `<proposal-${id}.m${id % 60}@bench.example.org>`,
    key: `<proposal-${id}@bench.example.org>`,
    thread: `<proposal-${id}@bench.example.org>`,
    event: 'proposal.shared',
    to: [`member${id % 60}@example.org`],
    bcc: [],
    subject: `[ToR] Proposal ${id}: a clearer quorum rule`,
    // Delivered messages past MAIL_RETENTION_DAYS keep only their record.
    text: state === 'sent' ? '' : para.repeat(16),
    html: state === 'sent' ? '' : `<!doctype html><html><body>${`<p>${para}</p>`.repeat(32)}</body></html>`,
    inReplyTo: null,
    references: [],
    listUnsubscribe: `<https://bench.example.org/unsubscribe/${id}>`,
    state,
    attempts: state === 'sent' ? 1 : 0,
    nextAttemptAt: at,
    lastError: null,
    createdAt: at,
    sentAt: state === 'sent' ? at : null,
    ...(state === 'sent' ? { bodyDroppedAt: at } : {}),
  };
}

/** Write `from`…`to` as records of `state`, 1,000 to a change. */
async function fill(store: MetaStore, from: number, to: number, state: MailRecord['state']): Promise<void> {
  const at = new Date().toISOString();
  for (let id = from; id <= to; ) {
    const puts: Record<number, MailRecord> = {};
    for (let k = 0; k < 1000 && id <= to; k++, id++) puts[id] = message(id, state, at);
    await store.write({ actor: null, at: new Date(), events: [], puts: { mails: puts } });
  }
}

async function measure(delivered: number): Promise<MailSize> {
  const dir = await tempDir('ratify-bench-mail-');
  // As the server opens it: messages' text and HTML in files of their own, not in the records.
  const store = await MetaStore.open(path.join(dir, 'meta'), { detach: MAIL_BODIES });
  try {
    await fill(store, 1, delivered, 'sent');
    await fill(store, delivered + 1, delivered + WAITING, 'pending');
    // The worker reads the store, the clock and the mail settings only.
    const ctx = makeCtx(null as unknown as GitRepository, store, () => new Date(), {
      baseUrl: 'https://bench.example.org',
    });
    const transport = outboxTransport(path.join(dir, 'outbox'));
    const worker = new MailWorker(ctx, transport, 'ratify@bench.example.org');
    log(`  mail: ${delivered.toLocaleString('en')} delivered, ${WAITING} waiting (load average ${load1()})`);
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const t = performance.now();
    const cpu0 = process.cpuUsage();
    let sent = 0;
    while (sent < WAITING) {
      const n = await worker.tick();
      if (!n) throw new Error(`the worker stopped after ${sent} of ${WAITING} messages`);
      sent += n;
    }
    const drainMs = performance.now() - t;
    const cpu = process.cpuUsage(cpu0);
    h.disable();
    await worker.stop();
    transport.close();
    const files = (await fsp.readdir(path.join(dir, 'outbox'))).filter((f) => f.endsWith('.eml')).length;
    if (files !== WAITING) throw new Error(`${files} files in the outbox, ${WAITING} expected`);
    return {
      delivered,
      waiting: WAITING,
      drainMs,
      perSecond: WAITING / (drainMs / 1000),
      cpuMs: (cpu.user + cpu.system) / 1000 / WAITING,
      loopMaxMs: h.max / 1e6,
    };
  } finally {
    await store.close();
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

export async function mailBench(): Promise<MailSize[]> {
  const sizes: MailSize[] = [];
  for (const delivered of [10_000, 100_000]) sizes.push(await measure(delivered));
  return sizes;
}

export async function mailPart({ body, misses, notes }: Report): Promise<void> {
  log('mail: messages a second to the outbox');
  const sizes = await mailBench();
  body.push(
    '## 7. Mail to the outbox',
    '',
    `${WAITING.toLocaleString('en')} waiting messages (about 1.5 KB of text and 3 KB of HTML each) delivered by the MailWorker to the outbox (an fsynced \`.eml\` each, and an fsynced journal line recording it sent; ${OUTBOX_PARALLEL} at a time), with delivered messages already in the store:`,
    '',
    table(
      [
        'delivered in the store',
        'waiting',
        'drained in',
        'messages/s',
        'target',
        'CPU per message',
        'longest event-loop delay',
      ],
      sizes.map((s) => [
        s.delivered.toLocaleString('en'),
        s.waiting.toLocaleString('en'),
        `${ms(s.drainMs)} ms`,
        Math.round(s.perSecond).toLocaleString('en'),
        `≥ ${TARGET_PER_SECOND}`,
        `${ms(s.cpuMs)} ms`,
        `${ms(s.loopMaxMs)} ms`,
      ]),
    ),
    '',
  );
  for (const s of sizes)
    if (s.perSecond < TARGET_PER_SECOND)
      misses.push(
        `Mail to the outbox: ${Math.round(s.perSecond)} messages/s with ${s.delivered.toLocaleString('en')} delivered in the store (target ≥ ${TARGET_PER_SECOND}).`,
      );
  notes.push(
    `**Mail.** The worker takes the next due messages from the \`mails.due\` index (waiting messages by \`nextAttemptAt\`), 64 at a time, so the delivered messages in the store are never read: ${sizes.map((s) => `${Math.round(s.perSecond)} messages/s with ${s.delivered.toLocaleString('en')} delivered`).join(', ')}. Each message costs an fsynced file and rename, an fsync of the outbox folder and a journal line (concurrent lines share one fsync); it is the disk that bounds the rate.`,
  );
}

// `npx tsx bench/mail.ts`: this measure alone, printed.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const report: Report = { body: [], misses: [], notes: [] };
  mailPart(report)
    .then(() =>
      console.log([...report.body, ...report.misses.map((m) => `- missed: ${m}`), ...report.notes].join('\n')),
    )
    .catch((e) => {
      console.error(e);
      process.exitCode = 1;
    })
    .finally(() => Promise.all(temps.map((d) => fsp.rm(d, { recursive: true, force: true }))));
}
