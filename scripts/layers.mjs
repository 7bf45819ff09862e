#!/usr/bin/env node
/**
 * `npm run layers`: checks the import rules of .dependency-cruiser.cjs over server/, test/, bench/
 * and scripts/, and exits non-zero on any violation.
 *
 * dependency-cruiser reads the TypeScript with swc (TypeScript 7 has no JavaScript API for its own
 * parser), and swc does not mark type-only imports. So, for the rules whose name ends in `-values`,
 * this script drops a violation when every import or re-export of that module in that file is
 * type-only (`import type { … }`, `import { type A, type B }`, `export type { … } from`): TypeScript
 * erases those, so they are no dependency at run time. Every other rule applies to every import.
 *
 * Usage: node scripts/layers.mjs [--root DIR] [paths…]   (default: server test bench scripts)
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSync } from '@swc/core';
import { cruise, format } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';

const repo = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
// `--root DIR` checks another tree against the same rules (the test of this script uses it).
const rootAt = args.indexOf('--root');
const root = rootAt >= 0 ? path.resolve(args.splice(rootAt, 2)[1]) : repo;
process.chdir(root);

const paths = args.length > 0 ? args : ['server', 'test', 'bench', 'scripts'].filter((p) => existsSync(p));
const options = await extractDepcruiseOptions(path.join(repo, '.dependency-cruiser.cjs'));
const { output } = await cruise(paths, { ...options, outputType: 'json' });
const result = typeof output === 'string' ? JSON.parse(output) : output;

const declarations = new Map();
/** The static imports and re-exports of a file, each with the path or package it names. */
function importsOf(file) {
  let found = declarations.get(file);
  if (!found) {
    const ast = parseSync(readFileSync(file, 'utf8'), { syntax: 'typescript' });
    found = ast.body
      .filter(
        (n) => ['ImportDeclaration', 'ExportNamedDeclaration', 'ExportAllDeclaration'].includes(n.type) && n.source,
      )
      .map((n) => ({ target: targetOf(file, n.source.value), typeOnly: isTypeOnly(n) }));
    declarations.set(file, found);
  }
  return found;
}

/** What an import names, in dependency-cruiser's terms: a repository path (`./x.js` → `dir/x.ts`) or the bare name. */
function targetOf(file, specifier) {
  if (!specifier.startsWith('.')) return specifier;
  return path.posix.join(path.posix.dirname(file), specifier).replace(/\.js$/, '.ts');
}

function isTypeOnly(n) {
  if (n.typeOnly) return true;
  if (n.type === 'ExportAllDeclaration') return false;
  // `import { type A, type B } from …` is erased whole; a side-effect import (no names) is not.
  return n.specifiers.length > 0 && n.specifiers.every((s) => s.isTypeOnly === true);
}

/** True when the file names the dependency only in type-only imports (and names it at least once). */
function onlyTypes(file, dep) {
  // dependency-cruiser reports `node:crypto` as module `crypto` with protocol `node:`.
  const names = [dep.resolved, dep.module, `${dep.protocol ?? ''}${dep.module}`];
  const hits = importsOf(file).filter((d) => names.includes(d.target));
  return hits.length > 0 && hits.every((d) => d.typeOnly);
}

let dropped = 0;
for (const m of result.modules) {
  for (const d of m.dependencies) {
    if (!d.rules?.some((r) => r.name.endsWith('-values'))) continue;
    if (!onlyTypes(m.source, d)) continue;
    dropped += d.rules.filter((r) => r.name.endsWith('-values')).length;
    d.rules = d.rules.filter((r) => !r.name.endsWith('-values'));
    d.valid = d.rules.length === 0;
    if (d.valid) delete d.rules;
  }
}

const report = await format(result, { outputType: 'err' });
process.stdout.write(report.output);
if (report.exitCode === 0) {
  console.log(`layers: no violations (${dropped} type-only imports across layers allowed by the -values rules).`);
}
process.exitCode = report.exitCode;
