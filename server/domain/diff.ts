/**
 * Prose diff for the "compare versions" pages. Pure: no I/O, depends only on jsdiff.
 *
 * Word-diffing a whole document is far too slow (STACK.md: `diffWords` on 60 KB takes 939 ms
 * for a small edit, 16.5 s for a rewrite), so we diff lines first and word-diff only the
 * changed regions, with every Myers run capped by a work budget. When the budget runs out a
 * region degrades to one delete + one insert: coarser, never wrong, never slow.
 */
import { diffArrays, type ArrayChange } from 'diff';

export type ChangeOp = 'equal' | 'insert' | 'delete';
export interface Change {
  op: ChangeOp;
  text: string;
}
export type DiffBlock =
  | { kind: 'changed'; parts: Change[] }
  | { kind: 'unchanged'; parts: Change[]; paragraphs: number };

/**
 * jsdiff's Myers costs about (n+m)·D snake steps plus D² path steps, each ~10× dearer
 * (measured: ~80 ns per D², even with no common tokens). These caps, in snake steps,
 * keep any pair of inputs well under 300 ms.
 */
const TOTAL_BUDGET = 12_000_000;
const CALL_BUDGET = 3_000_000;
const PATH_STEP_COST = 10;
/** Patience anchoring recurses into the gaps between anchors at most this deep. */
const MAX_DEPTH = 6;
/** How far (in UTF-16 units) a one-sided change may slide to land on a nicer boundary. */
const SLIDE_LIMIT = 200;

interface Budget {
  left: number;
}

/** Word-level prose diff from `from` to `to`. */
export function diffProse(from: string, to: string): Change[] {
  const budget: Budget = { left: TOTAL_BUDGET };
  const a = splitLines(from),
    b = splitLines(to);
  const ids = new Map<string, number>(); // lines → small ints, so comparisons are cheap
  // Blank lines get negative ids: they still match each other, but never serve as unique
  // anchors (a lone blank line would otherwise pull real paragraphs out of alignment).
  const id = (line: string) =>
    ids.get(line) ?? ids.set(line, /^[ \t\r]*\n?$/.test(line) ? -1 - ids.size : ids.size).get(line)!;
  const ma: number[] = [],
    mb: number[] = [];
  matchLines(a.map(id), b.map(id), 0, a.length, 0, b.length, 0, budget, ma, mb);

  const raw: Change[] = [];
  let i = 0,
    j = 0;
  for (let k = 0; k <= ma.length; k++) {
    const ni = k < ma.length ? ma[k] : a.length,
      nj = k < mb.length ? mb[k] : b.length;
    if (ni > i || nj > j) wordDiff(a.slice(i, ni), b.slice(j, nj), budget, raw);
    if (k < ma.length) raw.push({ op: 'equal', text: a[ni] });
    i = ni + 1;
    j = nj + 1;
  }
  return slide(normalize(raw));
}

/** Lines with their terminators, so joining gives the text back (CRLF stays intact). */
function splitLines(s: string): string[] {
  return s.match(/[^\n]*\n|[^\n]+/g) ?? [];
}

/** Words, whitespace runs, and single other code points (astral chars are never split). */
function tokenize(s: string): string[] {
  return s.match(/[\p{L}\p{M}\p{N}_]+|\s+|[\s\S]/gu) ?? [];
}

/** jsdiff Myers with maxEditLength derived from the budget; undefined when it gives up. */
function boundedDiff<T>(a: T[], b: T[], budget: Budget): ArrayChange<T>[] | undefined {
  const size = a.length + b.length,
    allowed = Math.min(budget.left, CALL_BUDGET);
  const cost = (d: number) => size * d + PATH_STEP_COST * d * d;
  // Largest D with cost(D) ≤ allowed.
  const maxEditLength = Math.min(
    size,
    Math.floor((Math.sqrt(size * size + 4 * PATH_STEP_COST * Math.max(0, allowed)) - size) / (2 * PATH_STEP_COST)),
  );
  if (maxEditLength < Math.abs(a.length - b.length) || maxEditLength < 1) return undefined; // D ≥ |n−m|
  const res = diffArrays(a, b, { maxEditLength });
  budget.left -= cost(res ? res.reduce((n, c) => n + (c.added || c.removed ? c.count : 0), 0) : maxEditLength);
  return res;
}

/**
 * Pushes matched line pairs (ascending) for a[a0,a1) × b[b0,b1). Patience-style: trim the
 * common ends, anchor on lines unique to both sides, recurse between anchors, and run Myers
 * only on what is left. Anchoring keeps Myers' D small on long documents with many edits.
 */
function matchLines(
  a: number[],
  b: number[],
  a0: number,
  a1: number,
  b0: number,
  b1: number,
  depth: number,
  budget: Budget,
  ma: number[],
  mb: number[],
): void {
  while (a0 < a1 && b0 < b1 && a[a0] === b[b0]) {
    ma.push(a0++);
    mb.push(b0++);
  }
  let tail = 0;
  while (a1 - tail > a0 && b1 - tail > b0 && a[a1 - 1 - tail] === b[b1 - 1 - tail]) tail++;
  a1 -= tail;
  b1 -= tail;
  if (a0 < a1 && b0 < b1) {
    const anchors = depth < MAX_DEPTH ? uniqueAnchors(a, b, a0, a1, b0, b1) : [];
    if (anchors.length > 0) {
      let i = a0,
        j = b0;
      for (const [ai, bj] of anchors) {
        matchLines(a, b, i, ai, j, bj, depth + 1, budget, ma, mb);
        ma.push(ai);
        mb.push(bj);
        i = ai + 1;
        j = bj + 1;
      }
      matchLines(a, b, i, a1, j, b1, depth + 1, budget, ma, mb);
    } else {
      let i = a0,
        j = b0;
      for (const c of boundedDiff(a.slice(a0, a1), b.slice(b0, b1), budget) ?? []) {
        if (c.added) j += c.count;
        else if (c.removed) i += c.count;
        else
          for (let k = 0; k < c.count; k++) {
            ma.push(i++);
            mb.push(j++);
          }
      }
    }
  }
  for (let k = 0; k < tail; k++) {
    ma.push(a1 + k);
    mb.push(b1 + k);
  }
}

/** Longest increasing run (by b position) of lines occurring exactly once on each side. */
function uniqueAnchors(a: number[], b: number[], a0: number, a1: number, b0: number, b1: number): [number, number][] {
  const seen = new Map<number, { na: number; nb: number; ia: number; ib: number }>();
  for (let i = a0; i < a1; i++) {
    const e = seen.get(a[i]);
    if (e) e.na++;
    else seen.set(a[i], { na: 1, nb: 0, ia: i, ib: -1 });
  }
  for (let j = b0; j < b1; j++) {
    const e = seen.get(b[j]);
    if (e) {
      e.nb++;
      e.ib = j;
    }
  }
  const pairs: [number, number][] = [];
  for (const [line, e] of seen) if (line >= 0 && e.na === 1 && e.nb === 1) pairs.push([e.ia, e.ib]);
  pairs.sort((x, y) => x[0] - y[0]);
  // Patience sorting: tops[k] = index of the smallest tail of an increasing run of length k+1.
  const tops: number[] = [],
    prev: number[] = [];
  pairs.forEach(([, bj], p) => {
    let lo = 0,
      hi = tops.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pairs[tops[mid]][1] < bj) lo = mid + 1;
      else hi = mid;
    }
    prev[p] = lo > 0 ? tops[lo - 1] : -1;
    tops[lo] = p;
  });
  const out: [number, number][] = [];
  for (let p = tops.length ? tops[tops.length - 1] : -1; p >= 0; p = prev[p]) out.push(pairs[p]);
  return out.reverse();
}

/**
 * Word-diffs one changed region (trimmed to its differing middle) into `out`. If that is too
 * costly but both sides have as many lines (every line edited, e.g. CRLF→LF or a global
 * replace), it pairs the lines up and word-diffs each pair instead.
 */
function wordDiff(fromLines: string[], toLines: string[], budget: Budget, out: Change[]): void {
  const from = fromLines.join(''),
    to = toLines.join('');
  if (!from || !to) {
    out.push({ op: 'delete', text: from }, { op: 'insert', text: to });
    return;
  }
  const ta = tokenize(from),
    tb = tokenize(to);
  let s = 0,
    e = 0;
  while (s < ta.length && s < tb.length && ta[s] === tb[s]) s++;
  while (e < ta.length - s && e < tb.length - s && ta[ta.length - 1 - e] === tb[tb.length - 1 - e]) e++;
  const midA = ta.slice(s, ta.length - e),
    midB = tb.slice(s, tb.length - e);
  const res = midA.length && midB.length ? boundedDiff(midA, midB, budget) : undefined;
  if (!res && midA.length && midB.length && fromLines.length > 1 && fromLines.length === toLines.length) {
    fromLines.forEach((line, k) => wordDiff([line], [toLines[k]], budget, out));
    return;
  }
  out.push({ op: 'equal', text: ta.slice(0, s).join('') });
  if (res)
    for (const c of res) out.push({ op: c.added ? 'insert' : c.removed ? 'delete' : 'equal', text: c.value.join('') });
  else out.push({ op: 'delete', text: midA.join('') }, { op: 'insert', text: midB.join('') });
  out.push({ op: 'equal', text: ta.slice(ta.length - e).join('') });
}

/**
 * Drops empty changes, merges neighbours, and writes each changed stretch as delete-then-insert.
 * A spaces-only equal between two changes is folded into both sides so "under the" → "over a"
 * reads as one replacement instead of confetti.
 */
function normalize(raw: Change[]): Change[] {
  const cs = raw.filter((c) => c.text !== '');
  const out: Change[] = [];
  let del = '',
    ins = '';
  const flush = () => {
    if (del) out.push({ op: 'delete', text: del });
    if (ins) out.push({ op: 'insert', text: ins });
    del = ins = '';
  };
  cs.forEach((c, k) => {
    if (c.op === 'delete') del += c.text;
    else if (c.op === 'insert') ins += c.text;
    else if ((del || ins) && cs[k + 1] && cs[k + 1].op !== 'equal' && /^[ \t]+$/.test(c.text)) {
      del += c.text;
      ins += c.text;
    } else {
      flush();
      const last = out[out.length - 1];
      if (last?.op === 'equal') last.text += c.text;
      else out.push({ ...c });
    }
  });
  flush();
  return out;
}

/** How good a place position q of s is for a change to start or end (higher is better). */
function boundaryScore(s: string, q: number): number {
  const hi = s.charCodeAt(q - 1),
    lo = s.charCodeAt(q);
  if (hi >= 0xd800 && hi <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff) return -100; // inside a pair
  if (s[q - 1] === '\r' && s[q] === '\n') return -1;
  if (/\n[ \t\r]*\n$/.test(s.slice(Math.max(0, q - 8), q))) return 4;
  if (s[q - 1] === '\n') return 3;
  if (/\s/.test(s[q - 1]) || /\s/.test(s[q])) return 2;
  return /[\p{L}\p{N}]/u.test(s[q - 1]) && /[\p{L}\p{N}]/u.test(s[q]) ? 0 : 1;
}

/**
 * Slides a one-sided change (equal, insert|delete, equal) along text that repeats around it,
 * to the position with the best-scoring edges — e.g. so a removed paragraph is "P2\n\n"
 * rather than "\nP2\n". Sliding keeps both projections intact; neighbours never empty.
 */
function slide(cs: Change[]): Change[] {
  for (let k = 1; k + 1 < cs.length; k++) {
    const [e1, x, e2] = [cs[k - 1], cs[k], cs[k + 1]];
    if (e1.op !== 'equal' || e2.op !== 'equal') continue; // x is then a lone insert or delete
    const head = e1.text.slice(-SLIDE_LIMIT),
      tailLen = Math.min(e2.text.length, SLIDE_LIMIT);
    const s = head + x.text + e2.text.slice(0, tailLen),
      n = x.text.length;
    let p = head.length;
    while (p > 1 && s[p - 1] === s[p + n - 1]) p--;
    let best = head.length,
      bestScore = boundaryScore(s, best) + boundaryScore(s, best + n);
    for (; p + n < s.length - 1 && p <= head.length + SLIDE_LIMIT; p++) {
      const score = boundaryScore(s, p) + boundaryScore(s, p + n);
      if (score > bestScore) {
        best = p;
        bestScore = score;
      }
      if (s[p] !== s[p + n]) break;
    }
    if (best === head.length) continue;
    e1.text = e1.text.slice(0, e1.text.length - head.length) + s.slice(0, best);
    x.text = s.slice(best, best + n);
    e2.text = s.slice(best + n) + e2.text.slice(tailLen);
  }
  return cs;
}

/** Splits after each blank-line run found in equal text, so a paragraph is a run of parts. */
function paragraphs(changes: Change[]): Change[][] {
  const paras: Change[][] = [];
  let cur: Change[] = [],
    prev = '';
  for (const c of changes) {
    let start = 0;
    if (c.op === 'equal') {
      const ctx = prev.slice(-8),
        s = ctx + c.text;
      for (const m of s.matchAll(/\n(?:[ \t\r]*\n)+/g)) {
        const end = m.index + m[0].length - ctx.length;
        if (end < 0 || (end === 0 && !cur.length)) continue; // cut at 0: after a change ending in "\n\n"
        if (end > start) cur.push({ op: 'equal', text: c.text.slice(start, end) });
        paras.push(cur);
        cur = [];
        start = end;
      }
    }
    if (start < c.text.length) cur.push({ op: c.op, text: c.text.slice(start) });
    prev = (prev + c.text).slice(-8);
  }
  if (cur.length) paras.push(cur);
  return paras;
}

/** Display blocks: each paragraph with an insert/delete, and each run of equal paragraphs folded. */
export function foldParagraphs(changes: Change[]): DiffBlock[] {
  const blocks: DiffBlock[] = [];
  for (const para of paragraphs(changes)) {
    const last = blocks[blocks.length - 1];
    if (para.some((c) => c.op !== 'equal')) blocks.push({ kind: 'changed', parts: para });
    else if (last?.kind === 'unchanged') {
      last.parts[0].text += para[0].text;
      last.paragraphs++;
    } else blocks.push({ kind: 'unchanged', parts: para, paragraphs: 1 });
  }
  return blocks;
}

/** One row per paragraph: left is the old side (equal+delete), right the new (equal+insert). */
export function sideBySide(changes: Change[]): { left: Change[]; right: Change[] }[] {
  return paragraphs(changes).map((para) => ({
    left: para.filter((c) => c.op !== 'insert'),
    right: para.filter((c) => c.op !== 'delete'),
  }));
}

/**
 * The diff to show when the word diff could not be made in time: the common head and tail (cut
 * at line starts) kept, the middle as one delete and one insert. Linear, coarser, never wrong.
 */
export function coarseDiff(from: string, to: string): Change[] {
  let s = 0;
  const max = Math.min(from.length, to.length);
  while (s < max && from.charCodeAt(s) === to.charCodeAt(s)) s++;
  s = s > 0 ? from.lastIndexOf('\n', s - 1) + 1 : 0;
  let e = 0;
  while (e < max - s && from.charCodeAt(from.length - 1 - e) === to.charCodeAt(to.length - 1 - e)) e++;
  // The tail starts at a line start too: where it begins if a newline precedes it, else just
  // after the first newline inside it (or nowhere).
  let t = from.length - e;
  if (t > 0 && from[t - 1] !== '\n') {
    const nl = from.indexOf('\n', t);
    t = nl < 0 ? from.length : nl + 1;
  }
  e = from.length - t;
  const parts: Change[] = [
    { op: 'equal', text: from.slice(0, s) },
    { op: 'delete', text: from.slice(s, from.length - e) },
    { op: 'insert', text: to.slice(s, to.length - e) },
    { op: 'equal', text: from.slice(from.length - e) },
  ];
  return parts.filter((c) => c.text !== '');
}
