/**
 * The server the HTTP benchmarks talk to: the same `openData` + `createApp` as server/main.ts,
 * but listening on 127.0.0.1 only, on a free port, and without the periodic sweep, the mail
 * worker and the admin socket (none of which serve a read). Prints one JSON line when it
 * listens; on SIGTERM prints its peak RSS and exits.
 *
 * Env: BENCH_DATA_DIR (required), BENCH_DOCUMENTS_DIR (required). NODE_ENV is passed through
 * as the real server would see it.
 */
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createApp } from '../server/app.js';
import { openData } from '../server/bootstrap.js';
import { createLogger } from '../server/http/log.js';

async function main() {
  const dataDir = process.env.BENCH_DATA_DIR;
  const documentsDir = process.env.BENCH_DOCUMENTS_DIR;
  if (!dataDir || !documentsDir) throw new Error('BENCH_DATA_DIR and BENCH_DOCUMENTS_DIR are required');
  const t0 = performance.now();
  const baseUrl = 'http://127.0.0.1';
  const data = await openData({ dataDir, documentsDir, baseUrl }, 'server');
  const openMs = performance.now() - t0;
  const app = createApp({
    ctx: data.ctx,
    config: { baseUrl, writeLimit: 120 },
    sessions: data.sessions,
    log: createLogger('error', process.stderr),
  });
  const server = app.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    console.log(JSON.stringify({ ready: true, port, openMs, rssKb: Math.round(process.memoryUsage().rss / 1024) }));
  });
  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    const maxRssKb = process.resourceUsage().maxRSS;
    server.closeAllConnections();
    server.close(() => {
      data
        .close()
        .catch((e) => console.error(e))
        .finally(() => {
          console.log(JSON.stringify({ stopped: true, maxRssKb }));
          process.exit(0);
        });
    });
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
