/** A text's paragraphs, as the proposal page shows them (each beside its comment threads). Pure. */
import { renderItems } from '../../util/markdown.js';

/**
 * At most this many paragraph rows on a text page: a text of more paragraphs (1 MB of "x" lines
 * is 350,000) shows runs of them together, so the page stays a bounded amount of work.
 */
export const MAX_PARAGRAPH_ROWS = 2000;

/** A block of text between blank lines, with where it sits in the whole text. */
export interface Block {
  start: number;
  end: number;
  text: string;
}

/**
 * The text's paragraphs: runs of non-blank lines. A fenced code block stays whole even when it
 * holds blank lines (rendering half a fence would turn the rest of the text into code).
 */
export function paragraphsOf(text: string): Block[] {
  const blocks: Block[] = [];
  let cur: { start: number; end: number } | null = null;
  let fence: { ch: string; len: number } | null = null;
  const push = (c: { start: number; end: number }) => blocks.push({ ...c, text: text.slice(c.start, c.end) });
  for (const m of text.matchAll(/[^\n]*\n|[^\n]+/g)) {
    const line = m[0],
      pos = m.index;
    if (!fence && !line.trim()) {
      if (cur) push(cur);
      cur = null;
    } else {
      cur ??= { start: pos, end: pos };
      cur.end = pos + line.length;
      const f = /^ {0,3}(`{3,}|~{3,})/.exec(line);
      if (f) {
        if (!fence) fence = { ch: f[1][0], len: f[1].length };
        else if (f[1][0] === fence.ch && f[1].length >= fence.len && !line.slice(f.index + f[0].length).trim())
          fence = null;
      }
    }
  }
  if (cur) push(cur);
  return blocks;
}

/** At most `max` blocks: runs of neighbours joined (with the blank lines between them, as written). */
export function boundedBlocks(text: string, blocks: Block[], max = MAX_PARAGRAPH_ROWS): Block[] {
  if (blocks.length <= max) return blocks;
  const per = Math.ceil(blocks.length / max);
  const out: Block[] = [];
  for (let i = 0; i < blocks.length; i += per) {
    const first = blocks[i],
      last = blocks[Math.min(blocks.length, i + per) - 1];
    out.push({ start: first.start, end: last.end, text: text.slice(first.start, last.end) });
  }
  return out;
}

/** A paragraph row: where it sits in the text, and its safe HTML. */
export interface RenderedBlock {
  start: number;
  end: number;
  html: string;
}

/** The text's paragraph rows (at most MAX_PARAGRAPH_ROWS), each rendered with headings `by` levels down. */
export function renderParagraphs(text: string, by: number): RenderedBlock[] {
  const blocks = boundedBlocks(text, paragraphsOf(text));
  const html = renderItems(blocks.map((b) => ({ text: b.text, by })));
  return blocks.map((b, i) => ({ start: b.start, end: b.end, html: html[i] }));
}
