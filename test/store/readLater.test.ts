/**
 * A kind whose snapshot records the store reads after it has opened (`MetaStore.open`'s `later`;
 * the server's waiting messages, most of the snapshot at ten years' volume): nothing of it is
 * parsed at open; `readLater` reads it in slices beside the event loop; a read or a write of it
 * before then reads the rest at once; the journal's changes to it since the snapshot are applied
 * after its records, in order; a line that cannot be read fails every read of the kind, never
 * half of it. (The property test in metaIndex.property.test.ts checks every query through reopens
 * with kinds read later.)
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { MetaStore, type Change } from '../../server/store/meta/metaStore.js';
import type { MailRecord } from '../../server/store/meta/schema.js';
import type { DetachSpec } from '../../server/store/meta/detachedBodies.js';
import { tmp } from './gitHelpers.js';

describe('store/readLater', () => {
  let dir: string;
  const opened: MetaStore[] = [];
  beforeEach(async () => {
    dir = await tmp('ratify-later-');
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close().catch(() => {})));
    await fsp.rm(dir, { recursive: true, force: true });
  });

  const BODIES: DetachSpec = { kind: 'mails', fields: ['text', 'html'] };

  async function open(opts: Parameters<typeof MetaStore.open>[1] = {}): Promise<MetaStore> {
    const s = await MetaStore.open(dir, { log: () => {}, ...opts });
    opened.push(s);
    return s;
  }

  async function close(s: MetaStore): Promise<void> {
    opened.splice(opened.indexOf(s), 1);
    await s.close();
  }

  let n = 0;
  const at = () => new Date(Date.UTC(2026, 0, 1, 0, 0, n++));

  /** A queued message (its text kept inline unless the store detaches it). */
  const mail = (id: number, over: Partial<MailRecord> = {}): MailRecord =>
    ({
      id,
      messageId: `<${id}@ratify.test>`,
      key: `<k${id % 3}@ratify.test>`,
      thread: `<t${id % 3}@ratify.test>`,
      event: 'test',
      to: [`member${id % 4}@example.org`],
      bcc: [],
      subject: `Message ${id}`,
      text: `Text ${id}`,
      html: '',
      inReplyTo: null,
      references: [],
      listUnsubscribe: null,
      state: 'pending',
      attempts: 0,
      nextAttemptAt: `2026-01-0${1 + (id % 5)}T00:00:00.000Z`,
      lastError: null,
      createdAt: '2026-01-01T00:00:00.000Z',
      sentAt: null,
      ...over,
    }) as MailRecord;

  const change = (puts: Record<string, MailRecord> = {}, dels: string[] = []): Change => ({
    actor: null,
    at: at(),
    events: [{ action: 'test', subject: 'mails' }],
    puts: { mails: puts, groups: { g: { slug: 'g', name: `G ${n}`, createdAt: '2026-01-01T00:00:00.000Z' } } },
    dels: { mails: dels },
  });

  /** Messages 1..count in a snapshot, then a journal tail that changes, deletes and adds some. */
  async function folder(count: number, opts: { detach?: DetachSpec } = {}): Promise<void> {
    const s = await open(opts);
    const all: Record<string, MailRecord> = {};
    for (let id = 1; id <= count; id++) all[id] = mail(id);
    await s.write(change(all));
    await s.snapshot();
    await s.write(change({ 2: mail(2, { state: 'sent', sentAt: '2026-01-02T00:00:00.000Z', attempts: 1 }) }));
    await s.write(change({}, ['3']));
    await s.write(change({ [count + 1]: mail(count + 1) }));
    await close(s);
  }

  /** What every query of the messages gives, to compare two stores. */
  const view = (s: MetaStore) => ({
    all: s.all('mails'),
    count: s.count('mails'),
    due: s.oldest('mails', 'due', 'due', 1000, '2026-01-03T00:00:00.000Z'),
    thread: s.by('mails', 'thread', '<t1@ratify.test>'),
    next: s.nextId('mails'),
    group: s.get('groups', 'g'),
  });

  describe('records read after the store opens', () => {
    test('a query before readLater reads the rest at once; the changes since the snapshot come after, in order', async () => {
      await folder(20);
      const later = await open({ later: ['mails'] });
      expect(later.readingLater).toEqual(['mails']);
      // Another kind is there at once, and reading it reads no message.
      expect(later.get('groups', 'g')).toBeDefined();
      expect(later.readingLater).toEqual(['mails']);
      expect(later.get('mails', 2)).toMatchObject({ state: 'sent', attempts: 1 });
      expect(later.readingLater).toEqual([]);
      expect(later.get('mails', 3)).toBeUndefined();
      expect(later.readLaterReport.mails).toMatchObject({ records: 20, forced: true });
      const got = view(later);
      await close(later);
      const whole = await open();
      expect(got).toEqual(view(whole));
      expect(got.count).toBe(20);
    });

    test('readLater reads in slices, each a turn of the event loop, and a write meanwhile waits for none', async () => {
      await folder(3000);
      const later = await open({ later: ['mails'] });
      let turns = 0;
      const ticking = setInterval(() => turns++, 0);
      const reading = later.readLater(0);
      // A write of another kind while the messages are read, and one of a message, which reads the rest.
      await later.write({
        actor: null,
        at: at(),
        events: [{ action: 'test', subject: 'g' }],
        puts: { groups: { h: { slug: 'h', name: 'H', createdAt: '2026-01-01T00:00:00.000Z' } } },
      });
      expect(later.readingLater).toEqual(['mails']);
      await reading;
      clearInterval(ticking);
      expect(later.readingLater).toEqual([]);
      const report = later.readLaterReport.mails;
      expect(report).toMatchObject({ records: 3000, forced: false });
      expect(report.slices).toBeGreaterThan(10);
      expect(turns).toBeGreaterThan(1);
      await later.write(change({ 4: mail(4, { state: 'failed' }) }));
      const got = view(later);
      await close(later);
      expect(got).toEqual(view(await open()));
    });

    test('the changes since the snapshot are applied in slices too, and a query between slices reads the rest', async () => {
      await folder(300);
      const s = await open();
      // A drain's worth of state changes after the snapshot, written as the worker writes them.
      for (let round = 0; round < 3; round++) {
        const changed: Record<string, MailRecord> = {};
        for (let id = 1; id <= 300; id++)
          changed[id] = mail(id, { attempts: round + 1, state: round === 2 ? 'sent' : 'pending' });
        await s.write(change(changed));
      }
      const whole = view(s);
      await close(s);
      const later = await open({ later: ['mails'] });
      const reading = later.readLater(0);
      // Turns enough for the 300 lines (64 a slice) and some of the 900 changes (256 a slice).
      for (let i = 0; i < 6; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(later.readingLater).toEqual(['mails']);
      expect(view(later)).toEqual(whole);
      await reading;
      expect(later.readLaterReport.mails).toMatchObject({ records: 300, forced: true });
    });

    test('a write of the kind before it is read reads it first', async () => {
      await folder(50);
      const later = await open({ later: ['mails'] });
      await later.write(change({ 5: mail(5, { state: 'sent', sentAt: '2026-01-03T00:00:00.000Z' }) }));
      expect(later.readLaterReport.mails?.forced).toBe(true);
      expect(later.get('mails', 5)).toMatchObject({ state: 'sent' });
      const got = view(later);
      await close(later);
      expect(got).toEqual(view(await open()));
    });

    test('a snapshot taken before the kind is read holds its records', async () => {
      await folder(30);
      const later = await open({ later: ['mails'] });
      await later.snapshot();
      const got = view(later);
      await close(later);
      expect(got).toEqual(view(await open()));
      expect(got.count).toBe(30);
    });

    test('body files no message names go once the messages are read, not before; a file written since the open stays', async () => {
      await folder(10, { detach: BODIES });
      const bodies = path.join(dir, 'bodies');
      const orphan = path.join(bodies, 'zzzzzzzz-000000000000.json');
      await fsp.writeFile(orphan, JSON.stringify({ 999: { text: 'never acknowledged', html: '' } }));
      const named = (await fsp.readdir(bodies)).filter((f) => f !== path.basename(orphan));
      expect(named.length).toBeGreaterThan(0);
      const later = await open({ detach: BODIES, later: ['mails'] });
      // A file of a write in flight: made after the open, its change not yet in the journal.
      const inFlight = path.join(bodies, 'zzzzzzzz-111111111111.json');
      await fsp.writeFile(inFlight, JSON.stringify({ 1000: { text: 'in flight', html: '' } }));
      expect(fs.existsSync(orphan)).toBe(true);
      await later.readLater();
      await close(later); // waits for the removals
      expect(fs.existsSync(orphan)).toBe(false);
      expect(fs.existsSync(inFlight)).toBe(true);
      for (const f of named) expect(fs.existsSync(path.join(bodies, f))).toBe(true);
    });

    // The last line of the kind too: every line is read by then, and the kind must still fail.
    test.each([['60'], ['100']])(
      'a line that cannot be read (mail %s): readLater rejects and every read of the kind fails, never half of it',
      async (id) => {
        await folder(100);
        const file = path.join(dir, 'snapshot.json');
        const lines = (await fsp.readFile(file, 'utf8')).split('\n');
        const i = lines.findIndex((l) => l.startsWith(`["mails","${id}",`));
        expect(i).toBeGreaterThan(0);
        lines[i] = lines[i].slice(0, 20);
        await fsp.writeFile(file, lines.join('\n'));
        const later = await open({ later: ['mails'] });
        expect(later.get('groups', 'g')).toBeDefined();
        await expect(later.readLater(0)).rejects.toThrow(SyntaxError);
        expect(() => later.get('mails', 1)).toThrow(SyntaxError);
        expect(() => later.count('mails')).toThrow(SyntaxError);
        await expect(later.write(change({ 7: mail(7) }))).rejects.toThrow(SyntaxError);
        expect(later.readingLater).toEqual(['mails']);
        // Read whole, the same folder is refused at open, as before.
        await expect(MetaStore.open(dir, { log: () => {} })).rejects.toThrow(SyntaxError);
      },
    );

    test('nothing to read later: readLater resolves at once', async () => {
      const fresh = await open({ later: ['mails'] });
      expect(fresh.readingLater).toEqual([]);
      await fresh.readLater();
      expect(fresh.readLaterReport).toEqual({});
    });
  });
});
