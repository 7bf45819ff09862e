/**
 * server/startMemory.ts: the start's 16 MB block raises glibc's trim threshold, so that memory
 * freed at the top of the C heap is kept for the next request instead of being given back and
 * faulted in again (what cost the proposal page a third to a half of its throughput).
 */
import { describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { bin } from '../helpers/bin.js';

const glibc =
  process.platform === 'linux' &&
  !!(process.report?.getReport() as { header?: { glibcVersionRuntime?: string } })?.header?.glibcVersionRuntime;

async function faults(mode: 'settled' | 'plain'): Promise<number> {
  const [node, args] = bin.fixture('heapTrim');
  const { stdout } = await promisify(execFile)(node, ['--expose-gc', ...args, mode]);
  return (JSON.parse(stdout) as { faults: number }).faults;
}

(glibc ? describe : describe.skip)(
  `glibc's heap after the start${glibc ? '' : ' (skipped: not glibc on Linux)'}`,
  () => {
    test('8 MB taken and freed 50 times: pages faulted in again each round, under a third as many after settleStartMemory', async () => {
      // One at a time: each is a measure of its own process's faults, and they share the cores.
      const plain = await faults('plain');
      const settled = await faults('settled');
      // Measured here: 2,200-2,800 against 170-430, eight runs each.
      expect(plain).toBeGreaterThan(1000);
      expect(settled).toBeLessThan(plain / 3);
    });
  },
);
