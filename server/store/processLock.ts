import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { fsyncDir, mkdirPrivate, writeFileDurable } from './fsutil.js';
import { once } from '../util/once.js';

/** Who holds the data folder: the server (which then also answers admin commands on `socket`) or a CLI run. */
export interface LockInfo {
  pid: number;
  role: 'server' | 'cli';
  socket?: string;
  since: string;
}

const alive = (pid: number) => {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export class DataDirBusyError extends Error {
  readonly code = 'data_dir_busy';
  constructor(readonly holder: LockInfo | null) {
    super(
      holder?.role === 'server'
        ? `A Ratify server (PID ${holder.pid}) is using this data folder.`
        : holder
          ? `Another Ratify admin command (PID ${holder.pid}) is using this data folder; wait for it to finish.`
          : 'Another Ratify process is using this data folder.',
    );
  }
}

/**
 * How one process at a time is made sure of: `socket`, an abstract Unix socket (Linux only), or
 * `file`, lock files in `ratify.lock.d/` (everywhere else). Both release themselves when their
 * holder dies, so a kill -9 never blocks the next start.
 */
export type LockMechanism = 'socket' | 'file';

/** Abstract sockets exist on Linux only; everywhere else the lock files. */
export const defaultLockMechanism = (platform: NodeJS.Platform = process.platform): LockMechanism =>
  platform === 'linux' ? 'socket' : 'file';

/** The folder of the `file` mechanism's lock files, in DATA_DIR. */
export const LOCK_FILES_DIR = 'ratify.lock.d';

/** A held mutual exclusion; `null` from a mechanism means another process holds it. */
interface Mutex {
  release: () => Promise<void>;
}

/**
 * One process at a time owns DATA_DIR (the metadata it holds in memory and its write locks are
 * its own). On Linux mutual exclusion is a Unix socket bound in the abstract namespace, named
 * after the folder: the bind is atomic and the kernel releases it when the process dies, so a
 * lock left by a killed process (kill -9) can never block the next start, and two starters can
 * never both win. Elsewhere (no abstract sockets) lock files do the same (`fileMutex`).
 * The file `ratify.lock` only says who holds it (PID, role, admin socket).
 * `mechanism` is for tests, which run the lock files on Linux too, and so is `beforeLink`.
 */
export async function acquireLock(
  dataDir: string,
  info: Omit<LockInfo, 'pid' | 'since'>,
  opts: {
    mechanism?: LockMechanism;
    /** Tests only: called by the lock files just before they link number `n` (to stage a race). */
    beforeLink?: (n: number) => Promise<void>;
  } = {},
): Promise<{ release: () => Promise<void>; update: (i: Partial<LockInfo>) => Promise<void> }> {
  const real = await fsp.realpath(dataDir);
  const file = path.join(real, 'ratify.lock');
  const mine: LockInfo = { pid: process.pid, since: new Date().toISOString(), ...info };
  const mechanism = opts.mechanism ?? defaultLockMechanism();
  const mutex = mechanism === 'socket' ? await socketMutex(real) : await fileMutex(real, mine, opts.beforeLink);
  if (!mutex) throw new DataDirBusyError(await readLock(file));
  const tmp = path.join(real, 'meta', 'tmp');
  const write = async () => {
    await mkdirPrivate(tmp);
    await writeFileDurable(file, JSON.stringify(mine), tmp);
  };
  try {
    await write();
  } catch (e) {
    await mutex.release();
    throw e;
  }
  return {
    release: once(async () => {
      const now = await readLock(file);
      if (now?.pid === process.pid) await fsp.rm(file, { force: true });
      await mutex.release();
    }),
    update: async (i) => {
      Object.assign(mine, i);
      await write();
    },
  };
}

/** The abstract socket `\0ratify-lock-<hash of the folder>`: null when another process has it bound. */
async function socketMutex(real: string): Promise<Mutex | null> {
  const name = `\0ratify-lock-${createHash('sha256').update(real).digest('hex').slice(0, 32)}`;
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path: name, exclusive: true }, () => resolve());
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') return null;
    throw e;
  }
  server.unref();
  return { release: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** What a lock file of the `file` mechanism holds. */
interface LockFileHolder {
  pid: number;
  /** The holder's start time as the system tells it (`processStartTime`), so a reused PID is no holder. */
  start: string | null;
  token: string;
  role?: LockInfo['role'];
  /** Written over the file when its holder lets go. */
  released?: boolean;
}

const GENERATION = /^\d{12}$/;
const generationName = (n: number) => String(n).padStart(12, '0');

/** The generations present, highest first. */
async function generations(dir: string): Promise<number[]> {
  return (await fsp.readdir(dir))
    .filter((n) => GENERATION.test(n))
    .map(Number)
    .sort((a, b) => b - a);
}

/**
 * Lock files for platforms without abstract sockets. `ratify.lock.d/` holds numbered files, each
 * made complete before it appears (written to a temporary file, then hard-linked under its
 * number, which fails if the number exists: an exclusive create that never shows a half-written
 * file). The holder is the writer of the highest number, while it lives: its PID is alive and
 * started when the file says (a PID reused by another program does not count). To take over
 * from a holder that died (kill -9) or let go, a starter links the next number: of several
 * starters exactly one can make it, and nobody ever removes a lock that might be held. Numbers
 * only grow (the highest file is never removed; its holder writes "released" over it on
 * release), so a starter that linked a number from an old view sees a higher one and backs out.
 */
async function fileMutex(
  real: string,
  info: LockInfo,
  beforeLink?: (n: number) => Promise<void>,
): Promise<Mutex | null> {
  const dir = path.join(real, LOCK_FILES_DIR);
  await mkdirPrivate(dir);
  const token = randomBytes(16).toString('hex');
  const me: LockFileHolder = { pid: process.pid, start: processStartTime(process.pid), token, role: info.role };
  const tmp = path.join(dir, `.tmp-${token}`);
  await writeSynced(tmp, JSON.stringify(me));
  let held = 0;
  try {
    for (let attempt = 0; attempt < 1000 && !held; attempt++) {
      const top = (await generations(dir))[0] ?? 0;
      if (top) {
        const holder = await readHolder(path.join(dir, generationName(top)));
        if (holder === 'gone') continue;
        if (holder && holderAlive(holder)) return null;
      }
      await beforeLink?.(top + 1);
      try {
        await fsp.link(tmp, path.join(dir, generationName(top + 1)));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw e;
      }
      // Linked from an old view of the folder: a higher number exists, which is not ours to pass over.
      if ((await generations(dir))[0] !== top + 1) {
        await fsp.rm(path.join(dir, generationName(top + 1)), { force: true });
        continue;
      }
      held = top + 1;
    }
  } finally {
    await fsp.rm(tmp, { force: true });
  }
  if (!held) throw new Error(`The lock files in ${dir} keep changing; try again.`);
  await fsyncDir(dir);
  // Lower numbers are history now; a starter's leftover temporary file (killed mid-way) too.
  for (const n of (await generations(dir)).filter((g) => g < held))
    await fsp.rm(path.join(dir, generationName(n)), { force: true });
  for (const name of (await fsp.readdir(dir)).filter((n) => n.startsWith('.tmp-'))) {
    const p = path.join(dir, name);
    const st = await fsp.stat(p).catch(() => null);
    if (st && Date.now() - st.mtimeMs > 60_000) await fsp.rm(p, { force: true });
  }
  const ownFile = path.join(dir, generationName(held));
  return {
    release: async () => {
      const done = path.join(dir, `.tmp-${token}-released`);
      await writeSynced(done, JSON.stringify({ ...me, released: true }));
      await fsp.rename(done, ownFile);
    },
  };
}

/** Create `file` (never existing: a random name) with `data`, on disk before it returns. */
async function writeSynced(file: string, data: string): Promise<void> {
  const h = await fsp.open(file, 'wx', 0o600);
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
}

/** A lock file's holder; null when it cannot be read as one (a damaged file holds nothing); 'gone' when it is no longer there. */
async function readHolder(file: string): Promise<LockFileHolder | null | 'gone'> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw e;
  }
  try {
    const h = JSON.parse(text) as LockFileHolder;
    return Number.isInteger(h.pid) ? h : null;
  } catch {
    return null;
  }
}

/** Whether a lock file's writer still holds it: not released, its PID alive, and the same process (same start). */
function holderAlive(h: LockFileHolder): boolean {
  if (h.released || !alive(h.pid)) return false;
  if (h.start === null || h.start === undefined) return true;
  const now = processStartTime(h.pid);
  return now === null || now === h.start;
}

/**
 * When process `pid` started, as an opaque string to compare (null when unknown): on Linux its
 * start tick from /proc, elsewhere what `ps -o lstart=` says (macOS, the BSDs).
 */
export function processStartTime(
  pid: number,
  via: 'proc' | 'ps' | 'none' = process.platform === 'linux' ? 'proc' : process.platform === 'win32' ? 'none' : 'ps',
): string | null {
  try {
    if (via === 'proc') {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // After "pid (name) ": field 3 (state) onwards; the start time is field 22.
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] || null;
    }
    if (via === 'ps')
      return (
        execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], {
          encoding: 'utf8',
          timeout: 5000,
          stdio: ['ignore', 'pipe', 'ignore'],
        }).trim() || null
      );
  } catch {
    // no such process, or no way to ask
  }
  return null;
}

/** The holder the lock file names, or null. */
export async function readLock(file: string): Promise<LockInfo | null> {
  try {
    const info = JSON.parse(await fsp.readFile(file, 'utf8')) as LockInfo;
    return Number.isInteger(info.pid) ? info : null;
  } catch {
    return null;
  }
}

/** The live holder of DATA_DIR other than this process, or null. */
export async function liveHolder(dataDir: string): Promise<LockInfo | null> {
  const h = await readLock(path.join(dataDir, 'ratify.lock'));
  return h && alive(h.pid) && h.pid !== process.pid ? h : null;
}
