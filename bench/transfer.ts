/** 6. Transfer sizes: the bytes on the wire without compression, with gzip and with brotli, and the cache header. */
import * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import { log, type Report } from './common.js';
import type { Server } from './httpClient.js';
import { ms, stats, table } from './stats.js';

export const TRANSFER_PAGES: [string, string][] = [
  ['home', '/'],
  ['current text (latest version)', '/documents/w3c'],
  ['a version page', '/documents/w3c/versions/150'],
  ['compare 199 → 200', '/documents/w3c/compare?from=199&to=200'],
  ['compare 1 → 200', '/documents/w3c/compare?from=1&to=200'],
  ['raw text (.md)', '/documents/w3c/versions/200.md'],
  ['JSON diff 199 → 200', '/api/v1/documents/w3c/diff?from=199&to=200'],
];

interface Wire {
  bytes: number;
  ms: number;
  encoding: string;
  cacheControl: string;
  body: string;
}

/** One GET; the body's length as it came over the wire (node's client does not decompress). */
function get(base: string, urlPath: string, acceptEncoding?: string): Promise<Wire> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(base + urlPath, { headers: acceptEncoding ? { 'Accept-Encoding': acceptEncoding } : {} }, (res) => {
        let bytes = 0;
        let body = '';
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          if (body.length < 4096) body += c.toString('latin1');
        });
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`GET ${urlPath}: ${res.statusCode}`));
          resolve({
            bytes,
            ms: performance.now() - t0,
            encoding: String(res.headers['content-encoding'] ?? 'none'),
            cacheControl: String(res.headers['cache-control'] ?? ''),
            body,
          });
        });
      })
      .on('error', reject);
  });
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

/** Adds part 6 to `report` (the caller places it after part 5). */
export async function transferPart(server: Server, report: Report): Promise<void> {
  const { body, notes } = report;
  const rows: (string | number)[][] = [];
  const home = await get(server.base, '/');
  const css = /<link rel="stylesheet" href="([^"]+)">/.exec(home.body)?.[1];
  const pages = css ? [...TRANSFER_PAGES, ['stylesheet', css] as [string, string]] : TRANSFER_PAGES;
  let sumNone = 0;
  let sumBr = 0;
  for (const [label, p] of pages) {
    log(`transfer ${p}`);
    const none = await get(server.base, p);
    const gz = await get(server.base, p, 'gzip');
    const br = await get(server.base, p, 'br');
    if (gz.encoding !== 'gzip' || br.encoding !== 'br')
      throw new Error(`${p}: not compressed (${gz.encoding}, ${br.encoding})`);
    // Wall time of the whole answer on loopback, where compression only costs: 9 of each, taken in turn, medians.
    const tNone: number[] = [];
    const tBr: number[] = [];
    for (let i = 0; i < 9; i++) {
      tNone.push((await get(server.base, p)).ms);
      tBr.push((await get(server.base, p, 'br')).ms);
    }
    sumNone += none.bytes;
    sumBr += br.bytes;
    rows.push([
      `${label} \`${p}\``,
      kb(none.bytes),
      kb(gz.bytes),
      kb(br.bytes),
      `${Math.round((1 - br.bytes / none.bytes) * 100)} %`,
      `${ms(stats(tNone).median)} / ${ms(stats(tBr).median)} ms`,
      `\`${br.cacheControl}\``,
    ]);
  }
  body.push(
    '## 6. Transfer sizes (compression) and cache headers',
    '',
    'The same server and W3C document; one GET per encoding, bytes as they came over the wire (the "none" column is what every answer weighed before compression). Time: median of 9 GETs of each, in turn, on 127.0.0.1, without and with brotli (on loopback compression only costs; on a real network the smaller answer arrives sooner).',
    '',
    table(['answer', 'none', 'gzip', 'brotli', 'saved (br)', 'time none / br', 'Cache-Control (public)'], rows),
    '',
  );
  notes.push(
    `**Transfer.** Brotli (quality 4, the middleware's default) and gzip (level 6) shrink the W3C pages to about a quarter: ${kb(sumNone)} → ${kb(sumBr)} over these answers. Compression runs in libuv's threads, not on the event loop; what it adds to the wall time on loopback is the "time" column. An earlier version, its raw text and a comparison of two named versions are then cached for a year (\`immutable\`), so a reader's browser asks for them once.`,
  );
}
