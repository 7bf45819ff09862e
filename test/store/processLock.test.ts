import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import {
  acquireLock as acquireWith,
  DataDirBusyError,
  defaultLockMechanism,
  liveHolder,
  LOCK_FILES_DIR,
  processStartTime,
  readLock,
  type LockInfo,
} from '../../server/store/processLock.js';
import { tmp } from './gitHelpers.js';
import { projectRoot } from '../helpers/data.js';
import { bin, childEnv } from '../helpers/bin.js';
import { depth } from '../helpers/depth.js';

describe('store/processLock', () => {
  // Rounds of a takeover race: every one at full depth (CI), a quarter in a developer's run (the
  // fault these catch showed in 1 round of 10: 25 rounds would miss it in ~7 % of runs, 100 in none).
  const RACE_ROUNDS = depth(100);

  let dir: string;
  const children: ChildProcess[] = [];
  beforeEach(async () => {
    dir = await tmp('ratify-lock-');
  });
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await fsp.rm(dir, { recursive: true, force: true });
  });

  const lockFile = () => path.join(dir, 'ratify.lock');
  const writeLock = (info: Partial<LockInfo>) =>
    fsp.writeFile(lockFile(), JSON.stringify({ since: '2026-01-01T00:00:00.000Z', ...info }));

  async function rejection(p: Promise<unknown>): Promise<unknown> {
    try {
      await p;
    } catch (e) {
      return e;
    }
    throw new Error('expected the promise to reject');
  }

  /** A child that has exited: its PID is (almost certainly) free. */
  async function deadPid(): Promise<number> {
    const c = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    const pid = c.pid!;
    await new Promise((res) => c.on('exit', res));
    return pid;
  }

  /** A live process that is not us. */
  async function livePid(): Promise<{ pid: number; child: ChildProcess }> {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(child);
    await new Promise((res, rej) => {
      child.on('spawn', res);
      child.on('error', rej);
    });
    return { pid: child.pid!, child };
  }

  // Both mechanisms, on Linux: the abstract socket (the default here) and the lock files of the
  // platforms without abstract sockets, forced by the option that exists for these tests.
  describe.each(['socket', 'file'] as const)('acquireLock (%s)', (mechanism) => {
    const acquireLock = (d: string, info: Omit<LockInfo, 'pid' | 'since'>) => acquireWith(d, info, { mechanism });

    test('takes a free folder and writes who holds it; release removes the file', async () => {
      const lock = await acquireLock(dir, { role: 'server' });
      const info = await readLock(lockFile());
      expect(info).toMatchObject({ pid: process.pid, role: 'server' });
      expect(typeof info?.since).toBe('string');
      expect((await fsp.stat(lockFile())).mode & 0o777).toBe(0o600);
      // Our own lock is not a "live holder" from our point of view.
      expect(await liveHolder(dir)).toBeNull();
      await lock.update({ socket: '/tmp/x.sock' });
      expect(await readLock(lockFile())).toMatchObject({ pid: process.pid, role: 'server', socket: '/tmp/x.sock' });
      await lock.release();
      await expect(fsp.stat(lockFile())).rejects.toMatchObject({ code: 'ENOENT' });
      // Free again.
      const again = await acquireLock(dir, { role: 'cli' });
      await again.release();
    });

    test('a second acquire by the same process is refused (our own PID counts as alive)', async () => {
      const first = await acquireLock(dir, { role: 'server' });
      const e = await rejection(acquireLock(dir, { role: 'cli' }));
      expect(e).toBeInstanceOf(DataDirBusyError);
      expect((e as DataDirBusyError).holder).toMatchObject({ pid: process.pid, role: 'server' });
      // The refused attempt left the holder's lock alone.
      expect(await readLock(lockFile())).toMatchObject({ pid: process.pid, role: 'server' });
      await first.release();
    });

    test('concurrent acquires in one process: exactly one wins', async () => {
      const results = await Promise.allSettled(Array.from({ length: 5 }, () => acquireLock(dir, { role: 'cli' })));
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(DataDirBusyError);
      await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireLock>>>).value.release();
    });

    test('a lock naming a dead PID is taken over', async () => {
      const pid = await deadPid();
      await writeLock({ pid, role: 'server', socket: '/tmp/dead.sock' });
      expect(await liveHolder(dir)).toBeNull();
      const lock = await acquireLock(dir, { role: 'cli' });
      expect(await readLock(lockFile())).toMatchObject({ pid: process.pid, role: 'cli' });
      expect((await readLock(lockFile()))?.socket).toBeUndefined();
      await lock.release();
    });

    test('a lock file cut short by a crash (empty or half-written) is taken over', async () => {
      await fsp.writeFile(lockFile(), '');
      const a = await acquireLock(dir, { role: 'server' });
      await a.release();
      await fsp.writeFile(lockFile(), '{"pid": 12');
      const b = await acquireLock(dir, { role: 'server' });
      expect(await readLock(lockFile())).toMatchObject({ pid: process.pid });
      await b.release();
    });

    test('a lock held by a live other process is refused with DataDirBusyError naming role and PID', async () => {
      for (const role of ['server', 'cli'] as const) {
        const child = spawn(bin.fixture('holdLock')[0], [...bin.fixture('holdLock')[1], dir, role, mechanism], {
          cwd: projectRoot,
          env: childEnv(),
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        await new Promise<void>((resolve, reject) => {
          child.stdout!.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
          child.on('exit', (code) => reject(new Error(`holder exited early (${code})`)));
        });
        expect(await liveHolder(dir)).toMatchObject({ pid: child.pid, role });
        const e = await rejection(acquireLock(dir, { role: 'cli' }));
        expect(e).toBeInstanceOf(DataDirBusyError);
        expect((e as DataDirBusyError).holder).toMatchObject({ pid: child.pid, role });
        // The holder's lock is untouched.
        expect(await readLock(lockFile())).toMatchObject({ pid: child.pid, role });
        child.kill('SIGKILL');
        await new Promise((res) => child.on('exit', res));
        // Once the holder is gone (kill -9: no clean-up) the lock is taken over, at once.
        const started = Date.now();
        const lock = await acquireLock(dir, { role: 'server' });
        expect(Date.now() - started).toBeLessThan(2000);
        expect(await readLock(lockFile())).toMatchObject({ pid: process.pid, role: 'server' });
        await lock.release();
      }
    });

    // One process at a time owns DATA_DIR. When the holder died, several starters may race to
    // take the lock over; each reads the dead PID, removes "the" lock file and creates its own —
    // a slower one then removes the lock a faster one has just created, and both run.
    // (Measured: 30 of 300 rounds of 4 concurrent takeovers ended with two or more holders.)
    test("concurrent takeovers of a dead holder's lock: exactly one wins", async () => {
      const pid = await deadPid();
      const rounds: number[] = [];
      for (let i = 0; i < RACE_ROUNDS; i++) {
        await writeLock({ pid, role: 'server' });
        const results = await Promise.allSettled(Array.from({ length: 4 }, () => acquireLock(dir, { role: 'cli' })));
        const won = results.filter((r) => r.status === 'fulfilled');
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(DataDirBusyError);
        rounds.push(won.length);
        for (const w of won)
          await (w as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireLock>>>).value.release();
        await fsp.rm(lockFile(), { force: true });
      }
      expect({
        roundsWithMoreThanOneHolder: rounds.filter((n) => n > 1).length,
        roundsWithNone: rounds.filter((n) => n === 0).length,
      }).toEqual({
        roundsWithMoreThanOneHolder: 0,
        roundsWithNone: 0,
      });
    });

    // The lock file is created empty (open 'wx') and filled afterwards; a starter that looks in
    // between reads an empty file, takes it for a crash leftover, removes it and takes the lock
    // while the first still believes it holds it. Fault injection: writing the lock file is slow.
    test('a lock being written (still empty) is not taken over', async () => {
      const probe = await fsp.open(path.join(dir, 'probe'), 'w');
      const proto = Object.getPrototypeOf(probe) as { writeFile: (...a: unknown[]) => Promise<void> };
      await probe.close();
      const { writeFile } = proto;
      proto.writeFile = async function (this: object, ...a: unknown[]) {
        await new Promise((res) => setTimeout(res, 30));
        return writeFile.apply(this, a);
      };
      let results: PromiseSettledResult<unknown>[];
      try {
        const first = acquireLock(dir, { role: 'server' });
        // The second starter looks once the first has created the file.
        for (let i = 0; i < 1000 && !(await fsp.stat(lockFile()).catch(() => null)); i++)
          await new Promise((res) => setImmediate(res));
        const second = acquireLock(dir, { role: 'cli' });
        results = await Promise.allSettled([first, second]);
      } finally {
        proto.writeFile = writeFile;
      }
      const holders = results.filter((r) => r.status === 'fulfilled');
      expect(holders).toHaveLength(1);
      expect(results[0].status).toBe('fulfilled');
      expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(DataDirBusyError);
    });

    test('release does not remove a lock another process took over', async () => {
      const lock = await acquireLock(dir, { role: 'server' });
      const { pid } = await livePid();
      await writeLock({ pid, role: 'cli' });
      await lock.release();
      expect(await readLock(lockFile())).toMatchObject({ pid, role: 'cli' });
    });
  });

  describe('the lock files (platforms without abstract sockets)', () => {
    const acquire = (role: 'server' | 'cli' = 'cli') => acquireWith(dir, { role }, { mechanism: 'file' });
    const lockDir = () => path.join(dir, LOCK_FILES_DIR);
    const numbered = async () => (await fsp.readdir(lockDir())).filter((n) => /^\d{12}$/.test(n)).sort();
    const writeHolder = async (n: number, holder: Record<string, unknown>) => {
      await fsp.mkdir(lockDir(), { recursive: true });
      await fsp.writeFile(path.join(lockDir(), String(n).padStart(12, '0')), JSON.stringify(holder));
    };

    test('Linux keeps the abstract socket; every other platform takes the lock files', () => {
      expect(defaultLockMechanism('linux')).toBe('socket');
      for (const p of ['darwin', 'freebsd', 'openbsd', 'sunos', 'aix'] as const)
        expect(defaultLockMechanism(p)).toBe('file');
    });

    test('release writes "released" over the highest file, which is never removed; the next holder removes the lower ones', async () => {
      const a = await acquire();
      expect(await numbered()).toEqual(['000000000001']);
      await a.release();
      const after = JSON.parse(await fsp.readFile(path.join(lockDir(), '000000000001'), 'utf8'));
      expect(after).toMatchObject({ pid: process.pid, released: true });
      const b = await acquire();
      expect(await numbered()).toEqual(['000000000002']);
      await b.release();
      // Nothing temporary is left behind.
      expect((await fsp.readdir(lockDir())).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    });

    test('a holder that died (its PID is free) is taken over', async () => {
      await writeHolder(7, { pid: await deadPid(), start: '1', token: 'x', role: 'server' });
      const lock = await acquire();
      expect(await numbered()).toEqual(['000000000008']);
      await lock.release();
    });

    test('a PID now used by another process (another start time) holds nothing; the same start time holds', async () => {
      const { pid } = await livePid();
      await writeHolder(3, { pid, start: 'another start', token: 'x', role: 'server' });
      const lock = await acquire();
      await lock.release();
      await fsp.rm(lockDir(), { recursive: true });
      await writeHolder(3, { pid, start: processStartTime(pid), token: 'x', role: 'server' });
      expect(await rejection(acquire())).toBeInstanceOf(DataDirBusyError);
      expect(await numbered()).toEqual(['000000000003']);
    });

    test('a damaged lock file holds nothing', async () => {
      await fsp.mkdir(lockDir(), { recursive: true });
      await fsp.writeFile(path.join(lockDir(), '000000000004'), '{"pid": 12');
      const lock = await acquire();
      expect(await numbered()).toEqual(['000000000005']);
      await lock.release();
    });

    test('a number linked from an old view (a higher one appeared meanwhile) is given up: the higher live holder wins', async () => {
      const links: number[] = [];
      // Between this starter's look at the folder (empty: it will link 1) and its link, another
      // process takes 2 (as after its own takeover of a 1 that has since been cleared away).
      const late = acquireWith(
        dir,
        { role: 'cli' },
        {
          mechanism: 'file',
          beforeLink: async (n) => {
            links.push(n);
            if (n === 1)
              await writeHolder(2, { pid: process.pid, start: processStartTime(process.pid), token: 'other' });
          },
        },
      );
      expect(await rejection(late)).toBeInstanceOf(DataDirBusyError);
      expect(links).toEqual([1]);
      // Its own 1 is gone again; the holder's 2 is untouched.
      expect(await numbered()).toEqual(['000000000002']);
      expect(JSON.parse(await fsp.readFile(path.join(lockDir(), '000000000002'), 'utf8'))).toMatchObject({
        token: 'other',
      });
    });

    // A holder killed with kill -9; then several starters at once, a hundred times: never two holders.
    test("concurrent takeovers of a killed holder's lock: exactly one wins", async () => {
      const child = spawn(bin.fixture('holdLock')[0], [...bin.fixture('holdLock')[1], dir, 'server', 'file'], {
        cwd: projectRoot,
        env: childEnv(),
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
        child.on('exit', (code) => reject(new Error(`holder exited early (${code})`)));
      });
      const [name] = await numbered();
      const dead = await fsp.readFile(path.join(lockDir(), name), 'utf8');
      child.kill('SIGKILL');
      await new Promise((res) => child.on('exit', res));
      expect(JSON.parse(dead)).toMatchObject({ pid: child.pid, role: 'server' });
      const rounds: number[] = [];
      for (let i = 0; i < RACE_ROUNDS; i++) {
        await fsp.rm(lockDir(), { recursive: true, force: true });
        await fsp.mkdir(lockDir());
        await fsp.writeFile(path.join(lockDir(), name), dead);
        const results = await Promise.allSettled(Array.from({ length: 4 }, () => acquire()));
        const won = results.filter((r) => r.status === 'fulfilled');
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(DataDirBusyError);
        rounds.push(won.length);
        for (const w of won) await (w as PromiseFulfilledResult<Awaited<ReturnType<typeof acquire>>>).value.release();
      }
      expect({
        roundsWithMoreThanOneHolder: rounds.filter((n) => n > 1).length,
        roundsWithNone: rounds.filter((n) => n === 0).length,
      }).toEqual({ roundsWithMoreThanOneHolder: 0, roundsWithNone: 0 });
    });

    test('two live processes: the second is refused, naming the first', async () => {
      const holder = spawn(bin.fixture('holdLock')[0], [...bin.fixture('holdLock')[1], dir, 'server', 'file'], {
        cwd: projectRoot,
        env: childEnv(),
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(holder);
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
        holder.on('exit', (code) => reject(new Error(`holder exited early (${code})`)));
      });
      const second = spawn(bin.fixture('holdLock')[0], [...bin.fixture('holdLock')[1], dir, 'cli', 'file'], {
        cwd: projectRoot,
        env: childEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(second);
      let err = '';
      second.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
      const code = await new Promise<number | null>((res) => second.on('exit', (c) => res(c)));
      expect(code).not.toBe(0);
      expect(err).toContain(`A Ratify server (PID ${holder.pid}) is using this data folder.`);
    });
  });

  describe('processStartTime', () => {
    test.each(['proc', 'ps'] as const)(
      'via %s: the same for a process while it lives, null once it is gone',
      async (via) => {
        const { pid } = await livePid();
        const t = processStartTime(pid, via);
        expect(t).toBeTruthy();
        expect(processStartTime(pid, via)).toBe(t);
        expect(processStartTime(await deadPid(), via)).toBeNull();
      },
    );
  });
});
