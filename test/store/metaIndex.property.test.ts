/**
 * The metadata store's secondary indexes (server/store/meta/indexes.ts) against a model: random
 * sequences of writes (puts and dels, several in one change, replacements that move a record to
 * another key), snapshots, clean reopens and reopens after a crash (replay of the journal after
 * the last snapshot). After every step, each index query must give exactly what a filter over
 * every record gives: the same records, in the same order — `by`, `countBy`, `newest` (last first,
 * before an id) and `oldest` (first first, up to an order value: the mail worker's due messages).
 * Records that go cold (`COLD`: a compact sent message, kept on disk) are found by id, by `all`
 * and by the indexes that declare `cold`, and left out of the others.
 */
import { afterEach, describe, test } from '@jest/globals';
import fc from 'fast-check';
import * as fsp from 'node:fs/promises';
import { MetaStore, type Change } from '../../server/store/meta/metaStore.js';
import { COLD, INDEXES, type IndexDef, type IndexedCollection } from '../../server/store/meta/indexes.js';
import type { CollectionName } from '../../server/store/meta/schema.js';
import { tmp } from './gitHelpers.js';
import { runs } from '../helpers/depth.js';
import { expectEqual } from '../helpers/equal.js';

describe('store/metaIndex.property', () => {
  type Rec = Record<string, unknown>;
  type Model = Record<string, Record<string, Rec>>;

  const KINDS = Object.keys(INDEXES) as IndexedCollection[];
  const defsOf = (kind: IndexedCollection) => Object.entries(INDEXES[kind]) as [string, IndexDef<Rec>][];

  // Ids: numeric (every people-made record), and others — slugs, hashes, a leading zero, the
  // largest array index and the first number past it — whose place in an object's key order differs.
  const ID = fc.constantFrom('1', '2', '3', '7', '10', '11', '07', 'x', 'b/1', 'hash-a', '4294967294', '4294967295');

  const subject = fc.record({ type: fc.constantFrom('proposal', 'consolidation'), id: fc.integer({ min: 1, max: 2 }) });
  const doc = fc.constantFrom('tor', 'charter');
  const at = fc.constantFrom(null, '2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z', '2026-01-03T00:00:00.000Z');
  /** Records with only the fields the keys read, from small pools so that keys collide and change. */
  const RECORD: Record<IndexedCollection, fc.Arbitrary<Rec>> = {
    ballots: fc.record({ round: fc.integer({ min: 1, max: 3 }), voterId: fc.integer({ min: 1, max: 3 }) }),
    comments: fc.record({ subject, body: fc.constantFrom('a', 'b') }),
    documents: fc.record({ group: fc.constantFrom('wg-a', 'wg-b'), title: fc.constantFrom('a', 'b') }),
    proposals: fc.record({
      document: doc,
      state: fc.constantFrom('draft', 'shared', 'consolidated', 'withdrawn'),
      authorId: fc.integer({ min: 1, max: 3 }),
    }),
    consolidations: fc.record({ document: doc, state: fc.constantFrom('open', 'published', 'abandoned') }),
    rounds: fc.record({ subject, state: fc.constantFrom('open', 'closed', 'cancelled'), closedAt: at }),
    mails: fc.record({
      state: fc.constantFrom('pending', 'sent', 'failed'),
      nextAttemptAt: fc.constantFrom(
        '2026-01-01T00:00:00.000Z',
        '2026-01-02T00:00:00.000Z',
        '2026-01-03T00:00:00.000Z',
      ),
      sentAt: at,
      bodyDroppedAt: fc.constantFrom(undefined, '2026-02-01T00:00:00.000Z'),
      // One recipient's copies of a thread: the index that lists cold messages too.
      to: fc.constantFrom(['ana@example.org'], ['bo@example.org'], ['ana@example.org', 'bo@example.org']),
      thread: fc.constantFrom(undefined, '<t1@x>', '<t2@x>'),
    }),
    users: fc.record({
      email: fc.constantFrom('ana@example.org', 'bo@example.org', 'cy@example.org'),
      roles: fc.subarray(['member', 'chair', 'secretariat']),
      disabled: fc.boolean(),
    }),
    tokens: fc.record({ userId: fc.integer({ min: 1, max: 3 }), label: fc.constantFrom('a', 'b') }),
    linkTokens: fc.record({ userId: fc.integer({ min: 1, max: 3 }), purpose: fc.constantFrom('invite', 'reset') }),
  };

  // Messages more often than the rest: they move in and out of the cold file (sent, compacted, put again).
  const KIND = fc.oneof({ weight: KINDS.length, arbitrary: fc.constant('mails' as const) }, fc.constantFrom(...KINDS));
  const put = KIND.chain((kind) => fc.record({ kind: fc.constant(kind), id: ID, value: RECORD[kind] }));
  const del = fc.record({ kind: KIND, id: ID });
  type Op =
    | {
        op: 'write';
        puts: { kind: IndexedCollection; id: string; value: Rec }[];
        dels: { kind: IndexedCollection; id: string }[];
      }
    | { op: 'snapshot' }
    | {
        op: 'reopen' | 'crash';
        /** Kinds whose snapshot records the store reads after it opens (`later`), and how they are read. */
        later: readonly IndexedCollection[];
        read: 'asked' | 'slices' | 'halfway';
      };
  /** A reopen's kinds read later (the server's: the messages) and how: by the queries and writes that want them, in slices first, or queried halfway through the slices. */
  const LATER = fc.record({
    later: fc.oneof(
      fc.constant<readonly IndexedCollection[]>([]),
      fc.constant<readonly IndexedCollection[]>(['mails']),
      fc.subarray(KINDS),
    ),
    read: fc.constantFrom('asked' as const, 'slices' as const, 'halfway' as const),
  });
  const OP: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 12,
      arbitrary: fc.record({
        op: fc.constant('write' as const),
        puts: fc.array(put, { maxLength: 4 }),
        dels: fc.array(del, { maxLength: 2 }),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ op: 'snapshot' as const }) },
    { weight: 1, arbitrary: LATER.map((l) => ({ op: 'reopen' as const, ...l })) },
    { weight: 1, arbitrary: LATER.map((l) => ({ op: 'crash' as const, ...l })) },
  );

  /** The change a write op makes, built as a service would build it. */
  function changeOf(op: Extract<Op, { op: 'write' }>, i: number): Change {
    const puts: Record<string, Record<string, Rec>> = {};
    for (const p of op.puts) (puts[p.kind] ??= {})[p.id] = p.value;
    const dels: Record<string, string[]> = {};
    for (const d of op.dels) (dels[d.kind] ??= []).push(d.id);
    return {
      actor: null,
      at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
      events: [{ action: 'test', subject: `op/${i}` }],
      puts,
      dels,
    } as Change;
  }

  /** The model: plain objects, changed as the journal orders a change's record changes (puts, then dels). */
  function applyToModel(model: Model, c: Change): void {
    for (const [kind, recs] of Object.entries(c.puts ?? {}))
      for (const [id, v] of Object.entries(recs as Record<string, Rec>)) (model[kind] ??= {})[id] = structuredClone(v);
    for (const [kind, ids] of Object.entries(c.dels ?? {}))
      for (const id of ids as string[]) if (model[kind]) delete model[kind][id];
  }

  const isArrayIndex = (id: string) => /^(0|[1-9]\d*)$/.test(id) && Number(id) < 2 ** 32 - 1;
  /** Whether the store keeps this record cold (on disk): its kind says so, and its id is a number. */
  const isCold = (kind: string, id: string, r: Rec) =>
    isArrayIndex(id) && !!(COLD as unknown as Record<string, ((r: Rec) => boolean) | undefined>)[kind]?.(r);

  /** What each query must answer, computed by filtering every record of the model. */
  function expectMatches(store: MetaStore, model: Model, probe: { limit: number; before: number; upTo: string }): void {
    for (const kind of KINDS) {
      const records = Object.entries(model[kind] ?? {});
      expectEqual(
        store.all(kind as CollectionName),
        records.map(([, r]) => r),
      );
      expectEqual(store.count(kind), records.length);
      for (const [id, r] of records) expectEqual(store.get(kind as CollectionName, id), r);
      const cold = records.filter(([id, r]) => isCold(kind, id, r)).sort(([a], [b]) => Number(b) - Number(a));
      expectEqual(
        store.newestCold(kind as CollectionName, probe.limit),
        cold.slice(0, probe.limit).map(([, r]) => r),
      );
      for (const [name, def] of defsOf(kind)) {
        const listed = records.filter(([id, r]) => def.cold || !isCold(kind, id, r));
        const keys = new Set([
          ...listed.map(([, r]) => def.key(r)).filter((k): k is string => k !== undefined),
          'no-such-key',
        ]);
        for (const key of keys) {
          let want = listed.filter(([, r]) => def.key(r) === key);
          // Array.prototype.sort is stable: equal order values keep the collection's order.
          if (def.order)
            want = want.sort(([, a], [, b]) =>
              def.order!(a) < def.order!(b) ? -1 : def.order!(a) > def.order!(b) ? 1 : 0,
            );
          const by = (store.by as (k: string, i: string, key: string) => Rec[])(kind, name, key);
          expectEqual({ kind, name, key, got: by }, { kind, name, key, got: want.map(([, r]) => r) });
          // A value made from a key's records (kept from an earlier check until one of them changed).
          const derived = store.derived as (
            k: string,
            i: string,
            key: string,
            what: string,
            make: (rs: Rec[]) => Rec[],
          ) => Rec[];
          expectEqual(
            { kind, name, key, derived: derived.call(store, kind, name, key, 'copy', (rs) => [...rs]) },
            { kind, name, key, derived: want.map(([, r]) => r) },
          );
          expectEqual((store.countBy as (k: string, i: string, key: string) => number)(kind, name, key), want.length);
          const newest = store.newest as (k: string, i: string, key: string, limit: number, before?: number) => Rec[];
          expectEqual(
            newest.call(store, kind, name, key, probe.limit),
            want
              .slice(-probe.limit)
              .reverse()
              .map(([, r]) => r),
          );
          const oldest = store.oldest as (k: string, i: string, key: string, limit: number, upTo?: string) => Rec[];
          expectEqual(
            oldest.call(store, kind, name, key, probe.limit),
            want.slice(0, probe.limit).map(([, r]) => r),
          );
          if (def.order) {
            // The first records whose order value is at most `upTo` (the mail worker's "due by now").
            expectEqual(
              oldest.call(store, kind, name, key, probe.limit, probe.upTo),
              want
                .filter(([, r]) => def.order!(r) <= probe.upTo)
                .slice(0, probe.limit)
                .map(([, r]) => r),
            );
          }
          if (!def.order) {
            const older = want.filter(([id]) => isArrayIndex(id) && Number(id) < probe.before);
            expectEqual(
              newest.call(store, kind, name, key, probe.limit, probe.before),
              older
                .slice(-probe.limit)
                .reverse()
                .map(([, r]) => r),
            );
          }
        }
      }
    }
  }

  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => fsp.rm(d, { recursive: true, force: true })));
  });

  describe('secondary indexes of the metadata store', () => {
    test('every index query equals a filter over all records, through writes, snapshots, reopens and crashes', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(OP, { minLength: 1, maxLength: 24 }),
          fc.record({
            limit: fc.integer({ min: 1, max: 4 }),
            before: fc.constantFrom(1, 2, 3, 8, 11, 12, 4294967294, 4294967295),
            upTo: fc.constantFrom(
              '',
              '2026-01-01T00:00:00.000Z',
              '2026-01-02T12:00:00.000Z',
              '2026-12-31T00:00:00.000Z',
            ),
          }),
          async (ops, probe) => {
            const dir = await tmp('ratify-index-');
            dirs.push(dir);
            const crashed: MetaStore[] = [];
            const open = async (l?: Extract<Op, { op: 'reopen' | 'crash' }>) => {
              const s = await MetaStore.open(dir, { snapshotEvery: 3, log: () => {}, later: l?.later });
              if (l?.read === 'slices') await s.readLater(0);
              else if (l?.read === 'halfway') {
                // A slice or two read, then the queries below read the rest at once.
                const reading = s.readLater(0);
                await new Promise((resolve) => setImmediate(resolve));
                expectMatches(s, model, probe);
                await reading;
              }
              return s;
            };
            const model: Model = {};
            let store = await open();
            try {
              for (const [i, op] of ops.entries()) {
                if (op.op === 'write') {
                  const c = changeOf(op, i);
                  await store.write(c);
                  applyToModel(model, c);
                } else if (op.op === 'snapshot') await store.snapshot();
                else if (op.op === 'reopen') {
                  await store.close();
                  store = await open(op);
                } else {
                  // A crash, once a background snapshot is done: the next process reads the last
                  // snapshot and replays the journal after it. The old one writes no more.
                  await store.hold(async () => {});
                  crashed.push(store);
                  store = await open(op);
                }
                expectMatches(store, model, probe);
              }
            } finally {
              await store.close();
              // A crashed process writes no final snapshot: only its files are closed.
              for (const s of crashed) await (s as unknown as { journal: { close(): Promise<void> } }).journal.close();
            }
          },
        ),
        runs(60),
      );
    }, 120_000);
  });
});
