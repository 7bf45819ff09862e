/**
 * Commented passages marked in rendered text (issue 14, "select to comment"). The passage's
 * source range is bracketed in the markdown by private-use characters placed next to its first
 * and last shown characters (so never inside a link's address or a mark), the text is rendered as
 * usual, and `markPassages` turns the brackets into `<mark>` around each run of text between them
 * (so the marks nest in the rendered elements), with a link to the thread after the passage. Pure.
 */
import { projectMarkdown, shownSpan } from '../../domain/anchor.js';

/** A passage of a block's source [start, end) commented in thread `thread`; `first`: the block holding its start (the one beside which the thread is shown). */
export interface MarkedRange {
  start: number;
  end: number;
  thread: number;
  first: boolean;
}

const OPEN = '\uE000';
const CLOSE = '\uE001';
const OPEN_MORE = '\uE003';
const CLOSE_MORE = '\uE004';
const SENTINEL = /([\uE000\uE001\uE003\uE004])([\uE010-\uE019]+)/;
const ANY = /[\uE000-\uE0FF]/g;
const code = (n: number) => [...String(n)].map((d) => String.fromCharCode(0xe010 + Number(d))).join('');
const number = (s: string) => Number([...s].map((c) => c.charCodeAt(0) - 0xe010).join(''));

/** The source with each passage bracketed (passages with no shown text are left out). */
export function withBrackets(src: string, ranges: MarkedRange[]): string {
  if (!ranges.length) return src;
  const p = projectMarkdown(src);
  const inserts: { at: number; s: string }[] = [];
  for (const r of ranges) {
    const span = shownSpan(p, r.start, r.end);
    if (!span) continue;
    inserts.push({ at: span.from, s: (r.first ? OPEN : OPEN_MORE) + code(r.thread) });
    inserts.push({ at: span.to, s: (r.first ? CLOSE : CLOSE_MORE) + code(r.thread) });
  }
  inserts.sort((a, b) => a.at - b.at);
  let out = '';
  let last = 0;
  for (const i of inserts) {
    out += src.slice(last, i.at) + i.s;
    last = i.at;
  }
  return out + src.slice(last);
}

/** The rendered HTML of a bracketed source with its passages marked, each linked to its thread (`#thread-N`) and named `passage-N` where it starts. */
export function markPassages(html: string): string {
  if (!/[\uE000-\uE0FF]/.test(html)) return html;
  const open: number[] = [];
  const names: number[] = [];
  const refs: number[] = [];
  let inLink = 0;
  let out = '';
  const flushRefs = () => {
    for (const n of refs.splice(0))
      out += `<a class="to-thread" href="#thread-${n}" aria-label="The comments on this passage"></a>`;
  };
  for (const part of html.split(/(<[^>]*>)/)) {
    if (part.startsWith('<')) {
      out += part.replace(ANY, '');
      if (/^<a[\s>]/.test(part)) inLink++;
      else if (/^<\/a>/.test(part)) inLink = Math.max(0, inLink - 1);
      if (!inLink) flushRefs();
      continue;
    }
    const pieces = part.split(SENTINEL);
    for (let k = 0; k < pieces.length; k += 3) {
      const piece = pieces[k].replace(ANY, '');
      if (piece && open.length && piece.trim()) {
        const id = names.shift();
        const more = names.splice(0).map((n) => `<span id="passage-${n}"></span>`);
        out += `${more.join('')}<mark class="passage" data-thread="${open[open.length - 1]}"${id ? ` id="passage-${id}"` : ''}>${piece}</mark>`;
      } else out += piece;
      if (k + 2 >= pieces.length) break;
      const kind = pieces[k + 1];
      const n = number(pieces[k + 2]);
      if (kind === OPEN || kind === OPEN_MORE) {
        open.push(n);
        if (kind === OPEN) names.push(n);
      } else {
        const i = open.lastIndexOf(n);
        if (i >= 0) open.splice(i, 1);
        if (kind === CLOSE) refs.push(n);
        if (!inLink) flushRefs();
      }
    }
  }
  out += names.map((n) => `<span id="passage-${n}"></span>`).join('');
  flushRefs();
  return out;
}
