/**
 * Secondary indexes over the in-memory collections of the metadata store: for each declared
 * index, the ids of the records with each key, kept in order, so that a query reads only the
 * records it returns. Maintained by `MetaStore` on every applied record change (a put, a
 * replacement that moves a record to another key or place, a del) and built from the snapshot
 * at start; the journal's tail is then replayed through the same path as live writes.
 *
 * Order. Records of one key come in the order of the collection itself — the order of
 * `MetaStore.all`, which is JavaScript's key order of the collection object: ids that are array
 * indexes (every numeric id) ascending, then the other ids in the order they were first stored
 * (a replaced record keeps its place; a deleted and re-added one goes last). An index that
 * declares `order` sorts by that value first (code-unit order), then in the collection's order.
 */

/** One index of a collection: the key a record is found by, or undefined to leave it out. */
export interface IndexDef<R> {
  key: (r: R) => string | undefined;
  /** Sort the records of a key by this value first (e.g. a date), then in the collection's order. */
  order?: (r: R) => string;
}

interface Entry {
  id: string;
  rank: number;
  ord: string;
}

/** The largest array index is 2^32 - 2: such ids come first, in numeric order, in an object's keys. */
const ARRAY_INDEX_END = 2 ** 32 - 1;
const isArrayIndex = (id: string) => /^(0|[1-9]\d*)$/.test(id) && Number(id) < ARRAY_INDEX_END;

/**
 * A record's key and order value. Keys are read from records already on disk, so reading them
 * must never fail the write: a record a key function cannot read (malformed) is left out.
 */
function keyOf<R>(def: IndexDef<R>, r: R): string | undefined {
  try {
    return def.key(r);
  } catch {
    return undefined;
  }
}
function ordOf<R>(def: IndexDef<R>, r: R): string {
  try {
    return def.order ? def.order(r) : '';
  } catch {
    return '';
  }
}

const compare = (a: Entry, b: Entry) => (a.ord < b.ord ? -1 : a.ord > b.ord ? 1 : a.rank - b.rank);

/**
 * The entries of one key, sorted. Taking the first entry — a queue served from the front, as the
 * mail worker takes the messages due — costs O(1): the front slot is left behind and the array
 * compacted once the slots left behind are half of it (a splice at index 0 moved every other
 * entry: with 60,000 messages waiting, draining them was quadratic). Elsewhere an insertion or
 * removal is a splice, and appending in order (new ids are the largest) a push.
 */
class Bucket {
  private items: (Entry | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  at(i: number): Entry {
    return this.items[this.head + i]!;
  }

  /** Append without keeping order (building from a snapshot; `sort` follows). */
  push(e: Entry): void {
    this.items.push(e);
  }

  sort(): void {
    this.compact();
    (this.items as Entry[]).sort(compare);
  }

  /** The first position whose entry is not before `e` (binary search). */
  lowerBound(e: Pick<Entry, 'ord' | 'rank'>): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(this.at(mid), e as Entry) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insert(e: Entry): void {
    const n = this.length;
    // Records mostly arrive in order (new ids are the largest): append without a search.
    if (!n || compare(this.at(n - 1), e) < 0) this.items.push(e);
    else {
      const i = this.lowerBound(e);
      if (i === 0 && this.head > 0) this.items[--this.head] = e;
      else this.items.splice(this.head + i, 0, e);
    }
  }

  removeAt(i: number): void {
    if (i === 0) {
      this.items[this.head++] = undefined;
      if (this.head >= 1024 && this.head * 2 >= this.items.length) this.compact();
      else if (this.head === this.items.length) this.compact();
    } else this.items.splice(this.head + i, 1);
  }

  private compact(): void {
    if (!this.head) return;
    this.items = this.items.slice(this.head);
    this.head = 0;
  }
}

/** The indexes of one collection. */
export class CollectionIndexes<R = unknown> {
  /** Place in the collection's order of ids that are not array indexes (by first store). */
  private readonly ordinals = new Map<string, number>();
  private nextOrdinal = 0;
  /** index name → key → entries, sorted. */
  private readonly buckets = new Map<string, Map<string, Bucket>>();

  constructor(private readonly defs: Record<string, IndexDef<R>>) {
    for (const name of Object.keys(defs)) this.buckets.set(name, new Map());
  }

  /** Build from a collection as read from the snapshot (its keys are in the collection's order). */
  load(records: Record<string, R>): void {
    for (const [id, r] of Object.entries(records)) {
      this.enter(id);
      for (const [name, def] of Object.entries(this.defs)) {
        const key = keyOf(def, r);
        if (key !== undefined) this.bucket(name, key).push(this.entry(id, r, def));
      }
    }
    for (const keys of this.buckets.values()) for (const list of keys.values()) list.sort();
  }

  /** A record stored under `id`; `old` is the record it replaces, if there was one. */
  put(id: string, old: R | undefined, had: boolean, next: R): void {
    if (!had) this.enter(id);
    for (const [name, def] of Object.entries(this.defs)) {
      const before = had ? keyOf(def, old as R) : undefined;
      const after = keyOf(def, next);
      const ordBefore = had ? ordOf(def, old as R) : '';
      const ordAfter = ordOf(def, next);
      if (had && before === after && ordBefore === ordAfter) continue;
      if (before !== undefined) this.remove(name, before, { ord: ordBefore, rank: this.rank(id) });
      if (after !== undefined) this.insert(name, after, this.entry(id, next, def));
    }
  }

  /** The record under `id` was deleted. */
  del(id: string, old: R): void {
    for (const [name, def] of Object.entries(this.defs)) {
      const key = keyOf(def, old);
      if (key !== undefined) this.remove(name, key, { ord: ordOf(def, old), rank: this.rank(id) });
    }
    this.ordinals.delete(id);
  }

  /** The ids with `key`, in order. */
  ids(name: string, key: string): string[] {
    const list = this.list(name, key);
    const out: string[] = [];
    for (let i = 0; i < (list?.length ?? 0); i++) out.push(list!.at(i).id);
    return out;
  }

  count(name: string, key: string): number {
    return this.list(name, key)?.length ?? 0;
  }

  /**
   * The last `limit` ids with `key`, last first; with `before` (a numeric id, for an index without
   * `order`) only ids that are array indexes below it.
   */
  newest(name: string, key: string, limit: number, before?: number): string[] {
    const list = this.list(name, key);
    if (!list) return [];
    let end = list.length;
    if (before !== undefined) {
      if (this.defs[name].order)
        throw new Error(`The index ${name} is ordered by value: "before" takes an id only on an index in id order.`);
      end = list.lowerBound({ ord: '', rank: Math.max(0, Math.min(Math.ceil(before), ARRAY_INDEX_END)) });
    }
    const out: string[] = [];
    for (let i = end - 1; i >= 0 && out.length < limit; i--) out.push(list.at(i).id);
    return out;
  }

  /**
   * The first `limit` ids with `key`, in order; with `upTo` (an index with `order`), only those
   * whose order value is at most `upTo`. Reads only the entries it returns (and one more).
   */
  oldest(name: string, key: string, limit: number, upTo?: string): string[] {
    if (upTo !== undefined && !this.defs[name].order)
      throw new Error(`The index ${name} has no order value: "upTo" needs an index with \`order\`.`);
    const list = this.list(name, key);
    const out: string[] = [];
    for (let i = 0; list && i < list.length && out.length < limit; i++) {
      if (upTo !== undefined && list.at(i).ord > upTo) break;
      out.push(list.at(i).id);
    }
    return out;
  }

  private list(name: string, key: string): Bucket | undefined {
    const keys = this.buckets.get(name);
    if (!keys) throw new Error(`No index named ${name}.`);
    return keys.get(key);
  }

  private bucket(name: string, key: string): Bucket {
    const keys = this.buckets.get(name)!;
    let list = keys.get(key);
    if (!list) keys.set(key, (list = new Bucket()));
    return list;
  }

  private enter(id: string): void {
    if (!isArrayIndex(id)) this.ordinals.set(id, this.nextOrdinal++);
  }

  /** The id's place in the collection's order: array indexes first, by value; then by first store. */
  private rank(id: string): number {
    return isArrayIndex(id) ? Number(id) : ARRAY_INDEX_END + this.ordinals.get(id)!;
  }

  private entry(id: string, r: R, def: IndexDef<R>): Entry {
    return { id, rank: this.rank(id), ord: ordOf(def, r) };
  }

  private insert(name: string, key: string, e: Entry): void {
    this.bucket(name, key).insert(e);
  }

  private remove(name: string, key: string, at: Pick<Entry, 'ord' | 'rank'>): void {
    const keys = this.buckets.get(name)!;
    const list = keys.get(key);
    if (!list) return;
    const i = list.lowerBound(at);
    if (i < list.length && list.at(i).rank === at.rank) list.removeAt(i);
    if (!list.length) keys.delete(key);
  }
}
