import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { MetaStore, type Change } from '../../server/store/meta/metaStore.js';
import type { AuditTrail } from '../../server/store/meta/auditTrail.js';
import { SnapshotFile } from '../../server/store/meta/snapshotFile.js';
import type { GroupRecord } from '../../server/store/meta/schema.js';
import { tmp } from './gitHelpers.js';

describe('store/metaStore', () => {
  let dir: string;
  const opened: MetaStore[] = [];
  beforeEach(async () => {
    dir = await tmp('ratify-meta-');
  });
  afterEach(async () => {
    // Stores a test left open on purpose (simulated crash) are closed best-effort before removal.
    await Promise.all(opened.splice(0).map((s) => s.close().catch(() => {})));
    await fsp.rm(dir, { recursive: true, force: true });
  });

  async function open(opts?: { snapshotEvery?: number; snapshotMinBytes?: number }): Promise<MetaStore> {
    const s = await MetaStore.open(dir, opts);
    opened.push(s);
    return s;
  }

  const at = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, i));
  const group = (slug: string, name = slug.toUpperCase()): GroupRecord => ({
    slug,
    name,
    createdAt: '2026-01-01T00:00:00.000Z',
  });
  const putGroup = (slug: string, i = 0, actor: string | null = 'user/1'): Change => ({
    actor,
    at: at(i),
    events: [{ action: 'group.created', subject: `group/${slug}` }],
    puts: { groups: { [slug]: group(slug) } },
  });

  const journalDir = () => path.join(dir, 'journal');
  async function segments(): Promise<string[]> {
    return (await fsp.readdir(journalDir())).filter((n) => /^journal-\d{12}\.jsonl$/.test(n)).sort();
  }
  async function lastSegment(): Promise<string> {
    return path.join(journalDir(), (await segments()).at(-1)!);
  }
  const lines = (raw: string) => raw.split('\n').filter(Boolean);

  describe('durability across reopen', () => {
    test('write → close → reopen: records survive; audit is newest first with actor, action, subject', async () => {
      const a = await open();
      await a.write(putGroup('mag', 1, 'user/1'));
      await a.write(putGroup('wg-strategy', 2, 'user/2'));
      await a.write({
        actor: null,
        at: at(3),
        events: [
          { action: 'document.created', subject: 'document/tor' },
          { action: 'version.published', subject: 'tor/v1' },
        ],
        puts: {
          documents: { tor: { slug: 'tor', title: 'ToR', group: 'mag', latest: 1, createdAt: at(3).toISOString() } },
        },
      });
      await a.write({
        actor: 'user/1',
        at: at(4),
        events: [{ action: 'group.deleted', subject: 'group/wg-strategy' }],
        dels: { groups: ['wg-strategy'] },
      });
      await a.close();

      const b = await open();
      expect(b.get('groups', 'mag')).toEqual(group('mag'));
      expect(b.get('groups', 'wg-strategy')).toBeUndefined();
      expect(b.get('documents', 'tor')?.latest).toBe(1);
      expect(b.all('groups')).toEqual([group('mag')]);

      const audit = await b.auditLog(10);
      expect(audit.map(({ actor, action, subject }) => ({ actor, action, subject }))).toEqual([
        { actor: 'user/1', action: 'group.deleted', subject: 'group/wg-strategy' },
        { actor: null, action: 'version.published', subject: 'tor/v1' },
        { actor: null, action: 'document.created', subject: 'document/tor' },
        { actor: 'user/2', action: 'group.created', subject: 'group/wg-strategy' },
        { actor: 'user/1', action: 'group.created', subject: 'group/mag' },
      ]);
      expect(audit[0].at).toBe(at(4).toISOString());
      expect(audit.map((e) => e.seq)).toEqual([4, 3, 3, 2, 1]);
      // A page holds whole changes: seq 3's two events do not fit in a page of 2 after seq 4.
      expect((await b.auditLog(2)).map((e) => e.subject)).toEqual(['group/wg-strategy']);
      expect((await b.auditLog(3)).map((e) => e.subject)).toEqual(['group/wg-strategy', 'tor/v1', 'document/tor']);
    });

    test('reopen without close (a crash) keeps every acknowledged write', async () => {
      const a = await open();
      for (let i = 0; i < 25; i++) await a.write(putGroup(`g${i}`, i));
      await Promise.all(Array.from({ length: 25 }, (_, i) => a.write(putGroup(`h${i}`, i))));
      // No close: a second store on the same folder sees what the first acknowledged.
      const b = await open();
      expect(b.all('groups')).toHaveLength(50);
      for (let i = 0; i < 25; i++) {
        expect(b.get('groups', `g${i}`)).toEqual(group(`g${i}`));
        expect(b.get('groups', `h${i}`)).toEqual(group(`h${i}`));
      }
      expect(await b.auditLog(1000)).toHaveLength(50);
    });

    test('stored values are copies: mutating what was written changes nothing in the store', async () => {
      const a = await open();
      const rec = group('mag');
      await a.write({ actor: null, at: at(0), events: [], puts: { groups: { mag: rec } } });
      rec.name = 'changed after write';
      expect(a.get('groups', 'mag')?.name).toBe('MAG');
      await a.close();
      const b = await open();
      expect(b.get('groups', 'mag')?.name).toBe('MAG');
    });
  });

  describe('torn and damaged journal lines', () => {
    test('a torn last line is discarded at open, and later writes work', async () => {
      const a = await open();
      for (let i = 0; i < 3; i++) await a.write(putGroup(`g${i}`, i));
      const file = await lastSegment();
      const before = await fsp.readFile(file, 'utf8');
      // A crash in the middle of the 4th write: part of a line, no newline.
      const fourth = JSON.stringify({
        seq: 4,
        at: at(4).toISOString(),
        actor: null,
        events: [],
        changes: [{ put: 'groups', id: 'torn', value: group('torn') }],
      });
      await fsp.appendFile(file, fourth.slice(0, 40));

      const b = await open();
      expect(
        b
          .all('groups')
          .map((g) => g.slug)
          .sort(),
      ).toEqual(['g0', 'g1', 'g2']);
      expect(b.get('groups', 'torn')).toBeUndefined();
      expect(await fsp.readFile(file, 'utf8')).toBe(before);
      await b.write(putGroup('after', 5));
      await b.write(putGroup('after2', 6));

      const c = await open();
      expect(
        c
          .all('groups')
          .map((g) => g.slug)
          .sort(),
      ).toEqual(['after', 'after2', 'g0', 'g1', 'g2']);
      expect((await c.auditLog(100)).map((e) => e.seq)).toEqual([5, 4, 3, 2, 1]);
      for (const l of lines(await fsp.readFile(file, 'utf8'))) expect(() => JSON.parse(l)).not.toThrow();
    });

    test('a complete last line without its newline (never acknowledged) is discarded too', async () => {
      const a = await open();
      await a.write(putGroup('kept', 1));
      const file = await lastSegment();
      await fsp.appendFile(
        file,
        JSON.stringify({
          seq: 2,
          at: at(2).toISOString(),
          actor: null,
          events: [],
          changes: [{ put: 'groups', id: 'x', value: group('x') }],
        }),
      );
      const b = await open();
      expect(b.all('groups').map((g) => g.slug)).toEqual(['kept']);
      await b.write(putGroup('next', 3));
      const c = await open();
      expect(
        c
          .all('groups')
          .map((g) => g.slug)
          .sort(),
      ).toEqual(['kept', 'next']);
    });

    test('a torn change with several puts lands not at all', async () => {
      const a = await open();
      await a.write(putGroup('base', 0));
      const file = await lastSegment();
      const line = JSON.stringify({
        seq: 2,
        at: at(2).toISOString(),
        actor: null,
        events: [{ action: 'x', subject: 'y' }],
        changes: [
          { put: 'groups', id: 'p1', value: group('p1') },
          { put: 'groups', id: 'p2', value: group('p2') },
          { put: 'documents', id: 'd', value: { slug: 'd', title: 'D', group: 'p1', latest: 1, createdAt: '' } },
        ],
      });
      // Cut after the first put's value is complete.
      const cut = line.indexOf('{"put":"groups","id":"p2"');
      await fsp.appendFile(file, line.slice(0, cut));
      const b = await open();
      expect(b.get('groups', 'p1')).toBeUndefined();
      expect(b.get('groups', 'p2')).toBeUndefined();
      expect(b.get('documents', 'd')).toBeUndefined();
      expect((await b.auditLog(10)).map((e) => e.action)).toEqual(['group.created']);
    });

    test('a damaged line in the middle of an older segment: start-up does not read it; the audit log refuses at it', async () => {
      const a = await open({ snapshotEvery: 5 });
      for (let i = 0; i < 12; i++) await a.write(putGroup(`g${i}`, i));
      await a.close();
      const segs = await segments();
      expect(segs.length).toBeGreaterThan(2);
      const first = path.join(journalDir(), segs[0]);
      const raw = lines(await fsp.readFile(first, 'utf8'));
      expect(raw.length).toBeGreaterThanOrEqual(3);
      raw[1] = raw[1].slice(0, Math.floor(raw[1].length / 2)); // cut short, yet followed by a newline and more lines
      const damaged = raw.join('\n') + '\n';
      await fsp.writeFile(first, damaged);
      const b = await open();
      expect(b.all('groups')).toHaveLength(12);
      expect(await b.auditLog(5)).toHaveLength(5);
      await expect(b.auditLog(100)).rejects.toMatchObject({ code: 'journal_damaged' });
      // The damaged file is left as it was for an operator to look at.
      expect(await fsp.readFile(first, 'utf8')).toBe(damaged);
      // Without the snapshot, start-up must read it, and refuses.
      await fsp.rm(path.join(dir, 'snapshot.json'));
      await expect(MetaStore.open(dir)).rejects.toBeInstanceOf(Error);
    });

    // Acknowledged writes must never be lost (PRODUCT.md, Storage). A damaged line that is
    // followed by complete lines is not a torn tail: those later lines were written (and
    // acknowledged) after it. Cutting the file there destroys them.
    test('a damaged line in the middle of the last segment is an error, not a torn tail (acknowledged writes after it are not cut off)', async () => {
      const a = await open();
      for (let i = 0; i < 6; i++) await a.write(putGroup(`g${i}`, i));
      const file = await lastSegment();
      const raw = lines(await fsp.readFile(file, 'utf8'));
      expect(raw).toHaveLength(6);
      raw[2] = raw[2].slice(0, 10) + '\u0000\u0000\u0000' + raw[2].slice(13);
      const damaged = raw.join('\n') + '\n';
      await fsp.writeFile(file, damaged);

      let outcome: 'refused' | MetaStore;
      try {
        outcome = await open();
      } catch {
        outcome = 'refused';
      }
      // What must not happen: opening "succeeds" having dropped g3..g5, which were acknowledged.
      if (outcome !== 'refused') {
        const slugs = outcome.all('groups').map((g) => g.slug);
        expect({ g3: slugs.includes('g3'), g4: slugs.includes('g4'), g5: slugs.includes('g5') }).toEqual({
          g3: true,
          g4: true,
          g5: true,
        });
      }
      expect(outcome).toBe('refused');
      expect(await fsp.readFile(file, 'utf8')).toBe(damaged);
    });
  });

  describe('snapshots and segments', () => {
    test('snapshotEvery: 10 with 35 changes: state, several segments, full audit — after a crash and after close', async () => {
      const a = await open({ snapshotEvery: 10 });
      for (let i = 0; i < 35; i++) {
        await a.write({
          actor: `user/${i % 3}`,
          at: at(i),
          events: [{ action: 'group.renamed', subject: `group/g${i % 7}` }],
          puts: { groups: { [`g${i % 7}`]: group(`g${i % 7}`, `name ${i}`) } },
          dels: i === 20 ? { groups: ['g0'] } : undefined,
        });
      }
      const check = async (s: MetaStore) => {
        // The last write to each g<k> wins; g0 was deleted at i=20 and re-put at i=21 and 28.
        for (let k = 0; k < 7; k++) {
          const last = [...Array(35).keys()].filter((i) => i % 7 === k).at(-1)!;
          expect(s.get('groups', `g${k}`)?.name).toBe(`name ${last}`);
        }
        const audit = await s.auditLog(1000);
        expect(audit).toHaveLength(35);
        expect(audit.map((e) => e.seq)).toEqual([...Array(35).keys()].map((i) => 35 - i));
        expect(audit.at(-1)).toMatchObject({ actor: 'user/0', action: 'group.renamed', subject: 'group/g0' });
      };
      await check(a);

      // Crash (no close): snapshot + journal tail rebuild the same state.
      const b = await open({ snapshotEvery: 10 });
      await check(b);
      // Snapshots run in the background (a later one may still be under way): at least one is
      // on disk and the journal has been split into several segments.
      expect((await segments()).length).toBeGreaterThanOrEqual(2);
      // The snapshot's first line: its format and seq.
      const snap = JSON.parse((await fsp.readFile(path.join(dir, 'snapshot.json'), 'utf8')).split('\n', 1)[0]) as {
        seq: number;
      };
      expect(snap.seq).toBeGreaterThanOrEqual(10);
      expect(snap.seq).toBeLessThanOrEqual(35);

      // Every seq is in the journal exactly once, across all segments.
      const seqs: number[] = [];
      for (const s of await segments())
        for (const l of lines(await fsp.readFile(path.join(journalDir(), s), 'utf8'))) seqs.push(JSON.parse(l).seq);
      expect(seqs).toEqual([...Array(35).keys()].map((i) => i + 1));

      await a.close();
      const c = await open({ snapshotEvery: 10 });
      await check(c);
    });

    test('a segment that grows past half the snapshot in bytes starts a snapshot, however few its lines', async () => {
      // Start-up reads the snapshot and then the journal after it: lines of many records each (a
      // proposal shared mails every member in one line) must not leave a tail longer than the
      // snapshot to replay. Here: 200-line limit never reached; 4 KB floor.
      const a = await open({ snapshotEvery: 200, snapshotMinBytes: 4096 });
      const big = (i: number): Change => ({
        actor: null,
        at: at(i),
        events: [{ action: 'group.renamed', subject: `group/g${i}` }],
        puts: { groups: { [`g${i}`]: group(`g${i}`, `${'x'.repeat(1000)} ${i}`) } },
      });
      for (let i = 0; i < 3; i++) await a.write(big(i));
      expect(fs.existsSync(path.join(dir, 'snapshot.json'))).toBe(false);
      for (let i = 3; i < 6; i++) await a.write(big(i));
      await a.close();
      // Past 4 KB (the floor: no snapshot yet to halve): one was taken and a segment begun.
      expect(fs.existsSync(path.join(dir, 'snapshot.json'))).toBe(true);
      expect((await segments()).length).toBe(2);
      // Then the bound is half the snapshot (a reopened store knows its size): from a fresh one
      // and an empty segment, lines are written until the segment passes half of it.
      const b = await open({ snapshotEvery: 200, snapshotMinBytes: 1024 });
      await b.snapshot();
      const size = (await fsp.stat(path.join(dir, 'snapshot.json'))).size;
      let i = 6;
      const snapshotting = () => (b as unknown as { snapshotting: Promise<void> | null }).snapshotting;
      const segmentBytes = async () => (await fsp.stat(path.join(journalDir(), (await segments())[2]))).size;
      let before = 0;
      while ((await segments()).length === 3) {
        before = await segmentBytes();
        await b.write(big(i++));
        await snapshotting();
      }
      // The segment ended at the first line past half the snapshot.
      const ended = await segmentBytes();
      expect(before).toBeLessThan(size / 2);
      expect(ended).toBeGreaterThanOrEqual(size / 2);
      await b.close();
    });

    test('a snapshot is the state at its seq, however the records change while it is written', async () => {
      // Large records, so writing the snapshot takes many turns of the event loop; writes that
      // replace, delete and add records (numeric ids and slugs) run meanwhile.
      const a = await open({ snapshotEvery: 100_000 });
      const pad = 'y'.repeat(60_000);
      const model: Record<string, Record<string, GroupRecord>> = { groups: {} };
      const changes: Change[] = [];
      const apply = (m: typeof model, c: Change) => {
        for (const [id, v] of Object.entries(c.puts?.groups ?? {})) m.groups[id] = v as GroupRecord;
        for (const id of c.dels?.groups ?? []) delete m.groups[id];
      };
      const change = (i: number, puts: Record<string, GroupRecord>, dels: string[] = []): Change => ({
        actor: null,
        at: at(i),
        events: [{ action: 'test', subject: `t/${i}` }],
        puts: { groups: puts },
        dels: { groups: dels },
      });
      for (let i = 1; i <= 60; i++) {
        const c = change(i, {
          [String(i)]: group(String(i), `${pad} first ${i}`),
          [`s${i}`]: group(`s${i}`, `slug ${i}`),
        });
        apply(model, c);
        await a.write(c);
      }
      const seq0 = (a as unknown as { seq: number }).seq;
      const snapshotting = a.snapshot();
      const writes = (async () => {
        for (let i = 61; i <= 90; i++) {
          const k = 1 + (i % 60);
          const c = change(
            i,
            {
              [String(k)]: group(String(k), `${pad} again ${i}`),
              [String(100 + i)]: group(String(100 + i), 'new'),
              [`n${i}`]: group(`n${i}`, 'new'),
            },
            [`s${k}`, String(1 + ((i + 7) % 60))],
          );
          changes.push(c);
          await a.write(c);
        }
      })();
      await snapshotting;
      await writes;
      const back = await new SnapshotFile(path.join(dir, 'snapshot.json'), path.join(dir, 'tmp')).read();
      const want = structuredClone(model);
      // Some writes landed after the snapshot's seq, while it was written.
      expect(back!.seq - seq0).toBeLessThan(changes.length);
      for (const c of changes.slice(0, back!.seq - seq0)) apply(want, c);
      expect(Object.keys(back!.collections.groups)).toEqual(Object.keys(want.groups));
      expect(back!.collections.groups).toEqual(want.groups);
      await a.close();
    });

    test('close writes no snapshot (its time would grow with the state): reopen replays the journal and keeps the audit', async () => {
      const a = await open({ snapshotEvery: 1000 });
      for (let i = 0; i < 5; i++) await a.write(putGroup(`g${i}`, i));
      await a.close();
      expect(fs.existsSync(path.join(dir, 'snapshot.json'))).toBe(false);
      const b = await open();
      expect(b.all('groups')).toHaveLength(5);
      expect(await b.auditLog(100)).toHaveLength(5);
      await b.write(putGroup('g5', 5));
      expect((await b.auditLog(1))[0].seq).toBe(6);
    });

    test('a write after close (a shutdown) is refused with shutting_down, breaks nothing, and the journal stays whole', async () => {
      const a = await open();
      await a.write(putGroup('g0', 0));
      let fatal: unknown = null;
      a.onFatal((e) => (fatal = e));
      await a.close();
      await expect(a.write(putGroup('late', 1))).rejects.toMatchObject({ code: 'shutting_down' });
      expect(fatal).toBeNull();
      const b = await open();
      expect(b.tornBytesAtOpen).toBe(0);
      expect(b.all('groups').map((g) => g.slug)).toEqual(['g0']);
    });

    test('the bytes of a torn tail cut at open are reported (0 after a clean close)', async () => {
      const a = await open();
      await a.write(putGroup('g0', 0));
      await a.close();
      await fsp.appendFile(await lastSegment(), '{"seq":2,"at"');
      const b = await open();
      expect(b.tornBytesAtOpen).toBe('{"seq":2,"at"'.length);
    });

    test('one change with several puts and dels is exactly one journal line', async () => {
      const a = await open();
      await a.write(putGroup('old', 0));
      await a.write({
        actor: 'user/1',
        at: at(1),
        events: [
          { action: 'version.published', subject: 'tor/v2' },
          { action: 'mail.queued', subject: 'mail/1' },
        ],
        puts: {
          groups: { a: group('a'), b: group('b') },
          documents: { tor: { slug: 'tor', title: 'ToR', group: 'a', latest: 2, createdAt: at(1).toISOString() } },
          system: { main: { indexedMain: 'f'.repeat(40) } },
        },
        dels: { groups: ['old'] },
      });
      await a.write(putGroup('c', 2));
      const raw = await fsp.readFile(await lastSegment(), 'utf8');
      expect(raw.endsWith('\n')).toBe(true);
      const ls = lines(raw);
      expect(ls).toHaveLength(3);
      const entry = JSON.parse(ls[1]);
      expect(entry.seq).toBe(2);
      expect(entry.changes).toHaveLength(5);
      expect(entry.events).toHaveLength(2);
      // Each line is exactly its entry serialised: seq first, record changes last.
      for (const l of ls) {
        expect(l).toBe(JSON.stringify(JSON.parse(l)));
        expect(Object.keys(JSON.parse(l))[0]).toBe('seq');
        expect(Object.keys(JSON.parse(l)).at(-1)).toBe('changes');
      }
    });
  });

  describe('fsync of the journal', () => {
    // An acknowledged write must be on stable storage, so the fsync that precedes the
    // acknowledgement must be on the file the line was written to. Journal.rotate swaps
    // `this.handle` while a flush may be between its write (to the old segment) and its sync
    // (which then goes to the new segment); the old segment is closed without that line fsynced.
    // Fault injection: each FileHandle.write takes a little longer after the bytes are handed to
    // the kernel (a slow disk), and a write arrives while a snapshot is rotating the segment.
    test('a write acknowledged while a snapshot rotates the segment was fsynced on the file it was written to', async () => {
      const probe = await fsp.open(path.join(dir, 'probe'), 'w');
      const proto = Object.getPrototypeOf(probe) as {
        write: (...a: unknown[]) => Promise<unknown>;
        sync: (...a: unknown[]) => Promise<void>;
      };
      await probe.close();
      const { write, sync } = proto;
      const unsynced = new Set<object>();
      proto.write = async function (this: object, ...a: unknown[]) {
        unsynced.add(this);
        const r = await write.apply(this, a);
        await new Promise((res) => setTimeout(res, 20));
        return r;
      };
      proto.sync = function (this: object, ...a: unknown[]) {
        unsynced.delete(this);
        return sync.apply(this, a);
      };
      const missed: number[] = [];
      try {
        const s = await open({ snapshotEvery: 1_000_000 });
        for (let i = 0; i < 5; i++) {
          const snap = s.snapshot();
          await new Promise((res) => setImmediate(res)); // the request arrives while the rotation is under way
          await s.write(putGroup(`g${i}`, i));
          await snap;
          if (unsynced.size) missed.push(i);
          unsynced.clear();
        }
        await s.close();
      } finally {
        proto.write = write;
        proto.sync = sync;
      }
      expect({ writesAcknowledgedWithoutFsyncOfTheirFile: missed }).toEqual({
        writesAcknowledgedWithoutFsyncOfTheirFile: [],
      });
      const b = await open();
      expect(b.all('groups')).toHaveLength(5);
    });
  });

  describe('ids', () => {
    test('nextId is monotonic per kind and continues after the largest id present when reopened', async () => {
      const a = await open();
      const g1 = a.nextId('groups');
      const g2 = a.nextId('groups');
      const d1 = a.nextId('documents');
      expect([g1, g2, d1]).toEqual([1, 2, 1]);
      await a.write({
        actor: null,
        at: at(0),
        events: [],
        puts: { groups: { [g1]: group('one'), [g2]: group('two'), 7: group('seven') } },
      });
      await a.write({
        actor: null,
        at: at(1),
        events: [],
        puts: { documents: { [d1]: { slug: 'd', title: 'D', group: 'x', latest: 1, createdAt: '' } } },
      });
      const g3 = a.nextId('groups');
      expect(g3).toBeGreaterThan(g2);
      await a.close();

      const b = await open();
      expect(b.nextId('groups')).toBe(8);
      expect(b.nextId('groups')).toBe(9);
      expect(b.nextId('documents')).toBe(2);
      expect(b.nextId('versions')).toBe(1);
      // Records keyed by something else (tokens by hash) carry their id inside; read from a snapshot too.
      await b.write({
        actor: null,
        at: at(2),
        events: [],
        puts: { tokens: { 'hash-a': { id: 41 }, 'hash-b': { id: 3 } } } as unknown as Change['puts'],
      });
      await b.snapshot();
      await b.close();
      const c = await open();
      expect(c.nextId('tokens')).toBe(42);
      expect(c.nextId('groups')).toBe(8);
    });

    test('ids handed out concurrently are distinct', async () => {
      const a = await open();
      const ids = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const id = a.nextId('groups');
          await a.write({ actor: null, at: at(i), events: [], puts: { groups: { [id]: group(`g${id}`) } } });
          return id;
        }),
      );
      expect(new Set(ids).size).toBe(50);
      const b = await open();
      expect(b.all('groups')).toHaveLength(50);
      expect(b.nextId('groups')).toBe(51);
    });
  });

  describe('concurrency', () => {
    test('200 concurrent writes all land', async () => {
      const a = await open();
      await Promise.all(Array.from({ length: 200 }, (_, i) => a.write(putGroup(`g${i}`, i))));
      expect(a.all('groups')).toHaveLength(200);
      const b = await open(); // without close
      expect(b.all('groups')).toHaveLength(200);
      expect((await b.auditLog(1000)).map((e) => e.seq)).toEqual([...Array(200).keys()].map((i) => 200 - i));
      await a.close();
      const c = await open();
      expect(c.all('groups')).toHaveLength(200);
    });

    test('200 writes from 8 interleaved writers with frequent snapshots all land', async () => {
      const a = await open({ snapshotEvery: 7 });
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          for (let i = 0; i < 25; i++) await a.write(putGroup(`w${w}-${i}`, i, `user/${w}`));
        }),
      );
      const b = await open({ snapshotEvery: 7 }); // without close
      expect(b.all('groups')).toHaveLength(200);
      expect(await b.auditLog(1000)).toHaveLength(200);
      expect(new Set((await b.auditLog(1000)).map((e) => e.seq)).size).toBe(200);
      await a.close();
      const c = await open();
      expect(c.all('groups')).toHaveLength(200);
      expect(await c.auditLog(1000)).toHaveLength(200);
    });
  });

  describe('the audit log, a page at a time from disk', () => {
    /** 120 changes, 1–3 events each, a snapshot every 10 lines: the reference is every event written. */
    async function history(s: MetaStore): Promise<{ seq: number; subject: string }[]> {
      const all: { seq: number; subject: string }[] = [];
      for (let i = 0; i < 120; i++) {
        const events = Array.from({ length: 1 + (i % 3) }, (_, k) => ({
          action: 'group.renamed',
          subject: `group/g${i}-${k}`,
        }));
        await s.write({ actor: 'user/1', at: at(i), events, puts: { groups: { [`g${i}`]: group(`g${i}`) } } });
        for (const e of events) all.push({ seq: i + 1, subject: e.subject });
      }
      return all.reverse();
    }
    const pages = async (s: MetaStore, limit: number) => {
      const seen: { seq: number; subject: string }[] = [];
      let before: number | undefined;
      for (;;) {
        const page = await s.auditLog(limit, before);
        if (!page.length) return seen;
        // Whole changes only: no more than `limit` unless one change alone has more events.
        if (page.length > limit) expect(new Set(page.map((e) => e.seq)).size).toBe(1);
        seen.push(...page.map(({ seq, subject }) => ({ seq, subject })));
        before = page.at(-1)!.seq;
      }
    };

    test('every page, of any size, equals the reference: live, after a crash and after close; memory holds two segments', async () => {
      const a = await open({ snapshotEvery: 10 });
      const want = await history(a);
      await a.snapshot();
      for (const s of [a, await open({ snapshotEvery: 10 })]) {
        expect((await s.auditLog(10_000)).map(({ seq, subject }) => ({ seq, subject }))).toEqual(want);
        for (const limit of [1, 7, 50]) expect(await pages(s, limit)).toEqual(want);
        // `before` alone: the newest entries below a seq.
        // (seq 60 has three events, 59 two: a page of 4 ends after 60 rather than split 59.)
        expect((await s.auditLog(4, 61)).map((e) => e.seq)).toEqual([60, 60, 60]);
        expect((await s.auditLog(5, 61)).map((e) => e.seq)).toEqual([60, 60, 60, 59, 59]);
        expect(await s.auditLog(5, 1)).toEqual([]);
      }
      const { inMemory } = (a as unknown as { audit: AuditTrail }).audit;
      expect(inMemory).toBeLessThanOrEqual(2 * 10 * 3 + 3);
      expect(inMemory).toBeGreaterThan(0);
    });

    test("start-up reads only from the snapshot's segment on: older segments may even be unreadable", async () => {
      const a = await open({ snapshotEvery: 10 });
      const want = await history(a);
      await a.snapshot();
      await a.close();
      const segs = await segments();
      expect(segs.length).toBeGreaterThan(5);
      for (const name of segs.slice(0, 3))
        await fsp.writeFile(path.join(journalDir(), name), 'not a journal\nat all\n');
      const b = await open();
      expect(b.all('groups')).toHaveLength(120);
      const first = Number(/\d+/.exec(segs[3])![0]);
      // Pages that stay after the damaged segments are served; one that reaches them is refused.
      expect((await b.auditLog(want.filter((e) => e.seq >= first).length)).at(-1)!.seq).toBe(first);
      await expect(b.auditLog(10_000)).rejects.toMatchObject({ code: 'journal_damaged' });
    });

    test("the lines of the snapshot's segment before its seq are read for the audit only: their record changes are not parsed", async () => {
      const a = await open({ snapshotEvery: 1_000_000 });
      for (let i = 0; i < 4; i++) await a.write(putGroup(`g${i}`, i));
      await a.snapshot(); // seq 4; the next segment is named 5
      for (let i = 4; i < 6; i++) await a.write(putGroup(`g${i}`, i));
      await a.close();
      const [older, newer] = await segments();
      // As a write that came while the snapshot rotated leaves it: seq 5 after the snapshot's seq in
      // the snapshot's segment, which start-up then reads.
      const moved = lines(await fsp.readFile(path.join(journalDir(), newer), 'utf8'));
      const text = [...lines(await fsp.readFile(path.join(journalDir(), older), 'utf8')), moved[0]];
      // Line 2's record changes garbled: the snapshot holds what they did; its audit part is whole.
      text[1] = `${text[1].slice(0, text[1].indexOf(',"changes":'))},"changes":[{"put":"groups",garbled`;
      await fsp.writeFile(path.join(journalDir(), older), `${text.join('\n')}\n`);
      await fsp.writeFile(path.join(journalDir(), newer), `${moved[1]}\n`);
      const b = await open();
      expect(b.all('groups').map((g) => g.slug)).toEqual(['g0', 'g1', 'g2', 'g3', 'g4', 'g5']);
      expect((await b.auditLog(100)).map((e) => [e.seq, e.subject])).toEqual(
        [6, 5, 4, 3, 2, 1].map((seq) => [seq, `group/g${seq - 1}`]),
      );
    });

    test("a folder written before segments were named exactly (lines past a segment's name in the one before) replays them", async () => {
      const a = await open({ snapshotEvery: 1_000_000 });
      for (let i = 0; i < 5; i++) await a.write(putGroup(`g${i}`, i));
      await a.snapshot(); // seq 5; the next segment is named 6
      for (let i = 5; i < 8; i++) await a.write(putGroup(`g${i}`, i));
      await a.close();
      const [older, newer] = await segments();
      expect(newer).toBe('journal-000000000006.jsonl');
      // As the old rotation could leave it: seqs 6 and 7 in the older segment, the newer one begins at 8.
      const moved = lines(await fsp.readFile(path.join(journalDir(), newer), 'utf8'));
      await fsp.appendFile(path.join(journalDir(), older), moved.slice(0, 2).join('\n') + '\n');
      await fsp.writeFile(path.join(journalDir(), newer), moved[2] + '\n');
      const b = await open();
      expect(b.all('groups').map((g) => g.slug)).toEqual(['g0', 'g1', 'g2', 'g3', 'g4', 'g5', 'g6', 'g7']);
      expect((await b.auditLog(100)).map((e) => e.seq)).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
    });

    test('a segment begins with the seq it is named after, whatever writes arrive while a snapshot rotates', async () => {
      const a = await open({ snapshotEvery: 1_000_000 });
      await Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          if (i % 8 === 0) await a.snapshot();
          await a.write(putGroup(`g${i}`, i));
        }),
      );
      await a.close();
      for (const name of await segments()) {
        const first = lines(await fsp.readFile(path.join(journalDir(), name), 'utf8'))[0];
        if (first) expect(JSON.parse(first).seq).toBe(Number(/\d+/.exec(name)![0]));
      }
    });
  });
});
