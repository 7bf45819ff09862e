import * as fs from 'node:fs';
import { crc32 } from 'node:zlib';
import { DomainError } from '../../domain/errors.js';
import { ColdKeyTable, type ImageTableColumns } from './coldKeyTable.js';
import { PAGE, PagedPlaces, type ImagePage, type Page } from './coldPlaces.js';
import { ImageColumn, ImageReader } from './imageReader.js';

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

export const sameMark = (a: ColdMark | null, b: ColdMark | null): boolean =>
  !!a && !!b && a.bytes === b.bytes && a.rows === b.rows && a.keyBytes === b.keyBytes && a.rowWidth === b.rowWidth;

export const coldDamaged = (name: string, what = 'is shorter than its snapshot says') =>
  new DomainError(
    'unavailable',
    'cold_damaged',
    `The metadata store's file ${name} ${what}; restore the data folder from a backup.`,
  );

/**
 * What memory holds of one collection's cold files at a mark: where each record's line is, how
 * many there are, the largest id, how many keys the keys file numbers, and per index that lists
 * cold records the keys of those records as a sorted table.
 */
export interface ColdState extends Placed {
  keyCount: number;
  tables: ColdKeyTable[];
  /** The image the places and tables are read from, when they were had from one (closed by its holder). */
  image?: ImageReader;
}

/** Where each cold record's line is, how many are placed, and the largest id placed. */
export interface Placed {
  places: PagedPlaces;
  live: number;
  maxId: number;
}

/** `id`'s line is at `offset` (`length` bytes): placed, counted once, the largest id kept. */
export function place(placed: Placed, id: number, offset: number, length: number): void {
  if (!Number.isInteger(id) || id < 0) throw new Error(`A cold record needs a whole-number id, not ${id}`);
  if (!(placed.places.offset(id) > 0)) placed.live++;
  placed.places.set(id, offset + 1, length);
  if (id > placed.maxId) placed.maxId = id;
}

/** `id` is no longer placed (nothing if it was not). */
export function unplace(placed: Placed, id: number): void {
  if (!(placed.places.offset(id) > 0)) return;
  placed.places.set(id, 0, 0);
  placed.live--;
}

/** Rows of a cold table read at a time (2.6 MB for the messages' rows). */
const ROWS_READ = 65_536;

/**
 * The state of `kind`'s cold files at `mark`, read from its table (`fds.rows`) and keys
 * (`fds.keys`), with a pause (a `yield`) between slices of the work: run straight through at
 * open, or beside the event loop to make an image (`imageOf`; `util/steps.ts`). Rows are in the order written:
 * the last row of an id says where it is. The table is read a slice at a time (the whole of it
 * was 59 MB at ten years); of each id's last row only its index keys are kept, until the sorted
 * tables are made.
 */
export function* readState(
  kind: string,
  fds: { rows: number; keys: number },
  mark: ColdMark,
  /** Per index that lists cold records: its `split` separator, if it declares one. */
  splits: readonly (string | undefined)[],
): Generator<void, ColdState> {
  const width = mark.rowWidth;
  const keys: string[] = [];
  if (mark.keyBytes) {
    const text = readAt(fds.keys, 0, mark.keyBytes).toString('utf8');
    for (const line of text.split('\n')) if (line) keys.push(JSON.parse(line) as string);
  }
  const placed: Placed = { places: new PagedPlaces(), live: 0, maxId: -1 };
  const { places } = placed;
  const slice = new Float64Array(Math.min(mark.rows, ROWS_READ) * width);
  const bytes = Buffer.from(slice.buffer);
  const keyParts = width - 3;
  for (let from = 0; from < mark.rows; from += ROWS_READ) {
    yield;
    const rows = Math.min(ROWS_READ, mark.rows - from);
    readAt(fds.rows, from * width * 8, rows * width * 8, bytes);
    for (let r = 0; r < rows; r++) {
      const at = r * width;
      const id = slice[at];
      if (!Number.isInteger(id) || id < 0) throw coldDamaged(`cold/${kind}.rows`, `holds a row whose id is ${id}`);
      if (slice[at + 1] < 0) {
        unplace(placed, id);
        continue;
      }
      place(placed, id, slice[at + 1], slice[at + 2]);
      if (keyParts) places.setKeys(id, slice, at + 3, keyParts);
    }
  }
  const tables: ColdKeyTable[] = [];
  for (const [i, sep] of splits.entries())
    tables.push(yield* ColdKeyTable.building(sep, keys, placed.live, (tell) => places.eachKeys(keyParts, 2 * i, tell)));
  places.dropKeys();
  return { ...placed, keyCount: keys.length, tables };
}

/**
 * An image of a cold state: the file `<kind>.image` beside the cold files, which the next start
 * uses instead of reading the table (issue 18: at ten years the messages' 1.5 million
 * rows took ~0.4 s of each start, and at thirty years would take three times that). It is derived
 * state, like the snapshot: it says which mark it is of, and is used only for that exact mark,
 * when the last bytes of the table before the mark are those it was made from, and when its own
 * checksum holds; otherwise the start reads the table, as it always could.
 *
 *     u32 header length, u32 CRC-32 of the body, header (JSON), zeros up to a multiple of 8,
 *     body: each page's offsets then lengths, each table's ids, first and second parts
 *     (each array from a multiple of 8 bytes)
 */
const IMAGE_FORMAT = 1;

interface ImageHead {
  format: number;
  kind: string;
  mark: ColdMark;
  /** CRC-32 of the table's last bytes before the mark (`tableTail`). */
  tail: number;
  keyCount: number;
  live: number;
  maxId: number;
  /** Per page: its number, whether its offsets are 64-bit, whether its lengths are 32-bit. */
  pages: [number, 0 | 1, 0 | 1][];
  /** Per table: its parts, its entries, whether its parts are 32-bit. */
  tables: { parts: string[]; n: number; wide: boolean }[];
  bodyBytes: number;
}

const up8 = (n: number) => Math.ceil(n / 8) * 8;
const TAIL_BYTES = 4096;

/** CRC-32 of the last (up to) 4 KB of the table before `mark`: an image of other files of the same lengths is not taken. */
export function tableTail(rowsFd: number, mark: ColdMark): number {
  const end = mark.rows * mark.rowWidth * 8;
  const from = Math.max(0, end - TAIL_BYTES);
  return crc32(readAt(rowsFd, from, end - from));
}

/**
 * The image of `state` at `mark`, as the parts of a file to write one after the other: the
 * header, then the arrays themselves (views, not copies: `state` must not change until they are
 * written) with zeros between them; a pause (a `yield`) after each array's checksum.
 */
export function* imageOf(kind: string, state: ColdState, mark: ColdMark, tail: number): Generator<void, Uint8Array[]> {
  const pages = [...state.places.eachPage()];
  const tables = state.tables.map((t) => t.columns);
  const arrays: ArrayBufferView[] = [];
  for (const [, page] of pages) arrays.push(page.offsets, page.lengths);
  for (const t of tables) arrays.push(t.ids, t.firsts, t.seconds);
  const body: Uint8Array[] = [];
  let crc = 0;
  let bodyBytes = 0;
  for (const a of arrays) {
    const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const pad = ZEROS.subarray(0, up8(a.byteLength) - a.byteLength);
    crc = crcOn(pad, crcOn(bytes, crc));
    body.push(bytes, pad);
    bodyBytes += bytes.byteLength + pad.byteLength;
    yield;
  }
  const head: ImageHead = {
    format: IMAGE_FORMAT,
    kind,
    mark,
    tail,
    keyCount: state.keyCount,
    live: state.live,
    maxId: state.maxId,
    pages: pages.map(([no, p]) => [
      no,
      p.offsets instanceof Float64Array ? 1 : 0,
      p.lengths instanceof Uint32Array ? 1 : 0,
    ]),
    tables: tables.map((t) => ({ parts: t.parts, n: t.ids.length, wide: t.firsts instanceof Uint32Array })),
    bodyBytes,
  };
  const headText = Buffer.from(JSON.stringify(head), 'utf8');
  const start = Buffer.alloc(up8(8 + headText.byteLength));
  start.writeUInt32LE(headText.byteLength, 0);
  start.writeUInt32LE(crc, 4);
  headText.copy(start, 8);
  return [start, ...body.filter((b) => b.byteLength)];
}

const ZEROS = new Uint8Array(8);

/**
 * The CRC-32 of `bytes` continued from `crc`. Bytes of none leave it as it is: node's
 * `zlib.crc32` answers 0 for a view of a buffer of no bytes, whatever `crc` was (zlib gives its
 * starting value for no data), so the image of a table whose every record had left it (its key
 * columns made with no room at all) was written with a checksum its reader never matched, and
 * the next start read the whole table instead (found by `test/store/coldImage.property.test.ts`).
 */
function crcOn(bytes: Uint8Array, crc: number): number {
  return bytes.byteLength ? crc32(bytes, crc) : crc;
}

/** A copy of `state` whose pages later changes do not reach (its tables never change). */
export function pagesCopied(state: ColdState): ColdState {
  const pages = [...state.places.eachPage()].map(([no, p]): [number, Page] => [
    no,
    { offsets: p.offsets.slice(), lengths: p.lengths.slice(), keys: null },
  ]);
  return { ...state, places: PagedPlaces.fromPages(pages) };
}

/** Bytes of an image checked at a time at open (its checksum is over the whole body). */
const CHECK_BYTES = 1 << 20;

/**
 * The state in the image `file` if it is of `mark` (and of the table whose tail is `tail`) and
 * whole; otherwise null (no image, another mark, another format or damaged: the table is read).
 * The whole body is checked against its checksum, a slice at a time, but not kept: the places
 * and key tables stay in the file and are read from it by position (`imageReader.ts`), through
 * the state's `image`, which the caller closes when it is done with the state.
 */
export function readImage(
  file: string,
  kind: string,
  mark: ColdMark,
  tail: number,
  splits: readonly (string | undefined)[],
): ColdState | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  let kept = false;
  try {
    const size = fs.fstatSync(fd).size;
    if (size < 8) return null;
    const first = readAt(fd, 0, 8);
    const headLength = first.readUInt32LE(0);
    if (8 + headLength > size) return null;
    const head = JSON.parse(readAt(fd, 8, headLength).toString('utf8')) as ImageHead;
    const start = up8(8 + headLength);
    if (
      head.format !== IMAGE_FORMAT ||
      head.kind !== kind ||
      !sameMark(head.mark, mark) ||
      head.tail !== tail ||
      head.tables.length !== splits.length ||
      start + head.bodyBytes !== size
    )
      return null;
    let crc = 0;
    const slice = Buffer.allocUnsafe(Math.min(CHECK_BYTES, size - start));
    for (let at = start; at < size; at += slice.length) {
      const n = Math.min(slice.length, size - at);
      crc = crcOn(readAt(fd, at, n, slice).subarray(0, n), crc);
    }
    if (crc !== first.readUInt32LE(4)) return null;
    const image = new ImageReader(fd);
    let at = start;
    /** Where the next array of `n` numbers of `each` bytes is (arrays start at multiples of 8). */
    const take = (n: number, each: number) => {
      const here = at;
      at += up8(n * each);
      return here;
    };
    const pages = head.pages.map(([no, wideOffsets, wideLengths]): [number, ImagePage] => {
      const offsetBytes = wideOffsets ? 8 : 4;
      const offsetsAt = take(PAGE, offsetBytes);
      const lengthBytes = wideLengths ? 4 : 2;
      return [no, { offsetsAt, offsetBytes, lengthsAt: take(PAGE, lengthBytes), lengthBytes }];
    });
    const tables = head.tables.map((t, i) => {
      const column = (each: 2 | 4) => new ImageColumn(image, take(t.n, each), t.n, each);
      const ids = column(4);
      const firsts = column(t.wide ? 4 : 2);
      const columns: ImageTableColumns = { parts: t.parts, ids, firsts, seconds: column(t.wide ? 4 : 2) };
      return ColdKeyTable.fromColumns(splits[i], columns);
    });
    kept = true;
    return {
      places: PagedPlaces.inImage(image, pages),
      live: head.live,
      maxId: head.maxId,
      keyCount: head.keyCount,
      tables,
      image,
    };
  } catch {
    return null;
  } finally {
    if (!kept) fs.closeSync(fd);
  }
}

/** `length` bytes of `fd` from `position` (a short read is an error: the file was cut). */
export function readAt(fd: number, position: number, length: number, into = Buffer.alloc(length)): Buffer {
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, into, got, length - got, position + got);
    if (n === 0) throw new Error('A cold file ended before the record it should hold');
    got += n;
  }
  return into;
}
