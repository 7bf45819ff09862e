/**
 * The round rules (PRODUCT.md rules 2–4) as properties against a small, independent
 * reference model in exact BigInt arithmetic: for any electorate size, any quorum (held as
 * ten-thousandths), any mix of counted ballots, `result()` must agree with the model.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { DomainError } from '../../server/domain/errors.js';
import {
  ballotsNeeded,
  checkPosition,
  countedBallots,
  everyoneVoted,
  quorumToBp,
  result,
  RULES,
  tally,
  type Cast,
  type Position,
  type Rule,
  type Tally,
} from '../../server/domain/round.js';
import { runs } from '../helpers/depth.js';

describe('domain/round', () => {
  // ---------------------------------------------------------------- the reference model

  /** ⌈bp/10000 × E⌉ in BigInt: (bp·E + 9999) div 10000. */
  const modelNeeded = (bp: number, E: number): bigint => (BigInt(bp) * BigInt(E) + 9999n) / 10000n;

  function model(
    rule: Rule,
    bp: number,
    E: number,
    approve: number,
    object: number,
    abstain: number,
  ): 'passed' | 'failed' | 'no-quorum' {
    const a = BigInt(approve);
    const o = BigInt(object);
    const cast = a + o + BigInt(abstain);
    // Quorum met iff cast ≥ ⌈q·E⌉; for an integer cast that is cast·10000 ≥ bp·E — check both agree.
    const metByCeil = cast >= modelNeeded(bp, E);
    const metByProduct = cast * 10000n >= BigInt(bp) * BigInt(E);
    if (metByCeil !== metByProduct) throw new Error('the model disagrees with itself');
    if (!metByCeil) return 'no-quorum';
    switch (rule) {
      case 'consensus':
        return o === 0n ? 'passed' : 'failed';
      case 'majority':
        return a > o ? 'passed' : 'failed';
      case 'two-thirds':
        return a >= 1n && 3n * a >= 2n * (a + o) ? 'passed' : 'failed';
    }
  }

  /** An electorate size 0–200, a quorum 0–10000 bp, and counts approve+object+abstain ≤ E. */
  const scenario = fc
    .record({
      E: fc.integer({ min: 0, max: 200 }),
      bp: fc.oneof(
        fc.integer({ min: 0, max: 10000 }),
        fc.constantFrom(0, 1, 3333, 3334, 5000, 6666, 6667, 9999, 10000),
      ),
      rule: fc.constantFrom(...RULES),
      w: fc.tuple(fc.nat(1000), fc.nat(1000), fc.nat(1000), fc.nat(1000)),
    })
    .map(({ E, bp, rule, w }) => {
      // Spread E over approve/object/abstain/notVoted by the weights (all splits reachable).
      const sum = w[0] + w[1] + w[2] + w[3] || 1;
      const approve = Math.floor((E * w[0]) / sum);
      const object = Math.floor((E * w[1]) / sum);
      const abstain = Math.min(E - approve - object, Math.floor((E * w[2]) / sum));
      return { E, bp, rule, approve, object, abstain };
    });

  /** Small cases enumerated densely too (every split of small electorates). */
  const smallScenario = fc
    .record({
      E: fc.integer({ min: 0, max: 12 }),
      bp: fc.integer({ min: 0, max: 10000 }),
      rule: fc.constantFrom(...RULES),
      a: fc.nat(12),
      o: fc.nat(12),
      x: fc.nat(12),
    })
    .filter(({ E, a, o, x }) => a + o + x <= E)
    .map(({ E, bp, rule, a, o, x }) => ({ E, bp, rule, approve: a, object: o, abstain: x }));

  const tallyOf = (E: number, approve: number, object: number, abstain: number): Tally => ({
    approve,
    object,
    abstain,
    notVoted: E - approve - object - abstain,
    recused: 0,
    groups: {},
  });

  describe('result() equals the reference model (rule 3)', () => {
    test('any electorate 0–200, any quorum in ten-thousandths, any mix of counted ballots', () => {
      fc.assert(
        fc.property(scenario, ({ E, bp, rule, approve, object, abstain }) => {
          expect(approve + object + abstain).toBeLessThanOrEqual(E);
          expect(result(rule, bp, E, tallyOf(E, approve, object, abstain))).toBe(
            model(rule, bp, E, approve, object, abstain),
          );
        }),
        runs(3000),
      );
    });

    test('dense small electorates (0–12), every split', () => {
      fc.assert(
        fc.property(smallScenario, ({ E, bp, rule, approve, object, abstain }) => {
          expect(result(rule, bp, E, tallyOf(E, approve, object, abstain))).toBe(
            model(rule, bp, E, approve, object, abstain),
          );
        }),
        runs(3000),
      );
    });

    test('exhaustive for E ≤ 9 at the quorums that trip floats (1/3, 2/3, 0.6667, 0.1, 0.7, 1)', () => {
      // Every case where the two differ, in one expectation (21,450 cases: an expect call each was most of the time).
      const differ: unknown[] = [];
      for (const bp of [0, 1, 1000, 3333, 3334, 6666, 6667, 7000, 9999, 10000]) {
        for (let E = 0; E <= 9; E++) {
          for (let a = 0; a <= E; a++) {
            for (let o = 0; a + o <= E; o++) {
              for (let x = 0; a + o + x <= E; x++) {
                for (const rule of RULES) {
                  const got = result(rule, bp, E, tallyOf(E, a, o, x));
                  const want = model(rule, bp, E, a, o, x);
                  if (got !== want) differ.push({ rule, bp, E, approve: a, object: o, abstain: x, got, want });
                }
              }
            }
          }
        }
      }
      expect(differ).toEqual([]);
    });

    test('no-quorum iff cast < ⌈q·E⌉, and ballotsNeeded is that ceiling exactly', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 10000 }), (E, bp) => {
          expect(BigInt(ballotsNeeded(bp, E))).toBe(modelNeeded(bp, E));
        }),
        runs(3000),
      );
    });

    test('quorum 1 with an electorate of 3 needs all 3 ballots', () => {
      expect(ballotsNeeded(10000, 3)).toBe(3);
      expect(result('consensus', 10000, 3, tallyOf(3, 2, 0, 0))).toBe('no-quorum');
      expect(result('consensus', 10000, 3, tallyOf(3, 2, 0, 1))).toBe('passed');
      expect(result('majority', 10000, 3, tallyOf(3, 1, 1, 1))).toBe('failed');
    });

    test('quorum 0.6667 of 3 is ⌈2.0001⌉ = 3, quorum 0.6666 of 3 is 2 (no float rounding)', () => {
      expect(ballotsNeeded(6667, 3)).toBe(3);
      expect(ballotsNeeded(6666, 3)).toBe(2);
      expect(ballotsNeeded(5000, 3)).toBe(2);
      expect(ballotsNeeded(5000, 4)).toBe(2);
      expect(ballotsNeeded(1, 1)).toBe(1);
    });

    test('an empty electorate: quorum trivially met; consensus passes on silence, majority and two-thirds fail', () => {
      const t = tallyOf(0, 0, 0, 0);
      for (const bp of [0, 5000, 10000]) {
        expect(ballotsNeeded(bp, 0)).toBe(0);
        expect(result('consensus', bp, 0, t)).toBe('passed');
        expect(result('majority', bp, 0, t)).toBe('failed');
        expect(result('two-thirds', bp, 0, t)).toBe('failed');
      }
    });

    test('the rules at their boundaries', () => {
      // consensus is a silence procedure: abstentions and silence pass, one objection fails.
      expect(result('consensus', 0, 50, tallyOf(50, 0, 0, 0))).toBe('passed');
      expect(result('consensus', 0, 50, tallyOf(50, 40, 1, 0))).toBe('failed');
      // majority: a tie fails.
      expect(result('majority', 5000, 10, tallyOf(10, 3, 3, 0))).toBe('failed');
      expect(result('majority', 5000, 10, tallyOf(10, 3, 2, 0))).toBe('passed');
      // two-thirds: exactly 2/3 passes, just below fails, abstentions only fail.
      expect(result('two-thirds', 0, 9, tallyOf(9, 6, 3, 0))).toBe('passed');
      expect(result('two-thirds', 0, 9, tallyOf(9, 5, 3, 0))).toBe('failed');
      expect(result('two-thirds', 0, 9, tallyOf(9, 0, 0, 9))).toBe('failed');
      expect(result('two-thirds', 0, 9, tallyOf(9, 1, 0, 8))).toBe('passed');
    });
  });

  describe('quorumToBp: a fraction 0–1 with at most four decimals', () => {
    test.each([
      [0, 0],
      [1, 10000],
      [0.5, 5000],
      [0.6667, 6667],
      [0.0001, 1],
      [0.3333, 3333],
      [0.07, 700],
    ])('%p → %p', (q, bp) => {
      expect(quorumToBp(q)).toBe(bp);
    });

    test.each([
      [-0.1],
      [1.01],
      [NaN],
      ['0.5'],
      [0.12345],
      [Infinity],
      [-Infinity],
      [null],
      [undefined],
      [{}],
      [0.00001],
      [2],
    ])('%p is refused with invalid_quorum', (q) => {
      let err: unknown;
      try {
        quorumToBp(q);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DomainError);
      expect((err as DomainError).kind).toBe('invalid');
      expect((err as DomainError).code).toBe('invalid_quorum');
    });

    test('property: every k/10000 round-trips to k', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 10000 }), (k) => {
          expect(quorumToBp(k / 10000)).toBe(k);
        }),
        runs(2000),
      );
    });
  });

  describe('checkPosition (rule 2)', () => {
    const codeOf = (p: Position, r?: string | null) => {
      try {
        checkPosition(p, r);
        return 'ok';
      } catch (e) {
        return `${(e as DomainError).kind}/${(e as DomainError).code}`;
      }
    };

    test('approve and abstain need no reason; object needs one', () => {
      expect(checkPosition('approve', undefined)).toEqual({ position: 'approve', reason: '' });
      expect(checkPosition('abstain', null)).toEqual({ position: 'abstain', reason: '' });
      expect(checkPosition('object', '  Too vague.  ')).toEqual({ position: 'object', reason: 'Too vague.' });
      expect(codeOf('object')).toBe('invalid/reason_required');
      expect(codeOf('object', '')).toBe('invalid/reason_required');
      expect(codeOf('object', '   \n ')).toBe('invalid/reason_required');
      expect(codeOf('object', null)).toBe('invalid/reason_required');
    });

    // An unknown position, or a reason that is not text, is the schema's refusal (test/http/apiSchemas.test.ts).
    test('a reason over 5,000 characters is refused', () => {
      expect(codeOf('object', 'x'.repeat(5001))).toBe('invalid/invalid_reason');
      expect(codeOf('object', 'x'.repeat(5000))).toBe('ok');
    });
  });

  // ---------------------------------------------------------------- tally / countedBallots

  const POS: Position[] = ['approve', 'object', 'abstain'];

  /** Casts by voters 1–15 (electorate: a subset of 1–10, so 11–15 are never eligible). */
  const castsArb = fc.array(
    fc.record({ voterId: fc.integer({ min: 1, max: 15 }), position: fc.constantFrom(...POS) }),
    {
      maxLength: 60,
    },
  );
  const electorateArb = fc.uniqueArray(fc.integer({ min: 1, max: 10 }), { maxLength: 10 });

  const asCasts = (xs: { voterId: number; position: Position }[]): Cast[] =>
    xs.map((x, i) => ({ ...x, castAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString() }));

  /** Model: the latest cast of each eligible voter. */
  function modelTally(casts: Cast[], electorate: number[]): Tally {
    const last = new Map<number, Position>();
    for (const c of casts) if (electorate.includes(c.voterId)) last.set(c.voterId, c.position);
    const t: Tally = {
      approve: 0,
      object: 0,
      abstain: 0,
      notVoted: electorate.length - last.size,
      recused: 0,
      groups: {},
    };
    for (const p of last.values()) t[p]++;
    return t;
  }

  describe('tally and countedBallots (rule 2: one counted ballot per voter, the latest)', () => {
    test('the latest cast per voter counts', () => {
      const casts = asCasts([
        { voterId: 1, position: 'object' },
        { voterId: 2, position: 'approve' },
        { voterId: 1, position: 'approve' },
        { voterId: 2, position: 'abstain' },
        { voterId: 1, position: 'object' },
      ]);
      const counted = countedBallots(casts, [1, 2, 3]);
      expect([...counted.keys()].sort()).toEqual([1, 2]);
      expect(counted.get(1)).toBe(casts[4]);
      expect(counted.get(2)).toBe(casts[3]);
      expect(tally(casts, [1, 2, 3])).toEqual({
        approve: 0,
        object: 1,
        abstain: 1,
        notVoted: 1,
        recused: 0,
        groups: {},
      });
    });

    test('casts by people outside the electorate are ignored', () => {
      const casts = asCasts([
        { voterId: 7, position: 'object' },
        { voterId: 1, position: 'approve' },
        { voterId: 8, position: 'object' },
      ]);
      expect(tally(casts, [1, 2])).toEqual({ approve: 1, object: 0, abstain: 0, notVoted: 1, recused: 0, groups: {} });
      expect(countedBallots(casts, [1, 2]).has(7)).toBe(false);
      expect(tally(casts, [])).toEqual({ approve: 0, object: 0, abstain: 0, notVoted: 0, recused: 0, groups: {} });
    });

    test('property: tally equals the model; the counts add up to the electorate', () => {
      fc.assert(
        fc.property(castsArb, electorateArb, (xs, electorate) => {
          const casts = asCasts(xs);
          const t = tally(casts, electorate);
          expect(t).toEqual(modelTally(casts, electorate));
          expect(t.approve + t.object + t.abstain + t.notVoted).toBe(electorate.length);
          expect(everyoneVoted(t)).toBe(electorate.every((v) => xs.some((c) => c.voterId === v)));
          const counted = countedBallots(casts, electorate);
          for (const [voter, c] of counted) {
            expect(electorate).toContain(voter);
            expect(c.voterId).toBe(voter);
            // It is the last cast of that voter.
            expect(casts.lastIndexOf(c)).toBe(casts.map((x) => x.voterId).lastIndexOf(voter));
          }
        }),
        runs(1000),
      );
    });

    test('property: re-casting never changes how many voters are counted', () => {
      fc.assert(
        fc.property(castsArb, electorateArb, fc.nat(), fc.constantFrom(...POS), (xs, electorate, pick, position) => {
          const casts = asCasts(xs);
          const voted = [...new Set(xs.map((c) => c.voterId))];
          fc.pre(voted.length > 0);
          const again = voted[pick % voted.length];
          const before = tally(casts, electorate);
          const after = tally(asCasts([...xs, { voterId: again, position }]), electorate);
          const n = (t: Tally) => t.approve + t.object + t.abstain;
          expect(n(after)).toBe(n(before));
          expect(after.notVoted).toBe(before.notVoted);
          expect(countedBallots(asCasts([...xs, { voterId: again, position }]), electorate).size).toBe(
            countedBallots(casts, electorate).size,
          );
        }),
        runs(1000),
      );
    });
  });
});
