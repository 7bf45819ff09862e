/**
 * Word files through the pages, in Chromium (issue 15): a drafter downloads the current version
 * as a .docx, uploads a Word file on the new-proposal page — with the page's script and without
 * it — sees what it changes, gives a title and saves the draft; the compare page's Word link
 * answers a tracked-changes file. axe (WCAG 2.1 AA) on the preview; screenshots in
 * test-output/screenshots/word-*.png.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { changesDocx } from '../../server/http/render/wordOut.js';
import { addUser } from '../../server/services/accounts/users.js';
import { testClock } from '../helpers/data.js';
import { DESKTOP, expectNoAxeViolations, launchBrowser, newReader, serveApp, shot, signInAs } from './helpers.js';

const SLUG = 'terms-of-reference';
const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
const PASSWORD = 'a long enough password';
const WANDA = { email: 'wanda@example.org', name: 'Wanda Drafter', roles: ['member'], groups: ['wg-strategy'] };

const clock = testClock('2026-01-15T10:00:00Z');
let server: Awaited<ReturnType<typeof serveApp>>;
let browser: Browser;
let base: string;
const contexts: BrowserContext[] = [];
let withScript: Page;
let withoutScript: Page;
let wordFile: Buffer;
let edited: string;

beforeAll(async () => {
  const launching = launchBrowser();
  server = await serveApp({ clock });
  base = server.baseUrl;
  await addUser(server.t.ctx, CLI_ACTOR, { ...WANDA, password: PASSWORD });
  browser = await launching;
  const reader = await newReader(browser, DESKTOP);
  const plain = await browser.newContext({ viewport: DESKTOP, javaScriptEnabled: false, locale: 'en-GB' });
  plain.setDefaultTimeout(10_000);
  contexts.push(reader, plain);
  withScript = await reader.newPage();
  withoutScript = await plain.newPage();
  const published = (await fetch(`${base}/documents/${SLUG}/versions/1.md`).then((r) => r.text())) as string;
  edited = published.replace('## 1. Mandate', '## 1. Mandate and scope');
  wordFile = Buffer.from(
    await changesDocx(
      published,
      edited,
      { title: 'Terms', description: 'Edited in Word' },
      { author: 'Wanda Drafter', date: '2026-01-14T10:00:00Z' },
    ),
  );
}, 120_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await server?.close();
});

describe('a Word file on the new-proposal page', () => {
  for (const [name, page] of [
    ['with the page script', () => withScript],
    ['without JavaScript', () => withoutScript],
  ] as const) {
    test(`${name}: upload, see the changes, give a title, save`, async () => {
      const p = page();
      await signInAs(p, base, WANDA, PASSWORD);
      await p.goto(`${base}/documents/${SLUG}/proposals/new`);
      await p
        .getByLabel(/^Start from a Word file/)
        .setInputFiles({ name: 'terms.docx', mimeType: DOCX, buffer: wordFile });
      await Promise.all([
        p.waitForURL(`${base}/documents/${SLUG}/proposals/docx`),
        p.getByRole('button', { name: 'Read the Word file' }).click(),
      ]);
      expect(await p.getByRole('heading', { name: 'What your Word file changes' }).isVisible()).toBe(true);
      expect(await p.locator('.diff.rendered ins').first().textContent()).toContain('scope');
      expect(await p.getByLabel(/^The whole text as you propose it/).inputValue()).toBe(edited);
      if (name === 'with the page script') {
        await shot(p, 'word-01-preview');
        await expectNoAxeViolations(p);
      }
      await p.getByLabel('Title', { exact: true }).fill(`From Word, ${name}`);
      await Promise.all([p.waitForURL(/\/proposals\/\d+$/), p.getByRole('button', { name: 'Save as draft' }).click()]);
      expect(await p.getByRole('heading', { level: 1 }).textContent()).toContain(`From Word, ${name}`);
    });
  }

  test('the compare page links a Word file with tracked changes', async () => {
    const res = await fetch(`${base}/documents/${SLUG}/compare.docx?from=1&to=1`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(DOCX);
    await withScript.goto(`${base}/documents/${SLUG}/compare?from=1&to=1`);
    const link = withScript.getByRole('link', { name: /as a Word file/ });
    expect(await link.getAttribute('href')).toBe(`/documents/${SLUG}/compare.docx?from=1&to=1`);
  });
});
