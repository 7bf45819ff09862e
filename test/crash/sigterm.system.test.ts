/**
 * Shutdown under write load (issue 18, "Shutdown in 5 s at any volume"): the compiled server
 * (dist/main.js) gets SIGTERM while 20 writers post comments through the API (each comment
 * queues mail, so the mail worker is busy too). It must exit with status 0 within 5 s; the
 * journal it leaves ends on a whole line (nothing torn, so nothing for the next start to cut);
 * the next start reports no repair; and every write acknowledged before the signal is there.
 * Last, a torn tail is put at the journal's end, to show that a start does report a repair.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { openTestData, projectRoot, tempDir } from '../helpers/data.js';
import { bin, childEnv } from '../helpers/bin.js';
import { makeApiUsers, type ApiUser } from '../helpers/users.js';
import { freePort } from '../helpers/random.js';

const WRITERS = 20;

let dataDir: string;
let people: Record<'ana' | 'ben', ApiUser>;
const children = new Set<ChildProcess>();

interface Running {
  child: ChildProcess;
  base: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function start(): Promise<Running> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let out = '';
  const child = spawn(bin.server[0], [...bin.server[1]], {
    cwd: projectRoot,
    env: childEnv({
      DATA_DIR: dataDir,
      PORT: String(port),
      BASE_URL: '',
      SESSION_SECRET: '',
      WRITE_LIMIT: '0',
      LOG_LEVEL: 'info',
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      r({ code, signal });
    }),
  );
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited at start: ${out}`);
    // Listening, and past the start-up's report (a repair is logged just before that line).
    if (
      out.includes('Ratify serves') &&
      (await fetch(`${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      ))
    )
      break;
    if (Date.now() > deadline) throw new Error(`the server did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, base, output: () => out, exited };
}

async function api(base: string, method: string, url: string, who: ApiUser, body?: unknown) {
  const res = await fetch(`${base}/api/v1${url}`, {
    method,
    headers: { ...who.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

beforeAll(async () => {
  dataDir = await tempDir('ratify-sigterm-');
  const d = await openTestData({ dataDir });
  people = await makeApiUsers(d.ctx, {
    ana: { email: 'ana@example.org', name: 'Ana Member', roles: ['member'], groups: ['wg-strategy'] },
    ben: { email: 'ben@example.org', name: 'Ben Member', roles: ['member'], groups: ['wg-strategy'] },
  });
  await d.close();
}, 30_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL'); // our own children, by their PIDs
  await fsp.rm(dataDir, { recursive: true, force: true });
});

test('SIGTERM under 20 concurrent writers: exit 0 within 5 s, a whole journal, no repair at the next start, every acknowledged write kept', async () => {
  const first = await start();
  const created = await api(first.base, 'POST', '/documents/terms-of-reference/proposals', people.ana, {
    title: 'Shutdown',
    rationale: 'SIGTERM under load',
    text: '# Terms of reference\n\nA draft.\n',
  });
  expect(created.status).toBe(201);
  const proposal = created.body.id as number;
  expect((await api(first.base, 'POST', `/proposals/${proposal}/share`, people.ana)).status).toBe(200);

  const acked: number[] = [];
  const refused = new Map<string, number>();
  let stop = false;
  const writer = async (w: number) => {
    for (let i = 0; !stop; i++) {
      try {
        const r = await api(first.base, 'POST', `/proposals/${proposal}/comments`, w % 2 ? people.ben : people.ana, {
          body: `Writer ${w}, comment ${i}`,
        });
        if (r.status === 201) acked.push(r.body.id);
        else
          refused.set(
            `${r.status} ${r.body?.error?.code}`,
            (refused.get(`${r.status} ${r.body?.error?.code}`) ?? 0) + 1,
          );
      } catch {
        return; // the server closed the connection or no longer listens
      }
    }
  };
  const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
  // Let the writers (and the mail worker, which delivers what their comments queue) get going.
  while (acked.length < 200) await new Promise((r) => setTimeout(r, 20));
  const signalled = Date.now();
  first.child.kill('SIGTERM'); // our own child, by its PID
  const { code, signal } = await first.exited;
  const took = Date.now() - signalled;
  stop = true;
  await Promise.all(writers);
  expect({ code, signal, output: code === 0 ? '' : first.output() }).toEqual({ code: 0, signal: null, output: '' });
  expect(took).toBeLessThan(5_000);
  // Refusals during the shutdown are "try again" answers, never a failure of the store.
  for (const key of refused.keys()) expect(key).toMatch(/^503 /);

  // The journal ends on a whole line: nothing for the next start to cut.
  const journal = path.join(dataDir, 'meta', 'journal');
  for (const name of (await fsp.readdir(journal)).filter((n) => n.endsWith('.jsonl'))) {
    const raw = await fsp.readFile(path.join(journal, name), 'utf8');
    if (!raw) continue;
    expect({ name, last: raw.at(-1) }).toEqual({ name, last: '\n' });
    for (const line of raw.slice(0, -1).split('\n')) expect(() => JSON.parse(line)).not.toThrow();
  }

  const second = await start();
  try {
    // The start reports what it repaired (a torn journal tail, records restored from git): nothing.
    expect(second.output()).not.toMatch(/repair/i);
    const comments = await api(second.base, 'GET', `/proposals/${proposal}/comments`, people.ana);
    expect(comments.status).toBe(200);
    const have = new Set((comments.body as { id: number }[]).map((c) => c.id));
    expect(acked.filter((id) => !have.has(id))).toEqual([]);
    console.info(
      `SIGTERM test: ${acked.length} comments acknowledged by ${WRITERS} writers; exit 0 in ${took} ms; refusals ${JSON.stringify(Object.fromEntries(refused))}`,
    );
  } finally {
    second.child.kill('SIGTERM'); // our own child, by its PID
    expect((await second.exited).code).toBe(0);
  }

  // The check above can fail: a torn tail (what a kill mid-write leaves) is cut and reported.
  const segments = (await fsp.readdir(journal)).filter((n) => n.endsWith('.jsonl')).sort();
  await fsp.appendFile(path.join(journal, segments.at(-1)!), '{"seq":');
  const third = await start();
  try {
    expect(third.output()).toMatch(/repaired/);
  } finally {
    third.child.kill('SIGTERM'); // our own child, by its PID
    expect((await third.exited).code).toBe(0);
  }
}, 120_000);
