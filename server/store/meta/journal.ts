import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { DomainError, unavailable } from '../../domain/errors.js';
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
/** The file name of the segment that begins at `firstSeq`. */
export const segmentFile = segmentName;
const firstSeqOf = (name: string) => Number(SEGMENT.exec(name)![1]);

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

const CHANGES = Buffer.from(',"changes":');

/**
 * A line without its record changes: the journal writes `changes` last, so the line up to
 * `,"changes":` closed with `}` is the rest of it (a string cannot hold that text unescaped). A
 * line written otherwise is parsed whole.
 */
const auditPart = (line: Buffer): JournalEntry | null => {
  const cut = line.indexOf(CHANGES);
  if (cut < 0) return asEntry(line);
  let e: JournalEntry | null = null;
  try {
    e = JSON.parse(`${line.toString('utf8', 0, cut)}}`) as JournalEntry;
  } catch {
    return asEntry(line);
  }
  return e && typeof e === 'object' && Number.isInteger(e.seq) && Array.isArray(e.events)
    ? { ...e, changes: [] }
    : asEntry(line);
};

const SEQ_FIRST = Buffer.from('{"seq":');

/** The seq a line begins with (`{"seq":N,`, as the journal writes it), or -1 when it begins otherwise. */
function leadingSeq(line: Buffer): number {
  if (line.length < SEQ_FIRST.length + 2 || line.compare(SEQ_FIRST, 0, SEQ_FIRST.length, 0, SEQ_FIRST.length) !== 0)
    return -1;
  let n = 0;
  for (let i = SEQ_FIRST.length; i < line.length && i < SEQ_FIRST.length + 16; i++) {
    const c = line[i];
    if (c === 0x2c) return i > SEQ_FIRST.length ? n : -1;
    if (c < 0x30 || c > 0x39) return -1;
    n = n * 10 + c - 0x30;
  }
  return -1;
}

/**
 * Lines up to `seq` (a snapshot's) by their audit part, the rest whole: the snapshot holds what
 * the earlier lines changed. A line that does not begin with its seq is parsed whole.
 */
const auditUpTo =
  (seq: number) =>
  (line: Buffer): JournalEntry | null => {
    const n = leadingSeq(line);
    return n >= 0 && n <= seq ? auditPart(line) : asEntry(line);
  };

/**
 * Read one segment. A torn tail — a partial line, NUL bytes a full disk or a crash left, any
 * unreadable region with no readable line after it — was never acknowledged and is reported
 * for cutting. An unreadable line followed by a readable one is damage: lines after it were
 * acknowledged, so the journal refuses to open rather than drop them.
 */
function parseSegment(name: string, raw: Buffer, read: (line: Buffer) => JournalEntry | null = asEntry): Parsed {
  const entries: JournalEntry[] = [];
  let good = 0;
  let bad = -1;
  for (let start = 0; start < raw.length; ) {
    const nl = raw.indexOf(0x0a, start);
    const end = nl < 0 ? raw.length : nl;
    const entry = nl < 0 ? null : read(raw.subarray(start, end));
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
  private pending: {
    entry: NewEntry;
    /** `entry` as JSON, when the writer has it already (the line is then made from it). */
    json?: string;
    resolve: (e: JournalEntry) => void;
    reject: (e: unknown) => void;
  }[] = [];
  private flushing: Promise<void> | null = null;
  /** The group being written and fsynced now, if any. */
  private group: Promise<void> | null = null;
  /** Set while `rotate` swaps segments: no group starts until it is done. */
  private gate: Promise<void> | null = null;
  private lastSeq = 0;
  /** The first seq of each segment, oldest first. */
  private starts: number[] = [];
  private brokenBy: unknown = null;
  /** Older segments whose torn tail was cut at open, and the index in `read` where the cut was. */
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

  /**
   * Open the journal in `dir`, cutting a torn tail, and return every entry after `afterSeq` (the
   * snapshot's seq). Only the segments that can hold such entries are read — the one where
   * `afterSeq + 1` falls and those after it — so opening costs the same after ten years as after
   * one: older segments are the audit log's, read a page at a time (`readAudit`). `read` is every
   * entry of the segments read: every entry from seq `readFrom` on (the newest part of the audit log),
   * those up to `afterSeq` by their audit part only (their record changes, which the snapshot
   * holds, are not parsed: at thirty years' volume the snapshot's segment held 5,000 lines before
   * it and 4 after, and parsing them whole was half of the journal's part of the start).
   */
  static async open(
    dir: string,
    afterSeq: number,
    opts: { openFile?: OpenJournalFile } = {},
  ): Promise<{ journal: Journal; entries: JournalEntry[]; read: JournalEntry[]; readFrom: number }> {
    await mkdirPrivate(dir);
    const j = new Journal(dir, opts.openFile ?? openForAppend);
    const segments = await j.segments();
    j.starts = segments.map(firstSeqOf);
    // The last segment that begins at or before the first entry the snapshot lacks — and one
    // further back while what was read begins after that entry: a folder written before segments
    // were named exactly may hold a few lines past a segment's name in the segment before it.
    let from = segments.length;
    const parsed = new Map<number, { raw: Buffer; entries: JournalEntry[]; good: number }>();
    const readSegment = async (i: number) => {
      const raw = await fsp.readFile(path.join(dir, segments[i]));
      parsed.set(i, { raw, ...parseSegment(segments[i], raw, auditUpTo(afterSeq)) });
    };
    for (let i = segments.length - 1; i >= 0; i--) {
      await readSegment(i);
      from = i;
      if (j.starts[i] > afterSeq + 1) continue;
      const first = [...Array(segments.length - i).keys()].map((k) => parsed.get(i + k)!.entries[0]).find(Boolean);
      if (!first || first.seq <= afterSeq + 1) break;
    }
    const read: JournalEntry[] = [];
    let lastLines = 0;
    for (let i = from; i < segments.length; i++) {
      const name = segments[i];
      const file = path.join(dir, name);
      const { raw, entries, good } = parsed.get(i)!;
      const cutAt = read.length + entries.length;
      read.push(...entries);
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
    for (let k = 1; k < read.length; k++) {
      if (read[k].seq !== read[k - 1].seq + 1) {
        const where = j.tornTails.find((t) => t.at === k)?.name ?? 'the journal';
        throw new Error(
          `Entries ${read[k - 1].seq + 1}–${read[k].seq - 1} are missing from ${where}; restore it from a backup.`,
        );
      }
    }
    const last = segments.at(-1);
    j.lastSeq = read.at(-1)?.seq ?? afterSeq;
    const name = last ?? segmentName(j.lastSeq + 1);
    if (!last) j.starts.push(j.lastSeq + 1);
    const good = last ? (await fsp.stat(path.join(dir, last))).size : 0;
    j.seg = { file: await j.openFile(path.join(dir, name)), good, lines: lastLines };
    if (!last) await fsyncDir(dir);
    const readFrom = read[0]?.seq ?? j.lastSeq + 1;
    return { journal: j, entries: read.filter((e) => e.seq > afterSeq), read, readFrom };
  }

  /** The first seq of every segment, oldest first (the last is the one being appended to). */
  get segmentStarts(): readonly number[] {
    return this.starts;
  }

  /**
   * The audit part (seq, at, actor, events, meta) of every complete line of the segment that
   * begins at `first`, oldest first — what the audit log shows of a segment not held in memory.
   * A line's record changes (which may hold whole texts) are skipped, not parsed. An unreadable
   * line followed by a readable one, or numbering with a gap, is damage: `journal_damaged`.
   */
  async readAudit(first: number): Promise<JournalEntry[]> {
    const name = segmentName(first);
    let raw: Buffer;
    try {
      raw = await fsp.readFile(path.join(this.dir, name));
    } catch (e) {
      throw storageError(e);
    }
    let entries: JournalEntry[] = [];
    try {
      entries = parseSegment(name, raw, auditPart).entries;
    } catch {
      throw journalDamaged(name);
    }
    // Bytes without a single readable line are not a segment the journal wrote.
    if (!entries.length && raw.length) throw journalDamaged(name);
    for (let k = 1; k < entries.length; k++) if (entries[k].seq !== entries[k - 1].seq + 1) throw journalDamaged(name);
    return entries;
  }

  private async segments(): Promise<string[]> {
    return (await fsp.readdir(this.dir)).filter((n) => SEGMENT.test(n)).sort();
  }

  /** Lines in the current segment (a snapshot is due when it grows large). */
  get linesInSegment(): number {
    return this.seg?.lines ?? 0;
  }

  /** Bytes in the current segment (a snapshot is due when it grows large in bytes too). */
  get bytesInSegment(): number {
    return this.seg?.good ?? 0;
  }

  /** The error that broke the journal, or null while it can be written. */
  get broken(): unknown {
    return this.brokenBy;
  }

  /**
   * Append an entry; resolves with it, numbered, once it is on disk. `json`, when given, is
   * `JSON.stringify(entry)` (the line is made from it rather than serialising the entry again).
   */
  append(entry: NewEntry, json?: string): Promise<JournalEntry> {
    if (this.brokenBy) return Promise.reject(this.brokenBy);
    // After close (a shutdown): refused, and the journal stays whole — never a write without a segment.
    if (this.closed) return Promise.reject(closedError());
    return new Promise((resolve, reject) => {
      this.pending.push({ entry, json, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  private async flush(): Promise<void> {
    while (this.pending.length) {
      // A rotation is choosing the next segment's name (the seq of its first line): wait for it.
      if (this.gate) {
        await this.gate;
        continue;
      }
      let done!: () => void;
      this.group = new Promise<void>((r) => (done = r));
      try {
        await this.writeGroup();
      } finally {
        this.group = null;
        done();
      }
    }
    this.flushing = null;
  }

  /** Write and fsync the waiting entries as one group on the current segment. */
  private async writeGroup(): Promise<void> {
    const batch = this.pending.splice(0);
    if (this.brokenBy) {
      batch.forEach((b) => b.reject(this.brokenBy));
      return;
    }
    // One segment for the whole group: a rotation in between must not split write and fsync.
    const seg = this.seg!;
    const entries = batch.map((b, i): JournalEntry => ({ seq: this.lastSeq + 1 + i, ...b.entry }));
    // `{"seq":N,` then the entry's own members: the same bytes as serialising the numbered entry.
    const line = (e: JournalEntry, json?: string) =>
      json?.startsWith('{"') ? `{"seq":${e.seq},${json.slice(1)}\n` : `${JSON.stringify(e)}\n`;
    const bytes = Buffer.from(entries.map((e, i) => line(e, batch[i].json)).join(''), 'utf8');
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
      return;
    }
    seg.good += bytes.length;
    seg.lines += entries.length;
    this.lastSeq += entries.length;
    this.onDurable(entries);
    batch.forEach((b, i) => b.resolve(entries[i]));
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

  /**
   * Start a new segment (after a snapshot). It is named after the seq of its first line, so a
   * segment's name bounds what it holds: every line of the one before has a lower seq (start-up
   * reads only from the segment where the snapshot's seq falls). While the name is chosen no
   * group starts: the group being written finishes (and is fsynced) on the old segment, later
   * ones wait for the swap — a few milliseconds, one file created and one folder fsync.
   */
  async rotate(): Promise<void> {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    while (this.gate) await this.gate;
    this.gate = gate;
    try {
      while (this.group) await this.group;
      const first = this.lastSeq + 1;
      const next = await this.openFile(path.join(this.dir, segmentName(first)));
      try {
        await fsyncDir(this.dir);
      } catch (e) {
        await next.close().catch(() => {});
        throw storageError(e);
      }
      const old = this.seg;
      this.seg = { file: next, good: 0, lines: 0 };
      if (this.starts.at(-1) !== first) this.starts.push(first);
      await old?.file.close();
    } finally {
      this.gate = null;
      open();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
    await this.seg?.file.close();
    this.seg = null;
  }
}

/** An older segment (read for the audit log) that cannot be read whole. */
export const journalDamaged = (name: string) =>
  new DomainError(
    'unavailable',
    'journal_damaged',
    `Older entries of the audit log cannot be read: the journal segment ${name} is damaged or incomplete; restore it from a backup.`,
  );

/** A write after the store was closed: the server is stopping; the client may try again shortly. */
const closedError = () =>
  unavailable(
    'shutting_down',
    'The server is restarting. Nothing of this change was kept; please try again shortly.',
    5,
  );
