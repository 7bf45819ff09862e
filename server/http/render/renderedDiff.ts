/**
 * The rendered diff (issue 14): both versions rendered as a reader sees them (markdown-it,
 * sanitised, front matter as a table, through `renderWithFrontMatter` of util/documentHtml.ts), then compared block by block and word by word, and shown
 * as formatted text with `<ins>` and `<del>` — bold stays bold, links stay links, list items
 * stay items, table cells and headings are compared word by word.
 *
 * How: the two sanitised HTML texts are read into small trees (the sanitiser's output is
 * well-formed, from a short list of tags, with `<` always escaped in text). Blocks are aligned
 * by their exact HTML (`matchSequences`); the blocks left over are paired by words in common
 * (`pairBySimilarity`); a pair of the same kind is compared inside — a container (list, list
 * item, quote, table, row) block by block again, a block of text (paragraph, heading, cell,
 * code) word by word (`matchWords`), where a word's key carries the formatting around it, so
 * that making a word bold or changing a link's address shows as a change. A block with no
 * counterpart is shown whole, marked `class="ins"` or `class="del"`, its text in `<ins>`/`<del>`.
 *
 * Valid and safe by construction: what is written is the sanitised tags and text themselves,
 * whole (an entity is never cut), plus `<ins>`, `<del>` and a `class` on a sanitised block tag;
 * `<ins>`/`<del>` only ever hold text and inline tags, inside a block that takes text, never a
 * block; and the tags written are those of the new text (with whole, balanced runs of the old
 * one's), so every element that opens is closed. Pure; cost about that of rendering both texts
 * plus the diff (bounded as the prose diff is).
 */
import { matchSequences, matchWords, pairBySimilarity, wordSimilarity } from '../../domain/diff.js';
import { renderWithFrontMatter } from '../../util/documentHtml.js';
import { shiftHeadings, topHeading } from '../../util/markdown.js';

/**
 * One block of the page: changed blocks as they are; unchanged runs folded, with how many
 * blocks other than headings they hold and the headings of the sections they are in.
 */
export type RenderedDiffBlock =
  | { kind: 'changed'; html: string }
  | { kind: 'unchanged'; html: string; paragraphs: number; section: string | null; lastSection: string | null };

type Node = Element | string;
interface Element {
  tag: string;
  open: string;
  close: string;
  children: Node[];
}

/** Blocks whose content is text and inline tags: compared word by word. */
const TEXT_BLOCKS = new Set(['p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'td', 'th', 'pre']);
/** Blocks that hold blocks: compared block by block. */
const CONTAINERS = new Set(['ul', 'ol', 'li', 'blockquote', 'table', 'thead', 'tbody', 'tr']);
const VOID = new Set(['br', 'hr', 'img']);
/** A run of text and inline tags inside a container (the text of a tight list item). */
const RUN = '#run';

const TAG = /<(\/?)([a-z][a-z0-9]*)\b[^>]*>/g;

/** The tree of a sanitised HTML text. */
function parse(html: string): Element {
  const root: Element = { tag: '#root', open: '', close: '', children: [] };
  const stack: Element[] = [root];
  let at = 0;
  const text = (s: string) => {
    if (s) stack[stack.length - 1].children.push(s);
  };
  for (const m of html.matchAll(TAG)) {
    text(html.slice(at, m.index));
    at = m.index + m[0].length;
    const [whole, slash, tag] = m;
    if (slash) {
      // Close the innermost element of that name (the sanitiser's output is balanced).
      let k = stack.length - 1;
      while (k > 0 && stack[k].tag !== tag) k--;
      if (k > 0) {
        stack[k].close = whole;
        stack.length = k;
      }
    } else {
      const e: Element = { tag, open: whole, close: '', children: [] };
      stack[stack.length - 1].children.push(e);
      if (!VOID.has(tag) && !whole.endsWith('/>')) stack.push(e);
    }
  }
  text(html.slice(at));
  return root;
}

const html = (n: Node): string => (typeof n === 'string' ? n : n.open + n.children.map(html).join('') + n.close);

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };
/** The plain text of some HTML (tags dropped, entities decoded): for headings named in folds and for similarity. */
function textOf(h: string): string {
  return h
    .replace(/<[^>]*>/g, '')
    .replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e: string) =>
      e[0] === '#'
        ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)))
        : (ENTITIES[e] ?? m),
    );
}

const isBlock = (n: Node) =>
  typeof n !== 'string' && (TEXT_BLOCKS.has(n.tag) || CONTAINERS.has(n.tag) || n.tag === 'hr');

/** The units a container is compared by: its blocks, and runs of text and inline tags between them. */
function unitsOf(children: Node[]): Element[] {
  const out: Element[] = [];
  let run: Node[] = [];
  const flush = () => {
    if (run.some((n) => typeof n !== 'string' || n.trim())) out.push({ tag: RUN, open: '', close: '', children: run });
    run = [];
  };
  for (const n of children) {
    if (isBlock(n)) {
      flush();
      out.push(n as Element);
    } else run.push(n);
  }
  flush();
  return out;
}

/** A sanitised opening tag with a class (none of them has one: the sanitiser allows no class). */
const withClass = (open: string, cls: string) => open.replace(/\s*\/?>$/, (end) => ` class="${cls}"${end}`);

/** A block that is only on one side, shown whole: its blocks marked, its text in `<ins>`/`<del>`. */
function whole(e: Element, mark: 'ins' | 'del'): string {
  if (e.tag === RUN) return `<${mark}>${e.children.map(html).join('')}</${mark}>`;
  if (e.tag === 'hr') return withClass(e.open, mark);
  if (CONTAINERS.has(e.tag))
    return `${withClass(e.open, mark)}${unitsOf(e.children)
      .map((u) => whole(u, mark))
      .join('\n')}${e.close}`;
  const inner = e.children.map(html).join('');
  return `${withClass(e.open, mark)}${inner.trim() ? `<${mark}>${inner}</${mark}>` : inner}${e.close}`;
}

/** Compares the units of two containers; `out` gets each unit's HTML and whether it changed. */
function compareUnits(a: Element[], b: Element[], out: { html: string; changed: boolean; node: Element }[]): void {
  const keysA = a.map(html),
    keysB = b.map(html);
  const matched = matchSequences(keysA, keysB);
  let i = 0,
    j = 0;
  for (const [mi, mj] of [...matched, [a.length, b.length] as [number, number]]) {
    const ga = a.slice(i, mi),
      gb = b.slice(j, mj);
    const texts = (g: Element[]) => g.map((e) => textOf(html(e)));
    const sim = wordSimilarity(texts(ga), texts(gb));
    // Blocks of the same kind only; one block against one is always a pair (a reworded heading).
    const lone = ga.length === 1 && gb.length === 1 ? 0.2 : 0;
    const pairs = pairBySimilarity(ga.length, gb.length, (x, y) =>
      ga[x].tag === gb[y].tag ? Math.max(sim(x, y), lone) : 0,
    );
    let x = 0,
      y = 0;
    for (const [px, py] of [...pairs, [ga.length, gb.length] as [number, number]]) {
      for (; x < px; x++) out.push({ html: whole(ga[x], 'del'), changed: true, node: ga[x] });
      for (; y < py; y++) out.push({ html: whole(gb[y], 'ins'), changed: true, node: gb[y] });
      if (px < ga.length) out.push({ html: compareBlocks(ga[px], gb[py]), changed: true, node: gb[py] });
      x = px + 1;
      y = py + 1;
    }
    if (mi < a.length) out.push({ html: keysB[mj], changed: false, node: b[mj] });
    i = mi + 1;
    j = mj + 1;
  }
}

/** Two blocks of the same kind, compared inside. */
function compareBlocks(a: Element, b: Element): string {
  if (CONTAINERS.has(b.tag)) {
    const units: { html: string; changed: boolean; node: Element }[] = [];
    compareUnits(unitsOf(a.children), unitsOf(b.children), units);
    return `${b.open}\n${units.map((u) => u.html).join('\n')}\n${b.close}`;
  }
  if (b.tag === RUN || TEXT_BLOCKS.has(b.tag)) return b.open + compareText(a.children, b.children) + b.close;
  return `${whole(a, 'del')}\n${whole(b, 'ins')}`;
}

interface Token {
  html: string;
  /** What must be equal for two tokens to match: the token with the inline tags around it. */
  key: string;
  kind: 'text' | 'space' | 'open' | 'close' | 'void';
}

/** Text and inline tags as tokens: words, spaces, signs and entities whole; each tag one token. */
function tokens(nodes: Node[]): Token[] {
  const out: Token[] = [];
  const context: string[] = [];
  const walk = (n: Node) => {
    if (typeof n === 'string') {
      const where = context.join('');
      for (const t of n.match(/&[#a-z0-9]+;|[\p{L}\p{M}\p{N}_]+|\s+|[\s\S]/giu) ?? [])
        out.push({ html: t, key: `${where}|${t}`, kind: /^\s/u.test(t) ? 'space' : 'text' });
      return;
    }
    if (VOID.has(n.tag) || !n.close) {
      out.push({ html: n.open, key: context.join('') + n.open, kind: 'void' });
      return;
    }
    out.push({ html: n.open, key: context.join('') + n.open, kind: 'open' });
    context.push(n.open);
    n.children.forEach(walk);
    context.pop();
    out.push({ html: n.close, key: `${context.join('')}${n.open}${n.close}`, kind: 'close' });
  };
  nodes.forEach(walk);
  return out;
}

/** Whether a run of tokens opens and closes the same tags (so it can be wrapped whole). */
function balanced(run: Token[]): boolean {
  let depth = 0;
  for (const t of run) {
    if (t.kind === 'open') depth++;
    else if (t.kind === 'close' && --depth < 0) return false;
  }
  return depth === 0;
}

/** A changed run of one side: wrapped whole when balanced; else its text pieces wrapped, and (for the new side) its tags kept. */
function changedRun(run: Token[], mark: 'ins' | 'del'): string {
  if (!run.some((t) => t.kind === 'text' || t.kind === 'void'))
    return mark === 'ins' ? run.map((t) => t.html).join('') : '';
  if (balanced(run)) return `<${mark}>${run.map((t) => t.html).join('')}</${mark}>`;
  let s = '',
    text = '';
  const flush = () => {
    if (text.trim()) s += `<${mark}>${text}</${mark}>`;
    else if (mark === 'ins') s += text;
    text = '';
  };
  for (const t of run) {
    if (t.kind === 'text' || t.kind === 'space') text += t.html;
    else {
      flush();
      if (mark === 'ins') s += t.html;
    }
  }
  flush();
  return s;
}

/** The text of two blocks compared word by word (whitespace kept where it lies between matched words). */
function compareText(a: Node[], b: Node[]): string {
  const ta = tokens(a),
    tb = tokens(b);
  const wa = ta.flatMap((t, k) => (t.kind === 'space' ? [] : [k])),
    wb = tb.flatMap((t, k) => (t.kind === 'space' ? [] : [k]));
  const matched = matchWords(
    wa.map((k) => ta[k].key),
    wb.map((k) => tb[k].key),
    (k) => (ta[wa[k]].kind === 'text' ? ta[wa[k]].html.length : 1),
  );
  let s = '',
    i = 0,
    j = 0;
  for (const [mi, mj] of [...matched, [wa.length, wb.length] as [number, number]]) {
    const ni = mi < wa.length ? wa[mi] : ta.length,
      nj = mj < wb.length ? wb[mj] : tb.length;
    // Between two matched words: the spaces both sides start and end with are kept.
    let head = 0;
    while (i + head < ni && j + head < nj && ta[i + head].key === tb[j + head].key) head++;
    let tail = 0;
    while (ni - tail > i + head && nj - tail > j + head && ta[ni - 1 - tail].key === tb[nj - 1 - tail].key) tail++;
    s += tb
      .slice(j, j + head)
      .map((t) => t.html)
      .join('');
    s += changedRun(ta.slice(i + head, ni - tail), 'del');
    s += changedRun(tb.slice(j + head, nj - tail), 'ins');
    s += tb
      .slice(nj - tail, nj)
      .map((t) => t.html)
      .join('');
    if (mj < wb.length) s += tb[nj].html;
    i = ni + 1;
    j = nj + 1;
  }
  return s;
}

/**
 * The rendered diff of two markdown texts, headings moved `by` levels down: the changed
 * blocks, and each run of unchanged blocks folded with the heading of the section it is in
 * (and the last heading inside it, if it runs into later sections).
 */
export function renderedDiff(from: string, to: string, by: number): RenderedDiffBlock[] {
  // Front matter as a table; the highest heading of either text at level by + 1 (a text without
  // a "#" heading would otherwise skip a level under the page's).
  const htmlA = renderWithFrontMatter(from),
    htmlB = renderWithFrontMatter(to);
  const top = Math.min(topHeading(htmlA), topHeading(htmlB));
  const shift = top > 6 ? 0 : by + 1 - top;
  const a = parse(shiftHeadings(htmlA, shift)),
    b = parse(shiftHeadings(htmlB, shift));
  const units: { html: string; changed: boolean; node: Element }[] = [];
  compareUnits(unitsOf(a.children), unitsOf(b.children), units);
  const blocks: RenderedDiffBlock[] = [];
  let section: string | null = null;
  for (const u of units) {
    const heading = /^h[1-6]$/.test(u.node.tag) ? textOf(html(u.node)).trim() : null;
    const last = blocks[blocks.length - 1];
    if (u.changed) {
      if (last?.kind === 'changed') last.html += `\n${u.html}`;
      else blocks.push({ kind: 'changed', html: u.html });
    } else if (last?.kind === 'unchanged') {
      last.html += `\n${u.html}`;
      if (!heading) last.paragraphs++;
      if (heading) last.lastSection = heading;
    } else
      blocks.push({
        kind: 'unchanged',
        html: u.html,
        paragraphs: heading ? 0 : 1,
        section: heading ?? section,
        lastSection: heading ?? section,
      });
    if (heading) section = heading;
  }
  return blocks;
}

/**
 * One changed block as the two versions' columns of a side-by-side view: the old text with what
 * it lost (`<del>`, without the insertions), the new one with what it gained (`<ins>`, without
 * the deletions). `<ins>`/`<del>` never wrap blocks nor each other, so removing one kind whole
 * leaves the other's markup as it was.
 */
export function sidesOf(html: string): { left: string; right: string } {
  const without = (tag: 'ins' | 'del') => html.replace(new RegExp(`<${tag}\\b[^>]*>[\\s\\S]*?</${tag}>`, 'g'), '');
  return { left: without('ins'), right: without('del') };
}
