// Bundles the server and the admin CLI into dist/ with esbuild: `npm start` then runs plain
// node (no TypeScript loader at run time). Packages are bundled too, but for those that load
// files of their own by path (EXTERNAL): resolving and reading each package's files at every
// start cost ~50 ms of a ~0.65 s start and 10 MB of RSS (empty data folder, three starts each).
// Run by `npm install` (prepare) and `npm run build`; tests call it once before spawning.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Entry points: dist/<name>.js, one level below the project root like server/*.ts (views are found from there). */
export const entries = {
  main: 'server/main.ts',
  admin: 'server/admin.ts',
  // Loaded by the worker pool from beside the server's own file (server/http/offload/pool.ts).
  worker: 'server/http/offload/worker.ts',
};

/**
 * Packages left in node_modules: pino and piscina start worker threads from their own files,
 * esbuild runs its binary, and the password lists are read from their packages when the server
 * runs from the sources (dist/ has its own list).
 */
const EXTERNAL = [
  'pino',
  'pino-*',
  'thread-stream',
  'piscina',
  'esbuild',
  'popular-passwords',
  '@zxcvbn-ts/*',
  // Its encodings' tables (0.5 MB of the bundle, parsed at every start) are read by node from the
  // package when the first request body is decoded, and only the tables a charset needs.
  'iconv-lite',
  // Its table of media types (0.15 MB), which express and compression read at load: bundled it is
  // a JavaScript object to compile; node reads the package's db.json with JSON.parse instead
  // (mime-types loaded in 25 ms against 45-66 ms bundled, five runs each).
  'mime-db',
];

/**
 * zod's translations of its messages into ~50 languages (0.3 MB), which nothing here uses, are
 * left out: `z.locales` is empty (zod keeps its English messages, imported on their own).
 */
const noZodLocales = {
  name: 'no-zod-locales',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${path.sep}node_modules${path.sep}zod${path.sep}`)
        ? { path: 'zod-locales', namespace: 'no-zod-locales' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'no-zod-locales' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

/**
 * Bundled CommonJS calls `require` for node's own modules (and express for a view engine by
 * name): each output file gets a real one.
 */
const REQUIRE =
  "import { createRequire as __ratifyRequire } from 'node:module'; const require = __ratifyRequire(import.meta.url);";

/**
 * A digest of the bytes a build reads: every file under `paths` (folders walked, in name order),
 * this script, and the installed packages' lock (npm rewrites it on every install).
 */
export function inputsDigest(paths) {
  const hash = createHash('sha256');
  const add = (rel) => {
    const file = path.join(root, rel);
    if (!existsSync(file)) return void hash.update(`${rel} absent\0`);
    hash.update(`${rel}\0`).update(readFileSync(file)).update('\0');
  };
  const walk = (rel) => {
    for (const e of readdirSync(path.join(root, rel), { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      const child = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(child);
      else add(child);
    }
  };
  for (const p of paths) walk(p);
  add('scripts/build.mjs');
  add('node_modules/.package-lock.json');
  return hash.digest('hex');
}

/**
 * Whether the build in `dir` is current: its `.inputs` file holds `digest` (written by
 * `markBuilt` once the build finished) and each of `outputs` is there.
 */
export function isCurrent(dir, digest, outputs) {
  const stamp = path.join(dir, '.inputs');
  return (
    existsSync(stamp) && readFileSync(stamp, 'utf8') === digest && outputs.every((f) => existsSync(path.join(dir, f)))
  );
}

/** Note in `dir` the digest of the inputs it was just built from. */
export function markBuilt(dir, digest) {
  writeFileSync(path.join(dir, '.inputs'), digest);
}

const DIST = path.join(root, 'dist');

/**
 * `whenChanged`: keep dist/ when it was built from the same inputs (the tests' setup, run before
 * every jest run: ~1.7 s of building saved when nothing changed; reading the ~200 sources, ~20 ms).
 */
export async function buildAll({ quiet = false, whenChanged = false } = {}) {
  const started = Date.now();
  const digest = inputsDigest(['server']);
  const outputs = [...Object.keys(entries).map((e) => `${e}.js`), 'common-passwords.txt'];
  if (whenChanged && isCurrent(DIST, digest, outputs)) return;
  // A clean folder: a file left from an earlier build must not hide one this build lacks.
  rmSync(DIST, { recursive: true, force: true });
  await build({
    absWorkingDir: root,
    entryPoints: entries,
    outdir: 'dist',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: EXTERNAL,
    // What an entry loads only on demand (the web app, for the CLI's `export`) goes in a chunk of its own.
    splitting: true,
    sourcemap: true,
    // The maps name each line's source file and line, for stack traces (--enable-source-maps),
    // without a copy of the sources: node reads and keeps the maps of what it loads, and the
    // bundled packages' sources were most of their 15.6 MB (4.2 MB without).
    sourcesContent: false,
    // Indentation and comments out: node reads, decodes and keeps the source of what it loads
    // (4.6 MB before the server answers, 3.4 MB so; names are kept, for stack traces and logs).
    // With the line above: 84-86 MB resident once the modules are loaded instead of 102-106 MB,
    // and the start at ten years' volume ~80 ms sooner.
    minifyWhitespace: true,
    banner: { js: REQUIRE },
    plugins: [noZodLocales],
    logLevel: 'warning',
  });
  writeCommonPasswords(path.join(DIST, 'common-passwords.txt'));
  markBuilt(DIST, digest);
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
