/**
 * The mail queue is indexed by due time (issue 18, "the queue indexed by due time (no scan)"):
 * the worker takes the next due messages from the store's `mails.due` index, earliest due first,
 * and reads no other record — not the delivered ones, not the ones waiting for a later attempt.
 * A backlog drains in one pass (not 50 a second), and `stop()` ends a pass after the messages in
 * flight, so a shutdown never writes into a closed store.
 */
import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { MailWorker } from '../../server/services/notifications/deliver.js';
import type { MailTransport, OutgoingMail } from '../../server/store/mail/transport.js';
import type { MailRecord } from '../../server/store/meta/schema.js';
import { openTestData, testClock, type TestData } from '../helpers/data.js';

describe('services/mailQueue', () => {
  const FROM = 'ratify@ratify.test';
  const NOW = '2026-03-01T09:00:00.000Z';

  const opened: TestData[] = [];
  afterEach(async () => {
    for (const t of opened.splice(0)) await t.cleanup();
  });

  function mail(id: number, state: MailRecord['state'], nextAttemptAt: string): MailRecord {
    return {
      id,
      messageId: `<m${id}@ratify.test>`,
      event: 'test',
      to: [`m${id}@example.org`],
      bcc: [],
      subject: `Message ${id}`,
      text: state === 'sent' ? '' : `Body ${id}`,
      html: '',
      inReplyTo: null,
      references: [],
      listUnsubscribe: null,
      state,
      attempts: state === 'pending' ? 0 : 1,
      nextAttemptAt,
      lastError: null,
      createdAt: '2026-01-01T00:00:00.000Z',
      sentAt: state === 'sent' ? '2026-01-01T00:00:01.000Z' : null,
    };
  }

  /** A store holding `mails`, written in one change. */
  async function withMails(mails: MailRecord[]) {
    const clock = testClock(NOW);
    const t = await openTestData({ clock, seed: false });
    opened.push(t);
    const puts: Record<number, MailRecord> = {};
    for (const m of mails) puts[m.id] = m;
    await t.ctx.meta.write({ actor: null, at: clock(), events: [], puts: { mails: puts } });
    return { t, ctx: t.ctx, clock };
  }

  /** A transport that records what it was given, optionally waiting on each send. */
  function recording(wait: () => Promise<void> = async () => {}) {
    const sent: OutgoingMail[] = [];
    const transport: MailTransport = {
      kind: 'outbox',
      send: async (m) => {
        await wait();
        sent.push(m);
      },
      close: () => {},
    };
    return { sent, transport };
  }

  describe('the worker takes due messages from the due-time index', () => {
    test('with 5,000 delivered and 500 waiting for later, a pass reads only the 3 due messages, earliest due first', async () => {
      const mails: MailRecord[] = [];
      let id = 0;
      for (let i = 0; i < 5000; i++) mails.push(mail(++id, 'sent', '2026-01-01T00:00:00.000Z'));
      for (let i = 0; i < 500; i++) mails.push(mail(++id, 'pending', '2026-03-01T10:00:00.000Z'));
      // Due, in this order of due time (not of id): a retry due first, then two new ones.
      const due = [
        mail(++id, 'pending', '2026-03-01T08:59:59.000Z'),
        mail(++id, 'pending', '2026-03-01T08:00:00.000Z'),
        mail(++id, 'pending', '2026-03-01T09:00:00.000Z'),
      ];
      mails.push(...due);
      const { ctx } = await withMails(mails);
      const by = jest.spyOn(ctx.meta, 'by');
      const all = jest.spyOn(ctx.meta, 'all');
      const oldest = jest.spyOn(ctx.meta, 'oldest');
      const { sent, transport } = recording();

      expect(await new MailWorker(ctx, transport, FROM).tick()).toBe(3);

      expect(sent.map((m) => m.id)).toEqual([due[1].id, due[0].id, due[2].id]);
      expect(by.mock.calls.filter(([kind]) => kind === 'mails')).toEqual([]);
      expect(all.mock.calls.filter(([kind]) => kind === 'mails')).toEqual([]);
      // Every record the worker was handed is one it sent: none delivered, none not yet due.
      const read = oldest.mock.results.flatMap((r) => r.value as MailRecord[]);
      expect(read.map((m) => m.id).sort()).toEqual(due.map((m) => m.id).sort());
      for (const [kind, index, key, , upTo] of oldest.mock.calls)
        expect({ kind, index, key, upTo }).toEqual({ kind: 'mails', index: 'due', key: 'pending', upTo: NOW });
      expect(ctx.meta.countBy('mails', 'due', 'pending')).toBe(500);
    });

    test('a backlog larger than one batch is delivered in one pass, each message once', async () => {
      const mails = Array.from({ length: 230 }, (_, i) => mail(i + 1, 'pending', NOW));
      const { ctx } = await withMails(mails);
      const { sent, transport } = recording();
      expect(await new MailWorker(ctx, transport, FROM).tick()).toBe(230);
      expect(new Set(sent.map((m) => m.id)).size).toBe(230);
      expect(ctx.meta.countBy('mails', 'state', 'sent')).toBe(230);
      expect(ctx.meta.countBy('mails', 'due', 'pending')).toBe(0);
    });

    test('a message whose attempt failed leaves the due index until its next attempt is due', async () => {
      const { ctx, clock } = await withMails([mail(1, 'pending', NOW)]);
      const failing: MailTransport = {
        kind: 'smtp',
        send: async () => {
          throw Object.assign(new Error('try later'), { responseCode: 421 });
        },
        close: () => {},
      };
      expect(await new MailWorker(ctx, failing, FROM).tick()).toBe(0);
      expect(ctx.meta.oldest('mails', 'due', 'pending', 10, clock().toISOString())).toEqual([]);
      clock.advance(5_000);
      expect(ctx.meta.oldest('mails', 'due', 'pending', 10, clock().toISOString()).map((m) => m.id)).toEqual([1]);
    });

    test('stop() lets the messages in flight finish and ends the pass; nothing is written after it resolves', async () => {
      const mails = Array.from({ length: 200 }, (_, i) => mail(i + 1, 'pending', NOW));
      const { ctx } = await withMails(mails);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const { sent, transport } = recording(() => gate);
      const worker = new MailWorker(ctx, transport, FROM);
      const pass = worker.tick();
      await new Promise((r) => setTimeout(r, 20));
      const stopped = worker.stop();
      release();
      await stopped;
      const write = jest.spyOn(ctx.meta, 'write');
      const n = await pass;
      expect(write).not.toHaveBeenCalled();
      expect(n).toBe(sent.length);
      expect(n).toBeLessThan(200);
      expect(ctx.meta.countBy('mails', 'state', 'sent')).toBe(n);
      // A stopped worker starts no pass.
      expect(await worker.tick()).toBe(0);
    });
  });
});
