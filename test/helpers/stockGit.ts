import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

/** Stock git on a data folder's bare repository (no system or user config); raw bytes out. */
export function gitOf(t: { dataDir: string }, ...args: string[]): Buffer {
  return execFileSync('git', ['--git-dir', path.join(t.dataDir, 'git'), ...args], {
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: t.dataDir, LC_ALL: 'C' },
  });
}

/** The same, as text. */
export const gitTextOf = (t: { dataDir: string }, ...args: string[]) => gitOf(t, ...args).toString('utf8');
