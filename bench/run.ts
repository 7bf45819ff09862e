/**
 * `npm run bench`: measures Ratify on a fresh temporary DATA_DIR and writes docs/BENCHMARKS.md.
 *
 *   1. import of the W3C Process corpus (200 versions) and EIP-1 (123) with the real importHistory
 *   2. history latency (JSON + HTML) over HTTP on 127.0.0.1
 *   3. diff latency (JSON + compare pages) over HTTP, diffProse in-process, `git diff --word-diff`
 *   4. metadata store: one write at 1k / 10k / 50k journal entries, snapshot, reopen
 *   5. public reads under load (autocannon, 10 connections, 10 s)
 *
 * Parts 1–3 need ../shared/corpus; without it they are skipped (one line says so).
 * Wall times suffer when other processes share the CPU or the disk, so next to them the bench
 * records CPU time (of the server per request, of diffProse and git per run) and the machine's
 * load average: those say what the code costs whatever else runs.
 */
import autocannon from 'autocannon';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';
import { openData } from '../server/bootstrap.js';
import { diffProse } from '../server/domain/diff.js';
import { importHistory } from '../server/services/importHistory.js';
import { versionKey } from '../server/store/meta/schema.js';
import { MetaStore, type Change } from '../server/store/meta/metaStore.js';
import { childCpuMs, cpuOf, dirSize, diskUsage, machineCpuMs, mb, ms, ownCpuMs, procCpuMs, stats, table, type Stats } from './stats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// BENCH_CORPUS only to try the bench without the corpus (e.g. BENCH_CORPUS=/nonexistent).
const corpusDir = path.resolve(root, process.env.BENCH_CORPUS ?? '../shared/corpus');
const documentsDir = path.join(root, 'documents');
const reportFile = path.join(root, 'docs', 'BENCHMARKS.md');

const CORPORA = [
  { slug: 'w3c', title: 'W3C Process Document', folder: 'w3c-process' },
  { slug: 'eip-1', title: 'EIP-1: EIP Purpose and Guidelines', folder: 'eip-1' },
] as const;

const started = performance.now();
const hasCorpus = CORPORA.every((c) => fs.existsSync(path.join(corpusDir, c.folder, 'versions')));
const log = (s: string) => console.log(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${s}`);
const temps: string[] = [];
const children = new Set<ChildProcess>();

async function tempDir(prefix: string): Promise<string> {
  const d = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  temps.push(d);
  return d;
}

const load1 = () => os.loadavg()[0].toFixed(1);

// ---------------------------------------------------------------------------------------------
// 1. Import

interface ImportResult {
  slug: string;
  versions: number;
  inputBytes: number;
  seconds: number;
  userSeconds: number;
  sysSeconds: number;
  loopBusy: number;
  first20: number;
  last20: number;
}

interface BlobRead {
  bytes: number;
  isogit: Stats;
  isogitCpu: number;
  zlib: Stats;
  zlibCpu: number;
}

async function importCorpora(dataDir: string): Promise<{ imports: ImportResult[]; blob: BlobRead }> {
  const data = await openData({ dataDir, documentsDir, baseUrl: 'http://127.0.0.1' }, 'server');
  const imports: ImportResult[] = [];
  try {
    for (const c of CORPORA) {
      const dir = path.join(corpusDir, c.folder, 'versions');
      const { bytes } = await dirSize(dir);
      const stamps: number[] = [];
      log(`importing ${c.folder} (load average ${load1()}) …`);
      const cpu0 = process.cpuUsage();
      const elu0 = performance.eventLoopUtilization();
      const t0 = performance.now();
      const r = await importHistory(data.ctx, null, { slug: c.slug, title: c.title, group: 'mag', dir, tsv: path.join(corpusDir, c.folder, 'versions.tsv') }, (done) => {
        stamps[done - 1] = performance.now();
      });
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const elu = performance.eventLoopUtilization(elu0);
      // Mean time per version of the first and the last 20 (does it slow down as history grows?).
      const per = (i0: number, i1: number) => (stamps[i1 - 1] - (i0 === 0 ? t0 : stamps[i0 - 1])) / (i1 - i0);
      imports.push({
        slug: c.slug,
        versions: r.versions,
        inputBytes: bytes,
        seconds,
        userSeconds: cpu.user / 1e6,
        sysSeconds: cpu.system / 1e6,
        loopBusy: elu.utilization,
        first20: per(0, 20),
        last20: per(r.versions - 20, r.versions),
      });
      log(`  ${r.versions} versions in ${seconds.toFixed(2)} s`);
    }
    // What every diff request pays before diffing: reading a 250 KB version out of git.
    const v = data.ctx.meta.get('versions', versionKey('w3c', 200))!;
    const read = () => data.ctx.repo.readBlobText(v.blob);
    await read();
    const isogit: number[] = [];
    let c0 = process.cpuUsage();
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      await read();
      isogit.push(performance.now() - t);
    }
    let c = process.cpuUsage(c0);
    const isogitCpu = (c.user + c.system) / 1000 / 20;
    const file = path.join(dataDir, 'git', 'objects', v.blob.slice(0, 2), v.blob.slice(2));
    const direct = () => {
      const raw = zlib.inflateSync(fs.readFileSync(file));
      if (createHash('sha1').update(raw).digest('hex') !== v.blob) throw new Error('sha mismatch');
      return raw.subarray(raw.indexOf(0) + 1).toString('utf8');
    };
    const text = direct();
    c0 = process.cpuUsage();
    const zl: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      direct();
      zl.push(performance.now() - t);
    }
    c = process.cpuUsage(c0);
    const blob: BlobRead = { bytes: Buffer.byteLength(text), isogit: stats(isogit), isogitCpu, zlib: stats(zl), zlibCpu: (c.user + c.system) / 1000 / 20 };
    return { imports, blob };
  } finally {
    await data.close();
  }
}

/** What stock git would keep after `git gc` (on a copy: the bench data stays as Ratify wrote it). */
async function packedSize(gitDir: string): Promise<{ bytes: number; gcSeconds: number } | null> {
  const copy = path.join(await tempDir('ratify-bench-gc-'), 'git');
  await fsp.cp(gitDir, copy, { recursive: true });
  const t0 = performance.now();
  const r = spawnSync('git', ['-C', copy, 'gc', '--quiet'], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  return { bytes: (await dirSize(copy)).bytes, gcSeconds: (performance.now() - t0) / 1000 };
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers

interface Server {
  child: ChildProcess;
  pid: number;
  base: string;
  startMs: number;
  openMs: number;
  rssKbAtStart: number;
  stop: () => Promise<number>;
}

/** bench/server.ts in its own process (node --import tsx, so the pid is the server's). */
async function startServer(dataDir: string, env: Record<string, string | undefined> = {}): Promise<Server> {
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

interface Latency extends Stats {
  bytes: number;
  first: number;
  /** Server CPU time per timed request (ms). */
  serverCpu: number;
}

/**
 * Sequential GETs (keep-alive): `warm` untimed (the first one's time is kept as "first"),
 * then up to `n` timed, stopping early after `budgetMs` once `minN` are in.
 */
async function latency(server: Server, urlPath: string, o: { n: number; warm: number; budgetMs?: number; minN?: number }): Promise<Latency> {
  const url = server.base + urlPath;
  let bytes = 0;
  const get = async () => {
    const t = performance.now();
    const res = await fetch(url);
    const body = await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${Buffer.from(body).toString('utf8').slice(0, 200)}`);
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

const latencyRow = (label: string, l: Latency) => [
  label,
  `${ms(l.first)} ms`,
  `${ms(l.median)} ms`,
  `${ms(l.p95)} ms`,
  `${ms(l.max)} ms`,
  `${ms(l.serverCpu)} ms`,
  l.n,
  `${(l.bytes / 1024).toFixed(0)} KB`,
];
const LATENCY_HEAD = ['request', 'first (cold)', 'median', 'p95', 'max', 'server CPU / req', 'n', 'response'];

// ---------------------------------------------------------------------------------------------
// 3. Diff in-process and git

const PAIRS: [number, number][] = [
  [199, 200],
  [1, 200],
  [100, 101],
];

const w3cFile = (n: number) => path.join(corpusDir, 'w3c-process', 'versions', `${String(n).padStart(4, '0')}.bs`);

interface DiffCompare {
  pair: [number, number];
  prose: Stats;
  proseCpu: number;
  changes: number;
  git: Stats;
  gitCpu: number;
}

function diffInProcess(): { rows: DiffCompare[]; spawn: Stats; spawnCpu: number } {
  const timed = (runs: number, f: () => void, budgetMs = Infinity) => {
    const out: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      f();
      out.push(performance.now() - t);
      if (performance.now() - t0 > budgetMs && out.length >= 5) break;
    }
    return out;
  };
  const spawnBaseline = stats(timed(10, () => spawnSync('git', ['--version'])));
  const spawnCpu = childCpuMs(['git', '--version'], 10);
  const rows = PAIRS.map(([a, b]) => {
    const ta = fs.readFileSync(w3cFile(a), 'utf8');
    const tb = fs.readFileSync(w3cFile(b), 'utf8');
    diffProse(ta, tb); // warm-up (JIT)
    let changes = 0;
    let sample: number[] = [];
    const { cpuMs } = cpuOf(() => (sample = timed(20, () => (changes = diffProse(ta, tb).length), 5000)));
    const gitArgs = ['diff', '--no-index', '--no-color', '--word-diff=plain', w3cFile(a), w3cFile(b)];
    const git = stats(
      timed(10, () => {
        const r = spawnSync('git', gitArgs, { maxBuffer: 64 << 20 });
        if (r.status !== 0 && r.status !== 1) throw new Error(`git diff failed: ${r.stderr}`);
      }),
    );
    return { pair: [a, b] as [number, number], prose: stats(sample), proseCpu: cpuMs / sample.length, changes, git, gitCpu: childCpuMs(['git', ...gitArgs], 10) };
  });
  return { rows, spawn: spawnBaseline, spawnCpu };
}

// ---------------------------------------------------------------------------------------------
// 4. Metadata store

interface MetaSize {
  entries: number;
  write: Stats;
  syncPart: Stats;
  floor: Stats;
  gcMaxMs: number;
  reopenMs: number;
}

interface MetaResult {
  sizes: MetaSize[];
  fillPerSecond: number;
  snapshotMs: number;
  snapshotBlockMs: number;
  snapshotBytes: number;
  journalBytes: number;
  segments: number;
  closeMs: number;
}

async function metaBench(): Promise<MetaResult> {
  const dir = await tempDir('ratify-bench-meta-');
  let store = await MetaStore.open(dir);
  // The disk's own floor, timed between the store's writes: a ~200-byte append + fsync.
  const floorFile = await fsp.open(path.join(dir, 'floor.bin'), 'a');
  const floorLine = `${'x'.repeat(199)}\n`;
  let seq = 0;
  // A small change, as a comment or a ballot would make: one new record and one audit event.
  const change = (): Change => {
    const n = ++seq;
    const comment = { id: n, proposal: 1 + (n % 50), authorId: 1 + (n % 30), text: `A small remark number ${n} on the wording of clause ${n % 40}.`, createdAt: new Date().toISOString() };
    return {
      actor: `member${n % 30}@example.org`,
      at: new Date(),
      events: [{ action: 'comment.added', subject: `comment/${n}` }],
      puts: { comments: { [n]: comment } } as unknown as Change['puts'],
    };
  };
  // Let an automatic snapshot (started by a write every 5,000 lines) finish before timing.
  const idle = async () => {
    await (store as unknown as { snapshotting: Promise<void> | null }).snapshotting;
  };
  let fillMs = 0;
  let filled = 0;
  const fill = async (to: number) => {
    const t0 = performance.now();
    const from = seq;
    while (seq < to) {
      const k = Math.min(500, to - seq);
      await Promise.all(Array.from({ length: k }, () => store.write(change())));
      await idle();
    }
    fillMs += performance.now() - t0;
    filled += seq - from;
  };
  const sizes: MetaSize[] = [];
  for (const target of [1_000, 10_000, 50_000]) {
    await fill(target);
    log(`  meta: ${seq} entries, timing 200 single writes (load average ${load1()})`);
    const write: number[] = [];
    const syncPart: number[] = [];
    const floor: number[] = [];
    let gcMaxMs = 0;
    const gc = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcMaxMs = Math.max(gcMaxMs, e.duration);
    });
    gc.observe({ entryTypes: ['gc'] });
    for (let i = 0; i < 200; i++) {
      let t = performance.now();
      const p = store.write(change());
      syncPart.push(performance.now() - t);
      await p;
      write.push(performance.now() - t);
      t = performance.now();
      await floorFile.write(floorLine);
      await floorFile.sync();
      floor.push(performance.now() - t);
    }
    gc.disconnect();
    await idle();
    // A restart at this size: close (drain + snapshot), then time the reopening.
    await store.close();
    const t = performance.now();
    store = await MetaStore.open(dir);
    sizes.push({ entries: target, write: stats(write), syncPart: stats(syncPart), floor: stats(floor), gcMaxMs, reopenMs: performance.now() - t });
  }
  await floorFile.close();
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  let t = performance.now();
  await store.snapshot();
  const snapshotMs = performance.now() - t;
  h.disable();
  t = performance.now();
  await store.close();
  const closeMs = performance.now() - t;
  const segs = (await fsp.readdir(path.join(dir, 'journal'))).filter((n) => n.endsWith('.jsonl'));
  const journalBytes = (await dirSize(path.join(dir, 'journal'))).bytes;
  const snapshotBytes = (await fsp.stat(path.join(dir, 'snapshot.json'))).size;
  return {
    sizes,
    fillPerSecond: filled / (fillMs / 1000),
    snapshotMs,
    snapshotBlockMs: h.max / 1e6,
    snapshotBytes,
    journalBytes,
    segments: segs.length,
    closeMs,
  };
}

// ---------------------------------------------------------------------------------------------
// 5. Load

interface LoadResult {
  label: string;
  path: string;
  seconds: number;
  reqPerSec: number;
  p50: number;
  p99: number;
  total: number;
  errors: number;
  non2xx: number;
  bytesPerReq: number;
  serverCpuPerReq: number;
  serverCpuShare: number;
}

async function load(server: Server, label: string, urlPath: string, seconds: number): Promise<LoadResult> {
  log(`autocannon ${urlPath} (${label}), 10 connections, ${seconds} s (load average ${load1()})`);
  const cpu0 = procCpuMs(server.pid);
  const t0 = performance.now();
  const r = await autocannon({ url: server.base + urlPath, connections: 10, duration: seconds });
  const cpu = procCpuMs(server.pid) - cpu0;
  const wall = performance.now() - t0;
  return {
    label,
    path: urlPath,
    seconds,
    reqPerSec: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    total: r.requests.total,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    bytesPerReq: r.requests.total ? r.throughput.total / r.requests.total : 0,
    serverCpuPerReq: r.requests.total ? cpu / r.requests.total : NaN,
    serverCpuShare: cpu / wall,
  };
}

// ---------------------------------------------------------------------------------------------
// Report

function machine(): string[] {
  const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const git = spawnSync('git', ['--version'], { encoding: 'utf8' }).stdout.trim();
  return [
    `- CPU: ${cpu}, ${os.cpus().length} cores`,
    `- Memory: ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    `- OS: ${os.type()} ${os.release()} (${os.arch()}); temporary folders in ${os.tmpdir()}`,
    `- Node ${process.version}; ${git}; NODE_ENV ${process.env.NODE_ENV ?? 'unset'}`,
    `- Date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
  ];
}

async function main() {
  if (!hasCorpus) console.log(`bench: no corpus at ${corpusDir} — skipping the import, history and diff benchmarks (parts 1–3)`);
  const loadAtStart = os.loadavg();
  const machine0 = machineCpuMs();
  const own0 = ownCpuMs();
  const md: string[] = [
    '# Benchmarks',
    '',
    '_Written by `npm run bench` (bench/run.ts); every run overwrites this file. One run, on the machine below, on a fresh temporary DATA_DIR._',
    '',
    '## Machine',
    '',
    ...machine(),
  ];
  const body: string[] = [];
  const misses: string[] = [];
  const notes: string[] = [];

  let histPage: Latency | null = null;
  const dataDir = await tempDir('ratify-bench-data-');
  let server: Server | null = null;
  try {
    if (hasCorpus) {
      // 1. Import ---------------------------------------------------------------------------
      const { imports, blob } = await importCorpora(dataDir);
      const gitDir = path.join(dataDir, 'git');
      const size = await dirSize(gitDir);
      const disk = diskUsage(gitDir);
      log('git gc on a copy, for comparison');
      const packed = await packedSize(gitDir);
      const w3c = imports.find((r) => r.slug === 'w3c')!;
      body.push(
        '## 1. History import (real `importHistory`, in-process)',
        '',
        'Each version: blob → tree → commit on `main` and an annotated tag, every file through the fsyncing `fs` adapter, then one fsynced journal write. The TSV gives dates and authors. "CPU" is the process\'s CPU time during the import, user + system, on all its threads (zlib runs in the threadpool; the kernel\'s fsync work is system time); "event loop busy" is the share of the wall time the JavaScript thread was working rather than waiting.',
        '',
        table(
          ['corpus', 'versions', 'input', 'time', 'CPU user + sys', 'event loop busy', 'versions/s', 'ms/version, first 20', 'ms/version, last 20', 'target'],
          imports.map((r) => [
            r.slug,
            r.versions,
            mb(r.inputBytes),
            `${r.seconds.toFixed(2)} s`,
            `${r.userSeconds.toFixed(2)} + ${r.sysSeconds.toFixed(2)} s`,
            `${Math.round(r.loopBusy * 100)} %`,
            (r.versions / r.seconds).toFixed(1),
            ms(r.first20),
            ms(r.last20),
            r.slug === 'w3c' ? `< 30 s: **${r.seconds < 30 ? 'met' : 'MISSED'}**` : '–',
          ]),
        ),
        '',
        table(
          ['DATA_DIR/git after both imports (+ the 2 seeded documents)', 'value'],
          [
            ['files (loose objects, refs, tags)', size.files.toLocaleString('en')],
            ['apparent size', mb(size.bytes)],
            ['on disk (`du -sk`)', mb(disk)],
            ['after `git gc` (on a copy, for comparison)', packed ? `${mb(packed.bytes)} (gc took ${packed.gcSeconds.toFixed(1)} s)` : 'git gc failed'],
          ],
        ),
        '',
      );
      if (w3c.seconds >= 30) misses.push(`W3C import took ${w3c.seconds.toFixed(1)} s (target < 30 s).`);
      notes.push(
        `**Import.** W3C: ${w3c.seconds.toFixed(1)} s for 200 versions (${w3c.seconds < 30 ? 'within' : 'over'} the 30 s target). The JavaScript thread is busy only ${Math.round(w3c.loopBusy * 100)} % of that time: the import is a chain of awaits on the disk (about a dozen fsyncs per version — file and folder for each of blob, tree, commit, tag and ref, then the journal, ${(w3c.sysSeconds).toFixed(1)} s of kernel time in all) and on zlib in the threadpool, one version after the other; on a loaded machine each of those waits stretches, which is why wall time varies far more between runs than CPU time. ${w3c.last20 <= w3c.first20 * 1.5 ? 'Time per version does not climb as history grows (last 20 vs first 20).' : `The last 20 versions took ${(w3c.last20 / w3c.first20).toFixed(1)}× as long each as the first 20: check whether that is load on the machine or growth with history.`} Ratify writes loose zlib objects only, so 200 near-identical 250 KB versions take ${mb(disk)} on disk where \`git gc\` packs them into ${packed ? mb(packed.bytes) : '?'}.`,
      );

      // 2. History latency -----------------------------------------------------------------
      log('starting the server');
      server = await startServer(dataDir);
      log(`  listening at ${server.base} after ${server.startMs.toFixed(0)} ms (openData ${server.openMs.toFixed(0)} ms)`);
      const hist: [string, Latency][] = [];
      for (const [label, p] of [
        ['JSON', '/api/v1/documents/w3c/versions'],
        ['HTML', '/documents/w3c/history'],
      ]) {
        log(`latency ${p}`);
        hist.push([`${label} \`GET ${p}\``, await latency(server, p, { n: 50, warm: 5 })]);
      }
      histPage = hist[1][1];
      body.push(
        '## 2. History latency (HTTP, 127.0.0.1, sequential keep-alive GETs)',
        '',
        `The W3C document (200 versions). 5 warm-up requests (the first one's time is shown), then 50 timed. The server is \`openData\` + \`createApp\` in its own process (bench/server.ts, NODE_ENV ${process.env.NODE_ENV ?? 'unset'} as under \`npm start\`); "server CPU / req" is its CPU time (from /proc) divided by the timed requests.`,
        '',
        table(LATENCY_HEAD, hist.map(([label, l]) => latencyRow(label, l))),
        '',
      );

      // 3. Diff latency ------------------------------------------------------------------------
      const diffs: [string, Latency][] = [];
      for (const [a, b] of PAIRS) {
        const p = `/api/v1/documents/w3c/diff?from=${a}&to=${b}`;
        log(`latency ${p}`);
        diffs.push([`JSON \`${p}\``, await latency(server, p, { n: 30, warm: 2, budgetMs: 6000, minN: 10 })]);
      }
      for (const view of ['inline', 'side']) {
        const p = `/documents/w3c/compare?from=1&to=200&view=${view}`;
        log(`latency ${p}`);
        diffs.push([`HTML \`${p}\``, await latency(server, p, { n: 30, warm: 2, budgetMs: 6000, minN: 10 })]);
      }
      log('diffProse in-process and git diff --word-diff');
      const inproc = diffInProcess();
      body.push(
        '## 3. Diff latency',
        '',
        'Over HTTP, same server (2 warm-up requests, then up to 30 timed, at most ~6 s per row):',
        '',
        table(LATENCY_HEAD, diffs.map(([label, l]) => latencyRow(label, l))),
        '',
        `\`diffProse\` alone, in-process, on the corpus files (one warm-up run, then up to 20 timed), against \`git diff --no-index --word-diff=plain\` on the same two files, 10 runs. git's wall time includes starting the process (\`git --version\` alone: ${ms(inproc.spawn.median)} ms wall, ${ms(inproc.spawnCpu)} ms CPU); its CPU time is that of the git processes (bash \`times\`). \`diffProse\`'s CPU time counts every thread of the process (garbage collection runs beside it), so it can exceed its wall time. STACK.md sets git's ~6 ms as the bar; a row counts as missed below when \`diffProse\`'s wall median is above git's.`,
        '',
        table(
          ['pair (W3C)', 'changes', 'diffProse median', 'diffProse p95', 'diffProse CPU', 'git median', 'git p95', 'git CPU', 'ratio (wall medians)', 'ratio (CPU)'],
          inproc.rows.map((r) => [
            `${r.pair[0]} → ${r.pair[1]}`,
            r.changes,
            `${ms(r.prose.median)} ms`,
            `${ms(r.prose.p95)} ms`,
            `${ms(r.proseCpu)} ms`,
            `${ms(r.git.median)} ms`,
            `${ms(r.git.p95)} ms`,
            `${ms(r.gitCpu)} ms`,
            `${(r.prose.median / r.git.median).toFixed(1)}×`,
            `${(r.proseCpu / r.gitCpu).toFixed(1)}×`,
          ]),
        ),
        '',
        `Reading one version (W3C v200, ${(blob.bytes / 1024).toFixed(0)} KB) out of git, which every diff and version request does (twice for a diff):`,
        '',
        table(
          ['read of one 250 KB loose blob', 'median', 'p95', 'CPU'],
          [
            ['`repo.readBlobText` (isomorphic-git `readBlob`)', `${ms(blob.isogit.median)} ms`, `${ms(blob.isogit.p95)} ms`, `${ms(blob.isogitCpu)} ms`],
            ['`zlib.inflateSync` + SHA-1 check + UTF-8 decode (node:zlib, node:crypto)', `${ms(blob.zlib.median)} ms`, `${ms(blob.zlib.p95)} ms`, `${ms(blob.zlibCpu)} ms`],
          ],
        ),
        '',
      );
      const small = inproc.rows.find((r) => r.pair[0] === 199)!;
      const big = inproc.rows.find((r) => r.pair[0] === 1)!;
      const api199 = diffs[0][1];
      const api1 = diffs[1][1];
      for (const r of inproc.rows) {
        if (r.prose.median > r.git.median) {
          misses.push(`\`diffProse\` ${r.pair[0]}→${r.pair[1]} is slower than \`git diff --word-diff\`: ${ms(r.prose.median)} vs ${ms(r.git.median)} ms wall (${(r.prose.median / r.git.median).toFixed(1)}×), ${ms(r.proseCpu)} vs ${ms(r.gitCpu)} ms CPU (${(r.proseCpu / r.gitCpu).toFixed(1)}×).`);
        }
      }
      notes.push(
        `**History.** Served from the version index, never from git: the JSON list costs the server ${ms(hist[0][1].serverCpu)} ms CPU a request and the HTML page ${ms(hist[1][1].serverCpu)} ms (EJS rendering of 200 rows, each with an \`include\` of \`partials/time\`, which ejs reads and compiles again on every call unless views are cached, see part 5). Where a wall median is far above these CPU times, the difference is waiting for a CPU shared with other processes, not Ratify's work.`,
        `**Diff.** \`diffProse\` alone, wall median (CPU): ${ms(small.prose.median)} ms (${ms(small.proseCpu)} ms) for 199→200, one small edit, against git's ${ms(small.git.median)} ms (${ms(small.gitCpu)} ms), which includes starting git (~${ms(inproc.spawn.median)} ms wall); ${ms(big.prose.median)} ms (${ms(big.proseCpu)} ms) for 1→200, three years of edits, against git's ${ms(big.git.median)} ms (${ms(big.gitCpu)} ms): ${(big.prose.median / big.git.median).toFixed(1)}× git there. Over HTTP a diff costs the server ${ms(api199.serverCpu)} ms CPU (199→200) and ${ms(api1.serverCpu)} ms (1→200): besides \`diffProse\`, reading two versions out of git (isomorphic-git: ${ms(blob.isogit.median)} ms wall, ${ms(blob.isogitCpu)} ms CPU each; node:zlib does the same read in ${ms(blob.zlib.median)} ms) and serialising a ~${(api199.bytes / 1024).toFixed(0)} KB answer, since the unchanged text travels as \`equal\` parts.`,
      );
    } else {
      body.push('## 1–3. Import, history and diff', '', `Skipped: no corpus at \`../shared/corpus\` on this run.`, '');
    }

    // 4. Metadata store ---------------------------------------------------------------------------
    log('metadata store: filling the journal to 1k / 10k / 50k entries');
    const meta = await metaBench();
    const base = meta.sizes[0];
    const last = meta.sizes[meta.sizes.length - 1];
    body.push(
      '## 4. Metadata store: one write vs history',
      '',
      'A fresh store (`MetaStore.open`, default snapshot every 5,000 lines). The journal is filled with small changes (one new ~200-byte record + one audit event each), 500 at a time; then at each size 200 single `meta.write` calls are timed one after another. Each ends in one fsynced journal append; "in-memory part" is the synchronous work before it (copy, apply, audit, serialise). "disk floor" is a bare 200-byte append + fsync on the same disk, timed between the writes: the part of a write\'s time the store cannot change. After the writes the store is closed and reopened: "reopen" is `MetaStore.open` (snapshot + journal).',
      '',
      table(
        ['journal entries', 'write median', 'write p95', 'write max', 'in-memory part (median)', 'disk floor median', 'disk floor max', 'longest GC pause', 'write − floor (medians)', 'target', 'reopen'],
        meta.sizes.map((s) => [
          s.entries.toLocaleString('en'),
          `${ms(s.write.median)} ms`,
          `${ms(s.write.p95)} ms`,
          `${ms(s.write.max)} ms`,
          `${ms(s.syncPart.median)} ms`,
          `${ms(s.floor.median)} ms`,
          `${ms(s.floor.max)} ms`,
          `${ms(s.gcMaxMs)} ms`,
          `${ms(s.write.median - s.floor.median)} ms`,
          'must not grow',
          `${ms(s.reopenMs)} ms`,
        ]),
      ),
      '',
      table(
        ['at 50k entries', 'value'],
        [
          ['fill rate (500 concurrent writes share an fsync)', `${Math.round(meta.fillPerSecond).toLocaleString('en')} writes/s`],
          ['`snapshot()` (serialise the state, rotate the segment, fsynced write)', `${ms(meta.snapshotMs)} ms`],
          ['longest event-loop stall during that snapshot', `${ms(meta.snapshotBlockMs)} ms`],
          ['snapshot file', mb(meta.snapshotBytes)],
          ['journal (every segment is kept: it is the audit log)', `${mb(meta.journalBytes)} in ${meta.segments} segments`],
          ['`close()` (drain + snapshot)', `${ms(meta.closeMs)} ms`],
        ],
      ),
      '',
    );
    const grew = last.syncPart.median > base.syncPart.median * 2 && last.syncPart.median - base.syncPart.median > 0.2;
    const overBase = base.write.median - base.floor.median;
    const overLast = last.write.median - last.floor.median;
    if (grew || (overLast > overBase * 2 && overLast - overBase > 1)) {
      misses.push(`\`meta.write\` grew with history: in-memory ${ms(base.syncPart.median)} → ${ms(last.syncPart.median)} ms, above the disk floor ${ms(overBase)} → ${ms(overLast)} ms (1k → 50k).`);
    }
    notes.push(
      `**Metadata store.** A write's in-memory part takes ${meta.sizes.map((s) => ms(s.syncPart.median)).join(' / ')} ms at ${meta.sizes.map((s) => `${s.entries / 1000}k`).join(' / ')} entries: ${grew ? '**it grows with history**' : 'it does not grow with history'}. Its wall time is the fsync: write ${meta.sizes.map((s) => ms(s.write.median)).join(' / ')} ms against a bare fsync of ${meta.sizes.map((s) => ms(s.floor.median)).join(' / ')} ms measured alongside (medians), ${meta.sizes.map((s) => ms(s.write.median - s.floor.median)).join(' / ')} ms above it. The occasional slow write (max column) is the disk (compare the floor's max) or a garbage collection of a heap that holds the whole state and audit log (longest GC pause). What does grow: the snapshot (${mb(meta.snapshotBytes)}, ${ms(meta.snapshotMs)} ms with the event loop blocked up to ${ms(meta.snapshotBlockMs)} ms, every 5,000 writes) grows with the *state*; reopening (${meta.sizes.map((s) => ms(s.reopenMs)).join(' / ')} ms) grows with the *whole history*, because \`Journal.open\` parses every segment, including those the snapshot already covers, to rebuild the in-memory audit log.`,
    );

    // 5. Load -----------------------------------------------------------------------------------------
    server ??= await startServer(dataDir);
    const envLabel = `NODE_ENV ${process.env.NODE_ENV ?? 'unset'}`;
    const loads: LoadResult[] = [];
    loads.push(await load(server, envLabel, '/api/v1/documents', 10));
    loads.push(await load(server, envLabel, '/documents/terms-of-reference', 10));
    const peakKb = await server.stop();
    const startInfo = server;
    server = null;
    let prodPeakKb = NaN;
    let prodHistory: Latency | null = null;
    if (process.env.NODE_ENV !== 'production') {
      // Express caches compiled views only when NODE_ENV=production: what does that change?
      const prod = await startServer(dataDir, { NODE_ENV: 'production' });
      try {
        if (hasCorpus) {
          log('latency /documents/w3c/history (NODE_ENV production)');
          prodHistory = await latency(prod, '/documents/w3c/history', { n: 50, warm: 5 });
        }
        loads.push(await load(prod, 'NODE_ENV production', '/documents/terms-of-reference', 5));
      } finally {
        prodPeakKb = await prod.stop();
      }
    }
    body.push(
      '## 5. Public reads under load (autocannon, 10 connections)',
      '',
      `${hasCorpus ? 'The same server process as above (it served parts 2–3 first and holds the seeded documents, W3C and EIP-1)' : 'A server on a freshly seeded DATA_DIR (bench/server.ts)'}. autocannon runs in the bench process on the same ${os.cpus().length} cores, so they share the CPU. "server CPU" is the server's CPU time over the run: per request, and as a share of one core (near 100 % = the single-threaded server is the bottleneck).`,
      '',
      table(
        ['request', 'server', 'duration', 'req/s', 'median latency', 'p99 latency', 'requests', 'errors / non-2xx', 'server CPU / req', 'server CPU', 'bytes / response'],
        loads.map((l) => [
          `\`GET ${l.path}\``,
          l.label,
          `${l.seconds} s`,
          Math.round(l.reqPerSec).toLocaleString('en'),
          `${l.p50} ms`,
          `${l.p99} ms`,
          l.total.toLocaleString('en'),
          `${l.errors} / ${l.non2xx}`,
          `${ms(l.serverCpuPerReq)} ms`,
          `${Math.round(l.serverCpuShare * 100)} %`,
          Math.round(l.bytesPerReq).toLocaleString('en'),
        ]),
      ),
      '',
      table(
        ['server', 'value'],
        [
          ['start to listening (node + tsx + `openData`)', `${ms(startInfo.startMs)} ms (\`openData\` ${ms(startInfo.openMs)} ms)`],
          ['RSS after start', mb(startInfo.rssKbAtStart * 1024)],
          [`peak RSS over its whole life (${hasCorpus ? 'history, diffs, ' : ''}load)`, mb(peakKb * 1024)],
          ...(Number.isFinite(prodPeakKb) ? [['peak RSS of the NODE_ENV=production server (5 s of load)', mb(prodPeakKb * 1024)]] : []),
        ],
      ),
      '',
    );
    if (prodHistory && histPage) {
      body.push(
        'What view caching changes (Express caches compiled EJS views, and ejs its `include`d partials, only with NODE_ENV=production; the history page includes `partials/time` once per version):',
        '',
        table(LATENCY_HEAD, [latencyRow(`HTML \`GET /documents/w3c/history\`, NODE_ENV ${process.env.NODE_ENV ?? 'unset'} (from part 2)`, histPage), latencyRow('HTML `GET /documents/w3c/history`, NODE_ENV production', prodHistory)]),
        '',
      );
    }
    for (const l of loads) if (l.errors || l.non2xx) misses.push(`\`${l.path}\` (${l.label}): ${l.errors} errors, ${l.non2xx} non-2xx under load.`);
    const [api, page] = loads;
    const prodPage = loads[2];
    notes.push(
      `**Load.** The document list costs ${ms(api.serverCpuPerReq)} ms of server CPU a request (${Math.round(api.reqPerSec).toLocaleString('en')} req/s here); the ToR page ${ms(page.serverCpuPerReq)} ms (${Math.round(page.reqPerSec)} req/s): it renders the Markdown (markdown-it + sanitize-html) on every request${prodPage ? `, and without NODE_ENV=production Express also recompiles its EJS views each time; with NODE_ENV=production it costs ${ms(prodPage.serverCpuPerReq)} ms (${Math.round(prodPage.reqPerSec)} req/s)${prodPage.serverCpuPerReq < page.serverCpuPerReq * 0.8 ? '' : ', no clear gain on this page: its cost is the Markdown, not the template'}` : ''}.${prodHistory && histPage ? ` View caching matters most on the history page: ${ms(histPage.serverCpu)} → ${ms(prodHistory.serverCpu)} ms server CPU a request.` : ''} Peak RSS ${mb(peakKb * 1024)}.`,
    );

    // Done ------------------------------------------------------------------------------------------
    const loadAtEnd = os.loadavg();
    const machine1 = machineCpuMs();
    // Every child (server, git, bash) has exited and been waited for: its CPU is in ownCpuMs.
    const ownMs = ownCpuMs() - own0;
    const others = (machine1.busy - machine0.busy - ownMs) / (machine1.total - machine0.total);
    log(`CPU: machine busy ${((machine1.busy - machine0.busy) / 1000).toFixed(1)} s of ${((machine1.total - machine0.total) / 1000).toFixed(1)} s, bench and its children ${(ownMs / 1000).toFixed(1)} s`);
    md.push(
      `- Load average (1/5/15 min) at start ${loadAtStart.map((x) => x.toFixed(1)).join(' / ')}, at end ${loadAtEnd.map((x) => x.toFixed(1)).join(' / ')}. Other processes (and kernel threads) used ${Math.max(0, Math.round(others * 100))} % of the machine's CPU during the run${others > 0.3 ? ' — **the bench shared the CPU with them**: wall times (medians, p95, req/s) are inflated and noisy; the CPU-time columns much less so' : ' (kernel threads include the writeback of the bench\'s own files)'}.`,
      '',
      ...body,
      '## Targets missed on this run',
      '',
      ...(misses.length ? misses.map((m) => `- ${m}`) : ['- none']),
      '',
      '## What the numbers mean',
      '',
      ...notes.flatMap((n) => [n, '']),
      `_Whole bench: ${((performance.now() - started) / 1000).toFixed(0)} s._`,
      '',
    );
    // Without the corpus the committed numbers stay: a partial run only prints.
    if (hasCorpus) {
      await fsp.mkdir(path.dirname(reportFile), { recursive: true });
      await fsp.writeFile(reportFile, md.join('\n'));
      log(`wrote ${path.relative(root, reportFile)}`);
    } else log(`corpus not found: ${path.relative(root, reportFile)} left as it was`);
    console.log(`\n${md.join('\n')}`);
  } finally {
    if (server) await server.stop().catch(() => {});
    for (const c of children) c.kill('SIGKILL');
    for (const d of temps) await fsp.rm(d, { recursive: true, force: true }).catch(() => {});
  }
}

main().catch((e) => {
  console.error(e);
  for (const c of children) c.kill('SIGKILL');
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
  process.exit(1);
});
