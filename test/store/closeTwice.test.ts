/**
 * Closing what is already closed does nothing. A second close used to close the file numbers the
 * store had held: by then the process had given them to other files (another app's journal, a
 * worker thread's event loop — which aborted the process), and the lock file of the app that
 * opened the folder next was removed.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { MetaStore } from '../../server/store/meta/metaStore.js';
import { openTestData, tempDir } from '../helpers/data.js';

describe('store/closeTwice', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  /** Files opened now: they take the lowest free numbers, those a closed store let go. */
  async function openMany(n: number): Promise<number[]> {
    const dir = await tempDir();
    cleanups.push(() => fsp.rm(dir, { recursive: true, force: true }));
    const fds = Array.from({ length: n }, (_, i) => fs.openSync(path.join(dir, `f${i}`), 'w'));
    cleanups.push(async () => fds.forEach((fd) => fs.closeSync(fd)));
    return fds;
  }

  test("a data folder closed twice closes none of the files opened since, and leaves the next app's lock", async () => {
    const first = await openTestData();
    cleanups.push(() => fsp.rm(first.dataDir, { recursive: true, force: true }));
    await first.close();

    const mine = await openMany(64);
    const next = await openTestData({ dataDir: first.dataDir, seed: false });
    cleanups.push(() => next.close());
    const lock = path.join(first.dataDir, 'ratify.lock');
    expect(fs.existsSync(lock)).toBe(true);

    await first.close();
    await Promise.all([first.close(), first.close()]);

    for (const fd of mine) expect(fs.fstatSync(fd).isFile()).toBe(true);
    expect(fs.existsSync(lock)).toBe(true);
    // The next app's store still reads and writes.
    const install = next.ctx.meta.get('system', 'install')!;
    await next.ctx.meta.write({ actor: null, at: next.ctx.clock(), events: [], puts: { system: { install } } });
  });

  test('a store closed twice, or twice at once, closes its files once', async () => {
    const dir = await tempDir();
    cleanups.push(() => fsp.rm(dir, { recursive: true, force: true }));
    const store = await MetaStore.open(dir);
    await Promise.all([store.close(), store.close()]);
    const mine = await openMany(32);
    await store.close();
    for (const fd of mine) expect(fs.fstatSync(fd).isFile()).toBe(true);
  });
});
