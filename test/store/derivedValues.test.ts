/**
 * Values made from one key's records (`CollectionIndexes.derived`, `MetaStore.derived`): made
 * once, made again after a record of the key changes, and kept for the DERIVED_KEYS keys read
 * last only. (Their agreement with the records through writes, snapshots, reopens and crashes
 * is checked by test/store/metaIndex.property.test.ts.)
 */
import { expect, test } from '@jest/globals';
import { CollectionIndexes, DERIVED_KEYS } from '../../server/store/meta/secondaryIndexes.js';

interface Rec {
  k: string;
  v: number;
}

function indexes(records: Map<string, Rec>) {
  const ix = new CollectionIndexes<Rec>({ byK: { key: (r) => r.k } });
  ix.load({});
  let made = 0;
  const sum = (key: string) =>
    ix.derived('byK', key, 'sum', (ids) => {
      made++;
      return ids.reduce((n, id) => n + records.get(id)!.v, 0);
    });
  const put = (id: string, r: Rec) => {
    const old = records.get(id);
    ix.put(id, old, !!old, r);
    records.set(id, r);
  };
  return { ix, sum, put, made: () => made };
}

test('made once, made again after a record of the key is put or deleted, not after another key changes', () => {
  const records = new Map<string, Rec>();
  const t = indexes(records);
  t.put('1', { k: 'a', v: 1 });
  t.put('2', { k: 'a', v: 2 });
  t.put('3', { k: 'b', v: 5 });
  expect(t.sum('a')).toBe(3);
  expect(t.sum('a')).toBe(3);
  expect(t.made()).toBe(1);
  t.put('3', { k: 'b', v: 6 }); // another key
  expect(t.sum('a')).toBe(3);
  expect(t.made()).toBe(1);
  t.put('2', { k: 'a', v: 20 }); // same key, new value
  expect(t.sum('a')).toBe(21);
  t.put('3', { k: 'a', v: 6 }); // moves into the key
  expect(t.sum('a')).toBe(27);
  t.put('1', { k: 'b', v: 1 }); // moves out of it
  expect(t.sum('a')).toBe(26);
  t.ix.del('2', records.get('2')!);
  records.delete('2');
  expect(t.sum('a')).toBe(6);
  expect(t.made()).toBe(5);
});

test(`values are kept for the ${DERIVED_KEYS} keys read last`, () => {
  const records = new Map<string, Rec>();
  const t = indexes(records);
  for (let i = 0; i <= DERIVED_KEYS; i++) t.put(String(i + 1), { k: `k${i}`, v: i });
  for (let i = 1; i <= DERIVED_KEYS; i++) t.sum(`k${i}`);
  t.sum('k1'); // read again: now the last read
  expect(t.made()).toBe(DERIVED_KEYS);
  t.sum('k0'); // one key too many: the one read longest ago (k2) goes
  expect(t.made()).toBe(DERIVED_KEYS + 1);
  t.sum('k1');
  t.sum('k3');
  expect(t.made()).toBe(DERIVED_KEYS + 1);
  t.sum('k2');
  expect(t.made()).toBe(DERIVED_KEYS + 2);
});
