/**
 * The threading law's memory (services/notifications/queue.ts, `wasSent`): whether a recipient
 * was sent a logical message is read from their copies in its thread, newest first a page at a
 * time — in a long thread the answer is the same wherever the copy sits, and no copy of another
 * recipient or another thread counts.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { MailRecord } from '../../server/domain/records.js';
import { wasSent } from '../../server/services/notifications/queue.js';
import { openTestData, testClock } from '../helpers/data.js';

describe('services/wasSent', () => {
  const clock = testClock('2026-03-01T10:00:00Z');
  let t: Awaited<ReturnType<typeof openTestData>>;

  const copy = (id: number, to: string, thread: string, key: string): MailRecord => ({
    id,
    messageId: `<${id}.copy@ratify.test>`,
    key,
    thread,
    event: 'test',
    to: [to],
    bcc: [],
    subject: `Message ${id}`,
    text: '',
    html: '',
    inReplyTo: null,
    references: [],
    listUnsubscribe: null,
    state: 'sent',
    attempts: 1,
    nextAttemptAt: '2026-01-01T00:00:00.000Z',
    lastError: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    sentAt: '2026-01-01T00:00:01.000Z',
  });

  beforeAll(async () => {
    t = await openTestData({ clock });
    const puts: Record<number, MailRecord> = {};
    // Ana: 300 copies in thread A (its root first), interleaved with Bo's copies of A and Ana's of B.
    let id = 1;
    for (let i = 0; i < 300; i++) {
      puts[id] = copy(id, 'ana@example.org', '<A@x>', i === 0 ? '<A@x>' : `<A-${i}@x>`);
      id++;
      if (i % 3 === 0) {
        puts[id] = copy(id, 'bo@example.org', '<A@x>', `<A-bo-${i}@x>`);
        id++;
        puts[id] = copy(id, 'ana@example.org', '<B@x>', `<B-${i}@x>`);
        id++;
      }
    }
    await t.ctx.meta.write({ actor: null, at: clock(), events: [], puts: { mails: puts } });
  });
  afterAll(() => t.cleanup());

  test.each([0, 1, 2, 15, 16, 17, 80, 81, 150, 298, 299])('copy %i of a 300-copy thread is found', (i) => {
    expect(wasSent(t.ctx, 'ana@example.org', '<A@x>', i === 0 ? '<A@x>' : `<A-${i}@x>`)).toBe(true);
  });

  test('what the recipient was not sent, or was sent in another thread, or another recipient was sent, is not found', () => {
    expect(wasSent(t.ctx, 'ana@example.org', '<A@x>', '<A-300@x>')).toBe(false);
    expect(wasSent(t.ctx, 'ana@example.org', '<A@x>', '<B-3@x>')).toBe(false);
    expect(wasSent(t.ctx, 'ana@example.org', '<A@x>', '<A-bo-3@x>')).toBe(false);
    expect(wasSent(t.ctx, 'bo@example.org', '<A@x>', '<A-3@x>')).toBe(false);
    expect(wasSent(t.ctx, 'bo@example.org', '<A@x>', '<A-bo-3@x>')).toBe(true);
    expect(wasSent(t.ctx, 'cy@example.org', '<A@x>', '<A@x>')).toBe(false);
  });
});
