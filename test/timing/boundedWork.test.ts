/**
 * Bounded work per request (issue 9, item 2): while one member's worst texts are viewed again
 * and again, and concurrently, the event loop keeps answering. The worst inputs measured in
 * the issue — 500 KB and 1 MB of `*…a…*`, 1 MB of `x\n\n`, a proposal with 100 comments of
 * 20 KB tables (on its page and on the author's /drafts) — and 1 MB of headings (210,000
 * sections: their links on the author's page, a section's form, a section read and revised
 * through the API) are viewed on a real listening server while /healthz is polled every
 * ~20 ms. The server's event loop is never held 200 ms (node's own delay monitor), 99 in 100
 * /healthz take less than that from their request's start to their end, and none near a second
 * (a round trip also waits for the cores other processes hold: a timing, not the design). Render
 * time limits are shortened (injected) to keep the test short; the defaults are longer.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import * as http from 'node:http';
import * as os from 'node:os';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createApp } from '../../server/app.js';
import { WorkPool } from '../../server/http/offload/pool.js';
import { Renderer } from '../../server/http/render/renderer.js';
import { addComment } from '../../server/services/proposals/comments.js';
import { proposalCommentable } from '../../server/services/proposals/commentable.js';
import { createProposal, shareProposal } from '../../server/services/proposals/proposals.js';
import { createToken } from '../../server/services/auth/tokens.js';
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { makeUser, sidCookieLine, signIn } from '../helpers/auth.js';
import { openTestData, testClock, type TestData } from '../helpers/data.js';

const SLUG = 'terms-of-reference';
const PASSWORD = 'correct horse battery staple 9';

let t: TestData;
let server: http.Server;
let renderer: Renderer;
let port: number;
/** The drafter's session cookie and API token. */
let cookie: string;
let token: string;
const ids: Record<'emph500k' | 'emph1m' | 'paras1m' | 'headings1m' | 'tables' | 'small', number> = {
  emph500k: 0,
  emph1m: 0,
  paras1m: 0,
  headings1m: 0,
  tables: 0,
  small: 0,
};

/** A 20 KB markdown table: many small cells, the costliest shape per byte. */
function table20k(seed: number): string {
  const rows = [`| n | a${seed} | b | c |`, '|---|---|---|---|'];
  for (let i = 0; rows.join('\n').length < 20_000; i++) rows.push(`| ${i} | x | *y* | z |`);
  return rows.join('\n');
}

beforeAll(async () => {
  t = await openTestData({ clock: testClock('2026-03-01T09:00:00Z') });
  renderer = new Renderer(new WorkPool({ threads: 1, maxQueue: 64, retryAfter: 5 }), { renderMs: 3000, diffMs: 5000 });
  const app = createApp({
    ctx: t.ctx,
    config: { baseUrl: 'http://ratify.test', writeLimit: 0 },
    sessions: t.sessions,
    renderer,
  });
  server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;

  const [dana, kim] = await Promise.all([
    makeUser(t.ctx, {
      email: 'dana@example.org',
      name: 'Dana Drafter',
      roles: ['member'],
      groups: ['wg-strategy'],
      password: PASSWORD,
    }),
    makeUser(t.ctx, {
      email: 'kim@example.org',
      name: 'Kim Commenter',
      roles: ['member'],
      groups: ['wg-strategy'],
      password: PASSWORD,
    }),
  ]);
  const propose = async (title: string, text: string) =>
    (await createProposal(t.ctx, dana.actor, SLUG, { title, rationale: '', text })).id;
  ids.emph500k = await propose('Emphasis, 500 KB', '*'.repeat(250_000) + 'a' + '*'.repeat(250_000));
  ids.emph1m = await propose('Emphasis, 1 MB', '*'.repeat(524_287) + 'a' + '*'.repeat(524_287));
  ids.paras1m = await propose('One-letter paragraphs, 1 MB', 'x\n\n'.repeat(349_525));
  ids.headings1m = await propose('Headings, 1 MB', '## a\n'.repeat(209_715));
  ids.small = await propose('Small', 'A *small* text.\n');
  const p = await createProposal(t.ctx, dana.actor, SLUG, {
    title: 'Many tables',
    rationale: 'Tables below.',
    text: 'A short text.\n',
  });
  ids.tables = p.id;
  const shared = await shareProposal(t.ctx, dana.actor, p.id);
  for (let i = 0; i < 100; i++)
    await addComment(t.ctx, kim.actor, proposalCommentable(t.ctx, shared), { body: table20k(i) });
  const { res } = await signIn(app, dana.email, PASSWORD);
  expect(res.status).toBe(303);
  cookie = sidCookieLine(res)!.split(';')[0];
  token = (await createToken(t.ctx, CLI_ACTOR, dana, 'timing')).token;
}, 120_000);

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await renderer.pool.close();
  await t.cleanup();
});

/** GET `path` on a fresh connection, reading the whole body without keeping it (as a browser elsewhere would); its status. */
function get(path: string, cookie = ''): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, headers: cookie ? { cookie } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

/** Another process that views each of `pages` `copies` times at once, `rounds` times over, reading every body; each status and page. */
function viewers(pages: string[], rounds: number, copies: number): Promise<string[]> {
  const script = `
    const [port, cookie, token, rounds, copies, ...pages] = process.argv.slice(1);
    const statuses = [];
    for (let r = 0; r < Number(rounds); r++) {
      await Promise.all(pages.flatMap((p) => Array.from({ length: Number(copies) }, async () => {
        const auth = p.startsWith('/api/') ? { authorization: 'Bearer ' + token } : { cookie };
        const res = await fetch('http://127.0.0.1:' + port + p, { headers: auth });
        await res.arrayBuffer();
        statuses.push(res.status + ' ' + p);
      })));
    }
    process.stdout.write(JSON.stringify(statuses));
  `;
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ['--input-type=module', '-e', script, String(port), cookie, token, String(rounds), String(copies), ...pages],
      { env: {}, maxBuffer: 1 << 20 },
      (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout) as string[])),
    );
    // The readers stand for people on other machines: on this one they yield the cores to the server.
    try {
      os.setPriority(child.pid!, 10);
    } catch {
      // Not allowed: they compete, which only makes the test harder.
    }
  });
}

/** Revise the sections `a-N` of proposal `id` through the API in turn, each on the head the last left; the statuses. */
async function reviseSections(id: number, ns: number[]): Promise<string[]> {
  const api = `http://127.0.0.1:${port}/api/v1/proposals/${id}/sections`;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const statuses: string[] = [];
  for (const n of ns) {
    const read = await fetch(`${api}/a-${n}`, { headers });
    const { head } = (await read.json()) as { head: string };
    const put = await fetch(`${api}/a-${n}`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ head, text: `## b\n` }), // as long as the heading it replaces: the text stays within 1 MB
    });
    const body = (await put.json()) as { error?: { code: string } };
    statuses.push(body.error ? `${put.status} ${body.error.code}` : String(put.status));
  }
  return statuses;
}

/** GET /healthz; its time from the request's start to its end, in ms. */
async function healthz(): Promise<number> {
  const start = performance.now();
  const status = await get('/healthz');
  if (status !== 200) throw new Error(`/healthz answered ${status}`);
  return performance.now() - start;
}

test('the event loop is never held 200 ms, and /healthz answers, while the worst texts are viewed and revised concurrently', async () => {
  // The server has served pages before (its templates are compiled): what is measured is the
  // worst texts, not a cold start.
  for (const path of [`/proposals/${ids.small}`, `/proposals/${ids.small}?tab=changes`, '/drafts'])
    expect(await get(path, cookie)).toBe(200);
  const pages = [
    ...[ids.emph500k, ids.emph1m, ids.paras1m, ids.tables].map((id) => `/proposals/${id}`),
    `/proposals/${ids.emph1m}?tab=changes`,
    `/proposals/${ids.paras1m}?tab=changes`,
    `/proposals/${ids.headings1m}`,
    `/proposals/${ids.headings1m}/edit?section=a-100000`,
    `/api/v1/proposals/${ids.headings1m}/sections/a-150000`,
    '/drafts',
  ];
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const latencies: number[] = [];
  let viewing = true;
  const poll = (async () => {
    while (viewing) {
      latencies.push(await healthz());
      await new Promise((r) => setTimeout(r, 20));
    }
  })();

  // Three rounds, each viewing every page twice at once: the first renders (off the event
  // loop), the later ones are served from the cache. The viewers run in another process, as
  // readers elsewhere would: this process's event loop is the server's alone (and the poll's).
  // Meanwhile the drafter revises three sections of the 1 MB of headings, one after another.
  const [statuses, revised] = await Promise.all([
    viewers(pages, 3, 2),
    reviseSections(ids.headings1m, [7, 70_000, 200_000]),
  ]);
  viewing = false;
  await poll;
  loop.disable();

  const sorted = [...latencies].sort((x, y) => x - y);
  const p99 = sorted[Math.floor(0.99 * (sorted.length - 1))];
  console.info(
    `${latencies.length} /healthz: p99 ${p99.toFixed(0)} ms, max ${sorted[sorted.length - 1].toFixed(0)} ms; ` +
      `the event loop held at most ${(loop.max / 1e6).toFixed(0)} ms`,
  );
  expect(statuses).toHaveLength(3 * 2 * pages.length);
  expect(statuses.filter((s) => !s.startsWith('200 '))).toEqual([]);
  expect(revised).toEqual(['200', '200', '200']);
  expect(latencies.length).toBeGreaterThan(20);
  // The design's promise: no request holds the event loop for 200 ms (node's own monitor). A
  // /healthz round trip also waits for its turns of a loop that twenty heavy answers share, and
  // for the cores other processes hold: 99 in 100 within 200 ms, none near a second.
  expect(loop.max / 1e6).toBeLessThan(200);
  expect(p99).toBeLessThan(200);
  expect(sorted[sorted.length - 1]).toBeLessThan(1000);
  // Each text was rendered once, however often it was viewed.
  expect(renderer.stats.hits).toBeGreaterThan(0);
}, 120_000);
