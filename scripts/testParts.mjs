/**
 * `npm test` runs the test files in parts. A part is one jest test file, `test/suites/part-NN.mjs`,
 * that imports its share of the test files one after the other; the files that may not share a
 * process's modules with others (`ALONE`) run as their own jest test files.
 *
 * Why: jest gives each test file a module registry of its own, so each of the 137 files loaded
 * the server's modules again (an app's are ~0.3 s of CPU) and V8 compiled and optimised them again.
 * Within a part they are loaded and optimised once: the files of test/http took 134 s of CPU one by
 * one and 85 s in one part.
 *
 * What a file in a part must do (test/tooling/testParts.test.ts holds them to it): keep its tests
 * and hooks in one top-level `describe`, so its `beforeEach` runs for its own tests only and its
 * `afterAll` as its own tests end; change nothing for the whole part (`process.env`, a module mock,
 * `jest.setTimeout`), or be listed in `ALONE`.
 *
 * The files are shared out by size (a fair stand-in for their time), largest first, each to the
 * part with the least so far; the number of parts is the number of part files. `TEST_TIER=quick`
 * (`npm run test:quick`) shares out the quick tier's files the same way.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const partsDir = path.join(root, 'test', 'suites');

/** Not in `npm test`: the system tests (their own step), the browser and the timing tests. */
const ELSEWHERE = /(?:^test\/(?:e2e|timing)\/|\.system\.test\.ts$)/;

/** Test files that run as their own jest test file, and why. */
export const ALONE = new Map([
  ['test/http/offloadFromSource.test.ts', 'it removes RATIFY_WORKER_FILE and loads the pool module afresh'],
  ['test/util/markdownLoadFails.test.ts', 'it mocks markdown-it for every module loaded after it'],
  ['test/util/markdownLoad.test.ts', 'it starts from markdown.js as loaded afresh: nothing rendered yet'],
]);

function testFiles(dir) {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return testFiles(rel);
    return e.isFile() && e.name.endsWith('.test.ts') ? [rel] : [];
  });
}

/** The test files `npm test` runs (relative to the project, sorted). */
export const npmTestFiles = () =>
  testFiles('test')
    .filter((f) => !ELSEWHERE.test(f))
    .sort();

/**
 * `npm run test:quick`'s files: the domain's and the services' that stay in jest's process (a file
 * that starts an app, a program or a server is named `*.integration.test.ts`; see
 * test/tooling/testTiers.test.ts).
 */
export const quickTestFiles = () =>
  npmTestFiles().filter((f) => /^test\/(?:domain|services)\//.test(f) && !/\.integration\.test\.ts$/.test(f));

/** The files of the tier `TEST_TIER` names: `quick`, or (unset) all of `npm test`. */
export function tierFiles(tier = process.env.TEST_TIER) {
  if (!tier) return npmTestFiles();
  if (tier === 'quick') return quickTestFiles();
  throw new Error(`TEST_TIER=${tier}: the tiers are quick, or all when unset`);
}

/** The files of the tier that run alone. */
export const aloneFiles = (tier) => tierFiles(tier).filter((f) => ALONE.has(f));

/** The part files, in order. */
export const partFiles = () =>
  readdirSync(partsDir)
    .filter((f) => /^part-\d+\.mjs$/.test(f))
    .sort();

/** The test files of each part (relative to the project), in the order of `partFiles()`. */
export function parts(tier) {
  const count = partFiles().length;
  const shares = Array.from({ length: count }, () => ({ size: 0, files: [] }));
  const sized = tierFiles(tier)
    .filter((f) => !ALONE.has(f))
    .map((f) => ({ f, size: statSync(path.join(root, f)).size }))
    .sort((a, b) => b.size - a.size || a.f.localeCompare(b.f));
  for (const { f, size } of sized) {
    const least = shares.reduce((a, b) => (b.size < a.size ? b : a));
    least.size += size;
    least.files.push(f);
  }
  return shares.map((s) => s.files.sort());
}

/** Import, in order, the test files of the part file at `partUrl` (its `import.meta.url`). */
export async function runPart(partUrl) {
  const name = path.basename(fileURLToPath(partUrl));
  const index = partFiles().indexOf(name);
  if (index < 0) throw new Error(`${name} is not a part file of ${partsDir}`);
  for (const f of parts()[index]) {
    try {
      await import(pathToFileURL(path.join(root, f)).href);
    } catch (e) {
      // As when the file ran alone, it fails its whole run (here its part), saying which file it was.
      throw new Error(`${f} failed to load: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }
}
