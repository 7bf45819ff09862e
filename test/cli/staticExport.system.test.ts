/**
 * The static export (issue 16, item 3): `export --out DIR` (here through `runAdminCommand`, as the
 * admin socket runs it, with the pages of server/sitePages.ts) writes the public side as files
 * with relative links. Served by a plain static server and crawled by a link checker: no broken
 * link, every version reachable; stock git clones the public repository from the folder. Again,
 * it fetches only what can have changed and writes only what did.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import serveStatic from 'serve-static';
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import { LinkChecker } from 'linkinator';
import { runAdminCommand } from '../../server/cli/commands.js';
import { publishVersion } from '../../server/services/publishVersion.js';
import { versionText, getVersion } from '../../server/services/readDocuments.js';
import { sitePagesFor } from '../../server/sitePages.js';
import { openTestData, tempDir } from '../helpers/data.js';

jest.setTimeout(60_000);
const run = promisify(execFile);

const TOR = 'terms-of-reference';
const LIVE = 'http://ratify.test';
const BASE = 'https://record.example.org';
let t: Awaited<ReturnType<typeof openTestData>>;
let out: string;

const exportNow = (args: Record<string, unknown> = { out, baseUrl: BASE }) =>
  runAdminCommand(t.ctx, { name: 'export', args, cwd: '/' }, () => {}, {
    sitePages: sitePagesFor({ siteName: 'The Group' }),
    baseUrl: LIVE,
  }) as Promise<{ pages: number; written: number; unchanged: number; skipped: number; versions: number }>;

async function publish(change: (s: string) => string, summary: string) {
  const doc = t.ctx.meta.get('documents', TOR)!;
  const text = await versionText(t.ctx, getVersion(t.ctx, TOR, doc.latest));
  await publishVersion(t.ctx, {
    slug: TOR,
    title: doc.title,
    group: doc.group,
    text: change(text),
    summary,
    author: { name: 'Cara', email: 'cara@example.org', at: t.ctx.clock() },
  });
}

beforeAll(async () => {
  t = await openTestData();
  out = path.join(await tempDir(), 'site');
  await publish((s) => s.replace('Chatham House Rule', 'open record rule'), 'Open record');
  await publish((s) => `${s}\n\nA new closing paragraph.\n`, 'Closing words');
});
afterAll(async () => {
  await t.cleanup();
  await fsp.rm(path.dirname(out), { recursive: true, force: true });
});

test('the export crawls clean from a plain static server, and every version is reachable', async () => {
  const report = await exportNow();
  expect(report.versions).toBeGreaterThanOrEqual(3);
  expect(fs.existsSync(path.join(out, 'index.html'))).toBe(true);
  expect(fs.existsSync(path.join(out, `documents/${TOR}/compare/2-3/index.html`))).toBe(true);
  expect(fs.existsSync(path.join(out, `documents/${TOR}/versions/3.md`))).toBe(true);

  // A plain static server (serve-static: files and folders' index.html, nothing of Ratify's).
  const server = http.createServer((req, res) =>
    serveStatic(out)(req, res, () => {
      res.statusCode = 404;
      res.end();
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const checker = new LinkChecker();
  const result = await checker
    .check({
      path: `${origin}/`,
      recurse: true,
      concurrency: 8,
      // Links out of the copy (the live site for signing in, the base URL in citations, texts' own links) are not the copy's.
      linksToSkip: async (link) => !link.startsWith(origin),
    })
    .finally(() => server.close());
  const broken = result.links.filter((l) => l.state === 'BROKEN').map((l) => `${l.url} (${l.status}) on ${l.parent}`);
  expect(broken).toEqual([]);
  const crawled = new Set(result.links.filter((l) => l.state === 'OK').map((l) => new URL(l.url).pathname));
  for (const n of [1, 2, 3]) expect(crawled).toContain(`/documents/${TOR}/versions/${n}/index.html`);
  expect(crawled).toContain(`/documents/${TOR}/compare/2-3/index.html`);
  expect(crawled).toContain(`/documents/${TOR}/history/index.html`);

  // Links out of the copy go to the live site; citations and feeds name the base URL.
  const v3 = fs.readFileSync(path.join(out, `documents/${TOR}/versions/3/index.html`), 'utf8');
  expect(v3).toContain(`href="${LIVE}/login?next=`);
  expect(v3).toContain(`${BASE}/documents/${TOR}/v/3`);
  const feed = fs.readFileSync(path.join(out, 'feed.atom'), 'utf8');
  expect(feed).toContain(`href="${BASE}/documents/${TOR}/compare/2-3/"`);
  expect(feed).not.toContain('compare?');
  // The short link a citation gives leads to the version.
  expect(fs.readFileSync(path.join(out, `documents/${TOR}/v/3/index.html`), 'utf8')).toContain(
    '../../versions/3/index.html',
  );
});

test('stock git clones the public repository from the folder: every version tag, no draft', async () => {
  const dest = path.join(path.dirname(out), 'clone');
  await run('git', ['clone', '-q', path.join(out, 'git', 'public.git'), dest]);
  const tags = (await run('git', ['-C', dest, 'tag'])).stdout.trim().split('\n');
  expect(tags).toEqual(expect.arrayContaining([`${TOR}/v1`, `${TOR}/v2`, `${TOR}/v3`]));
  const refs = (await run('git', ['-C', dest, 'for-each-ref', '--format=%(refname)'])).stdout;
  expect(refs).not.toMatch(/proposals|consolidations/);
});

test('again: only what can have changed is fetched, and only what changed is written', async () => {
  const again = await exportNow();
  expect(again.written).toBe(0);
  expect(again.skipped).toBeGreaterThan(0);
  const v3Before = fs.readFileSync(path.join(out, `documents/${TOR}/versions/3/index.html`), 'utf8');
  const oldV2 = fs.statSync(path.join(out, `documents/${TOR}/versions/2/index.html`)).mtimeMs;

  await publish((s) => s.replace('A new closing paragraph.', 'A revised closing paragraph.'), 'Revised close');
  const after = await exportNow();
  expect(after.written).toBeGreaterThan(0);
  expect(fs.existsSync(path.join(out, `documents/${TOR}/versions/4/index.html`))).toBe(true);
  expect(fs.existsSync(path.join(out, `documents/${TOR}/compare/3-4/index.html`))).toBe(true);
  // Version 3 was the latest: its page changes (no longer current); version 2's is not fetched at all.
  expect(fs.readFileSync(path.join(out, `documents/${TOR}/versions/3/index.html`), 'utf8')).not.toBe(v3Before);
  expect(fs.statSync(path.join(out, `documents/${TOR}/versions/2/index.html`)).mtimeMs).toBe(oldV2);
});

test('a base URL that is not http(s) is refused, nothing written', async () => {
  const other = path.join(path.dirname(out), 'other');
  await expect(exportNow({ out: other, baseUrl: 'ftp://x' })).rejects.toMatchObject({ code: 'invalid_base_url' });
  expect(fs.existsSync(other)).toBe(false);
});

test('without --base-url the feeds keep the live site’s links, which it answers', async () => {
  const other = path.join(path.dirname(out), 'live');
  await exportNow({ out: other });
  const feed = fs.readFileSync(path.join(other, 'feed.atom'), 'utf8');
  expect(feed).toContain(`${LIVE}/documents/${TOR}/compare?from=`);
  expect(feed).not.toContain(`${LIVE}/documents/${TOR}/compare/`);
});
