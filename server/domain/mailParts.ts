/**
 * The pieces of a mail's body that have a plain-text form and an HTML form of their own: what
 * a member wrote (markdown, rendered by the renderer the caller passes in), a quoted passage
 * or comment, and the changed passages of a text as a compact word diff. Pure: the diff comes
 * in as `Change[]` (domain/diff.ts, the one diff), the markdown renderer as a function.
 */
import { foldParagraphs, type Change } from './diff.js';

/** A paragraph of a mail: plain text (escaped into the HTML part), or both forms, made here. */
export type Part = string | { text: string; html: string };

/** Markdown to safe HTML (the renderer the pages use: util/markdown.ts). */
export type Markdown = (text: string) => string;

export const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** One paragraph of plain text as HTML: escaped, its line breaks kept. */
export const paragraph = (text: string) => `<p>${esc(text).replace(/\n/g, '<br>')}</p>`;

/**
 * The most of a member's text a mail carries (a comment, a rationale, a summary, a quoted
 * comment): 2,000 UTF-16 units are at most 6 KB of UTF-8, under the 8 KiB the pages render on
 * the event loop, so rendering it inside a store write is always the quick kind. The page
 * has the rest.
 */
export const MAIL_PROSE = 2000;

/** `s` cut to at most `max` UTF-16 units (never inside a surrogate pair), with "…" when cut. */
export function clip(s: string, max = MAIL_PROSE): string {
  if (s.length <= max) return s;
  const end = /[\uD800-\uDBFF]/.test(s[max - 1]) ? max - 1 : max;
  return `${s.slice(0, end)}…`;
}

/** What a member wrote, in both forms: as written in the text part, rendered in the HTML part. */
export function prose(markdown: Markdown, text: string): { text: string; html: string } {
  const cut = clip(text.trim());
  return { text: cut, html: markdown(cut) };
}

const QUOTE_STYLE = 'margin:0 0 1em;padding-left:.75em;border-left:3px solid #d0d7de;color:#444';

/** A quotation under a line that says what it is: `> ` lines in text, a blockquote in HTML. */
export function quoted(intro: string, quote: { text: string; html: string }): Part {
  const lines = quote.text.split('\n').map((l) => (l ? `> ${l}` : '>'));
  return {
    text: `${intro}\n${lines.join('\n')}`,
    html: `${paragraph(intro)}<blockquote style="${QUOTE_STYLE}">${quote.html}</blockquote>`,
  };
}

/** A passage of a document (markdown source, quoted as written, not rendered). */
export const passage = (text: string) => {
  const cut = clip(text.trim());
  return { text: cut, html: paragraph(cut) };
};

/** Unchanged text kept around a change, in characters, on each side. */
const CONTEXT = 80;
/** How wide a line is counted (a longer one counts as as many lines as a client wraps it into). */
const WIDTH = 78;
/** The changed passages a mail shows, in lines, before "…and more". */
export const DIFF_LINES = 40;

const INS_STYLE = 'background:#dafbe1;color:#116329;text-decoration:underline';
const DEL_STYLE = 'background:#ffebe9;color:#82071e;text-decoration:line-through';
const DIFF_STYLE = 'margin:0 0 1em;padding-left:.75em;border-left:3px solid #d0d7de';

/** Lines `text` takes in a mail client that wraps at WIDTH. */
const lineCount = (text: string) => text.split('\n').reduce((n, l) => n + Math.max(1, Math.ceil(l.length / WIDTH)), 0);

/** The start of `s`, about `n` characters, cut after a word. */
function headOf(s: string, n: number): string {
  if (s.length <= n) return s;
  const cut = s.lastIndexOf(' ', n);
  return s.slice(0, cut > n / 2 ? cut : n);
}
/** The end of `s`, about `n` characters, cut before a word. */
function tailOf(s: string, n: number): string {
  if (s.length <= n) return s;
  const cut = s.indexOf(' ', s.length - n);
  return s.slice(cut >= 0 && cut < s.length - n / 2 ? cut + 1 : s.length - n);
}

/**
 * One changed paragraph, compact: its outer blank space dropped, and unchanged text kept only
 * near the changes (a long unchanged stretch between two changes keeps both of its ends).
 */
function compact(parts: Change[]): Change[] {
  const out = parts.map((c) => ({ ...c }));
  out[0].text = out[0].text.replace(/^\s+/, '');
  out[out.length - 1].text = out[out.length - 1].text.replace(/\s+$/, '');
  const kept = out.filter((c) => c.text);
  return kept.map((c, i) => {
    if (c.op !== 'equal' || c.text.length <= 2 * CONTEXT) return c;
    if (i === 0) return { op: 'equal', text: `…${tailOf(c.text, CONTEXT)}` };
    if (i === kept.length - 1) return { op: 'equal', text: `${headOf(c.text, CONTEXT)}…` };
    return { op: 'equal', text: `${headOf(c.text, CONTEXT)} … ${tailOf(c.text, CONTEXT)}` };
  });
}

const asText = (c: Change) => (c.op === 'equal' ? c.text : c.op === 'delete' ? `[-${c.text}-]` : `{+${c.text}+}`);
function asHtml(c: Change): string {
  const t = esc(c.text).replace(/\n/g, '<br>');
  return c.op === 'equal'
    ? t
    : c.op === 'delete'
      ? `<del style="${DEL_STYLE}">${t}</del>`
      : `<ins style="${INS_STYLE}">${t}</ins>`;
}

/** The first changes of a paragraph that fit in `lines`, the last one cut to fit and marked "…". */
function fitInto(parts: Change[], lines: number): Change[] {
  const out: Change[] = [];
  for (const c of parts) {
    const before = out.map(asText).join('');
    if (lineCount(before + asText(c)) <= lines) {
      out.push(c);
      continue;
    }
    // The longest prefix that still fits (the count grows with the prefix): found by halving.
    let lo = 0;
    let hi = Math.min(c.text.length, lines * WIDTH);
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (lineCount(before + asText({ op: c.op, text: `${c.text.slice(0, mid)}…` })) <= lines) lo = mid;
      else hi = mid - 1;
    }
    if (lo > 0) out.push({ op: c.op, text: `${c.text.slice(0, lo)}…` });
    break;
  }
  return out;
}

/**
 * The changed passages of a text, from its diff: each paragraph with a change, compact, as
 * `[-removed-]{+added+}` in text and `<del>`/`<ins>` in HTML, under `intro`; at most `maxLines`
 * lines of them, then "…and more: <link>". Null when nothing visible changed.
 */
export function changedPassages(changes: Change[], intro: string, link: string, maxLines = DIFF_LINES): Part | null {
  const blocks = foldParagraphs(changes)
    .filter((b) => b.kind === 'changed')
    .map((b) => compact(b.parts))
    .filter((parts) => parts.some((c) => c.op !== 'equal'));
  if (!blocks.length) return null;
  const shown: Change[][] = [];
  let used = 0;
  let more = false;
  for (const parts of blocks) {
    const room = maxLines - used - (shown.length ? 1 : 0);
    const need = lineCount(parts.map(asText).join(''));
    if (need <= room) {
      shown.push(parts);
      used += need + (shown.length > 1 ? 1 : 0);
      continue;
    }
    more = true;
    // Part of a paragraph only where it is worth reading (or when it is the first).
    const fit = room >= 3 || !shown.length ? fitInto(parts, Math.max(1, room)) : [];
    if (fit.some((c) => c.op !== 'equal')) shown.push(fit);
    break;
  }
  const text = [intro, ...shown.map((parts) => parts.map(asText).join('')), ...(more ? [`…and more: ${link}`] : [])];
  const html =
    paragraph(intro) +
    (shown.length
      ? `<div style="${DIFF_STYLE}">${shown.map((parts) => `<p>${parts.map(asHtml).join('')}</p>`).join('')}</div>`
      : '') +
    (more ? `<p>…and more: <a href="${esc(link)}">${esc(link)}</a></p>` : '');
  return { text: text.join('\n\n'), html };
}
