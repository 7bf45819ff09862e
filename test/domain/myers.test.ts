import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { myersMatches } from '../../server/domain/diff.js';
import { runs } from '../helpers/depth.js';

describe('domain/myers', () => {
  /** Length of a longest common subsequence, by the textbook table. */
  function lcsLength(a: number[], b: number[]): number {
    const row = new Array<number>(b.length + 1).fill(0);
    for (const x of a) {
      let diag = 0;
      for (let j = 1; j <= b.length; j++) {
        const up = row[j];
        row[j] = x === b[j - 1] ? diag + 1 : Math.max(row[j], row[j - 1]);
        diag = up;
      }
    }
    return row[b.length];
  }

  describe('myersMatches (linear-space Myers)', () => {
    const seq = (alphabet: number, max: number) =>
      fc.array(fc.integer({ min: 0, max: alphabet - 1 }), { maxLength: max });
    test.each([
      ['two letters', 2, 30, 30],
      ['four letters', 4, 40, 40],
      ['lopsided', 3, 5, 80],
      ['lopsided the other way', 3, 80, 5],
      ['many letters', 20, 60, 60],
    ])('is a longest common subsequence: %s', (_name, alphabet, maxA, maxB) => {
      fc.assert(
        fc.property(seq(alphabet, maxA), seq(alphabet, maxB), (a, b) => {
          const m = myersMatches(a, b);
          m.forEach(([i, j], k) => {
            expect(a[i]).toBe(b[j]);
            if (k > 0) {
              expect(i).toBeGreaterThan(m[k - 1][0]);
              expect(j).toBeGreaterThan(m[k - 1][1]);
            }
          });
          expect(m.length).toBe(lcsLength(a, b));
        }),
        runs(1000),
      );
    });
  });
});
