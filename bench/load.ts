/** 5. Public reads under load: autocannon against the server, then against one with NODE_ENV=production. */
import autocannon from 'autocannon';
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import { hasCorpus, load1, log, type Report } from './common.js';
import { LATENCY_HEAD, latency, latencyRow, startServer, type Latency, type Server } from './httpClient.js';
import { mb, ms, procCpuMs, table } from './stats.js';

export interface LoadResult {
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

export async function load(server: Server, label: string, urlPath: string, seconds: number): Promise<LoadResult> {
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

/**
 * Adds part 5 to the report. `server` is the one parts 2–3 used (or a fresh one); this stops it.
 * `histPage`: part 2's history page latency, compared with the NODE_ENV=production server's.
 */
export async function loadPart(
  server: Server,
  dataDir: string,
  histPage: Latency | null,
  report: Report,
): Promise<void> {
  const { body, misses, notes } = report;
  const envLabel = `NODE_ENV ${process.env.NODE_ENV ?? 'unset'}`;
  const loads: LoadResult[] = [];
  loads.push(await load(server, envLabel, '/api/v1/documents', 10));
  loads.push(await load(server, envLabel, '/documents/terms-of-reference', 10));
  const peakKb = await server.stop();
  const startInfo = server;
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
      [
        'request',
        'server',
        'duration',
        'req/s',
        'median latency',
        'p99 latency',
        'requests',
        'errors / non-2xx',
        'server CPU / req',
        'server CPU',
        'bytes / response',
      ],
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
        [
          'start to listening (node + tsx + `openData`)',
          `${ms(startInfo.startMs)} ms (\`openData\` ${ms(startInfo.openMs)} ms)`,
        ],
        ['RSS after start', mb(startInfo.rssKbAtStart * 1024)],
        [`peak RSS over its whole life (${hasCorpus ? 'history, diffs, ' : ''}load)`, mb(peakKb * 1024)],
        ...(Number.isFinite(prodPeakKb)
          ? [['peak RSS of the NODE_ENV=production server (5 s of load)', mb(prodPeakKb * 1024)]]
          : []),
      ],
    ),
    '',
  );
  if (prodHistory && histPage) {
    body.push(
      'What NODE_ENV=production changes (the app caches compiled EJS views and partials whatever NODE_ENV says; the history page writes a time per version with the `timeTag` helper):',
      '',
      table(LATENCY_HEAD, [
        latencyRow(
          `HTML \`GET /documents/w3c/history\`, NODE_ENV ${process.env.NODE_ENV ?? 'unset'} (from part 2)`,
          histPage,
        ),
        latencyRow('HTML `GET /documents/w3c/history`, NODE_ENV production', prodHistory),
      ]),
      '',
    );
  }
  for (const l of loads)
    if (l.errors || l.non2xx)
      misses.push(`\`${l.path}\` (${l.label}): ${l.errors} errors, ${l.non2xx} non-2xx under load.`);
  const [api, page] = loads;
  const prodPage = loads[2];
  notes.push(
    `**Load.** The document list costs ${ms(api.serverCpuPerReq)} ms of server CPU a request (${Math.round(api.reqPerSec).toLocaleString('en')} req/s here); the ToR page ${ms(page.serverCpuPerReq)} ms (${Math.round(page.reqPerSec)} req/s): it renders the Markdown (markdown-it + sanitize-html) on every request${prodPage ? `, and without NODE_ENV=production Express also recompiles its EJS views each time; with NODE_ENV=production it costs ${ms(prodPage.serverCpuPerReq)} ms (${Math.round(prodPage.reqPerSec)} req/s)${prodPage.serverCpuPerReq < page.serverCpuPerReq * 0.8 ? '' : ', no clear gain on this page: its cost is the Markdown, not the template'}` : ''}.${prodHistory && histPage ? ` View caching matters most on the history page: ${ms(histPage.serverCpu)} → ${ms(prodHistory.serverCpu)} ms server CPU a request.` : ''} Peak RSS ${mb(peakKb * 1024)}.`,
  );
}
