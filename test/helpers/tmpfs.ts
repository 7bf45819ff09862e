import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { tempDir } from './data.js';

/**
 * A tmpfs for a test of a full disk. Mounting needs root (or CAP_SYS_ADMIN) on Linux: a suite
 * asks `tmpfsUnavailable` at load (a probe, unmounted at once) to choose describe or
 * describe.skip, and mounts in its hooks. A tmpfs mounted at load stayed mounted whenever none
 * of the suite's tests ran (a run filtered with -t), since its hooks then never ran.
 */
export async function mountTmpfs(size: number, prefix: string): Promise<{ dir: string; release: () => Promise<void> }> {
  const dir = await tempDir(prefix);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (e) {
    await fsp.rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    dir,
    release: async () => {
      try {
        execFileSync('umount', [dir]);
      } finally {
        await fsp.rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Why a tmpfs cannot be mounted here, or null when it can. */
export async function tmpfsUnavailable(): Promise<string | null> {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  try {
    await (await mountTmpfs(64 * 1024, 'ratify-probe-')).release();
    return null;
  } catch (e) {
    const msg = String((e as { stderr?: Buffer }).stderr ?? (e as Error).message)
      .trim()
      .split('\n')[0];
    return `cannot mount a tmpfs here (${msg || 'mount failed'})`;
  }
}
