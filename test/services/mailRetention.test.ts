/**
 * Mail with a lifetime (issue 18, item 3): a sent message's text and HTML are dropped
 * MAIL_RETENTION_DAYS after it went out (the outbox file or the mail server has it), and its
 * record becomes a compact one (ids, recipients, subject, times: what the queue page and
 * threading read); waiting and failed messages keep theirs. The queue's page lists at most MAIL_PAGE of
 * each kind and counts the rest.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { MailRecord } from '../../server/domain/records.js';
import { MAIL_PAGE, mailQueue, pruneMailBodies } from '../../server/services/notifications/deliver.js';
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { openTestData, testClock } from '../helpers/data.js';
import { recipientKey } from '../../server/store/meta/indexes.js';
import { wasSent } from '../../server/services/notifications/queue.js';

describe('services/mailRetention', () => {
  const clock = testClock('2026-03-01T10:00:00Z');
  let t: Awaited<ReturnType<typeof openTestData>>;

  const mail = (id: number, state: MailRecord['state'], sentAt: string | null): MailRecord => ({
    id,
    messageId: `<m${id}.u${id}@ratify.test>`,
    key: `<m${id}@ratify.test>`,
    thread: '<thread@ratify.test>',
    event: 'test',
    to: [`u${id}@example.org`],
    bcc: [],
    subject: `Message ${id}`,
    text: `Body ${id}`,
    html: `<p>Body ${id}</p>`,
    inReplyTo: null,
    references: [],
    listUnsubscribe: null,
    state,
    attempts: state === 'sent' ? 1 : 0,
    nextAttemptAt: '2026-01-01T00:00:00.000Z',
    lastError: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    sentAt,
  });

  beforeAll(async () => {
    t = await openTestData({ clock });
    const puts: Record<number, MailRecord> = {};
    // 1–600 sent 40 days ago, 601–610 sent yesterday, 611–750 waiting, 751–760 failed.
    for (let id = 1; id <= 760; id++)
      puts[id] =
        id <= 600
          ? mail(id, 'sent', '2026-01-20T10:00:00.000Z')
          : id <= 610
            ? mail(id, 'sent', '2026-02-28T10:00:00.000Z')
            : id <= 750
              ? mail(id, 'pending', null)
              : mail(id, 'failed', null);
    await t.ctx.meta.write({ actor: null, at: clock(), events: [], puts: { mails: puts } });
  });
  afterAll(() => t.cleanup());

  test('bodies of messages sent before the retention period go, a batch at a time; their records stay', async () => {
    const first = await pruneMailBodies(t.ctx, 30);
    expect(first).toBe(500);
    const second = await pruneMailBodies(t.ctx, 30);
    expect(second).toBe(100);
    expect(await pruneMailBodies(t.ctx, 30)).toBe(0);
    const old = t.ctx.meta.get('mails', 1)!;
    // A compact record: what the queue page and threading read, nothing of the sending.
    expect(old).toEqual({
      id: 1,
      messageId: '<m1.u1@ratify.test>',
      key: '<m1@ratify.test>',
      thread: '<thread@ratify.test>',
      event: 'test',
      to: ['u1@example.org'],
      subject: 'Message 1',
      references: [],
      state: 'sent',
      attempts: 1,
      createdAt: '2026-01-01T00:00:00.000Z',
      sentAt: '2026-01-20T10:00:00.000Z',
      bodyDroppedAt: clock().toISOString(),
    });
    // Threading still finds it: the recipient was sent this logical message, and it is the
    // newest of their copies in the thread.
    expect(wasSent(t.ctx, 'u1@example.org', '<thread@ratify.test>', '<m1@ratify.test>')).toBe(true);
    expect(wasSent(t.ctx, 'u2@example.org', '<thread@ratify.test>', '<m1@ratify.test>')).toBe(false);
    expect(t.ctx.meta.newest('mails', 'thread', recipientKey('u1@example.org', '<thread@ratify.test>'), 1)).toEqual([
      old,
    ]);
    // Sent yesterday, waiting, failed: untouched.
    for (const id of [601, 700, 755]) expect(t.ctx.meta.get('mails', id)!.text).toBe(`Body ${id}`);
    // The queue's page lists the messages sent last, whole or compact (compact ones are on disk).
    const ids = (from: number, to: number) => Array.from({ length: from - to + 1 }, (_, i) => from - i);
    expect(mailQueue(t.ctx, CLI_ACTOR).sent.map((m) => m.id)).toEqual(ids(610, 561));
    // After the period, yesterday's go too.
    clock.advance(31 * 86_400_000);
    expect(await pruneMailBodies(t.ctx, 30)).toBe(10);
  });

  test("the queue's page lists at most MAIL_PAGE of each kind, newest first, and counts them all", () => {
    const q = mailQueue(t.ctx, CLI_ACTOR);
    expect(q.pendingCount).toBe(140);
    expect(q.pending).toHaveLength(MAIL_PAGE);
    expect(q.pending[0].id).toBe(750);
    expect(q.failedCount).toBe(10);
    expect(q.failed).toHaveLength(10);
    expect(q.sent.map((m) => m.id)).toEqual(Array.from({ length: 50 }, (_, i) => 610 - i));
  });
});
