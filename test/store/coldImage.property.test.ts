/**
 * Images of cold tables (server/store/meta/coldState.ts): for any history of puts and removals
 * (ids put again with other keys, removed, put again after), the state read from the image made
 * at a mark is the state read from the table at that mark: the same count, ids, records and
 * ids under every key of every index. Then the cases where an image must not be used (another
 * mark, other files of the same lengths, a damaged or cut image) and what close does to one
 * being made.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { ColdRecords, type ColdMark } from '../../server/store/meta/coldRecords.js';
import { runs } from '../helpers/depth.js';
import { tmp } from './gitHelpers.js';

describe('store/coldImage.property', () => {
  type Thing = { n: number };
  let dir: string;
  beforeEach(async () => {
    dir = await tmp('ratify-cold-image-');
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  const SPLITS = [' ', undefined] as const;
  const HEADS = ['a', 'b', 'c'];
  const TAILS = ['t1', 't2', 'x y'];
  const KEYS = [...HEADS.flatMap((h) => TAILS.map((t) => `${h} ${t}`)), ...TAILS];

  const files = () => path.join(dir, 'cold');
  const imageOpts = (minRows = 0) => ({ tmpDir: path.join(dir, 'tmp'), minRows });
  const openCold = (mark: ColdMark | null, image = true) =>
    ColdRecords.open<Thing>(files(), 'things', mark, SPLITS, () => {}, image ? imageOpts() : undefined);

  /** Everything a reader of `cold` can see: count, ids both ways, each record, each key's ids. */
  function seen(cold: ColdRecords<Thing>) {
    const ids = [...cold.ids()];
    const [split, whole] = cold.takeKeyTables();
    return {
      count: cold.count,
      largest: cold.largestId,
      ids,
      descending: [...cold.ids(true)],
      records: ids.map((id) => cold.read(id)),
      split: KEYS.map((k) => [...split.ids(k)]),
      whole: KEYS.map((k) => [...whole.ids(k)]),
    };
  }

  const op = fc.oneof(
    fc.record({
      id: fc.integer({ min: 1, max: 9000 }),
      n: fc.integer(),
      split: fc.option(fc.constantFrom(...KEYS), { nil: undefined }),
      whole: fc.option(fc.constantFrom(...KEYS), { nil: undefined }),
    }),
    fc.record({ remove: fc.integer({ min: 1, max: 9000 }) }),
  );

  type Op = { id: number; n: number; split?: string; whole?: string } | { remove: number };

  /**
   * Apply `ops` to a new table, image it at the mark reached, and check that the state read from
   * that image is the one read from the table (`fromImage`: how the image open must have been had).
   */
  async function imageMatchesTable(ops: readonly Op[], fromImage: (mark: ColdMark) => string): Promise<void> {
    const first = await openCold(null);
    for (const o of ops) {
      if ('remove' in o) first.remove(o.remove);
      else first.put(o.id, { n: o.n }, [o.split, o.whole]);
    }
    const mark = first.markNow();
    await first.flushedTo(mark);
    first.keepImage(mark);
    await first.imagesWritten();
    await first.close();
    const table = await openCold(mark, false);
    const image = await openCold(mark);
    try {
      expect(table.opened.from).toBe(mark.rows ? 'table' : 'none');
      expect(image.opened.from).toBe(fromImage(mark));
      expect(seen(image)).toEqual(seen(table));
    } finally {
      await table.close();
      await image.close();
    }
  }

  describe('an image of a cold table', () => {
    // Found by the property below (CI, seed -1720581115): the image of a table whose every record
    // had left it was written with a checksum its reader never matched (node's zlib.crc32 of a
    // view of no bytes is 0). The other two cases pass either way; they keep empty tables covered.
    test.each([
      ['a record put, then removed: no places, both key tables empty', [{ id: 14, n: 0 }, { remove: 14 }]],
      [
        'records with keys in one index only: the other table empty',
        [
          { id: 3, n: 1, split: 'a t1' },
          { id: 5, n: 2, split: 'b t2' },
        ],
      ],
      [
        'records with no keys at all',
        [
          { id: 1, n: 1 },
          { id: 2, n: 2 },
        ],
      ],
    ] as [string, Op[]][])('an image is used even when a key table is empty: %s', async (_, ops) => {
      await imageMatchesTable(ops, () => 'image');
    });

    test('read at the next open, it gives what reading the table gives', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 80 }), async (ops) => {
          await fsp.rm(dir, { recursive: true, force: true });
          await imageMatchesTable(ops, (mark) => (mark.rows ? 'image' : 'none'));
        }),
        runs(25),
      );
    });

    test('open from an image (read where it lies, not loaded), then changed and imaged again: what a twin opened from the table sees', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(op, { minLength: 1, maxLength: 60 }),
          fc.array(op, { maxLength: 40 }),
          async (before, after) => {
            await fsp.rm(dir, { recursive: true, force: true });
            const first = await openCold(null);
            const apply = (cold: ColdRecords<Thing>, ops: typeof before) => {
              for (const o of ops) {
                if ('remove' in o) cold.remove(o.remove);
                else cold.put(o.id, { n: o.n }, [o.split, o.whole]);
              }
            };
            apply(first, before);
            const mark = first.markNow();
            await first.flushedTo(mark);
            first.keepImage(mark);
            await first.imagesWritten();
            await first.close();
            // The twin works on a copy of the files, read from the table.
            const twinDir = `${dir}-twin`;
            await fsp.rm(twinDir, { recursive: true, force: true });
            await fsp.cp(dir, twinDir, { recursive: true });
            const fromImage = await openCold(mark);
            const twin = await ColdRecords.open<Thing>(path.join(twinDir, 'cold'), 'things', mark, SPLITS, () => {});
            try {
              expect(fromImage.opened.from).toBe(mark.rows ? 'image' : 'none');
              apply(fromImage, after);
              apply(twin, after);
              // A newer image replaces the file the places are read from, while they are read.
              const later = fromImage.markNow();
              await fromImage.flushedTo(later);
              fromImage.keepImage(later);
              await fromImage.imagesWritten();
              expect(seen(fromImage)).toEqual(seen(twin));
            } finally {
              await fromImage.close();
              await twin.close();
              await fsp.rm(twinDir, { recursive: true, force: true });
            }
          },
        ),
        runs(25),
      );
    });

    test('records put after an open from an image are found, and the next image holds them', async () => {
      const first = await openCold(null);
      for (let id = 1; id <= 5000; id++) first.put(id, { n: id }, [`a t${id % 2 ? 1 : 2}`, 't1']);
      const mark = first.markNow();
      await first.flushedTo(mark);
      first.keepImage(mark);
      await first.imagesWritten();
      await first.close();
      const second = await openCold(mark);
      expect(second.opened.from).toBe('image');
      // Into a page the image gave (id 4,000), and past its last (id 9,000); one removed.
      second.put(4000, { n: -4000 }, ['b t2', undefined]);
      second.put(9000, { n: 9000 }, ['c t1', 't2']);
      second.remove(17);
      const later = second.markNow();
      await second.flushedTo(later);
      second.keepImage(later);
      await second.imagesWritten();
      await second.close();
      const third = await openCold(later);
      try {
        expect(third.opened.from).toBe('image');
        expect(third.read(4000)).toEqual({ n: -4000 });
        expect(third.read(9000)).toEqual({ n: 9000 });
        expect(third.read(17)).toBeUndefined();
        expect(third.count).toBe(5000);
        const [split] = third.takeKeyTables();
        expect([...split.ids('b t2')]).toEqual([4000]);
        expect([...split.ids('c t1')]).toEqual([9000]);
      } finally {
        await third.close();
      }
    });
  });

  describe('an image that must not be used', () => {
    /** A table of 3,000 records with its image at `mark`. */
    async function withImage(): Promise<ColdMark> {
      const first = await openCold(null);
      for (let id = 1; id <= 3000; id++) first.put(id, { n: id }, [`a t1`, 't2']);
      const mark = first.markNow();
      await first.flushedTo(mark);
      first.keepImage(mark);
      await first.imagesWritten();
      await first.close();
      return mark;
    }
    const image = () => path.join(files(), 'things.image');

    test('of another mark: the table is read, and an image of this mark written for the next start', async () => {
      const mark = await withImage();
      const more = await openCold(mark);
      more.put(3001, { n: 3001 }, ['b t1', undefined]);
      const later = more.markNow();
      await more.flushedTo(later);
      // No image asked for at `later` (no snapshot placed at it).
      await more.close();
      const again = await openCold(later);
      expect(again.opened.from).toBe('table');
      expect(again.read(3001)).toEqual({ n: 3001 });
      await again.imagesWritten();
      await again.close();
      const third = await openCold(later);
      try {
        expect(third.opened.from).toBe('image');
        expect(third.count).toBe(3001);
      } finally {
        await third.close();
      }
    });

    test.each([
      ['a byte of its body changed', (b: Buffer) => (b[b.length - 3] ^= 0xff)],
      ['its header changed', (b: Buffer) => b.write('x', 9)],
      ['cut short', (b: Buffer) => b.subarray(0, b.length - 100)],
      ['empty', () => Buffer.alloc(0)],
    ])('damaged (%s): the table is read', async (_, damage) => {
      const mark = await withImage();
      const bytes = await fsp.readFile(image());
      const changed = damage(bytes);
      await fsp.writeFile(image(), Buffer.isBuffer(changed) ? changed : bytes);
      const cold = await openCold(mark);
      try {
        expect(cold.opened.from).toBe('table');
        expect(cold.count).toBe(3000);
        expect(cold.read(2999)).toEqual({ n: 2999 });
      } finally {
        await cold.close();
      }
    });

    test('of other files of the same lengths (a row changed before the mark): the table is read', async () => {
      const mark = await withImage();
      // The last row's id 3,000 becomes 2,999's: its record is then at another place.
      const rows = await fsp.readFile(path.join(files(), 'things.rows'));
      rows.writeDoubleLE(2999, rows.length - mark.rowWidth * 8);
      await fsp.writeFile(path.join(files(), 'things.rows'), rows);
      const cold = await openCold(mark);
      try {
        expect(cold.opened.from).toBe('table');
        expect(cold.count).toBe(2999);
      } finally {
        await cold.close();
      }
    });

    test('close while an image is being made: it stops, and no image of that mark is left', async () => {
      const first = await openCold(null);
      for (let id = 1; id <= 200_000; id++) first.put(id, { n: id }, ['a t1', 't2']);
      const mark = first.markNow();
      await first.flushedTo(mark);
      first.keepImage(mark);
      await first.close();
      const cold = await openCold(mark);
      try {
        expect(cold.opened.from).toBe('table');
      } finally {
        await cold.close();
      }
    });
  });
});
