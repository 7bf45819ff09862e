// Bundles the server and the admin CLI into dist/ with esbuild: `npm start` then runs plain
// node (no TypeScript loader at run time). Packages stay external (resolved from node_modules).
// Run by `npm install` (prepare) and `npm run build`; tests call it once before spawning.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Entry points: dist/<name>.js, one level below the project root like server/*.ts (views are found from there). */
export const entries = {
  main: 'server/main.ts',
  admin: 'server/admin.ts',
  // Loaded by the worker pool from beside the server's own file (server/http/offload/pool.ts).
  worker: 'server/http/offload/worker.ts',
};

export async function buildAll({ quiet = false } = {}) {
  const started = Date.now();
  // A clean folder: a file left from an earlier build must not hide one this build lacks.
  rmSync(path.join(root, 'dist'), { recursive: true, force: true });
  await build({
    absWorkingDir: root,
    entryPoints: entries,
    outdir: 'dist',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    // What an entry loads only on demand (the web app, for the CLI's `export`) goes in a chunk of its own.
    splitting: true,
    sourcemap: true,
    logLevel: 'warning',
  });
  writeCommonPasswords(path.join(root, 'dist', 'common-passwords.txt'));
  if (!quiet) console.log(`built dist/ in ${Date.now() - started} ms`);
}

/**
 * The common-password list the server checks passwords against, made once here so the server
 * reads one small file (sorted, lower-cased, one a line) instead of loading the packages'
 * dictionaries (~14 MB resident). The same union as server/store/commonPasswords.ts, which
 * falls back to the packages when run from the sources.
 */
function writeCommonPasswords(file) {
  const require = createRequire(path.join(root, 'package.json'));
  const zxcvbn = require('@zxcvbn-ts/language-common').dictionary['passwords-common'];
  const popular = JSON.parse(readFileSync(require.resolve('popular-passwords'), 'utf8'));
  const set = new Set();
  for (const list of [zxcvbn, popular]) for (const p of list) if (typeof p === 'string') set.add(p.toLowerCase());
  writeFileSync(
    file,
    [...set]
      .filter((p) => !p.includes('\n'))
      .sort()
      .join('\n'),
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildAll();
}
