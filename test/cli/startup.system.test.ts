/**
 * The real server (dist/main.js, what `npm start` runs) as a child process. Started on a port
 * that is already taken, it must say so and exit non-zero at once, never claim to serve, and
 * leave the data folder's lock and admin socket free for the next process. Started on a new
 * data folder given by a relative DATA_DIR, it names the absolute path and, while there is no
 * account, the exact command that makes the first secretariat account — which works as printed.
 * Given an argument, it answers `--help` and refuses anything else, making no data folder.
 */
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { openData } from '../../server/bootstrap.js';
import { socketPathFor } from '../../server/cli/adminSocket.js';
import { COLD } from '../../server/store/meta/indexes.js';
import { projectRoot, tempDir } from '../helpers/data.js';
import { bin, childEnv } from '../helpers/bin.js';
import { TEST_HASH_ENV } from '../helpers/data.js';
import { freePort } from '../helpers/random.js';

jest.setTimeout(90_000);

let dataDir: string;
let taken: net.Server;
let port: number;

beforeAll(async () => {
  dataDir = await tempDir();
  taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, () => resolve()));
  port = (taken.address() as net.AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => taken.close(() => resolve()));
  await fsp.rm(dataDir, { recursive: true, force: true });
});

/** Run the server with `args` and `env` until it exits (it must, within a minute). */
async function runUntilExit(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(bin.server[0], [...bin.server[1], ...args], {
    cwd: projectRoot,
    env: childEnv({ BASE_URL: '', SESSION_SECRET: '', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // our own child, by its PID
      reject(new Error(`the server did not exit: ${out}${err}`));
    }, 60_000);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  return { code, out, err };
}

test('a port in use ends the start with a clear message and a non-zero exit, releasing the lock and the admin socket', async () => {
  const { code, out, err } = await runUntilExit([], { DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info' });
  expect(code).not.toBe(0);
  expect(code).not.toBeNull();
  expect(err).toContain('EADDRINUSE');
  expect(err).toContain(String(port));
  expect(`${out}${err}`).not.toContain('serves');
  // Nothing is left behind that would send admin commands to a process that is gone.
  await expect(fsp.stat(socketPathFor(dataDir))).rejects.toMatchObject({ code: 'ENOENT' });
  await expect(fsp.stat(path.join(dataDir, 'ratify.lock'))).rejects.toMatchObject({ code: 'ENOENT' });
  // The next process takes the data folder at once.
  const next = await openData({ dataDir, documentsDir: path.join(projectRoot, 'documents') }, 'cli', { seed: false });
  await next.close();
});

test('--help says what configures the server and exits 0; another argument exits 2; neither makes a data folder', async () => {
  const absent = path.join(dataDir, 'not-made');
  const help = await runUntilExit(['--help'], { DATA_DIR: absent, PORT: String(await freePort()) });
  expect(help.code).toBe(0);
  expect(help.out).toContain('DATA_DIR');
  expect(help.out).toContain('npm run admin');
  const wrong = await runUntilExit(['--port', '8080'], { DATA_DIR: absent, PORT: String(await freePort()) });
  expect(wrong.code).toBe(2);
  expect(wrong.err).toContain('--port 8080');
  expect(wrong.err).toContain('PORT');
  expect(`${help.out}${wrong.out}${wrong.err}`).not.toContain('serves');
  await expect(fsp.stat(absent)).rejects.toMatchObject({ code: 'ENOENT' });
});

/** Start the server on `data` (as given in DATA_DIR) and wait for /healthz; its JSON log lines so far. */
async function start(dataDirEnv: string): Promise<{ child: ChildProcess; lines: () => Record<string, unknown>[] }> {
  const p = await freePort();
  const child = spawn(bin.server[0], [...bin.server[1]], {
    cwd: projectRoot,
    env: childEnv({
      DATA_DIR: dataDirEnv,
      PORT: String(p),
      BASE_URL: '',
      SESSION_SECRET: '',
      LOG_LEVEL: 'info',
      ...TEST_HASH_ENV,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const lines = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  // Up once it says so (the line comes after the admin socket is open and /healthz answers).
  const deadline = Date.now() + 60_000;
  while (!lines().some((l) => String(l.msg).startsWith('Ratify serves'))) {
    if (child.exitCode !== null) throw new Error(`the server exited: ${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL'); // our own child, by its PID
      throw new Error(`the server did not start: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  expect((await fetch(`http://127.0.0.1:${p}/healthz`)).status).toBe(200);
  return { child, lines };
}

/** The first value `find` gives that is not undefined, asked every 50 ms for up to 10 s. */
async function until<T>(find: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error('not seen within 10 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  child.kill('SIGTERM'); // our own child, by its PID
  return exited;
}

test('a new data folder: the start names its absolute path and the command for the first account, which works as printed', async () => {
  const fresh = path.join(dataDir, 'site', 'data');
  const relative = path.relative(projectRoot, fresh);
  expect(path.isAbsolute(relative)).toBe(false);
  const first = await start(relative);
  let command: string;
  try {
    const serves = first.lines().find((l) => String(l.msg).startsWith('Ratify serves'));
    expect(serves).toMatchObject({ dataDir: fresh });
    expect(String(serves!.msg)).toContain(`data in ${fresh})`);
    // npm start's flags give node --expose-gc: the open's garbage is collected once the port is
    // open, before the records left for later (the waiting messages: none here) are read.
    const done = await until(() => first.lines().find((l) => String(l.msg).startsWith('Start-up done')));
    expect(done.readLater).toEqual({});
    expect(done.startGc).toEqual({
      ms: expect.any(Number),
      rssMbBefore: expect.any(Number),
      rssMbAfter: expect.any(Number),
    });
    // How each collection's cold records were had at open (a new folder has none to read).
    expect(serves!.coldOpen).toEqual(
      Object.fromEntries(Object.keys(COLD).map((kind) => [kind, { from: 'none', ms: expect.any(Number) }])),
    );
    expect(Object.keys(COLD)).toEqual(expect.arrayContaining(['mails', 'comments', 'ballots']));
    const gc = done.startGc as { rssMbBefore: number; rssMbAfter: number };
    expect(gc.rssMbAfter).toBeGreaterThan(10);
    expect(gc.rssMbAfter).toBeLessThan(gc.rssMbBefore + 5);
    const hint = first.lines().find((l) => 'firstAccount' in l);
    command = String(hint?.firstAccount);
    expect(command).toBe(
      `echo 'a long passphrase' | DATA_DIR=${fresh} npm run admin -- user add --email you@example.org --name 'Your Name' --role secretariat --password-stdin`,
    );
    expect(String(hint!.msg)).toContain(command);
    // Run it as an operator would paste it, in the project folder, while the server runs.
    const made = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const sh = spawn('sh', ['-c', command], {
        cwd: projectRoot,
        env: childEnv({ DATA_DIR: '', npm_config_update_notifier: 'false' }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      sh.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
      sh.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
      sh.on('error', reject);
      sh.on('close', (code) => resolve({ code, out }));
    });
    expect(made).toEqual({ code: 0, out: expect.stringContaining('"email": "you@example.org"') });
    expect(made.out).toContain('"secretariat"');
  } finally {
    expect(await stop(first.child)).toBe(0);
  }
  // With an account, the next start gives no such hint.
  const second = await start(fresh);
  try {
    expect(second.lines().find((l) => String(l.msg).startsWith('Ratify serves'))).toMatchObject({ dataDir: fresh });
    expect(second.lines().some((l) => 'firstAccount' in l)).toBe(false);
  } finally {
    expect(await stop(second.child)).toBe(0);
  }
});
