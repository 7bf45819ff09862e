/**
 * The offload pool run from the sources, as `npm run dev` and the bench run it (no build): its
 * threads load worker.ts through tsx. Node 20 does not hand a loader given in a worker's
 * `execArgv` (`--import tsx`) on to the thread, so such a thread failed every task with
 * ERR_UNKNOWN_FILE_EXTENSION: the bench's diff and page latencies were timeouts. The other
 * tests run the worker the build wrote (jest.config.js), so only this one starts from source.
 */
import { describe, expect, test } from '@jest/globals';

delete process.env.RATIFY_WORKER_FILE;
const { WorkPool } = await import('../../server/http/offload/pool.js');

describe('http/offloadFromSource', () => {
  test('a task runs on a thread started from worker.ts', async () => {
    const errors: unknown[] = [];
    const pool = new WorkPool(undefined, (e) => errors.push(e));
    try {
      const changes = await pool.run<{ op: string; text: string }[]>(
        { kind: 'diff', from: 'The group meets twice a year.', to: 'The group meets three times a year.' },
        20_000,
      );
      expect(changes.filter((c) => c.op !== 'equal').map((c) => [c.op, c.text.trim()])).toEqual([
        ['delete', 'twice'],
        ['insert', 'three times'],
      ]);
      expect(errors).toEqual([]);
    } finally {
      await pool.close();
    }
  }, 60_000);
});
