import * as fs from 'node:fs';
import * as path from 'node:path';
import { DomainError } from '../../domain/errors.js';
import { ColdKeyTable } from './coldKeyTable.js';
import { FILE_MODE, fsyncDir, mkdirPrivate, shortWrite, storageError } from '../fsutil.js';

/**
 * How far one collection's cold files reached at a snapshot's seq: the records file's bytes, the
 * table's rows and the keys file's bytes. The snapshot's first line holds it; at start the files
 * are cut back to it and the journal after the snapshot is replayed, which writes the rest again.
 */
export interface ColdMark {
  bytes: number;
  rows: number;
  keyBytes: number;
  /** Numbers in a row (3 + 2 per index that lists cold records): a table read with another width would be garbage. */
  rowWidth: number;
}

/** The layout of the rows (bench/volume.ts keys its cached folders by it). */
export const COLD_ROW_LAYOUT = 'id offset length (head tail)*';

/** Parsed cold records kept after a read (threading reads a recipient's few copies of a thread, often twice). */
const KEPT = 2048;

export const coldDamaged = (name: string, what = 'is shorter than its snapshot says') =>
  new DomainError(
    'unavailable',
    'cold_damaged',
    `The metadata store's file ${name} ${what}; restore the data folder from a backup.`,
  );

/**
 * Records of one collection kept on disk instead of in memory and in the snapshot (issue 18: at
 * ten years 1.5 million messages sent and compacted were most of the heap, of the snapshot and
 * of start-up; 100,000 comments were 40 % of what was left). A record that changes is written
 * again at the end. Three append-only files in `cold/`:
 *
 *   - `<kind>.jsonl`: the records, one JSON line each;
 *   - `<kind>.rows`: a table of 8-byte numbers, a row per change: id, offset, length (offset -1:
 *     the record left the cold file, put again or deleted), then for each index that lists cold
 *     records too the numbers of its key's two parts (an index that declares `split`: `address`
 *     and `thread`; another: -1 and its whole key; none: -1, -1);
 *   - `<kind>.keys`: those parts, one JSON string a line, numbered from 0 (a few thousand
 *     addresses and threads, where whole keys were 907,440 strings at ten years).
 *
 * Memory keeps, per id, where its line is (6 bytes). The keys of the records cold at open are
 * handed to the store's indexes as sorted tables (`coldKeyTable.ts`, 8 bytes an entry); those
 * of records gone cold since are kept as any record's. A record is read back with one
 * positioned read (a few kept parsed). The files are derived state, like the snapshot: the
 * journal is the truth. Appends are buffered and written and fsynced in the background; a record
 * is served from memory until its line is on disk. A snapshot notes the files' lengths at its seq and is placed only once they are written
 * (`flushedTo`), so at start the files are cut back to the snapshot's mark and the journal's tail
 * replayed through the same path. Ids are whole numbers (a numeric id's record only goes cold).
 */
export class ColdRecords<R = unknown> {
  /** Per id: its line's offset + 1 (0: not cold), and its length. */
  readonly places = new PagedPlaces();
  private maxId = -1;
  private live = 0;
  /** Keys numbered since the start (a key numbered earlier and met again is written again: harmless). */
  private keyNos = new Map<string, number>();
  private keyCount: number;
  /** Logical lengths (what is written and what waits) and what is on disk. */
  private mark: ColdMark;
  private flushed: ColdMark;
  private pendingData: Buffer[] = [];
  private pendingRows: number[] = [];
  private pendingKeys: Buffer[] = [];
  /** Records whose line is not yet on disk. */
  private readonly unflushed = new Map<number, R>();
  private readonly kept = new Map<number, R>();
  private flushing: Promise<void> | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private failed = false;
  /** Set by `close`: no more background writes. */
  private closing = false;

  private constructor(
    private readonly kind: string,
    private readonly width: number,
    private readonly splits: readonly (string | undefined)[],
    private readonly fds: { data: number; rows: number; keys: number },
    mark: ColdMark,
    keyCount: number,
    private readonly log: (msg: string, err?: unknown) => void,
  ) {
    this.mark = { ...mark };
    this.flushed = { ...mark };
    this.keyCount = keyCount;
  }

  /**
   * Open `kind`'s cold files in `dir`, cut back to `mark` (null: none, as before a first snapshot
   * that knew them); `splits` has an item per index that lists cold records. The keys of the
   * records cold now are given, sorted, by `takeKeyTables` (once), for the indexes to keep.
   */
  static async open<R>(
    dir: string,
    kind: string,
    mark: ColdMark | null,
    /** Per index that lists cold records: its `split` separator, if it declares one. */
    splits: readonly (string | undefined)[],
    log: (msg: string, err?: unknown) => void,
  ): Promise<ColdRecords<R>> {
    await mkdirPrivate(dir);
    const indexes = splits.length;
    const width = 3 + 2 * indexes;
    const m = mark ?? { bytes: 0, rows: 0, keyBytes: 0, rowWidth: width };
    // Indexes added to or taken from the cold ones since the table was written: it cannot be read.
    if (m.rowWidth !== width) throw coldDamaged(`cold/${kind}.rows`, `has rows of ${m.rowWidth} numbers, not ${width}`);
    const names = { data: `${kind}.jsonl`, rows: `${kind}.rows`, keys: `${kind}.keys` };
    const want = { data: m.bytes, rows: m.rows * width * 8, keys: m.keyBytes };
    const fds = { data: -1, rows: -1, keys: -1 };
    try {
      let created = false;
      for (const part of ['data', 'rows', 'keys'] as const) {
        const file = path.join(dir, names[part]);
        created ||= !fs.existsSync(file);
        const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, FILE_MODE);
        fds[part] = fd;
        const size = fs.fstatSync(fd).size;
        if (size < want[part]) throw coldDamaged(`cold/${names[part]}`);
        // What came after the snapshot: the journal's tail writes it again. The cut need not be
        // durable: bytes past a snapshot's mark are never read, and are cut again at the next start.
        if (size > want[part]) fs.ftruncateSync(fd, want[part]);
      }
      if (created) await fsyncDir(dir);
    } catch (e) {
      for (const fd of Object.values(fds)) if (fd >= 0) fs.closeSync(fd);
      throw e instanceof DomainError ? e : storageError(e);
    }
    const keys: string[] = [];
    if (m.keyBytes) {
      const text = readAt(fds.keys, 0, m.keyBytes).toString('utf8');
      for (const line of text.split('\n')) if (line) keys.push(JSON.parse(line) as string);
    }
    const cold = new ColdRecords<R>(kind, width, splits, fds, m, keys.length, log);
    // The table is read a slice at a time (the whole of it was 59 MB at ten years, held at start
    // and then garbage); of each id's last row only its index keys are kept, until the tables
    // below are made. Rows are in the order written: the last row of an id says where it is.
    const slice = new Float64Array(Math.min(m.rows, ROWS_READ) * width);
    const bytes = Buffer.from(slice.buffer);
    const keyParts = 2 * indexes;
    for (let from = 0; from < m.rows; from += ROWS_READ) {
      const rows = Math.min(ROWS_READ, m.rows - from);
      readAt(fds.rows, from * width * 8, rows * width * 8, bytes);
      for (let r = 0; r < rows; r++) {
        const at = r * width;
        const id = slice[at];
        if (slice[at + 1] < 0) cold.forget(id);
        else {
          cold.place(id, slice[at + 1], slice[at + 2]);
          if (keyParts) cold.places.setKeys(id, slice, at + 3, keyParts);
        }
      }
    }
    // Per index that lists cold records, the keys of those cold now, sorted.
    cold.keyTables = splits.map((sep, i) =>
      ColdKeyTable.build(sep, keys, cold.live, (tell) => cold.places.eachKeys(keyParts, 2 * i, tell)),
    );
    cold.places.dropKeys();
    return cold;
  }

  private keyTables: ColdKeyTable[] | null = null;

  /**
   * Per index that lists cold records (in `coldDefs` order), the keys of the records cold at open
   * (once: the store's indexes keep them).
   */
  takeKeyTables(): ColdKeyTable[] {
    const tables = this.keyTables ?? [];
    this.keyTables = null;
    return tables;
  }

  /** Whether `id`'s record is cold. */
  has(id: number): boolean {
    return this.places.offset(id) > 0;
  }

  /** How many records are cold. */
  get count(): number {
    return this.live;
  }

  /** The largest id a record has had here (-1: none). */
  get largestId(): number {
    return this.maxId;
  }

  /** The lengths a snapshot taken now notes. */
  markNow(): ColdMark {
    return { ...this.mark };
  }

  /** `id`'s record, or undefined when it is not cold (read from disk unless its line is still waiting or was read lately). */
  read(id: number): R | undefined {
    if (!this.has(id)) return undefined;
    const waiting = this.unflushed.get(id);
    if (waiting !== undefined) return waiting;
    const kept = this.kept.get(id);
    if (kept !== undefined) {
      this.kept.delete(id);
      this.kept.set(id, kept);
      return kept;
    }
    const value = JSON.parse(
      readAt(this.fds.data, this.places.offset(id) - 1, this.places.length(id)).toString('utf8'),
    ) as R;
    this.kept.set(id, value);
    if (this.kept.size > KEPT) this.kept.delete(this.kept.keys().next().value!);
    return value;
  }

  /** The cold records' ids, ascending (`newest` first when `descending`). */
  ids(descending = false): Generator<number> {
    return this.places.ids(descending);
  }

  /** Store `record` under `id` cold (again: the last line of an id is its record), with its index keys. */
  put(id: number, record: R, keys: (string | undefined)[]): void {
    const bytes = Buffer.from(`${JSON.stringify(record)}\n`, 'utf8');
    const offset = this.mark.bytes;
    this.mark.bytes += bytes.byteLength;
    this.pendingData.push(bytes);
    this.pendingRows.push(id, offset, bytes.byteLength);
    keys.forEach((key, i) => {
      const sep = this.splits[i];
      const cut = key === undefined || !sep ? -1 : key.indexOf(sep);
      if (key === undefined) this.pendingRows.push(-1, -1);
      else if (cut < 0) this.pendingRows.push(-1, this.keyNo(key));
      else this.pendingRows.push(this.keyNo(key.slice(0, cut)), this.keyNo(key.slice(cut + sep!.length)));
    });
    this.mark.rows++;
    this.place(id, offset, bytes.byteLength);
    this.kept.delete(id);
    this.unflushed.set(id, record);
    this.schedule();
  }

  /** `id` is no longer cold (put again warm, or deleted). */
  remove(id: number): void {
    if (!this.has(id)) return;
    this.forget(id);
    this.pendingRows.push(id, -1, 0);
    for (let i = 3; i < this.width; i++) this.pendingRows.push(-1);
    this.mark.rows++;
    this.kept.delete(id);
    this.unflushed.delete(id);
    this.schedule();
  }

  /** Resolves once the files are on disk up to `mark` (rejects if they cannot be written now). */
  async flushedTo(mark: ColdMark): Promise<void> {
    while (this.flushed.bytes < mark.bytes || this.flushed.rows < mark.rows || this.flushed.keyBytes < mark.keyBytes)
      await this.flush();
  }

  /** Write what waits, and fsync (one flush at a time; a failed one leaves it waiting). */
  flush(): Promise<void> {
    return (this.flushing ??= this.write().finally(() => (this.flushing = null)));
  }

  /** Write what waits and close the files (what the disk refuses then is the journal's: the next start writes it). */
  async close(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.closing = true;
    await this.flushedTo(this.mark).catch((e) => this.log(`The cold ${this.kind} could not be written at close`, e));
    for (const fd of Object.values(this.fds)) fs.closeSync(fd);
  }

  private async write(): Promise<void> {
    // What the next flush will have written: taken now, put back at the front if it fails.
    const data = this.pendingData;
    const rows = this.pendingRows;
    const keys = this.pendingKeys;
    const target = { ...this.mark };
    const done = [...this.unflushed];
    this.pendingData = [];
    this.pendingRows = [];
    this.pendingKeys = [];
    try {
      const width8 = this.width * 8;
      await writeAll(this.fds.data, Buffer.concat(data), this.flushed.bytes);
      await writeAll(this.fds.rows, Buffer.from(new Float64Array(rows).buffer), this.flushed.rows * width8);
      await writeAll(this.fds.keys, Buffer.concat(keys), this.flushed.keyBytes);
      await Promise.all(Object.values(this.fds).map((fd) => fdatasync(fd)));
      if (this.failed) {
        this.failed = false;
        this.log(`The cold ${this.kind} are written again`);
      }
    } catch (e) {
      this.pendingData = [...data, ...this.pendingData];
      this.pendingRows = [...rows, ...this.pendingRows];
      this.pendingKeys = [...keys, ...this.pendingKeys];
      if (!this.failed)
        this.log(`The cold ${this.kind} could not be written; they stay in memory and are tried again`, e);
      this.failed = true;
      this.schedule(1000);
      throw storageError(e);
    }
    this.flushed = target;
    // A record put again since the flush began is still waiting: only the same value goes.
    for (const [id, value] of done) if (this.unflushed.get(id) === value) this.unflushed.delete(id);
    // Lines put while this flush ran (a timer that fired meanwhile joined this flush).
    if (this.pendingRows.length) this.schedule();
  }

  private schedule(ms = 0): void {
    if (this.flushTimer || this.closing) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.flush().catch(() => {});
    }, ms);
    this.flushTimer.unref();
  }

  private keyNo(key: string): number {
    let no = this.keyNos.get(key);
    if (no === undefined) {
      no = this.keyCount++;
      // Keys met since the start only: past this many, start again (a key met again is numbered again).
      if (this.keyNos.size >= 100_000) this.keyNos.clear();
      this.keyNos.set(key, no);
      const bytes = Buffer.from(`${JSON.stringify(key)}\n`, 'utf8');
      this.pendingKeys.push(bytes);
      this.mark.keyBytes += bytes.byteLength;
    }
    return no;
  }

  private place(id: number, offset: number, length: number): void {
    if (!Number.isInteger(id) || id < 0) throw new Error(`A cold record needs a whole-number id, not ${id}`);
    if (!this.has(id)) this.live++;
    this.places.set(id, offset + 1, length);
    if (id > this.maxId) this.maxId = id;
  }

  private forget(id: number): void {
    if (!this.has(id)) return;
    this.places.set(id, 0, 0);
    this.live--;
  }
}

const PAGE = 4096;
/** Rows of a cold table read at a time at open (2.6 MB for the messages' rows). */
const ROWS_READ = 65_536;

/**
 * One page of `PagedPlaces`: 4,096 ids. Offsets are 32-bit numbers while the file is under 4 GiB
 * and lengths 16-bit while lines are under 64 KB; a page whose number does not fit is widened
 * (8 and 4 bytes). At ten years, 6 of the 12 bytes an id took (the messages' 670 MB file, lines of
 * ~450 bytes).
 */
interface Page {
  offsets: Uint32Array | Float64Array;
  lengths: Uint16Array | Uint32Array;
  /** At open only: each id's keys' parts, from the row that placed it. */
  keys: Int32Array | null;
}

/**
 * Where each id's line is, in pages of 4,096 ids made as ids reach them: 6 bytes an id where
 * ids are dense (numbered from 1, as the store numbers them), nothing for the gaps between.
 */
class PagedPlaces {
  private readonly pages = new Map<number, Page>();
  /** The page numbers, ascending. */
  private order: number[] = [];

  offset(id: number): number {
    return this.pages.get(Math.floor(id / PAGE))?.offsets[id % PAGE] ?? 0;
  }

  length(id: number): number {
    return this.pages.get(Math.floor(id / PAGE))?.lengths[id % PAGE] ?? 0;
  }

  /** The page `set` used last, and its number (ids come mostly in order: 1.6 million rows at ten years). */
  private lastPage: Page | undefined;
  private lastNo = -1;

  set(id: number, offset: number, length: number): void {
    const no = Math.floor(id / PAGE);
    let page = no === this.lastNo ? this.lastPage : this.pages.get(no);
    if (!page) {
      if (!offset) return;
      this.pages.set(no, (page = { offsets: new Uint32Array(PAGE), lengths: new Uint16Array(PAGE), keys: null }));
      // Pages come mostly in order (new ids are the largest).
      if (!this.order.length || this.order[this.order.length - 1] < no) this.order.push(no);
      else this.order = [...this.order, no].sort((a, b) => a - b);
    }
    this.lastNo = no;
    this.lastPage = page;
    if (offset > 0xffff_ffff && page.offsets instanceof Uint32Array) page.offsets = Float64Array.from(page.offsets);
    if (length > 0xffff && page.lengths instanceof Uint16Array) page.lengths = Uint32Array.from(page.lengths);
    page.offsets[id % PAGE] = offset;
    page.lengths[id % PAGE] = length;
  }

  /**
   * At open: the index keys' parts of the row that placed `id` (which is placed), `width`
   * numbers of `row` from `from` (a loop, not a view: 1.5 million rows at ten years).
   */
  setKeys(id: number, row: Float64Array, from: number, width: number): void {
    const page = this.pages.get(Math.floor(id / PAGE))!;
    const keys = (page.keys ??= new Int32Array(PAGE * width));
    const at = (id % PAGE) * width;
    for (let k = 0; k < width; k++) keys[at + k] = row[from + k];
  }

  /** At open: each placed id, ascending, with the two parts at `part` of its keys (`width` a row). */
  eachKeys(width: number, part: number, tell: (id: number, head: number, tail: number) => void): void {
    for (const no of this.order) {
      const { offsets, keys } = this.pages.get(no)!;
      for (let i = 0; i < PAGE; i++)
        if (offsets[i] > 0) tell(no * PAGE + i, keys![i * width + part], keys![i * width + part + 1]);
    }
  }

  dropKeys(): void {
    for (const page of this.pages.values()) page.keys = null;
  }

  *ids(descending: boolean): Generator<number> {
    const order = descending ? [...this.order].reverse() : [...this.order];
    for (const no of order) {
      const { offsets } = this.pages.get(no)!;
      if (descending) {
        for (let i = PAGE - 1; i >= 0; i--) if (offsets[i] > 0) yield no * PAGE + i;
      } else for (let i = 0; i < PAGE; i++) if (offsets[i] > 0) yield no * PAGE + i;
    }
  }
}

/** `length` bytes of `fd` from `position` (a short read is an error: the file was cut). */
function readAt(fd: number, position: number, length: number, into = Buffer.alloc(length)): Buffer {
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, into, got, length - got, position + got);
    if (n === 0) throw new Error('A cold file ended before the record it should hold');
    got += n;
  }
  return into;
}

async function writeAll(fd: number, bytes: Buffer, position: number): Promise<void> {
  for (let off = 0; off < bytes.byteLength; ) {
    const n = await new Promise<number>((resolve, reject) =>
      fs.write(fd, bytes, off, bytes.byteLength - off, position + off, (e, written) =>
        e ? reject(e) : resolve(written),
      ),
    );
    if (n <= 0) throw shortWrite();
    off += n;
  }
}

const fdatasync = (fd: number) =>
  new Promise<void>((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve())));
