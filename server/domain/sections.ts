import { shownInline } from './anchor.js';
import { invalid, notFound } from './errors.js';

/**
 * A text's sections (issue 15, "edit a section"). A section is a heading and everything under
 * it: from its heading's first line up to the next heading of the same or a higher level (or
 * the end of the text), so its sub-sections are part of it. Its anchor is its heading's id on
 * the document page — the slug of the heading's words, de-duplicated (`scope`, `scope-1`, …) —
 * and the document page takes its heading ids from here (util/documentHtml.ts is given them), so
 * the section a link names is the one the server splices.
 *
 * Headings are read from the markdown source line by line: `#` headings and underlined (`===`,
 * `---`) ones, outside code fences, not inside a list or a quote. Levels are the source's
 * (`##` is 2), not the page's. Pure; linear in the text.
 */

/** Ids the pages around a text use; a heading never takes them. */
const RESERVED = ['main', 'decision', 'decision-h', 'contents', 'top'];

/** A heading's slug: its letters and digits, lower case, joined by dashes (at most 64 characters). */
export function slugOf(text: string): string {
  const s = text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .slice(0, 64)
    .replace(/^-+|-+$/g, '');
  return s || 'section';
}

/** Unique ids, one call per heading in order: the slug, then slug-1, slug-2, …; never a paragraph's `p-N` nor a page's own ids. */
export function uniqueIds(): (base: string) => string {
  const used = new Set(RESERVED);
  const next = new Map<string, number>();
  return (base: string) => {
    let id = used.has(base) || (base.startsWith('p-') && /^p-\d+$/.test(base)) ? '' : base;
    let k = next.get(base) ?? 1;
    while (!id || used.has(id)) id = `${base}-${k++}`;
    next.set(base, k);
    used.add(id);
    return id;
  };
}

export interface Heading {
  /** Where its first line starts in the text. */
  start: number;
  /** That line's number in the text (0-based). */
  line: number;
  /** 1 for `#`, 2 for `##`, …, as written. */
  level: number;
  /** Its words as a reader sees them. */
  words: string;
  /** Its anchor. */
  id: string;
}

export interface Section extends Heading {
  /** Where it ends: the start of the next heading of the same or a higher level, or the end of the text. */
  end: number;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const ATX = /^ {0,3}(#{1,6})(?=[ \t]|$)(.*)$/;
const UNDERLINE = /^ {0,3}(=+|-+)[ \t]*$/;
const RULE = /^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$/;
const OTHER_BLOCK = /^ {0,3}(?:>|(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$))/;
const INDENTED = /^(?: {4}|\t)/;

/** Whether the line starts, after at most three spaces, with an ASCII letter (so it is no blank line nor any block's marker). */
function plainLine(line: string): boolean {
  let k = 0;
  while (k < 3 && line.charCodeAt(k) === 32) k++;
  const c = line.charCodeAt(k) | 32; // A–Z to a–z
  return c >= 97 && c <= 122;
}

/** The text's headings from `from` on (where its front matter ends), in order, each with its anchor. */
export function headingsOf(text: string, from = 0): Heading[] {
  const out: Heading[] = [];
  const idFor = uniqueIds();
  scanHeadings(text, from, (start, line, level, inline) => {
    const words = shownInline(inline.trim()).replace(/\s+/g, ' ').trim();
    out.push({ start, line, level, words, id: idFor(slugOf(words)) });
  });
  return out;
}

/** Where each of the text's headings starts and its level, in order: [start, level, start, level, …] (no words, no anchors). */
function outlineOf(text: string, from = 0): number[] {
  const out: number[] = [];
  scanHeadings(text, from, (start, _line, level) => out.push(start, level));
  return out;
}

/**
 * Read the text's lines from `from` and call `found` with each heading: where it starts, its
 * first line's number, its level and its source (the words with their marks, before trimming).
 */
function scanHeadings(
  text: string,
  from: number,
  found: (start: number, line: number, level: number, inline: string) => void,
): void {
  let fence: { ch: string; len: number } | null = null;
  // 'para': in a paragraph (which an underline makes a heading); 'other': in a list, a quote or indented code.
  let state: 'none' | 'para' | 'other' = 'none';
  let para = { start: 0, line: 0, lines: [] as string[] };
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < from; i = text.indexOf('\n', i + 1)) n++;
  for (let pos = from; pos < text.length; n++) {
    const nl = text.indexOf('\n', pos);
    const stop = nl < 0 ? text.length : nl;
    const line = text.charCodeAt(stop - 1) === 13 ? text.slice(pos, stop - 1) : text.slice(pos, stop);
    const at = pos;
    pos = stop + 1;
    if (fence) {
      const f = FENCE.exec(line);
      if (f && f[1][0] === fence.ch && f[1].length >= fence.len && !line.slice(f[0].length).trim()) fence = null;
      continue;
    }
    // Most lines begin (after at most three spaces) with a letter: none of the patterns below can
    // match them, and they are blank only if they are not. Only the others are tried one by one.
    if (!plainLine(line)) {
      if (!line.trim()) {
        state = 'none';
        continue;
      }
      const f = FENCE.exec(line);
      if (f) {
        fence = { ch: f[1][0], len: f[1].length };
        state = 'none';
        continue;
      }
      const atx = ATX.exec(line);
      if (atx) {
        found(at, n, atx[1].length, atx[2].trim().replace(/(?:^|[ \t]+)#+$/, ''));
        state = 'none';
        continue;
      }
      const under = state === 'para' ? UNDERLINE.exec(line) : null;
      if (under) {
        found(para.start, para.line, under[1][0] === '=' ? 1 : 2, para.lines.join('\n'));
        state = 'none';
        continue;
      }
      if (RULE.test(line)) {
        state = 'none';
        continue;
      }
      if (OTHER_BLOCK.test(line) || (state === 'none' && INDENTED.test(line))) {
        state = 'other';
        continue;
      }
    }
    if (state === 'none') {
      state = 'para';
      para = { start: at, line: n, lines: [line] };
    } else if (state === 'para') para.lines.push(line);
  }
}

/** The text's sections from `from` on, in the order of their headings (a section holds the ones under it). */
export function sectionsOf(text: string, from = 0): Section[] {
  // Each heading becomes its section in place (they are this call's own objects).
  const hs = headingsOf(text, from) as Section[];
  // From the last heading back, `later` holds the headings that may still end an earlier one:
  // each lower than the one below it in the stack. A heading ends at the first of them of its
  // level or higher, and hides the lower ones from every heading before it. Linear in the headings.
  const later: Section[] = [];
  for (let i = hs.length - 1; i >= 0; i--) {
    while (later.length && later[later.length - 1].level > hs[i].level) later.pop();
    hs[i].end = later.length ? later[later.length - 1].start : text.length;
    later.push(hs[i]);
  }
  return hs;
}

/** The answer for an anchor that names no section of the text (404). */
export const noSection = () =>
  notFound('section_not_found', 'There is no section with this anchor in the current text.');

/** The section with this anchor, or null. */
export function findSection(text: string, anchor: string, from = 0): Section | null {
  return sectionsOf(text, from).find((s) => s.id === anchor) ?? null;
}

/** The section's text as an edit form shows it: its heading and body, without the blank lines after it. */
export const sectionText = (text: string, s: Section): string => text.slice(s.start, s.end).trimEnd() + '\n';

/**
 * The whole text with one section replaced by `replacement`. The replacement must begin with a
 * heading of the section's own level (its words may change) and hold no other heading of that
 * level or higher (400 `section_heading`, `section_outline`): the outline around it stays as it
 * is. Blank lines around the replacement are the section's own, as before (one more when its
 * last paragraph would otherwise join an underlined heading after it); and a replacement that
 * would change how the rest of the text reads (a code fence it leaves open) is refused (400
 * `section_spills`). An anchor that names no section is 404 `section_not_found`.
 */
export function spliceSection(text: string, anchor: string, replacement: string, from = 0): string {
  const all = sectionsOf(text, from);
  const s = all.find((x) => x.id === anchor);
  if (!s) throw noSection();
  const old = text.slice(s.start, s.end);
  const tail = old.slice(old.trimEnd().length);
  const body = replacement.replace(/^(?:[ \t]*\r?\n)+/, '').trimEnd();
  const own = outlineOf(body);
  const hashes = '#'.repeat(s.level);
  if (!own.length || own[0] !== 0 || own[1] !== s.level) {
    throw invalid(
      'section_heading',
      `The section must begin with its heading, of level ${s.level} (“${hashes} …”); edit the whole text to move or remove it.`,
    );
  }
  for (let k = 3; k < own.length; k += 2) {
    if (own[k] <= s.level)
      throw invalid(
        'section_outline',
        `A heading inside the section must be of a lower level than its own (more than ${s.level} “#”); edit the whole text to add a section beside it.`,
      );
  }
  // The headings around the section must be read as before, moved by the change in length. A
  // paragraph that now ends right above an underlined heading would join it: a blank line keeps them apart.
  const expected = (shift: number) => {
    const out: number[] = [];
    for (const h of all) if (h.start < s.start) out.push(h.start, h.level);
    for (let k = 0; k < own.length; k += 2) out.push(own[k] + s.start, own[k + 1]);
    for (const h of all) if (h.start >= s.end) out.push(h.start + shift, h.level);
    return out;
  };
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  for (const gap of /\n[ \t]*\n/.test(tail) || s.end === text.length ? [tail] : [tail, tail + '\n']) {
    const next = text.slice(0, s.start) + body + gap + text.slice(s.end);
    if (same(outlineOf(next, from), expected(body.length + gap.length - old.length))) return next;
  }
  throw invalid(
    'section_spills',
    'The new section would change how the text around it reads (a code block left open?); close what it opens.',
  );
}
