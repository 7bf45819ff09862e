/**
 * The real server in a child process under mixed writes over HTTP (proposals, edits,
 * comments, shares, consolidations, rounds, ballots, closes, publications), killed with
 * SIGKILL at a random moment, again and again on the same DATA_DIR: 20 times in the normal
 * run, CRASH_RUNS=200 on demand (CRASH_SEED=n replays a sequence of kill delays). After
 * each kill stock `git fsck --strict` is clean, the server starts again, and every write
 * that was acknowledged (2xx received) before the kill is there, read back through the API.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { openTestData, projectRoot, tempDir } from '../helpers/data.js';
import { bin, childEnv } from '../helpers/bin.js';
import { makeApiUsers, type ApiUser } from '../helpers/users.js';
import { fsckProblems, git } from '../store/gitHelpers.js';
import { freePort, prng } from '../helpers/random.js';

// 8 kills in an ordinary run (each run draws a new seed); 20 in CI's long mode or as CRASH_RUNS says.
const RUNS = Number(process.env.CRASH_RUNS ?? (process.env.CI_LONG === '1' ? 20 : 8));

type People = Record<'ana' | 'ben' | 'chair', ApiUser>;

/** What the server acknowledged, by subject: enough to read every acknowledged write back. */
interface Acks {
  proposals: Map<number, { owner: 'ana' | 'ben'; head: string; comments: Set<number>; shared: boolean }>;
  consolidations: Set<number>;
  rounds: Map<number, { ballots: number; closed: boolean }>;
  versions: Map<string, Map<number, string>>;
  count: number;
  /** Refusals by status and code (informational: a refusal starts a writer's path over). */
  refusals: Map<string, number>;
}

let dataDir: string;
let people: People;
let server: ChildProcess | null = null;
let base = '';
let serverOut = '';

/** Start the server on a free port; another port is tried when one is taken meanwhile (it then never answers). */
async function startServer(): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(attempt < 3 ? 10_000 : 30_000);
    } catch (e) {
      await killServer();
      if (attempt === 3) throw e;
    }
  }
}

async function startOnce(wait: number): Promise<void> {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  serverOut = '';
  const child = spawn(bin.server[0], [...bin.server[1]], {
    cwd: projectRoot,
    env: childEnv({
      DATA_DIR: dataDir,
      PORT: String(port),
      BASE_URL: '',
      SESSION_SECRET: '',
      WRITE_LIMIT: '0',
      LOG_LEVEL: 'error',
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server = child;
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (serverOut += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (serverOut += c));
  const deadline = Date.now() + wait;
  let lastError: unknown = null;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited at start: ${serverOut}`);
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch (e) {
      // not listening yet
      lastError = e;
    }
    if (Date.now() > deadline)
      throw new Error(`the server did not start: ${serverOut} ${String((lastError as Error)?.cause ?? lastError)}`);
    await new Promise((r) => setTimeout(r, 30));
  }
}

async function killServer(): Promise<void> {
  const child = server;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL'); // our own child, by its PID
  await exited;
}

/** One API call; the status and JSON body, or null when the connection failed (the server is gone). */
async function api(
  method: string,
  url: string,
  who: ApiUser | null,
  body?: unknown,
): Promise<{ status: number; body: any } | null> {
  try {
    const res = await fetch(`${base}/api/v1${url}`, {
      method,
      headers: { ...(who ? who.auth : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  } catch {
    return null;
  }
}

const ok = (r: { status: number; body: any } | null): r is { status: number; body: any } =>
  !!r && r.status >= 200 && r.status < 300;

/**
 * One writer: the whole path from a proposal to a published version on its own document
 * (so that writers do not make each other's consolidations stale), recording each 2xx. A
 * refusal starts the path over; a failed connection (the kill) ends the writer.
 */
interface Position {
  step: number;
  n: number;
  proposal: number;
  consolidation: number;
  round: number;
}
const startPosition = (): Position => ({ step: 0, n: 0, proposal: 0, consolidation: 0, round: 0 });

async function publishPath(
  acks: Acks,
  at: Position,
  slug: string,
  owner: 'ana' | 'ben',
  alive: () => boolean,
  answered: () => void,
): Promise<void> {
  const who = people[owner];
  const other = people[owner === 'ana' ? 'ben' : 'ana'];
  class Stop extends Error {}
  /** The answer when it is a 2xx; throws Stop otherwise (refused: start over; no answer: end). */
  const call = async (method: string, url: string, as: ApiUser, body?: unknown) => {
    const r = await api(method, url, as, body);
    if (r) answered();
    if (!r) throw new Stop('gone');
    if (r.status < 200 || r.status >= 300) {
      acks.refusals.set(
        `${r.status} ${r.body?.error?.code}`,
        (acks.refusals.get(`${r.status} ${r.body?.error?.code}`) ?? 0) + 1,
      );
      throw new Stop('refused');
    }
    acks.count++;
    return r.body;
  };
  // The path as steps; `at` says where this writer stands, across kills: after a restart it
  // goes on with the step it was doing (a step whose answer never came may have landed; if so
  // it is refused now, and the path starts over).
  const steps: (() => Promise<void>)[] = [
    async () => {
      at.n++;
      const p = await call('POST', `/documents/${slug}/proposals`, who, {
        title: `Crash ${at.n}`,
        rationale: 'kill -9',
        text: `# ${slug}\n\nDraft ${at.n}.\n`,
      });
      at.proposal = p.id;
      acks.proposals.set(p.id, { owner, head: p.head, comments: new Set(), shared: false });
    },
    async () => {
      const prop = acks.proposals.get(at.proposal)!;
      prop.head = (
        await call('PUT', `/proposals/${at.proposal}/text`, who, {
          text: `# ${slug}\n\nEdited ${at.n} at ${Date.now()}.\n`,
          head: prop.head,
        })
      ).head;
    },
    async () =>
      void acks.proposals
        .get(at.proposal)!
        .comments.add(
          (await call('POST', `/proposals/${at.proposal}/comments`, other, { body: `Comment on ${at.n}` })).id,
        ),
    async () => {
      await call('POST', `/proposals/${at.proposal}/share`, who);
      acks.proposals.get(at.proposal)!.shared = true;
    },
    async () => {
      at.consolidation = (
        await call('POST', `/documents/${slug}/consolidations`, people.chair, {
          proposals: [at.proposal],
          summary: `Crash ${at.n}`,
        })
      ).id;
      acks.consolidations.add(at.consolidation);
    },
    async () => {
      const closesAt = new Date(Date.now() + 86_400_000).toISOString();
      at.round = (
        await call('POST', '/rounds', people.chair, {
          subject: { type: 'consolidation', id: at.consolidation },
          rule: 'majority',
          quorum: 0.5,
          closesAt,
        })
      ).id;
      acks.rounds.set(at.round, { ballots: 0, closed: false });
    },
    ...[who, other].map((voter) => async () => {
      await call('POST', `/rounds/${at.round}/ballots`, voter, { position: 'approve' });
      acks.rounds.get(at.round)!.ballots++;
    }),
    async () => {
      await call('POST', `/rounds/${at.round}/close`, people.chair);
      acks.rounds.get(at.round)!.closed = true;
    },
    async () => {
      const pub = await call('POST', `/consolidations/${at.consolidation}/publish`, people.chair, {
        summary: `Crash ${at.n}`,
      });
      if (!acks.versions.has(slug)) acks.versions.set(slug, new Map());
      acks.versions.get(slug)!.set(pub.version.number, pub.version.commit);
    },
  ];
  while (alive()) {
    try {
      await steps[at.step]();
      at.step = (at.step + 1) % steps.length;
    } catch (e) {
      if (!(e instanceof Stop)) throw e;
      if (e.message === 'gone') return;
      at.step = 0;
    }
  }
}

/** Run `n` at a time. */
async function inParallel<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (queue.length) await fn(queue.shift()!);
    }),
  );
}

/** Every acknowledged write, read back through the API (and git for revisions). Returns what is missing. */
async function missingWrites(acks: Acks): Promise<string[]> {
  const missing: string[] = [];
  const heads: string[] = [];
  await inParallel([...acks.proposals], 6, async ([id, want]) => {
    const p = await api('GET', `/proposals/${id}`, people[want.owner]);
    if (p?.status !== 200) return void missing.push(`proposal ${id}: ${p ? p.status : 'no answer'}`);
    heads.push(p.body.head);
    if (want.shared && p.body.state === 'draft') missing.push(`proposal ${id} share`);
    if (want.comments.size) {
      const cs = await api('GET', `/proposals/${id}/comments`, people[want.owner]);
      const have = new Set(ok(cs) ? (cs.body as { id: number }[]).map((c) => c.id) : []);
      for (const c of want.comments) if (!have.has(c)) missing.push(`comment ${c} on proposal ${id}`);
    }
  });
  // Each acknowledged revision is its proposal's head or an ancestor of it.
  if (heads.length) {
    const reachable = new Set(
      (await git(path.join(dataDir, 'git'), ['rev-list', ...new Set(heads)])).stdout.trim().split('\n'),
    );
    for (const [id, want] of acks.proposals)
      if (!reachable.has(want.head)) missing.push(`revision ${want.head} of proposal ${id}`);
  }
  await inParallel([...acks.consolidations], 6, async (id) => {
    if (!ok(await api('GET', `/consolidations/${id}`, people.chair))) missing.push(`consolidation ${id}`);
  });
  await inParallel([...acks.rounds], 6, async ([id, want]) => {
    const r = await api('GET', `/rounds/${id}`, people.chair);
    if (!ok(r)) return void missing.push(`round ${id}`);
    if ((r.body.ballots as unknown[]).length < want.ballots)
      missing.push(`ballots of round ${id}: ${r.body.ballots.length} < ${want.ballots}`);
    if (want.closed && r.body.state !== 'closed') missing.push(`close of round ${id}`);
  });
  for (const [slug, versions] of acks.versions) {
    const v = await api('GET', `/documents/${slug}/versions`, null);
    const have = new Map(
      ok(v) ? (v.body as { number: number; commit: string }[]).map((x) => [x.number, x.commit]) : [],
    );
    for (const [n, commit] of versions) if (have.get(n) !== commit) missing.push(`version ${n} of ${slug}`);
  }
  return missing;
}

beforeAll(async () => {
  dataDir = await tempDir('ratify-crash-server-');
  // Prepare the data folder before the first start: seeded documents, accounts and tokens
  // (no passwords: scrypt would cost ~300 ms each).
  const d = await openTestData({ dataDir });
  people = await makeApiUsers(d.ctx, {
    ana: { email: 'ana@example.org', name: 'Ana Member', roles: ['member'], groups: ['wg-strategy', 'wg-wsp'] },
    ben: { email: 'ben@example.org', name: 'Ben Member', roles: ['member'], groups: ['wg-strategy', 'wg-wsp'] },
    chair: { email: 'chair@example.org', name: 'Chris Chair', roles: ['chair'] },
  });
  await d.close();
}, 30_000);

afterAll(async () => {
  await killServer();
  await fsp.rm(dataDir, { recursive: true, force: true });
});

describe('kill -9 of the real server under mixed writes', () => {
  test(
    `${RUNS} kills: git fsck clean, the server starts again, every acknowledged write is there`,
    async () => {
      const started = Date.now();
      const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
      const random = prng(seed);
      const acks: Acks = {
        proposals: new Map(),
        consolidations: new Set(),
        rounds: new Map(),
        versions: new Map(),
        count: 0,
        refusals: new Map(),
      };
      const gitdir = path.join(dataDir, 'git');
      const positions = [startPosition(), startPosition()];
      await startServer();
      for (let run = 0; run < RUNS; run++) {
        const context = `run ${run}, seed ${seed}; replay with CRASH_SEED=${seed}`;
        // Kill at a random moment 0–400 ms after the server first answered in this run.
        const delay = Math.floor(random() * 400);
        let alive = true;
        let killing: Promise<void> | null = null;
        const first = () => {
          killing ??= new Promise<void>((r) => setTimeout(r, delay)).then(async () => {
            alive = false;
            await killServer();
          });
        };
        const writers = [
          publishPath(acks, positions[0], 'terms-of-reference', 'ana', () => alive, first),
          publishPath(acks, positions[1], 'workshop-process', 'ben', () => alive, first),
        ];
        await Promise.all(writers);
        first();
        await killing;

        expect({ context, fsck: await fsckProblems(gitdir) }).toEqual({ context, fsck: [] });
        await startServer().catch((e: Error) => {
          throw new Error(`${context}: ${e.message}`);
        });
        expect({ context, missing: await missingWrites(acks) }).toEqual({ context, missing: [] });
      }
      const versions = [...acks.versions.values()].reduce((n, m) => n + m.size, 0);
      console.info(
        `server crash test: ${RUNS} kills, ${acks.count} acknowledged writes (${acks.proposals.size} proposals, ${acks.rounds.size} rounds, ${versions} publications), all present; refusals ${JSON.stringify(Object.fromEntries(acks.refusals))}; seed ${seed}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    },
    // About 2–5 s a run on a busy 2-core machine (the start-up dominates); generous for CI.
    Math.max(240_000, RUNS * 10_000),
  );
});
