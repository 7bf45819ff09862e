/**
 * Delivery that never loses a message (issue 6, "Durable queue"): the workflow goes on while
 * the SMTP server is down (refusing with 421/451, or not listening), failures are recorded with
 * a backoff, and the message arrives once the server is back; a restart mid-queue sends the
 * rest and nothing twice; a send whose 'sent' record was lost goes again with the SAME
 * Message-ID (at-least-once with a stable id); outbox mode writes one valid .eml per message and
 * overwrites it on a resend; concurrent ticks send each message once; retryMail.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { simpleParser } from 'mailparser';
import { requestPasswordReset } from '../../server/services/accounts/links.js';
import { backoffMs, MailWorker, MAX_ATTEMPTS, retryMail } from '../../server/services/notifications/deliver.js';
import { listId } from '../../server/domain/mail.js';
import { openRound } from '../../server/services/rounds/rounds.js';
import {
  outboxTransport,
  SMTP_TIMEOUTS,
  smtpTransport,
  type MailTransport,
  type OutgoingMail,
} from '../../server/store/mail/transport.js';
import type { MailRecord } from '../../server/store/meta/schema.js';
import { openTestData, testClock, type TestData } from '../helpers/data.js';
import { S1, S2, sharedProposal, openWithCommittee } from '../helpers/people.js';
import { addresses, header, startSmtp, type TestSmtp } from '../helpers/smtp.js';

describe('services/mailDelivery.integration', () => {
  const FROM = 'ratify@ratify.test';
  const LIST = 'members@lists.example.org';

  let smtp: TestSmtp;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    smtp = await startSmtp();
  });
  afterAll(async () => {
    await smtp?.stop();
  });
  afterEach(async () => {
    // Stopping drops any connection a test left hanging; then the same port listens again.
    await smtp.stopListening();
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
    await smtp.listen();
    smtp.accept();
    smtp.clear();
  });

  type Clock = ReturnType<typeof testClock>;

  async function data(
    clock: Clock,
    opts: { listAddress?: string; dataDir?: string; seed?: boolean } = {},
  ): Promise<TestData> {
    const t = await openTestData({
      clock,
      listAddress: opts.listAddress ?? LIST,
      dataDir: opts.dataDir,
      seed: opts.seed,
    });
    cleanups.push(() => t.cleanup());
    return t;
  }

  async function setup(opts: { listAddress?: string; transport?: MailTransport } = {}) {
    const clock = testClock('2026-03-01T09:00:00Z');
    const { t, who } = await openWithCommittee({ clock, listAddress: opts.listAddress ?? LIST });
    cleanups.push(() => t.cleanup());
    const transport = opts.transport ?? smtpTransport(smtp.url);
    cleanups.push(async () => transport.close());
    const worker = new MailWorker(t.ctx, transport, FROM);
    const mail = (id: number) => t.ctx.meta.get('mails', id)!;
    const mails = () => t.ctx.meta.all('mails').sort((a, b) => a.id - b.id);
    return { t, ctx: t.ctx, clock, who, transport, worker, mail, mails };
  }

  /** Share `n` proposals (each queues one list message). */
  async function shareSome(s: Awaited<ReturnType<typeof setup>>, n: number) {
    const out = [];
    for (let i = 0; i < n; i++)
      out.push(
        await sharedProposal(
          s.ctx,
          s.who.drafter,
          `Change ${i + 1}`,
          (t) => t.replace(i % 2 ? S2 : S1, '') + `\nAddendum ${i + 1}.\n`,
        ),
      );
    return out;
  }

  /** The queued message as the worker hands it to the transport. */
  const outgoing = (ctx: TestData['ctx'], m: MailRecord): OutgoingMail => ({
    id: m.id,
    messageId: m.messageId,
    from: FROM,
    to: m.to,
    bcc: m.bcc ?? [],
    subject: m.subject,
    text: m.text ?? '',
    html: m.html ?? '',
    inReplyTo: m.inReplyTo,
    references: m.references,
    listId: listId({ baseUrl: ctx.mail.baseUrl, host: ctx.mail.host }),
    listUnsubscribe: m.listUnsubscribe,
  });

  describe('SMTP down: the workflow goes on, the message waits and arrives once', () => {
    test.each([
      ['refuses connections (421)', { at: 'connect', code: 421 } as const],
      ['refuses MAIL FROM (451)', { at: 'mail', code: 451 } as const],
    ])('the server %s', async (_name, refusal) => {
      const s = await setup();
      smtp.refuse(refusal);
      const [p] = await shareSome(s, 1);
      expect(s.ctx.meta.get('proposals', p.id)!.state).toBe('shared');
      const [m0] = s.mails();
      expect(m0).toMatchObject({ state: 'pending', attempts: 0, lastError: null });

      const now = s.clock().getTime();
      expect(await s.worker.tick()).toBe(0);
      expect(smtp.refusedAttempts).toBe(1);
      const failed = s.mail(m0.id);
      expect(failed.state).toBe('pending');
      expect(failed.attempts).toBe(1);
      expect(failed.lastError).toEqual(expect.any(String));
      expect(failed.lastError!.length).toBeGreaterThan(0);
      expect(Date.parse(failed.nextAttemptAt!)).toBe(now + backoffMs(1));
      expect(backoffMs(1)).toBe(5_000);
      expect(failed.messageId).toBe(m0.messageId);

      // Not due yet: no new attempt.
      expect(await s.worker.tick()).toBe(0);
      expect(smtp.refusedAttempts).toBe(1);
      // Back, but still waiting for the backoff.
      smtp.accept();
      s.clock.advance(4_000);
      expect(await s.worker.tick()).toBe(0);
      expect(smtp.messages).toHaveLength(0);
      s.clock.advance(1000);
      expect(await s.worker.tick()).toBe(1);
      expect(await s.worker.tick()).toBe(0);
      expect(smtp.messages.map((m) => m.messageId)).toEqual([m0.messageId]);
      expect(s.mail(m0.id)).toMatchObject({ state: 'sent', attempts: 2, lastError: null });
    });

    test('the server is not listening: more events are queued, the backoff grows, all arrive once on the same port', async () => {
      const s = await setup();
      const port = smtp.port;
      await smtp.stopListening();
      const proposals = await shareSome(s, 2);
      // A round opens meanwhile (a list message and five ballots).
      await openRound(s.ctx, s.who.chair.actor, {
        subject: { type: 'proposal', id: proposals[0].id },
        rule: 'majority',
        quorum: 0.5,
        closesAt: '2026-03-08T17:00:00Z',
      });
      expect(s.mails()).toHaveLength(2 + 1 + 5);

      const t0 = s.clock().getTime();
      expect(await s.worker.tick()).toBe(0);
      const first = s.mails()[0];
      expect(first.attempts).toBe(1);
      expect(first.lastError).toBeTruthy();
      expect(Date.parse(first.nextAttemptAt!)).toBe(t0 + 5_000);
      // The pass stopped at the first failure: the others were not tried.
      expect(
        s
          .mails()
          .slice(1)
          .every((m) => m.attempts === 0 && m.state === 'pending'),
      ).toBe(true);

      // Earliest due first: the others have been due since t0, so each pass (the server still
      // down) tries the next of them, until the first is due again and waits longer.
      for (let i = 0; s.mails()[0].attempts < 2; i++) {
        expect(i).toBeLessThan(20);
        s.clock.advance(1_000);
        expect(await s.worker.tick()).toBe(0);
      }
      const t1 = s.clock().getTime();
      expect(Date.parse(s.mails()[0].nextAttemptAt!)).toBe(t1 + 10_000);
      expect(s.mails().every((m) => m.attempts >= 1)).toBe(true);

      await smtp.listen();
      expect(smtp.port).toBe(port);
      // Due again only after the backoff; the others sooner.
      s.clock.advance(5_000);
      expect(await s.worker.tick()).toBe(7);
      s.clock.advance(5_000);
      expect(await s.worker.tick()).toBe(1);
      expect(await s.worker.tick()).toBe(0);
      const counts = smtp.messageIdCounts();
      expect(counts.size).toBe(8);
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
      expect(new Set(counts.keys())).toEqual(new Set(s.mails().map((m) => m.messageId)));
      expect(s.mails().every((m) => m.state === 'sent')).toBe(true);
    });

    test('the backoff doubles from 5 s and stops growing at 15 minutes; after MAX_ATTEMPTS the message is failed, and retryMail puts it back', async () => {
      const s = await setup();
      smtp.refuse({ at: 'connect', code: 421 });
      await shareSome(s, 1);
      const id = s.mails()[0].id;
      const pauses: number[] = [];
      for (let i = 1; i <= MAX_ATTEMPTS; i++) {
        const now = s.clock().getTime();
        expect(await s.worker.tick()).toBe(0);
        const m = s.mail(id);
        expect(m.attempts).toBe(i);
        if (i < MAX_ATTEMPTS) {
          expect(m.state).toBe('pending');
          pauses.push(Date.parse(m.nextAttemptAt!) - now);
          s.clock.set(m.nextAttemptAt!);
        } else {
          expect(m.state).toBe('failed');
        }
      }
      expect(pauses.slice(0, 9)).toEqual([5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 640_000, 900_000]);
      expect(Math.max(...pauses)).toBe(900_000);
      expect(smtp.refusedAttempts).toBe(MAX_ATTEMPTS);
      expect(
        (await s.ctx.meta.auditLog(50)).some((e) => e.action === 'mail.failed' && e.subject === `mail/${id}`),
      ).toBe(true);

      // A failed message is not tried again by itself.
      s.clock.advance(24 * 3_600_000);
      expect(await s.worker.tick()).toBe(0);
      expect(smtp.refusedAttempts).toBe(MAX_ATTEMPTS);

      // The secretariat retries it: pending now, attempts from zero; it arrives once.
      smtp.accept();
      await retryMail(s.ctx, s.who.sec.actor, id);
      expect(s.mail(id)).toMatchObject({ state: 'pending', attempts: 0 });
      expect(Date.parse(s.mail(id).nextAttemptAt!)).toBe(s.clock().getTime());
      expect(
        (await s.ctx.meta.auditLog(5)).some((e) => e.action === 'mail.retried' && e.actor === s.who.sec.email),
      ).toBe(true);
      expect(await s.worker.tick()).toBe(1);
      expect(smtp.messages).toHaveLength(1);
      // Retrying a sent message changes nothing and sends nothing.
      const sent = s.mail(id);
      await retryMail(s.ctx, s.who.sec.actor, id);
      expect(s.mail(id)).toEqual(sent);
      expect(await s.worker.tick()).toBe(0);
      expect(smtp.messages).toHaveLength(1);
      // An unknown id is ignored.
      await retryMail(s.ctx, s.who.sec.actor, 9999);
    });

    test('retryMail on a message waiting for its backoff sends it now (attempts kept)', async () => {
      const s = await setup();
      smtp.refuse({ at: 'connect', code: 421 });
      await shareSome(s, 1);
      const id = s.mails()[0].id;
      await s.worker.tick();
      smtp.accept();
      expect(await s.worker.tick()).toBe(0);
      await retryMail(s.ctx, s.who.sec.actor, id);
      expect(s.mail(id)).toMatchObject({ state: 'pending', attempts: 1 });
      expect(await s.worker.tick()).toBe(1);
      expect(smtp.messages).toHaveLength(1);
    });
  });

  // Regression (was a bug): smtpTransport uses nodemailer's default timeouts (socket 10 min), so a mail server that
  // stops answering holds the MailWorker — and, in server/main.ts, the whole periodic sweep, so
  // rounds stop closing at their deadline — for up to ten minutes per attempt.
  describe('a mail server that hangs', () => {
    test('a send to a server that never answers gives up after the socket timeout and is recorded as a failed attempt', async () => {
      // The production timeouts (SMTP_TIMEOUTS: 15 s to connect or greet, 30 s of silence) scaled
      // down, so the test is about the mechanism: the send settles once the socket timeout passes.
      const timeouts = { connection: 300, greeting: 300, socket: 600 };
      const s = await setup({ transport: smtpTransport(smtp.url, timeouts) });
      await shareSome(s, 1);
      smtp.stall();
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        s.worker.tick().then(() => 'settled'),
        new Promise((r) => (timer = setTimeout(() => r('still waiting'), 10_000))),
      ]);
      clearTimeout(timer);
      const waited = Date.now() - started;
      expect(outcome).toBe('settled');
      expect(waited).toBeGreaterThanOrEqual(timeouts.greeting - 50);
      expect(waited).toBeLessThan(10_000);
      expect(s.mails()[0]).toMatchObject({ state: 'pending', attempts: 1 });
      // (the afterEach drops the hanging connection by restarting the server)
    });
    test("production timeouts are bounded: never nodemailer's 10 minutes", () => {
      expect(SMTP_TIMEOUTS).toEqual({ connection: 15_000, greeting: 15_000, socket: 30_000 });
    });
  });

  describe('restart mid-queue', () => {
    test('5 queued, 2 delivered, data closed and reopened: the other 3 arrive, none twice', async () => {
      const s = await setup();
      await shareSome(s, 5);
      expect(s.mails()).toHaveLength(5);
      expect(await s.worker.tick(2)).toBe(2);
      expect(smtp.messages).toHaveLength(2);
      const ids = s.mails().map((m) => m.messageId);
      await s.t.close();

      const t2 = await data(s.clock, { dataDir: s.t.dataDir, seed: false });
      const transport = smtpTransport(smtp.url);
      cleanups.push(async () => transport.close());
      const after = t2.ctx.meta.all('mails').sort((a, b) => a.id - b.id);
      expect(after.map((m) => m.state)).toEqual(['sent', 'sent', 'pending', 'pending', 'pending']);
      expect(after.map((m) => m.messageId)).toEqual(ids);
      const worker = new MailWorker(t2.ctx, transport, FROM);
      expect(await worker.tick()).toBe(3);
      expect(await worker.tick()).toBe(0);
      const counts = smtp.messageIdCounts();
      expect([...counts.keys()].sort()).toEqual([...ids].sort());
      expect([...counts.values()]).toEqual([1, 1, 1, 1, 1]);
    });

    test('a crash after the server accepted a message but before "sent" was written: sent again with the SAME Message-ID', async () => {
      const s = await setup();
      await shareSome(s, 2);
      const real = smtpTransport(smtp.url);
      cleanups.push(async () => real.close());
      let hung: Promise<void> | null = null;
      // The send completes at the server, then the process "dies": the promise never settles,
      // so the worker never records the message as sent.
      const dying: MailTransport = {
        kind: 'smtp',
        send: async (m) => {
          await real.send(m);
          hung = new Promise<void>(() => {});
          return hung;
        },
        close: () => {},
      };
      void new MailWorker(s.ctx, dying, FROM).tick();
      await smtp.waitFor(1);
      await new Promise((r) => setTimeout(r, 50));
      expect(s.mails().map((m) => m.state)).toEqual(['pending', 'pending']);
      await s.t.close();

      const t2 = await data(s.clock, { dataDir: s.t.dataDir, seed: false });
      const worker = new MailWorker(t2.ctx, real, FROM);
      expect(await worker.tick()).toBe(2);
      const counts = smtp.messageIdCounts();
      const first = t2.ctx.meta.get('mails', 1)!;
      // At-least-once: the first message arrived twice, both times with its one Message-ID.
      expect(counts.get(first.messageId)).toBe(2);
      expect(counts.size).toBe(2);
      expect(smtp.messages.filter((m) => m.messageId === first.messageId).map((m) => m.parsed.subject)).toEqual([
        first.subject,
        first.subject,
      ]);
    });

    test('a send that succeeded but whose "sent" write was lost (the transport throws after the real send) goes again with the same Message-ID', async () => {
      const s = await setup();
      await shareSome(s, 1);
      const real = smtpTransport(smtp.url);
      cleanups.push(async () => real.close());
      let failOnce = true;
      const flaky: MailTransport = {
        kind: 'smtp',
        send: async (m) => {
          await real.send(m);
          if (failOnce) {
            failOnce = false;
            throw new Error('the process died before recording the send');
          }
        },
        close: () => {},
      };
      const worker = new MailWorker(s.ctx, flaky, FROM);
      expect(await worker.tick()).toBe(0);
      const m = s.mails()[0];
      expect(m).toMatchObject({ state: 'pending', attempts: 1 });
      s.clock.advance(backoffMs(1));
      expect(await worker.tick()).toBe(1);
      expect(smtp.messages).toHaveLength(2);
      expect(smtp.messages[0].messageId).toBe(m.messageId);
      expect(smtp.messages[1].messageId).toBe(m.messageId);
      expect(s.mails()[0].state).toBe('sent');
    });
  });

  describe('outbox mode (SMTP_URL unset)', () => {
    test('one valid .eml per message under <dataDir>/outbox; a resend overwrites the same file', async () => {
      const s = await setup({ listAddress: '' });
      const dir = path.join(s.t.dataDir, 'outbox');
      const outbox = outboxTransport(dir);
      cleanups.push(async () => outbox.close());
      await shareSome(s, 1); // one copy to each member (no list address)
      await requestPasswordReset(s.ctx, s.who.m1.email); // personal
      const worker = new MailWorker(s.ctx, outbox, FROM);
      expect(await worker.tick()).toBe(6);
      const list = async () => (await fsp.readdir(dir)).filter((f) => f.endsWith('.eml')).sort();
      expect(await list()).toEqual([
        '000001.eml',
        '000002.eml',
        '000003.eml',
        '000004.eml',
        '000005.eml',
        '000006.eml',
      ]);
      // Nothing half-written is left behind.
      const leftovers = (await fsp.readdir(dir)).filter((f) => !f.endsWith('.eml') && f !== 'tmp');
      expect(leftovers).toEqual([]);
      expect(await fsp.readdir(path.join(dir, 'tmp')).catch(() => [])).toEqual([]);

      const all = s.mails();
      const shared = all[0];
      const reset = all[5];
      const raw = await fsp.readFile(path.join(dir, '000001.eml'));
      // RFC 5322 line ends (CRLF), and no Bcc header: each file is one recipient's copy.
      expect(raw.toString('utf8')).not.toMatch(/[^\r]\n/);
      expect(raw.toString('utf8')).not.toMatch(/^Bcc:/im);
      const parsedShared = await simpleParser(raw);
      expect(parsedShared.messageId).toBe(shared.messageId);
      expect(parsedShared.subject).toBe(shared.subject);
      expect(parsedShared.from?.value[0].address).toBe(FROM);
      expect(header(parsedShared, 'list-id')).toBe('Ratify <ratify.ratify.test>');
      expect(parsedShared.text).toContain('http://ratify.test/proposals/1?tab=changes');
      expect(parsedShared.html).toContain('href="http://ratify.test/proposals/1?tab=changes"');
      // One file per member (the author too: the announcement is the root of the proposal's thread).
      const recipients: string[] = [];
      for (const f of ['000001.eml', '000002.eml', '000003.eml', '000004.eml', '000005.eml']) {
        recipients.push(...addresses(await simpleParser(await fsp.readFile(path.join(dir, f))), 'to'));
      }
      expect(recipients.sort()).toEqual(
        [s.who.drafter, s.who.chair, s.who.m1, s.who.m2, s.who.m3].map((u) => u.email).sort(),
      );

      const parsedReset = await simpleParser(await fsp.readFile(path.join(dir, '000006.eml')));
      expect(parsedReset.messageId).toBe(reset.messageId);
      expect(addresses(parsedReset, 'to')).toEqual([s.who.m1.email]);
      expect(parsedReset.text).toMatch(/http:\/\/ratify\.test\/password\/set\?token=\S+/);
      expect(typeof parsedReset.html).toBe('string');

      // The same message again: the same file, replaced — no second copy.
      await outbox.send(outgoing(s.ctx, shared));
      expect(await list()).toEqual([
        '000001.eml',
        '000002.eml',
        '000003.eml',
        '000004.eml',
        '000005.eml',
        '000006.eml',
      ]);
      const again = await simpleParser(await fsp.readFile(path.join(dir, '000001.eml')));
      expect(again.messageId).toBe(shared.messageId);
      expect(again.subject).toBe(shared.subject);
    });
  });

  describe('the concurrent-tick guard', () => {
    test('two tick() calls at once send each message once', async () => {
      const s = await setup();
      await shareSome(s, 3);
      const [a, b] = await Promise.all([s.worker.tick(), s.worker.tick()]);
      expect(a + b === 3 || (a === 3 && b === 3)).toBe(true);
      expect(await s.worker.tick()).toBe(0);
      const counts = smtp.messageIdCounts();
      expect(counts.size).toBe(3);
      expect([...counts.values()]).toEqual([1, 1, 1]);
    });

    test('a tick asked for while a pass runs does not start a second pass; a later tick sends what came since', async () => {
      const s = await setup();
      await shareSome(s, 2);
      const first = s.worker.tick();
      await shareSome(s, 1); // queued while the pass is (maybe) running
      const second = s.worker.tick();
      await Promise.all([first, second]);
      await s.worker.tick();
      const counts = smtp.messageIdCounts();
      expect(counts.size).toBe(3);
      expect([...counts.values()]).toEqual([1, 1, 1]);
    });
  });
});
