/**
 * YAML front matter (a leading `---` … `---` block, as EIPs and many imported texts carry) read
 * without a YAML library: only simple `key: value` lines are understood, nothing is evaluated,
 * and a block that is anything more is kept as written (the page shows it as a code block).
 * Pure and linear in the text; never throws.
 */

/** At most this many lines are looked at for the closing `---` (a text is not all front matter). */
const MAX_LINES = 200;

const KEY = /^[A-Za-z0-9_][A-Za-z0-9_ .-]*$/;

export interface FrontMatter {
  /** The block as written, between the fences (without them). */
  raw: string;
  /** Its `key: value` pairs in order, or null when the block is not simple key/value lines. */
  entries: [string, string][] | null;
  /** Where the text after the closing fence (and its line break) begins. */
  end: number;
}

/** The text's front matter, or null when it has none (no leading `---` line closed within MAX_LINES). */
export function frontMatter(text: string): FrontMatter | null {
  const first = /^\uFEFF?---[ \t]*\r?\n/.exec(text);
  if (!first) return null;
  let pos = first[0].length;
  const start = pos;
  for (let n = 0; n < MAX_LINES && pos <= text.length; n++) {
    const nl = text.indexOf('\n', pos);
    const lineEnd = nl < 0 ? text.length : nl;
    const line = text.slice(pos, lineEnd).replace(/\r$/, '');
    if (/^(---|\.\.\.)[ \t]*$/.test(line)) {
      const raw = text.slice(start, pos).replace(/\r?\n$/, '');
      return { raw, entries: parseEntries(raw), end: nl < 0 ? text.length : nl + 1 };
    }
    if (nl < 0) break;
    pos = nl + 1;
  }
  return null;
}

/** `key: value` lines (blank lines and `#` comments skipped; one level of quotes taken off), or null. */
export function parseEntries(raw: string): [string, string][] | null {
  const out: [string, string][] = [];
  for (const line of raw.split(/\r?\n/)) {
    if (!line.trim() || /^#/.test(line)) continue;
    const colon = line.indexOf(':');
    const key = line.slice(0, Math.max(0, colon)).trimEnd();
    const value = line.slice(colon + 1);
    if (colon < 0 || !KEY.test(key) || (value && !/^[ \t]/.test(value))) return null;
    out.push([key, unquote(value.trim())]);
  }
  return out;
}

function unquote(v: string): string {
  if (v.length >= 2 && ((v[0] === '"' && v.endsWith('"')) || (v[0] === "'" && v.endsWith("'")))) return v.slice(1, -1);
  return v;
}
