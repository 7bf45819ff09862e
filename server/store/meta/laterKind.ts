import type { RecordChange } from './journal.js';
import type { ColdKeyTable } from './coldKeyTable.js';
import type { CollectionIndexes } from './secondaryIndexes.js';
import type { LaterLines, SnapshotLines } from './snapshotFile.js';

/** How a kind left for later was read (`MetaStore.readLaterReport`). */
export interface LaterReport {
  records: number;
  /** From the first slice to the end of its work. */
  ms: number;
  slices: number;
  /** The last slice's ms (all of the work when it was forced). */
  lastMs: number;
  /** Whether a read or write wanted the records before the slices were done. */
  forced: boolean;
}

/** What a kind read later needs of its store while it is read. */
export interface LaterHost {
  /** Apply one of the journal's changes that waited for the records. */
  change(c: RecordChange, seq: number): void;
  /** The cold key tables of the kind (as `CollectionIndexes.load` takes them at open). */
  coldKeyTables(): readonly ColdKeyTable[] | undefined;
}

/**
 * A kind whose snapshot records are read after the store has opened (`MetaStore.open`'s
 * `later`): its lines as written and how far they are read, its index entries made as its
 * records are read, and the journal's changes to it since the snapshot, applied once they are.
 */
export class LaterKind {
  /** The error of a line that could not be read: every read of the kind after it fails with it. */
  private failed: unknown = undefined;
  /** When the reading began (the first slice), and how many slices it took. */
  private began = 0;
  slices = 0;
  private readonly records: number;
  private changes: { change: RecordChange; seq: number }[] = [];
  private entriesDone = false;
  private applied = 0;
  /** Body files there at open, to remove if no record names them once the records are read. */
  bodies: string[] | null = null;

  constructor(
    private readonly lines: LaterLines,
    private readonly reader: SnapshotLines,
    /** Its index entries, made as its records are read (`CollectionIndexes.loading`); null for a kind without indexes. */
    private readonly entries: ReturnType<CollectionIndexes['loading']> | null,
  ) {
    this.records = lines.count;
  }

  /** A change of the journal to this kind: it waits for the records. */
  wait(change: RecordChange, seq: number): void {
    this.changes.push({ change, seq });
  }

  /** Note when the reading began, if it had not (the first slice, or a read that forces it). */
  begin(now: number): void {
    this.began ||= now;
  }

  /**
   * Do the next pieces of the work until `until` (a `performance.now()` time) or to the end: read
   * the lines with their index entries, then complete the entries (with the cold key tables, as
   * at open), then apply the journal's changes since the snapshot, in order (after a long drain,
   * 38,000 of them held the loop 66 ms in one go). True once all are done. A line that cannot be
   * read throws here, and again at every call after.
   */
  step(host: LaterHost, until = Number.POSITIVE_INFINITY): boolean {
    if (this.failed) throw this.failed;
    while (this.lines.read < this.lines.count) {
      for (let i = 0; i < 64; i++) if (!this.readLine()) break;
      if (performance.now() >= until) return false;
    }
    if (!this.entriesDone) {
      this.entriesDone = true;
      this.lines.clear();
      this.entries?.done(host.coldKeyTables());
      if (performance.now() >= until) return false;
    }
    while (this.applied < this.changes.length) {
      const end = Math.min(this.changes.length, this.applied + 256);
      for (; this.applied < end; this.applied++)
        host.change(this.changes[this.applied].change, this.changes[this.applied].seq);
      if (performance.now() >= until) return false;
    }
    return true;
  }

  /** The work is done: how it went. */
  done(forced: boolean, lastFrom: number): LaterReport {
    this.changes = [];
    const now = performance.now();
    return {
      records: this.records,
      ms: Math.round(now - this.began),
      slices: this.slices,
      lastMs: Math.round(now - lastFrom),
      forced,
    };
  }

  /** Let the snapshot file go without reading the rest (the store closes). */
  release(): void {
    this.lines.clear();
  }

  /** Read the next line with its index entries; false when none is left. */
  private readLine(): boolean {
    const line = this.lines.next();
    if (line === null) return false;
    try {
      const [id, record] = this.reader.read(line);
      this.entries?.add(id, record);
    } catch (e) {
      this.failed = e;
      throw e;
    }
    return true;
  }
}
