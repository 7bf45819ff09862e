// Jest globalSetup: build dist/ (what `npm start` and `npm run admin` run) and the child
// processes of the crash tests once, so that tests spawn plain node (~0.25 s) instead of a
// TypeScript loader (~0.8 s) each time, and always against the current source (rebuilt only when
// a source changed: each output keeps the digest of its inputs).
import { build } from 'esbuild';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAll, inputsDigest, isCurrent, markBuilt } from '../../scripts/build.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export default async function globalSetup() {
  // Seeded data folders to copy instead of seeding again (test/helpers/data.ts), for this run only.
  process.env.RATIFY_TEST_TEMPLATES = fs.mkdtempSync(path.join(os.tmpdir(), 'ratify-templates-'));
  await buildAll({ quiet: true, whenChanged: true });
  const fixtures = path.join(root, 'test', 'store', 'fixtures');
  // The same for the fixtures, which bundle server code too.
  const outdir = path.join(root, 'test-output', 'bin');
  const digest = inputsDigest(['server', 'test/store/fixtures']);
  const entryPoints = Object.fromEntries(
    fs
      .readdirSync(fixtures)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => [f.replace(/\.ts$/, ''), path.join(fixtures, f)]),
  );
  if (
    isCurrent(
      outdir,
      digest,
      Object.keys(entryPoints).map((name) => `${name}.js`),
    )
  )
    return;
  await build({
    absWorkingDir: root,
    entryPoints,
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  markBuilt(outdir, digest);
}
