/**
 * The real server (dist/main.js) with replies by mail turned on: it starts its SMTP listener,
 * says where, takes a reply (250 even for a forged token: no bounce) and refuses a recipient that
 * is not a reply address (550); on SIGTERM it closes the listener and exits 0. A bad
 * INBOUND_SMTP_PORT is a configuration error (exit 2, the variable named); a taken one ends the
 * start (exit 1, EADDRINUSE).
 */
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import nodemailer from 'nodemailer';
import { bin, childEnv } from '../helpers/bin.js';
import { projectRoot, tempDir, TEST_HASH_ENV } from '../helpers/data.js';
import { freePort } from '../helpers/random.js';

jest.setTimeout(90_000);

let dataDir: string;
beforeAll(async () => {
  dataDir = await tempDir();
});
afterAll(async () => {
  await fsp.rm(dataDir, { recursive: true, force: true });
});

function spawnServer(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(bin.server[0], [...bin.server[1]], {
    cwd: projectRoot,
    env: childEnv({ DATA_DIR: dataDir, BASE_URL: '', SESSION_SECRET: '', LOG_LEVEL: 'info', ...TEST_HASH_ENV, ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  return { child, output: () => out };
}

function exitOf(child: ChildProcess, output: () => string): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // our own child, by its PID
      reject(new Error(`the server did not exit: ${output()}`));
    }, 60_000);
    child.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
}

test('the listener starts with the server, takes replies without bouncing, and closes on SIGTERM', async () => {
  const [port, smtpPort] = [await freePort(), await freePort()];
  const { child, output } = spawnServer({
    PORT: String(port),
    REPLY_DOMAIN: 'reply.ratify.test',
    INBOUND_SMTP_PORT: String(smtpPort),
  });
  try {
    const deadline = Date.now() + 60_000;
    while (!output().includes('Ratify serves')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the server did not start: ${output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(output()).toContain(`"inboundSmtp":"127.0.0.1:${smtpPort}"`);
    const sender = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true });
    const forged = `reply+1-p1-n-${'a'.repeat(24)}@reply.ratify.test`;
    const info = await sender.sendMail({ from: 'x@example.org', to: forged, subject: 'Re: hi', text: 'Let me in.' });
    expect(info.accepted).toEqual([forged]);
    const refused = (await sender
      .sendMail({ from: 'x@example.org', to: 'someone@example.org', subject: 'relay', text: 'x' })
      .catch((e: unknown) => e)) as { responseCode?: number };
    expect(refused.responseCode).toBe(550);
    // One log line for the refused reply, with its code.
    const deadlineLog = Date.now() + 5_000;
    while (!output().includes('Reply by mail refused (unknown_token)') && Date.now() < deadlineLog)
      await new Promise((r) => setTimeout(r, 50));
    expect(output()).toContain('Reply by mail refused (unknown_token)');
  } finally {
    child.kill('SIGTERM'); // our own child, by its PID
    expect(await exitOf(child, output)).toBe(0);
  }
  // The listener's port is free again.
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(smtpPort, '127.0.0.1', () => resolve());
  });
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});

test('a bad INBOUND_SMTP_PORT is a configuration error; a taken one ends the start', async () => {
  const bad = spawnServer({
    PORT: String(await freePort()),
    REPLY_DOMAIN: 'reply.ratify.test',
    INBOUND_SMTP_PORT: 'smtp',
  });
  expect(await exitOf(bad.child, bad.output)).toBe(2);
  expect(bad.output()).toMatch(/INBOUND_SMTP_PORT: .*port number/);

  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()));
  try {
    const takenPort = (taken.address() as net.AddressInfo).port;
    const busy = spawnServer({
      PORT: String(await freePort()),
      REPLY_DOMAIN: 'reply.ratify.test',
      INBOUND_SMTP_PORT: String(takenPort),
    });
    expect(await exitOf(busy.child, busy.output)).toBe(1);
    expect(busy.output()).toContain('EADDRINUSE');
    expect(busy.output()).toContain(String(takenPort));
    expect(busy.output()).not.toContain('Ratify serves');
  } finally {
    await new Promise<void>((resolve) => taken.close(() => resolve()));
  }
});
