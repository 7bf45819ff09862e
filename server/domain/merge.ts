import { diffArrays } from 'diff';
import { diff3Merge } from 'node-diff3';

/**
 * Consolidation: the published text with chosen proposals merged in, three-way, in order.
 * Each proposal's change is its base text → its head text, applied onto the running text.
 * Overlapping changes become conflict blocks in the text, git-style, naming the proposals
 * involved, until the chair edits them away. Merging is by lines (a markdown paragraph is a
 * line), the same granularity git uses: two proposals touching one paragraph conflict.
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

const lines = (s: string): string[] => [...(s.match(/[^\n]*\n|[^\n]+$/g) ?? [])];
const ensureNl = (s: string) => (s.endsWith('\n') ? s : `${s}\n`);

export const OPEN = '<<<<<<< ';
export const SEP = '=======';
export const CLOSE = '>>>>>>> ';

const label = (ids: number[]) =>
  ids.length ? `consolidated text (proposal${ids.length > 1 ? 's' : ''} ${ids.join(', ')})` : 'published text';

/** Merge proposals one after another onto `published`; one step per proposal. */
export function mergeProposals(published: string, proposals: MergeInput[]): MergeStep[] {
  let running: string[] = lines(published);
  // Which proposals put each line there, and which removed something just before it.
  let prov: number[][] = running.map(() => []);
  let gaps: number[][] = Array.from({ length: running.length + 1 }, () => []);
  const steps: MergeStep[] = [];
  for (const p of proposals) {
    const chunks = diff3Merge(running, lines(p.base), lines(p.head), { excludeFalseConflicts: true });
    const out: string[] = [];
    let conflicts = 0;
    for (const c of chunks) {
      if ('ok' in c && c.ok) {
        out.push(...c.ok);
        continue;
      }
      const k = c.conflict!;
      const involved = new Set<number>();
      for (let i = k.aIndex; i < k.aIndex + k.a.length; i++) prov[i]?.forEach((x) => involved.add(x));
      for (let i = k.aIndex; i <= k.aIndex + k.a.length; i++) gaps[i]?.forEach((x) => involved.add(x));
      const earlier = [...involved].filter((x) => x !== p.id).sort((a, b) => a - b);
      out.push(
        `${OPEN}${label(earlier)}\n`,
        ...k.a.map(ensureNl),
        `${SEP}\n`,
        ...k.b.map(ensureNl),
        `${CLOSE}proposal ${p.id}: ${p.title.replace(/\n/g, ' ')}\n`,
      );
      conflicts++;
    }
    // Provenance of the new text: unchanged lines keep theirs; new lines are this proposal's.
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
    steps.push({ proposal: p.id, text: out.join(''), conflicts });
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
