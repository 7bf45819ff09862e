/**
 * The server as production runs it: `node dist/main.js` (built by `npm run build`) with the
 * flags of `npm start` and its configuration in the environment, mail to the outbox folder.
 * Started on a free port of 127.0.0.1; "started" is the first 200 on `/healthz`, polled every
 * 10 ms from the spawn.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { children, log, root } from './common.js';

export interface ProdServer {
  child: ChildProcess;
  pid: number;
  base: string;
  /** Spawn to the first 200 on /healthz. */
  startMs: number;
  /** Every line it printed (stdout and stderr). */
  lines: string[];
  /** SIGTERM, then the time until the process has exited, and its exit code. */
  stop: () => Promise<{ exitMs: number; code: number | null }>;
}

let built = false;
/** `npm run build` once per bench run. */
export function build(): void {
  if (built) return;
  log('npm run build');
  const r = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build failed: ${r.stderr || r.stdout}`);
  built = true;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** Resident and peak resident memory of a process (kB), from /proc/<pid>/status. */
export function rssKb(pid: number): { rss: number; hwm: number } {
  let s = '';
  try {
    s = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    // it has exited: NaN
  }
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? NaN);
  return { rss: field('VmRSS'), hwm: field('VmHWM') };
}

/**
 * What a process's resident memory is made of (kB), from /proc/<pid>/smaps: mapped files (node's
 * own code and its libraries), glibc malloc's main heap (`[heap]`), the arenas malloc gives other
 * threads (V8's compiler and collector threads, libuv's): each begins on a 64 MB boundary, with
 * the rest of its 64 MB reserved and unreadable after it; and the other anonymous memory: V8's
 * heaps, buffers, thread stacks. NaN when the process is gone.
 */
export function residentParts(pid: number): {
  files: number;
  mallocMain: number;
  mallocThreads: number;
  other: number;
} {
  let text = '';
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return { files: NaN, mallocMain: NaN, mallocThreads: NaN, other: NaN };
  }
  type Mapping = { start: bigint; end: bigint; perms: string; name: string; rss: number };
  const maps: Mapping[] = [];
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head)
      maps.push({
        start: BigInt(`0x${head[1]}`),
        end: BigInt(`0x${head[2]}`),
        perms: head[3],
        name: head[4].trim(),
        rss: 0,
      });
    else if (line.startsWith('Rss:') && maps.length) maps[maps.length - 1].rss = Number(line.split(/\s+/)[1]);
  }
  const ARENA = 64n << 20n;
  const parts = { files: 0, mallocMain: 0, mallocThreads: 0, other: 0 };
  maps.forEach((m, i) => {
    if (m.name.startsWith('/')) parts.files += m.rss;
    else if (m.name === '[heap]') parts.mallocMain += m.rss;
    else if (m.name === '' || m.name.startsWith('[anon')) {
      const next = maps[i + 1];
      const arena =
        m.start % ARENA === 0n &&
        (m.end - m.start === ARENA ||
          (next?.perms.startsWith('---') && next.start === m.end && next.end === m.start + ARENA));
      if (arena) parts.mallocThreads += m.rss;
      else parts.other += m.rss;
    } else parts.other += m.rss;
  });
  return parts;
}

/** The node flags `npm start` gives the server (package.json's `start`: their one home). */
export function startFlags(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
  return [
    ...pkg.scripts.start.split(/\s+/).filter((w) => w.startsWith('--')),
    ...(process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : []),
  ];
}

export async function startProd(dataDir: string, env: Record<string, string> = {}): Promise<ProdServer> {
  build();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const child = spawn(process.execPath, [...startFlags(), path.join(root, 'dist', 'main.js')], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'production',
      DATA_DIR: dataDir,
      PORT: String(port),
      BASE_URL: base,
      LOG_LEVEL: 'warn',
      WRITE_LIMIT: '0',
      // BENCH_SERVER_ENV: more of the server's environment, as `NAME=value` words (a C library's
      // knob, say, to compare a run with it against one without).
      ...Object.fromEntries(
        (process.env.BENCH_SERVER_ENV ?? '')
          .split(' ')
          .filter((w) => w.includes('='))
          .map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]),
      ),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const lines: string[] = [];
  for (const s of [child.stdout!, child.stderr!])
    createInterface({ input: s }).on('line', (l) => {
      lines.push(l);
      if (process.env.BENCH_SERVER_LOG) appendFileSync(process.env.BENCH_SERVER_LOG, l + '\n');
    });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let dead = false;
  void exited.then(() => (dead = true));
  for (;;) {
    if (dead) throw new Error(`the server exited before answering /healthz:\n${lines.join('\n')}`);
    const ok = await fetch(`${base}/healthz`)
      .then(async (r) => {
        await r.arrayBuffer();
        return r.status === 200;
      })
      .catch(() => false);
    if (ok) break;
    if (performance.now() - t0 > 120_000) throw new Error('no 200 on /healthz after 120 s');
    await new Promise((r) => setTimeout(r, 10));
  }
  const startMs = performance.now() - t0;
  return {
    child,
    pid: child.pid!,
    base,
    startMs,
    lines,
    stop: async () => {
      const t = performance.now();
      child.kill('SIGTERM');
      const code = await exited;
      children.delete(child);
      return { exitMs: performance.now() - t, code };
    },
  };
}

/** Number of `.eml` files in the data folder's outbox. */
export async function outboxCount(dataDir: string): Promise<number> {
  try {
    return (await fsp.readdir(path.join(dataDir, 'outbox'))).filter((f) => f.endsWith('.eml')).length;
  } catch {
    return 0;
  }
}
