/**
 * The compiled server (dist/main.js, what `npm start` runs) does the work the source does:
 * a published text large enough to be rendered on the worker pool is served as formatted
 * HTML, and the process keeps running (the pool's worker file is part of the build).
 */
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { addDocument } from '../../server/services/addDocument.js';
import { openTestData } from '../helpers/data.js';
import { bin, childEnv } from '../helpers/bin.js';
import { freePort } from '../helpers/random.js';

jest.setTimeout(90_000);

let dataDir: string;
let server: ChildProcess | null = null;
let output = '';

beforeAll(async () => {
  const t = await openTestData();
  dataDir = t.dataDir;
  // About 60 KB of markdown: far above what is rendered inline, so it goes to a worker thread.
  const text = Array.from(
    { length: 600 },
    (_, i) => `Paragraph ${i + 1} with **bold words** and a [link](https://example.org/${i}).\n`,
  ).join('\n');
  await addDocument(t.ctx, CLI_ACTOR, { slug: 'large', title: 'A large text', group: 'mag', text });
  await t.close();
});

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server!.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  await fsp.rm(dataDir, { recursive: true, force: true });
});

test('a large published text is rendered on a worker thread by the compiled server', async () => {
  const port = await freePort();
  server = spawn(bin.server[0], [...bin.server[1]], {
    env: childEnv({ DATA_DIR: dataDir, PORT: String(port), BASE_URL: '', SESSION_SECRET: '', LOG_LEVEL: 'error' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout!.setEncoding('utf8').on('data', (c: string) => (output += c));
  server.stderr!.setEncoding('utf8').on('data', (c: string) => (output += c));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`the server exited: ${output}`);
    const up = await fetch(`${base}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) throw new Error(`the server did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const res = await fetch(`${base}/documents/large`);
  const html = await res.text();
  expect(res.status).toBe(200);
  expect(html).toContain('<strong>bold words</strong>');
  expect(html).toContain('href="https://example.org/599"');
  expect(html).not.toContain('could not be formatted');
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
  expect(server.exitCode).toBeNull();
});
