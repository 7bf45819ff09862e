/** 4. Metadata store: one write against the journal's length (1k / 10k / 50k entries), snapshot, reopen. */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { MetaStore, type Change } from '../server/store/meta/metaStore.js';
import { load1, log, tempDir, type Report } from './common.js';
import { dirSize, mb, ms, stats, table, type Stats } from './stats.js';

export interface MetaSize {
  entries: number;
  write: Stats;
  syncPart: Stats;
  floor: Stats;
  gcMaxMs: number;
  reopenMs: number;
  /** After the reopening: the audit log's newest 100 entries, then 100 a third of the way back (read from disk). */
  auditNewestMs: number;
  auditDeepMs: number;
}

export interface MetaResult {
  sizes: MetaSize[];
  fillPerSecond: number;
  snapshotMs: number;
  snapshotBlockMs: number;
  snapshotBytes: number;
  journalBytes: number;
  segments: number;
  closeMs: number;
}

export async function metaBench(): Promise<MetaResult> {
  const dir = await tempDir('ratify-bench-meta-');
  let store = await MetaStore.open(dir);
  // The disk's own floor, timed between the store's writes: a ~200-byte append + fsync.
  const floorFile = await fsp.open(path.join(dir, 'floor.bin'), 'a');
  const floorLine = `${'x'.repeat(199)}\n`;
  let seq = 0;
  // A small change, as a comment or a ballot would make: one new record and one audit event.
  const change = (): Change => {
    const n = ++seq;
    const comment = {
      id: n,
      proposal: 1 + (n % 50),
      authorId: 1 + (n % 30),
      text: `A small remark number ${n} on the wording of clause ${n % 40}.`,
      createdAt: new Date().toISOString(),
    };
    return {
      actor: `member${n % 30}@example.org`,
      at: new Date(),
      events: [{ action: 'comment.added', subject: `comment/${n}` }],
      puts: { comments: { [n]: comment } } as unknown as Change['puts'],
    };
  };
  // Let an automatic snapshot (started by a write every 5,000 lines) finish before timing.
  const idle = async () => {
    await (store as unknown as { snapshotting: Promise<void> | null }).snapshotting;
  };
  let fillMs = 0;
  let filled = 0;
  const fill = async (to: number) => {
    const t0 = performance.now();
    const from = seq;
    while (seq < to) {
      const k = Math.min(500, to - seq);
      await Promise.all(Array.from({ length: k }, () => store.write(change())));
      await idle();
    }
    fillMs += performance.now() - t0;
    filled += seq - from;
  };
  const sizes: MetaSize[] = [];
  for (const target of [1_000, 10_000, 50_000]) {
    await fill(target);
    log(`  meta: ${seq} entries, timing 200 single writes (load average ${load1()})`);
    const write: number[] = [];
    const syncPart: number[] = [];
    const floor: number[] = [];
    let gcMaxMs = 0;
    const gc = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcMaxMs = Math.max(gcMaxMs, e.duration);
    });
    gc.observe({ entryTypes: ['gc'] });
    for (let i = 0; i < 200; i++) {
      let t = performance.now();
      const p = store.write(change());
      syncPart.push(performance.now() - t);
      await p;
      write.push(performance.now() - t);
      t = performance.now();
      await floorFile.write(floorLine);
      await floorFile.sync();
      floor.push(performance.now() - t);
    }
    gc.disconnect();
    await idle();
    // A restart at this size: close (drain, no snapshot), then time the reopening.
    await store.close();
    const t = performance.now();
    store = await MetaStore.open(dir);
    const reopenMs = performance.now() - t;
    let ta = performance.now();
    await store.auditLog(100);
    const auditNewestMs = performance.now() - ta;
    ta = performance.now();
    await store.auditLog(100, Math.ceil(target / 3));
    const auditDeepMs = performance.now() - ta;
    sizes.push({
      entries: target,
      write: stats(write),
      syncPart: stats(syncPart),
      floor: stats(floor),
      gcMaxMs,
      reopenMs,
      auditNewestMs,
      auditDeepMs,
    });
  }
  await floorFile.close();
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  let t = performance.now();
  await store.snapshot();
  const snapshotMs = performance.now() - t;
  h.disable();
  t = performance.now();
  await store.close();
  const closeMs = performance.now() - t;
  const segs = (await fsp.readdir(path.join(dir, 'journal'))).filter((n) => n.endsWith('.jsonl'));
  const journalBytes = (await dirSize(path.join(dir, 'journal'))).bytes;
  const snapshotBytes = (await fsp.stat(path.join(dir, 'snapshot.json'))).size;
  return {
    sizes,
    fillPerSecond: filled / (fillMs / 1000),
    snapshotMs,
    snapshotBlockMs: h.max / 1e6,
    snapshotBytes,
    journalBytes,
    segments: segs.length,
    closeMs,
  };
}

/** Adds part 4 to the report. */
export async function metaPart(report: Report): Promise<void> {
  const { body, misses, notes } = report;
  log('metadata store: filling the journal to 1k / 10k / 50k entries');
  const meta = await metaBench();
  const base = meta.sizes[0];
  const last = meta.sizes[meta.sizes.length - 1];
  body.push(
    '## 4. Metadata store: one write vs history',
    '',
    'A fresh store (`MetaStore.open`, default snapshot every 5,000 lines). The journal is filled with small changes (one new ~200-byte record + one audit event each), 500 at a time; then at each size 200 single `meta.write` calls are timed one after another. Each ends in one fsynced journal append; "in-memory part" is the synchronous work before it (copy, apply, audit, serialise). "disk floor" is a bare 200-byte append + fsync on the same disk, timed between the writes: the part of a write\'s time the store cannot change. After the writes the store is closed and reopened: "reopen" is `MetaStore.open` (the snapshot, then the journal from the snapshot\'s segment on); then a page of the audit log (100 entries) is read, the newest and one a third of the way back (from older segments on disk).',
    '',
    table(
      [
        'journal entries',
        'write median',
        'write p95',
        'write max',
        'in-memory part (median)',
        'disk floor median',
        'disk floor max',
        'longest GC pause',
        'write − floor (medians)',
        'target',
        'reopen',
        'audit page: newest / ⅓ back',
      ],
      meta.sizes.map((s) => [
        s.entries.toLocaleString('en'),
        `${ms(s.write.median)} ms`,
        `${ms(s.write.p95)} ms`,
        `${ms(s.write.max)} ms`,
        `${ms(s.syncPart.median)} ms`,
        `${ms(s.floor.median)} ms`,
        `${ms(s.floor.max)} ms`,
        `${ms(s.gcMaxMs)} ms`,
        `${ms(s.write.median - s.floor.median)} ms`,
        'must not grow',
        `${ms(s.reopenMs)} ms`,
        `${ms(s.auditNewestMs)} / ${ms(s.auditDeepMs)} ms`,
      ]),
    ),
    '',
    table(
      ['at 50k entries', 'value'],
      [
        [
          'fill rate (500 concurrent writes share an fsync)',
          `${Math.round(meta.fillPerSecond).toLocaleString('en')} writes/s`,
        ],
        ['`snapshot()` (serialise the state, rotate the segment, fsynced write)', `${ms(meta.snapshotMs)} ms`],
        ['longest event-loop stall during that snapshot', `${ms(meta.snapshotBlockMs)} ms`],
        ['snapshot file', mb(meta.snapshotBytes)],
        [
          'journal (every segment is kept: it is the audit log)',
          `${mb(meta.journalBytes)} in ${meta.segments} segments`,
        ],
        ['`close()` (drain; no snapshot)', `${ms(meta.closeMs)} ms`],
      ],
    ),
    '',
  );
  const grew = last.syncPart.median > base.syncPart.median * 2 && last.syncPart.median - base.syncPart.median > 0.2;
  const overBase = base.write.median - base.floor.median;
  const overLast = last.write.median - last.floor.median;
  if (grew || (overLast > overBase * 2 && overLast - overBase > 1)) {
    misses.push(
      `\`meta.write\` grew with history: in-memory ${ms(base.syncPart.median)} → ${ms(last.syncPart.median)} ms, above the disk floor ${ms(overBase)} → ${ms(overLast)} ms (1k → 50k).`,
    );
  }
  notes.push(
    `**Metadata store.** A write's in-memory part takes ${meta.sizes.map((s) => ms(s.syncPart.median)).join(' / ')} ms at ${meta.sizes.map((s) => `${s.entries / 1000}k`).join(' / ')} entries: ${grew ? '**it grows with history**' : 'it does not grow with history'}. Its wall time is the fsync: write ${meta.sizes.map((s) => ms(s.write.median)).join(' / ')} ms against a bare fsync of ${meta.sizes.map((s) => ms(s.floor.median)).join(' / ')} ms measured alongside (medians), ${meta.sizes.map((s) => ms(s.write.median - s.floor.median)).join(' / ')} ms above it. The occasional slow write (max column) is the disk (compare the floor's max) or a garbage collection of a heap that holds the whole state and audit log (longest GC pause). What does grow: the snapshot (${mb(meta.snapshotBytes)}, ${ms(meta.snapshotMs)} ms with the event loop blocked up to ${ms(meta.snapshotBlockMs)} ms, every 5,000 writes) grows with the *state*; reopening (${meta.sizes.map((s) => ms(s.reopenMs)).join(' / ')} ms) reads that snapshot and only the journal segments from its seq on, so it grows with the state, not with the history; the audit log's older pages are read from their segments when asked for (${meta.sizes.map((s) => ms(s.auditDeepMs)).join(' / ')} ms for 100 entries a third of the way back).`,
  );
}
