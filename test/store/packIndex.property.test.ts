/**
 * A version-2 pack index asked whether it lists an object (server/store/git/packfile.ts
 * `idxLists`: a binary search in the fan-out range of the id's first byte) against a model, the
 * list of ids it holds: for any sorted set of ids, crowded on a few first bytes or spread, every
 * id listed is found and no other is.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { idxLists, idxObjectIds } from '../../server/store/git/packfile.js';
import { runs } from '../helpers/depth.js';

describe('store/packIndex.property', () => {
  /** The parts of a version-2 index that lookups read: header, fan-out, sorted ids (the rest left out). */
  function indexOf(ids: string[]): Buffer {
    const sorted = [...new Set(ids)].sort();
    const buf = Buffer.alloc(8 + 256 * 4 + sorted.length * 20);
    buf.writeUInt32BE(0xff744f63, 0);
    buf.writeUInt32BE(2, 4);
    for (let b = 0; b < 256; b++)
      buf.writeUInt32BE(sorted.filter((id) => parseInt(id.slice(0, 2), 16) <= b).length, 8 + b * 4);
    sorted.forEach((id, i) => Buffer.from(id, 'hex').copy(buf, 8 + 256 * 4 + i * 20));
    return buf;
  }

  // Ids whose first byte comes from a few values (neighbours in one fan-out range) or from any.
  const oid = (firsts: fc.Arbitrary<number>) =>
    fc
      .tuple(firsts, fc.uint8Array({ minLength: 19, maxLength: 19 }))
      .map(([b, rest]) => Buffer.concat([Buffer.from([b]), Buffer.from(rest)]).toString('hex'));
  const ids = fc.oneof(oid(fc.constantFrom(0, 1, 0x7f, 0xff)), oid(fc.integer({ min: 0, max: 255 })));

  describe('pack index lookup', () => {
    test('idxLists finds exactly the ids the index holds', () => {
      fc.assert(
        fc.property(fc.array(ids, { maxLength: 80 }), fc.array(ids, { maxLength: 20 }), (held, others) => {
          const idx = indexOf(held);
          expect(new Set(idxObjectIds(idx))).toEqual(new Set(held));
          for (const id of held) expect(idxLists(idx, id)).toBe(true);
          for (const id of others) expect(idxLists(idx, id)).toBe(held.includes(id));
        }),
        runs(200),
      );
    });

    test('an id that is not 40 hex digits is not listed, and an index of another version is refused', () => {
      const idx = indexOf(['00'.repeat(20)]);
      expect(idxLists(idx, '00'.repeat(19))).toBe(false);
      expect(idxLists(idx, 'zz'.repeat(20))).toBe(false);
      const v1 = Buffer.from(idx);
      v1.writeUInt32BE(1, 4);
      expect(() => idxLists(v1, '00'.repeat(20))).toThrow();
    });
  });
});
