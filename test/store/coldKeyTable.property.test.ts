/**
 * The sorted table of cold records' keys (server/store/meta/coldKeyTable.ts) against a model:
 * for any entries (ids ascending, keys of two parts or whole, some without a key) and a keys
 * list that numbers one string several times (as the keys file does after restarts), the ids
 * under each key are exactly those a filter gives, ascending; a key never seen gives none.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { ColdKeyTable } from '../../server/store/meta/coldKeyTable.js';
import { runs } from '../helpers/depth.js';

describe('store/coldKeyTable.property', () => {
  // A key is cut at its first separator, so a first part never holds one; a second part may.
  const PARTS = ['a@x', 'b@x', '<t1@x>', '<t2@x>', 'c d', ''];
  const HEADS = PARTS.filter((p) => !p.includes(' '));

  const entries = fc
    .array(
      fc.record({
        gap: fc.integer({ min: 1, max: 5 }),
        head: fc.option(fc.constantFrom(...HEADS), { nil: undefined }),
        tail: fc.option(fc.constantFrom(...PARTS), { nil: undefined }),
      }),
      { maxLength: 60 },
    )
    .map((list) => {
      let id = 0;
      return list.map(({ gap, head, tail }) => ({ id: (id += gap), head, tail }));
    });

  describe('cold key table', () => {
    // `pad` other parts numbered first: past 65,535 parts the table's columns are 32-bit, not 16.
    test.each([
      ['fewer than 65,536 parts', 0, 200],
      ['more than 65,536 parts', 70_000, 4],
    ])('the ids under each key are those a filter gives, ascending (%s)', (_, pad, n) => {
      const filler = Array.from({ length: pad }, (_, i) => `<other-${i}@x>`);
      fc.assert(
        fc.property(entries, fc.integer({ min: 1, max: 3 }), (list, copies) => {
          // Every part numbered `copies` times, interleaved: the table must treat them as one.
          const keys: string[] = [...filler];
          for (let c = 0; c < copies; c++) keys.push(...PARTS);
          const noOf = (s: string, id: number) => pad + PARTS.indexOf(s) + PARTS.length * (id % copies);
          const table = ColdKeyTable.build(' ', keys, list.length, (tell) => {
            for (const e of list)
              tell(
                e.id,
                e.head === undefined ? -1 : noOf(e.head, e.id),
                e.tail === undefined ? -1 : noOf(e.tail, e.id),
              );
          });
          const keyOf = (e: (typeof list)[number]) =>
            e.tail === undefined ? undefined : e.head === undefined ? e.tail : `${e.head} ${e.tail}`;
          expect(table.size).toBe(list.filter((e) => e.tail !== undefined).length);
          const probes = new Set<string>(['nobody <t9@x>', 'a@x', 'a@x <t1@x>', ' <t1@x>']);
          for (const e of list) if (keyOf(e) !== undefined) probes.add(keyOf(e)!);
          for (const key of probes) {
            // A whole key that holds the separator reads as two parts: only two-part keys hold it.
            const want = list.filter((e) => keyOf(e) === key && (e.head !== undefined || !e.tail!.includes(' ')));
            expect([...table.ids(key)]).toEqual(want.map((e) => e.id));
          }
        }),
        runs(n),
      );
    });

    test('an index without a separator keeps whole keys', () => {
      const table = ColdKeyTable.build(undefined, ['x y', 'z'], 3, (tell) => {
        tell(1, -1, 0);
        tell(2, -1, 1);
        tell(5, -1, 0);
      });
      expect([...table.ids('x y')]).toEqual([1, 5]);
      expect([...table.ids('z')]).toEqual([2]);
      expect([...table.ids('x')]).toEqual([]);
    });
  });
});
