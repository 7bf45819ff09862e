import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { fsyncDir } from '../fsutil.js';

/** One state change as written: who, when, what happened, and the record changes it made. */
export interface JournalEntry {
  seq: number;
  at: string;
  actor: string | null;
  events: { action: string; subject: string }[];
  /** Where a sign-in event came from (absent for everything else). */
  meta?: EntryMeta;
  changes: RecordChange[];
}

/** The client of a sign-in event: its IP address and user agent. */
export interface EntryMeta {
  ip: string;
  ua: string;
}

export type RecordChange = { put: string; id: string; value: unknown } | { del: string; id: string };

const SEGMENT = /^journal-(\d{12})\.jsonl$/;
const segmentName = (firstSeq: number) => `journal-${String(firstSeq).padStart(12, '0')}.jsonl`;

/**
 * The append-only journal: JSON lines in numbered segment files, each line one whole change.
 * Lines are appended and fsynced in groups (one fsync for all changes waiting), so the cost of
 * a write does not depend on history. A torn last line (a crash during the write that was never
 * acknowledged) is cut off when the journal is opened.
 */
export class Journal {
  private handle: fsp.FileHandle | null = null;
  private pending: { line: string; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private flushing: Promise<void> | null = null;
  private segmentLines = 0;

  private constructor(private readonly dir: string) {}

  /** Open the journal in `dir`, repairing a torn tail, and return every entry after `afterSeq`. */
  static async open(dir: string, afterSeq: number): Promise<{ journal: Journal; entries: JournalEntry[]; all: JournalEntry[] }> {
    await fsp.mkdir(dir, { recursive: true });
    const j = new Journal(dir);
    const segments = await j.segments();
    const all: JournalEntry[] = [];
    for (const [i, name] of segments.entries()) {
      const file = path.join(dir, name);
      const raw = await fsp.readFile(file, 'utf8');
      let good = 0;
      let lines = 0;
      for (let start = 0; start < raw.length; ) {
        const end = raw.indexOf('\n', start);
        if (end < 0) break; // no newline: torn write
        try {
          all.push(JSON.parse(raw.slice(start, end)) as JournalEntry);
        } catch {
          // Only the very last line may be torn (a crash mid-write, never acknowledged);
          // damage anywhere else would silently drop acknowledged changes: refuse to start.
          if (i !== segments.length - 1 || raw.indexOf('\n', end + 1) >= 0) {
            throw new Error(`The journal segment ${name} is damaged at character ${start}; restore it from a backup.`);
          }
          break;
        }
        good = end + 1;
        lines++;
        start = end + 1;
      }
      if (good < raw.length) {
        if (i !== segments.length - 1) throw new Error(`The journal segment ${name} is damaged in the middle.`);
        await fsp.truncate(file, Buffer.byteLength(raw.slice(0, good)));
      }
      if (i === segments.length - 1) j.segmentLines = lines;
    }
    const last = segments.at(-1);
    const nextSeq = (all.at(-1)?.seq ?? afterSeq) + 1;
    j.handle = await fsp.open(path.join(dir, last ?? segmentName(nextSeq)), 'a', 0o600);
    if (!last) await fsyncDir(dir);
    return { journal: j, entries: all.filter((e) => e.seq > afterSeq), all };
  }

  private async segments(): Promise<string[]> {
    return (await fsp.readdir(this.dir)).filter((n) => SEGMENT.test(n)).sort();
  }

  /** Lines in the current segment (a snapshot is due when it grows large). */
  get linesInSegment(): number {
    return this.segmentLines;
  }

  /** Append an entry; resolves once it is on disk. */
  append(entry: JournalEntry): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ line: `${JSON.stringify(entry)}\n`, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  private async flush(): Promise<void> {
    while (this.pending.length) {
      const batch = this.pending.splice(0);
      // One handle for the whole batch: a rotation in between must not split write and fsync.
      const h = this.handle!;
      try {
        await h.write(batch.map((b) => b.line).join(''));
        await h.sync();
        this.segmentLines += batch.length;
        batch.forEach((b) => b.resolve());
      } catch (e) {
        batch.forEach((b) => b.reject(e));
      }
    }
    this.flushing = null;
  }

  /** Wait until everything appended so far is on disk. */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  /** Start a new segment whose first entry will be `nextSeq` (after a snapshot). */
  async rotate(nextSeq: number): Promise<void> {
    await this.drain();
    const next = await fsp.open(path.join(this.dir, segmentName(nextSeq)), 'a', 0o600);
    await fsyncDir(this.dir);
    const old = this.handle;
    this.handle = next;
    this.segmentLines = 0;
    // A batch that started on the old segment finishes (and is fsynced) there before it closes.
    await this.drain();
    await old?.close();
  }

  async close(): Promise<void> {
    await this.drain();
    await this.handle?.close();
    this.handle = null;
  }
}
