import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { mkdirPrivate, writeFileDurable } from './fsutil.js';

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
 * One process at a time owns DATA_DIR (the metadata it holds in memory and its write locks are
 * its own). Mutual exclusion is a Unix socket bound in Linux's abstract namespace, named after
 * the folder: the bind is atomic and the kernel releases it when the process dies, so a lock
 * left by a killed process (kill -9) can never block the next start, and two starters can
 * never both win.
 * The file `ratify.lock` only says who holds it (PID, role, admin socket).
 */
export async function acquireLock(
  dataDir: string,
  info: Omit<LockInfo, 'pid' | 'since'>,
): Promise<{ release: () => Promise<void>; update: (i: Partial<LockInfo>) => Promise<void> }> {
  const real = await fsp.realpath(dataDir);
  const file = path.join(real, 'ratify.lock');
  const name = `\0ratify-lock-${createHash('sha256').update(real).digest('hex').slice(0, 32)}`;
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path: name, exclusive: true }, () => resolve());
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new DataDirBusyError(await readLock(file));
    throw e;
  }
  server.unref();
  const mine: LockInfo = { pid: process.pid, since: new Date().toISOString(), ...info };
  const tmp = path.join(real, 'meta', 'tmp');
  const write = async () => {
    await mkdirPrivate(tmp);
    await writeFileDurable(file, JSON.stringify(mine), tmp);
  };
  await write();
  return {
    release: async () => {
      const now = await readLock(file);
      if (now?.pid === process.pid) await fsp.rm(file, { force: true });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    update: async (i) => {
      Object.assign(mine, i);
      await write();
    },
  };
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
