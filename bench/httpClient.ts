/** The HTTP side of the bench: bench/server.ts in its own process, and sequential timed GETs against it. */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { children, documentsDir, root } from './common.js';
import { ms, procCpuMs, stats, type Stats } from './stats.js';

export interface Server {
  child: ChildProcess;
  pid: number;
  base: string;
  startMs: number;
  openMs: number;
  rssKbAtStart: number;
  stop: () => Promise<number>;
}

/** bench/server.ts in its own process (node --import tsx, so the pid is the server's). */
export async function startServer(dataDir: string, env: Record<string, string | undefined> = {}): Promise<Server> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench', 'server.ts')], {
    cwd: root,
    env: { ...process.env, ...env, BENCH_DATA_DIR: dataDir, BENCH_DOCUMENTS_DIR: documentsDir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  const messages: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    try {
      messages.push(JSON.parse(l));
    } catch {
      return; // not ours
    }
    waiters.splice(0).forEach((w) => w());
  });
  const next = (key: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const m = messages.find((x) => key in x);
        if (m) resolve(m);
        else waiters.push(check);
      };
      child.once('close', (code) => reject(new Error(`bench server exited (${code}) before "${key}"`)));
      check();
    });
  const ready = await next('ready');
  return {
    child,
    pid: child.pid!,
    base: `http://127.0.0.1:${ready.port}`,
    startMs: performance.now() - t0,
    openMs: ready.openMs as number,
    rssKbAtStart: ready.rssKb as number,
    stop: async () => {
      const exited = new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      child.kill('SIGTERM');
      const m = await next('stopped');
      await exited;
      children.delete(child);
      return m.maxRssKb as number;
    },
  };
}

export interface Latency extends Stats {
  bytes: number;
  first: number;
  /** Server CPU time per timed request (ms). */
  serverCpu: number;
}

/**
 * Sequential GETs (keep-alive): `warm` untimed (the first one's time is kept as "first"),
 * then up to `n` timed, stopping early after `budgetMs` once `minN` are in.
 */
export async function latency(
  server: Server,
  urlPath: string,
  o: { n: number; warm: number; budgetMs?: number; minN?: number },
): Promise<Latency> {
  const url = server.base + urlPath;
  let bytes = 0;
  const get = async () => {
    const t = performance.now();
    const res = await fetch(url);
    const body = await res.arrayBuffer();
    if (res.status !== 200)
      throw new Error(`GET ${url}: ${res.status} ${Buffer.from(body).toString('utf8').slice(0, 200)}`);
    bytes = body.byteLength;
    return performance.now() - t;
  };
  let first = NaN;
  for (let i = 0; i < o.warm; i++) {
    const d = await get();
    if (i === 0) first = d;
  }
  const sample: number[] = [];
  const cpu0 = procCpuMs(server.pid);
  const t0 = performance.now();
  for (let i = 0; i < o.n; i++) {
    sample.push(await get());
    if (o.budgetMs && performance.now() - t0 > o.budgetMs && sample.length >= (o.minN ?? 10)) break;
  }
  const serverCpu = (procCpuMs(server.pid) - cpu0) / sample.length;
  return { ...stats(sample), bytes, first, serverCpu };
}

export const latencyRow = (label: string, l: Latency) => [
  label,
  `${ms(l.first)} ms`,
  `${ms(l.median)} ms`,
  `${ms(l.p95)} ms`,
  `${ms(l.max)} ms`,
  `${ms(l.serverCpu)} ms`,
  l.n,
  `${(l.bytes / 1024).toFixed(0)} KB`,
];
export const LATENCY_HEAD = ['request', 'first (cold)', 'median', 'p95', 'max', 'server CPU / req', 'n', 'response'];
