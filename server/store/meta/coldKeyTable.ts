import { runThrough } from '../../util/steps.js';
import type { ImageColumn } from './imageReader.js';

/**
 * The keys of one index for the records that were cold when the store opened, as three typed
 * arrays sorted by key: no map entry, bucket or number object per record.
 *
 * At ten years the mails' `thread` index listed 1.48 million cold messages. Built as maps of
 * buckets, it took ~75 MB of the heap and ~0.8 s of start-up (and a share of the garbage
 * collection that followed); here it is 8 bytes a record outside the heap (an id, and each part's
 * number in 16 bits while there are fewer than 65,536 parts), made by two passes of a counting
 * sort over the cold table read at open.
 *
 * A key is two parts (`address`, `thread` for an index that declares `split`; a whole key has
 * no first part), each numbered once (`parts`). Entries are sorted by second part, then first,
 * then id: the cold table is read in id order and both passes are stable.
 */
export class ColdKeyTable {
  private constructor(
    private readonly sep: string | undefined,
    /** Each part's number; the first part of a whole key is `none`. */
    private readonly parts: Map<string, number>,
    private readonly none: number,
    private readonly firsts: Column | ImageColumn,
    private readonly seconds: Column | ImageColumn,
    private readonly idList: Uint32Array | ImageColumn,
  ) {}

  /**
   * Build from the entries told by `each` in ascending id order: an id and its key's two parts,
   * as numbers into `keys` (`head` -1: a whole key, in `tail`; `tail` -1: no key). `keys` may
   * hold one string under several numbers (the keys file numbers a key again after a restart).
   */
  static build(
    sep: string | undefined,
    keys: readonly string[],
    count: number,
    each: (tell: (id: number, head: number, tail: number) => void) => void,
  ): ColdKeyTable {
    return runThrough(ColdKeyTable.building(sep, keys, count, each));
  }

  /**
   * `build`, with a pause (a `yield`) between slices of the work, so that it can run beside the
   * event loop (`coldState.ts`: the table of ten years' messages sorts 1.5 million entries);
   * `each` may pause too, as a generator.
   */
  static *building(
    sep: string | undefined,
    keys: readonly string[],
    count: number,
    each: (tell: (id: number, head: number, tail: number) => void) => Iterable<void> | void,
  ): Generator<void, ColdKeyTable> {
    const parts = new Map<string, number>();
    const canon = new Uint32Array(keys.length);
    keys.forEach((key, i) => {
      let no = parts.get(key);
      if (no === undefined) parts.set(key, (no = parts.size));
      canon[i] = no;
    });
    const none = parts.size;
    // Parts are numbered below `none + 1`: 16 bits each while there are fewer than 65,536 (the
    // messages' addresses and threads at ten years: 2 bytes an entry less in each column).
    const Parts = none <= 0xffff ? Uint16Array : Uint32Array;
    let ids: Uint32Array = new Uint32Array(count);
    let firsts: Column = new Parts(count);
    let seconds: Column = new Parts(count);
    let n = 0;
    const told = each((id, head, tail) => {
      if (tail < 0) return;
      ids[n] = id;
      firsts[n] = head < 0 ? none : canon[head];
      seconds[n] = canon[tail];
      n++;
    });
    if (told) yield* told;
    ids = ids.subarray(0, n);
    firsts = firsts.subarray(0, n);
    seconds = seconds.subarray(0, n);
    // Stable counting sorts: by first part, then by second (so by second, first, id), the first
    // into scratch arrays and the second back (one set of scratch, not one a pass).
    const table: Columns = [ids, firsts, seconds];
    const scratch: Columns = [new Uint32Array(n), new Parts(n), new Parts(n)];
    yield* countingSort(firsts, none + 1, table, scratch);
    yield* countingSort(scratch[2], none + 1, scratch, table);
    return new ColdKeyTable(sep, parts, none, firsts, seconds, ids);
  }

  /**
   * A table as `columns` gave it: read back from an image (`coldState.ts`), its columns in memory
   * or read from the image file as they are needed.
   */
  static fromColumns(sep: string | undefined, columns: TableColumns | ImageTableColumns): ColdKeyTable {
    const parts = new Map(columns.parts.map((part, no) => [part, no]));
    return new ColdKeyTable(sep, parts, columns.parts.length, columns.firsts, columns.seconds, columns.ids);
  }

  /** What an image of the table holds: the parts in their numbers' order, and the three columns (in memory). */
  get columns(): TableColumns {
    const { idList: ids, firsts, seconds } = this;
    if (!ArrayBuffer.isView(ids) || !ArrayBuffer.isView(firsts) || !ArrayBuffer.isView(seconds))
      throw new Error('A table read from its image has no columns in memory');
    return { parts: [...this.parts.keys()], ids, firsts, seconds };
  }

  /** How many entries the table holds. */
  get size(): number {
    return this.idList.length;
  }

  /** The ids listed under `key`, ascending (a view of the table: not to be changed). */
  ids(key: string): Uint32Array {
    const cut = this.sep === undefined ? -1 : key.indexOf(this.sep);
    const first = cut < 0 ? this.none : this.parts.get(key.slice(0, cut));
    const second = this.parts.get(cut < 0 ? key : key.slice(cut + this.sep!.length));
    if (first === undefined || second === undefined) return EMPTY;
    const from = this.lowerBound(second, first);
    const to = this.lowerBound(second, first + 1);
    return this.idList.subarray(from, to) as Uint32Array;
  }

  /** The first entry whose key is not before (`second`, `first`). */
  private lowerBound(second: number, first: number): number {
    let lo = 0;
    let hi = this.idList.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const s = this.seconds.at(mid)!;
      if (s < second || (s === second && this.firsts.at(mid)! < first)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

const EMPTY = new Uint32Array(0);

/** A column of part numbers: 16-bit while they fit. */
export type Column = Uint16Array | Uint32Array;

/** A table's parts (each part's number is its place) and its columns, sorted (in memory, or read from an image file). */
export interface TableColumns<Ids = Uint32Array, Parts = Column> {
  parts: string[];
  ids: Ids;
  firsts: Parts;
  seconds: Parts;
}
/** The same, with columns read from an image file. */
export type ImageTableColumns = TableColumns<ImageColumn, ImageColumn>;
/** Ids, first parts, second parts. */
type Columns = [Uint32Array, Column, Column];

/** Entries moved between two pauses of a sort (about 5 ms of a 2-core machine's time). */
const SORT_SLICE = 1 << 18;

/**
 * The three columns reordered by `by` (values below `range`), keeping the order of equal values;
 * a pause (a `yield`) after each slice of entries.
 */
function* countingSort(by: Column, range: number, from: Columns, into: Columns): Generator<void> {
  const n = by.length;
  const starts = new Uint32Array(range + 1);
  for (let i = 0; i < n; i++) starts[by[i] + 1]++;
  for (let v = 0; v < range; v++) starts[v + 1] += starts[v];
  const [ids, firsts, seconds] = from;
  const [outIds, outFirsts, outSeconds] = into;
  for (let at = 0; at < n; at += SORT_SLICE) {
    yield;
    const end = Math.min(n, at + SORT_SLICE);
    for (let i = at; i < end; i++) {
      const to = starts[by[i]]++;
      outIds[to] = ids[i];
      outFirsts[to] = firsts[i];
      outSeconds[to] = seconds[i];
    }
  }
}
