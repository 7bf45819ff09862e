import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { unavailable } from '../../domain/errors.js';
import { FILE_MODE, fsyncDir, mkdirPrivate, shortWrite, storageError } from '../fsutil.js';

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

/** What a writer hands in: the journal numbers it when it is written. */
export type NewEntry = Omit<JournalEntry, 'seq'>;

/** The part of a file handle the journal uses (tests inject handles that fail). */
export interface JournalFile {
  write(buffer: Uint8Array, offset: number, length: number): Promise<{ bytesWritten: number }>;
  sync(): Promise<void>;
  truncate(len: number): Promise<void>;
  close(): Promise<void>;
}
/** Open `file` for appending (created 0600 when absent). */
export type OpenJournalFile = (file: string) => Promise<JournalFile>;
const openForAppend: OpenJournalFile = (file) => fsp.open(file, 'a', FILE_MODE);

const SEGMENT = /^journal-(\d{12})\.jsonl$/;
const segmentName = (firstSeq: number) => `journal-${String(firstSeq).padStart(12, '0')}.jsonl`;

/** A segment being appended to: its handle, the byte length of its complete lines, and how many. */
interface Segment {
  file: JournalFile;
  good: number;
  lines: number;
}

interface Parsed {
  entries: JournalEntry[];
  /** Bytes of complete lines before a torn tail (= the file's length when there is none). */
  good: number;
}

const asEntry = (line: Buffer): JournalEntry | null => {
  try {
    const e = JSON.parse(line.toString('utf8')) as JournalEntry;
    return e && typeof e === 'object' && Number.isInteger(e.seq) ? e : null;
  } catch {
    return null;
  }
};

/**
 * Read one segment. A torn tail — a partial line, NUL bytes a full disk or a crash left, any
 * unreadable region with no readable line after it — was never acknowledged and is reported
 * for cutting. An unreadable line followed by a readable one is damage: lines after it were
 * acknowledged, so the journal refuses to open rather than drop them.
 */
function parseSegment(name: string, raw: Buffer): Parsed {
  const entries: JournalEntry[] = [];
  let good = 0;
  let bad = -1;
  for (let start = 0; start < raw.length; ) {
    const nl = raw.indexOf(0x0a, start);
    const end = nl < 0 ? raw.length : nl;
    const entry = nl < 0 ? null : asEntry(raw.subarray(start, end));
    if (entry && bad >= 0)
      throw new Error(`The journal segment ${name} is damaged at byte ${bad}; restore it from a backup.`);
    if (entry) {
      entries.push(entry);
      good = end + 1;
    } else if (bad < 0) bad = start;
    start = end + 1;
  }
  return { entries, good };
}

/**
 * The append-only journal: JSON lines in numbered segment files, each line one whole change.
 * Lines are appended and fsynced in groups (one fsync for all changes waiting), so the cost of
 * a write does not depend on history. An entry is numbered when its group is written, and
 * counts only once every byte of the group is written and fsynced: then `onDurable` sees it
 * (before the writer is told). A short or failed write or fsync rejects the whole group with a
 * storage error and cuts the file back to its last complete line, so the next group is not
 * appended after a torn one; if even that cut fails the journal is broken (`onBroken`).
 */
export class Journal {
  private seg: Segment | null = null;
  private pending: { entry: NewEntry; resolve: (e: JournalEntry) => void; reject: (e: unknown) => void }[] = [];
  private flushing: Promise<void> | null = null;
  private lastSeq = 0;
  private brokenBy: unknown = null;
  /** Older segments whose torn tail was cut at open, and the index in `all` where the cut was. */
  private readonly tornTails: { name: string; at: number }[] = [];
  /** Bytes of torn tails cut at open (nothing after a clean shutdown). */
  tornBytes = 0;
  private closed = false;
  /** Called with each group once it is durable, before any writer of it is told. */
  onDurable: (entries: JournalEntry[]) => void = () => {};
  /** Called once when the journal can no longer be written (a failed write could not be undone). */
  onBroken: (e: unknown) => void = () => {};

  private constructor(
    private readonly dir: string,
    private readonly openFile: OpenJournalFile,
  ) {}

  /** Open the journal in `dir`, cutting a torn tail, and return every entry after `afterSeq`. */
  static async open(
    dir: string,
    afterSeq: number,
    opts: { openFile?: OpenJournalFile } = {},
  ): Promise<{ journal: Journal; entries: JournalEntry[]; all: JournalEntry[] }> {
    await mkdirPrivate(dir);
    const j = new Journal(dir, opts.openFile ?? openForAppend);
    const segments = await j.segments();
    const all: JournalEntry[] = [];
    let lastLines = 0;
    for (const [i, name] of segments.entries()) {
      const file = path.join(dir, name);
      const raw = await fsp.readFile(file);
      const { entries, good } = parseSegment(name, raw);
      const cutAt = all.length + entries.length;
      all.push(...entries);
      if (good < raw.length) {
        // A torn tail in an older segment (a group that failed while a snapshot began a new
        // segment) may be cut only if no acknowledged entry is missing: numbering goes on
        // without a gap in the next segment.
        if (i < segments.length - 1) j.tornTails.push({ name, at: cutAt });
        j.tornBytes += raw.length - good;
        await fsp.truncate(file, good);
      }
      if (i === segments.length - 1) lastLines = entries.length;
    }
    for (let k = 1; k < all.length; k++) {
      if (all[k].seq !== all[k - 1].seq + 1) {
        const where = j.tornTails.find((t) => t.at === k)?.name ?? 'the journal';
        throw new Error(
          `Entries ${all[k - 1].seq + 1}–${all[k].seq - 1} are missing from ${where}; restore it from a backup.`,
        );
      }
    }
    const last = segments.at(-1);
    j.lastSeq = all.at(-1)?.seq ?? afterSeq;
    const name = last ?? segmentName(j.lastSeq + 1);
    const good = last ? (await fsp.stat(path.join(dir, last))).size : 0;
    j.seg = { file: await j.openFile(path.join(dir, name)), good, lines: lastLines };
    if (!last) await fsyncDir(dir);
    return { journal: j, entries: all.filter((e) => e.seq > afterSeq), all };
  }

  private async segments(): Promise<string[]> {
    return (await fsp.readdir(this.dir)).filter((n) => SEGMENT.test(n)).sort();
  }

  /** Lines in the current segment (a snapshot is due when it grows large). */
  get linesInSegment(): number {
    return this.seg?.lines ?? 0;
  }

  /** The error that broke the journal, or null while it can be written. */
  get broken(): unknown {
    return this.brokenBy;
  }

  /** Append an entry; resolves with it, numbered, once it is on disk. */
  append(entry: NewEntry): Promise<JournalEntry> {
    if (this.brokenBy) return Promise.reject(this.brokenBy);
    // After close (a shutdown): refused, and the journal stays whole — never a write without a segment.
    if (this.closed) return Promise.reject(closedError());
    return new Promise((resolve, reject) => {
      this.pending.push({ entry, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  private async flush(): Promise<void> {
    while (this.pending.length) {
      const batch = this.pending.splice(0);
      if (this.brokenBy) {
        batch.forEach((b) => b.reject(this.brokenBy));
        continue;
      }
      // One segment for the whole group: a rotation in between must not split write and fsync.
      const seg = this.seg!;
      const entries = batch.map((b, i): JournalEntry => ({ seq: this.lastSeq + 1 + i, ...b.entry }));
      const bytes = Buffer.from(entries.map((e) => `${JSON.stringify(e)}\n`).join(''), 'utf8');
      try {
        for (let off = 0; off < bytes.length; ) {
          const { bytesWritten } = await seg.file.write(bytes, off, bytes.length - off);
          if (!(bytesWritten > 0)) throw shortWrite();
          off += bytesWritten;
        }
        await seg.file.sync();
      } catch (e) {
        const err = storageError(e);
        await this.cutBack(seg, err);
        batch.forEach((b) => b.reject(err));
        continue;
      }
      seg.good += bytes.length;
      seg.lines += entries.length;
      this.lastSeq += entries.length;
      this.onDurable(entries);
      batch.forEach((b, i) => b.resolve(entries[i]));
    }
    this.flushing = null;
  }

  /**
   * Undo a failed group: cut the segment back to its complete lines and fsync, so that what
   * comes next starts on a line of its own (and after an fsync error, no page of the failed
   * group lingers as if written). If that fails too, nothing more can be written safely.
   */
  private async cutBack(seg: Segment, cause: unknown): Promise<void> {
    try {
      await seg.file.truncate(seg.good);
      await seg.file.sync();
    } catch {
      if (this.brokenBy) return;
      this.brokenBy = storageError(cause);
      this.onBroken(cause);
    }
  }

  /** Wait until everything appended so far is on disk (or refused). */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  /** Start a new segment whose first entry will be `nextSeq` (after a snapshot). */
  async rotate(nextSeq: number): Promise<void> {
    await this.drain();
    const next = await this.openFile(path.join(this.dir, segmentName(nextSeq)));
    try {
      await fsyncDir(this.dir);
    } catch (e) {
      await next.close().catch(() => {});
      throw storageError(e);
    }
    const old = this.seg;
    this.seg = { file: next, good: 0, lines: 0 };
    // A group that started on the old segment finishes (and is fsynced) there before it closes.
    await this.drain();
    await old?.file.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
    await this.seg?.file.close();
    this.seg = null;
  }
}

/** A write after the store was closed: the server is stopping; the client may try again shortly. */
const closedError = () =>
  unavailable(
    'shutting_down',
    'The server is restarting. Nothing of this change was kept; please try again shortly.',
    5,
  );
