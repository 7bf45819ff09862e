import { closeSync, openSync, readSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { FILE_MODE, fsyncDir, mkdirPrivate, shortWrite, storageError } from '../fsutil.js';
import type { StringPool } from './stringPool.js';
import type { ColdMark } from './coldRecords.js';

/**
 * The metadata store's snapshot, one record a line (issue 18: never one string, never a stall).
 *
 *     {"format":3,"seq":1234,"cold":{"mails":{"bytes":…,"rows":…,"keyBytes":…}}}
 *     ["users","1",{…}]
 *     ["mails","7",{…}]
 *     ["mails","8",{"id":8,"messageId":"<…>","to":["…"]},1]
 *
 * A record with the same fields, in the same order, as the record of its kind written just before
 * it is written as the fields whose values differ, marked `1` (`differences`). Records of one kind
 * come in id order, and neighbours are often alike: a notification's copies, one per recipient,
 * differ in a few fields of twenty; the rounds of a year share the members' stakeholder groups.
 * At ten years' volume the 38,000 waiting messages took 24.7 MB as whole records. The fields
 * taken from the record before are its very values, so what neighbours share is held once; they
 * are frozen, as the string pool freezes the lists it shares (records are never changed in
 * place: a write replaces a record).
 *
 * Written from the records as they were at its seq, read as they are written (the store keeps
 * the value at that seq of any record a later write replaces: `MetaStore.snapshot`), each
 * serialised on its own and written in batches of about a quarter of a megabyte, so the event loop is never held for long and no string grows with the state; then
 * fsynced and renamed over the old one, the folder fsynced (a crash leaves the old or the new).
 * Read a line at a time. A snapshot in the first format (one JSON document) or in the second
 * (each record whole) is still read.
 */
export interface Snapshot {
  seq: number;
  collections: Record<string, Record<string, unknown>>;
  /** How far each collection's cold files reached at `seq` (`coldRecords.ts`); absent before they existed. */
  cold?: Record<string, ColdMark>;
  /**
   * The lines of the kinds `read` was asked to leave for later, left where they lie in the file
   * (neither copied, decoded nor parsed), in order: `SnapshotLines` reads them when they are wanted.
   */
  later?: Record<string, LaterLines>;
}

/** The records a snapshot holds, one `[kind, id, value]` at a time (read as they are written). */
export type Records = Iterable<readonly [string, string, unknown]>;

const FORMAT = 3;
/** The formats of a record a line that `read` takes (2: every record whole). */
const LINE_FORMATS = ['{"format":2,', '{"format":3,'];
/** The mark of a line of differences (`differences`). */
const DIFFERENCES = 1;
/**
 * Characters gathered before each write (and each turn of the event loop). A 1 MB batch of mail
 * records took ~100 ms to serialise on a loaded 2-core machine (profiled during bench part 8's
 * mail drain); a quarter of that is a quarter of the time the loop is held.
 */
const BATCH = 1 << 18;

export class SnapshotFile {
  constructor(
    private readonly file: string,
    private readonly tmpDir: string,
  ) {}

  /**
   * The snapshot, or null when there is none; each record's strings shared through `pool` as it
   * is read, and each record's kind and id told to `onRecord`.
   */
  async read(
    pool?: StringPool,
    onRecord?: (kind: string, id: string) => void,
    /** Kinds whose lines are kept as they are written, in `later`, not read now. */
    later: readonly string[] = [],
  ): Promise<Snapshot | null> {
    let head: string;
    try {
      const h = await fsp.open(this.file, 'r');
      try {
        const buf = Buffer.alloc(64);
        const { bytesRead } = await h.read(buf, 0, 64, 0);
        head = buf.subarray(0, bytesRead).toString('utf8');
      } finally {
        await h.close();
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    if (!LINE_FORMATS.some((f) => head.startsWith(f))) {
      const whole = JSON.parse(await fsp.readFile(this.file, 'utf8')) as Snapshot;
      if (onRecord)
        for (const [kind, col] of Object.entries(whole.collections)) for (const id in col) onRecord(kind, id);
      if (pool)
        for (const [kind, col] of Object.entries(whole.collections))
          for (const id of Object.keys(col)) col[id] = pool.record(kind, col[id]);
      return whole;
    }
    let seq = -1;
    let cold: Snapshot['cold'];
    const collections: Snapshot['collections'] = {};
    const lines = new SnapshotLines(collections, pool, onRecord);
    /** The first bytes of a line of each kind left for later (`["mails",`). */
    const laterStarts = later.map((kind) => [kind, Buffer.from(`[${JSON.stringify(kind)},`)] as const);
    const kept: Record<string, LaterLines> = {};
    // The lines left for later are read from this same file (its descriptor), closed once
    // every kind's are read.
    const fd = later.length ? openSync(this.file, 'r') : -1;
    let holders = 1;
    const file = {
      fd,
      release: () => {
        if (--holders === 0 && fd >= 0) closeSync(fd);
      },
    };
    try {
      await eachLine(this.file, (buf, start, end, position) => {
        if (start === end) return;
        if (seq < 0) {
          ({ seq, cold } = JSON.parse(buf.toString('utf8', start, end)) as Pick<Snapshot, 'seq' | 'cold'>);
          return;
        }
        const left = laterStarts.find(([, first]) => startsWith(buf, start, end, first));
        if (!left) return void lines.read(buf.toString('utf8', start, end));
        let k = kept[left[0]];
        if (!k) {
          holders++;
          k = kept[left[0]] = new LaterLines(file);
        }
        k.push(position, end - start);
      });
    } catch (e) {
      for (const k of Object.values(kept)) k.clear();
      throw e;
    } finally {
      file.release();
    }
    return { seq, collections, ...(cold ? { cold } : {}), ...(later.length ? { later: kept } : {}) };
  }

  /** Every record of `collections`, as they are when each is reached (for a state nothing changes meanwhile). */
  static *take(collections: Snapshot['collections']): Records {
    for (const [kind, col] of Object.entries(collections))
      for (const [id, value] of Object.entries(col)) yield [kind, id, value];
  }

  /**
   * Write a snapshot at `seq` of `records`, which must give the records as they were at `seq`
   * however long the writing takes (later writes must not slip into it). Returns its size in bytes.
   */
  async write(
    seq: number,
    records: Records,
    opts: {
      /** The cold files' marks at `seq`, for the first line. */
      cold?: Record<string, ColdMark>;
      /** Awaited before the file is placed (the cold files must be on disk up to their marks first). */
      ready?: () => Promise<void>;
    } = {},
  ): Promise<number> {
    await mkdirPrivate(this.tmpDir);
    const tmp = path.join(this.tmpDir, `${process.pid}-${randomBytes(8).toString('hex')}.tmp`);
    let placed = false;
    let size = 0;
    try {
      const h = await fsp.open(tmp, 'w', FILE_MODE);
      try {
        const put = async (text: string) => {
          const bytes = Buffer.from(text, 'utf8');
          size += bytes.byteLength;
          for (let off = 0; off < bytes.byteLength; ) {
            const { bytesWritten } = await h.write(bytes, off, bytes.byteLength - off);
            if (bytesWritten <= 0) throw shortWrite();
            off += bytesWritten;
          }
        };
        let batch = `${JSON.stringify({ format: FORMAT, seq, ...(opts.cold ? { cold: opts.cold } : {}) })}\n`;
        const last = new Map<string, unknown>();
        for (const [kind, id, value] of records) {
          const changed = differences(last.get(kind), value);
          batch += `${JSON.stringify(changed ? [kind, id, changed, DIFFERENCES] : [kind, id, value])}\n`;
          last.set(kind, value);
          if (batch.length >= BATCH) {
            await put(batch);
            batch = '';
          }
        }
        await put(batch);
        await h.sync();
      } finally {
        await h.close();
      }
      await opts.ready?.();
      await fsp.rename(tmp, this.file);
      placed = true;
      await fsyncDir(path.dirname(this.file));
    } catch (e) {
      if (!placed) await fsp.rm(tmp, { force: true }).catch(() => {});
      throw storageError(e);
    }
    return size;
  }

  /** The snapshot's size in bytes (0 when there is none). */
  async size(): Promise<number> {
    try {
      return (await fsp.stat(this.file)).size;
    } catch {
      return 0;
    }
  }
}

/** Whether the bytes of `buf` from `start` to `end` begin with `first`. */
function startsWith(buf: Buffer, start: number, end: number, first: Buffer): boolean {
  if (end - start < first.length) return false;
  for (let i = 0; i < first.length; i++) if (buf[start + i] !== first[i]) return false;
  return true;
}

/**
 * Lines of the snapshot file left where they are: where each run of them lies in the file (lines
 * one after another, `\n` between them), neither copied, decoded nor parsed at open, and given
 * back as text one at a time, in order (`next`), a run (up to `RUN_BYTES`) read whole when its
 * first line is asked for. The file stays open until they are all read (`clear`): a later snapshot is placed by a
 * rename, so what is read is the file as it was at open. Copying the lines at open instead took
 * ~35 ms of it for the 38,000 waiting messages at ten years.
 */
/** The most bytes of lines `LaterLines` reads at once (a longer line is read alone). */
export const RUN_BYTES = 1 << 20;

export class LaterLines {
  /** Where each run lies: its first byte, and its length up to the end of its last line (its `\n` left out). */
  private readonly runs: [position: number, length: number][] = [];
  /** The run being read, whole, and where in it the next line begins. */
  private current: Buffer | null = null;
  private at = 0;
  private run = 0;
  /** How many lines were kept, and how many given back. */
  count = 0;
  read = 0;
  /** Whether the file was let go (`clear`). */
  private released = false;

  constructor(private readonly file: { fd: number; release: () => void }) {}

  /** A line `length` bytes long at `position` of the file (lines are pushed in the file's order). */
  push(position: number, length: number): void {
    const last = this.runs.at(-1);
    // The next line of the same run (one `\n` between them), while the run stays within
    // RUN_BYTES: the 104,000 waiting messages at thirty years were one run of the file, and its
    // read (a buffer of its size and one read) held the event loop ~100 ms in a single slice.
    if (last && position === last[0] + last[1] + 1 && position + length - last[0] <= RUN_BYTES)
      last[1] = position + length - last[0];
    else this.runs.push([position, length]);
    this.count++;
  }

  /** The next line, or null when all were given. */
  next(): string | null {
    if (this.read === this.count) return null;
    if (!this.current || this.at > this.current.length) {
      const [position, length] = this.runs[this.run++];
      const bytes = Buffer.allocUnsafe(length);
      for (let off = 0; off < length; ) {
        const n = readSync(this.file.fd, bytes, off, length - off, position + off);
        if (n <= 0) throw new SyntaxError('The snapshot file ended before the lines it was read with');
        off += n;
      }
      this.current = bytes;
      this.at = 0;
    }
    const buf = this.current;
    let nl = buf.indexOf(0x0a, this.at);
    if (nl < 0) nl = buf.length;
    const line = buf.toString('utf8', this.at, nl);
    this.at = nl + 1;
    this.read++;
    return line;
  }

  /** Let go of the lines and of the file (once every line is read, or no longer wanted). */
  clear(): void {
    this.current = null;
    this.runs.length = 0;
    this.count = this.read = 0;
    if (this.released) return;
    this.released = true;
    this.file.release();
  }
}

/**
 * Reads a snapshot's record lines into `collections`, in the order they were written: each
 * record's strings shared through `pool`, a line of differences completed from the record of
 * its kind read just before, each record's kind and id told to `onRecord`. The lines of a kind
 * left for later (`Snapshot.later`) are read by one of their own, as they come.
 */
export class SnapshotLines {
  /** Per kind, the record read last: what a line of differences completes. */
  private readonly last = new Map<string, unknown>();

  constructor(
    private readonly collections: Snapshot['collections'],
    private readonly pool?: StringPool,
    private readonly onRecord?: (kind: string, id: string) => void,
  ) {}

  /** Read one line into the collections; returns the record's id and value. */
  read(line: string): [id: string, record: unknown] {
    const [kind, id, value, form] = JSON.parse(line) as [string, string, unknown, number?];
    let record = this.pool ? this.pool.record(kind, value) : value;
    if (form === DIFFERENCES) record = completed(this.last.get(kind), record as Fields, kind, id);
    (this.collections[kind] ??= {})[id] = record;
    this.last.set(kind, record);
    this.onRecord?.(kind, id);
    return [id, record];
  }
}

type Fields = Record<string, unknown>;

const isPlain = (v: unknown): v is Fields =>
  typeof v === 'object' && v !== null && (Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype);

/** A plain object that is not an array: a record, whose fields a line of differences names. */
const isRecord = (v: unknown): v is Fields => isPlain(v) && !Array.isArray(v);

/** Whether JSON writes a field with this value (not undefined, a function or a symbol). */
const writes = (v: unknown) => v !== undefined && typeof v !== 'function' && typeof v !== 'symbol';

/** The keys JSON writes, in order. */
const written = (o: Fields) => Object.keys(o).filter((k) => writes(o[k]));

/** Whether `a` and `b` are the same JSON data (plain objects and arrays, same keys in the same order). */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!isPlain(a) || !isPlain(b) || Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    // By index, holes included (JSON writes a hole as null).
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!same(a[i], b[i])) return false;
    return true;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i] || !same(a[ka[i]], b[kb[i]])) return false;
  return true;
}

/**
 * The fields of `value` whose values differ from `before`'s, when both are plain objects that
 * JSON writes with the same keys in the same order and at least one field is the same; otherwise
 * null (the record is written whole). `__proto__` is never a key of a line of differences: it
 * is read back as a field, but would not be copied as one.
 */
function differences(before: unknown, value: unknown): Fields | null {
  if (!isRecord(before) || !isRecord(value)) return null;
  const keys = written(value);
  const had = written(before);
  if (keys.length !== had.length || keys.includes('__proto__')) return null;
  const changed: Fields = {};
  let kept = 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (k !== had[i]) return null;
    if (same(before[k], value[k])) kept++;
    else changed[k] = value[k];
  }
  return kept ? changed : null;
}

/** `before`, the record read just before of the same kind, with `changed` (a line of differences) over it. */
function completed(before: unknown, changed: Fields, kind: string, id: string): Fields {
  if (!isRecord(before))
    throw new SyntaxError(`Snapshot record ${kind}/${id} is written as differences from no record`);
  for (const k in before) if (!Object.hasOwn(changed, k)) deepFreeze(before[k]);
  return { ...before, ...changed };
}

/** Freeze `v` and what it holds (a value now shared by neighbouring records). */
function deepFreeze(v: unknown): void {
  if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const k of Object.keys(v)) deepFreeze((v as Fields)[k]);
}

/** Bytes read at a time. */
const READ_BYTES = 1 << 20;

/**
 * Call `line` with each line of `file` (its bytes cut at each `\n`; a `\r` before it is kept), a
 * megabyte read at a time, as the buffer and the line's start and end in it: valid during the
 * call only. Each line is decoded at most once, from the bytes, where readline decoded the stream
 * and then joined and cut the strings (~40 ms of the ~0.6 s the snapshot took at ten years), and
 * the lines of a kind left for later are not decoded at all (`LaterLines`). The lines of a read are
 * gone through in one go: an async generator's turn for each of the 50,000 lines at ten years
 * cost more than reading them.
 */
async function eachLine(
  file: string,
  /** `position`: where the line begins in the file. */
  line: (buf: Buffer, start: number, end: number, position: number) => void,
): Promise<void> {
  const h = await fsp.open(file, 'r');
  try {
    let buf = Buffer.allocUnsafe(READ_BYTES);
    /** Bytes of `buf` from 0 that hold a line begun and not yet ended. */
    let held = 0;
    /** Where `buf[0]` is in the file. */
    let base = 0;
    for (;;) {
      if (held === buf.length) {
        // A line longer than the buffer: a larger buffer.
        const larger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(larger, 0, 0, held);
        buf = larger;
      }
      const { bytesRead } = await h.read(buf, held, buf.length - held, null);
      const end = held + bytesRead;
      let start = 0;
      for (let nl = buf.indexOf(0x0a, held); nl >= 0 && nl < end; nl = buf.indexOf(0x0a, start)) {
        line(buf, start, nl, base + start);
        start = nl + 1;
      }
      if (!bytesRead) {
        if (start < end) line(buf, start, end, base + start);
        return;
      }
      buf.copy(buf, 0, start, end);
      base += start;
      held = end - start;
    }
  } finally {
    await h.close();
  }
}
