/**
 * The bench's volume generator (bench/volume.ts) at scale 0.001, as a child process (test/ may not
 * import bench/): every count of its plan is in the folder it makes, through the services, and the
 * folder is cached under the temporary folder it is given (TMPDIR), then reused.
 */
import { afterAll, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { childEnv } from '../helpers/bin.js';
import { projectRoot, tempDir } from '../helpers/data.js';

let tmp = '';
afterAll(async () => {
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

const run = () =>
  JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'bench', 'volume.ts')], {
      cwd: projectRoot,
      env: childEnv({ BENCH_SCALE: '0.001', TMPDIR: tmp }),
      encoding: 'utf8',
    }).replace(/^\[bench[^\n]*\n/gm, ''),
  );

test('bench/volume.ts makes a folder with the planned records, then reuses it', async () => {
  tmp = await tempDir('ratify-volume-test-');
  const made = run();
  expect(made.cached).toBe(false);
  expect(made.dataDir.startsWith(tmp)).toBe(true);
  for (const k of ['proposals', 'comments', 'ballots', 'rounds', 'users'] as const)
    expect(made.counts[k]).toBe(made.plan[k]);
  expect(made.counts.versions).toBe(5 + made.plan.publications);
  expect(made.mailsWaiting).toBeGreaterThan(0);
  const again = run();
  expect(again.cached).toBe(true);
  expect(again.counts).toEqual(made.counts);
}, 120_000);
