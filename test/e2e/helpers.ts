/**
 * Browser tests: Debian's chromium driven by playwright-core (STACK.md, "Browser and mail in
 * tests"), the app served in-process on a random local port, screenshots for people to look
 * at, and axe-core for WCAG 2.1 AA.
 */
import { AxeBuilder } from '@axe-core/playwright';
import { existsSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import * as path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { openTestApp, projectRoot } from '../helpers/data.js';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const screenshotDir = path.join(projectRoot, 'test-output', 'screenshots');

export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

/**
 * Launch chromium, with `extraArgs` after the usual ones. playwright gives every `launch` a
 * fresh temporary profile (--user-data-dir) and removes it on close, so runs never share state.
 */
export async function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(
      `No chromium at ${executablePath}: run \`apt-get install -y chromium\` or set CHROMIUM_PATH (npx playwright install cannot work here).`,
    );
  }
  return chromium.launch({
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    timeout: 60_000,
  });
}

/** A context as a reader would have: fixed locale and time zone so pages and shots are stable. */
export async function newReader(
  browser: Browser,
  viewport: { width: number; height: number },
  opts: { isMobile?: boolean } = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport,
    deviceScaleFactor: 1,
    isMobile: opts.isMobile ?? false,
    hasTouch: opts.isMobile ?? false,
    locale: 'en-GB',
    timezoneId: 'Europe/Zurich',
    reducedMotion: 'reduce',
  });
  context.setDefaultTimeout(10_000);
  context.setDefaultNavigationTimeout(15_000);
  return context;
}

export type TestApp = Awaited<ReturnType<typeof openTestApp>>;

/** The app over fresh test data, listening on 127.0.0.1 on a free port. */
export async function serveApp(
  opts: Parameters<typeof openTestApp>[0] = {},
): Promise<{ t: TestApp; baseUrl: string; close: () => Promise<void> }> {
  const t = await openTestApp(opts);
  const server: Server = await new Promise((resolve, reject) => {
    const s = t.app.listen(0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const { port } = server.address() as AddressInfo;
  return {
    t,
    baseUrl: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await t.cleanup();
    },
  };
}

/** Save a screenshot of the whole page (or, with `fullPage: false`, of what the screen shows) to test-output/screenshots/<name>.png (git-ignored). */
export async function shot(page: Page, name: string, opts: { fullPage?: boolean } = {}): Promise<string> {
  await fsp.mkdir(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: opts.fullPage ?? true, animations: 'disabled' });
  return file;
}

export interface AxeViolation {
  id: string;
  impact: string | null | undefined;
  help: string;
  targets: string[];
}

/** Run axe with the WCAG 2.0/2.1 A and AA rules; returns the violations in a readable shape. */
export async function axe(page: Page): Promise<AxeViolation[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    targets: v.nodes.map((n) => n.target.map(String).join(' ')),
  }));
}

/** One line per violation, for assertion messages. */
export function describeViolations(url: string, violations: AxeViolation[]): string {
  if (!violations.length) return `${url}: no axe violations`;
  return [
    `${url}: ${violations.length} axe violation(s)`,
    ...violations.map(
      (v) =>
        `  [${v.impact ?? '?'}] ${v.id}: ${v.help}\n    ${v.targets.slice(0, 8).join('\n    ')}${v.targets.length > 8 ? `\n    … ${v.targets.length - 8} more` : ''}`,
    ),
  ].join('\n');
}

/** Fails with the readable list when axe finds anything on the page. */
export async function expectNoAxeViolations(page: Page): Promise<void> {
  const violations = await axe(page);
  if (violations.length) throw new Error(describeViolations(page.url(), violations));
}

/** Fill the login form and press "Sign in" (the caller waits for where it leads). */
export async function submitLogin(page: Page, email: string, password: string): Promise<void> {
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Sign in through the real form and insist it worked: the person's name is in the top bar. */
export async function signInAs(
  page: Page,
  baseUrl: string,
  person: { email: string; name: string },
  password: string,
): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await submitLogin(page, person.email, password);
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  const who = await page.locator('.topbar .who').textContent();
  if (!who?.includes(person.name))
    throw new Error(`signed in as ${person.email}, but the top bar shows ${JSON.stringify(who)}`);
}

/** Nothing wider than the screen: the page never scrolls sideways (tables scroll in their own box). */
export async function expectNoSidewaysScroll(page: Page): Promise<void> {
  const { scrollWidth, clientWidth, wide } = await page.evaluate(() => {
    const w = document.documentElement.clientWidth;
    // The outermost elements reaching past the right edge, to say what overflows.
    const past = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > w + 0.5);
    const wide = past
      .filter((e) => !past.includes(e.parentElement!))
      .slice(0, 5)
      .map(
        (e) =>
          `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className && typeof e.className === 'string' ? '.' + e.className.trim().replace(/\s+/g, '.') : ''} → ${Math.round(e.getBoundingClientRect().right)} px`,
      );
    return { scrollWidth: document.documentElement.scrollWidth, clientWidth: w, wide };
  });
  if (scrollWidth > clientWidth)
    throw new Error(`${page.url()} is ${scrollWidth} px wide on a ${clientWidth} px screen:\n  ${wide.join('\n  ')}`);
}
