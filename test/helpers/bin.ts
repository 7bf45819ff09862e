import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from './data.js';

/**
 * The node flags `npm start` gives the server (package.json's `start`, their one home: the
 * systemd unit in docs/DEPLOY.md repeats them, and a test checks it does).
 */
export function startFlags(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  const words = pkg.scripts.start.split(/\s+/);
  return words.slice(1).filter((w) => w.startsWith('--'));
}

/**
 * Commands for child processes, built once by test/setup/build.mjs (jest globalSetup):
 * the server and the admin CLI as `npm start` / `npm run admin` run them, and test fixtures.
 */
export const bin = {
  server: [process.execPath, [...startFlags(), path.join(projectRoot, 'dist', 'main.js')]] as const,
  admin: [process.execPath, ['--enable-source-maps', path.join(projectRoot, 'dist', 'admin.js')]] as const,
  fixture: (name: string) => [process.execPath, [path.join(projectRoot, 'test-output', 'bin', `${name}.js`)]] as const,
};

/** The environment for a child: jest's NODE_OPTIONS (--experimental-vm-modules) is not for it. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  return env;
}
