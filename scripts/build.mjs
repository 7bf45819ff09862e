// Bundles the server and the admin CLI into dist/ with esbuild: `npm start` then runs plain
// node (no TypeScript loader at run time). Packages stay external (resolved from node_modules).
// Run by `npm install` (prepare) and `npm run build`; tests call it once before spawning.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import { rmSync } from 'node:fs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Entry points: dist/<name>.js, one level below the project root like server/*.ts (views are found from there). */
export const entries = {
  main: 'server/main.ts',
  admin: 'server/cli/main.ts',
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
    sourcemap: true,
    logLevel: 'warning',
  });
  if (!quiet) console.log(`built dist/ in ${Date.now() - started} ms`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildAll();
}
