import * as path from 'node:path';
import { type LaterLines, SnapshotFile, SnapshotLines, type Snapshot } from './snapshotFile.js';
import {
  Journal,
  type EntryMeta,
  type JournalEntry,
  type NewEntry,
  type OpenJournalFile,
  type RecordChange,
} from './journal.js';
import { AuditTrail, type AuditEntry } from './auditTrail.js';
import { LaterKind, type LaterHost, type LaterReport } from './laterKind.js';
import { WriteHealth, type WriteState } from '../health.js';
import { DetachedBodies, type DetachSpec } from './detachedBodies.js';
import { DetachedFields, type FieldsChange } from './detachedFields.js';
import type { Collections, CollectionName } from './schema.js';
import { CollectionIndexes, coldDefs, isArrayIndex, type ChangeMark, type IndexDef } from './secondaryIndexes.js';
import { CollectionIds, idsIn } from './collectionIds.js';
import { ColdRecords } from './coldRecords.js';
import { StringPool } from './stringPool.js';
import { COLD, INDEXES, SUBJECT_OF, type IndexedCollection, type IndexName } from './indexes.js';
import { once } from '../../util/once.js';

export type { AuditEntry, ChangeMark, EntryMeta };

/** Values made from whole collections (`memo`) are kept for this many keys, those asked for last. */
export const MEMO_KEYS = 1024;

/** One logical change: who made it, what it was called in the audit log, and its record changes. */
export interface Change {
  actor: string | null;
  at: Date;
  events: { action: string; subject: string }[];
  /** IP address and user agent, for sign-in events. */
  meta?: EntryMeta;
  puts?: { [K in CollectionName]?: Record<string, Collections[K]> };
  dels?: { [K in CollectionName]?: string[] };
}

/**
 * The workflow metadata. The source of truth is the append-only journal (one fsynced JSON line
 * per logical change, so a change lands all or nothing and a write costs the same on day one
 * and after ten years); state lives in memory, rebuilt at start from the last snapshot
 * plus the journal's tail. The audit log is a view of the journal. One process only.
 */
export class MetaStore {
  private seq = 0;
  /** The audit log: the journal's newest lines' events in memory, older ones read a page at a time. */
  private readonly audit: AuditTrail;
  /** The seq of the last change to each collection since the start (`versionExcept`), and the snapshot's seq. */
  private readonly changedAt = new Map<string, number>();
  /** The seq of the last change to each subject's records in the `SUBJECT_OF` collections (`versionOf`). */
  private readonly subjectChangedAt = new Map<string, number>();
  /** The seq of the last change to a `SUBJECT_OF` record whose subject was not known: every subject's. */
  private anySubjectChangedAt = 0;
  /** `memo`'s values: key → the seq their collections' last change had, and the value. */
  private readonly memos = new Map<string, { at: number; value: unknown }>();
  private openedAt = 0;
  private readonly idCounters = new Map<string, number>();
  private snapshotting: Promise<void> | null = null;
  private snapshotChain: Promise<void> = Promise.resolve();
  /** After a failed snapshot: writes to wait before the next attempt. */
  private snapshotRetryIn = 0;
  private snapshotDue = false;
  /** The last snapshot's size in bytes: a segment may grow to half of it (or `snapshotMinBytes`) before the next. */
  private snapshotBytes = 0;
  private readonly health: WriteHealth;
  /** Set while `hold` runs: writes wait for it (see `hold`). */
  private held: Promise<void> | null = null;
  /** The secondary indexes (`indexes.ts`), by collection. */
  private readonly indexes = new Map<string, CollectionIndexes>();
  /** Large fields kept in files (`detachedFields.ts`), when the store was opened with `detach`. */
  private detach: DetachedFields | null = null;
  /**
   * While a snapshot is written: per kind, the value at the snapshot's seq of every record a
   * later change replaced or deleted (undefined: it did not exist then), kept from its first
   * change on, so the snapshot is the state at its seq however long it takes to write.
   */
  private frozen: Map<string, Map<string, unknown>> | null = null;
  /** The kinds whose snapshot records are not read yet (`readLater`), and what they wait with. */
  private readonly later = new Map<string, LaterKind>();
  private closed = false;

  private constructor(
    /** The records, by kind and id: the last snapshot's, with every journal line since applied. */
    private readonly collections: Snapshot['collections'],
    private readonly snapshotFile: SnapshotFile,
    private readonly journal: Journal,
    private readonly snapshotEvery: number,
    private readonly snapshotMinBytes: number,
    private readonly log: (msg: string, err?: unknown) => void,
    tmpDir: string,
    /** One copy of each short string the records repeat (`stringPool.ts`): the snapshot's were shared as it was read. */
    private readonly strings: StringPool,
    /** The ids of each collection (the snapshot's, told as it was read). */
    private readonly ids: CollectionIds,
    /** Per collection with cold records (`COLD`): which records go cold, and their files. */
    private readonly cold: Map<string, { when: (r: unknown) => boolean; file: ColdRecords }>,
    later: Record<string, LaterLines>,
    /** The seq of the first journal line read at open for the audit log (`Journal.open`'s `readFrom`). */
    auditFrom: number,
  ) {
    this.health = new WriteHealth(tmpDir);
    this.audit = new AuditTrail(journal, auditFrom);
    for (const [kind, defs] of Object.entries(INDEXES)) {
      const ix = new CollectionIndexes(defs as ConstructorParameters<typeof CollectionIndexes>[0]);
      // A kind read later gets its entries as its records are read (`readLater`).
      if (!later[kind]) ix.load(collections[kind] ?? {}, cold.get(kind)?.file.takeKeyTables());
      this.indexes.set(kind, ix);
    }
    for (const [kind, lines] of Object.entries(later)) {
      const reader = new SnapshotLines(collections, strings, (k, id) => ids.add(k, id));
      this.later.set(kind, new LaterKind(lines, reader, this.indexes.get(kind)?.loading() ?? null));
    }
    // Memory follows the disk: a change is applied only once its line is fsynced, so a write
    // the disk refused is never seen by anyone.
    journal.onDurable = (entries) => {
      for (const e of entries) {
        this.apply(e);
        this.audit.remember(e);
      }
    };
  }

  /** Open the store in `dir`: read the snapshot once (building the indexes from it), replay the journal after it. */
  static async open(
    dir: string,
    opts: {
      snapshotEvery?: number;
      /**
       * A snapshot is also due when the current segment holds more bytes than half the last
       * snapshot, or than this (default 4 MB), whichever is more: start-up replays the segment
       * after reading the snapshot, and a line can hold many records (a proposal shared mails
       * every member in one line), so a count of lines alone does not bound it.
       */
      snapshotMinBytes?: number;
      openFile?: OpenJournalFile;
      log?: (msg: string, err?: unknown) => void;
      /** Keep these fields of this collection in files of their own (the server: mails' text and HTML). */
      detach?: DetachSpec;
      /** From how many rows a cold table is kept as an image for the next start (`coldState.ts`; default 20,000). */
      coldImageMinRows?: number;
      /**
       * Kinds whose snapshot records are read after the store has opened: in slices beside the
       * event loop (`readLater`), or at once by the first read or write of that kind (the
       * server: the waiting messages, most of the snapshot at ten years' volume).
       */
      later?: readonly CollectionName[];
    } = {},
  ): Promise<MetaStore> {
    const tmpDir = path.join(dir, 'tmp');
    const file = new SnapshotFile(path.join(dir, 'snapshot.json'), tmpDir);
    const strings = new StringPool();
    const ids = new CollectionIds();
    const snap = (await file.read(strings, (kind, id) => ids.add(kind, id), opts.later)) ?? {
      seq: 0,
      collections: {},
    };
    const log = opts.log ?? ((m, e) => console.error(m, e));
    const cold = new Map<string, { when: (r: unknown) => boolean; file: ColdRecords }>();
    for (const [kind, when] of Object.entries(COLD)) {
      const splits = coldDefs(INDEXES[kind as keyof typeof COLD] as Record<string, IndexDef<unknown>>).map(
        (d) => d.split,
      );
      const mark = snap.cold?.[kind] ?? null;
      const file = await ColdRecords.open(path.join(dir, 'cold'), kind, mark, splits, log, {
        tmpDir,
        ...(opts.coldImageMinRows !== undefined ? { minRows: opts.coldImageMinRows } : {}),
      });
      cold.set(kind, { when: when as (r: unknown) => boolean, file });
    }
    const { journal, entries, read, readFrom } = await Journal.open(path.join(dir, 'journal'), snap.seq, {
      openFile: opts.openFile,
    });
    const store = new MetaStore(
      snap.collections,
      file,
      journal,
      opts.snapshotEvery ?? 5000,
      opts.snapshotMinBytes ?? 4 * 1024 * 1024,
      log,
      tmpDir,
      strings,
      ids,
      cold,
      snap.later ?? {},
      readFrom,
    );
    store.seq = snap.seq;
    store.openedAt = snap.seq;
    store.snapshotBytes = await file.size();
    // A kind whose cold files the snapshot does not know (an upgrade) is read now: it is settled below.
    for (const kind of store.later.keys())
      if (store.cold.has(kind) && !snap.cold?.[kind]) store.finishLater(kind, true);
    for (const e of entries) store.apply(e);
    // A snapshot from before a kind's cold files (or none): its records that should be cold go now, once.
    store.settleCold((kind) => !snap.cold?.[kind]);
    for (const e of read) store.audit.remember(e);
    if (opts.detach) {
      const bodies = await DetachedBodies.open(path.join(dir, 'bodies'), tmpDir);
      const kind = opts.detach.kind as IndexedCollection;
      const detach = new DetachedFields(opts.detach, bodies, {
        get: (k, id) => store.get(k as CollectionName, id) as Record<string, unknown> | undefined,
        naming: (name) => store.index(kind).count('bodyFile', name),
        log: (m, e) => store.log(m, e),
      });
      store.detach = detach;
      // Files a crash left between their write and their change's: no record names them. When
      // the messages are read later, so are these (a file written after this list is not in it).
      const names = await detach.list();
      const later = store.later.get(opts.detach.kind);
      if (later) later.bodies = names;
      else for (const name of names) if (!detach.names(name)) await bodies.remove(name);
    }
    return store;
  }

  /** The kinds whose snapshot records are not read yet (`open`'s `later`). */
  get readingLater(): string[] {
    return [...this.later.keys()];
  }

  /**
   * How each kind left for later was read: its records, the ms from the first slice to the last
   * record's index entries, the slices, and whether a read or write wanted them before (`forced`).
   */
  readonly readLaterReport: Record<string, LaterReport> = {};

  /**
   * Read the records `open` left for later, a slice of `sliceMs` at a time with a turn of the
   * event loop between slices (3 ms: a request answered meanwhile waits for a slice at each of
   * its turns — its socket, its body, each file it reads —, and with 10 ms slices the first
   * `/healthz` after the port opened came 40-61 ms after it, with 3 ms 29-31 ms; the read took
   * as long, ~0.5 s at ten years, four starts each), so requests are served meanwhile; resolves
   * once all are read (at once when there are none). A read or write of such a kind before then
   * reads the rest at once (`ready`).
   */
  async readLater(sliceMs = 3): Promise<void> {
    for (const [kind, l] of this.later) {
      l.begin(performance.now());
      while (this.later.get(kind) === l && !this.closed) {
        l.slices++;
        const t0 = performance.now();
        if (l.step(this.laterHost(kind), t0 + sliceMs)) this.completeLater(kind, l, false, t0);
        else await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  /** What `kind`'s later reading needs of the store. */
  private laterHost(kind: string): LaterHost {
    return {
      change: (c, seq) => this.change(c, seq),
      coldKeyTables: () => this.cold.get(kind)?.file.takeKeyTables(),
    };
  }

  /** Before any read or write of `kind`: its records, if left for later, are read now. */
  private ready(kind: string): void {
    if (this.later.size && this.later.has(kind)) this.finishLater(kind, true);
  }

  /** Do the rest of `kind`'s work at once: a read or write wants its records. */
  private finishLater(kind: string, forced: boolean): void {
    const l = this.later.get(kind)!;
    const t0 = performance.now();
    l.begin(t0);
    l.step(this.laterHost(kind));
    this.completeLater(kind, l, forced, t0);
  }

  /** `kind` is read: say how it went, and remove the body files no message names. */
  private completeLater(kind: string, l: LaterKind, forced: boolean, lastFrom: number): void {
    this.later.delete(kind);
    this.readLaterReport[kind] = l.done(forced, lastFrom);
    if (l.bodies && this.detach) this.detach.sweep(l.bodies);
  }

  /**
   * Called once if the journal can no longer be written (a failed write could not be cut back):
   * memory and disk can no longer be kept in step, so the process should exit and be restarted.
   */
  onFatal(cb: (e: unknown) => void): void {
    this.journal.onBroken = cb;
  }

  /** Bytes of a torn journal tail cut at open (a crash mid-write; 0 after a clean shutdown). */
  get tornBytesAtOpen(): number {
    return this.journal.tornBytes;
  }

  /** Whether the last write succeeded (or none failed); `writable()` also tries a probe write. */
  get writeState(): WriteState {
    return this.journal.broken ? { ok: false, code: 'journal_broken' } : this.health.state;
  }

  /** Whether writes can be made now: true unless the last write failed and a probe write fails too. */
  async writable(): Promise<boolean> {
    return !this.journal.broken && (await this.health.check());
  }

  private apply(e: JournalEntry): void {
    for (const c of e.changes) {
      const kind = 'put' in c ? c.put : c.del;
      const later = this.later.size ? this.later.get(kind) : undefined;
      if (!later) this.change(c, e.seq);
      else {
        // A change to a kind not read yet waits for its records (`finishLater`).
        later.wait(c, e.seq);
        this.changedAt.set(kind, e.seq);
        if (Object.hasOwn(SUBJECT_OF, kind)) this.anySubjectChangedAt = e.seq;
      }
    }
    this.seq = e.seq;
  }

  /** Apply one record change of the journal line `seq`. */
  private change(c: RecordChange, seq: number): void {
    const cols = this.collections;
    const kind = 'put' in c ? c.put : c.del;
    if (seq > (this.changedAt.get(kind) ?? 0)) this.changedAt.set(kind, seq);
    if (Object.hasOwn(SUBJECT_OF, kind)) this.subjectChanged(kind as keyof typeof SUBJECT_OF, c, seq);
    const col = cols[kind];
    const had = !!col && Object.hasOwn(col, c.id);
    if (this.frozen) {
      let f = this.frozen.get(kind);
      if (!f) this.frozen.set(kind, (f = new Map()));
      if (!f.has(c.id)) f.set(c.id, had ? col[c.id] : undefined);
    }
    const cold = this.cold.get(kind);
    const num = cold && isArrayIndex(c.id) ? Number(c.id) : -1;
    // A cold record is not in the collection: it is on disk (`coldRecords.ts`).
    const wasCold = !had && num >= 0 && cold!.file.has(num);
    const ix = this.indexes.get(kind);
    if ('put' in c) {
      const into = (cols[c.put] ??= {});
      const goCold = num >= 0 && goesCold(cold!.when, c.value);
      const value = goCold ? c.value : this.strings.record(kind, c.value);
      ix?.put(
        c.id,
        had ? into[c.id] : wasCold ? cold!.file.read(num, false) : undefined,
        had || wasCold,
        value,
        wasCold,
        goCold,
      );
      if (goCold) {
        cold!.file.put(num, value, ix?.coldKeys(value) ?? []);
        if (had) {
          this.ids.del(kind, c.id);
          delete into[c.id];
        }
      } else {
        if (wasCold) cold!.file.remove(num);
        if (!had) this.ids.add(kind, c.id);
        into[c.id] = value;
      }
    } else if (had) {
      ix?.del(c.id, col[c.id]);
      this.ids.del(kind, c.id);
      delete col[c.id];
    } else if (wasCold) {
      ix?.del(c.id, cold!.file.read(num, false), true);
      cold!.file.remove(num);
    }
  }

  /**
   * Move to their cold files the records of the kinds `which` picks that should be there and are
   * in memory: once, at the first start after an upgrade (a snapshot that knows no cold files of
   * that kind), then a snapshot is due.
   */
  private settleCold(which: (kind: string) => boolean): void {
    for (const [kind, { when, file }] of this.cold) {
      const col = this.collections[kind];
      if (!col || !which(kind)) continue;
      const ix = this.indexes.get(kind);
      let moved = 0;
      for (const id of Object.keys(col)) {
        const r = col[id];
        if (!isArrayIndex(id) || !goesCold(when, r)) continue;
        ix?.put(id, r, true, r, false, true);
        file.put(Number(id), r, ix?.coldKeys(r) ?? []);
        this.ids.del(kind, id);
        delete col[id];
        moved++;
      }
      if (moved) this.snapshotDue = true;
    }
  }

  /** Note the seq of a change to a `SUBJECT_OF` record on its subject (on every subject when it is not known). */
  private subjectChanged(kind: keyof typeof SUBJECT_OF, c: RecordChange, seq: number): void {
    const of = SUBJECT_OF[kind] as (id: string, r: unknown) => string | undefined;
    const subject = of(c.id, 'put' in c ? c.value : undefined);
    if (subject === undefined) this.anySubjectChangedAt = Math.max(this.anySubjectChangedAt, seq);
    else if (seq > (this.subjectChangedAt.get(subject) ?? 0)) this.subjectChangedAt.set(subject, seq);
  }

  /** A cold record of `kind`, or undefined (`keep`: see `ColdRecords.read`). */
  private coldRecord(kind: string, id: string, keep = true): unknown {
    const cold = this.cold.get(kind);
    return cold && isArrayIndex(id) ? cold.file.read(Number(id), keep) : undefined;
  }

  /**
   * The seq of the last change to any collection but `kinds` (the snapshot's seq when none has
   * changed since the start): what a cache of pages made from the other collections is keyed by.
   * A write to one of `kinds` (a message sent, a token used) leaves it as it is; a collection
   * added later counts by itself.
   */
  versionExcept(kinds: readonly CollectionName[]): number {
    let v = this.openedAt;
    for (const [k, seq] of this.changedAt) if (!kinds.includes(k as CollectionName)) v = Math.max(v, seq);
    return v;
  }

  /**
   * `versionExcept(kinds)` for what is shown of one proposal or consolidation (`subject`, as
   * `subjectKey` makes it): a change to another subject's records in the `SUBJECT_OF` collections
   * (its text, revisions, comments) leaves it as it is; any other change counts, as there.
   */
  versionOf(subject: string, kinds: readonly CollectionName[]): number {
    let v = Math.max(this.openedAt, this.anySubjectChangedAt, this.subjectChangedAt.get(subject) ?? 0);
    for (const [k, seq] of this.changedAt) {
      if (!Object.hasOwn(SUBJECT_OF, k) && !kinds.includes(k as CollectionName)) v = Math.max(v, seq);
    }
    return v;
  }

  /** A record by id, or undefined. Treat the result as read-only; change it through `write`. */
  get<K extends CollectionName>(kind: K, id: string | number): Collections[K] | undefined {
    this.ready(kind);
    const key = String(id);
    const col = this.collections[kind];
    return (col && Object.hasOwn(col, key) ? col[key] : this.coldRecord(kind, key)) as Collections[K] | undefined;
  }

  /**
   * Every record of a kind (read-only): a whole-table scan. To find records by a field, declare
   * an index (`indexes.ts`) and use `by`.
   */
  all<K extends CollectionName>(kind: K): Collections[K][] {
    this.ready(kind);
    const warm = Object.values(this.collections[kind] ?? {}) as Collections[K][];
    const cold = this.cold.get(kind)?.file;
    if (!cold?.count) return warm;
    // Cold records have numeric ids: in id order among the numeric ones, before the others.
    const entries: [number, unknown][] = Object.entries(this.collections[kind] ?? {})
      .filter(([id]) => isArrayIndex(id))
      .map(([id, r]) => [Number(id), r]);
    for (const id of cold.ids()) entries.push([id, cold.read(id, false)]);
    entries.sort((a, b) => a[0] - b[0]);
    const others = Object.entries(this.collections[kind] ?? {}).filter(([id]) => !isArrayIndex(id));
    return [...entries.map(([, r]) => r), ...others.map(([, r]) => r)] as Collections[K][];
  }

  /** How many records of a kind there are. */
  count(kind: CollectionName): number {
    this.ready(kind);
    return Object.keys(this.collections[kind] ?? {}).length + (this.cold.get(kind)?.file.count ?? 0);
  }

  /**
   * The `limit` cold records of `kind` with the largest ids, largest first (what `newest` of an
   * index that leaves them out does not give: the messages sent long ago).
   */
  newestCold<K extends CollectionName>(kind: K, limit: number): Collections[K][] {
    this.ready(kind);
    const cold = this.cold.get(kind)?.file;
    const out: Collections[K][] = [];
    if (!cold) return out;
    for (const id of cold.ids(true)) {
      if (out.length >= limit) break;
      out.push(cold.read(id, false) as Collections[K]);
    }
    return out;
  }

  /**
   * The records whose key in the index is `key` (read-only), without a scan: in the order of
   * `all` (numeric ids ascending, then other ids in the order first stored), or by the index's
   * `order` value first for an index that declares one.
   */
  by<K extends IndexedCollection>(kind: K, index: IndexName<K>, key: string): Collections[K][] {
    return this.records(kind, this.index(kind).ids(index, key));
  }

  /**
   * A value made by `make` from the records `by(kind, index, key)` gives, kept until one of those
   * records, or one that gets the key, is written or deleted: for a page that sums up many keys'
   * records on every view ("My drafts" reads the threads of ~1,250 proposals at ten years). `what`
   * names the value (several may be made from one key's records). Keep it small beside them, and
   * treat it as read-only.
   */
  derived<K extends IndexedCollection, T>(
    kind: K,
    index: IndexName<K>,
    key: string,
    what: string,
    make: (records: Collections[K][]) => T,
    /** The value holds ids and numbers only, no records: kept for many more keys (`SMALL_DERIVED_KEYS`). */
    opts: { small?: boolean } = {},
  ): T {
    // The value keeps what it needs of the records: they are not kept parsed as well.
    return this.index(kind).derived(index, key, what, (ids) => make(this.records(kind, ids, false)), opts.small);
  }

  /**
   * The value `make` gives, made again only once one of `kinds` has changed since (it is kept with
   * the seq of their last change). For a view that reads many records of a few collections and is
   * asked for far more often than they change: a member's drafts read the open threads of every
   * proposal of their groups' documents (~1,000 at ten years) on each view. `key` names the value
   * and all it depends on besides `kinds` (the actor, a limit). Kept for the `MEMO_KEYS` keys
   * asked for last; treat it as read-only.
   */
  memo<T>(kinds: readonly CollectionName[], key: string, make: () => T): T {
    const at = this.memoAt(kinds);
    const kept = this.memos.get(key);
    if (kept) this.memos.delete(key);
    if (kept?.at === at) {
      // The key asked for last goes last: the first is the one let go.
      this.memos.set(key, kept);
      return kept.value as T;
    }
    const value = make();
    this.memos.set(key, { at, value });
    if (this.memos.size > MEMO_KEYS) this.memos.delete(this.memos.keys().next().value as string);
    return value;
  }

  /** Whether `memo(kinds, key, …)` would give its kept value now (nothing changed since it was made). */
  memoFresh(kinds: readonly CollectionName[], key: string): boolean {
    return this.memos.get(key)?.at === this.memoAt(kinds);
  }

  private memoAt(kinds: readonly CollectionName[]): number {
    let at = this.openedAt;
    for (const kind of kinds) at = Math.max(at, this.changedAt.get(kind) ?? 0);
    return at;
  }

  /**
   * Where the keys of `index` of `kind` stand now: `changedKeys` later gives those whose records
   * were written or deleted since. For a view made from the records of many keys, kept and
   * brought up to date from the few that changed (a member's drafts, from the proposals whose
   * comments changed).
   */
  changeMark<K extends IndexedCollection>(kind: K, index: IndexName<K>): ChangeMark {
    return this.index(kind).changeMark(index);
  }

  /**
   * The keys of `index` of `kind` whose records were written or deleted since `mark`, or null
   * when the store cannot tell (too far back, or its indexes were built again): then every key
   * is to be read again.
   */
  changedKeys<K extends IndexedCollection>(kind: K, index: IndexName<K>, mark: ChangeMark): ReadonlySet<string> | null {
    return this.index(kind).keysSince(index, mark);
  }

  /** How many records have `key` in the index. */
  countBy<K extends IndexedCollection>(kind: K, index: IndexName<K>, key: string): number {
    return this.index(kind).count(index, key);
  }

  /**
   * The last `limit` records of `by(kind, index, key)`, last first (newest first, for numeric
   * ids); with `before`, on an index without `order`, only records with a numeric id below it.
   */
  newest<K extends IndexedCollection>(
    kind: K,
    index: IndexName<K>,
    key: string,
    limit: number,
    before?: number,
  ): Collections[K][] {
    return this.records(kind, this.index(kind).newest(index, key, limit, before));
  }

  /**
   * The first `limit` records of `by(kind, index, key)`, first first; with `upTo`, on an index
   * with `order`, only those whose order value is at most `upTo` (e.g. the mails due by now).
   * Reads only the records it returns, however many others have the key.
   */
  oldest<K extends IndexedCollection>(
    kind: K,
    index: IndexName<K>,
    key: string,
    limit: number,
    upTo?: string,
  ): Collections[K][] {
    return this.records(kind, this.index(kind).oldest(index, key, limit, upTo));
  }

  private index(kind: IndexedCollection): CollectionIndexes {
    this.ready(kind);
    return this.indexes.get(kind)!;
  }

  private records<K extends CollectionName>(kind: K, ids: string[], keep = true): Collections[K][] {
    const col = this.collections[kind] ?? {};
    return ids.map((id) => (Object.hasOwn(col, id) ? col[id] : this.coldRecord(kind, id, keep))) as Collections[K][];
  }

  /** The next free numeric id of a kind (ids are positive integers, numbered per kind). */
  nextId(kind: CollectionName): number {
    this.ready(kind);
    let n = this.idCounters.get(kind);
    if (n === undefined) {
      // The largest numeric id, known without listing the keys (a scan of 1.5 million messages
      // held the event loop ~1.5 s at the first message queued after a start at ten years);
      // records keyed by something else (tokens by hash) carry their numeric id inside.
      const col = this.collections[kind] ?? {};
      n = Math.max(0, this.ids.maxIndexOf(kind), this.cold.get(kind)?.file.largestId ?? -1);
      for (const key of this.ids.othersOf(kind)) {
        const inner = (col[key] as { id?: unknown } | undefined)?.id;
        if (typeof inner === 'number' && Number.isInteger(inner) && inner > n) n = inner;
      }
    }
    this.idCounters.set(kind, n + 1);
    return n + 1;
  }

  /**
   * Write one logical change: resolves once it is durable, and only then is it applied in
   * memory (so readers never see a change the disk refused). A refused write rejects with a
   * storage error (`storage_full`, `storage_unavailable`) and leaves nothing behind; the next
   * write tries again. Callers that check state and then write should hold a lock across the
   * awaited write (as the subject locks do), since the change is not visible before it resolves.
   */
  async write(change: Change): Promise<void> {
    // No await unless a hold is on.
    while (this.held) await this.held;
    if (this.journal.broken) throw this.journal.broken;
    if (this.later.size)
      for (const kind of [...Object.keys(change.puts ?? {}), ...Object.keys(change.dels ?? {})]) this.ready(kind);
    const released = this.detach?.releasedBy(change as FieldsChange) ?? [];
    if (this.detach) change = (await this.detach.detach(change as FieldsChange)) as Change;
    const changes: RecordChange[] = [];
    for (const [kind, recs] of Object.entries(change.puts ?? {})) {
      for (const [id, value] of Object.entries(recs as Record<string, unknown>)) changes.push({ put: kind, id, value });
    }
    for (const [kind, ids] of Object.entries(change.dels ?? {}))
      for (const id of ids as string[]) changes.push({ del: kind, id });
    const entry: NewEntry = {
      at: change.at.toISOString(),
      actor: change.actor,
      events: change.events,
      ...(change.meta ? { meta: change.meta } : {}),
      changes,
    };
    // Stored values are copies: callers cannot change the store by mutating what they passed in.
    // Serialised once: the copy is parsed from it and the journal line is made from it.
    const json = JSON.stringify(entry);
    const stored: NewEntry = JSON.parse(json);
    try {
      await this.journal.append(stored, json);
    } catch (e) {
      this.health.failed(e);
      throw e;
    }
    this.health.succeeded();
    this.maybeSnapshot();
    await this.detach?.release(released);
  }

  /**
   * Keep every body file until the function returned is called: a backup notes the files under
   * its hold and copies them afterwards. Removals asked for meanwhile happen then.
   */
  pinBodies(): () => void {
    return this.detach?.pin() ?? (() => {});
  }

  /**
   * A record with its detached fields read back from their file (the record itself when it has
   * none). A file that should be there and is not is an error: the message is never sent empty.
   */
  async withDetached<K extends CollectionName>(kind: K, record: Collections[K]): Promise<Collections[K]> {
    if (!this.detach || kind !== this.detach.spec.kind) return record;
    this.ready(kind);
    return this.detach.read(kind, record);
  }

  /** Start a background snapshot when one is due; a failed one is logged and tried again later. */
  private maybeSnapshot(): void {
    const bytesDue = this.journal.bytesInSegment >= Math.max(this.snapshotMinBytes, this.snapshotBytes / 2);
    if (this.snapshotting || !(this.snapshotDue || bytesDue || this.journal.linesInSegment >= this.snapshotEvery))
      return;
    if (this.snapshotRetryIn > 0) {
      this.snapshotRetryIn--;
      return;
    }
    this.snapshotDue = false;
    this.snapshotting = this.snapshot()
      .catch((e) => {
        // The journal is the truth: without a snapshot only start-up takes longer.
        this.log('The metadata snapshot could not be written; it will be tried again', e);
        this.snapshotDue = true;
        this.snapshotRetryIn = 100;
      })
      .finally(() => (this.snapshotting = null));
  }

  /**
   * Run `fn` at one still moment of the store, for a consistent backup: it waits for a
   * snapshot in progress and for every journal line in flight to be on disk, and new writes
   * wait until `fn` is done. `fn` gets the seq of the last change, which is also the last line
   * of the journal; the journal files end with it while `fn` runs. Keep `fn` short.
   */
  async hold<T>(fn: (seq: number) => Promise<T>): Promise<T> {
    while (this.held) await this.held;
    let release!: () => void;
    this.held = new Promise<void>((r) => (release = r));
    try {
      await this.snapshotting?.catch(() => {});
      await this.journal.drain();
      return await fn(this.seq);
    } finally {
      this.held = null;
      release();
    }
  }

  /**
   * The audit log, newest first, a page of `limit` entries (with `before`, those below that
   * seq): `AuditTrail.page`.
   */
  auditLog(limit: number, before = Infinity): Promise<AuditEntry[]> {
    return this.audit.page(limit, before);
  }

  /** Write a snapshot of the state and start a new journal segment (old ones stay: they are the audit log). */
  snapshot(): Promise<void> {
    // One at a time, in order: an older snapshot must never land after a newer one.
    const run = this.snapshotChain.then(async () => {
      // Every record in memory, those not read yet too.
      for (const kind of [...this.later.keys()]) this.finishLater(kind, true);
      // No wait for the lines in flight: they come after `seq` (a change is applied only once
      // durable) and the rotation below lets them finish on the segment `seq` is in, which
      // start-up replays. (Waiting for the journal to be idle starved the snapshot while writes
      // kept coming, as under a mail drain.)
      const seq = this.seq;
      // The cold files' lengths at `seq`: the snapshot is placed once they are written up to them.
      const marks = [...this.cold].map(([kind, { file }]) => [kind, file, file.markNow()] as const);
      // From here on a change keeps the value it replaces (`frozen`): the records are read as
      // they are written, each as it was at `seq`. Nothing lists every record at once.
      const frozen = new Map<string, Map<string, unknown>>();
      this.frozen = frozen;
      try {
        const plan = this.ids.plan(this.collections);
        await this.journal.rotate();
        this.audit.forgetOlder();
        this.snapshotBytes = await this.snapshotFile.write(seq, this.recordsAt(plan, frozen), {
          cold: Object.fromEntries(marks.map(([kind, , mark]) => [kind, mark])),
          ready: async () => {
            for (const [, file, mark] of marks) await file.flushedTo(mark);
          },
        });
      } finally {
        this.frozen = null;
      }
      // The next start reads each cold table's state at this snapshot's mark from an image.
      for (const [, file, mark] of marks) file.keepImage(mark);
    });
    this.snapshotChain = run.catch(() => {});
    return run;
  }

  /** The records as they were when `frozen` began, read one at a time along `plan`. */
  private *recordsAt(
    plan: ReturnType<CollectionIds['plan']>,
    frozen: Map<string, Map<string, unknown>>,
  ): Generator<readonly [string, string, unknown]> {
    for (const { kind, numeric, others } of plan) {
      const at = (id: string): unknown => {
        const f = frozen.get(kind);
        if (f?.has(id)) return f.get(id);
        const col = this.collections[kind];
        return col && Object.hasOwn(col, id) ? col[id] : undefined;
      };
      const walk = function* (ids: Iterable<string>) {
        for (const id of ids) {
          const v = at(id);
          if (v !== undefined) yield [kind, id, v] as const;
        }
      };
      yield* walk(Array.isArray(numeric) ? numeric : idsIn(numeric));
      yield* walk(others);
    }
  }

  /** How each collection's cold state was had at open (from its image, by reading its table) and in how many ms. */
  coldOpened(): Record<string, { from: string; ms: number }> {
    return Object.fromEntries([...this.cold].map(([kind, { file }]) => [kind, { ...file.opened }]));
  }

  /** Resolves once the cold tables' images asked for are written (a caller that closes next and wants them). */
  async coldImagesWritten(): Promise<void> {
    for (const { file } of this.cold.values()) await file.imagesWritten();
  }

  /**
   * Close: wait for a snapshot in progress and for the journal's writes, then close it. No
   * closing snapshot: the journal is the truth, and the next start replays what came after the
   * last snapshot (at most `snapshotEvery` lines, 5,000 by default), so a shutdown does not take longer as the
   * state grows (issue 18: a closing snapshot of ten years' state took 12 s, past SIGTERM's 5 s).
   * A write after close is refused (`shutting_down`, 503) and the journal stays whole.
   */
  readonly close = once(async (): Promise<void> => {
    this.closed = true;
    // Records never read (a stop soon after the start): the snapshot file they were in is let go.
    for (const l of this.later.values()) l.release();
    await this.snapshotting;
    await this.detach?.settled();
    await this.journal.drain();
    await this.journal.close();
    for (const { file } of this.cold.values()) await file.close();
  });
}

/** Whether `r` goes cold; a record the test cannot read stays in memory. */
function goesCold(when: (r: unknown) => boolean, r: unknown): boolean {
  try {
    return !!r && when(r);
  } catch {
    return false;
  }
}
