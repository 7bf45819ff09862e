/**
 * Select to comment, in Chromium (issue 14): a member selects a sentence across bold text and a
 * link on a shared proposal, presses the "Comment" button that appears beside the selection, and
 * finds the comment form beside the paragraph (under it on a phone) with the words quoted and
 * the focus in the comment box; the comment is posted, shown beside its paragraph, and the
 * passage is marked in the text, linked both ways with its thread. A selected sentence may also
 * get a suggested rewording (issue 15), shown as a word diff in its thread, which the author
 * applies in one click. axe on each state; screenshots in test-output/screenshots/select-*.png
 * and suggestion-*.png.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { addUser } from '../../server/services/accounts/users.js';
import { createProposal, shareProposal } from '../../server/services/proposals/proposals.js';
import { testClock } from '../helpers/data.js';
import {
  DESKTOP,
  PHONE,
  expectNoAxeViolations,
  launchBrowser,
  newReader,
  serveApp,
  shot,
  signInAs,
} from './helpers.js';

const PASSWORD = 'a long enough password';
const SLUG = 'terms-of-reference';
const P1 = 'The Group **meets every month** and follows [its charter](https://example.org/charter) in full.';
const SENTENCE = 'The Group meets every month and follows its charter in full.';
const PEOPLE = {
  wanda: { email: 'wanda@example.org', name: 'Wanda Drafter', roles: ['member'], groups: ['wg-strategy'] },
  mia: { email: 'mia@example.org', name: 'Mia Member', roles: ['member'], groups: [] },
} as const;

let server: Awaited<ReturnType<typeof serveApp>>;
let browser: Browser;
const contexts: BrowserContext[] = [];
let url: string;

beforeAll(async () => {
  const launching = launchBrowser();
  server = await serveApp({ clock: testClock('2026-01-15T10:00:00Z') });
  for (const p of Object.values(PEOPLE)) {
    await addUser(server.t.ctx, CLI_ACTOR, { ...p, roles: [...p.roles], groups: [...p.groups], password: PASSWORD });
  }
  const u = server.t.ctx.meta.all('users').find((x) => x.email === PEOPLE.wanda.email)!;
  const actor = { id: u.id, email: u.email, name: u.name, roles: u.roles, groups: u.groups };
  const p = await createProposal(server.t.ctx, actor, SLUG, {
    title: 'Meet monthly',
    rationale: '',
    text: `# Terms\n\nIt advises the committee.\n\n${P1}\n\nMembers serve for two years.\n`,
  });
  await shareProposal(server.t.ctx, actor, p.id);
  url = `${server.baseUrl}/proposals/${p.id}`;
  browser = await launching;
}, 120_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await server?.close();
});

async function readerAs(
  viewport: { width: number; height: number },
  isMobile = false,
  who: (typeof PEOPLE)[keyof typeof PEOPLE] = PEOPLE.mia,
): Promise<Page> {
  const context = await newReader(browser, viewport, { isMobile });
  contexts.push(context);
  const page = await context.newPage();
  await signInAs(page, server.baseUrl, who, PASSWORD);
  await page.goto(url);
  return page;
}

/** Select the paragraph's sentence from its first word to its last, as a reader's drag does. */
async function selectSentence(page: Page, first: string, last: string): Promise<void> {
  await page.evaluate(
    ([a, b]) => {
      const walker = document.createTreeWalker(document.querySelector('.ptext')!, NodeFilter.SHOW_TEXT);
      const range = document.createRange();
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const at = n.textContent!.indexOf(a);
        if (at >= 0 && range.collapsed && range.startContainer === document) range.setStart(n, at);
        const end = n.textContent!.indexOf(b);
        if (end >= 0) {
          range.setEnd(n, end + b.length);
          break;
        }
      }
      const sel = document.getSelection()!;
      sel.removeAllRanges();
      sel.addRange(range);
    },
    [first, last],
  );
}

const rowOf = (page: Page) => page.locator('.prow', { hasText: 'meets every month' });

describe('select to comment', () => {
  test('selecting across bold text shows "Comment", which opens the form beside the paragraph', async () => {
    const page = await readerAs(DESKTOP);
    expect(await page.locator('button.select-comment').count()).toBe(0);
    await selectSentence(page, 'The Group ', 'in full.');
    const button = page.getByRole('button', { name: 'Comment', exact: true });
    await button.waitFor({ state: 'visible' });
    await button.click();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('comment-body');
    expect(await page.locator('#comment-quote').inputValue()).toBe(SENTENCE);
    // Beside the paragraph on a wide screen.
    const text = (await rowOf(page).locator('.pblock').boundingBox())!;
    const form = (await rowOf(page).locator('#new-comment').boundingBox())!;
    expect(form.x).toBeGreaterThanOrEqual(text.x + text.width - 1);
    await expectNoAxeViolations(page);
    await shot(page, 'select-form-beside');

    await page.keyboard.type('Monthly is too often for a volunteer group.');
    await page.getByRole('button', { name: 'Post comment' }).click();
    await page.waitForURL(/#comment-\d+$/);
    const thread = rowOf(page).locator('.thread');
    await expect(thread.textContent()).resolves.toContain('Monthly is too often');
    // The passage is marked in the paragraph, across the bold text and the link, and linked with its thread.
    const marks = rowOf(page).locator('.pblock mark.passage');
    expect((await marks.allTextContents()).join('')).toBe(SENTENCE);
    expect(await rowOf(page).locator('.pblock strong mark.passage').textContent()).toBe('meets every month');
    const id = (await thread.getAttribute('id'))!.replace('thread-', '');
    await expect(rowOf(page).locator(`a.to-thread[href="#thread-${id}"]`).count()).resolves.toBe(1);
    await thread.getByRole('link', { name: 'On the passage' }).click();
    await page.waitForURL(new RegExp(`#passage-${id}$`));
    await expectNoAxeViolations(page);
    await shot(page, 'select-commented');

    const stored = server.t.ctx.meta.all('comments').at(-1)!;
    expect(stored.anchor?.quote).toBe(P1);
  }, 60_000);

  test('on a phone the form comes under the paragraph', async () => {
    const page = await readerAs(PHONE, true);
    await selectSentence(page, 'Members serve', 'two years.');
    const button = page.getByRole('button', { name: 'Comment', exact: true });
    await button.waitFor({ state: 'visible' });
    await button.click();
    const row = page.locator('.prow', { hasText: 'Members serve' });
    const text = (await row.locator('.pblock').boundingBox())!;
    const form = (await row.locator('#new-comment').boundingBox())!;
    expect(form.y).toBeGreaterThanOrEqual(text.y + text.height - 1);
    expect(await page.locator('#comment-quote').inputValue()).toBe('Members serve for two years.');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('comment-body');
    await expectNoAxeViolations(page);
    // Beside the text the form's title is no heading (it would break the outline's order).
    const order = await new AxeBuilder({ page }).withRules(['heading-order']).analyze();
    expect(order.violations).toEqual([]);
    expect(await page.locator('#new-comment p#new-comment-h').count()).toBe(1);
    await shot(page, 'select-phone');
  }, 60_000);

  test('a suggested rewording is shown as a word diff; the author applies it in one click', async () => {
    const page = await readerAs(DESKTOP);
    await selectSentence(page, 'It advises', 'the committee.');
    await page.getByRole('button', { name: 'Comment', exact: true }).click();
    await page.keyboard.type('Say that the chair is advised too.');
    await page.getByLabel('Suggest new words for the quoted passage').fill('It advises the committee and its chair.');
    await page.getByRole('button', { name: 'Post comment' }).click();
    await page.waitForURL(/#comment-\d+$/);
    const row = page.locator('.prow', { hasText: 'It advises' });
    await expect(row.locator('figure.suggestion ins').textContent()).resolves.toContain('and its chair');
    // Only those who may edit the proposal can apply it.
    expect(await page.getByRole('button', { name: /^Apply suggestion/ }).count()).toBe(0);
    await expectNoAxeViolations(page);
    await shot(page, 'suggestion-made');

    const author = await readerAs(DESKTOP, false, PEOPLE.wanda);
    await author.getByRole('button', { name: /^Apply suggestion/ }).click();
    await author.waitForURL(url);
    await expect(author.locator('.notice').textContent()).resolves.toContain('applied as revision 2');
    await expect(author.locator('.ptext .pblock', { hasText: 'It advises' }).innerText()).resolves.toBe(
      'It advises the committee and its chair.',
    );
    await expectNoAxeViolations(author);
    await shot(author, 'suggestion-applied');
  }, 60_000);
});
