/** 2. History latency: the W3C document's version list as JSON and as a page, and a version's paragraph provenance, over HTTP. */
import { log, type Report } from './common.js';
import { LATENCY_HEAD, latency, latencyRow, type Latency, type Server } from './httpClient.js';
import { ms, table } from './stats.js';

/** Adds part 2 to the report; returns the history page's latency, which part 5 compares. */
export async function historyPart(server: Server, report: Report): Promise<Latency> {
  const { body, notes } = report;
  const hist: [string, Latency][] = [];
  for (const [label, p] of [
    ['JSON', '/api/v1/documents/w3c/versions'],
    ['HTML', '/documents/w3c/history'],
    ['provenance JSON', '/api/v1/documents/w3c/versions/200/provenance'],
    ['version page with provenance', '/documents/w3c/versions/199'],
  ]) {
    log(`latency ${p}`);
    hist.push([`${label} \`GET ${p}\``, await latency(server, p, { n: 50, warm: 5 })]);
  }
  const histPage = hist[1][1];
  body.push(
    '## 2. History latency (HTTP, 127.0.0.1, sequential keep-alive GETs)',
    '',
    `The W3C document (200 versions). 5 warm-up requests (the first one's time is shown), then 50 timed. The server is \`openData\` + \`createApp\` in its own process (bench/server.ts, NODE_ENV ${process.env.NODE_ENV ?? 'unset'} as under \`npm start\`); "server CPU / req" is its CPU time (from /proc) divided by the timed requests.`,
    '',
    table(
      LATENCY_HEAD,
      hist.map(([label, l]) => latencyRow(label, l)),
    ),
    '',
  );
  notes.push(
    `**Provenance.** Which version last changed each paragraph of W3C v200 (200 versions behind it): the import computed every version's, one from the one before, and left them in DATA_DIR/cache, so the server's first request (${ms(hist[2][1].first)} ms, target < 100 ms cold) reads one small file.`,
    `**History.** Served from the version index, never from git: the JSON list costs the server ${ms(hist[0][1].serverCpu)} ms CPU a request and the HTML page ${ms(hist[1][1].serverCpu)} ms (EJS rendering of 200 rows, each writing its time with the \`timeTag\` helper rather than an \`include\`, which copies every local of the page; compiled templates are cached, see part 5). Where a wall median is far above these CPU times, the difference is waiting for a CPU shared with other processes, not Ratify's work.`,
  );
  return histPage;
}
