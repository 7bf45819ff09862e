/**
 * An ordered index used as a queue (the mail worker takes the messages due from its front):
 * taking from the front, across the compaction of the slots left behind, interleaved with
 * insertions before, among and after the rest, answers every query as a sorted list would.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { CollectionIndexes } from '../../server/store/meta/secondaryIndexes.js';
import { runs } from '../helpers/depth.js';

describe('store/indexQueue', () => {
  interface Job {
    state: 'waiting' | 'done';
    due: string;
  }
  const at = (n: number) =>
    `2026-01-01T00:${String(Math.floor(n / 60) % 60).padStart(2, '0')}:${String(n % 60).padStart(2, '0')}Z`;

  test('a queue taken from its front, with insertions anywhere, equals a sorted list at every step', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant('take' as const), fc.integer({ min: 0, max: 3599 })), {
          minLength: 1,
          maxLength: 400,
        }),
        (ops) => {
          const ix = new CollectionIndexes<Job>({
            due: { key: (j) => (j.state === 'waiting' ? 'w' : undefined), order: (j) => j.due },
          });
          const records = new Map<string, Job>();
          let next = 1;
          // 2,500 waiting at first, so the front passes the point where it is compacted.
          for (; next <= 2500; next++) {
            const j: Job = { state: 'waiting', due: at(next % 3600) };
            records.set(String(next), j);
            ix.put(String(next), undefined, false, j);
          }
          const model = () =>
            [...records]
              .filter(([, j]) => j.state === 'waiting')
              .sort(([a, x], [b, y]) => (x.due < y.due ? -1 : x.due > y.due ? 1 : Number(a) - Number(b)))
              .map(([id]) => id);
          for (const op of [...ops, ...Array(1500).fill('take')]) {
            if (op === 'take') {
              const first = ix.oldest('due', 'w', 1)[0];
              if (first === undefined) continue;
              const old = records.get(first)!;
              const done: Job = { ...old, state: 'done' };
              ix.put(first, old, true, done);
              records.set(first, done);
            } else {
              const j: Job = { state: 'waiting', due: at(op) };
              const id = String(next++);
              records.set(id, j);
              ix.put(id, undefined, false, j);
            }
          }
          const want = model();
          expect(ix.count('due', 'w')).toBe(want.length);
          expect(ix.ids('due', 'w')).toEqual(want);
          expect(ix.oldest('due', 'w', 5)).toEqual(want.slice(0, 5));
          expect(ix.newest('due', 'w', 5)).toEqual(want.slice(-5).reverse());
        },
      ),
      runs(40),
    );
  });
});
