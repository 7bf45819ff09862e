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
    let id = /^p-\d+$/.test(base) || used.has(base) ? '' : base;
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

/** The text's headings from `from` on (where its front matter ends), in order, each with its anchor. */
export function headingsOf(text: string, from = 0): Heading[] {
  const out: Heading[] = [];
  const idFor = uniqueIds();
  const push = (start: number, line: number, level: number, inline: string) => {
    const words = shownInline(inline.trim()).replace(/\s+/g, ' ').trim();
    out.push({ start, line, level, words, id: idFor(slugOf(words)) });
  };
  let fence: { ch: string; len: number } | null = null;
  // 'para': in a paragraph (which an underline makes a heading); 'other': in a list, a quote or indented code.
  let state: 'none' | 'para' | 'other' = 'none';
  let para = { start: 0, line: 0, lines: [] as string[] };
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < from; i = text.indexOf('\n', i + 1)) n++;
  for (let pos = from; pos < text.length; n++) {
    const nl = text.indexOf('\n', pos);
    const stop = nl < 0 ? text.length : nl;
    const line = text.slice(pos, stop).replace(/\r$/, '');
    const at = pos;
    pos = stop + 1;
    if (fence) {
      const f = FENCE.exec(line);
      if (f && f[1][0] === fence.ch && f[1].length >= fence.len && !line.slice(f[0].length).trim()) fence = null;
      continue;
    }
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
      push(at, n, atx[1].length, atx[2].trim().replace(/(?:^|[ \t]+)#+$/, ''));
      state = 'none';
      continue;
    }
    const under = state === 'para' ? UNDERLINE.exec(line) : null;
    if (under) {
      push(para.start, para.line, under[1][0] === '=' ? 1 : 2, para.lines.join('\n'));
      state = 'none';
    } else if (RULE.test(line)) state = 'none';
    else if (OTHER_BLOCK.test(line) || (state === 'none' && INDENTED.test(line))) state = 'other';
    else if (state === 'none') {
      state = 'para';
      para = { start: at, line: n, lines: [line] };
    } else if (state === 'para') para.lines.push(line);
  }
  return out;
}

/** The text's sections from `from` on, in the order of their headings (a section holds the ones under it). */
export function sectionsOf(text: string, from = 0): Section[] {
  const hs = headingsOf(text, from);
  return hs.map((h, i) => {
    const next = hs.slice(i + 1).find((o) => o.level <= h.level);
    return { ...h, end: next ? next.start : text.length };
  });
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
  const before = headingsOf(text, from);
  const s = sectionsOf(text, from).find((x) => x.id === anchor);
  if (!s) throw noSection();
  const old = text.slice(s.start, s.end);
  const tail = old.slice(old.trimEnd().length);
  const body = replacement.replace(/^(?:[ \t]*\r?\n)+/, '').trimEnd();
  const own = headingsOf(body);
  const hashes = '#'.repeat(s.level);
  if (!own.length || own[0].start !== 0 || own[0].level !== s.level) {
    throw invalid(
      'section_heading',
      `The section must begin with its heading, of level ${s.level} (“${hashes} …”); edit the whole text to move or remove it.`,
    );
  }
  if (own.slice(1).some((h) => h.level <= s.level)) {
    throw invalid(
      'section_outline',
      `A heading inside the section must be of a lower level than its own (more than ${s.level} “#”); edit the whole text to add a section beside it.`,
    );
  }
  // The headings around the section must be read as before, moved by the change in length. A
  // paragraph that now ends right above an underlined heading would join it: a blank line keeps them apart.
  const expect = (shift: number) =>
    JSON.stringify([
      ...before.filter((h) => h.start < s.start).map((h) => [h.start, h.level]),
      ...own.map((h) => [h.start + s.start, h.level]),
      ...before.filter((h) => h.start >= s.end).map((h) => [h.start + shift, h.level]),
    ]);
  for (const gap of /\n[ \t]*\n/.test(tail) || s.end === text.length ? [tail] : [tail, tail + '\n']) {
    const next = text.slice(0, s.start) + body + gap + text.slice(s.end);
    const found = headingsOf(next, from).map((h) => [h.start, h.level]);
    if (JSON.stringify(found) === expect(body.length + gap.length - old.length)) return next;
  }
  throw invalid(
    'section_spills',
    'The new section would change how the text around it reads (a code block left open?); close what it opens.',
  );
}
