import * as path from 'node:path';
import { Low } from 'lowdb';
import { FsyncJsonFile } from './snapshotFile.js';
import { Journal, type JournalEntry, type RecordChange } from './journal.js';
import type { Collections, CollectionName } from './schema.js';

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string | null;
  action: string;
  subject: string;
}

interface Snapshot {
  seq: number;
  collections: Record<string, Record<string, unknown>>;
}

/** One logical change: who made it, what it was called in the audit log, and its record changes. */
export interface Change {
  actor: string | null;
  at: Date;
  events: { action: string; subject: string }[];
  puts?: { [K in CollectionName]?: Record<string, Collections[K]> };
  dels?: { [K in CollectionName]?: string[] };
}

/**
 * The workflow metadata. The source of truth is the append-only journal (one fsynced JSON line
 * per logical change, so a change lands all or nothing and a write costs the same on day one
 * and after ten years); state lives in memory, rebuilt at start from the last lowdb snapshot
 * plus the journal's tail. The audit log is a view of the journal. One process only.
 */
export class MetaStore {
  private seq = 0;
  private readonly audit: AuditEntry[] = [];
  private readonly idCounters = new Map<string, number>();
  private snapshotting: Promise<void> | null = null;
  private failed: unknown = null;
  /** Set while `hold` runs: writes wait for it (see `hold`). */
  private held: Promise<void> | null = null;

  private constructor(
    private readonly db: Low<Snapshot>,
    private readonly journal: Journal,
    private readonly snapshotEvery: number,
  ) {}

  /** Open the store in `dir`: read the snapshot once, replay the journal after it. */
  static async open(dir: string, opts: { snapshotEvery?: number } = {}): Promise<MetaStore> {
    const db = new Low<Snapshot>(new FsyncJsonFile(path.join(dir, 'snapshot.json'), path.join(dir, 'tmp')), { seq: 0, collections: {} });
    await db.read();
    const { journal, entries, all } = await Journal.open(path.join(dir, 'journal'), db.data.seq);
    const store = new MetaStore(db, journal, opts.snapshotEvery ?? 5000);
    store.seq = db.data.seq;
    for (const e of entries) store.apply(e);
    for (const e of all) store.remember(e);
    return store;
  }

  private apply(e: JournalEntry): void {
    const cols = this.db.data.collections;
    for (const c of e.changes) {
      if ('put' in c) (cols[c.put] ??= {})[c.id] = c.value;
      else if (cols[c.del]) delete cols[c.del][c.id];
    }
    this.seq = e.seq;
  }

  private remember(e: JournalEntry): void {
    for (const ev of e.events) this.audit.push({ seq: e.seq, at: e.at, actor: e.actor, action: ev.action, subject: ev.subject });
  }

  /** A record by id, or undefined. Treat the result as read-only; change it through `write`. */
  get<K extends CollectionName>(kind: K, id: string | number): Collections[K] | undefined {
    return this.db.data.collections[kind]?.[String(id)] as Collections[K] | undefined;
  }

  /** Every record of a kind (read-only). */
  all<K extends CollectionName>(kind: K): Collections[K][] {
    return Object.values(this.db.data.collections[kind] ?? {}) as Collections[K][];
  }

  /** The next free numeric id of a kind (ids are positive integers, numbered per kind). */
  nextId(kind: CollectionName): number {
    let n = this.idCounters.get(kind);
    if (n === undefined) {
      n = 0;
      // Records keyed by something else (tokens by hash) carry their numeric id inside.
      for (const [key, rec] of Object.entries(this.db.data.collections[kind] ?? {})) {
        const inner = (rec as { id?: unknown })?.id;
        const v = typeof inner === 'number' ? inner : Number(key);
        if (Number.isInteger(v) && v > n) n = v;
      }
    }
    this.idCounters.set(kind, n + 1);
    return n + 1;
  }

  /**
   * Apply one logical change in memory at once (so that concurrent requests see it) and
   * resolve once it is durable. If the disk refuses the write the process cannot go on
   * with memory ahead of disk, so the store refuses every later write.
   */
  async write(change: Change): Promise<void> {
    // No await unless a hold is on: otherwise the change is applied within this call, as before.
    while (this.held) await this.held;
    if (this.failed) throw this.failed;
    const changes: RecordChange[] = [];
    for (const [kind, recs] of Object.entries(change.puts ?? {})) {
      for (const [id, value] of Object.entries(recs as Record<string, unknown>)) changes.push({ put: kind, id, value });
    }
    for (const [kind, ids] of Object.entries(change.dels ?? {})) for (const id of ids as string[]) changes.push({ del: kind, id });
    const entry: JournalEntry = { seq: this.seq + 1, at: change.at.toISOString(), actor: change.actor, events: change.events, changes };
    // Stored values are copies: callers cannot change the store by mutating what they passed in.
    const stored: JournalEntry = JSON.parse(JSON.stringify(entry));
    this.apply(stored);
    this.remember(stored);
    try {
      await this.journal.append(stored);
    } catch (e) {
      this.failed = e;
      throw e;
    }
    if (this.journal.linesInSegment >= this.snapshotEvery) this.snapshotting ??= this.snapshot();
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

  /** Newest first. */
  auditLog(limit: number): AuditEntry[] {
    return this.audit.slice(-limit).reverse();
  }

  /** Write a snapshot of the state and start a new journal segment (old ones stay: they are the audit log). */
  async snapshot(): Promise<void> {
    try {
      await this.journal.drain();
      const seq = this.seq;
      const data: Snapshot = { seq, collections: this.db.data.collections };
      // Serialise now: later writes must not slip into a snapshot labelled `seq`.
      const frozen = JSON.parse(JSON.stringify(data)) as Snapshot;
      await this.journal.rotate(seq + 1);
      await this.db.adapter.write(frozen);
    } finally {
      this.snapshotting = null;
    }
  }

  /** Flush the journal, write a snapshot, close files. */
  async close(): Promise<void> {
    await this.snapshotting;
    await this.journal.drain();
    if (!this.failed) await this.snapshot();
    await this.journal.close();
  }
}
