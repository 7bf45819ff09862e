/**
 * The real server (dist/main.js, what `npm start` runs) as a child process, started on a port that is already
 * taken: it must say so and exit non-zero at once, never claim to serve, and leave the data
 * folder's lock and admin socket free for the next process.
 */
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { openData } from '../../server/bootstrap.js';
import { socketPathFor } from '../../server/cli/adminSocket.js';
import { projectRoot, tempDir } from '../helpers/data.js';
import { bin, childEnv } from '../helpers/bin.js';

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

test('a port in use ends the start with a clear message and a non-zero exit, releasing the lock and the admin socket', async () => {
  const child = spawn(bin.server[0], [...bin.server[1]], {
    cwd: projectRoot,
    env: childEnv({ DATA_DIR: dataDir, PORT: String(port), BASE_URL: '', SESSION_SECRET: '', LOG_LEVEL: 'info' }),
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
