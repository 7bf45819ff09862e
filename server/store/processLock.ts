import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

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
  constructor(readonly holder: LockInfo) {
    super(
      holder.role === 'server'
        ? `A Ratify server (PID ${holder.pid}) is using this data folder.`
        : `Another Ratify admin command (PID ${holder.pid}) is using this data folder; wait for it to finish.`,
    );
  }
}

/**
 * One process at a time owns DATA_DIR (lowdb and the write lock are per process). The lock
 * file names its holder's PID; a lock whose holder is dead (kill -9) is taken over, so a crash
 * never blocks the next start.
 */
export async function acquireLock(dataDir: string, info: Omit<LockInfo, 'pid' | 'since'>): Promise<{ release: () => Promise<void>; update: (i: Partial<LockInfo>) => Promise<void> }> {
  const file = path.join(dataDir, 'ratify.lock');
  const mine: LockInfo = { pid: process.pid, since: new Date().toISOString(), ...info };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const h = await fsp.open(file, 'wx', 0o600);
      await h.writeFile(JSON.stringify(mine));
      await h.sync();
      await h.close();
      return {
        release: async () => {
          const now = await readLock(file);
          if (now?.pid === process.pid) await fsp.rm(file, { force: true });
        },
        update: async (i) => {
          Object.assign(mine, i);
          await fsp.writeFile(file, JSON.stringify(mine));
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = await readLock(file);
    if (holder && alive(holder.pid)) throw new DataDirBusyError(holder);
    // Dead holder, or a lock file cut short by a crash: take it over.
    await fsp.rm(file, { force: true });
  }
  throw new Error(`Could not take the lock ${file}.`);
}

/** The current holder, or null when nobody (alive) holds the lock. */
export async function readLock(file: string): Promise<LockInfo | null> {
  try {
    const info = JSON.parse(await fsp.readFile(file, 'utf8')) as LockInfo;
    return Number.isInteger(info.pid) ? info : null;
  } catch {
    return null;
  }
}

export async function liveHolder(dataDir: string): Promise<LockInfo | null> {
  const h = await readLock(path.join(dataDir, 'ratify.lock'));
  return h && alive(h.pid) && h.pid !== process.pid ? h : null;
}
