/**
 * Part 8's reads: p50/p99 under autocannon (20 connections; a published version page at 50) of
 * the pages that grow with volume — a proposal with 200 comments, a round with 50 ballots,
 * /drafts, the rounds list and `GET /api/v1/rounds`, the audit log — signed in through the real
 * login form; "My drafts" of a member of every working group while a comment is posted each
 * second (each comment has the next view count again the threads of the proposal it is on); then BENCH_MIXED_SECONDS (default 30) of mixed reads with the server's RSS sampled
 * every second, to see whether it still grows in the last third. BENCH_READ_SECONDS (default 5)
 * is each page's run.
 */
import autocannon from 'autocannon';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { load1, log, root } from './common.js';
import type { ProdServer } from './prodServer.js';
import { residentParts, rssKb } from './prodServer.js';
import { mb, ms, table } from './stats.js';
import { PASSWORD, type VolumeInfo } from './volume.js';

const READ_S = Number(process.env.BENCH_READ_SECONDS ?? 5);
const WARM_S = 1;
const MIXED_S = Number(process.env.BENCH_MIXED_SECONDS ?? 30);
const P99_TARGET_MS = 50;

/**
 * Sign in through the form: GET /login (CSRF cookie and field), POST /login; the Cookie header a
 * browser sends after: the session's cookie and the CSRF one (without it, every page would issue
 * a new CSRF cookie and token, as for a first visit).
 */
async function signIn(base: string, email: string): Promise<string> {
  const form = await fetch(`${base}/login`);
  const html = await form.text();
  const csrf = /name="_csrf" value="([^"]*)"/.exec(html)?.[1];
  if (!csrf) throw new Error('no _csrf field on /login');
  const jar = form.headers.getSetCookie().map((c) => c.split(';')[0]);
  const res = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: jar.join('; ') },
    body: new URLSearchParams({ _csrf: csrf, email, password: PASSWORD }).toString(),
  });
  const sid = res.headers.getSetCookie().find((c) => /^(__Host-)?ratify\.sid=/.test(c));
  if (res.status !== 303 || !sid) throw new Error(`signing in as ${email}: ${res.status}`);
  return [...jar.filter((c) => !/^(__Host-)?ratify\.sid=/.test(c)), sid.split(';')[0]].join('; ');
}

interface Read {
  label: string;
  path: string;
  headers: Record<string, string>;
  connections: number;
}

interface ReadResult extends Read {
  p50: number;
  p99: number;
  reqPerSec: number;
  non2xx: number;
  errors: number;
  bytes: number;
}

/** The working groups bench/volume.ts makes (a member of each reads "My drafts" of all of them). */
const GROUPS = ['mag', 'wg-hybrid', 'wg-strategy', 'wg-oec', 'wg-wsp'];
const EVERY_GROUP = 'every-group@bench.example.org';

/**
 * An account in every working group, added through the admin CLI, which hands the command to the
 * running server (its socket in `dataDir`): the folder's members are each in one group.
 */
function addEveryGroupMember(dataDir: string): void {
  const r = spawnSync(
    process.execPath,
    [
      path.join(root, 'dist', 'admin.js'),
      'user',
      'add',
      '--email',
      EVERY_GROUP,
      '--name',
      'Every Group',
      '--role',
      'member',
      ...GROUPS.flatMap((g) => ['--group', g]),
      '--password-stdin',
    ],
    {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: dataDir },
      input: `${PASSWORD}\n`,
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) throw new Error(`admin user add failed: ${r.stderr || r.stdout}`);
}

/** A read's figures from autocannon's answer. */
function resultOf(r: Read, a: autocannon.Result): ReadResult {
  return {
    ...r,
    p50: a.latency.p50,
    p99: a.latency.p99,
    reqPerSec: a.requests.average,
    non2xx: a.non2xx,
    errors: a.errors + a.timeouts,
    bytes: a.requests.total ? a.throughput.total / a.requests.total : 0,
  };
}

/** `rssTargetMb`: the resident size the issues set for the server after its mixed reads. */
export async function readsPart(
  server: ProdServer,
  info: VolumeInfo,
  scale: number,
  rssTargetMb: number,
  dataDir: string,
) {
  const member = { Cookie: await signIn(server.base, info.member) };
  const sec = { Cookie: await signIn(server.base, info.secretariat) };
  const token = { Authorization: `Bearer ${info.writers[0].token}` };
  const v = info.publishedVersion;
  const reads: Read[] = [
    {
      label: `proposal page, ${Math.min(200, info.counts.comments)} comments`,
      path: `/proposals/${info.bigProposal}`,
      headers: member,
      connections: 20,
    },
    { label: 'round page, 50 ballots', path: `/rounds/${info.bigRound}`, headers: member, connections: 20 },
    { label: 'drafts', path: '/drafts', headers: member, connections: 20 },
    { label: 'rounds list', path: '/rounds', headers: member, connections: 20 },
    { label: 'rounds API', path: '/api/v1/rounds', headers: token, connections: 20 },
    { label: 'audit log (secretariat)', path: '/admin/audit', headers: sec, connections: 20 },
    {
      label: 'published version, anonymous',
      path: `/documents/${v.slug}/versions/${v.n}`,
      headers: {},
      connections: 50,
    },
  ];
  const results: ReadResult[] = [];
  const alive = () => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) throw new Error('the server exited');
  };
  for (const r of reads) {
    alive();
    const check = await fetch(server.base + r.path, { headers: r.headers, redirect: 'manual' });
    await check.arrayBuffer();
    if (check.status !== 200) log(`  ${r.path} answers ${check.status}`);
    // One second of the same load first, not timed: a server runs for weeks, and the target is
    // its steady state, not the first compilation of a page's code by V8.
    await autocannon({ url: server.base + r.path, headers: r.headers, connections: r.connections, duration: WARM_S });
    log(`  autocannon ${r.path}, ${r.connections} connections, ${READ_S} s (load average ${load1()})`);
    const a = await autocannon({
      url: server.base + r.path,
      headers: r.headers,
      connections: r.connections,
      duration: READ_S,
    });
    results.push(resultOf(r, a));
  }

  // "My drafts" of a member of every group while a comment arrives every second: after each
  // comment the next view counts again the open threads of the proposal it is on (the store's
  // change log), and reads as records the threads it shows.
  addEveryGroupMember(dataDir);
  const everyGroup = { Cookie: await signIn(server.base, EVERY_GROUP) };
  const drafts: Read = {
    label: 'drafts of a member of every group, a comment posted each second',
    path: '/drafts',
    headers: everyGroup,
    connections: 20,
  };
  let posted = 0;
  const comment = () =>
    void fetch(`${server.base}/api/v1/proposals/${info.bigProposal}/comments`, {
      method: 'POST',
      headers: { ...token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ body: `A comment while the drafts are read (${++posted})` }),
    }).then((res) => res.arrayBuffer());
  // The first view of this member's drafts after the start reads the open threads of every
  // proposal of every group (kept for the next views): timed alone, not left to the warm-up.
  const f0 = performance.now();
  const firstView = await fetch(server.base + drafts.path, { headers: drafts.headers });
  await firstView.arrayBuffer();
  const firstViewMs = performance.now() - f0;
  log(`  first view of ${drafts.path} (a member of every group): ${ms(firstViewMs)} ms (${firstView.status})`);
  await autocannon({ url: server.base + drafts.path, headers: drafts.headers, connections: 20, duration: WARM_S });
  log(`  autocannon ${drafts.path} (${drafts.label}), 20 connections, ${READ_S} s (load average ${load1()})`);
  const poster = setInterval(comment, 1000);
  const d = await autocannon({
    url: server.base + drafts.path,
    headers: drafts.headers,
    connections: 20,
    duration: READ_S,
  });
  clearInterval(poster);
  results.push(
    resultOf(
      { ...drafts, label: `drafts of a member of every group, while ${posted} comments were posted, one a second` },
      d,
    ),
  );

  // Mixed reads, RSS sampled every second.
  log(`  mixed reads for ${MIXED_S} s, RSS sampled`);
  const samples: number[] = [];
  const timer = setInterval(() => samples.push(rssKb(server.pid).rss), 1000);
  const mixed = await autocannon({
    url: server.base,
    connections: 10,
    duration: MIXED_S,
    requests: reads.map((r) => ({ method: 'GET' as const, path: r.path, headers: r.headers })),
  });
  clearInterval(timer);
  alive();
  const parts = residentParts(server.pid);
  // RSS swings with each collection: compare the lowest sample (the nearest to the live size) of
  // the middle third with that of the last third.
  const third = Math.floor(samples.length / 3);
  const lowest = (xs: number[]) => Math.min(...xs.filter(Number.isFinite));
  const middleLow = lowest(samples.slice(third, 2 * third));
  const lastLow = lowest(samples.slice(2 * third));
  const atTwoThirds = samples[2 * third] ?? NaN;
  const end = samples.at(-1) ?? NaN;
  const grewMb = (lastLow - middleLow) / 1024;

  const misses: string[] = [];
  for (const r of results) {
    if (r.p99 >= P99_TARGET_MS)
      misses.push(
        `\`GET ${r.path}\` (${r.label}) at scale ${scale}: p99 ${r.p99} ms at ${r.connections} connections (target < ${P99_TARGET_MS} ms).`,
      );
    if (r.non2xx || r.errors)
      misses.push(`\`GET ${r.path}\` at scale ${scale}: ${r.errors} errors, ${r.non2xx} non-2xx.`);
  }
  // The issues' measure is after 10 minutes of mixed reads; these are shorter, and already say whether it is met.
  const rssReadsOk = end / 1024 < rssTargetMb;
  if (!rssReadsOk)
    misses.push(
      `RSS after ${MIXED_S} s of mixed reads at scale ${scale}: ${mb(end * 1024)} (target < ${rssTargetMb} MB after 10 minutes).`,
    );
  const body = [
    `Reads under load (autocannon in the bench process, sharing the cores; ${READ_S} s each after ${WARM_S} s of the same load not timed; signed in through the login form, the session's and the CSRF cookie sent as a browser sends them):`,
    '',
    table(
      ['request', 'connections', 'req/s', 'p50', 'p99', 'target p99', '', 'errors / non-2xx', 'bytes / response'],
      results.map((r) => [
        `\`GET ${r.path}\` (${r.label})`,
        r.connections,
        Math.round(r.reqPerSec).toLocaleString('en'),
        `${r.p50} ms`,
        `${r.p99} ms`,
        `< ${P99_TARGET_MS} ms`,
        r.p99 < P99_TARGET_MS ? 'met' : '**missed**',
        `${r.errors} / ${r.non2xx}`,
        Math.round(r.bytes).toLocaleString('en'),
      ]),
    ),
    '',
    `The first view of "My drafts" by a member of every group after the start, alone: ${ms(firstViewMs)} ms (it reads the open threads of every proposal of their groups' documents, in slices beside the other requests, and keeps them for the next views; the row "while comments were posted" is timed after it).`,
    '',
    `Mixed reads (those ${reads.length} in turn, 10 connections, ${MIXED_S} s, ${mixed.requests.total.toLocaleString('en')} requests, p99 ${mixed.latency.p99} ms): RSS ${mb((samples[0] ?? NaN) * 1024)} after 1 s, ${mb(atTwoThirds * 1024)} at two thirds, ${mb(end * 1024)} at the end; lowest in the middle third ${mb(middleLow * 1024)}, in the last third ${mb(lastLow * 1024)}: ${grewMb > 1 ? `**it still grew by ${grewMb.toFixed(1)} MB**` : 'no growth over 1 MB'}. At the end it was ${mb(parts.files * 1024)} of mapped files (node's code and libraries), ${mb(parts.mallocMain * 1024)} of malloc's main heap and ${mb(parts.mallocThreads * 1024)} of its other threads' arenas, ${mb(parts.other * 1024)} of other anonymous memory (V8's heaps, buffers, stacks). The target, RSS < ${rssTargetMb} MB after 10 minutes of mixed reads: ${rssReadsOk ? 'met at the end of these' : '**missed** already at the end of these'} (what holds it, and what V8 does without the flags of \`npm start\`: docs/DEPLOY.md, "Memory").`,
    '',
  ];
  const slowest = [...results].sort((a, b) => b.p99 - a.p99)[0];
  return {
    body,
    misses,
    note: `The slowest page under load was \`${slowest.path}\` (p99 ${slowest.p99} ms at ${slowest.connections} connections); the mixed reads' RSS ${grewMb > 1 ? `still grew by ${grewMb.toFixed(1)} MB in their last third` : 'was flat in their last third'}.`,
  };
}
