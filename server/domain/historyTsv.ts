import { invalid } from './errors.js';
import { oneLine } from './versionMessage.js';

/** One row of a `versions.tsv`: the date, author and summary of one imported version. */
export interface HistoryRow {
  seq: string;
  at: Date;
  /** Minutes east of UTC, as written in the date. */
  tzOffset: number;
  author: string;
  subject: string;
}

const DATE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|([+-])(\d{2}):?(\d{2}))$/;

/** Parse an ISO 8601 date with its offset, keeping the offset (git records it). */
export function parseDateWithOffset(s: string): { at: Date; tzOffset: number } | null {
  const m = DATE.exec(s.trim());
  if (!m) return null;
  const at = new Date(s.trim());
  if (Number.isNaN(at.getTime())) return null;
  const tzOffset = m[2] === 'Z' ? 0 : (m[3] === '-' ? -1 : 1) * (Number(m[4]) * 60 + Number(m[5]));
  return { at, tzOffset };
}

/** Parse a history TSV (header `seq date author subject`); every refusal names the line. */
export function parseHistoryTsv(text: string): HistoryRow[] {
  const lines = text
    .replace(/\r\n/g, '\n')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const header = lines
    .shift()
    ?.split('\t')
    .map((h) => h.trim());
  if (!header || ['seq', 'date', 'author', 'subject'].some((h, i) => header[i] !== h)) {
    throw invalid(
      'invalid_tsv',
      'The TSV must start with the header line: seq, date, author, subject (tab-separated).',
    );
  }
  return lines.map((line, i) => {
    const [seq, date, author, ...rest] = line.split('\t');
    const d = parseDateWithOffset(date ?? '');
    if (!d)
      throw invalid(
        'invalid_tsv',
        `Line ${i + 2} of the TSV has no valid ISO 8601 date: ${JSON.stringify(date ?? '')}.`,
      );
    if (!author?.trim()) throw invalid('invalid_tsv', `Line ${i + 2} of the TSV names no author.`);
    if (/[<>\u0000-\u001f\u007f]/.test(author))
      throw invalid('invalid_tsv', `Line ${i + 2} of the TSV has an author name with <, > or control characters.`);
    return { seq: seq.trim(), at: d.at, tzOffset: d.tzOffset, author: author.trim(), subject: oneLine(rest.join(' ')) };
  });
}

/** A placeholder address for an author known only by name (PRODUCT.md: under `.invalid`). */
export function placeholderEmail(name: string): string {
  const local = name
    .normalize('NFKD')
    .replace(/[^\x20-\x7e]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '.')
    .replace(/^\.+|\.+$/g, '');
  return `${local || 'author'}@unknown.invalid`;
}
