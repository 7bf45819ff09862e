import type { Change } from './diff.js';

/**
 * A comment's anchor is a quoted passage at an offset of one revision's text. When a later
 * revision is shown, the passage is followed through the diff between the two revisions: if
 * any change touches it, the comment is outdated (shown with its original passage), never
 * silently moved to other text.
 */
export interface AnchorAt {
  quote: string;
  offset: number;
}

/** Where the quote sits in `text` (the `occurrence`-th match, 0-based), or null. */
export function locateQuote(text: string, quote: string, occurrence = 0): number | null {
  if (!quote || !Number.isInteger(occurrence) || occurrence < 0) return null;
  let at = -1;
  for (let i = 0; i <= occurrence; i++) {
    at = text.indexOf(quote, at + 1);
    if (at < 0) return null;
  }
  return at;
}

/**
 * Map an anchored range of the old text through `changes` (old → new). Returns the new offset
 * when the passage is untouched, or null when an insert or delete falls inside it (an insert
 * exactly at either edge does not touch it).
 */
export function followAnchor(changes: Change[], anchor: AnchorAt): number | null {
  const start = anchor.offset;
  const end = anchor.offset + anchor.quote.length;
  let oldPos = 0;
  let newPos = 0;
  let mapped: number | null = null;
  for (const c of changes) {
    const len = c.text.length;
    if (c.op === 'equal') {
      if (mapped === null && start >= oldPos && start < oldPos + len) mapped = newPos + (start - oldPos);
      oldPos += len;
      newPos += len;
    } else if (c.op === 'delete') {
      if (oldPos + len > start && oldPos < end) return null;
      oldPos += len;
    } else {
      if (oldPos > start && oldPos < end) return null;
      newPos += len;
    }
    if (oldPos >= end && mapped !== null) return mapped;
  }
  return mapped;
}

/**
 * The text a reader sees of a markdown source, with where each of its characters comes from.
 * `text[i]` was written at `from[i]` up to `to[i]` in the source (one character, or an escape
 * `\*`, or an entity `&amp;`). Emphasis and code marks, link and image syntax (`[words](url)` →
 * words), list markers, heading `#`s, quote `>`s, fences and table rules give no text. Whitespace
 * is kept as written (see `normalizeSpace`).
 */
export interface Projection {
  text: string;
  from: number[];
  to: number[];
}

const PUNCT = /[!-/:-@[-`{-~]/;
/** The characters that begin a mark `inline` takes out (an escape, code, an image, a link, an autolink, an entity, emphasis). */
const MARKS = /[\\`![<&*_~]/;
const SPACE = /\s/;
const ALNUM = /[\p{L}\p{N}]/u;
const ENTITY = /^&(amp|lt|gt|quot|apos|nbsp|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});/;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };
const AUTOLINK = /^<([a-zA-Z][a-zA-Z0-9+.-]{1,31}:[^\s<>]*|[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+)>/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const RULE = /^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,}|=+[ \t]*)$/;
const TABLE_RULE = /^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;
const PREFIX = /^(?:[ \t]+|>[ \t]?|(?:[-+*]|[0-9]{1,9}[.)])(?:[ \t]+|$)|\[[ xX]\][ \t]+|#{1,6}(?:[ \t]+|$))/;

/** One character of a line of source (after its block prefixes), or of a code line (`verbatim`). */
interface Cell {
  ch: string;
  at: number;
}

export function projectMarkdown(src: string): Projection {
  const out: Projection = { text: '', from: [], to: [] };
  const chars: string[] = [];
  const emit = (ch: string, from: number, to: number) => {
    chars.push(ch);
    out.from.push(from);
    out.to.push(to);
  };
  let para: Cell[] = [];
  const flush = () => {
    inline(para, emit);
    para = [];
  };
  let fence: { ch: string; len: number } | null = null;
  for (const m of src.matchAll(/[^\n]*\n?/g)) {
    if (!m[0]) break;
    const pos = m.index;
    const line = m[0].endsWith('\n') ? m[0].slice(0, -1) : m[0];
    const nl = m[0].endsWith('\n') ? pos + line.length : -1;
    const f = FENCE.exec(line);
    if (fence) {
      if (f && f[1][0] === fence.ch && f[1].length >= fence.len && !line.slice(f[0].length).trim()) fence = null;
      else {
        // Code is shown as written.
        for (let k = 0; k < line.length; k++) emit(line[k], pos + k, pos + k + 1);
      }
      if (nl >= 0) emit('\n', nl, nl + 1);
      continue;
    }
    if (f) {
      flush();
      fence = { ch: f[1][0], len: f[1].length };
      if (nl >= 0) emit('\n', nl, nl + 1);
      continue;
    }
    if (!line.trim() || RULE.test(line) || (line.includes('-') && line.includes('|') && TABLE_RULE.test(line))) {
      flush();
      if (nl >= 0) emit('\n', nl, nl + 1);
      continue;
    }
    let k = 0;
    for (let guard = 0; guard < 16; guard++) {
      const p = PREFIX.exec(line.slice(k));
      if (!p) break;
      k += p[0].length;
    }
    let end = line.length;
    // A heading's closing #s.
    const closing = /[ \t]+#+[ \t]*$/.exec(line.slice(k));
    if (closing && /^ {0,3}#/.test(line)) end = k + closing.index;
    const table = line.trimStart().startsWith('|');
    for (let j = k; j < end; j++) para.push({ ch: table && line[j] === '|' ? ' ' : line[j], at: pos + j });
    if (nl >= 0) para.push({ ch: '\n', at: nl });
  }
  flush();
  out.text = chars.join('');
  return out;
}

/** For each opening bracket of a paragraph, the index of the one closing it (-1 if none); escaped brackets do not count. One pass. */
function pairsOf(cells: Cell[], open: string, close: string): Int32Array {
  const m = new Int32Array(cells.length).fill(-1);
  const stack: number[] = [];
  for (let k = 0; k < cells.length; k++) {
    const c = cells[k].ch;
    if (c === '\\') k++;
    else if (c === open) stack.push(k);
    else if (c === close && stack.length) m[stack.pop()!] = k;
  }
  return m;
}

/** For each run of backticks, where the next run of the same length starts (-1 if none). One pass. */
function codeEnds(cells: Cell[]): Map<number, number> {
  const runs: [number, number][] = [];
  for (let k = 0; k < cells.length; k++) {
    if (cells[k].ch !== '`') continue;
    let n = 1;
    while (k + n < cells.length && cells[k + n].ch === '`') n++;
    runs.push([k, n]);
    k += n - 1;
  }
  const next = new Map<number, number>();
  const later = new Map<number, number>();
  for (let r = runs.length - 1; r >= 0; r--) {
    next.set(runs[r][0], later.get(runs[r][1]) ?? -1);
    later.set(runs[r][1], runs[r][0]);
  }
  return next;
}

interface Pairs {
  square: Int32Array;
  round: Int32Array;
  code: Map<number, number>;
}

/** The inline rules over one paragraph's cells: what is shown of emphasis, code, links, escapes and entities. Linear in the paragraph. */
function inline(
  cells: Cell[],
  emit: (ch: string, from: number, to: number) => void,
  lo = 0,
  hi = cells.length,
  pairs: Pairs = { square: pairsOf(cells, '[', ']'), round: pairsOf(cells, '(', ')'), code: codeEnds(cells) },
): void {
  const ch = (j: number) => (j >= lo && j < hi ? cells[j].ch : '');
  const one = (j: number) => emit(cells[j].ch, cells[j].at, cells[j].at + 1);
  const within = (k: number) => (k >= 0 && k < hi ? k : -1);
  let j = lo;
  while (j < hi) {
    const c = cells[j].ch;
    if (c === '\\' && PUNCT.test(ch(j + 1))) {
      emit(cells[j + 1].ch, cells[j].at, cells[j + 1].at + 1);
      j += 2;
    } else if (c === '`') {
      let n = 1;
      while (ch(j + n) === '`') n++;
      // A run that starts inside another (after an escape) has no entry: it is shown as written.
      const close = within(pairs.code.get(j) ?? -1);
      if (close < 0) for (let k = j; k < j + n; k++) one(k);
      else for (let k = j + n; k < close; k++) one(k);
      j = close < 0 ? j + n : close + n;
    } else if (c === '!' && ch(j + 1) === '[') {
      j++;
    } else if (c === '[') {
      const close = within(pairs.square[j]);
      const dest = close >= 0 && ch(close + 1) === '(' ? within(pairs.round[close + 1]) : -1;
      const ref = close >= 0 && dest < 0 && ch(close + 1) === '[' ? within(pairs.square[close + 1]) : -1;
      if (dest >= 0 || ref >= 0) {
        inline(cells, emit, j + 1, close, pairs);
        j = Math.max(dest, ref) + 1;
      } else {
        one(j);
        j++;
      }
    } else if (c === '<') {
      let s = '';
      for (let k = j; k < hi && k < j + 2100 && (k === j || !/[\s<]/.test(cells[k].ch)); k++) s += cells[k].ch;
      const a = AUTOLINK.exec(s);
      if (a) {
        for (let k = j + 1; k < j + a[0].length - 1; k++) one(k);
        j += a[0].length;
      } else {
        one(j);
        j++;
      }
    } else if (c === '&') {
      let s = '';
      for (let k = j; k < hi && k < j + 12; k++) s += cells[k].ch;
      const e = ENTITY.exec(s);
      const named = e ? NAMED[e[1]] : undefined;
      const code =
        e && !named
          ? Number.parseInt(
              e[1][1] === 'x' || e[1][1] === 'X' ? e[1].slice(2) : e[1].slice(1),
              e[1][1] === 'x' || e[1][1] === 'X' ? 16 : 10,
            )
          : 0;
      if (e && (named || (code > 0 && code <= 0x10ffff))) {
        emit(named ?? String.fromCodePoint(code), cells[j].at, cells[j + e[0].length - 1].at + 1);
        j += e[0].length;
      } else {
        one(j);
        j++;
      }
    } else if (c === '*' || c === '_' || c === '~') {
      let n = 1;
      while (ch(j + n) === c) n++;
      const before = ch(j - 1);
      const after = ch(j + n);
      const spaced = (x: string) => !x || SPACE.test(x);
      // A run between spaces is a literal star; `snake_case` keeps its underscore; one tilde is a tilde.
      const literal =
        (spaced(before) && spaced(after)) ||
        (c === '_' && ALNUM.test(before) && ALNUM.test(after)) ||
        (c === '~' && n < 2);
      if (literal) for (let k = j; k < j + n; k++) one(k);
      j += n;
    } else {
      one(j);
      j++;
    }
  }
}

/** Runs of whitespace as one space, no space at either end. */
export const normalizeSpace = (s: string): string => s.replace(/\s+/g, ' ').trim();

/** A projection with its whitespace normalised (each run is one space, sourced at its first character). */
function normalized(p: Projection): Projection {
  const out: Projection = { text: '', from: [], to: [] };
  const chars: string[] = [];
  let space = false;
  for (let i = 0; i < p.text.length; i++) {
    if (SPACE.test(p.text[i])) {
      if (!space && chars.length) {
        chars.push(' ');
        out.from.push(p.from[i]);
        out.to.push(p.to[i]);
      }
      space = true;
    } else {
      chars.push(p.text[i]);
      out.from.push(p.from[i]);
      out.to.push(p.to[i]);
      space = false;
    }
  }
  if (chars[chars.length - 1] === ' ') {
    chars.pop();
    out.from.pop();
    out.to.pop();
  }
  out.text = chars.join('');
  return out;
}

/** Where a quoted passage is in a markdown source: its offset, and the passage as written there. */
export interface Passage {
  offset: number;
  quote: string;
}

/**
 * Find a passage a reader quoted, as the page shows it (bold, a link) or as written in the
 * source (`**bold**`, `[a link](…)`), whitespace aside: the `occurrence`-th match (0-based) of the
 * shown text, else of the source. The passage returned is the source's: the quote itself when
 * written so there, else from its first shown character to its last, with the marks that close it
 * (`**`, `](url)`) and open it (`**`, `[`) on the same line.
 */
export function locatePassage(src: string, quote: string, occurrence = 0): Passage | null {
  if (!Number.isInteger(occurrence) || occurrence < 0) return null;
  const q = normalizeSpace(quote);
  const p = q ? normalized(projectMarkdown(src)) : null;
  const at = p ? locateQuote(p.text, q, occurrence) : null;
  if (p === null || at === null) {
    const exact = locateQuote(src, quote, occurrence);
    return exact === null ? null : { offset: exact, quote };
  }
  let start = p.from[at];
  let end = p.to[at + q.length - 1];
  if (src.slice(start, end) === quote) return { offset: start, quote };
  while (start > 0 && /[*_~[`]/.test(src[start - 1]) && (at === 0 || start - 1 >= p.to[at - 1])) start--;
  const next = at + q.length < p.text.length ? p.from[at + q.length] : src.length;
  while (end < next && src[end] !== '\n' && !SPACE.test(src[end])) end++;
  return { offset: start, quote: src.slice(start, end) };
}

/** What a reader sees of the source between `start` and `end`: the shown characters written there, whitespace normalised. */
export function shownWithin(src: string, start: number, end: number): string {
  const p = projectMarkdown(src);
  let s = '';
  for (let i = 0; i < p.text.length; i++) if (p.from[i] >= start && p.to[i] <= end) s += p.text[i];
  return normalizeSpace(s);
}

/** The first and last shown characters of the source between `start` and `end`, as source offsets [from, to), or null if none is shown. */
export function shownSpan(p: Projection, start: number, end: number): { from: number; to: number } | null {
  let from = -1;
  let to = -1;
  for (let i = 0; i < p.text.length; i++) {
    if (p.from[i] >= start && p.to[i] <= end && !SPACE.test(p.text[i])) {
      if (from < 0) from = p.from[i];
      to = p.to[i];
    }
  }
  return from < 0 ? null : { from, to };
}

/** What a reader sees of one run of inline markdown (a heading's words): marks, link syntax, escapes and entities resolved, whitespace kept. */
export function shownInline(src: string): string {
  // Without any of the characters `inline` reads as marks, the source is what a reader sees.
  if (!MARKS.test(src)) return src;
  const cells: Cell[] = [];
  for (let j = 0; j < src.length; j++) cells.push({ ch: src[j], at: j });
  const out: string[] = [];
  inline(cells, (ch) => out.push(ch));
  return out.join('');
}
