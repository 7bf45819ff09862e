/**
 * The ids a snapshot walks (`CollectionIds.plan`): the numeric ids present when it begins, as a
 * copy of their bits, ascending, then the others in the order first stored; a kind with an id
 * beyond the bits is listed from the collection instead.
 */
import { describe, expect, test } from '@jest/globals';
import { BITS_UP_TO, CollectionIds, idsIn } from '../../server/store/meta/collectionIds.js';

describe('store/collectionIds', () => {
  const walk = (numeric: Uint8Array | string[]) => (Array.isArray(numeric) ? numeric : [...idsIn(numeric)]);

  describe('the ids a snapshot walks', () => {
    test('the numeric ids present, ascending, as they were when the plan was made; then the others', () => {
      const ids = new CollectionIds();
      for (const id of ['7', '0', 'terms', '12000', '9', 'rules', '8']) ids.add('docs', id);
      ids.del('docs', '9');
      ids.del('docs', 'terms');
      // Deleting an id beyond those ever stored changes nothing.
      ids.del('docs', '5000000');
      const [plan] = ids.plan({});
      ids.add('docs', '10');
      ids.del('docs', '7');
      expect(plan.kind).toBe('docs');
      expect(walk(plan.numeric)).toEqual(['0', '7', '8', '12000']);
      expect(plan.others).toEqual(['rules']);
      expect(walk(ids.plan({})[0].numeric)).toEqual(['0', '8', '10', '12000']);
      expect(ids.maxIndexOf('docs')).toBe(12000);
    });

    test('a sparse kind costs a bit an id up to its largest, and no list of its keys', () => {
      const ids = new CollectionIds();
      for (let i = 0; i < 100; i++) ids.add('mails', String(12_000_000 + i));
      const [plan] = ids.plan({});
      expect(plan.numeric).toBeInstanceOf(Uint8Array);
      expect((plan.numeric as Uint8Array).byteLength).toBe(Math.floor((12_000_099 >>> 3) + 1));
      expect(walk(plan.numeric)).toHaveLength(100);
    });

    test('a kind with an id beyond the bits is listed from the collection', () => {
      const ids = new CollectionIds();
      const big = String(BITS_UP_TO + 5);
      ids.add('odd', '3');
      ids.add('odd', big);
      const [plan] = ids.plan({ odd: { 3: {}, [big]: {} } });
      expect(walk(plan.numeric)).toEqual(['3', big]);
    });
  });
});
