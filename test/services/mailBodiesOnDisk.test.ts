/**
 * Messages' text and HTML on disk, as the server keeps them (issue 18: mail was 84% of the
 * state at ten years). The records of a change's messages carry empty fields and the name of one
 * file written before the change; the worker reads it back to send; the retention pass drops the
 * reference and the file goes once no message names it; a file a crash left before its change
 * was written goes at the next start; the journal and the snapshot never hold the bodies.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { simpleParser } from 'mailparser';
import { MailWorker, pruneMailBodies } from '../../server/services/notifications/deliver.js';
import { outboxTransport } from '../../server/store/mail/transport.js';
import type { MailRecord } from '../../server/store/meta/schema.js';
import { openTestData, testClock, type TestData } from '../helpers/data.js';
import { committee, S1, S2, sharedProposal } from '../helpers/people.js';

describe('services/mailBodiesOnDisk', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  async function setup(dataDir?: string, clock = testClock('2026-03-01T09:00:00Z')) {
    const t = await openTestData({ clock, mailBodiesOnDisk: true, listAddress: 'members@lists.example.org', dataDir });
    cleanups.push(() => t.cleanup());
    return { t, clock };
  }

  const bodiesDir = (t: TestData) => path.join(t.dataDir, 'meta', 'bodies');
  const files = async (t: TestData) => (await fsp.readdir(bodiesDir(t))).filter((n) => n.endsWith('.json')).sort();
  const mails = (t: TestData) => t.ctx.meta.all('mails').sort((a, b) => a.id - b.id);

  async function share(t: TestData, n: number) {
    const who = await committee(t.ctx);
    for (let i = 0; i < n; i++)
      await sharedProposal(
        t.ctx,
        who.drafter,
        `Change ${i + 1}`,
        (x) => x.replace(i % 2 ? S2 : S1, '') + `\nAddendum ${i + 1}.\n`,
      );
  }

  describe('message bodies on disk', () => {
    test('queued: the record holds no text, its file does; the journal never holds the text; sent: the .eml has it', async () => {
      const { t } = await setup();
      await share(t, 2);
      const queued = mails(t);
      expect(queued.length).toBeGreaterThanOrEqual(2);
      for (const m of queued) {
        expect({ text: m.text, html: m.html }).toEqual({ text: '', html: '' });
        expect(m.body).toMatch(/^[0-9a-z]+-[0-9a-f]{12}\.json$/);
      }
      expect(await files(t)).toEqual([...new Set(queued.map((m) => m.body!))].sort());
      const full = await t.ctx.meta.withDetached('mails', queued[0]);
      expect(full.text).toContain('Addendum 1');
      expect(full.html).toContain('<html');
      // Neither the journal nor a snapshot carries a body.
      await t.ctx.meta.snapshot();
      const metaDir = path.join(t.dataDir, 'meta');
      const journal = (await fsp.readdir(path.join(metaDir, 'journal'))).map((n) => path.join(metaDir, 'journal', n));
      for (const f of [...journal, path.join(metaDir, 'snapshot.json')])
        expect(await fsp.readFile(f, 'utf8')).not.toContain(full.text!.slice(0, 60));

      const outbox = path.join(t.dataDir, 'outbox');
      const transport = outboxTransport(outbox);
      cleanups.push(async () => transport.close());
      const worker = new MailWorker(t.ctx, transport, 'ratify@ratify.test');
      expect(await worker.tick()).toBe(queued.length);
      for (const m of mails(t)) {
        expect(m.state).toBe('sent');
        expect(m.body).toBe(queued.find((q) => q.id === m.id)!.body);
        const eml = await simpleParser(await fsp.readFile(path.join(outbox, `${String(m.id).padStart(6, '0')}.eml`)));
        expect(eml.text).toBe((await t.ctx.meta.withDetached('mails', m)).text);
      }
    });

    test('retention drops the reference; a file goes once no message names it; the records keep what the queue page shows', async () => {
      const { t, clock } = await setup();
      await share(t, 3);
      const transport = outboxTransport(path.join(t.dataDir, 'outbox'));
      cleanups.push(async () => transport.close());
      await new MailWorker(t.ctx, transport, 'ratify@ratify.test').tick();
      const before = await files(t);
      expect(before.length).toBeGreaterThanOrEqual(3);
      clock.advance(31 * 86_400_000);
      while ((await pruneMailBodies(t.ctx, 30)) > 0);
      for (const m of mails(t)) {
        expect(m.body).toBeUndefined();
        expect(m.bodyDroppedAt).toBeDefined();
        expect(m.subject).not.toBe('');
        // A compact record: no text, no HTML, no file to read them from.
        const read = await t.ctx.meta.withDetached('mails', m);
        expect([read.text, read.html, read.body]).toEqual([undefined, undefined, undefined]);
      }
      expect(await files(t)).toEqual([]);
    });

    test('while a backup copies (bodies pinned) no file goes; the removals happen once it is done', async () => {
      const { t, clock } = await setup();
      await share(t, 2);
      const transport = outboxTransport(path.join(t.dataDir, 'outbox'));
      cleanups.push(async () => transport.close());
      await new MailWorker(t.ctx, transport, 'ratify@ratify.test').tick();
      const before = await files(t);
      const unpin = t.ctx.meta.pinBodies();
      clock.advance(31 * 86_400_000);
      while ((await pruneMailBodies(t.ctx, 30)) > 0);
      expect(await files(t)).toEqual(before);
      unpin();
      unpin(); // once only
      await new Promise((r) => setTimeout(r, 50));
      expect(await files(t)).toEqual([]);
    });

    test('after a restart the files are read again; a file without a record (a crash before its change) goes at start', async () => {
      const { t } = await setup();
      await share(t, 1);
      const m = mails(t)[0];
      const text = (await t.ctx.meta.withDetached('mails', m)).text;
      await t.close();
      // What a crash between the file and its journal line leaves: a file no record names.
      const orphan = path.join(bodiesDir(t), 'zzzzzzzz-0123456789ab.json');
      await fsp.writeFile(orphan, JSON.stringify({ 999: { text: 'never acknowledged', html: '' } }));
      const { t: again } = await setup(t.dataDir);
      await expect(fsp.access(orphan)).rejects.toThrow();
      const reread = again.ctx.meta.get('mails', m.id) as MailRecord;
      expect((await again.ctx.meta.withDetached('mails', reread)).text).toBe(text);
    });

    test('a message whose file is gone is not sent empty: the attempt fails, saying why', async () => {
      const { t } = await setup();
      await share(t, 1);
      for (const f of await files(t)) await fsp.rm(path.join(bodiesDir(t), f));
      const transport = outboxTransport(path.join(t.dataDir, 'outbox'));
      cleanups.push(async () => transport.close());
      expect(await new MailWorker(t.ctx, transport, 'ratify@ratify.test').tick()).toBe(0);
      const m = mails(t)[0];
      expect(m).toMatchObject({ state: 'pending', attempts: 1 });
      expect(m.lastError).toMatch(/missing/);
      const left = await fsp.readdir(path.join(t.dataDir, 'outbox')).catch(() => [] as string[]);
      expect(left.filter((f) => f.endsWith('.eml'))).toEqual([]);
    });
  });
});
