/**
 * `npm test` runs the test files in parts (scripts/testParts.mjs): the files of a part share one
 * module registry. These hold the files to what makes that sound: every file runs exactly once;
 * a file's tests and hooks sit in one top-level `describe` (a top-level `beforeEach` would run
 * before every test of the part, a top-level `afterAll` only when the whole part ends); a file that
 * mocks a module or changes the process's environment as it loads runs alone.
 */
import { describe, expect, jest, test } from '@jest/globals';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../helpers/data.js';

interface Parts {
  ALONE: Map<string, string>;
  npmTestFiles: () => string[];
  quickTestFiles: () => string[];
  aloneFiles: (tier?: string) => string[];
  partFiles: () => string[];
  parts: (tier?: string) => string[][];
}
const load = async () => (await import(path.join(projectRoot, 'scripts', 'testParts.mjs'))) as Parts;
const read = (f: string) => fs.readFileSync(path.join(projectRoot, f), 'utf8');

/** A statement at the top level of a test file that registers tests or hooks. */
const TOP_LEVEL_CALL = /^(?:describe|test|it|beforeAll|afterAll|beforeEach|afterEach)\b[\w.]*\(/gm;
/** What changes the process for every module loaded after it (in a test or as the file loads). */
const PROCESS_WIDE = [
  /\bprocess\.env(?:\.\w+|\[[^\]]+\])\s*=(?!=)|\bdelete\s+process\.env\b/,
  /\bunstable_mockModule\b|\bjest\.mock\(|\bresetModules\b|\bisolateModules\b/,
  // One time limit for the whole jest test file, read once the part has loaded: the last file's
  // would be every file's. A test or hook takes its own as its last argument.
  /\bjest\.setTimeout\(/,
];

describe('tooling/testParts', () => {
  test('every file of npm test, and of test:quick, runs once: in exactly one part, or alone', async () => {
    const { ALONE, aloneFiles, npmTestFiles, quickTestFiles, partFiles, parts } = await load();
    const all = npmTestFiles();
    expect(all.length).toBeGreaterThan(100);
    expect(partFiles().length).toBeGreaterThanOrEqual(4);
    expect(aloneFiles('')).toEqual([...ALONE.keys()].sort());
    for (const [tier, files] of [
      ['', all],
      ['quick', quickTestFiles()],
    ] as const) {
      const inParts = parts(tier).flat();
      expect(new Set(inParts).size).toBe(inParts.length);
      expect([...inParts, ...aloneFiles(tier)].sort()).toEqual(files);
      for (const share of parts(tier)) expect(share.length).toBeGreaterThan(0);
    }
    expect(() => parts('slow')).toThrow('TEST_TIER=slow');
  });

  test('npm test and test:quick run the parts and the files that run alone', async () => {
    const { aloneFiles } = await load();
    const scripts = JSON.parse(read('package.json')).scripts;
    expect(scripts.test).toContain('jest --config jest.parts.config.mjs');
    expect(scripts['test:quick']).toMatch(/^TEST_TIER=quick .*jest --config jest\.parts\.config\.mjs$/);
    const config = (await import(path.join(projectRoot, 'jest.parts.config.mjs'))).default as { testMatch: string[] };
    expect(config.testMatch).toEqual([
      '<rootDir>/test/suites/part-*.mjs',
      ...aloneFiles().map((f) => `<rootDir>/${f}`),
    ]);
  });

  test('each test file keeps its tests and hooks in one top-level describe', async () => {
    const { npmTestFiles } = await load();
    const loose = npmTestFiles().filter((f) => {
      const calls = read(f).match(TOP_LEVEL_CALL) ?? [];
      return calls.length !== 1 || !/^describe\b/.test(calls[0]);
    });
    expect(loose).toEqual([]);
  });

  test('a file that changes the process as it loads runs alone', async () => {
    const { ALONE, npmTestFiles } = await load();
    const changing = npmTestFiles().filter((f) => PROCESS_WIDE.some((re) => re.test(read(f))));
    expect(changing.filter((f) => !ALONE.has(f))).toEqual([]);
  });

  test('the check above finds a top-level hook, a second describe and a mock', () => {
    const calls = (text: string) => text.match(TOP_LEVEL_CALL) ?? [];
    expect(calls("describe('a', () => {\n  beforeEach(() => {});\n});\n")).toEqual(['describe(']);
    expect(calls("beforeEach(() => {});\ndescribe('a', () => {});\n")).toHaveLength(2);
    expect(calls("describe.each([1])('a %s', () => {});\n")).toEqual(['describe.each(']);
    // Written in pieces, so that this file does not hold what it looks for.
    const changes = (text: string) => PROCESS_WIDE.some((re) => re.test(text));
    const env = ['process', 'env'].join('.');
    expect(changes(`jest.${'unstable_'}mockModule('x', () => ({}));`)).toBe(true);
    expect(changes(`  jest.${'set'}Timeout(120_000);`)).toBe(true);
    expect(changes(`delete ${env}.X;`)).toBe(true);
    expect(changes(`  ${env}.X = 'y';`)).toBe(true);
    expect(changes(`  ${env}['X'] = 'y';`)).toBe(true);
    expect(changes(`  const x = ${env}.X;`)).toBe(false);
    expect(changes(`  if (${env}.X === 'y') return;`)).toBe(false);
  });

  test('a spy left on by its test (this one) is let go before the next test', () => {
    jest.spyOn(Math, 'hypot').mockReturnValue(7);
    expect(Math.hypot(3, 4)).toBe(7);
  });

  test('the next test (in a part, perhaps of another file) has the original back', () => {
    expect(Math.hypot(3, 4)).toBe(5);
  });
});
