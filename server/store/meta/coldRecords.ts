import * as fs from 'node:fs';
import * as path from 'node:path';
import { DomainError } from '../../domain/errors.js';
import type { ColdKeyTable } from './coldKeyTable.js';
import type { ImageReader } from './imageReader.js';
import { PagedPlaces } from './coldPlaces.js';
import {
  coldDamaged,
  imageOf,
  pagesCopied,
  readAt,
  place,
  readImage,
  readState,
  sameMark,
  tableTail,
  unplace,
  type ColdMark,
  type ColdState,
  type Placed,
} from './coldState.js';
import { runBeside, runThrough } from '../../util/steps.js';
import { once } from '../../util/once.js';
import { FILE_MODE, fsyncDir, mkdirPrivate, shortWrite, storageError, writeFileDurable } from '../fsutil.js';

export { coldDamaged, type ColdMark } from './coldState.js';

/** The layout of the rows (bench/volume.ts keys its cached folders by it). */
export const COLD_ROW_LAYOUT = 'id offset length (head tail)*';

/** Parsed cold records kept after a read (threading reads a recipient's few copies of a thread, often twice). */
const KEPT = 2048;

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
 * positioned read (a few kept parsed). After each snapshot the state at its mark is also kept as
 * an image (`<kind>.image`, `coldState.ts`), which the next start uses instead of the whole
 * table: its places and key tables stay in the file, read by position (`imageReader.ts`). The files are derived state, like the snapshot: the
 * journal is the truth. Appends are buffered and written and fsynced in the background; a record
 * is served from memory until its line is on disk. A snapshot notes the files' lengths at its seq and is placed only once they are written
 * (`flushedTo`), so at start the files are cut back to the snapshot's mark and the journal's tail
 * replayed through the same path. Ids are whole numbers (a numeric id's record only goes cold).
 */
export class ColdRecords<R = unknown> {
  /** Per id: its line's offset + 1 (0: not cold), and its length; how many are cold; the largest id. */
  private placed: Placed = { places: new PagedPlaces(), live: 0, maxId: -1 };
  /** How the state was had at open: from an image, by reading the table, or nothing to read. */
  opened: { from: 'image' | 'table' | 'none'; ms: number } = { from: 'none', ms: 0 };
  /** The mark of the image on disk (null: none known), the one to make next, and the making. */
  private imageMark: ColdMark | null = null;
  private imageWanted: ColdMark | null = null;
  /** An image made at open, to write. */
  private imageReady: { parts: Uint8Array[]; mark: ColdMark } | null = null;
  private imaging: Promise<void> | null = null;
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
    private readonly log: (msg: string, err?: unknown) => void,
    private readonly image: (Required<ImageOptions> & { file: string }) | null,
  ) {
    this.mark = { ...mark };
    this.flushed = { ...mark };
    this.keyCount = 0;
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
    /** Keep images of the state (`keepImage`), and read one at open: where to write them from. */
    image?: ImageOptions,
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
    const cold = new ColdRecords<R>(
      kind,
      width,
      splits,
      fds,
      m,
      log,
      image ? { ...IMAGE_DEFAULTS, ...image, file: path.join(dir, `${kind}.image`) } : null,
    );
    try {
      cold.adopt(cold.stateAtOpen(m));
    } catch (e) {
      for (const fd of Object.values(fds)) fs.closeSync(fd);
      cold.imageRead?.close();
      throw e;
    }
    return cold;
  }

  /**
   * The state at `mark` (the files were just cut back to it): from the image of that mark if
   * there is one, else read from the table, and then an image of it written for the next start.
   */
  private stateAtOpen(mark: ColdMark): ColdState {
    const t0 = performance.now();
    const image = this.image && mark.rows && mark.rows >= this.image.minRows ? this.image : null;
    const tail = image ? tableTail(this.fds.rows, mark) : 0;
    const had = image ? readImage(image.file, this.kind, mark, tail, this.splits) : null;
    if (had) {
      this.imageMark = mark;
      this.opened = { from: 'image', ms: Math.round(performance.now() - t0) };
      return had;
    }
    const state = runThrough(readState(this.kind, this.fds, mark, this.splits));
    if (image) {
      // Its pages copied now: the state changes as soon as the journal's tail is replayed.
      this.imageReady = { parts: runThrough(imageOf(this.kind, pagesCopied(state), mark, tail)), mark };
      this.kickImages();
    }
    this.opened = { from: mark.rows ? 'table' : 'none', ms: Math.round(performance.now() - t0) };
    return state;
  }

  /** The image the state at open was had from, read by position while the store is open (`imageReader.ts`). */
  private imageRead: ImageReader | null = null;

  private adopt(state: ColdState): void {
    this.imageRead = state.image ?? null;
    this.placed = { places: state.places, live: state.live, maxId: state.maxId };
    this.keyCount = state.keyCount;
    this.keyTables = state.tables;
  }

  /**
   * A snapshot at `mark` was placed: make the image of the state at that mark beside the event
   * loop (unless the image on disk is of it already, or the table is too small to need one).
   * One is made at a time; a mark asked for meanwhile is made next (the last one asked for).
   */
  keepImage(mark: ColdMark): void {
    if (!this.image || !mark.rows || mark.rows < this.image.minRows || sameMark(mark, this.imageMark)) return;
    this.imageWanted = { ...mark };
    this.kickImages();
  }

  private kickImages(): void {
    if (this.imaging || this.closing) return;
    this.imaging = this.makeImages().finally(() => {
      this.imaging = null;
      // Asked for between the last look and now.
      if (this.imageWanted || this.imageReady) this.kickImages();
    });
  }

  /** Resolves once the images asked for are written (or given up); for a caller that closes next and wants them. */
  async imagesWritten(): Promise<void> {
    while (this.imaging) await this.imaging;
  }

  private async makeImages(): Promise<void> {
    while (!this.closing) {
      const ready = this.imageReady;
      this.imageReady = null;
      if (ready) {
        await this.writeImage(ready.parts, ready.mark);
        continue;
      }
      const mark = this.imageWanted;
      if (!mark) return;
      this.imageWanted = null;
      if (sameMark(mark, this.imageMark)) continue;
      try {
        // The files are on disk up to the mark (the snapshot was placed after `flushedTo`), and
        // only grow past it while this reads them.
        const stop = () => this.closing;
        const state = await runBeside(readState(this.kind, this.fds, mark, this.splits), stop);
        const parts = state && (await runBeside(imageOf(this.kind, state, mark, tableTail(this.fds.rows, mark)), stop));
        if (!parts) return;
        await this.writeImage(parts, mark);
      } catch (e) {
        this.log(`The image of the cold ${this.kind} could not be made; the next start reads their table instead`, e);
      }
    }
  }

  private async writeImage(parts: Uint8Array[], mark: ColdMark): Promise<void> {
    const { file, tmpDir } = this.image!;
    try {
      await mkdirPrivate(tmpDir);
      await writeFileDurable(file, parts, tmpDir);
      this.imageMark = mark;
    } catch (e) {
      this.log(`The image of the cold ${this.kind} could not be written; the next start reads their table instead`, e);
    }
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
    return this.placed.places.offset(id) > 0;
  }

  /** How many records are cold. */
  get count(): number {
    return this.placed.live;
  }

  /** How many parsed records are kept (for tests). */
  get keptCount(): number {
    return this.kept.size;
  }

  /** The largest id a record has had here (-1: none). */
  get largestId(): number {
    return this.placed.maxId;
  }

  /** The lengths a snapshot taken now notes. */
  markNow(): ColdMark {
    return { ...this.mark };
  }

  /**
   * `id`'s record, or undefined when it is not cold (read from disk unless its line is still
   * waiting or was read lately). `keep` false leaves a record read from disk out of those kept:
   * for reads of many records whose result is kept in another form (a view made from a
   * proposal's comments) or not at all (a scan), which would only push the others out, and hold
   * each record long enough for the collector to move it to the old generation (the first "My
   * drafts" of a member of every group at thirty years read 300,000 comments and left ~330 MB
   * there to collect).
   */
  read(id: number, keep = true): R | undefined {
    // Only cold records wait or are kept (both forget an id removed): no look at its place.
    const waiting = this.unflushed.get(id);
    if (waiting !== undefined) return waiting;
    const kept = this.kept.get(id);
    if (kept !== undefined) {
      this.kept.delete(id);
      this.kept.set(id, kept);
      return kept;
    }
    if (!this.has(id)) return undefined;
    const value = JSON.parse(
      readAt(this.fds.data, this.placed.places.offset(id) - 1, this.placed.places.length(id)).toString('utf8'),
    ) as R;
    if (!keep) return value;
    this.kept.set(id, value);
    if (this.kept.size > KEPT) this.kept.delete(this.kept.keys().next().value!);
    return value;
  }

  /** The cold records' ids, ascending (`newest` first when `descending`). */
  ids(descending = false): Generator<number> {
    return this.placed.places.ids(descending);
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
    place(this.placed, id, offset, bytes.byteLength);
    this.kept.delete(id);
    this.unflushed.set(id, record);
    this.schedule();
  }

  /** `id` is no longer cold (put again warm, or deleted). */
  remove(id: number): void {
    if (!this.has(id)) return;
    unplace(this.placed, id);
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
  readonly close = once(async (): Promise<void> => {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.closing = true;
    // An image being made stops at its next pause; one being written is let finish.
    await this.imaging;
    await this.flushedTo(this.mark).catch((e) => this.log(`The cold ${this.kind} could not be written at close`, e));
    for (const fd of Object.values(this.fds)) fs.closeSync(fd);
    this.imageRead?.close();
  });

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
}

/** Where images are written, and from how many rows a table has one (reading a smaller one is quick). */
export interface ImageOptions {
  /** The folder for a file being written (then renamed into place). */
  tmpDir: string;
  /** Default 20,000 rows (~5 ms to read). */
  minRows?: number;
}

const IMAGE_DEFAULTS = { minRows: 20_000 };

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
