/**
 * Paragraph provenance (issue 16, item 4) against a reference model: a history of versions made
 * by random edits (insert a new paragraph, delete one, reword one), each paragraph remembering
 * the version that wrote it; carrying origins from version to version must give exactly those.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { carryOrigins, type Provenance } from '../../server/domain/provenance.js';
import { runs } from '../helpers/depth.js';

describe('domain/provenance', () => {
  type Edit = { kind: 'insert' | 'delete' | 'reword'; at: number };
  const edit = fc.record({ kind: fc.constantFrom('insert', 'delete', 'reword'), at: fc.nat() }) as fc.Arbitrary<Edit>;

  test('each paragraph is credited to the version that last wrote it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12 }),
        fc.array(fc.array(edit, { maxLength: 5 }), { minLength: 1, maxLength: 12 }),
        (start, history) => {
          let fresh = 0;
          // The model: paragraphs as [text, the version that wrote it]; texts unique, as reworded ones are.
          let model: [string, number][] = Array.from({ length: start }, () => [`p${fresh++}`, 1]);
          let p: Provenance = carryOrigins(
            null,
            model.map(([k]) => k),
            1,
          );
          expect(p.origins).toEqual(model.map(([, v]) => v));
          history.forEach((edits, i) => {
            const version = i + 2;
            model = model.slice();
            for (const e of edits) {
              const at = model.length ? e.at % model.length : 0;
              if (e.kind === 'insert') model.splice(e.at % (model.length + 1), 0, [`p${fresh++}`, version]);
              else if (!model.length) continue;
              else if (e.kind === 'delete') model.splice(at, 1);
              else model[at] = [`p${fresh++}`, version];
            }
            p = carryOrigins(
              p,
              model.map(([k]) => k),
              version,
            );
            expect(p.keys).toEqual(model.map(([k]) => k));
            expect(p.origins).toEqual(model.map(([, v]) => v));
          });
        },
      ),
      runs(300),
    );
  });

  test('a paragraph moved back to an earlier wording keeps no old credit: it is written anew', () => {
    const v1 = carryOrigins(null, ['a', 'b'], 1);
    const v2 = carryOrigins(v1, ['a', 'c'], 2);
    const v3 = carryOrigins(v2, ['a', 'b'], 3);
    expect(v3.origins).toEqual([1, 3]);
  });
});
