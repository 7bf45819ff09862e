/**
 * A LAN name over plain HTTP, in Chromium (issue 12): the real server (dist/main.js, what
 * `npm start` runs) with BASE_URL=http://ratify.lan:<port>, and Chromium told that ratify.lan is
 * 127.0.0.1 (--host-resolver-rules). No header may send the browser to https: the page is
 * styled (the stylesheet loads, over http), and signing in through the form works.
 */
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { bin, childEnv } from '../helpers/bin.js';
import { projectRoot, tempDir, TEST_HASH_ENV } from '../helpers/data.js';
import { freePort } from '../helpers/random.js';
import { DESKTOP, launchBrowser, newReader, shot, signInAs } from './helpers.js';

jest.setTimeout(120_000);

const PERSON = { email: 'lan@example.org', name: 'Lana Local' };
const PASSWORD = 'a long enough password';

let work: string;
let server: ChildProcess;
let output = '';
let site: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** What the browser said about security policies, mixed content or failed requests. */
const complaints: string[] = [];

beforeAll(async () => {
  work = await tempDir('ratify-lan-');
  const dataDir = path.join(work, 'data');
  const port = await freePort();
  site = `http://ratify.lan:${port}`;
  server = spawn(bin.server[0], [...bin.server[1]], {
    cwd: projectRoot,
    env: childEnv({
      DATA_DIR: dataDir,
      PORT: String(port),
      BASE_URL: site,
      SESSION_SECRET: '',
      TRUST_PROXY: '',
      LOG_LEVEL: 'info',
      ...TEST_HASH_ENV,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout!.setEncoding('utf8').on('data', (c: string) => (output += c));
  server.stderr!.setEncoding('utf8').on('data', (c: string) => (output += c));
  const deadline = Date.now() + 60_000;
  while (!output.includes('Ratify serves')) {
    if (server.exitCode !== null) throw new Error(`the server exited: ${output}`);
    if (Date.now() > deadline) throw new Error(`the server did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // The first account, made as the server's start message says: the CLI, through the server.
  const made = await new Promise<{ code: number | null; err: string }>((resolve, reject) => {
    const cli = spawn(
      bin.admin[0],
      [...bin.admin[1], 'user', 'add', '--email', PERSON.email, '--name', PERSON.name, '--password-stdin'],
      { cwd: projectRoot, env: childEnv({ DATA_DIR: dataDir }), stdio: ['pipe', 'ignore', 'pipe'] },
    );
    let err = '';
    cli.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    cli.on('error', reject);
    cli.on('close', (code) => resolve({ code, err }));
    cli.stdin.end(`${PASSWORD}\n`);
  });
  expect(made).toEqual({ code: 0, err: '' });

  browser = await launchBrowser([`--host-resolver-rules=MAP ratify.lan 127.0.0.1`]);
  context = await newReader(browser, DESKTOP);
  page = await context.newPage();
  page.on('console', (m) => {
    if (/Content Security Policy|Mixed Content|upgrade|form-action/i.test(m.text())) complaints.push(m.text());
  });
  // A request the browser itself abandons when the page navigates away (submitting a form while
  // the icon is still loading) is no complaint; a blocked or failed one is.
  page.on('requestfailed', (r) => {
    const why = r.failure()?.errorText ?? '';
    if (why !== 'net::ERR_ABORTED') complaints.push(`failed: ${r.url()} ${why}`);
  });
});

afterAll(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM'); // our own child, by its PID
    await exited;
  }
  await fsp.rm(work, { recursive: true, force: true });
});

test('the home page at ratify.lan over plain HTTP is styled: the stylesheet loads over http', async () => {
  const stylesheets: { url: string; status: number }[] = [];
  page.on('response', (r) => {
    if (r.request().resourceType() === 'stylesheet') stylesheets.push({ url: r.url(), status: r.status() });
  });
  const res = await page.goto(`${site}/`);
  expect(res?.status()).toBe(200);
  expect(page.url()).toBe(`${site}/`);
  // Nothing that would send the browser to https.
  expect(res?.headers()['strict-transport-security']).toBeUndefined();
  expect(res?.headers()['content-security-policy']).not.toContain('upgrade-insecure-requests');
  expect(stylesheets.length).toBeGreaterThan(0);
  for (const s of stylesheets) {
    expect(s.url.startsWith(`${site}/assets/`)).toBe(true);
    expect(s.status).toBe(200);
  }
  // The stylesheet applies: the body has its margin and typeface, not the browser's defaults.
  const body = await page.evaluate(() => {
    const s = getComputedStyle(document.body);
    return { margin: s.marginTop, font: s.fontFamily };
  });
  expect(body.margin).toBe('0px');
  expect(body.font).toContain('system-ui');
  expect(complaints).toEqual([]);
});

test('signing in through the form works, over http, with a cookie that is not Secure', async () => {
  await signInAs(page, site, PERSON, PASSWORD);
  expect(page.url().startsWith(`${site}/`)).toBe(true);
  const sid = (await context.cookies(site)).find((c) => c.name === 'ratify.sid');
  expect(sid).toMatchObject({ domain: 'ratify.lan', secure: false, httpOnly: true });
  expect(complaints).toEqual([]);
  await shot(page, 'lan-host-signed-in');
});
