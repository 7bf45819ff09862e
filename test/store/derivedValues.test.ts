/**
 * Values made from one key's records (`CollectionIndexes.derived`, `MetaStore.derived`): made
 * once, made again after a record of the key changes, and kept for the DERIVED_KEYS keys read
 * last only; and values made from whole collections (`MetaStore.memo`), made again after a change
 * to one of them; and the version of what is shown of one subject (`MetaStore.versionOf`), which
 * another subject's records leave as it is. (Their agreement with the records through writes, snapshots, reopens and crashes
 * is checked by test/store/metaIndex.property.test.ts.)
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { CollectionIndexes, DERIVED_KEYS } from '../../server/store/meta/secondaryIndexes.js';
import { MEMO_KEYS, MetaStore } from '../../server/store/meta/metaStore.js';
import { tmp } from './gitHelpers.js';

describe('store/derivedValues', () => {
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

  test(`small values are kept apart, for more than ${DERIVED_KEYS} keys, and made again after a change to their key`, () => {
    const records = new Map<string, Rec>();
    const t = indexes(records);
    let madeSmall = 0;
    const count = (key: string) =>
      t.ix.derived(
        'byK',
        key,
        'count',
        (ids) => {
          madeSmall++;
          return ids.length;
        },
        true,
      );
    const keys = DERIVED_KEYS * 2;
    for (let i = 0; i < keys; i++) t.put(String(i + 1), { k: `k${i}`, v: i });
    for (let pass = 0; pass < 2; pass++) for (let i = 0; i < keys; i++) expect(count(`k${i}`)).toBe(1);
    expect(madeSmall).toBe(keys);
    // Large values read for many keys, these and others, push none of the small ones out.
    for (let i = 0; i < keys; i++) t.sum(`k${i}`);
    for (let i = 0; i < keys; i++) t.sum(`other${i}`);
    for (let i = 0; i < keys; i++) count(`k${i}`);
    expect(madeSmall).toBe(keys);
    t.put(String(keys + 1), { k: 'k7', v: 1 });
    expect(count('k7')).toBe(2);
    expect(count('k8')).toBe(1);
    expect(madeSmall).toBe(keys + 1);
  });

  /** The store folder of the test running now (the store tests below), removed after it. */
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  describe('values made from whole collections (MetaStore.memo)', () => {
    test('made once, made again after a change to one of its collections, not after another changes', async () => {
      dir = await tmp('ratify-memo-');
      const store = await MetaStore.open(dir);
      try {
        const at = new Date('2026-03-01T00:00:00Z');
        const put = (kind: 'proposals' | 'users', id: number, value: Record<string, unknown>) =>
          store.write({ actor: null, at, events: [], puts: { [kind]: { [id]: { id, ...value } } } as never });
        let made = 0;
        const count = () =>
          store.memo(['proposals', 'comments'], 'count', () => {
            made++;
            return store.all('proposals').length;
          });
        expect(count()).toBe(0);
        await put('proposals', 1, { document: 'tor', state: 'draft', authorId: 1 });
        expect(count()).toBe(1);
        expect(count()).toBe(1);
        expect(made).toBe(2);
        await put('users', 1, { email: 'a@example.org', roles: [] });
        expect(count()).toBe(1);
        expect(made).toBe(2);
        await put('proposals', 2, { document: 'tor', state: 'draft', authorId: 1 });
        expect(count()).toBe(2);
        expect(made).toBe(3);
      } finally {
        await store.close();
      }
    });

    test(`values are kept for the ${MEMO_KEYS} keys asked for last`, async () => {
      dir = await tmp('ratify-memo-');
      const store = await MetaStore.open(dir);
      try {
        let made = 0;
        const value = (k: number) => store.memo(['proposals'], `k${k}`, () => ++made && k);
        for (let k = 0; k <= MEMO_KEYS; k++) value(k); // k0 is let go
        value(1); // asked for again: now the last
        expect(made).toBe(MEMO_KEYS + 1);
        value(0);
        expect(made).toBe(MEMO_KEYS + 2); // made again; k2 was let go, not k1
        value(1);
        expect(made).toBe(MEMO_KEYS + 2);
        value(2);
        expect(made).toBe(MEMO_KEYS + 3);
      } finally {
        await store.close();
      }
    });
  });

  describe('the version of what is shown of one subject (MetaStore.versionOf)', () => {
    test('a change to another subject’s text, revisions or comments leaves it; any other change counts', async () => {
      dir = await tmp('ratify-subject-');
      let store = await MetaStore.open(dir);
      const at = new Date('2026-03-01T00:00:00Z');
      const write = (puts: Record<string, Record<string, unknown>>, dels?: Record<string, string[]>) =>
        store.write({ actor: null, at, events: [], puts: puts as never, dels: dels as never });
      const NOT_SHOWN = ['mails'] as const;
      const versions = () => ({
        one: store.versionOf('proposal/1', NOT_SHOWN),
        two: store.versionOf('proposal/2', NOT_SHOWN),
        all: store.versionExcept(NOT_SHOWN),
      });
      try {
        const comment = (id: number, subject: number) => ({
          id,
          subject: { type: 'proposal', id: subject },
          authorId: 1,
          body: 'b',
          createdAt: at.toISOString(),
        });
        let before = versions();
        const step = async (change: () => Promise<void>, moved: { one: boolean; two: boolean }) => {
          await change();
          const now = versions();
          expect({ one: now.one > before.one, two: now.two > before.two }).toEqual(moved);
          // Never past the whole store's version, nor behind it after a change that counts for all.
          expect(now.one).toBeLessThanOrEqual(now.all);
          expect(now.two).toBeLessThanOrEqual(now.all);
          before = now;
        };
        await step(() => write({ comments: { 1: comment(1, 2) } }), { one: false, two: true });
        await step(() => write({ revisions: { 'proposal/1/1': { n: 1, subject: { type: 'proposal', id: 1 } } } }), {
          one: true,
          two: false,
        });
        await step(() => write({ proposals: { 2: { id: 2, document: 'tor', state: 'draft', authorId: 1 } } }), {
          one: false,
          two: true,
        });
        await step(() => write({ users: { 1: { id: 1, email: 'a@example.org', roles: [] } } }), {
          one: true,
          two: true,
        });
        await step(() => write({ mails: { 1: { id: 1 } } }), { one: false, two: false });
        // A deleted comment's subject is not known from its id: every subject counts it.
        await step(() => write({}, { comments: ['1'] }), { one: true, two: true });
        // Reopened: never behind what it was.
        await store.close();
        store = await MetaStore.open(dir);
        const reopened = versions();
        expect(reopened.one).toBeGreaterThanOrEqual(before.one);
        expect(reopened.two).toBeGreaterThanOrEqual(before.two);
      } finally {
        await store.close();
      }
    });
  });
});
