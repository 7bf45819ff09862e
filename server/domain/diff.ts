/**
 * Prose diff for the "compare versions" pages, and the sequence alignment the rendered diff
 * builds on (`matchSequences`, `pairBySimilarity`, `myersMatches`). Pure: no I/O, no
 * dependencies.
 *
 * Word-diffing a whole document at once is far too slow (STACK.md: jsdiff's `diffWords` on
 * 60 KB takes 939 ms for a small edit), so:
 * 1. short texts (about 200 × 200 words) are one region; longer ones have their lines matched
 *    first (patience anchors on lines unique to both sides, Myers between); the lines between
 *    two matched lines that hold words are a changed region;
 * 2. a region is word-diffed on its words and signs only (whitespace is kept where it lies
 *    between them, as git's word diff does): the common subsequence of the most characters for
 *    short regions, Myers (linear space, on ids, within a work budget) for longer ones;
 * 3. a region too large for that (a rewritten section) is cut into paragraphs, the paragraphs
 *    of both sides are paired by similarity (words in common), and each pair is word-diffed
 *    alone — so one rewritten paragraph never turns its neighbours into a whole delete +
 *    insert;
 * 4. only what still exceeds the budget becomes one delete + one insert: coarser, never
 *    wrong, never slow.
 * On the corpora it marks 0.84× the characters git's `--word-diff` marks, never more than
 * git + 10% on a pair (test/domain/diffCorpus.system.test.ts); a far W3C pair (250 KB) takes
 * ~20 ms of CPU (docs/BENCHMARKS.md).
 */

export type ChangeOp = 'equal' | 'insert' | 'delete';
export interface Change {
  op: ChangeOp;
  text: string;
}
export type DiffBlock =
  | { kind: 'changed'; parts: Change[] }
  | { kind: 'unchanged'; parts: Change[]; paragraphs: number };

/**
 * Work caps in Myers steps (one step: one diagonal visited or one token compared; ~10 ns each
 * on a loaded 2-core machine). The whole diff may take TOTAL_BUDGET, one region CALL_BUDGET:
 * about 100 ms and 20 ms.
 */
const TOTAL_BUDGET = 10_000_000;
const CALL_BUDGET = 2_000_000;
/**
 * A region whose Myers would cost more than this (see `myersCost`) is paired paragraph by
 * paragraph first: on the corpora that is 1.5–2× faster on far pairs and marks 0.2% more.
 */
const WHOLE_REGION = 200_000;
/** Regions of at most this many word × word pairs keep the words of most characters (`heaviestMatches`). */
const HEAVIEST_CELLS = 40_000;
/** Two texts whose lengths multiply to at most this are word-diffed whole (about 200 × 200 words). */
const SHORT_TEXTS = 1_000_000;
/** Patience anchoring recurses into the gaps between anchors at most this deep. */
const MAX_DEPTH = 6;
/** How far (in UTF-16 units) a one-sided change may slide to land on a nicer boundary. */
const SLIDE_LIMIT = 200;
/** Similarity pairing compares at most this many pairs of paragraphs per region. */
const PAIR_CELLS = 250_000;
/** Paragraphs with fewer words in common than this (Dice coefficient) are not paired. */
const MIN_SIMILARITY = 0.2;

interface Budget {
  left: number;
}

/** Word-level prose diff from `from` to `to`. */
export function diffProse(from: string, to: string): Change[] {
  const budget: Budget = { left: TOTAL_BUDGET };
  const a = splitLines(from),
    b = splitLines(to);
  // Short texts are one region: matching lines first only saves time, and on a few lines a
  // short line matched by chance ("the") can cut words from their counterparts.
  if (from.length * to.length <= SHORT_TEXTS) {
    const raw: Change[] = [];
    if (from || to) regionDiff(a, b, budget, raw, 0);
    return slide(normalize(raw));
  }
  // Lines → small ints, so comparisons are cheap. Blank lines get negative ids: they still
  // match each other, but never serve as unique anchors (a lone blank line would otherwise pull
  // real paragraphs out of alignment).
  const id = interner(isBlank);
  const ma: number[] = [],
    mb: number[] = [];
  const la = idsOf(a, id);
  matchLines(la, idsOf(b, id), 0, a.length, 0, b.length, 0, budget, ma, mb);

  // Changed regions run between matched lines that hold words: a matched blank line between two
  // changes joins them (which blank line pairs with which is a guess that can cut a paragraph
  // from the words it shares with the other side).
  const raw: Change[] = [];
  let i = 0,
    j = 0,
    open = false,
    ri = 0,
    rj = 0;
  for (let k = 0; k <= ma.length; k++) {
    const end = k === ma.length,
      ni = end ? a.length : ma[k],
      nj = end ? b.length : mb[k];
    if ((ni > i || nj > j) && !open) {
      open = true;
      ri = i;
      rj = j;
    }
    if (open && (end || la[ni] >= 0)) {
      regionDiff(a.slice(ri, ni), b.slice(rj, nj), budget, raw, 0);
      open = false;
    }
    if (!end && !open) raw.push({ op: 'equal', text: a[ni] });
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
export function tokenize(s: string): string[] {
  // The same tokens as matching TOKEN's grammar along the whole string (s.match with the g flag;
  // test/domain/diff.test.ts holds them equal), about 3× faster on the corpora: ASCII is scanned
  // by char code, and the expressions read only from a non-ASCII char on.
  const out: string[] = [];
  const n = s.length;
  let p = 0;
  while (p < n) {
    const c = s.charCodeAt(p);
    let q = p + 1;
    if (c < 128 && ASCII_CLASS[c] !== OTHER) {
      const cls = ASCII_CLASS[c];
      while (q < n) {
        const d = s.charCodeAt(q);
        if (d >= 128) {
          // A non-ASCII letter or space may continue the run: the class's expression says how far.
          const rest = cls === WORD ? WORD_REST : SPACE_REST;
          rest.lastIndex = q;
          rest.test(s);
          q = rest.lastIndex;
          break;
        }
        if (ASCII_CLASS[d] !== cls) break;
        q++;
      }
    } else if (c >= 128) {
      TOKEN.lastIndex = p;
      TOKEN.test(s);
      q = TOKEN.lastIndex;
    }
    out.push(s.slice(p, q));
    p = q;
  }
  return out;
}

/** The token grammar: a word (letters, marks, digits, _), a whitespace run, or one code point. */
const TOKEN = /[\p{L}\p{M}\p{N}_]+|\s+|[\s\S]/uy;
const WORD_REST = /[\p{L}\p{M}\p{N}_]*/uy;
const SPACE_REST = /\s*/uy;
const OTHER = 0,
  WORD = 1,
  SPACE = 2;
/** Which run each ASCII code starts: within ASCII, TOKEN's word class is [A-Za-z0-9_] and \s is [\t-\r ]. */
const ASCII_CLASS = Uint8Array.from({ length: 128 }, (_, c) =>
  /[A-Za-z0-9_]/.test(String.fromCharCode(c)) ? WORD : /\s/.test(String.fromCharCode(c)) ? SPACE : OTHER,
);

/** Whether a token is a whitespace run (see `tokenize`: a token that begins with a space is one). */
function isSpace(t: string): boolean {
  const c = t.charCodeAt(0);
  return c < 128 ? ASCII_CLASS[c] === SPACE : /^\s/u.test(t);
}

/**
 * Small ints for strings, the same for equal strings, in order of first sight: 0, 1, 2… (or, for
 * the strings `negative` picks, -1, -2…, counted in the same sequence).
 */
function interner(negative?: (s: string) => boolean): (s: string) => number {
  const ids = new Map<string, number>();
  return (s) => {
    let v = ids.get(s);
    if (v === undefined) {
      v = negative?.(s) ? -1 - ids.size : ids.size;
      ids.set(s, v);
    }
    return v;
  };
}

/** A line of nothing but spaces, tabs and carriage returns (with its line feed): /^[ \t\r]*\n?$/. */
function isBlank(line: string): boolean {
  const n = line.length - (line.charCodeAt(line.length - 1) === 10 ? 1 : 0);
  for (let k = 0; k < n; k++) {
    const c = line.charCodeAt(k);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/** `Int32Array.from(xs, f)` as a plain loop, without the iterator protocol `from` goes through. */
function idsOf<T>(xs: readonly T[], f: (x: T) => number): Int32Array {
  const out = new Int32Array(xs.length);
  for (let k = 0; k < xs.length; k++) out[k] = f(xs[k]);
  return out;
}

/** Thrown inside Myers when the budget runs out; caught by the caller of `myers`. */
const OUT_OF_BUDGET = Symbol('out of budget');

/** Myers' matches of two id sequences (see `myers`), unbounded: for tests and short sequences. */
export function myersMatches(a: ArrayLike<number>, b: ArrayLike<number>): [number, number][] {
  const ma: number[] = [],
    mb: number[] = [];
  // Always typed arrays: one element kind keeps the inner loops monomorphic (3× faster).
  myers(Int32Array.from(a), Int32Array.from(b), 0, a.length, 0, b.length, { left: Infinity }, ma, mb, Infinity);
  return ma.map((x, k) => [x, mb[k]]);
}

/**
 * Myers' O((N+M)·D) diff in linear space (the middle-snake divide and conquer), on integer
 * ids. Pushes the matched index pairs of a[a0,a1) × b[b0,b1), ascending, into ma/mb; returns
 * false (and pushes nothing) when the work would exceed `cap` steps or the budget.
 */
function myers(
  a: Int32Array,
  b: Int32Array,
  a0: number,
  a1: number,
  b0: number,
  b1: number,
  budget: Budget,
  ma: number[],
  mb: number[],
  cap = CALL_BUDGET,
): boolean {
  const allowed = Math.min(cap, budget.left);
  if (allowed <= 0) return false;
  const n = a1 - a0 + b1 - b0;
  const vf = new Int32Array(n + 3),
    vb = new Int32Array(n + 3);
  const outA: number[] = [],
    outB: number[] = [];
  let steps = 0;
  const spend = (k: number) => {
    steps += k;
    if (steps > allowed) throw OUT_OF_BUDGET;
  };
  /** The middle snake of a[x0,x1) × b[y0,y1) (both non-empty): [xs, ys, xe, ye]. */
  const middle = (x0: number, x1: number, y0: number, y1: number): [number, number, number, number] => {
    const N = x1 - x0,
      M = y1 - y0,
      delta = N - M,
      odd = (delta & 1) !== 0,
      off = M + 1; // diagonal k lives at index k + off (k ∈ [-M-1, N+1])
    const maxD = Math.ceil((N + M) / 2);
    vf[1 + off] = 0;
    vb[1 + off] = 0;
    for (let d = 0; d <= maxD; d++) {
      // Diagonals k = x − y outside [−M, N] leave the grid: skipped, so a lopsided region
      // (a word replaced by three paragraphs) costs about D·min(N, M), not D².
      const kLo = -d + 2 * Math.max(0, d - M),
        kHi = d - 2 * Math.max(0, d - N);
      spend(kHi - kLo + 2);
      for (let k = kLo; k <= kHi; k += 2) {
        let x = k === -d || (k !== d && vf[k - 1 + off] < vf[k + 1 + off]) ? vf[k + 1 + off] : vf[k - 1 + off] + 1;
        x = Math.min(x, N, M + k); // a move off the grid stops at its edge
        let y = x - k;
        const sx = x,
          sy = y;
        while (x < N && y < M && a[x0 + x] === b[y0 + y]) {
          x++;
          y++;
        }
        if (x > sx) spend(x - sx);
        vf[k + off] = x;
        const c = delta - k;
        if (odd && c >= -(d - 1) && c <= d - 1 && x + vb[c + off] >= N) return [sx, sy, x, y];
      }
      for (let c = kLo; c <= kHi; c += 2) {
        let x = c === -d || (c !== d && vb[c - 1 + off] < vb[c + 1 + off]) ? vb[c + 1 + off] : vb[c - 1 + off] + 1;
        x = Math.min(x, N, M + c);
        let y = x - c;
        const sx = x,
          sy = y;
        while (x < N && y < M && a[x1 - 1 - x] === b[y1 - 1 - y]) {
          x++;
          y++;
        }
        if (x > sx) spend(x - sx);
        vb[c + off] = x;
        const k = delta - c;
        if (!odd && k >= -d && k <= d && x + vf[k + off] >= N) return [N - x, M - y, N - sx, M - sy];
      }
    }
    throw new Error('unreachable: Myers found no middle snake');
  };
  const solve = (x0: number, x1: number, y0: number, y1: number): void => {
    while (x0 < x1 && y0 < y1 && a[x0] === b[y0]) {
      outA.push(x0++);
      outB.push(y0++);
    }
    let tail = 0;
    while (x1 - tail > x0 && y1 - tail > y0 && a[x1 - 1 - tail] === b[y1 - 1 - tail]) tail++;
    if (x0 < x1 - tail && y0 < y1 - tail) {
      const [xs, ys, xe, ye] = middle(x0, x1 - tail, y0, y1 - tail);
      solve(x0, x0 + xs, y0, y0 + ys);
      for (let k = 0; k < xe - xs; k++) {
        outA.push(x0 + xs + k);
        outB.push(y0 + ys + k);
      }
      solve(x0 + xe, x1 - tail, y0 + ye, y1 - tail);
    }
    for (let k = tail; k > 0; k--) {
      outA.push(x1 - k);
      outB.push(y1 - k);
    }
  };
  try {
    solve(a0, a1, b0, b1);
  } catch (e) {
    if (e !== OUT_OF_BUDGET) throw e;
    budget.left -= steps;
    return false;
  }
  budget.left -= steps;
  for (let k = 0; k < outA.length; k++) {
    ma.push(outA[k]);
    mb.push(outB[k]);
  }
  return true;
}

/**
 * Pushes matched line pairs (ascending) for a[a0,a1) × b[b0,b1). Patience-style: trim the
 * common ends, anchor on lines unique to both sides, recurse between anchors, and run Myers
 * only on what is left. Anchoring keeps Myers' D small on long documents with many edits.
 */
function matchLines(
  a: Int32Array,
  b: Int32Array,
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
    } else myers(a, b, a0, a1, b0, b1, budget, ma, mb);
  }
  for (let k = 0; k < tail; k++) {
    ma.push(a1 + k);
    mb.push(b1 + k);
  }
}

/** Longest increasing run (by b position) of ids occurring exactly once on each side (negative ids never anchor). */
function uniqueAnchors(
  a: Int32Array,
  b: Int32Array,
  a0: number,
  a1: number,
  b0: number,
  b1: number,
): [number, number][] {
  // Each id's position on a's side, or -1 once it is seen twice; then the same on b's side for
  // the ids unique on a's (numbers in the maps, not an object per line).
  const inA = new Map<number, number>();
  for (let i = a0; i < a1; i++) {
    const line = a[i];
    if (line >= 0) inA.set(line, inA.has(line) ? -1 : i);
  }
  const inB = new Map<number, number>();
  for (let j = b0; j < b1; j++) {
    const line = b[j];
    const ia = inA.get(line);
    if (ia !== undefined && ia >= 0) inB.set(line, inB.has(line) ? -1 : j);
  }
  const pairs: [number, number][] = [];
  for (const [line, jb] of inB) if (jb >= 0) pairs.push([inA.get(line)!, jb]);
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
 * Matched index pairs (ascending) of two sequences of keys: equal keys are matched, as many as
 * possible (patience anchors, then Myers within a work budget; what exceeds it stays unmatched).
 * For the rendered diff, which aligns blocks and words with it.
 */
export function matchSequences(a: readonly string[], b: readonly string[]): [number, number][] {
  const id = interner();
  const ia = idsOf(a, id),
    ib = idsOf(b, id);
  const ma: number[] = [],
    mb: number[] = [];
  matchLines(ia, ib, 0, ia.length, 0, ib.length, 0, { left: TOTAL_BUDGET }, ma, mb);
  return ma.map((x, k) => [x, mb[k]]);
}

/**
 * Matched index pairs (ascending) of two short sequences of keys, as a region's words are
 * matched: the common subsequence of the most weight when small, else Myers within the work
 * budget (nothing matched beyond it). For the words of one rendered paragraph.
 */
export function matchWords(
  a: readonly string[],
  b: readonly string[],
  weight: (i: number) => number,
): [number, number][] {
  const id = interner();
  const ia = idsOf(a, id),
    ib = idsOf(b, id);
  const ma: number[] = [],
    mb: number[] = [],
    budget = { left: TOTAL_BUDGET };
  if (ia.length * ib.length <= HEAVIEST_CELLS) heaviestMatches(ia, ib, weight, budget, ma, mb);
  else myers(ia, ib, 0, ia.length, 0, ib.length, budget, ma, mb);
  return ma.map((x, k) => [x, mb[k]]);
}

/**
 * How alike the texts of `a` and `b` are, pair by pair (Dice coefficient of their words,
 * letters and digits only), for `pairBySimilarity`; each text is read once.
 */
export function wordSimilarity(a: readonly string[], b: readonly string[]): (i: number, j: number) => number {
  const id = interner();
  const bag = (s: string) =>
    idsOf(
      tokenize(s).filter((t) => /[\p{L}\p{N}]/u.test(t)),
      id,
    ).sort();
  const ba = a.map(bag),
    bb = b.map(bag);
  return (i, j) => dice(ba[i], bb[j]);
}

/**
 * Pairs items of two sequences (both in order) by similarity: the monotone pairing with the
 * largest total similarity, counting only pairs whose similarity is at least `min`. `sim(i, j)`
 * is asked at most PAIR_CELLS times: longer sequences are compared only near their diagonal.
 */
export function pairBySimilarity(
  n: number,
  m: number,
  sim: (i: number, j: number) => number,
  min = MIN_SIMILARITY,
): [number, number][] {
  if (!n || !m) return [];
  const w = n * m <= PAIR_CELLS ? m : Math.max(1, Math.floor(PAIR_CELLS / (2 * n)));
  const score = new Float64Array((n + 1) * (m + 1)),
    from = new Uint8Array((n + 1) * (m + 1)); // 1: skip a[i-1], 2: skip b[j-1], 3: pair them
  const at = (i: number, j: number) => i * (m + 1) + j;
  for (let j = 1; j <= m; j++) from[at(0, j)] = 2;
  for (let i = 1; i <= n; i++) {
    from[at(i, 0)] = 1;
    const centre = Math.round(((i - 0.5) * m) / n);
    for (let j = 1; j <= m; j++) {
      let best = score[at(i - 1, j)],
        how = 1;
      if (score[at(i, j - 1)] > best) {
        best = score[at(i, j - 1)];
        how = 2;
      }
      if (Math.abs(j - centre) <= w) {
        const s = sim(i - 1, j - 1);
        if (s >= min && score[at(i - 1, j - 1)] + s > best) {
          best = score[at(i - 1, j - 1)] + s;
          how = 3;
        }
      }
      score[at(i, j)] = best;
      from[at(i, j)] = how;
    }
  }
  const out: [number, number][] = [];
  for (let i = n, j = m; i > 0 || j > 0; ) {
    const how = from[at(i, j)];
    if (how === 3) out.push([--i, --j]);
    else if (how === 1) i--;
    else j--;
  }
  return out.reverse();
}

/**
 * The common subsequence of the most characters (not the most tokens), by the textbook table:
 * where keeping "the" or "members" costs one token either way, keep "members". For short
 * regions only (HEAVIEST_CELLS); returns whether it ran.
 */
function heaviestMatches(
  a: Int32Array,
  b: Int32Array,
  weight: (i: number) => number,
  budget: Budget,
  ma: number[],
  mb: number[],
): boolean {
  const n = a.length,
    m = b.length,
    w = m + 1;
  const t = new Int32Array((n + 1) * w);
  const wt = new Int32Array(n);
  for (let i = 0; i < n; i++) wt[i] = weight(i);
  for (let i = n - 1; i >= 0; i--) {
    const ai = a[i],
      wi = wt[i],
      row = i * w,
      below = row + w;
    for (let j = m - 1; j >= 0; j--) {
      const skip = Math.max(t[below + j], t[row + j + 1]);
      t[row + j] = ai === b[j] ? Math.max(skip, t[below + j + 1] + wi) : skip;
    }
  }
  budget.left -= n * m;
  for (let i = 0, j = 0; i < n && j < m; ) {
    if (a[i] === b[j] && t[i * w + j] === t[(i + 1) * w + j + 1] + wt[i]) {
      ma.push(i++);
      mb.push(j++);
    } else if (t[(i + 1) * w + j] >= t[i * w + j + 1]) i++;
    else j++;
  }
  return true;
}

/** Positions of the tokens that are not whitespace. */
function wordsOf(tokens: string[]): number[] {
  const out: number[] = [];
  for (let k = 0; k < tokens.length; k++) if (!isSpace(tokens[k])) out.push(k);
  return out;
}

/**
 * The tokens between two matched words: no word of one side equals a word of the other there
 * (else Myers would have matched it), so only the whitespace at both ends can be kept.
 */
function gapDiff(ta: string[], i: number, ni: number, tb: string[], j: number, nj: number, out: Change[]): void {
  let head = 0;
  while (i + head < ni && j + head < nj && ta[i + head] === tb[j + head]) head++;
  let tail = 0;
  while (ni - tail > i + head && nj - tail > j + head && ta[ni - 1 - tail] === tb[nj - 1 - tail]) tail++;
  if (head) out.push({ op: 'equal', text: ta.slice(i, i + head).join('') });
  if (ni - tail > i + head) out.push({ op: 'delete', text: ta.slice(i + head, ni - tail).join('') });
  if (nj - tail > j + head) out.push({ op: 'insert', text: tb.slice(j + head, nj - tail).join('') });
  if (tail) out.push({ op: 'equal', text: ta.slice(ni - tail, ni).join('') });
}

/**
 * A lower bound on what Myers would spend on a × b: D is at least the number of tokens one
 * side has more of than the other (counted per token), and each of the D/2 rounds of the
 * middle snake visits up to min(N + M, 2·min(N, M) + 2) diagonals. Lets a region that is
 * sure to exceed its budget go straight to pairing instead of spending the budget first.
 */
function myersCost(a: Int32Array, b: Int32Array): number {
  const count = new Map<number, number>();
  for (const t of a) count.set(t, (count.get(t) ?? 0) + 1);
  for (const t of b) count.set(t, (count.get(t) ?? 0) - 1);
  let d = 0;
  for (const c of count.values()) d += Math.abs(c);
  const n = a.length,
    m = b.length;
  return (d / 2) * Math.min(n + m, 2 * Math.min(n, m) + 2);
}

/** Dice coefficient of two bags of word ids (sorted ascending): 2·common / (|a| + |b|). */
function dice(a: Int32Array, b: Int32Array): number {
  if (!a.length && !b.length) return 1;
  let i = 0,
    j = 0,
    common = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      common++;
      i++;
      j++;
    } else if (a[i] < b[j]) i++;
    else j++;
  }
  return (2 * common) / (a.length + b.length);
}

/** Groups of lines: each paragraph with the blank lines after it (or, if that gives one group, each line). */
function units(lines: string[]): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  lines.forEach((line, k) => {
    cur.push(line);
    if (isBlank(line) && k + 1 < lines.length && !isBlank(lines[k + 1])) {
      out.push(cur);
      cur = [];
    }
  });
  if (cur.length) out.push(cur);
  return out.length > 1 || lines.length < 2 ? out : lines.map((l) => [l]);
}

/**
 * Word-diffs one changed region (trimmed to its differing middle) into `out`. If that is too
 * costly, the region's paragraphs (or lines) are paired by similarity and each pair diffed on
 * its own; the unpaired stretches between pairs are diffed as regions of their own once more.
 */
function regionDiff(fromLines: string[], toLines: string[], budget: Budget, out: Change[], depth: number): void {
  const from = fromLines.join(''),
    to = toLines.join('');
  if (!from || !to) {
    out.push({ op: 'delete', text: from }, { op: 'insert', text: to });
    return;
  }
  const ta = tokenize(from),
    tb = tokenize(to);
  const id = interner();
  // Myers runs on the words and signs only, as git's word diff does: whitespace never wins a
  // match over a word (keeping "\n" instead of "the" is as short an edit, but marks more).
  const wa = wordsOf(ta),
    wb = wordsOf(tb);
  const ia = idsOf(wa, (k) => id(ta[k])),
    ib = idsOf(wb, (k) => id(tb[k]));
  const ma: number[] = [],
    mb: number[] = [];
  if (
    (ia.length * ib.length <= HEAVIEST_CELLS
      ? heaviestMatches(ia, ib, (k) => ta[wa[k]].length, budget, ma, mb)
      : myersCost(ia, ib) <= Math.min(WHOLE_REGION, budget.left)) &&
    (ma.length > 0 || myers(ia, ib, 0, ia.length, 0, ib.length, budget, ma, mb))
  ) {
    let i = 0,
      j = 0;
    for (let k = 0; k <= ma.length; k++) {
      const ni = k < ma.length ? wa[ma[k]] : ta.length,
        nj = k < mb.length ? wb[mb[k]] : tb.length;
      gapDiff(ta, i, ni, tb, j, nj, out);
      if (k < ma.length) out.push({ op: 'equal', text: ta[ni] });
      i = ni + 1;
      j = nj + 1;
    }
    return;
  }
  const ua = units(fromLines),
    ub = units(toLines);
  if (depth >= 2 || (ua.length < 2 && ub.length < 2)) {
    out.push({ op: 'delete', text: from }, { op: 'insert', text: to });
    return;
  }
  // Each unit as a sorted bag of word ids (whitespace and punctuation do not make paragraphs alike).
  const bag = (u: string[]) =>
    idsOf(
      tokenize(u.join('')).filter((t) => /[\p{L}\p{N}]/u.test(t)),
      id,
    ).sort();
  const bagsA = ua.map(bag),
    bagsB = ub.map(bag);
  const pairs = pairBySimilarity(ua.length, ub.length, (i, j) => dice(bagsA[i], bagsB[j]));
  let i = 0,
    j = 0;
  for (const [pi, pj] of [...pairs, [ua.length, ub.length] as [number, number]]) {
    if (pi > i || pj > j) {
      const ga = ua.slice(i, pi).flat(),
        gb = ub.slice(j, pj).flat();
      // An unpaired stretch: one more try as a whole (small), else as it is.
      if (pairs.length) regionDiff(ga, gb, budget, out, 2);
      else out.push({ op: 'delete', text: ga.join('') }, { op: 'insert', text: gb.join('') });
    }
    if (pi < ua.length) regionDiff(ua[pi], ub[pj], budget, out, depth + 1);
    i = pi + 1;
    j = pj + 1;
  }
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

/** Marks the changes `coarseDiff` made (a property no copy or JSON keeps). */
const COARSE = Symbol('coarse');

/**
 * Whether these changes are `coarseDiff`'s: a stand-in for a word diff that could not be made in
 * time, to show but not to keep where the word diff will be tried again (anchors followed
 * through it may be called outdated that the word diff would find).
 */
export const isCoarse = (changes: readonly Change[]): boolean =>
  (changes as unknown as Record<symbol, unknown>)[COARSE] === true;

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
  const changes = parts.filter((c) => c.text !== '');
  Object.defineProperty(changes, COARSE, { value: true });
  return changes;
}
