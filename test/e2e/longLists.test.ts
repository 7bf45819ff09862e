/**
 * Long lists in a browser at 360 px (issues 17 and 18): the audit log pages back with "Older
 * entries" and returns with "Newest entries"; "My drafts" shows the newest 50 and "Show them
 * all" shows every one; a proposal with 60 comments folds its older threads, a mail's link to
 * a folded comment lands on its line and "Show this thread" opens it. Nothing scrolls sideways,
 * axe finds nothing, and each page is kept as a screenshot (test-output/screenshots/long-*.png).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Browser, BrowserContext } from 'playwright-core';
import { makeUser } from '../helpers/auth.js';
import { testClock } from '../helpers/data.js';
import { publishedText, TOR } from '../helpers/people.js';
import { createProposal, shareProposal } from '../../server/services/proposals/proposals.js';
import { addComment } from '../../server/services/proposals/comments.js';
import { proposalCommentable } from '../../server/services/proposals/commentable.js';
import { DRAFTS_SHOWN } from '../../server/http/pages/draftPages.js';
import {
  expectNoAxeViolations,
  expectNoSidewaysScroll,
  launchBrowser,
  newReader,
  serveApp,
  shot,
  signInAs,
} from './helpers.js';

const PASSWORD = 'a long enough password';
const SEC = { email: 'sam@example.org', name: 'Sam Secretariat' };
const WANDA = { email: 'wanda@example.org', name: 'Wanda Drafter' };
let server: Awaited<ReturnType<typeof serveApp>>;
let browser: Browser;
/** The discussed proposal, and the first comment of its oldest thread (folded on its page). */
let discussed = 0;
let oldestComment = 0;
const contexts: BrowserContext[] = [];
/** A phone of its own for each reader (each signs in). */
const phone = async () => {
  const c = await newReader(browser, { width: 360, height: 780 }, { isMobile: true });
  contexts.push(c);
  return c.newPage();
};

beforeAll(async () => {
  const launching = launchBrowser();
  const clock = testClock('2026-03-01T09:00:00Z');
  server = await serveApp({ clock });
  const ctx = server.t.ctx;
  await makeUser(ctx, { ...SEC, roles: ['secretariat'], password: PASSWORD });
  const w = await makeUser(ctx, { ...WANDA, roles: ['member'], groups: ['wg-strategy'], password: PASSWORD });
  const text = await publishedText(ctx, TOR);
  for (let i = 1; i <= DRAFTS_SHOWN + 2; i++)
    await createProposal(ctx, w.actor, TOR, {
      title: `Draft ${i}`,
      rationale: 'Why',
      text: `${text}\nAddendum ${i}.\n`,
    });
  // 20 threads of 3 comments, a minute apart: the 4 oldest threads are folded.
  // Kim's proposal, so that Wanda's own drafts stay DRAFTS_SHOWN + 2.
  const kim = await makeUser(ctx, {
    email: 'kim@example.org',
    name: 'Kim',
    roles: ['member'],
    groups: ['wg-strategy'],
    password: PASSWORD,
  });
  const p = await shareProposal(
    ctx,
    kim.actor,
    (await createProposal(ctx, kim.actor, TOR, { title: 'Much discussed', rationale: 'Why', text })).id,
  );
  discussed = p.id;
  const on = proposalCommentable(ctx, p);
  for (let i = 0; i < 20; i++) {
    clock.advance(60_000);
    const root = await addComment(ctx, kim.actor, on, { body: `Thread ${i} opens.` });
    if (i === 0) oldestComment = root.id;
    for (let k = 1; k < 3; k++) {
      clock.advance(60_000);
      await addComment(ctx, w.actor, on, { body: `Thread ${i}, reply ${k}.`, replyTo: root.id });
    }
  }
  browser = await launching;
}, 120_000);
afterAll(async () => {
  for (const c of contexts) await c.close();
  await browser?.close();
  await server?.close();
});

test('the audit log pages back and returns to the newest entries', async () => {
  const page = await phone();
  await signInAs(page, server.baseUrl, SEC, PASSWORD);
  await page.goto(`${server.baseUrl}/admin/audit?limit=20`);
  const firstRow = await page.locator('table.audit tbody tr').first().textContent();
  await expectNoSidewaysScroll(page);
  await expectNoAxeViolations(page);
  await shot(page, 'long-audit-newest');
  await page.getByRole('link', { name: 'Older entries' }).click();
  await page.waitForURL(/before=\d+/);
  expect(await page.locator('table.audit tbody tr').count()).toBeGreaterThan(0);
  expect(await page.locator('table.audit tbody tr').first().textContent()).not.toBe(firstRow);
  await expectNoSidewaysScroll(page);
  await expectNoAxeViolations(page);
  await shot(page, 'long-audit-older');
  await page.getByRole('link', { name: 'Newest entries' }).click();
  await page.waitForURL((u) => !u.search.includes('before'));
  expect(await page.locator('table.audit tbody tr').first().textContent()).toBe(firstRow);
  await page.close();
});

test('My drafts shows the newest 50 of each list, and all of them on asking', async () => {
  const page = await phone();
  await signInAs(page, server.baseUrl, WANDA, PASSWORD);
  await page.goto(`${server.baseUrl}/drafts`);
  const mine = page.locator('section[aria-labelledby="mine-h"]');
  expect(await mine.locator('ul.plist > li').count()).toBe(DRAFTS_SHOWN);
  expect(await mine.getByText(`The newest ${DRAFTS_SHOWN} of ${DRAFTS_SHOWN + 2}.`).count()).toBe(1);
  await expectNoSidewaysScroll(page);
  await expectNoAxeViolations(page);
  await shot(page, 'long-drafts');
  await mine.getByRole('link', { name: 'Show them all' }).click();
  await page.waitForURL(/all=1/);
  expect(await page.locator('section[aria-labelledby="mine-h"] ul.plist > li').count()).toBe(DRAFTS_SHOWN + 2);
  await page.close();
});

test('a long discussion folds its older threads; a link to a folded comment lands on it and opens it', async () => {
  const page = await phone();
  await signInAs(page, server.baseUrl, WANDA, PASSWORD);
  // The link a mail gives for the oldest comment.
  await page.goto(`${server.baseUrl}/proposals/${discussed}#comment-${oldestComment}`);
  expect(await page.locator('.thread.is-folded').count()).toBe(4);
  expect(await page.locator('article.comment').count()).toBe(48);
  const line = page.locator(`#thread-${oldestComment}`);
  await expect(line.isVisible()).resolves.toBe(true);
  await expectNoSidewaysScroll(page);
  await expectNoAxeViolations(page);
  // What the phone shows on arriving: the folded line the link named.
  await shot(page, 'long-comments-folded', { fullPage: false });
  await line.getByRole('link', { name: /Show this thread/ }).click();
  await page.waitForURL(/comments=all/);
  await expect(page.getByText('Thread 0 opens.').isVisible()).resolves.toBe(true);
  expect(await page.locator('.thread.is-folded').count()).toBe(0);
  await expectNoAxeViolations(page);
  await shot(page, 'long-comments-all', { fullPage: false });
  await page.close();
});
