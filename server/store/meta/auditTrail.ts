import { journalDamaged, segmentFile, type EntryMeta, type Journal, type JournalEntry } from './journal.js';

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string | null;
  action: string;
  subject: string;
  /** IP address and user agent of a sign-in event. */
  meta?: EntryMeta;
}

/** How many older journal segments' audit entries are kept in memory once read (~5,000 lines each). */
const OLDER_SEGMENTS_KEPT = 4;

interface OlderSegment {
  entries: AuditEntry[];
  firstSeq: number | null;
  lastSeq: number | null;
}

const auditEntries = (e: JournalEntry): AuditEntry[] =>
  e.events.map((ev) => ({
    seq: e.seq,
    at: e.at,
    actor: e.actor,
    action: ev.action,
    subject: ev.subject,
    ...(e.meta ? { meta: e.meta } : {}),
  }));

/**
 * The audit log: a view of the journal's lines (`events`: who, what, when). The newest part of
 * it, oldest first, is in memory: every entry from seq `from` on (the current journal segment
 * and the one before it). Older entries are read from their segment on disk when a page reaches
 * them, a few segments' worth kept.
 */
export class AuditTrail {
  private entries: AuditEntry[] = [];
  private readonly older = new Map<number, OlderSegment>();

  constructor(
    private readonly journal: Journal,
    /** The seq of the first entry in memory (`Journal.open`'s `readFrom`). */
    private from: number,
  ) {}

  /** How many entries memory holds (the rest are read from their segments when a page reaches them). */
  get inMemory(): number {
    return this.entries.length;
  }

  /** A journal line now durable (or read at open from the segments kept in memory). */
  remember(e: JournalEntry): void {
    this.entries.push(...auditEntries(e));
  }

  /**
   * Newest first: the `limit` newest entries, or with `before` the `limit` newest of those whose
   * seq is below it (the next page: `before` = the last seq of this one). A page holds whole
   * changes (the events of one journal line share a seq): it ends early rather than split one,
   * and holds more than `limit` only when a single change has more events. A page that reaches
   * past memory reads the older segments it needs from disk, newest first, each once (the last
   * few are kept). An older segment that cannot be read refuses with `journal_damaged`, naming
   * the file.
   */
  async page(limit: number, before = Infinity): Promise<AuditEntry[]> {
    const out: AuditEntry[] = [];
    // Entries are in seq order: take those below `below` (and `before`), newest first, a change
    // at a time — never a part of one, so that the next page can begin below the last seq.
    const take = (list: readonly AuditEntry[], below: number) => {
      let i = list.length - 1;
      while (i >= 0 && list[i].seq >= Math.min(below, before)) i--;
      while (i >= 0 && out.length < limit) {
        let start = i;
        while (start > 0 && list[start - 1].seq === list[i].seq) start--;
        if (out.length && out.length + (i - start + 1) > limit) {
          limit = out.length; // the next change does not fit: the page ends here
          break;
        }
        for (; i >= start; i--) out.push(list[i]);
      }
    };
    take(this.entries, Infinity);
    // Every entry from `covered` on is accounted for; each older segment, newest first, must end
    // just below it (numbering has no gaps) and gives what lies below it. Segments that begin at
    // or after `before` hold nothing of the page: a page deep in the past reads only its own.
    const older = this.journal.segmentStarts.filter((first) => first < this.from);
    let covered = Math.min(this.from, ...older.filter((first) => first >= before));
    for (let k = older.length - 1; k >= 0 && out.length < limit && covered > 1; k--) {
      if (older[k] >= before) continue;
      const { entries, firstSeq, lastSeq } = await this.segment(older[k]);
      if (lastSeq === null || firstSeq === null) continue;
      if (lastSeq < covered - 1) throw journalDamaged(segmentFile(older[k]));
      if (firstSeq < before) take(entries, covered);
      covered = Math.min(covered, firstSeq);
    }
    return out;
  }

  /** After a new segment begins: memory keeps the entries of it and the one before; older ones are on disk. */
  forgetOlder(): void {
    const starts = this.journal.segmentStarts;
    const from = starts.length > 1 ? starts[starts.length - 2] : (starts[0] ?? 1);
    if (from <= this.from) return;
    let cut = 0;
    while (cut < this.entries.length && this.entries[cut].seq < from) cut++;
    this.entries = this.entries.slice(cut);
    this.from = from;
  }

  /** An older segment's entries and the seqs of its first and last lines (null when it has none). */
  private async segment(first: number): Promise<OlderSegment> {
    const kept = this.older.get(first);
    if (kept) {
      // Most recently used last: the first in the map is the one to let go.
      this.older.delete(first);
      this.older.set(first, kept);
      return kept;
    }
    const lines = await this.journal.readAudit(first);
    const seg = {
      entries: lines.flatMap(auditEntries),
      firstSeq: lines[0]?.seq ?? null,
      lastSeq: lines.at(-1)?.seq ?? null,
    };
    this.older.set(first, seg);
    while (this.older.size > OLDER_SEGMENTS_KEPT) this.older.delete(this.older.keys().next().value!);
    return seg;
  }
}
