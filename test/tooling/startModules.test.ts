/**
 * What the compiled server loads before it listens: dist/main.js and the files it imports
 * statically, each named with its sources in its source map. The markdown renderer's packages
 * are not among them: they are in files of their own, loaded once the port is open
 * (server/util/markdown.ts), and so is piscina (in node_modules, loaded with the worker pool's
 * first task).
 */
import { describe, expect, test } from '@jest/globals';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../helpers/data.js';

describe('tooling/startModules', () => {
  const DIST = path.join(projectRoot, 'dist');

  /** The dist/ files `file` imports statically (`import … from "./x.js"`, `import "./x.js"`), and theirs. */
  function staticClosure(file: string, seen = new Set<string>()): Set<string> {
    if (seen.has(file)) return seen;
    seen.add(file);
    const code = fs.readFileSync(path.join(DIST, file), 'utf8');
    for (const m of code.matchAll(/(?:^|[;}\s])(?:import|export)\s*(?:[\w*${},\s]+from\s*)?["']\.\/([\w.-]+\.js)["']/g))
      staticClosure(m[1], seen);
    return seen;
  }

  /** The source files a dist/ file was made from, as its source map names them. */
  const sourcesOf = (file: string): string[] =>
    (JSON.parse(fs.readFileSync(path.join(DIST, `${file}.map`), 'utf8')) as { sources: string[] }).sources;

  const renderer = /node_modules\/(markdown-it|sanitize-html|postcss|htmlparser2|linkify-it)\//;

  test('the server starts without the markdown renderer, whose packages are in files loaded later', () => {
    const atStart = [...staticClosure('main.js')];
    expect(atStart.length).toBeGreaterThan(1);
    // The walk finds what it should: the store's code is loaded at the start.
    expect(atStart.flatMap(sourcesOf).some((s) => s.includes('server/store/meta/metaStore.ts'))).toBe(true);
    expect(atStart.flatMap(sourcesOf).filter((s) => renderer.test(s))).toEqual([]);
    expect(atStart.flatMap(sourcesOf).filter((s) => s.includes('node_modules/piscina/'))).toEqual([]);
    const later = fs
      .readdirSync(DIST)
      .filter((f) => f.endsWith('.js') && !atStart.includes(f))
      .flatMap(sourcesOf);
    expect(later.some((s) => s.includes('node_modules/sanitize-html/'))).toBe(true);
    expect(later.some((s) => s.includes('node_modules/markdown-it/'))).toBe(true);
  });
});
