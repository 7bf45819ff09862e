import { diffArrays } from 'diff';

/**
 * Consolidation: the published text with chosen proposals merged in, three-way, in order.
 * Each proposal's change is its base text → its head text, applied onto the running text.
 * Merging is by sentence (`splitTokens`): changes to different sentences of one paragraph, or
 * to neighbouring paragraphs, merge cleanly; two changes to one sentence (or one changing a
 * sentence another deleted) become a conflict block in the text, git-style, on lines of its
 * own, holding the competing sentences and naming the proposals involved, until the chair
 * edits it away.
 */
export interface MergeInput {
  id: number;
  title: string;
  base: string;
  head: string;
}

export interface MergeStep {
  proposal: number;
  text: string;
  conflicts: number;
}

/** A step with its tokens and, for each, the proposals that put it there (none: the published text's own). */
export interface ProvenanceStep extends MergeStep {
  tokens: string[];
  sources: number[][];
}

// ── Tokens: sentences within paragraphs, markdown structure kept ────────────

/** Words ending in a full stop that do not end a sentence (compared in lower case). */
const ABBREVIATIONS = new Set(
  [
    'e.g.',
    'i.e.',
    'cf.',
    'viz.',
    'vs.',
    'no.',
    'nos.',
    'art.',
    'arts.',
    'para.',
    'paras.',
    'p.',
    'pp.',
    'sec.',
    'sect.',
    'ch.',
    'cl.',
    'fig.',
    'vol.',
    'approx.',
    'incl.',
    'mr.',
    'mrs.',
    'ms.',
    'dr.',
    'prof.',
    'st.',
    'al.',
  ].map((w) => w.toLowerCase()),
);

const segmenter = new Intl.Segmenter('en', { granularity: 'sentence' });
const lineRe = /[^\n]*\n|[^\n]+$/g;
const BLANK = /^[ \t\r]*\n?$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;
/** Lines that are a block of their own: headings, thematic breaks, setext underlines, table rows. */
const OWN_LINE = /^ {0,3}(#{1,6}(\s|$)|([-*_] *){3,}\r?\n?$|=+[ \t]*\r?\n?$|\|)/;
/** Lines that start a new block: list items and quotes. */
const BLOCK_START = /^\s*([-*+]|\d{1,9}[.)])(\s|$)|^\s*>/;
const MARKER_ONLY = /^\s*([-*+]|\d{1,9}[.)]|>)\s*$/;

/** The last word of a sentence piece is an abbreviation (or an initial, "J."), or the piece is only a list marker. */
function continues(piece: string): boolean {
  if (MARKER_ONLY.test(piece)) return true;
  const last = piece.trimEnd().split(/[\s(]/).pop() ?? '';
  return ABBREVIATIONS.has(last.toLowerCase()) || /^\p{Lu}\.$/u.test(last);
}

/** The sentences of a block of text (a paragraph, a list item, a quote), each with its trailing whitespace. */
function sentencesOf(block: string): string[] {
  const out: string[] = [];
  let pending = '';
  for (const { segment } of segmenter.segment(block)) {
    pending += segment;
    // A line break ends a piece in any case: abbreviations join sentences on one line only.
    if (!continues(pending) || pending.endsWith('\n')) {
      out.push(pending);
      pending = '';
    }
  }
  if (pending) out.push(pending);
  return out;
}

/**
 * The merge's tokens: blank lines, headings (and other one-line blocks) and the lines of a
 * fenced code block each one token; paragraphs, list items and quotes cut into sentences
 * (`Intl.Segmenter`, with the abbreviations above not ending one). Each token carries its
 * trailing whitespace, so the tokens joined are the text, byte for byte.
 */
export function splitTokens(text: string): string[] {
  const out: string[] = [];
  let block = '';
  let fence: string | null = null;
  const flush = () => {
    if (block) out.push(...sentencesOf(block));
    block = '';
  };
  for (const line of text.match(lineRe) ?? []) {
    const f = FENCE.exec(line);
    if (fence !== null) {
      out.push(line);
      if (f && f[1][0] === fence[0] && f[1].length >= fence.length) fence = null;
    } else if (f) {
      flush();
      out.push(line);
      fence = f[1];
    } else if (BLANK.test(line) || OWN_LINE.test(line)) {
      flush();
      out.push(line);
    } else {
      if (BLOCK_START.test(line)) flush();
      block += line;
    }
  }
  flush();
  return out;
}

// ── Three-way merge of token sequences ──────────────────────────────────────

/** One side's change to the base: tokens [start, end) of the base replaced by `by`. */
interface Hunk {
  side: 0 | 1;
  start: number;
  end: number;
  by: string[];
}

function hunksOf(base: string[], other: string[], side: 0 | 1): Hunk[] {
  const out: Hunk[] = [];
  let at = 0;
  let open: Hunk | null = null;
  for (const part of diffArrays(base, other)) {
    if (part.added) {
      open ??= { side, start: at, end: at, by: [] };
      open.by.push(...part.value);
    } else if (part.removed) {
      open ??= { side, start: at, end: at, by: [] };
      at += part.value.length;
      open.end = at;
    } else {
      if (open) out.push(open);
      open = null;
      at += part.value.length;
    }
  }
  if (open) out.push(open);
  return out;
}

type Chunk = { ok: string[] } | { conflict: { a: string[]; aIndex: number; b: string[] } };

const same = (x: string[], y: string[]) => x.length === y.length && x.every((t, i) => t === y[i]);

/**
 * Three-way merge of `a` and `b`, both changed from `o`. Changes of the two sides conflict
 * when they touch a common base token, or insert at one place; changes side by side (one
 * sentence and the next, an insertion just before a changed sentence) do not. Both sides
 * making the same change is not a conflict.
 */
function merge3(a: string[], o: string[], b: string[]): Chunk[] {
  const hunks = [...hunksOf(o, a, 0), ...hunksOf(o, b, 1)].sort((x, y) => x.start - y.start || x.end - y.end);
  const chunks: Chunk[] = [];
  const ok = (xs: string[]) => {
    if (xs.length) chunks.push({ ok: xs });
  };
  let at = 0;
  let aAt = 0;
  for (let i = 0; i < hunks.length; ) {
    const group = [hunks[i]];
    const start = hunks[i].start;
    let end = hunks[i].end;
    let j = i + 1;
    for (; j < hunks.length; j++) {
      const h = hunks[j];
      const insertsHere = h.start === h.end && group.some((g) => g.start === g.end && g.start === h.start);
      if (!(h.start < end || insertsHere)) break;
      group.push(h);
      end = Math.max(end, h.end);
    }
    ok(o.slice(at, start));
    aAt += start - at;
    const sideText = (side: 0 | 1) => {
      const out: string[] = [];
      let p = start;
      for (const h of group) {
        if (h.side !== side) continue;
        out.push(...o.slice(p, h.start), ...h.by);
        p = h.end;
      }
      out.push(...o.slice(p, end));
      return out;
    };
    const A = sideText(0);
    const B = sideText(1);
    const sides = new Set(group.map((h) => h.side));
    if (sides.size === 1 || same(A, B)) ok(sides.has(0) ? A : B);
    else chunks.push({ conflict: { a: A, aIndex: aAt, b: B } });
    aAt += A.length;
    at = end;
    i = j;
  }
  ok(o.slice(at));
  return chunks;
}

// ── Proposals, one after another ────────────────────────────────────────────

export const OPEN = '<<<<<<< ';
export const SEP = '=======';
export const CLOSE = '>>>>>>> ';

const label = (ids: number[]) =>
  ids.length ? `consolidated text (proposal${ids.length > 1 ? 's' : ''} ${ids.join(', ')})` : 'published text';

/** One side of a conflict block: its tokens, the last one ending its line (its trailing spaces dropped). */
const sideLines = (tokens: string[]) =>
  tokens.map((t, i) => (i < tokens.length - 1 || t.endsWith('\n') ? t : `${t.replace(/[ \t]+$/, '')}\n`));

/** Merge proposals one after another onto `published`; one step per proposal. */
export function mergeProposals(published: string, proposals: MergeInput[]): MergeStep[] {
  return mergeWithProvenance(published, proposals).map(({ proposal, text, conflicts }) => ({
    proposal,
    text,
    conflicts,
  }));
}

/** `mergeProposals`, each step with its tokens and which proposals put each there. */
export function mergeWithProvenance(published: string, proposals: MergeInput[]): ProvenanceStep[] {
  let running: string[] = splitTokens(published);
  // Which proposals put each token there, and which removed something just before it.
  let prov: number[][] = running.map(() => []);
  let gaps: number[][] = Array.from({ length: running.length + 1 }, () => []);
  const steps: ProvenanceStep[] = [];
  for (const p of proposals) {
    const chunks = merge3(running, splitTokens(p.base), splitTokens(p.head));
    const out: string[] = [];
    let conflicts = 0;
    for (const c of chunks) {
      if ('ok' in c) {
        out.push(...c.ok);
        continue;
      }
      const k = c.conflict;
      const involved = new Set<number>();
      for (let i = k.aIndex; i < k.aIndex + k.a.length; i++) prov[i]?.forEach((x) => involved.add(x));
      for (let i = k.aIndex; i <= k.aIndex + k.a.length; i++) gaps[i]?.forEach((x) => involved.add(x));
      const earlier = [...involved].filter((x) => x !== p.id).sort((a, b) => a - b);
      // The markers go on lines of their own, also in the middle of a paragraph.
      if (out.length && !out[out.length - 1].endsWith('\n')) out.push('\n');
      out.push(
        `${OPEN}${label(earlier)}\n`,
        ...sideLines(k.a),
        `${SEP}\n`,
        ...sideLines(k.b),
        `${CLOSE}proposal ${p.id}: ${p.title.replace(/\n/g, ' ')}\n`,
      );
      conflicts++;
    }
    // Provenance of the new text: unchanged tokens keep theirs; new tokens are this proposal's.
    const nextProv: number[][] = [];
    const nextGaps: number[][] = [[]];
    let ai = 0;
    for (const part of diffArrays(running, out)) {
      if (part.removed) {
        nextGaps[nextGaps.length - 1].push(p.id, ...part.value.flatMap((_, j) => prov[ai + j] ?? []));
        ai += part.value.length;
      } else if (part.added) {
        for (let j = 0; j < part.value.length; j++) {
          nextProv.push([p.id]);
          nextGaps.push([]);
        }
      } else {
        for (let j = 0; j < part.value.length; j++) {
          nextGaps[nextGaps.length - 1].push(...(gaps[ai] ?? []));
          nextProv.push(prov[ai]);
          nextGaps.push([]);
          ai++;
        }
      }
    }
    nextGaps[nextGaps.length - 1].push(...(gaps[ai] ?? []));
    running = out;
    prov = nextProv;
    gaps = nextGaps.map((g) => [...new Set(g)]);
    steps.push({ proposal: p.id, text: out.join(''), conflicts, tokens: out, sources: prov });
  }
  return steps;
}

export interface ConflictBlock {
  proposals: number[];
  text: string;
}

const OPEN_LINE = /^<<<<<<< (?:consolidated text \(proposals? ([\d, ]+)\)|published text)$/;
const CLOSE_LINE = /^>>>>>>> proposal (\d+):/;

/**
 * The conflict blocks still in a text (outermost ones: a later proposal's conflict may wrap an
 * earlier one), with the proposals named by the marker lines the merge wrote — ids are read
 * from those two formats only, never from a title.
 */
export function findConflicts(text: string): ConflictBlock[] {
  const out: ConflictBlock[] = [];
  const lines = text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  let depth = 0;
  let start = 0;
  let pos = 0;
  let ids = new Set<number>();
  let sawSeparator = false;
  for (const line of lines) {
    const bare = line.replace(/\n$/, '');
    const open = OPEN_LINE.exec(bare);
    const close = CLOSE_LINE.exec(bare);
    if (open) {
      if (depth === 0) {
        start = pos;
        ids = new Set();
        sawSeparator = false;
      }
      depth++;
      for (const n of (open[1] ?? '').split(',')) if (n.trim()) ids.add(Number(n));
    } else if (depth > 0 && bare === SEP) {
      sawSeparator = true;
    } else if (depth > 0 && close) {
      ids.add(Number(close[1]));
      depth--;
      if (depth === 0 && sawSeparator)
        out.push({ proposals: [...ids].sort((a, b) => a - b), text: text.slice(start, pos + line.length) });
    }
    pos += line.length;
  }
  return out;
}

/** Marker lines the merge writes, left alone (a half-deleted block), also count as unresolved. */
export function hasConflictMarkers(text: string): boolean {
  return findConflicts(text).length > 0 || text.split('\n').some((l) => OPEN_LINE.test(l) || CLOSE_LINE.test(l));
}
