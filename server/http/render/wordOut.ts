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
 * A comparison is built from the prose diff (domain/diff.ts): the two texts are merged, each
 * inserted or deleted stretch wrapped in private-use characters that the markdown parser reads
 * as ordinary letters, and the token stream is written with those marks turned into revisions.
 * A line's block marker (`## `, `- `, `1. `, `> `, a fence) stays outside the marks, so an
 * inserted heading or list item keeps its structure and only its words are marked.
 */
import {
  AlignmentType,
  DeletedTextRun,
  Document,
  ExternalHyperlink,
  HeadingLevel,
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
import type { Change } from '../../domain/diff.js';
import { md, type Token } from '../../util/markdown.js';

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
const MARKS = /[\uE000-\uE003]/g;
/** A line's block marker: heading, list item, quote (nested), or a code fence. */
const BLOCK_MARKER = /^(?:[ \t]*(?:#{1,6}[ \t]+|[-*+][ \t]+|\d{1,9}[.)][ \t]+|>[ \t]?|`{3,}|~{3,}))+/;
/** A thematic break or a setext underline: structure only. */
const RULE_LINE = /^[ \t]*(?:-{3,}|\*{3,}|_{3,}|={3,})[ \t]*$/;

/**
 * The two texts of a diff as one markdown text, with every inserted stretch between INS and
 * INS_END and every deleted one between DEL and DEL_END (line by line, block markers outside).
 */
export function mergeChanges(changes: readonly Change[]): string {
  let out = '';
  for (const c of changes) {
    const text = c.text.replace(MARKS, '');
    if (!text) continue;
    if (c.op === 'equal') {
      out += text;
      continue;
    }
    const [open, close] = c.op === 'insert' ? [INS, INS_END] : [DEL, DEL_END];
    const lines = text.split('\n');
    const atStart = out === '' || out.endsWith('\n');
    out += lines
      .map((line, i) => {
        if (i === 0 && !atStart) return line ? open + line + close : '';
        if (RULE_LINE.test(line)) return line;
        const marker = BLOCK_MARKER.exec(line)?.[0] ?? '';
        const rest = line.slice(marker.length);
        return marker + (rest ? open + rest + close : '');
      })
      .join('\n');
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

type Change3 = { id: number; author: string; date: string };

/** Turns marked text into runs: plain, inserted or deleted, the state carried from block to block. */
class Runs {
  private state: 'ins' | 'del' | null = null;
  private id = 1;
  /** What the current paragraph's text is made of. */
  private made = { plain: false, ins: false, del: false };
  constructor(private readonly revisions: Revisions | null) {}

  /** A new paragraph begins. */
  begin(): this {
    this.made = { plain: false, ins: false, del: false };
    return this;
  }

  /**
   * The paragraph's own mark (its end), as a revision when all its text is inserted or all of
   * it deleted: accepting a deleted paragraph then removes it whole, not leaving it empty.
   */
  paragraphMark(): { run?: { insertion: Change3 } | { deletion: Change3 } } {
    const { plain, ins, del } = this.made;
    if (!this.revisions || plain || ins === del) return {};
    const change = { id: this.id++, author: this.revisions.author, date: this.revisions.date };
    return { run: ins ? { insertion: change } : { deletion: change } };
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
      if (ch < INS || ch > DEL_END) continue;
      flush(i);
      start = i + 1;
      this.state = ch === INS ? 'ins' : ch === DEL ? 'del' : null;
    }
    flush(text.length);
    return out;
  }

  /** A line break (in the current revision state). */
  lineBreak(): ParagraphChild {
    return this.run('', {}, 1);
  }

  private run(text: string, style: RunStyle, breaks: number): ParagraphChild {
    if (text.trim()) this.made[this.state && this.revisions ? this.state : 'plain'] = true;
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

/**
 * A link's address as the later text has it: markdown-it percent-encodes the marks in an
 * address; the deleted stretches go, the inserted ones stay.
 */
function newSide(href: string): string {
  return href
    .replace(/%EE%80%8([0-3])/gi, (_m, d: string) => String.fromCharCode(0xe000 + Number(d)))
    .replace(/\uE002[^\uE003]*(\uE003|$)/g, '')
    .replace(MARKS, '');
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
        out.push(...runs.of(' ', now()));
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
        const href = newSide(String(t.attrGet('href') ?? ''));
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

/** Lines of code or front matter: one paragraph a line in the "Code Block" style (monospace). */
function codeParagraphs(text: string, runs: Runs, indent: number): Paragraph[] {
  return text
    .replace(/\n$/, '')
    .split('\n')
    .map((line) => {
      const children = runs.begin().of(line, {});
      return new Paragraph({
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
  const tokens = md.parse(body, {});
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
      return new Paragraph({
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
      return new Paragraph({
        children,
        ...mark,
        style: 'Quote',
        indent: quotes > 1 || left > INDENT ? { left } : undefined,
      });
    return new Paragraph({ children, ...mark, heading: heading ?? undefined, indent: left ? { left } : undefined });
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
        if (table) table.row.push(inlineRuns(t.children ?? [], runs));
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

/** The comparison of two texts as a Word file whose insertions and deletions are tracked changes by `revisions`. */
export function changesDocx(changes: readonly Change[], meta: WordMeta, revisions: Revisions): Promise<Uint8Array> {
  const starts = new Set<number>();
  return pack(meta, blocks(mergeChanges(changes), new Runs(revisions), starts), starts, true);
}
