import type { Tally } from '../../domain/round.js';

/**
 * The tally bar: a round's counts as segments whose widths are class names (`.w-0` … `.w-100`),
 * because the CSP forbids inline styles, with the whole tally as one sentence beside it.
 */

export type TallyKey = 'approve' | 'object' | 'abstain' | 'notVoted';
const TALLY_LABELS: Record<TallyKey, string> = {
  approve: 'Approve',
  object: 'Object',
  abstain: 'Abstain',
  notVoted: 'Not voted',
};
const KEYS: TallyKey[] = ['approve', 'object', 'abstain', 'notVoted'];

/**
 * Segment widths in steps of 5% (width classes `.w-0` … `.w-100`): largest remainders, so
 * they add up to 100, and every non-zero count keeps at least one step so it stays visible.
 */
export function tallyWidths(counts: number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return counts.map(() => 0);
  const exact = counts.map((n) => (n * 20) / total);
  const units = exact.map(Math.floor);
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (let k = 0, left = 20 - units.reduce((a, b) => a + b, 0); left > 0; k++, left--)
    units[order[k % order.length].i]++;
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] > 0 && units[i] === 0) {
      const donor = units.indexOf(Math.max(...units));
      units[donor]--;
      units[i]++;
    }
  }
  return units.map((u) => u * 5);
}

export interface TallyView {
  segments: { key: TallyKey; cls: string; label: string; n: number; width: number }[];
  electorate: number;
  cast: number;
  /** Electors who stood aside (not in the bar, not in the electorate counted). */
  recused: number;
  /** The whole tally as one sentence (the bar's text alternative, and the printed line). */
  text: string;
}

export function tallyView(t: Omit<Tally, 'groups' | 'recused'> & { recused?: number }): TallyView {
  const counts = KEYS.map((k) => t[k]);
  const widths = tallyWidths(counts);
  const segments = KEYS.map((key, i) => ({
    key,
    cls: key === 'notVoted' ? 'not-voted' : key,
    label: TALLY_LABELS[key],
    n: counts[i],
    width: widths[i],
  }));
  const electorate = counts.reduce((a, b) => a + b, 0);
  return {
    segments,
    electorate,
    cast: t.approve + t.object + t.abstain,
    recused: t.recused ?? 0,
    text: `${t.approve} approve, ${t.object} object, ${t.abstain} abstain, ${t.notVoted} did not vote (of ${electorate})${t.recused ? `; ${t.recused} recused` : ''}`,
  };
}
