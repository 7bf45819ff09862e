import * as path from 'node:path';
import { projectRoot } from './data.js';

/**
 * Commands for child processes, built once by test/setup/build.mjs (jest globalSetup):
 * the server and the admin CLI as `npm start` / `npm run admin` run them, and test fixtures.
 */
export const bin = {
  server: [process.execPath, ['--enable-source-maps', path.join(projectRoot, 'dist', 'main.js')]] as const,
  admin: [process.execPath, ['--enable-source-maps', path.join(projectRoot, 'dist', 'admin.js')]] as const,
  fixture: (name: string) => [process.execPath, [path.join(projectRoot, 'test-output', 'bin', `${name}.js`)]] as const,
};

/** The environment for a child: jest's NODE_OPTIONS (--experimental-vm-modules) is not for it. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  return env;
}
