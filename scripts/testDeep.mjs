#!/usr/bin/env node
/**
 * `npm run test:deep`: the randomised tests at full depth. `npm test` makes a quarter of each
 * property's runs (test/helpers/depth.ts), with a new seed each time; this runs the test files that
 * take their number of runs from test/helpers/depth.ts — found by that import, so a new property
 * test is in without a list to keep — with TEST_DEPTH=full: every run. CI runs it after `npm test`.
 * The system tests, in their own step, read the same depth.
 *
 * Usage: node scripts/testDeep.mjs [jest options…]   (--list: print the files and stop)
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { npmTestFiles, root } from './testParts.mjs';

const USES_DEPTH = /from\s+['"](?:\.\.?\/)+helpers\/depth\.js['"]/;

export function deepFiles() {
  return npmTestFiles()
    .filter((f) => USES_DEPTH.test(readFileSync(path.join(root, f), 'utf8')))
    .sort();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = deepFiles();
  const args = process.argv.slice(2);
  if (args.includes('--list')) {
    console.log(files.join('\n'));
    process.exit(0);
  }
  const jest = path.join(root, 'node_modules', 'jest', 'bin', 'jest.js');
  const run = spawnSync(process.execPath, [jest, '--runTestsByPath', ...args, ...files], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TEST_DEPTH: 'full' },
  });
  process.exit(run.status ?? 1);
}
