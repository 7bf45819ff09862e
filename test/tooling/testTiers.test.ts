/**
 * `npm run test:quick` runs the tests of the domain and the services that stay in jest's process:
 * no HTTP app, no other program (stock git), no socket (an SMTP or HTTP server). A test file there
 * that needs one is named `*.integration.test.ts` (or `*.system.test.ts`) and runs in `npm test`.
 * This holds the names to what the files import, so the quick tier stays quick.
 */
import { describe, expect, test } from '@jest/globals';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../helpers/data.js';

describe('tooling/testTiers', () => {
  /** What makes a test leave the process: the app (and supertest), child processes, servers. */
  const LEAVES = [
    /from\s+['"]supertest['"]/,
    /\bopenTestApp\b|\bcreateApp\b/,
    /['"]node:(child_process|net|http|https)['"]/,
    /helpers\/(smtp|stockGit|gitHttpServer)\.js['"]/,
    /store\/gitHelpers\.js['"]/,
  ];

  const quickFiles = async () =>
    ((await import(path.join(projectRoot, 'scripts', 'testParts.mjs'))) as { quickTestFiles: () => string[] })
      .quickTestFiles;

  test('no test file of the quick tier starts an app, a program or a server', async () => {
    const files = (await quickFiles())();
    expect(files.length).toBeGreaterThan(20);
    const leaving = files.filter((f) => {
      const text = fs.readFileSync(path.join(projectRoot, f), 'utf8');
      return LEAVES.some((re) => re.test(text));
    });
    expect(leaving).toEqual([]);
  });

  test('npm run test:quick runs the domain and the services, without the integration and system files', async () => {
    const files = (await quickFiles())();
    const dirs = new Set(files.map((f) => f.split('/').slice(0, 2).join('/')));
    expect([...dirs].sort()).toEqual(['test/domain', 'test/services']);
    expect(files.filter((f) => /\.(integration|system)\.test\.ts$/.test(f))).toEqual([]);
    const integration = fs
      .readdirSync(path.join(projectRoot, 'test', 'services'))
      .filter((f) => f.endsWith('.integration.test.ts'));
    expect(integration.length).toBeGreaterThan(5);
    const scripts = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')).scripts;
    expect(scripts['test:quick']).toMatch(/^TEST_TIER=quick /);
  });

  test('npm run test:deep runs at full depth every test file of npm test whose runs depth.ts sets, and only those', async () => {
    const { deepFiles } = (await import(path.join(projectRoot, 'scripts', 'testDeep.mjs'))) as {
      deepFiles: () => string[];
    };
    const { npmTestFiles } = (await import(path.join(projectRoot, 'scripts', 'testParts.mjs'))) as {
      npmTestFiles: () => string[];
    };
    const inNpmTest = npmTestFiles();
    expect(inNpmTest.length).toBeGreaterThan(100);
    expect(inNpmTest.filter((f) => /^test\/(e2e|timing)\/|\.system\.test\.ts$/.test(f))).toEqual([]);
    const randomised = inNpmTest.filter((f) =>
      /\b(runs|depth)\(|\bFULL_DEPTH\b/.test(fs.readFileSync(path.join(projectRoot, f), 'utf8')),
    );
    expect(randomised.length).toBeGreaterThan(20);
    expect(deepFiles()).toEqual(randomised.sort());
    const scripts = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')).scripts;
    expect(scripts['test:deep']).toContain('scripts/testDeep.mjs');
  });
});
