/**
 * Word files (.docx) of published texts: a version as it reads, and the comparison of two
 * versions as a document whose changes are Word revisions (tracked changes) — every inserted
 * word a `w:ins`, every deleted one a `w:del`, by one author at one date — so a reader accepts,
 * rejects or reviews them in Word or LibreOffice as if a colleague had made them.
 *
 * The markdown is read by the project's own parser (util/markdown.ts's markdown-it, its token
 * stream) and mapped onto Word: headings 1–6, paragraphs, bullet and numbered lists (nested),
 * block quotes (Word's "Quote" style), code (monospace: "Code" and "Code Block" styles), tables,
 * bold, italic, strike-through, hard line breaks, links (http, https and mailto as hyperlinks;
 * others keep their text), images as their alt text. YAML front matter is shown as its lines.
 *
 * A comparison is built from the project's diff (domain/diff.ts), block by block
 * (`blockChanges`): blocks (a paragraph, a heading, a list item, a quote, a code block) equal in
 * both texts are matched first; the others are paired by likeness (same kind, enough words in
 * common) and word-diffed, or deleted and inserted whole. The two texts are then merged, each
 * inserted or deleted stretch wrapped in private-use characters that the markdown parser reads
 * as ordinary letters, and the token stream is written with those marks turned into revisions
 * (`mergeChanges` says how the merged text keeps the later text's structure). A paired block
 * whose word diff would split formatting markers between kept and changed words (so that the
 * merged text reads as neither side) is replaced whole instead. test/http/wordChanges.test.ts
 * checks the result as a property: with its changes accepted, the file reads as the later text.
 */
import {
  AlignmentType,
  DeletedTextRun,
  Document,
  ExternalHyperlink,
  HeadingLevel,
  type IParagraphOptions,
  InsertedTextRun,
  LevelFormat,
  Packer,
  Paragraph,
  type ParagraphChild,
  Table,
  TableCell,
  TableRow,
  TextRun,
  WidthType,
} from 'docx';
import { type Change, diffProse, matchSequences, pairBySimilarity, wordSimilarity } from '../../domain/diff.js';
import { markdownIt, type Token } from '../../util/markdown.js';

/** Who made the revisions and when (a comparison's later version's publication). */
export interface Revisions {
  author: string;
  /** ISO 8601. */
  date: string;
}

/**
 * The file's properties (Word's File › Properties). The text itself gets nothing added, so a
 * file downloaded, edited and uploaded again as a proposal changes only what its editor changed.
 */
export interface WordMeta {
  title: string;
  /** What the file is: which version, or which two versions compared. */
  description: string;
}

const INS = '\uE000';
const INS_END = '\uE001';
const DEL = '\uE002';
const DEL_END = '\uE003';
/** A line break deleted or inserted at the end of a line: where its paragraph ends, the paragraph mark is that revision. */
const BREAK_DEL = '\uE004';
const BREAK_INS = '\uE005';
const MARKS = /[\uE000-\uE005]/g;
const FENCE_LINE = /^[ \t]*(?:`{3,}|~{3,})/;
/** A line's block marker: heading, list item, quote (nested), or a code fence. */
const BLOCK_MARKER = /^(?:[ \t]*(?:#{1,6}[ \t]+|[-*+][ \t]+|\d{1,9}[.)][ \t]+|>[ \t]?|`{3,}|~{3,}))+/;
/** A thematic break or a setext underline: structure only. */
const RULE_LINE = /^[ \t]*(?:-{3,}|\*{3,}|_{3,}|={3,})[ \t]*$/;

/**
 * A text's blocks: a line that starts a paragraph, heading, list item, quote or code block, the
 * lines that continue it (all of a fenced code block), and the blank lines after it.
 */
export function textBlocks(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let fence: string | null = null;
  for (const line of text.match(/[^\n]*\n|[^\n]+$/g) ?? []) {
    const bare = line.replace(/\n$/, '');
    if (fence !== null) {
      cur += line;
      if (bare.trim().startsWith(fence)) fence = null;
      continue;
    }
    const blank = !bare.trim();
    const starts = !blank && (!cur || /\n[ \t]*\n$/.test(cur) || BLOCK_MARKER.test(bare) || RULE_LINE.test(bare));
    if (starts && cur) {
      out.push(cur);
      cur = '';
    }
    cur += line;
    const open = /^[ \t]*(`{3,}|~{3,})/.exec(bare);
    if (open) fence = open[1];
  }
  if (cur) out.push(cur);
  return out;
}

/** What kind of block a block is, by its first line's marker (a heading of a level, an item, a quote, code, a paragraph). */
const kindOf = (block: string) =>
  (BLOCK_MARKER.exec(block)?.[0] ?? '').replace(/\d+/g, '1').replace(/[ \t]/g, '') ||
  (RULE_LINE.test(block) ? 'rule' : 'text');

/**
 * A block's words with their formatting (bold, italic, strike, code, link), one side of a marked
 * text: what a reader sees of it, to check that a word diff inside a block keeps both sides.
 */
function styledWords(text: string, drop: 'ins' | 'del' | null): string {
  let out = '';
  let state: 'ins' | 'del' | null = null;
  for (const t of parseMarked(text)) {
    if (t.type !== 'inline') continue;
    const style = { b: 0, i: 0, s: 0, a: 0 };
    for (const c of t.children ?? []) {
      if (c.type === 'strong_open' || c.type === 'strong_close') style.b += c.nesting;
      else if (c.type === 'em_open' || c.type === 'em_close') style.i += c.nesting;
      else if (c.type === 's_open' || c.type === 's_close') style.s += c.nesting;
      else if (c.type === 'link_open' || c.type === 'link_close') style.a += c.nesting;
      const content =
        c.type === 'text'
          ? c.content
          : c.type === 'code_inline'
            ? `\u0001${c.content}\u0001`
            : c.type === 'softbreak'
              ? ' '
              : '';
      for (const ch of content) {
        if (ch === INS || ch === DEL) state = ch === INS ? 'ins' : 'del';
        else if (ch === INS_END || ch === DEL_END) state = null;
        else if (ch !== BREAK_DEL && ch !== BREAK_INS && !(state && state === drop))
          out += `${style.b > 0 ? 'b' : ''}${style.i > 0 ? 'i' : ''}${style.s > 0 ? 's' : ''}${style.a > 0 ? 'a' : ''}:${ch}`;
      }
    }
  }
  return out.replace(/(?:[bisa]*: )+/g, ' ').trim();
}

/**
 * The changes between two paired blocks: their word diff, when the merged text still reads as
 * each of them (formatting included); else the one's text deleted and the other's inserted
 * whole (behind their common block marker), as a diff that splits formatting markers between
 * kept and changed words would read as neither.
 */
function pairChanges(from: string, to: string): Change[] {
  // A code block is replaced whole: its lines are paragraphs of their own in Word.
  if (!FENCE_LINE.test(from)) {
    const words = diffProse(from, to);
    const merged = mergeChanges(words);
    const same = styledWords(merged, 'del') === styledWords(to, null);
    if (same && styledWords(merged, 'ins') === styledWords(from, null)) return words;
  }
  const ma = BLOCK_MARKER.exec(from)?.[0] ?? '';
  const mb = BLOCK_MARKER.exec(to)?.[0] ?? '';
  const marker = ma === mb && !FENCE_LINE.test(ma) ? ma : '';
  const out: Change[] = [];
  if (marker) out.push({ op: 'equal', text: marker });
  out.push({ op: 'delete', text: from.slice(marker.length) }, { op: 'insert', text: to.slice(marker.length) });
  return out.filter((c) => c.text);
}

/**
 * The changes from `from` to `to` block by block: equal blocks matched first, the others paired
 * by likeness (same kind, enough words in common) and word-diffed (domain/diff.ts), the rest
 * deleted or inserted whole. A change then never runs across blocks of different kinds, so the
 * merged text (`mergeChanges`) has the later text's structure.
 */
export function blockChanges(from: string, to: string): Change[] {
  // Each block's text, and the line breaks after it apart: blocks are matched by their text.
  const parts = (text: string) =>
    textBlocks(text).map((block) => {
      const sep = /\n\s*$/.exec(block)?.[0] ?? '';
      return { body: block.slice(0, block.length - sep.length), sep };
    });
  const a = parts(from);
  const b = parts(to);
  const out: Change[] = [];
  const push = (op: Change['op'], text: string) => {
    const last = out[out.length - 1];
    if (!text) return;
    if (last?.op === op) last.text += text;
    else out.push({ op, text });
  };
  /** The breaks after a kept or paired block: the common ones kept, the rest deleted or inserted. */
  const breaks = (x: string, y: string) => {
    let n = 0;
    while (n < x.length && x[n] === y[n]) n++;
    push('equal', x.slice(0, n));
    push('delete', x.slice(n));
    push('insert', y.slice(n));
  };
  let i = 0;
  let j = 0;
  const gap = (i1: number, j1: number) => {
    const sim = wordSimilarity(
      a.slice(i, i1).map((p) => p.body),
      b.slice(j, j1).map((p) => p.body),
    );
    const pairs = pairBySimilarity(
      i1 - i,
      j1 - j,
      (x, y) => (kindOf(a[i + x].body) === kindOf(b[j + y].body) ? sim(x, y) : 0),
      0.4,
    );
    let x = 0;
    let y = 0;
    for (const [px, py] of [...pairs, [i1 - i, j1 - j] as [number, number]]) {
      for (; x < px; x++) push('delete', a[i + x].body + a[i + x].sep);
      for (; y < py; y++) push('insert', b[j + y].body + b[j + y].sep);
      if (px < i1 - i && py < j1 - j) {
        const [p, q] = [a[i + x++], b[j + y++]];
        for (const c of pairChanges(p.body, q.body)) push(c.op, c.text);
        breaks(p.sep, q.sep);
      }
    }
  };
  for (const [ai, bj] of matchSequences(
    a.map((p) => p.body),
    b.map((p) => p.body),
  )) {
    gap(ai, bj);
    push('equal', a[ai].body);
    breaks(a[ai].sep, b[bj].sep);
    i = ai + 1;
    j = bj + 1;
  }
  gap(a.length, b.length);
  return out;
}

/**
 * The same changes with every inserted or deleted stretch that begins with line breaks moved
 * past them where the kept text after it begins with the same breaks (`A[-\n\nB-]\n\nC` →
 * `A\n\n[-B\n\n-]C`): a deleted paragraph then takes its own paragraph mark with it, not the
 * mark of the paragraph before it (which would leave that one with the deleted one's style).
 */
function slideBreaks(changes: readonly Change[]): Change[] {
  const out = changes.map((c) => ({ ...c }));
  for (let k = 1; k < out.length; k++) {
    const [prev, c, next] = [out[k - 1], out[k], out[k + 1]];
    if (c.op === 'equal' || prev.op !== 'equal' || next?.op !== 'equal') continue;
    let n = 0;
    while (n < c.text.length && c.text[n] === '\n' && next.text[n] === '\n') n++;
    if (!n) continue;
    prev.text += c.text.slice(0, n);
    c.text = c.text.slice(n) + c.text.slice(0, n);
    next.text = next.text.slice(n);
  }
  return out;
}

/** Deleted text's emphasis, code and link markers as the characters they are (see `mergeChanges`). */
const literal = (s: string) => s.replace(/[*_~`[\]<]/g, '\\$&');

/**
 * Inserted text between its marks, its leading and trailing emphasis markers outside them: they
 * show nothing themselves, and beside kept markers they must read as one run (`*` + `*group*` +
 * `*` is `**group**`).
 */
function inserted(s: string): string {
  const [, lead, middle, tail] = /^([*_~`]*)([\s\S]*?)([*_~`]*)$/.exec(s)!;
  return lead + (middle ? INS + middle + INS_END : '') + tail;
}

/**
 * The two texts of a diff as one markdown text, with every inserted stretch between INS and
 * INS_END and every deleted one between DEL and DEL_END, so that the text's structure is the
 * later text's:
 * - a line's block marker (`## `, `- `, `1. `, `> `, a fence, a rule) that is inserted stays
 *   outside the marks, so the line is a heading or an item as the later text has it; one that is
 *   deleted stays outside only when its whole line is deleted (the line is shown as the heading or
 *   item it was, all of it deleted) and it is not a code fence, and is otherwise marked, so it
 *   shapes nothing;
 * - a changed line break at the end of a line is noted there (BREAK_DEL, BREAK_INS), so the
 *   paragraph that ends there has its paragraph mark tracked: accepting a deleted break joins two
 *   paragraphs, as the later text has them;
 * - deleted emphasis, code and link markers are shown as the deleted characters they are: read
 *   as markup, a deleted `*` could still make kept words italic (`*rule*` → `rule`), a deleted
 *   `[`…`](…)` a kept word a link. Markers inserted
 *   around kept words make them bold or italic, as the later text has them, with no revision.
 */
export function mergeChanges(changes: readonly Change[]): string {
  let out = '';
  for (const c of slideBreaks(changes)) {
    const text = c.text.replace(MARKS, '');
    if (!text) continue;
    if (c.op === 'equal') {
      out += text;
      continue;
    }
    const ins = c.op === 'insert';
    // After a line whose break changed, a change starts a block of its own: read as the lazy
    // continuation of that line, it would join a deleted list item or paragraph (a blank line
    // adds no text; the paragraph marks carry the change).
    if (/[\uE004\uE005]\n$/.test(out)) out += '\n';
    const mark = (s: string) => (s ? (ins ? inserted(s) : DEL + literal(s) + DEL_END) : '');
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      if (i > 0) {
        // The line before this break ends with it: note that the break is changed, unless the
        // line is blank or a code fence (whose closing line may hold nothing else).
        const last = out.slice(out.lastIndexOf('\n') + 1).replace(MARKS, '');
        if (last.trim() && !FENCE_LINE.test(last) && !RULE_LINE.test(last)) out += ins ? BREAK_INS : BREAK_DEL;
        out += '\n';
      }
      const lineStart = out.lastIndexOf('\n') + 1;
      const before = out.slice(lineStart);
      const complete = i < lines.length - 1;
      if (before === '' && ins && RULE_LINE.test(line)) {
        out += line;
        return;
      }
      // An inserted marker goes before what was deleted at the start of its line.
      const startsLine = before === '' || (ins && /^(?:\uE002[^\uE003]*\uE003)+$/.test(before));
      // A deleted fence is marked even on a line of its own: it would shape the lines after it.
      const keep = ins || (complete && !FENCE_LINE.test(line));
      const marker = startsLine && keep ? (BLOCK_MARKER.exec(line)?.[0] ?? '') : '';
      if (!marker) {
        out += mark(line);
        return;
      }
      // A fence's line holds nothing but its info string: what was deleted before it keeps a line of its own.
      if (before && FENCE_LINE.test(marker)) out += `\n${marker}${mark(line.slice(marker.length))}`;
      else out = out.slice(0, lineStart) + marker + before + mark(line.slice(marker.length));
    });
  }
  return out;
}

const HEADINGS = {
  h1: HeadingLevel.HEADING_1,
  h2: HeadingLevel.HEADING_2,
  h3: HeadingLevel.HEADING_3,
  h4: HeadingLevel.HEADING_4,
  h5: HeadingLevel.HEADING_5,
  h6: HeadingLevel.HEADING_6,
} as const;

const MONO = 'Courier New';
const INDENT = 720; // twips: half an inch

/**
 * The styles of quotes and code, by the names Word and mammoth (util/wordIn.ts) know them by,
 * so a file read back into Ratify keeps its quotes and code.
 */
const STYLES = {
  paragraphStyles: [
    {
      id: 'Quote',
      name: 'Quote',
      basedOn: 'Normal',
      next: 'Normal',
      paragraph: { indent: { left: INDENT } },
      run: { italics: true },
    },
    {
      id: 'CodeBlock',
      name: 'Code Block',
      basedOn: 'Normal',
      paragraph: { spacing: { before: 0, after: 0 } },
      run: { font: MONO },
    },
  ],
  characterStyles: [{ id: 'Code', name: 'Code', run: { font: MONO } }],
};

/** Numbered lists: decimal at every level, each level indented half an inch more; one definition per first number. */
const numbering = (starts: Set<number>) => ({
  config: [...starts].map((start) => ({
    reference: `numbered-${start}`,
    levels: Array.from({ length: 9 }, (_, level) => ({
      level,
      format: LevelFormat.DECIMAL,
      text: `%${level + 1}.`,
      start: level === 0 ? start : 1,
      alignment: AlignmentType.START,
      style: { paragraph: { indent: { left: INDENT * (level + 1), hanging: 360 } } },
    })),
  })),
});

interface RunStyle {
  bold?: boolean;
  italics?: boolean;
  strike?: boolean;
  mono?: boolean;
  link?: boolean;
}

/** A link Word can follow (and mammoth reads back): http(s) and mailto. */
const ABSOLUTE = /^(https?|mailto):/i;

/** One revision: its number in the file, who, when. */
type RevisionMark = { id: number; author: string; date: string };

/** Turns marked text into runs: plain, inserted or deleted, the state carried from block to block. */
class Runs {
  private state: 'ins' | 'del' | null = null;
  private id = 1;
  /** What the current paragraph's text is made of. */
  private made = { plain: false, ins: false, del: false };
  /** A changed line break seen after the paragraph's last text so far. */
  private changedBreak: 'ins' | 'del' | null = null;
  constructor(private readonly revisions: Revisions | null) {}

  /** A new paragraph begins. */
  begin(): this {
    this.made = { plain: false, ins: false, del: false };
    this.changedBreak = null;
    return this;
  }

  /**
   * The paragraph's own mark (its end), as a revision when all its text is inserted or all of
   * it deleted: accepting a deleted paragraph then removes it whole, not leaving it empty.
   */
  paragraphMark(): { run?: { insertion: RevisionMark } | { deletion: RevisionMark } } {
    const { plain, ins, del } = this.made;
    if (!this.revisions) return {};
    const whole = !plain && ins !== del ? (ins ? 'ins' : 'del') : null;
    const kind = whole ?? this.changedBreak;
    if (!kind) return {};
    const change = { id: this.id++, author: this.revisions.author, date: this.revisions.date };
    return { run: kind === 'ins' ? { insertion: change } : { deletion: change } };
  }

  /** The runs of `text` in `style`; `breakFirst` starts them on a new line. */
  of(text: string, style: RunStyle, breakFirst = false): ParagraphChild[] {
    const out: ParagraphChild[] = [];
    let pendingBreak = breakFirst ? 1 : 0;
    let start = 0;
    const flush = (end: number) => {
      const piece = text.slice(start, end);
      if (!piece && !pendingBreak) return;
      out.push(this.run(piece, style, pendingBreak));
      pendingBreak = 0;
    };
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (ch < INS || ch > BREAK_INS) continue;
      flush(i);
      start = i + 1;
      if (ch === BREAK_DEL || ch === BREAK_INS) this.changedBreak = ch === BREAK_INS ? 'ins' : 'del';
      else this.state = ch === INS ? 'ins' : ch === DEL ? 'del' : null;
    }
    flush(text.length);
    return out;
  }

  /**
   * A soft line break (a space in Word): deleted or inserted when the line break it stands for
   * was, else in the current revision state.
   */
  softBreak(style: RunStyle): ParagraphChild[] {
    const kind = this.changedBreak;
    if (!kind || !this.revisions) return this.of(' ', style);
    const state = this.state;
    this.state = kind;
    const run = this.run(' ', style, 0);
    this.state = state;
    return [run];
  }

  /** A line break (in the current revision state). */
  lineBreak(): ParagraphChild {
    return this.run('', {}, 1);
  }

  private run(text: string, style: RunStyle, breaks: number): ParagraphChild {
    if (text.trim()) {
      this.made[this.state && this.revisions ? this.state : 'plain'] = true;
      this.changedBreak = null;
    }
    const opts = {
      text,
      bold: style.bold || undefined,
      italics: style.italics || undefined,
      strike: style.strike || undefined,
      style: style.mono ? 'Code' : style.link ? 'Hyperlink' : undefined,
      break: breaks || undefined,
    };
    if (this.state && this.revisions) {
      const change = { id: this.id++, author: this.revisions.author, date: this.revisions.date };
      return this.state === 'ins'
        ? new InsertedTextRun({ ...opts, ...change })
        : new DeletedTextRun({ ...opts, ...change });
    }
    return new TextRun(opts);
  }
}

/** A link's address as the later text has it: the deleted stretches go, the inserted ones stay. */
const newSide = (href: string) => href.replace(/\uE002[^\uE003]*(\uE003|$)/g, '').replace(MARKS, '');

/**
 * The token stream of a marked text: the project's parser, its link addresses taken as the
 * later text has them before it normalises them (it would percent-encode the marks, or turn a
 * host name with marks into punycode). The parse is synchronous, so no other caller sees the change.
 */
function parseMarked(text: string): Token[] {
  const md = markdownIt();
  const normalize = md.normalizeLink;
  md.normalizeLink = (url: string) => normalize.call(md, newSide(url));
  try {
    return md.parse(text, {});
  } finally {
    md.normalizeLink = normalize;
  }
}

/** The runs of an inline token's children; an absolute link is a Word hyperlink around its runs. */
function inlineRuns(children: readonly Token[], runs: Runs): ParagraphChild[] {
  const top: ParagraphChild[] = [];
  let out = top;
  let link: string | null = null;
  const style = { bold: 0, italics: 0, strike: 0 };
  const now = (): RunStyle => ({
    bold: style.bold > 0,
    italics: style.italics > 0,
    strike: style.strike > 0,
    link: link !== null,
  });
  for (const t of children) {
    switch (t.type) {
      case 'text':
        out.push(...runs.of(t.content, now()));
        break;
      case 'code_inline':
        out.push(...runs.of(t.content, { ...now(), mono: true }));
        break;
      case 'softbreak':
        out.push(...runs.softBreak(now()));
        break;
      case 'hardbreak':
        out.push(runs.lineBreak());
        break;
      case 'strong_open':
      case 'strong_close':
        style.bold += t.nesting;
        break;
      case 'em_open':
      case 'em_close':
        style.italics += t.nesting;
        break;
      case 's_open':
      case 's_close':
        style.strike += t.nesting;
        break;
      case 'image':
        out.push(...runs.of((t.children ?? []).map((c) => c.content).join(''), now()));
        break;
      case 'link_open': {
        const href = String(t.attrGet('href') ?? '');
        if (link === null && ABSOLUTE.test(href)) {
          link = href;
          out = [];
        }
        break;
      }
      case 'link_close':
        if (link !== null) {
          top.push(new ExternalHyperlink({ link, children: out }));
          out = top;
          link = null;
        }
        break;
      default:
      // other links keep their text (the text tokens between link_open and link_close); raw HTML is off
    }
  }
  return top;
}

/** What each paragraph was made with, so the last one can be made again (see `blocks`). */
const optionsOf = new WeakMap<Paragraph, IParagraphOptions>();
const para = (opts: IParagraphOptions): Paragraph => {
  const p = new Paragraph(opts);
  optionsOf.set(p, opts);
  return p;
};

/** Lines of code or front matter: one paragraph a line in the "Code Block" style (monospace). */
function codeParagraphs(text: string, runs: Runs, indent: number): Paragraph[] {
  return text
    .replace(/\n$/, '')
    .split('\n')
    .map((line) => {
      const children = runs.begin().of(line, {});
      return para({
        style: 'CodeBlock',
        indent: indent ? { left: indent } : undefined,
        children,
        ...runs.paragraphMark(),
      });
    });
}

/** Splits off front matter (`---` … `---` at the top, fences included, marks ignored in them). */
function splitFrontMatter(text: string): { front: string | null; body: string } {
  const lines = text.split('\n');
  const bare = (l: string) => l.replace(MARKS, '').trim();
  if (bare(lines[0] ?? '') !== '---') return { front: null, body: text };
  for (let i = 1; i < Math.min(lines.length, 201); i++) {
    if (bare(lines[i]) === '---')
      return { front: lines.slice(0, i + 1).join('\n'), body: lines.slice(i + 1).join('\n') };
  }
  return { front: null, body: text };
}

/** The reference of numbered lists that start at `start` (1 unless written `3.`), noted in `starts`. */
function numberedList(start: number, starts: Set<number>): string {
  starts.add(start);
  return `numbered-${start}`;
}

/** The document's blocks from a (possibly marked) markdown text; the numbered lists' starts go in `starts`. */
function blocks(text: string, runs: Runs, starts: Set<number>): (Paragraph | Table)[] {
  const out: (Paragraph | Table)[] = [];
  const { front, body } = splitFrontMatter(text);
  if (front !== null) out.push(...codeParagraphs(front, runs, 0));
  const tokens = parseMarked(body);
  const lists: { ordered: boolean; instance: number; start: number }[] = [];
  let instances = 0;
  let quotes = 0;
  /** The next paragraph opens a list item (it gets the bullet or number). */
  let itemStart = false;
  let heading: (typeof HEADINGS)[keyof typeof HEADINGS] | null = null;
  let table: { rows: ParagraphChild[][][]; row: ParagraphChild[][]; header: boolean } | null = null;

  const indent = () => INDENT * quotes + (lists.length && !itemStart ? INDENT * lists.length : 0);
  const paragraph = (children: ParagraphChild[]) => {
    const mark = runs.paragraphMark();
    const list = lists[lists.length - 1];
    const level = Math.min(8, lists.length - 1);
    if (list && itemStart) {
      itemStart = false;
      return para({
        children,
        ...mark,
        indent: quotes ? { left: INDENT * (quotes + level + 1) } : undefined,
        ...(list.ordered
          ? { numbering: { reference: numberedList(list.start, starts), level, instance: list.instance } }
          : { bullet: { level } }),
      });
    }
    const left = indent();
    if (quotes && !heading)
      return para({
        children,
        ...mark,
        style: 'Quote',
        indent: quotes > 1 || left > INDENT ? { left } : undefined,
      });
    return para({ children, ...mark, heading: heading ?? undefined, indent: left ? { left } : undefined });
  };

  for (const t of tokens) {
    switch (t.type) {
      case 'heading_open':
        heading = HEADINGS[t.tag as keyof typeof HEADINGS] ?? null;
        break;
      case 'heading_close':
        heading = null;
        break;
      case 'inline':
        if (table) table.row.push(inlineRuns(t.children ?? [], runs.begin()));
        else out.push(paragraph(inlineRuns(t.children ?? [], runs.begin())));
        break;
      case 'bullet_list_open':
      case 'ordered_list_open':
        lists.push({
          ordered: t.type === 'ordered_list_open',
          instance: ++instances,
          start: Math.max(0, Math.min(32767, Number(t.attrGet('start') ?? 1) || 1)),
        });
        break;
      case 'bullet_list_close':
      case 'ordered_list_close':
        lists.pop();
        break;
      case 'list_item_open':
        itemStart = true;
        break;
      case 'blockquote_open':
        quotes++;
        break;
      case 'blockquote_close':
        quotes--;
        break;
      case 'fence':
      case 'code_block':
        out.push(...codeParagraphs(t.content, runs, indent()));
        itemStart = false;
        break;
      case 'hr':
        out.push(new Paragraph({ thematicBreak: true, children: [] }));
        break;
      case 'table_open':
        table = { rows: [], row: [], header: true };
        break;
      case 'tr_open':
        if (table) table.row = [];
        break;
      case 'tr_close':
        if (table) table.rows.push(table.row);
        break;
      case 'table_close':
        if (table?.rows.length) out.push(wordTable(table.rows));
        table = null;
        break;
      default:
    }
  }
  // The document's last paragraph mark cannot be deleted (Word keeps it): a paragraph joined to
  // it keeps its words there.
  const last = out[out.length - 1];
  const opts = last instanceof Paragraph ? optionsOf.get(last) : undefined;
  if (opts?.run && 'deletion' in opts.run) out[out.length - 1] = new Paragraph({ ...opts, run: undefined });
  return out;
}

function wordTable(rows: ParagraphChild[][][]): Table {
  const columns = Math.max(...rows.map((r) => r.length));
  return new Table({
    width: { size: 100, type: WidthType.PERCENTAGE },
    rows: rows.map(
      (cells, i) =>
        new TableRow({
          tableHeader: i === 0,
          children: Array.from(
            { length: columns },
            (_, c) =>
              new TableCell({
                children: [new Paragraph({ children: cells[c] ?? [] })],
              }),
          ),
        }),
    ),
  });
}

async function pack(
  meta: WordMeta,
  body: (Paragraph | Table)[],
  starts: Set<number>,
  tracked: boolean,
): Promise<Uint8Array> {
  const doc = new Document({
    creator: 'Ratify',
    title: meta.title,
    description: meta.description,
    numbering: numbering(starts),
    styles: STYLES,
    // Further edits of a comparison are tracked too.
    features: tracked ? { trackRevisions: true } : undefined,
    sections: [{ children: body }],
  });
  return new Uint8Array(await Packer.toBuffer(doc));
}

/** A published text as a Word file. */
export function textDocx(text: string, meta: WordMeta): Promise<Uint8Array> {
  const starts = new Set<number>();
  return pack(meta, blocks(text.replace(MARKS, ''), new Runs(null), starts), starts, false);
}

/**
 * The comparison of two texts as a Word file whose insertions and deletions are tracked changes
 * by `revisions` (the changes block by block: `blockChanges`).
 */
export function changesDocx(from: string, to: string, meta: WordMeta, revisions: Revisions): Promise<Uint8Array> {
  const changes = blockChanges(from, to);
  const starts = new Set<number>();
  return pack(meta, blocks(mergeChanges(changes), new Runs(revisions), starts), starts, true);
}
