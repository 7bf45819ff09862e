/**
 * server/startMemory.ts: the start's 4 MB block raises glibc's trim threshold to 8 MB, so that
 * memory freed at the top of the C heap is kept for the next request instead of being given back
 * and faulted in again (what cost the proposal page a third to a half of its throughput), but no
 * more than that: the threshold holds for every thread's arena, and at 32 MB (a 16 MB block)
 * they kept 44-48 MB resident at ten years' volume.
 */
import { describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { bin } from '../helpers/bin.js';

describe('cli/startMemory', () => {
  const glibc =
    process.platform === 'linux' &&
    !!(process.report?.getReport() as { header?: { glibcVersionRuntime?: string } })?.header?.glibcVersionRuntime;

  async function run<T>(mode: 'settled' | 'plain', load: 'churn' | 'release'): Promise<T> {
    const [node, args] = bin.fixture('heapTrim');
    const { stdout } = await promisify(execFile)(node, ['--expose-gc', ...args, mode, load]);
    return JSON.parse(stdout) as T;
  }
  const faults = async (mode: 'settled' | 'plain') => (await run<{ faults: number }>(mode, 'churn')).faults;

  (glibc ? describe : describe.skip)(
    `glibc's heap after the start${glibc ? '' : ' (skipped: not glibc on Linux)'}`,
    () => {
      test('6 MB taken and freed 50 times: pages faulted in again each round, under a third as many after settleStartMemory', async () => {
        // One at a time: each is a measure of its own process's faults, and they share the cores.
        const plain = await faults('plain');
        const settled = await faults('settled');
        // Measured here: 73,900 against 380-630, five runs each (with 8 MB and the 16 MB block: 2,200-2,800 against 170-430).
        expect(plain).toBeGreaterThan(1000);
        expect(settled).toBeLessThan(plain / 3);
      });

      test('24 MB taken and freed once after settleStartMemory: given back to the system but for at most the 8 MB threshold', async () => {
        const { takenMb, keptMb } = await run<{ takenMb: number; keptMb: number }>('settled', 'release');
        expect(takenMb).toBeGreaterThan(20);
        // With the 16 MB block of before (a 32 MB threshold) all of it stayed resident.
        expect(keptMb).toBeLessThan(10);
      });
    },
  );
});
