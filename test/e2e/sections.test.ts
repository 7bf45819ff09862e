/**
 * One section at a time, in Chromium (issue 15): a member of the working group that owns the
 * terms of reference proposes a change to the "3. Chair" section from the document page (the
 * form holds that section only), previews it, saves; then edits another section of the draft
 * from the proposal page and saves it by pressing Enter in the title (Save is the form's first
 * button), and reads the result in the text and in the changes. axe (WCAG 2.1 AA) on each form;
 * screenshots in test-output/screenshots/sections-*.png.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { addUser } from '../../server/services/accounts/users.js';
import { testClock } from '../helpers/data.js';
import { DESKTOP, expectNoAxeViolations, launchBrowser, newReader, serveApp, shot, signInAs } from './helpers.js';

const SLUG = 'terms-of-reference';
const PASSWORD = 'a long enough password';
const WANDA = { email: 'wanda@example.org', name: 'Wanda Drafter' };
const CHAIR = ['which may be renewed once', 'which may be renewed twice'] as const;
const SECRETARIAT_HEADING = '4. Secretariat';

let server: Awaited<ReturnType<typeof serveApp>>;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let base: string;

beforeAll(async () => {
  const launching = launchBrowser();
  server = await serveApp({ clock: testClock('2026-03-01T10:00:00Z') });
  base = server.baseUrl;
  await addUser(server.t.ctx, CLI_ACTOR, { ...WANDA, roles: ['member'], groups: ['wg-strategy'], password: PASSWORD });
  browser = await launching;
  context = await newReader(browser, DESKTOP);
  page = await context.newPage();
  await signInAs(page, base, WANDA, PASSWORD);
}, 120_000);

afterAll(async () => {
  await context?.close().catch(() => {});
  await browser?.close();
  await server?.close();
});

const sectionText = () => page.getByLabel(/^The section “.*” as you propose it/);

describe('a change to one section, then an edit of another', () => {
  test('"Propose a change to this section" opens a form holding that section only', async () => {
    await page.goto(`${base}/documents/${SLUG}`);
    // The link right after the "3. Chair" heading.
    const link = page
      .locator('h2[id="3-chair"] + .section-link')
      .getByRole('link', { name: 'Propose a change to this section' });
    await link.click();
    await page.waitForURL(`${base}/documents/${SLUG}/proposals/new?section=3-chair`);
    const text = await sectionText().inputValue();
    expect(text.startsWith('## 3. Chair\n')).toBe(true);
    expect(text).toContain(CHAIR[0]);
    expect(text).not.toContain('## 4.');
    await shot(page, 'sections-01-new');
    await expectNoAxeViolations(page);
  });

  test('Preview shows the change and saves nothing; Save as draft makes the proposal', async () => {
    await page.getByLabel('Title', { exact: true }).fill('A second term for the Chair');
    await sectionText().fill((await sectionText().inputValue()).replace(CHAIR[0], CHAIR[1]));
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.waitForLoadState('load');
    const preview = page.getByRole('region', { name: 'Preview' });
    expect(await preview.locator('.diff ins', { hasText: 'twice' }).count()).toBeGreaterThan(0);
    expect(server.t.ctx.meta.all('proposals')).toHaveLength(0);
    await expectNoAxeViolations(page);
    await page.getByRole('button', { name: 'Save as draft' }).click();
    await page.waitForURL(/\/proposals\/\d+$/);
    expect(await page.locator('.ptext').innerText()).toContain(CHAIR[1]);
  });

  test('"Edit this section" on the proposal; Enter in the title saves it', async () => {
    const row = page.locator('.prow', { has: page.getByRole('heading', { name: SECRETARIAT_HEADING }) });
    await row.getByRole('link', { name: 'Edit this section' }).click();
    await page.waitForURL(/\/proposals\/\d+\/edit\?section=4-secretariat$/);
    const text = await sectionText().inputValue();
    expect(text.startsWith(`## ${SECRETARIAT_HEADING}\n`)).toBe(true);
    await sectionText().fill(`${text.trimEnd()}\n\nThe secretariat publishes its working methods.\n`);
    await shot(page, 'sections-02-edit');
    await expectNoAxeViolations(page);
    await page.getByLabel('Title', { exact: true }).press('Enter');
    await page.waitForURL(/\/proposals\/\d+\?tab=changes&from=1&to=2$/);
    expect(await page.locator('ins', { hasText: 'publishes its working methods' }).count()).toBeGreaterThan(0);
    await page.getByRole('navigation', { name: 'Proposal views' }).getByRole('link', { name: 'Text' }).click();
    const body = await page.locator('.ptext').innerText();
    expect(body).toContain('The secretariat publishes its working methods.');
    expect(body).toContain(CHAIR[1]);
    await shot(page, 'sections-03-result');
  });
});
