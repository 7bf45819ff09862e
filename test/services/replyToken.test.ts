/**
 * The reply-by-mail token (issue 13): `reply+<token>@<REPLY_DOMAIN>` names the recipient, the
 * thread and what kind of answer it takes, under an HMAC of the installation's mail secret. A
 * token read back names exactly what it was made for; changing any field (another user, another
 * thread, another kind) or the MAC, or reading it on another installation, names nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parseReplyAddress, type ReplyTarget } from '../../server/domain/replyAddress.js';
import { readReplyAddress, replyAddress } from '../../server/services/notifications/replyToken.js';
import { openTestData, testClock, type TestData } from '../helpers/data.js';
import { committee } from '../helpers/people.js';

describe('services/replyToken', () => {
  let t: TestData;
  let other: TestData;
  let who: Awaited<ReturnType<typeof committee>>;
  beforeAll(async () => {
    t = await openTestData({ clock: testClock('2026-03-01T09:00:00Z'), replyDomain: 'reply.ratify.test' });
    other = await openTestData({
      clock: testClock('2026-03-01T09:00:00Z'),
      replyDomain: 'reply.ratify.test',
    });
    who = await committee(t.ctx);
    await committee(other.ctx);
  });
  afterAll(async () => {
    await t?.cleanup();
    await other?.cleanup();
  });

  const notice: ReplyTarget = { kind: 'notice', subject: { type: 'proposal', id: 12 } };
  const thread: ReplyTarget = { kind: 'thread', subject: { type: 'proposal', id: 12 }, root: 34 };
  const vote: ReplyTarget = { kind: 'vote', subject: { type: 'consolidation', id: 3 }, round: 7 };

  test('an address names its member and target, reads back to them, and is compact lower-case', () => {
    for (const target of [notice, thread, vote]) {
      const a = replyAddress(t.ctx, who.m1.id, target)!;
      expect(a).toMatch(/^reply\+[0-9a-z-]+@reply\.ratify\.test$/);
      expect(a.split('@')[0].length).toBeLessThanOrEqual(64);
      const read = readReplyAddress(t.ctx, a);
      expect(read?.user.id).toBe(who.m1.id);
      expect(read?.target).toEqual(target);
      // Mail systems may change the case of the local part: the token survives.
      expect(readReplyAddress(t.ctx, a.toUpperCase())?.target).toEqual(target);
    }
  });

  test('each recipient and each thread gets its own token', () => {
    const a = replyAddress(t.ctx, who.m1.id, thread)!;
    expect(replyAddress(t.ctx, who.m2.id, thread)).not.toBe(a);
    expect(replyAddress(t.ctx, who.m1.id, { ...thread, root: 35 })).not.toBe(a);
    expect(replyAddress(t.ctx, who.m1.id, notice)).not.toBe(a);
  });

  test('a token with another user, thread, kind or MAC names nothing', () => {
    const a = replyAddress(t.ctx, who.m1.id, thread)!;
    const mac = parseReplyAddress(a, 'reply.ratify.test')!.mac;
    const forged = [
      // Another member with m1's MAC.
      `reply+${who.m2.id}-p12-t34-${mac}@reply.ratify.test`,
      // Another proposal, another thread, another kind.
      `reply+${who.m1.id}-p13-t34-${mac}@reply.ratify.test`,
      `reply+${who.m1.id}-p12-t35-${mac}@reply.ratify.test`,
      `reply+${who.m1.id}-c12-t34-${mac}@reply.ratify.test`,
      `reply+${who.m1.id}-p12-n-${mac}@reply.ratify.test`,
      // One character of the MAC changed.
      a.replace(/-([0-9a-z])([0-9a-z]{23})@/, (_m, c: string, rest: string) => `-${c === 'a' ? 'b' : 'a'}${rest}@`),
      // The right token at another domain, or not a token at all.
      a.replace('@reply.ratify.test', '@elsewhere.test'),
      'reply+abc@reply.ratify.test',
      `reply+${who.m1.id}-p12-t34@reply.ratify.test`,
      '',
    ];
    for (const f of forged) expect(readReplyAddress(t.ctx, f)).toBeNull();
  });

  test('a token of another installation names nothing here', () => {
    const theirs = replyAddress(other.ctx, who.m1.id, notice)!;
    expect(readReplyAddress(other.ctx, theirs)?.user.id).toBe(who.m1.id);
    expect(readReplyAddress(t.ctx, theirs)).toBeNull();
  });

  test('a token for an account that does not exist names nothing', () => {
    expect(readReplyAddress(t.ctx, replyAddress(t.ctx, 999, notice)!)).toBeNull();
  });

  test('without REPLY_DOMAIN there is no reply address', async () => {
    const plain = await openTestData({ seed: false });
    try {
      expect(replyAddress(plain.ctx, 1, notice)).toBeNull();
    } finally {
      await plain.cleanup();
    }
  });
});
