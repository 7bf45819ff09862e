import { execFile } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

/** A fresh temporary folder; remove it with `fsp.rm(dir, { recursive: true, force: true })`. */
export async function tmp(prefix = 'ratify-store-'): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), prefix));
}

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run stock git against a bare repository; never throws (look at `code`). Output is UTF-8 text. */
export function git(gitdir: string, args: string[]): Promise<GitResult> {
  return new Promise((resolve) => {
    execFile(
      'git',
      [`--git-dir=${gitdir}`, ...args],
      {
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', LC_ALL: 'C', TZ: 'UTC' },
      },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Same as `git` but returns the raw bytes of stdout. */
export function gitBytes(gitdir: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      [`--git-dir=${gitdir}`, ...args],
      {
        encoding: 'buffer',
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
      },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    );
  });
}

/**
 * `git fsck --strict` must exit 0 and report nothing but dangling objects (a killed writer may
 * leave objects no ref names; that is harmless). Returns the lines that are a problem.
 */
export async function fsckProblems(gitdir: string): Promise<string[]> {
  const r = await git(gitdir, ['fsck', '--strict', '--no-progress', '--no-reflogs']);
  const lines = `${r.stdout}\n${r.stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const bad = lines.filter((l) => !/^(dangling |notice: |Checking )/.test(l) || /error|missing|broken|empty/i.test(l));
  if (r.code !== 0) bad.unshift(`git fsck exited with ${r.code}`);
  return bad;
}
