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

const label = (ids: number[]) => (ids.length ? `consolidated text (proposal${ids.length > 1 ? 's' : ''} ${ids.join(', ')})` : 'published text');

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
      out.push(`${OPEN}${label(earlier)}\n`, ...k.a.map(ensureNl), `${SEP}\n`, ...k.b.map(ensureNl), `${CLOSE}proposal ${p.id}: ${p.title.replace(/\n/g, ' ')}\n`);
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

const BLOCK = /^<<<<<<< (.*)\n([\s\S]*?)^=======\n([\s\S]*?)^>>>>>>> (.*)$\n?/gm;

/** The conflict blocks still in a text, with the proposals their labels name. */
export function findConflicts(text: string): ConflictBlock[] {
  const out: ConflictBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const ids = new Set<number>();
    for (const l of [m[1], m[4]]) for (const n of l.matchAll(/\b(?:proposals?|,)\s*(\d+)/g)) ids.add(Number(n[1]));
    out.push({ proposals: [...ids].sort((a, b) => a - b), text: m[0] });
  }
  return out;
}

/** Marker lines left alone (a half-deleted block) also count as unresolved. */
export function hasConflictMarkers(text: string): boolean {
  return findConflicts(text).length > 0 || /^(<<<<<<< |>>>>>>> )/m.test(text);
}
