import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { MetaStore, type Change } from '../../server/store/meta/metaStore.js';
import type { JournalFile } from '../../server/store/meta/journal.js';
import type { GroupRecord } from '../../server/store/meta/schema.js';
import { tmp } from './gitHelpers.js';

describe('store/journalFaults', () => {
  // The journal with an injected file handle that fails the way a full or failing disk does:
  // a short write (part of the bytes, then ENOSPC), a write that writes nothing, an fsync error,
  // a truncate that fails. Runs everywhere (no mount needed).

  let dir: string;
  const opened: MetaStore[] = [];
  beforeEach(async () => {
    dir = await tmp('ratify-faults-');
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close().catch(() => {})));
    await fsp.rm(dir, { recursive: true, force: true });
  });

  const errno = (code: string) => Object.assign(new Error(code), { code });

  /** What the next calls on the journal's file do. Each entry is used once. */
  interface Faults {
    write: ('short' | 'zero' | 'enospc' | 'edquot')[];
    sync: ('eio' | 'enospc')[];
    truncate: 'fail' | null;
    /** When set, writes wait for this before touching the file (to look at the store mid-write). */
    gate: Promise<void> | null;
  }
  let faults: Faults;
  beforeEach(() => {
    faults = { write: [], sync: [], truncate: null, gate: null };
  });

  async function faultyOpen(file: string): Promise<JournalFile> {
    const h = await fsp.open(file, 'a', 0o600);
    return {
      async write(buf, off, len) {
        if (faults.gate) await faults.gate;
        const f = faults.write.shift();
        if (f === 'enospc') throw errno('ENOSPC');
        if (f === 'edquot') throw errno('EDQUOT');
        if (f === 'zero') return { bytesWritten: 0 };
        if (f === 'short') {
          // Half of it reaches the file; the disk then refuses the rest.
          const half = Math.max(1, Math.floor(len / 2));
          await h.write(buf, off, half);
          faults.write.unshift('enospc');
          return { bytesWritten: half };
        }
        return h.write(buf, off, len);
      },
      async sync() {
        const f = faults.sync.shift();
        if (f) throw errno(f.toUpperCase());
        return h.sync();
      },
      async truncate(len) {
        if (faults.truncate === 'fail') throw errno('EIO');
        return h.truncate(len);
      },
      close: () => h.close(),
    };
  }

  async function open(
    opts: { snapshotEvery?: number; log?: (m: string, e?: unknown) => void } = {},
  ): Promise<MetaStore> {
    const s = await MetaStore.open(dir, { openFile: faultyOpen, log: () => {}, ...opts });
    opened.push(s);
    return s;
  }

  const group = (slug: string): GroupRecord => ({
    slug,
    name: slug.toUpperCase(),
    createdAt: '2026-01-01T00:00:00.000Z',
  });
  const putGroup = (slug: string): Change => ({
    actor: 'user/1',
    at: new Date(Date.UTC(2026, 0, 1)),
    events: [{ action: 'group.created', subject: `group/${slug}` }],
    puts: { groups: { [slug]: group(slug) } },
  });
  const slugs = (s: MetaStore) =>
    s
      .all('groups')
      .map((g) => g.slug)
      .sort();

  async function journalText(): Promise<string> {
    const jd = path.join(dir, 'journal');
    const names = (await fsp.readdir(jd)).sort();
    let all = '';
    for (const n of names) all += await fsp.readFile(path.join(jd, n), 'utf8');
    return all;
  }
  const seqsOnDisk = async () =>
    (await journalText())
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { seq: number }).seq);

  describe('a write the disk refuses', () => {
    test.each([
      ['a short write (part of the line, then ENOSPC)', 'short', 'storage_full'],
      ['a write that writes nothing', 'zero', 'storage_full'],
      ['ENOSPC', 'enospc', 'storage_full'],
      ['a full quota (EDQUOT)', 'edquot', 'storage_full'],
    ] as const)(
      '%s: refused with %s, not applied, file cut back; the next write succeeds',
      async (_name, fault, code) => {
        const s = await open();
        await s.write(putGroup('a'));
        const before = await journalText();
        faults.write.push(fault);
        await expect(s.write(putGroup('refused'))).rejects.toMatchObject({ code, kind: 'storage_full' });
        expect(s.get('groups', 'refused')).toBeUndefined();
        expect((await s.auditLog(10)).map((e) => e.subject)).toEqual(['group/a']);
        expect(await journalText()).toBe(before);
        expect(s.writeState).toMatchObject({ ok: false, code: 'storage_full' });

        await s.write(putGroup('b'));
        expect(slugs(s)).toEqual(['a', 'b']);
        expect(s.writeState).toEqual({ ok: true });
        // Numbering goes on without a gap; reopening finds exactly the acknowledged writes.
        expect(await seqsOnDisk()).toEqual([1, 2]);
        const again = await open();
        expect(slugs(again)).toEqual(['a', 'b']);
        expect((await again.auditLog(10)).map((e) => e.seq)).toEqual([2, 1]);
      },
    );

    test('an fsync error refuses the write with storage_unavailable (503) and cuts the line it wrote', async () => {
      const s = await open();
      await s.write(putGroup('a'));
      faults.sync.push('eio');
      await expect(s.write(putGroup('refused'))).rejects.toMatchObject({
        code: 'storage_unavailable',
        kind: 'unavailable',
      });
      expect(s.get('groups', 'refused')).toBeUndefined();
      expect(await seqsOnDisk()).toEqual([1]);
      await s.write(putGroup('b'));
      const again = await open();
      expect(slugs(again)).toEqual(['a', 'b']);
    });

    test('a change is not visible to readers before it is durable', async () => {
      const s = await open();
      let release!: () => void;
      faults.gate = new Promise((r) => (release = r));
      const w = s.write(putGroup('slow'));
      await new Promise((r) => setImmediate(r));
      expect(s.get('groups', 'slow')).toBeUndefined();
      expect(await s.auditLog(10)).toEqual([]);
      faults.gate = null;
      release();
      await w;
      expect(s.get('groups', 'slow')).toEqual(group('slow'));
    });

    test('writes queued behind a refused group are written after it, in order, without gaps', async () => {
      const s = await open();
      await s.write(putGroup('a'));
      let release!: () => void;
      faults.gate = new Promise((r) => (release = r));
      faults.write.push('short');
      const first = s.write(putGroup('refused'));
      await new Promise((r) => setImmediate(r));
      // These arrive while the failing group is being written: they form the next group.
      const later = ['c', 'd', 'e'].map((g) => s.write(putGroup(g)));
      faults.gate = null;
      release();
      await expect(first).rejects.toMatchObject({ code: 'storage_full' });
      await Promise.all(later);
      expect(slugs(s)).toEqual(['a', 'c', 'd', 'e']);
      expect(await seqsOnDisk()).toEqual([1, 2, 3, 4]);
      expect((await s.auditLog(10)).map((e) => e.seq)).toEqual([4, 3, 2, 1]);
      const again = await open();
      expect(slugs(again)).toEqual(['a', 'c', 'd', 'e']);
    });

    test('if the cut-back fails too, the store is broken: every later write is refused and onFatal is called once', async () => {
      const s = await open();
      await s.write(putGroup('a'));
      const fatal: unknown[] = [];
      s.onFatal((e) => fatal.push(e));
      faults.write.push('short');
      faults.truncate = 'fail';
      await expect(s.write(putGroup('refused'))).rejects.toMatchObject({ code: 'storage_full' });
      faults.truncate = null;
      await expect(s.write(putGroup('after'))).rejects.toMatchObject({ code: 'storage_full' });
      expect(fatal).toHaveLength(1);
      expect(s.writeState.ok).toBe(false);
      expect(await s.writable()).toBe(false);
      expect(slugs(s)).toEqual(['a']);
      // A restart (what the supervisor does) cuts the torn tail and goes on.
      const again = await open();
      expect(slugs(again)).toEqual(['a']);
      await again.write(putGroup('b'));
      expect(slugs(again)).toEqual(['a', 'b']);
    });
  });

  describe('opening a journal a full disk left behind', () => {
    test('a torn line and NUL bytes at the end of the last segment are cut; earlier lines are kept', async () => {
      const s = await open();
      for (const g of ['a', 'b', 'c']) await s.write(putGroup(g));
      const jd = path.join(dir, 'journal');
      const file = path.join(jd, (await fsp.readdir(jd)).sort().at(-1)!);
      const good = await fsp.readFile(file);
      const torn = JSON.stringify({ seq: 4, at: 'x', actor: null, events: [], changes: [] }).slice(0, 25);
      await fsp.appendFile(
        file,
        Buffer.concat([Buffer.from(torn), Buffer.alloc(4096), Buffer.from('\n'), Buffer.alloc(100)]),
      );
      const again = await open();
      expect(slugs(again)).toEqual(['a', 'b', 'c']);
      expect(await fsp.readFile(file)).toEqual(good);
      await again.write(putGroup('d'));
      expect(await seqsOnDisk()).toEqual([1, 2, 3, 4]);
    });

    test('a torn tail in an older segment is cut when numbering goes on without a gap in the next', async () => {
      const s = await open({ snapshotEvery: 1_000_000 });
      await s.write(putGroup('a'));
      await s.snapshot();
      await s.write(putGroup('b'));
      const jd = path.join(dir, 'journal');
      const [first, second] = (await fsp.readdir(jd)).sort();
      expect(second).toBeDefined();
      await fsp.appendFile(path.join(jd, first), Buffer.concat([Buffer.from('{"seq":2,"at'), Buffer.alloc(64)]));
      const again = await open();
      expect(slugs(again)).toEqual(['a', 'b']);
    });

    /**
     * Groups a, lost, a snapshot (seq 2, a new segment), b; then seq 2's line in the first segment
     * torn (it was acknowledged: seq 3 follows). Returns the first segment and what it now holds.
     */
    async function tornAfterSnapshot(): Promise<{ first: string; left: string }> {
      const s = await open({ snapshotEvery: 1_000_000 });
      await s.write(putGroup('a'));
      await s.write(putGroup('lost'));
      await s.snapshot();
      await s.write(putGroup('b'));
      await s.close();
      const jd = path.join(dir, 'journal');
      const first = path.join(jd, (await fsp.readdir(jd)).sort()[0]);
      const raw = await fsp.readFile(first, 'utf8');
      const left = raw.slice(0, raw.indexOf('\n') + 1 + 10);
      await fsp.writeFile(first, left);
      return { first, left };
    }

    test('a torn tail in an older segment with entries missing after it: the snapshot holds the state; the audit log refuses to skip them', async () => {
      const { first, left } = await tornAfterSnapshot();
      // Start-up reads from the snapshot's segment on: seq 2 is in the snapshot.
      const again = await open();
      expect(slugs(again)).toEqual(['a', 'b', 'lost']);
      expect((await again.auditLog(1)).map((e) => e.seq)).toEqual([3]);
      // Reading the audit log that far back finds the gap and says so; the file is left as it was.
      await expect(again.auditLog(10)).rejects.toMatchObject({ code: 'journal_damaged' });
      expect(await fsp.readFile(first, 'utf8')).toBe(left);
    });

    test('a torn tail in an older segment with entries missing after it, and no snapshot after them, is refused at start', async () => {
      await tornAfterSnapshot();
      // The snapshot is gone (restored without it): start-up must replay every segment.
      await fsp.rm(path.join(dir, 'snapshot.json'));
      await expect(MetaStore.open(dir)).rejects.toThrow(/missing/);
    });
  });

  describe('snapshots on a full disk', () => {
    test('a failed snapshot is logged, writes go on, and a later one succeeds', async () => {
      const logged: string[] = [];
      const s = await open({ snapshotEvery: 3, log: (m) => logged.push(m) });
      // The snapshot's temporary folder cannot be made: every snapshot attempt fails.
      await fsp.rm(path.join(dir, 'tmp'), { recursive: true, force: true });
      await fsp.writeFile(path.join(dir, 'tmp'), 'in the way');
      for (let i = 0; i < 5; i++) await s.write(putGroup(`g${i}`));
      await new Promise((r) => setImmediate(r));
      await s.snapshot().catch(() => {});
      expect(logged.length).toBeGreaterThanOrEqual(1);
      await fsp.rm(path.join(dir, 'tmp'));
      for (let i = 5; i < 120; i++) await s.write(putGroup(`g${i}`));
      await s.snapshot();
      // The snapshot's first line: its format and seq.
      const snap = JSON.parse((await fsp.readFile(path.join(dir, 'snapshot.json'), 'utf8')).split('\n', 1)[0]) as {
        seq: number;
      };
      expect(snap.seq).toBe(120);
      const again = await open();
      expect(again.all('groups')).toHaveLength(120);
    });
  });
});
