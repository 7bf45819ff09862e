/**
 * The metadata snapshot a record a line (issue 18, item 2): written in batches from the records
 * as they were when it began (a write during it is not in it, and is replayed from the journal),
 * never one string of the whole state; read back a line at a time to the same state; a snapshot
 * of the first format (one JSON document) is still read. A record is written as what differs
 * from the record of its kind before it, when it has the same fields (a notification's copies,
 * one per recipient, differ in a few): read back to the same record, the rest shared and frozen.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { LaterLines, RUN_BYTES, SnapshotFile, SnapshotLines } from '../../server/store/meta/snapshotFile.js';
import { MetaStore } from '../../server/store/meta/metaStore.js';
import { tmp } from './gitHelpers.js';
import { runs } from '../helpers/depth.js';

describe('store/snapshotFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tmp('ratify-snap-');
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  test('any state written and read back is the same state; one line a record', async () => {
    const record = fc.dictionary(
      fc.string({ maxLength: 8 }),
      fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.constantFrom('users', 'mails', 'groups'),
          fc.dictionary(fc.stringMatching(/^[0-9a-z/-]{1,8}$/), record),
        ),
        fc.nat(),
        fc.subarray(['users', 'mails', 'groups', 'absent']),
        async (collections, seq, later) => {
          const file = new SnapshotFile(path.join(dir, 'snapshot.json'), path.join(dir, 'tmp'));
          await file.write(seq, SnapshotFile.take(collections));
          const text = await fsp.readFile(path.join(dir, 'snapshot.json'), 'utf8');
          const count = Object.values(collections).reduce((n, c) => n + Object.keys(c).length, 0);
          expect(text.split('\n').filter(Boolean)).toHaveLength(count + 1);
          const back = await file.read();
          expect(back!.seq).toBe(seq);
          const nonEmpty = Object.fromEntries(Object.entries(collections).filter(([, c]) => Object.keys(c).length));
          expect(back!.collections).toEqual(nonEmpty);
          // Kinds left for later: not read, their lines kept as written; read after, the same state.
          const some = await file.read(undefined, undefined, later);
          for (const kind of later) expect(some!.collections[kind]).toBeUndefined();
          for (const [kind, lines] of Object.entries(some!.later ?? {})) {
            expect(later).toContain(kind);
            expect(lines.count).toBe(Object.keys(collections[kind] ?? {}).length);
            const reader = new SnapshotLines(some!.collections);
            for (let line = lines.next(); line !== null; line = lines.next()) reader.read(line);
            lines.clear();
          }
          expect(some!.collections).toEqual(nonEmpty);
        },
      ),
      runs(50),
    );
  });

  test('records like the one before are written as their differences and read back the same, key order included', async () => {
    // Records of few shapes and few values, so that neighbours often share most of their fields.
    const value = fc.oneof(
      fc.constantFrom('a', 'b', '', '__proto__', 'é€𝄞'),
      fc.integer({ min: 0, max: 2 }),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.array(fc.constantFrom('x', 'y'), { maxLength: 5 }),
      // What JSON writes otherwise: a function (left out) and an array with a hole (null).
      fc.constant(() => 0),
      fc.constant([1]),
      fc.constant(Object.assign([1], { length: 2 })),
      fc.dictionary(fc.constantFrom('p', 'q'), fc.oneof(fc.constantFrom(1, 2), fc.array(fc.nat(2), { maxLength: 2 }))),
    );
    const record = fc.oneof(
      fc.record({ id: fc.nat(3), to: value, subject: value, state: value }),
      fc.record({ id: fc.nat(3), state: value, to: value, subject: value }),
      fc.record({ id: fc.nat(3), subject: value }, { requiredKeys: ['id'] }),
      fc.dictionary(fc.constantFrom('__proto__', 'id', 'x'), value),
      fc.constantFrom(null, 'text', 7, ['x']),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('mails', 'rounds'), record), { maxLength: 30 }),
        async (list) => {
          const collections: Record<string, Record<string, unknown>> = {};
          list.forEach(([kind, r], i) => ((collections[kind] ??= {})[String(i)] = r));
          const file = new SnapshotFile(path.join(dir, 'snapshot.json'), path.join(dir, 'tmp'));
          await file.write(3, SnapshotFile.take(collections));
          const back = await file.read();
          // What JSON would give back, keys in the same order (toEqual alone does not check order).
          const json = (v: unknown) => JSON.stringify(v);
          const expected = JSON.parse(json(collections)) as Record<string, Record<string, unknown>>;
          for (const kind of Object.keys(expected)) if (!Object.keys(expected[kind]).length) delete expected[kind];
          expect(json(back!.collections)).toBe(json(expected));
          expect(back!.collections).toEqual(expected);
        },
      ),
      runs(300),
    );
  });

  test('the copies of one notification take a line of their differences; what they share is one frozen value', async () => {
    const shared = { subject: 'Proposal 9 shared', thread: '<proposal-9@x>', tally: { yes: 3, no: [1, 2] } };
    const mails: Record<string, unknown> = {};
    for (let i = 1; i <= 50; i++) mails[String(i)] = { id: i, to: [`m${i}@x`], ...shared, state: 'pending' };
    const file = new SnapshotFile(path.join(dir, 'snapshot.json'), path.join(dir, 'tmp'));
    await file.write(1, SnapshotFile.take({ mails }));
    const lines = fs.readFileSync(path.join(dir, 'snapshot.json'), 'utf8').split('\n').filter(Boolean);
    expect(JSON.parse(lines[0])).toMatchObject({ format: 3, seq: 1 });
    expect(JSON.parse(lines[1])).toEqual(['mails', '1', mails['1']]);
    expect(JSON.parse(lines[2])).toEqual(['mails', '2', { id: 2, to: ['m2@x'] }, 1]);
    const back = (await file.read())!.collections.mails as Record<string, typeof shared>;
    expect(back).toEqual(mails);
    expect(back['50'].tally).toBe(back['2'].tally);
    expect(Object.isFrozen(back['2'].tally) && Object.isFrozen(back['2'].tally.no)).toBe(true);
    // A line of differences with no record before it is refused, not read as a whole record.
    fs.writeFileSync(path.join(dir, 'snapshot.json'), [lines[0], lines[2], ''].join('\n'));
    await expect(file.read()).rejects.toThrow(SyntaxError);
  });

  test('a snapshot of the second format (a whole record a line) is still read', async () => {
    const file = path.join(dir, 'snapshot.json');
    const lines = ['{"format":2,"seq":4}', '["groups","a",{"slug":"a"}]', '["groups","b",{"slug":"b"}]', ''];
    fs.writeFileSync(file, lines.join('\n'));
    expect(await new SnapshotFile(file, path.join(dir, 'tmp')).read()).toEqual({
      seq: 4,
      collections: { groups: { a: { slug: 'a' }, b: { slug: 'b' } } },
    });
  });

  test('read a megabyte at a time: lines across reads, a line of 2.5 MB, characters of 2 to 4 bytes', async () => {
    const MB = 1 << 20;
    // Records sized so that lines end just before, at and after each megabyte, with multi-byte
    // characters (é, €, 𝄞) where a read ends; one record longer than two reads.
    const records: Record<string, { text: string }> = {};
    let id = 0;
    const text = (n: number, k: number) => 'x'.repeat(n) + ['é', '€', '𝄞'][k % 3].repeat(k + 1);
    for (let k = 0; k < 40; k++) records[String(++id)] = { text: text(MB / 16 - 40 + k * 7, k) };
    records[String(++id)] = { text: text(2.5 * MB, 2) };
    for (let k = 0; k < 30; k++) records[String(++id)] = { text: text(MB / 8 + k * 13, k) };
    const file = new SnapshotFile(path.join(dir, 'snapshot.json'), path.join(dir, 'tmp'));
    await file.write(9, SnapshotFile.take({ notes: records }));
    const back = await file.read();
    expect(back!.seq).toBe(9);
    expect(back!.collections).toEqual({ notes: records });
    // The last line without its newline is still read; cut inside, it is refused, not dropped.
    const size = (await fsp.stat(path.join(dir, 'snapshot.json'))).size;
    await fsp.truncate(path.join(dir, 'snapshot.json'), size - 1);
    expect((await file.read())!.collections).toEqual({ notes: records });
    await fsp.truncate(path.join(dir, 'snapshot.json'), size - 3);
    await expect(file.read()).rejects.toThrow(SyntaxError);
  });

  test('a snapshot of the first format (one JSON document) is still read', async () => {
    const file = path.join(dir, 'snapshot.json');
    fs.writeFileSync(file, JSON.stringify({ seq: 7, collections: { groups: { a: { slug: 'a' } } } }));
    expect(await new SnapshotFile(file, path.join(dir, 'tmp')).read()).toEqual({
      seq: 7,
      collections: { groups: { a: { slug: 'a' } } },
    });
  });

  test('writes made while a snapshot is written are not in it, and a reopen has them all', async () => {
    const meta = await MetaStore.open(dir, { snapshotEvery: 1_000_000 });
    const put = (i: number) =>
      meta.write({
        actor: null,
        at: new Date('2026-01-01T00:00:00Z'),
        events: [],
        puts: { groups: { [`g${i}`]: { slug: `g${i}`, name: `G ${'x'.repeat(2000)}`, createdAt: '2026-01-01' } } },
      });
    for (let i = 0; i < 2000; i++) await put(i);
    const snapping = meta.snapshot();
    const during = Promise.all([2000, 2001, 2002].map(put));
    await Promise.all([snapping, during]);
    const head = JSON.parse(fs.readFileSync(path.join(dir, 'snapshot.json'), 'utf8').split('\n', 1)[0]) as {
      seq: number;
    };
    const lines = fs.readFileSync(path.join(dir, 'snapshot.json'), 'utf8').split('\n').filter(Boolean);
    expect(lines.length - 1).toBe(head.seq);
    await meta.close();
    const again = await MetaStore.open(dir);
    expect(again.all('groups')).toHaveLength(2003);
    await again.close();
  });

  test('lines left for later come back as the same text, in order, wherever they lie in the file', async () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 40 }).map((t) => JSON.stringify(t));
    await fc.assert(
      fc.asyncProperty(
        // Lines of a kind left for later among others, in runs or alone; the file may end without a newline.
        fc.array(fc.tuple(fc.constantFrom('mails', 'users'), fc.nat(9), text), { maxLength: 40 }),
        fc.boolean(),
        async (records, lastNewline) => {
          const file = path.join(dir, 'snapshot.json');
          const body = records.map(([kind, id, t]) => JSON.stringify([kind, String(id), { t }]));
          await fsp.writeFile(file, `${['{"format":3,"seq":1}', ...body].join('\n')}${lastNewline ? '\n' : ''}`);
          const snap = await new SnapshotFile(file, path.join(dir, 'tmp')).read(undefined, undefined, ['mails']);
          const kept = snap!.later?.mails;
          const want = body.filter((l) => l.startsWith('["mails",'));
          expect(kept?.count ?? 0).toBe(want.length);
          const back: string[] = [];
          if (kept) for (let line = kept.next(); line !== null; line = kept.next()) back.push(line);
          kept?.clear();
          expect(back).toEqual(want);
          expect(Object.keys(snap!.collections)).toEqual(body.some((l) => l.startsWith('["users",')) ? ['users'] : []);
        },
      ),
      runs(100),
    );
  });

  test('lines left for later are read at most RUN_BYTES at a time, and a longer line alone; each comes back whole, in order', async () => {
    const lines = [
      ...Array.from({ length: 3000 }, (_, i) => `{"id":${i},"text":"${'x'.repeat(1000 + (i % 7))}"}`),
      `{"long":"${'y'.repeat(RUN_BYTES + 10)}"}`,
      '{"last":true}',
    ];
    const file = path.join(dir, 'lines.jsonl');
    await fsp.writeFile(file, lines.join('\n'));
    const fd = fs.openSync(file, 'r');
    const later = new LaterLines({ fd, release: () => fs.closeSync(fd) });
    let position = 0;
    for (const line of lines) {
      later.push(position, Buffer.byteLength(line));
      position += Buffer.byteLength(line) + 1;
    }
    const held = (later as unknown as { runs: [number, number][] }).runs;
    // 3 MB of short lines in runs of at most RUN_BYTES; the long line alone; the last after it.
    expect(held.length).toBeGreaterThanOrEqual(5);
    expect(held.filter(([, length]) => length > RUN_BYTES)).toHaveLength(1);
    const back: string[] = [];
    for (let line = later.next(); line !== null; line = later.next()) back.push(line);
    expect(back).toEqual(lines);
    later.clear();
  });
});
