/**
 * `npm run bench`: measures Ratify on a fresh temporary DATA_DIR and writes docs/BENCHMARKS.md.
 *
 *   1. import of the W3C Process corpus (200 versions) and EIP-1 (123) with the real importHistory  (imports.ts)
 *   2. history latency (JSON + HTML) over HTTP on 127.0.0.1                                        (history.ts)
 *   3. diff latency (JSON + compare pages) over HTTP, diffProse in-process, `git diff --word-diff`  (diff.ts)
 *   4. metadata store: one write at 1k / 10k / 50k journal entries, snapshot, reopen              (meta.ts)
 *   5. public reads under load (autocannon, 10 connections, 10 s)                                 (load.ts)
 *   6. transfer sizes with and without gzip/brotli, and the cache headers                         (transfer.ts)
 *   7. mail to the outbox: messages/s with 10k and 100k delivered messages in the store           (mail.ts)
 *   8. at volume: the production server on a folder generated at BENCH_SCALE (default 0.1 of ten
 *      years; volume.ts makes it through the services, cached in the temporary folder): start,
 *      RSS, event-loop delay, mail drain, pages under load, SIGTERM under writes    (atVolume.ts, volumeReads.ts)
 *
 * `npm run bench:volume` runs part 8 alone and replaces only its section of docs/BENCHMARKS.md.
 *
 * This file only runs them in order and writes the report; each part measures and writes its own
 * sections (`Report` in common.ts). httpClient.ts starts bench/server.ts and times GETs; stats.ts
 * holds the statistics and the table format.
 *
 * Parts 1–3 and 6 need ../shared/corpus; without it they are skipped (one line says so).
 * Wall times suffer when other processes share the CPU or the disk, so next to them the bench
 * records CPU time (of the server per request, of diffProse and git per run) and the machine's
 * load average: those say what the code costs whatever else runs.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { spawnSync } from 'node:child_process';
import {
  children,
  corpusDir,
  hasCorpus,
  log,
  reportFile,
  root,
  started,
  tempDir,
  temps,
  type Report,
} from './common.js';
import { diffPart } from './diff.js';
import { historyPart } from './history.js';
import { startServer, type Latency, type Server } from './httpClient.js';
import { importPart } from './imports.js';
import { loadPart } from './load.js';
import { mailPart } from './mail.js';
import { otherScales, volumePart } from './atVolume.js';
import { scaleOf } from './volumeKit.js';
import { metaPart } from './meta.js';
import { transferPart } from './transfer.js';
import { machineCpuMs, ownCpuMs } from './stats.js';

function machine(): string[] {
  const cpu =
    /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
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
  if (!hasCorpus)
    console.log(`bench: no corpus at ${corpusDir} — skipping the import, history and diff benchmarks (parts 1–3)`);
  const loadAtStart = os.loadavg();
  const machine0 = machineCpuMs();
  const own0 = ownCpuMs();
  const md: string[] = [
    '# Benchmarks',
    '',
    '_Written by `npm run bench` (bench/run.ts); every run overwrites this file but part 8 at other scales (`BENCH_SCALE=1 npm run bench:volume` writes its own section). One run, on the machine below, on a fresh temporary DATA_DIR._',
    '',
    '## Machine',
    '',
    ...machine(),
  ];
  const body: string[] = [];
  const misses: string[] = [];
  const notes: string[] = [];
  const report: Report = { body, misses, notes };
  // Part 6 is measured while the server of parts 2–3 runs and written after part 5.
  const later: Report = { body: [], misses, notes: [] };

  let histPage: Latency | null = null;
  const dataDir = await tempDir('ratify-bench-data-');
  let server: Server | null = null;
  try {
    if (hasCorpus) {
      // 1. Import ---------------------------------------------------------------------------
      const blob = await importPart(dataDir, report);

      // 2. History latency -----------------------------------------------------------------
      log('starting the server');
      server = await startServer(dataDir);
      log(
        `  listening at ${server.base} after ${server.startMs.toFixed(0)} ms (openData ${server.openMs.toFixed(0)} ms)`,
      );
      histPage = await historyPart(server, report);

      // 3. Diff latency ------------------------------------------------------------------------
      await diffPart(server, blob, report);

      // 6. Transfer sizes -------------------------------------------------------------------------
      await transferPart(server, later);
    } else {
      body.push('## 1–3. Import, history and diff', '', `Skipped: no corpus at \`../shared/corpus\` on this run.`, '');
    }

    // 4. Metadata store ---------------------------------------------------------------------------
    await metaPart(report);

    // 5. Load -----------------------------------------------------------------------------------------
    server ??= await startServer(dataDir);
    await loadPart(server, dataDir, histPage, report);
    server = null;
    body.push(...later.body);
    notes.push(...later.notes);

    // 7. Mail -------------------------------------------------------------------------------------------
    await mailPart(report);

    // 8. At volume ---------------------------------------------------------------------------------
    await volumePart(report);
    // Part 8 at other scales (`BENCH_SCALE=1 npm run bench:volume`, a long run) stays as it was.
    body.push(...(await otherScales(scaleOf())));

    // Done ------------------------------------------------------------------------------------------
    const loadAtEnd = os.loadavg();
    const machine1 = machineCpuMs();
    // Every child (server, git, bash) has exited and been waited for: its CPU is in ownCpuMs.
    const ownMs = ownCpuMs() - own0;
    const others = (machine1.busy - machine0.busy - ownMs) / (machine1.total - machine0.total);
    log(
      `CPU: machine busy ${((machine1.busy - machine0.busy) / 1000).toFixed(1)} s of ${((machine1.total - machine0.total) / 1000).toFixed(1)} s, bench and its children ${(ownMs / 1000).toFixed(1)} s`,
    );
    md.push(
      `- Load average (1/5/15 min) at start ${loadAtStart.map((x) => x.toFixed(1)).join(' / ')}, at end ${loadAtEnd.map((x) => x.toFixed(1)).join(' / ')}. Other processes (and kernel threads) used ${Math.max(0, Math.round(others * 100))} % of the machine's CPU during the run${others > 0.3 ? ' — **the bench shared the CPU with them**: wall times (medians, p95, req/s) are inflated and noisy; the CPU-time columns much less so' : " (kernel threads include the writeback of the bench's own files)"}.`,
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
