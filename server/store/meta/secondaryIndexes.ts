import type { ColdKeyTable } from './coldKeyTable.js';

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
  /**
   * List cold records too (`coldRecords.ts`: records kept on disk, not in memory). Other indexes
   * leave them out. Such an index has no `order` (its keys are all that is kept of them).
   */
  cold?: boolean;
  /**
   * Keys are two parts joined by this separator (`address thread`), with many keys sharing each
   * part: held as a map of maps, each part once (907,440 recipient-and-thread keys of ~60
   * characters took 123 MB as one map of whole strings at ten years).
   */
  split?: string;
}

/** Where an entry sits: its order value ('' for an index without one), then its id's rank. */
interface Place {
  ord: string;
  rank: number;
}

/** The largest array index is 2^32 - 2: such ids come first, in numeric order, in an object's keys. */
export const ARRAY_INDEX_END = 2 ** 32 - 1;
export const isArrayIndex = (id: string) => /^(0|[1-9]\d*)$/.test(id) && Number(id) < ARRAY_INDEX_END;

/**
 * A record's key and order value. Keys are read from records already on disk, so reading them
 * must never fail the write: a record a key function cannot read (malformed) is left out.
 */
function keyOf<R>(def: IndexDef<R>, r: R, cold = false): string | undefined {
  if (cold && !def.cold) return undefined;
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

const compare = (aOrd: string, aRank: number, bOrd: string, bRank: number) =>
  aOrd < bOrd ? -1 : aOrd > bOrd ? 1 : aRank - bRank;

/**
 * The entries of one key, sorted, as numbers: each entry is its id's rank (which gives the id
 * back, see `CollectionIndexes.idOf`), beside its order value for an index that declares one.
 * An entry costs 8 bytes, or 8 and a reference to its order value (an object per entry, with
 * its id as a string, cost ~70 bytes: at one year of activity the mails' six indexes took
 * ~50 MB, as much as the messages' records).
 *
 * Taking the first entry — a queue served from the front, as the mail worker takes the messages
 * due — costs O(1): the front slot is left behind and the arrays compacted once the slots left
 * behind are half of them (a splice at index 0 moved every other entry: with 60,000 messages
 * waiting, draining them was quadratic). Elsewhere an insertion or removal is a splice, and
 * appending in order (new ids are the largest) a push.
 */
class Bucket {
  private ranks: number[] = [];
  /** The order values, beside the ranks; null for an index without `order`. */
  private ords: string[] | null;
  private head = 0;

  constructor(ordered: boolean) {
    this.ords = ordered ? [] : null;
  }

  get length(): number {
    return this.ranks.length - this.head;
  }

  rankAt(i: number): number {
    return this.ranks[this.head + i];
  }

  ordAt(i: number): string {
    return this.ords ? this.ords[this.head + i] : '';
  }

  /** Append without keeping order (building from a snapshot; `sort` follows). */
  push(rank: number, ord: string): void {
    this.ranks.push(rank);
    this.ords?.push(ord);
  }

  sort(): void {
    this.compact();
    const { ranks, ords } = this;
    // Records are read in id order, so most lists are in order already: looked at, not sorted
    // (the sort of the waiting messages' indexes at thirty years held the loop ~40-60 ms).
    let sorted = true;
    for (let i = 1; sorted && i < ranks.length; i++)
      sorted = ords ? compare(ords[i - 1], ranks[i - 1], ords[i], ranks[i]) <= 0 : ranks[i - 1] <= ranks[i];
    if (!ords) {
      // A copy of exactly its length: an array grown by push keeps up to 16 spare slots (8 bytes
      // each), more than the entries of most keys (a recipient's copies of one thread).
      this.ranks = (sorted ? ranks : ranks.sort((a, b) => a - b)).slice();
      return;
    }
    if (sorted) {
      this.ranks = ranks.slice();
      this.ords = ords.slice();
      return;
    }
    const order = ranks.map((_, i) => i).sort((a, b) => compare(ords[a], ranks[a], ords[b], ranks[b]));
    this.ranks = order.map((i) => ranks[i]);
    this.ords = order.map((i) => ords[i]);
  }

  /** The first position whose entry is not before `at` (binary search). */
  lowerBound(at: Place): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(this.ordAt(mid), this.rankAt(mid), at.ord, at.rank) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insert(at: Place): void {
    const n = this.length;
    // Records mostly arrive in order (new ids are the largest): append without a search.
    if (!n || compare(this.ordAt(n - 1), this.rankAt(n - 1), at.ord, at.rank) < 0) this.push(at.rank, at.ord);
    else {
      const i = this.lowerBound(at);
      if (i === 0 && this.head > 0) {
        this.head--;
        this.ranks[this.head] = at.rank;
        if (this.ords) this.ords[this.head] = at.ord;
      } else {
        this.ranks.splice(this.head + i, 0, at.rank);
        this.ords?.splice(this.head + i, 0, at.ord);
      }
    }
  }

  removeAt(i: number): void {
    if (i === 0) {
      if (this.ords) this.ords[this.head] = '';
      this.head++;
      if (this.head >= 1024 && this.head * 2 >= this.ranks.length) this.compact();
      else if (this.head === this.ranks.length) this.compact();
    } else {
      this.ranks.splice(this.head + i, 1);
      this.ords?.splice(this.head + i, 1);
    }
  }

  private compact(): void {
    if (!this.head) return;
    this.ranks = this.ranks.slice(this.head);
    if (this.ords) this.ords = this.ords.slice(this.head);
    this.head = 0;
  }

  /**
   * The entries of `live` (an index without `order`) and the ids of a cold table (ascending,
   * array indexes: their own ranks) but those in `left`, in one sorted bucket.
   */
  static merged(live: Bucket | undefined, cold: Uint32Array, left: ReadonlySet<number>): Bucket {
    const b = new Bucket(false);
    const out = b.ranks;
    let i = 0;
    const n = live?.length ?? 0;
    for (let j = 0; j < cold.length; j++) {
      const id = cold[j];
      if (left.has(id)) continue;
      while (i < n && live!.rankAt(i) < id) out.push(live!.rankAt(i++));
      out.push(id);
    }
    while (i < n) out.push(live!.rankAt(i++));
    return b;
  }

  /** A bucket of one entry (a key held by one record, kept as its bare rank: see `CollectionIndexes`). */
  static single(rank: number): Bucket {
    const b = new Bucket(false);
    b.ranks.push(rank);
    return b;
  }
}

type Entry = Bucket | number;

/** The indexes of a collection that list cold records too, in the one order cold rows keep their keys. */
export const coldDefs = <R>(defs: Record<string, IndexDef<R>>): IndexDef<R>[] =>
  Object.values(defs).filter((d) => d.cold);

/** The keys of one index and their entries. */
interface KeyMap {
  readonly size: number;
  get(key: string): Entry | undefined;
  set(key: string, entry: Entry): void;
  delete(key: string): void;
}

class PlainKeys extends Map<string, Entry> implements KeyMap {}

/**
 * Keys of two parts (`a<sep>b`) as a map of maps: a key costs an entry of an inner map, and each
 * part is one string however many keys hold it (parts are copied flat once: a part cut from a
 * key would otherwise keep the whole key alive).
 */
class SplitKeys implements KeyMap {
  private readonly outer = new Map<string, Map<string, Entry>>();
  private readonly parts = new Map<string, string>();
  size = 0;

  constructor(private readonly sep: string) {}

  private cut(key: string): [string, string] {
    const i = key.indexOf(this.sep);
    return i < 0 ? ['', key] : [key.slice(0, i), key.slice(i + this.sep.length)];
  }

  private part(s: string): string {
    let held = this.parts.get(s);
    if (held === undefined) {
      held = Buffer.from(s, 'utf8').toString('utf8');
      this.parts.set(held, held);
    }
    return held;
  }

  get(key: string): Entry | undefined {
    const [a, b] = this.cut(key);
    return this.getParts(a, b);
  }

  getParts(a: string, b: string): Entry | undefined {
    return this.outer.get(a)?.get(b);
  }

  set(key: string, entry: Entry): void {
    const [a, b] = this.cut(key);
    this.setParts(a, b, entry);
  }

  setParts(a: string, b: string, entry: Entry): void {
    let inner = this.outer.get(a);
    if (!inner) this.outer.set(this.part(a), (inner = new Map()));
    if (inner.has(b)) inner.set(b, entry);
    else {
      inner.set(this.part(b), entry);
      this.size++;
    }
  }

  delete(key: string): void {
    const [a, b] = this.cut(key);
    const inner = this.outer.get(a);
    if (!inner?.delete(b)) return;
    this.size--;
    if (!inner.size) this.outer.delete(a);
  }
}

/**
 * At most this many keys of one index keep `derived` values, those read last (a proposal's
 * placed comments are a copy of each comment record: at ten years, 5,000 proposals held ~15 MB).
 */
export const DERIVED_KEYS = 4096;

/**
 * At most this many keys of one index keep small `derived` values (ids and counts, no records):
 * those a page reads for every key of a large set — "My drafts" reads the open threads of every
 * proposal of a member's groups, ~1,250 of 5,000 at ten years, and the five groups together
 * passed DERIVED_KEYS, so that each view after any new comment read ~20,000 comments again
 * (135-340 ms of the event loop). Kept apart from the others, so that pages' large values do not
 * push them out.
 */
export const SMALL_DERIVED_KEYS = 65_536;

/** How many changed keys an index's change log holds (`ChangeLog`): a reader further behind reads every key again. */
export const CHANGES_LOGGED = 4096;

/**
 * Where an index's keys stood: given back to `CollectionIndexes.keysSince`, which answers with
 * the keys whose records changed after it. Opaque to its holder.
 */
export interface ChangeMark {
  readonly log: object;
  readonly at: number;
}

/**
 * The last CHANGES_LOGGED keys of one index whose records were written or deleted, in order:
 * what lets a view made from many keys' records (a member's drafts read ~15,000 proposals' open
 * threads at thirty years) be brought up to date from the few that changed. Kept only for an
 * index a reader has asked a mark of.
 */
class ChangeLog {
  private readonly keys: string[] = [];
  private count = 0;

  add(key: string): void {
    this.keys[this.count++ % CHANGES_LOGGED] = key;
  }

  mark(): ChangeMark {
    return { log: this, at: this.count };
  }

  since(mark: ChangeMark): Set<string> | null {
    if (mark.log !== this || mark.at > this.count || this.count - mark.at > CHANGES_LOGGED) return null;
    const out = new Set<string>();
    for (let i = mark.at; i < this.count; i++) out.add(this.keys[i % CHANGES_LOGGED]);
    return out;
  }
}

/**
 * The indexes of one collection. A key held by a single record, in an index without `order`,
 * is kept as that record's bare rank rather than a bucket (most keys of the mails' `received`
 * index — one recipient, one logical message — have one record).
 */
export class CollectionIndexes<R = unknown> {
  /** Place in the collection's order of ids that are not array indexes (by first store). */
  private readonly ordinals = new Map<string, number>();
  /** Those ids by their ordinal: an entry holds a rank, and gives its id back through this. */
  private readonly byOrdinal = new Map<number, string>();
  private nextOrdinal = 0;
  /** index name → key → entries, sorted (a bucket, or one rank alone). */
  private readonly buckets = new Map<string, KeyMap>();
  /** Each index: its name, definition and keys (one list, not a new one per record). */
  private readonly each: { name: string; def: IndexDef<R>; keys: KeyMap }[] = [];
  /** Those of `each` that list cold records too, in `coldDefs` order: the order their keys are kept in cold rows. */
  private readonly coldOnes: { name: string; def: IndexDef<R>; keys: KeyMap }[];
  /**
   * Values made from the records of one key (`derived`): index name → key → what → value. A write
   * or delete of a record with that key, before or after, forgets the key's values.
   */
  private readonly made = new Map<string, Map<string, Map<string, unknown>>>();
  /** The same for small values (`SMALL_DERIVED_KEYS`). */
  private readonly madeSmall = new Map<string, Map<string, Map<string, unknown>>>();
  /**
   * Per index that lists cold records: the keys of those cold at load (`coldKeyTable.ts`), and
   * the ids among them since put again or deleted (their entries there no longer count; such a
   * record's entry, if it has one, is with the others).
   */
  private readonly coldTables = new Map<string, { table: ColdKeyTable; left: Set<number> }>();
  /** Per index a reader has asked a mark of: the keys changed since (`changeMark`). */
  private readonly logs = new Map<string, ChangeLog>();

  constructor(private readonly defs: Record<string, IndexDef<R>>) {
    for (const [name, def] of Object.entries(defs)) {
      if (def.cold && def.order) throw new Error(`The index ${name} lists cold records: it cannot have an order.`);
      const keys: KeyMap = def.split ? new SplitKeys(def.split) : new PlainKeys();
      this.buckets.set(name, keys);
      this.each.push({ name, def, keys });
    }
    this.coldOnes = this.each.filter((e) => e.def.cold);
  }

  /**
   * Build from a collection as read from the snapshot (its keys are in the collection's order),
   * and from the keys of its cold records (`coldTables`: one per index that lists cold records,
   * in `coldDefs` order), which are kept as they are and read beside the others.
   */
  load(records: Record<string, R>, coldTables: readonly ColdKeyTable[] = []): void {
    const loading = this.loading();
    for (const id in records) if (Object.hasOwn(records, id)) loading.add(id, records[id]);
    loading.done(coldTables);
  }

  /**
   * `load` a record at a time: `add` each in the order `all` gives (numeric ids ascending, then
   * the others in the order they were first stored), then `done` once. For a collection read
   * in slices (`MetaStore.readLater`).
   */
  loading(): { add: (id: string, r: R) => void; done: (coldTables?: readonly ColdKeyTable[]) => void } {
    const lists: Bucket[] = [];
    const add = (id: string, r: R) => {
      const rank = this.entered(id);
      for (const { def, keys } of this.each) {
        const key = keyOf(def, r);
        if (key === undefined) continue;
        const found = keys.get(key);
        if (found === undefined) {
          if (!def.order) {
            // A key of one record, in an index without order, is its bare rank (a bucket once a
            // second comes): most keys of the mails' `thread` index have one record.
            keys.set(key, rank);
            continue;
          }
          const list = new Bucket(true);
          list.push(rank, ordOf(def, r));
          keys.set(key, list);
          lists.push(list);
        } else if (typeof found === 'number') {
          const list = new Bucket(false);
          list.push(found, '');
          list.push(rank, '');
          keys.set(key, list);
          lists.push(list);
        } else found.push(rank, ordOf(def, r));
      }
    };
    const done = (coldTables: readonly ColdKeyTable[] = []) => {
      coldTables.forEach((table, i) => {
        if (table.size) this.coldTables.set(this.coldOnes[i].name, { table, left: new Set() });
      });
      for (const list of lists) list.sort();
    };
    return { add, done };
  }

  /** A cold record's keys in the indexes that list cold records (`coldDefs` order). */
  coldKeys(r: R): (string | undefined)[] {
    return this.coldOnes.map((e) => keyOf(e.def, r, true));
  }

  /**
   * A record stored under `id`; `old` is the record it replaces, if there was one. `oldCold` and
   * `nextCold`: whether the old and the new record are cold (listed only by cold indexes).
   */
  put(id: string, old: R | undefined, had: boolean, next: R, oldCold = false, nextCold = false): void {
    const rank = had ? this.rank(id) : this.entered(id);
    for (const { name, def } of this.each) {
      const before = had ? keyOf(def, old as R, oldCold) : undefined;
      const after = keyOf(def, next, nextCold);
      const ordBefore = had ? ordOf(def, old as R) : '';
      const ordAfter = ordOf(def, next);
      this.forget(name, before);
      this.forget(name, after);
      if (had && before === after && ordBefore === ordAfter) continue;
      if (before !== undefined) this.remove(name, before, { ord: ordBefore, rank });
      if (after !== undefined) this.insert(name, after, { ord: ordAfter, rank });
    }
  }

  /** The record under `id` was deleted. */
  del(id: string, old: R, oldCold = false): void {
    const rank = this.rank(id);
    for (const { name, def } of this.each) {
      const key = keyOf(def, old, oldCold);
      this.forget(name, key);
      if (key !== undefined) this.remove(name, key, { ord: ordOf(def, old), rank });
    }
    const ordinal = this.ordinals.get(id);
    if (ordinal !== undefined) {
      this.ordinals.delete(id);
      this.byOrdinal.delete(ordinal);
    }
  }

  /**
   * The value `what` made from the records with `key` (given their ids by `make`), made once and
   * kept until a record with that key is written or deleted, for the DERIVED_KEYS keys read last
   * (SMALL_DERIVED_KEYS for a `small` value: ids and numbers, never records).
   */
  derived<T>(name: string, key: string, what: string, make: (ids: string[]) => T, small = false): T {
    this.keys(name);
    const made = small ? this.madeSmall : this.made;
    let byKey = made.get(name);
    if (!byKey) made.set(name, (byKey = new Map()));
    let values = byKey.get(key);
    if (values) {
      // The key read last goes last: the first is the one read longest ago, let go first.
      byKey.delete(key);
      byKey.set(key, values);
    } else {
      byKey.set(key, (values = new Map()));
      if (byKey.size > (small ? SMALL_DERIVED_KEYS : DERIVED_KEYS)) byKey.delete(byKey.keys().next().value as string);
    }
    if (values.has(what)) return values.get(what) as T;
    const value = make(this.ids(name, key));
    values.set(what, value);
    return value;
  }

  /** Where the keys of index `name` stand now: `keysSince` gives those changed after it. */
  changeMark(name: string): ChangeMark {
    this.keys(name);
    let log = this.logs.get(name);
    if (!log) this.logs.set(name, (log = new ChangeLog()));
    return log.mark();
  }

  /**
   * The keys of index `name` whose records were written or deleted since `mark` (each once), or
   * null when that is not known: a mark of another store or of indexes built again, or further
   * back than the log holds. Null means: read every key again.
   */
  keysSince(name: string, mark: ChangeMark): Set<string> | null {
    return this.logs.get(name)?.since(mark) ?? null;
  }

  private forget(name: string, key: string | undefined): void {
    if (key === undefined) return;
    this.logs.get(name)?.add(key);
    this.made.get(name)?.delete(key);
    this.madeSmall.get(name)?.delete(key);
  }

  /** The ids with `key`, in order. */
  ids(name: string, key: string): string[] {
    const list = this.list(name, key);
    const out: string[] = [];
    for (let i = 0; i < (list?.length ?? 0); i++) out.push(this.idOf(list!.rankAt(i)));
    return out;
  }

  count(name: string, key: string): number {
    if (this.coldTables.has(name)) return this.list(name, key)?.length ?? 0;
    const found = this.keys(name).get(key);
    return found === undefined ? 0 : typeof found === 'number' ? 1 : found.length;
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
    for (let i = end - 1; i >= 0 && out.length < limit; i--) out.push(this.idOf(list.rankAt(i)));
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
      if (upTo !== undefined && list.ordAt(i) > upTo) break;
      out.push(this.idOf(list.rankAt(i)));
    }
    return out;
  }

  private keys(name: string): KeyMap {
    const keys = this.buckets.get(name);
    if (!keys) throw new Error(`No index named ${name}.`);
    return keys;
  }

  /** The entries of a key, to read (a key held by one record as a bucket of one; with the cold table's, if any). */
  private list(name: string, key: string): Bucket | undefined {
    const found = this.keys(name).get(key);
    const live = typeof found === 'number' ? Bucket.single(found) : found;
    const cold = this.coldTables.get(name);
    const coldIds = cold?.table.ids(key);
    return coldIds?.length ? Bucket.merged(live, coldIds, cold!.left) : live;
  }

  /** The rank of an id stored for the first time (one not an array index takes the next ordinal). */
  private entered(id: string): number {
    if (isArrayIndex(id)) return Number(id);
    const ordinal = this.nextOrdinal++;
    this.ordinals.set(id, ordinal);
    this.byOrdinal.set(ordinal, id);
    return ARRAY_INDEX_END + ordinal;
  }

  /** The id's place in the collection's order: array indexes first, by value; then by first store. */
  private rank(id: string): number {
    return isArrayIndex(id) ? Number(id) : ARRAY_INDEX_END + this.ordinals.get(id)!;
  }

  /** The id of a rank (the inverse of `rank`). */
  private idOf(rank: number): string {
    return rank < ARRAY_INDEX_END ? String(rank) : this.byOrdinal.get(rank - ARRAY_INDEX_END)!;
  }

  private insert(name: string, key: string, at: Place): void {
    const keys = this.buckets.get(name)!;
    const found = keys.get(key);
    const ordered = !!this.defs[name].order;
    if (found === undefined) {
      if (ordered) {
        const list = new Bucket(true);
        list.push(at.rank, at.ord);
        keys.set(key, list);
      } else keys.set(key, at.rank);
    } else if (typeof found === 'number') {
      const list = Bucket.single(found);
      list.insert(at);
      keys.set(key, list);
    } else found.insert(at);
  }

  private remove(name: string, key: string, at: Place): void {
    const keys = this.buckets.get(name)!;
    const found = keys.get(key);
    const i = typeof found === 'object' ? found.lowerBound(at) : -1;
    const here =
      typeof found === 'number' ? found === at.rank : i >= 0 && i < found!.length && found!.rankAt(i) === at.rank;
    // Not with the others: an entry of the cold table (a record cold at load), which goes.
    if (!here) this.coldTables.get(name)?.left.add(at.rank);
    if (found === undefined) return;
    if (typeof found === 'number') {
      if (here) keys.delete(key);
      return;
    }
    if (here) found.removeAt(i);
    if (!found.length) keys.delete(key);
    else if (found.length === 1 && !this.defs[name].order) keys.set(key, found.rankAt(0));
  }
}
