/** Jest 30 + @swc/jest, ESM (see STACK.md). */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';

// The tests' data folders (os.tmpdir(), for the workers and every child process they start) go
// to a memory file system when the machine has one: a seeded data folder costs ~150 fsyncs, and
// under parallel workers each waits on the disk's journal. A kill -9 — what the crash tests do —
// keeps what the page cache holds, so durability against a killed process is tested the same.
// RATIFY_TEST_TMPDIR chooses the folder; RATIFY_TEST_TMPDIR=disk keeps the system's.
const memory = '/dev/shm';
const wanted = process.env.RATIFY_TEST_TMPDIR;
if (wanted && wanted !== 'disk') process.env.TMPDIR = wanted;
else if (!wanted && fs.existsSync(memory)) {
  try {
    const dir = `${memory}/ratify-tests`;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.accessSync(dir, fs.constants.W_OK);
    process.env.TMPDIR = dir;
  } catch {
    // not writable here: the system's temporary folder
  }
}

// The worker pool's threads run the worker the build wrote (test/setup/build.mjs builds dist/
// from the current sources before every run) instead of the TypeScript source through tsx.
process.env.RATIFY_WORKER_FILE ??= fileURLToPath(new URL('./dist/worker.js', import.meta.url));

export default {
  roots: ['<rootDir>/test'],
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } },
    ],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testTimeout: 30000,
  // A spy (jest.spyOn) is let go before the next test, even when its test ends without doing so:
  // in npm test's parts (scripts/testParts.mjs) the next test may be another file's.
  restoreMocks: true,
  // Three workers on two cores: most suites wait on disk, child processes or scrypt, not the CPU
  // (two workers left a third of the CPU idle: 1.5 cores busy over the run).
  maxWorkers: 3,
  setupFiles: ['<rootDir>/test/setup/oneTestContext.mjs'],
  // A worker's event loop is empty 30–60 ms after jest asks it to end (no handle left open), but
  // node's own teardown of a worker that ran ~40 files (350–500 MB) takes 0.4–0.7 s more: with
  // jest's 500 ms it was killed and reported as "failed to exit gracefully", a leak that is not there.
  workerGracefulExitTimeout: 3000,
  globalSetup: '<rootDir>/test/setup/build.mjs',
  globalTeardown: '<rootDir>/test/setup/teardown.mjs',
};
