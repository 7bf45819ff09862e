/**
 * A published text as its own page shows it (issue 14, "documents as they are written"):
 * - YAML front matter as a small key/value table (or, when it is not simple `key: value`
 *   lines, as a code block), never as text or a heading;
 * - the page's one `<h1>` is the document's title from the store, so the text's own headings
 *   are moved to start at `<h2>` without skipping a level, and a leading heading that only
 *   repeats the title is left out;
 * - every heading has the `id` the caller gives for its line (domain/sections.ts: a slug of its
 *   words, de-duplicated — the anchor of its section, which the server can splice), and a text
 *   with at least TOC_MIN_HEADINGS headings gets a table of contents at the top;
 * - every top-level block but headings and rules is a numbered paragraph with a permalink
 *   (`#p-12`), so members can cite "paragraph 12".
 * The same markdown-it as everywhere, then sanitize-html with the rules of markdown.ts plus the
 * ids and classes made here (`sanitizeDocument` there). Linear in the text.
 */
import { frontMatter } from './frontMatter.js';
import { markdownIt, renderMarkdown, sanitize, sanitizeDocument, type Token } from './markdown.js';

/** A text with at least this many headings gets a table of contents. */
export const TOC_MIN_HEADINGS = 4;
/** At most this many entries in the contents, so a text of many headings gives a bounded page. */
const TOC_MAX = 300;
/**
 * At most this many numbered paragraphs (a text of more, such as 1 MB of one-letter lines, has
 * the rest unnumbered: each number adds a hundred bytes to the page).
 */
export const MAX_NUMBERED = 2000;
/** Headings down to this level (after moving) are listed in the table of contents. */
const TOC_DEPTH = 3;
/** The top-level blocks that get a paragraph number. */
const NUMBERED = new Set([
  'paragraph_open',
  'bullet_list_open',
  'ordered_list_open',
  'blockquote_open',
  'table_open',
  'fence',
  'code_block',
]);

const esc = (s: string) => markdownIt().utils.escapeHtml(s);

/** The words of an inline token, as a reader sees them. */
function inlineText(t: Token | undefined): string {
  return (t?.children ?? [])
    .map((c) => (c.type === 'text' || c.type === 'code_inline' ? c.content : c.type === 'softbreak' ? ' ' : ''))
    .join('');
}

const norm = (s: string) => s.replace(/\s+/g, ' ').trim().toLowerCase();

function html(content: string): Token {
  const md = markdownIt();
  const tok = new new md.core.State('', md, {}).Token('html_block', '', 0);
  tok.content = content;
  return tok;
}

/** The front matter's table (or code block when it is not simple key/value lines); `plain`: without classes or caption. */
function frontMatterHtml(entries: [string, string][] | null, raw: string, plain = false): string {
  if (!entries) return `<pre${plain ? '' : ' class="frontmatter"'}><code>${esc(raw)}</code></pre>\n`;
  if (!entries.length) return '';
  const th = plain ? '<th>' : '<th scope="row">';
  const rows = entries.map(([k, v]) => `<tr>${th}${esc(k)}</th><td>${esc(v)}</td></tr>`).join('');
  return plain
    ? `<table><tbody>${rows}</tbody></table>\n`
    : `<table class="frontmatter"><caption class="visually-hidden">About this document</caption><tbody>${rows}</tbody></table>\n`;
}

/**
 * The text as `renderMarkdown` shows it, but with its front matter as a plain table (or code
 * block) rather than a rule and a heading made of it: what the rendered diff compares.
 */
export function renderWithFrontMatter(text: string): string {
  const fm = frontMatter(text);
  if (!fm) return renderMarkdown(text);
  return sanitize(frontMatterHtml(fm.entries, fm.raw, true)) + renderMarkdown(text.slice(fm.end));
}

interface TocItem {
  level: number;
  id: string;
  text: string;
}

/** Nested lists of the headings (levels never skip: see renderDocument). */
function tocHtml(items: TocItem[], top: number): string {
  const shown = items.filter((i) => i.level <= TOC_DEPTH).slice(0, TOC_MAX);
  let out = '<nav class="toc" aria-label="Contents"><p class="toc-title">Contents</p><ol>';
  let cur = top;
  shown.forEach((item, k) => {
    if (item.level > cur) {
      out += '<ol>';
      cur++;
    } else {
      for (; item.level < cur; cur--) out += '</li></ol>';
      if (k) out += '</li>';
    }
    out += `<li><a href="#${item.id}">${esc(item.text)}</a>`;
  });
  out += '</li>';
  for (; cur > top; cur--) out += '</ol></li>';
  return `${out}</ol></nav>\n`;
}

/**
 * The source of each numbered paragraph of a text, in the order and under the numbers
 * `renderDocument` gives them (`p-1` is the first): the same blocks, found by markdown-it's
 * block pass alone (a few milliseconds for 250 KB; the inline pass is not needed to see them).
 */
export function numberedSources(text: string): string[] {
  const fm = frontMatter(text);
  const src = (fm ? text.slice(fm.end) : text).replace(/\r\n?/g, '\n').replace(/\0/g, '\uFFFD');
  const tokens: Token[] = [];
  const md = markdownIt();
  md.block.parse(src, md, {}, tokens);
  const lines = src.split('\n');
  const out: string[] = [];
  for (const t of tokens) {
    if (out.length >= MAX_NUMBERED) break;
    if (t.level !== 0 || t.nesting === -1 || !NUMBERED.has(t.type) || !t.map) continue;
    out.push(lines.slice(t.map[0], t.map[1]).join('\n').trim());
  }
  return out;
}

/**
 * A published text's HTML for its page, under the page's `<h1>` (the store's `title`). `ids`:
 * each heading's id by the number of its first line in `text` (0-based); a heading without one
 * has no id and is not in the contents.
 */
export function renderDocument(text: string, title: string, ids: ReadonlyMap<number, string>): string {
  const top = 2;
  const fm = frontMatter(text);
  const skipped = fm ? text.slice(0, fm.end).split('\n').length - 1 : 0;
  const env = {};
  const md = markdownIt();
  const tokens = md.parse(fm ? text.slice(fm.end) : text, env);
  if (tokens[0]?.type === 'heading_open' && norm(inlineText(tokens[1])) === norm(title)) tokens.splice(0, 3);

  // Headings: moved so the highest is h2, each at most one level under the one before.
  const min = tokens.reduce((m, t) => (t.type === 'heading_open' ? Math.min(m, Number(t.tag.slice(1))) : m), 6);
  const toc: TocItem[] = [];
  let prev = top - 1;
  tokens.forEach((t, i) => {
    if (t.type !== 'heading_open') return;
    const level = Math.min(6, Math.max(top, Math.min(Number(t.tag.slice(1)) - min + top, prev + 1)));
    prev = level;
    t.tag = `h${level}`;
    if (tokens[i + 2]?.type === 'heading_close') tokens[i + 2].tag = t.tag;
    const id = t.map ? ids.get(t.map[0] + skipped) : undefined;
    if (!id) return;
    t.attrSet('id', id);
    toc.push({ level, id, text: inlineText(tokens[i + 1]) });
  });

  // Paragraph numbers: each numbered top-level block in a <div id="p-N"> led by its permalink.
  const out: Token[] = [];
  let n = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.level !== 0 || t.nesting === -1 || !NUMBERED.has(t.type) || n >= MAX_NUMBERED) {
      out.push(t);
      continue;
    }
    n++;
    out.push(
      html(
        `<div class="para" id="p-${n}"><a class="pnum" href="#p-${n}"><span class="visually-hidden">Paragraph </span>${n}</a>`,
      ),
    );
    for (let depth = 0; i < tokens.length; i++) {
      out.push(tokens[i]);
      depth += tokens[i].nesting;
      if (depth <= 0) break;
    }
    out.push(html('</div>\n'));
  }

  const head =
    (fm ? frontMatterHtml(fm.entries, fm.raw) : '') + (toc.length >= TOC_MIN_HEADINGS ? tocHtml(toc, top) : '');
  return sanitizeDocument(head + md.renderer.render(out, md.options, env));
}
