/**
 * A member reads and decides as a person does (issue 14, "done when"): she follows the link in
 * a notification while signed out, is offered to sign in and lands on the proposal; she selects
 * a sentence across bold text and comments on it; when the round opens, the banner leads her to
 * the round page, where the change (the formatted diff) comes before her ballot, and she votes.
 * axe finds nothing on any page she sees.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { actorOf, addUser, findUserByEmail } from '../../server/services/accounts/users.js';
import { createProposal, shareProposal } from '../../server/services/proposals/proposals.js';
import { openRound } from '../../server/services/rounds/rounds.js';
import { testClock } from '../helpers/data.js';
import { publishedText, S2, TOR } from '../helpers/people.js';
import { DESKTOP, expectNoAxeViolations, launchBrowser, newReader, serveApp, shot, submitLogin } from './helpers.js';

const PASSWORD = 'a long enough password';
const NEW_S2 = 'Members **may take part remotely** in the closed meetings of the Group. ';
const SENTENCE = 'Members may take part remotely in the closed meetings of the Group.';

let server: Awaited<ReturnType<typeof serveApp>>;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let proposalId = 0;

beforeAll(async () => {
  const launching = launchBrowser();
  server = await serveApp({ clock: testClock('2026-03-01T09:00:00Z') });
  const ctx = server.t.ctx;
  for (const [email, name, roles, groups] of [
    ['wanda@example.org', 'Wanda Drafter', ['member'], ['wg-strategy']],
    ['mia@example.org', 'Mia Member', ['member'], []],
    ['cara@example.org', 'Cara Chair', ['chair'], []],
  ] as const)
    await addUser(ctx, CLI_ACTOR, { email, name, roles: [...roles], groups: [...groups], password: PASSWORD });
  const wanda = actorOf(findUserByEmail(ctx, 'wanda@example.org')!);
  const p = await createProposal(ctx, wanda, TOR, {
    title: 'Allow remote participation',
    rationale: 'Hybrid meetings.',
    text: (await publishedText(ctx, TOR)).replace(S2, NEW_S2),
  });
  await shareProposal(ctx, wanda, p.id);
  proposalId = p.id;
  browser = await launching;
  context = await newReader(browser, DESKTOP);
  page = await context.newPage();
}, 120_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.close();
});

describe('from a notification to a ballot', () => {
  test('the link in the mail, signed out: "Sign in to see it", then the proposal itself', async () => {
    const mail = server.t.ctx.meta
      .all('mails')
      .find((m) => m.to[0] === 'mia@example.org' && m.event === 'proposal.shared')!;
    const link = /http:\/\/ratify\.test(\/proposals\/\d+)/.exec(mail.text!)![1];
    expect(link).toBe(`/proposals/${proposalId}`);
    const res = await page.goto(server.baseUrl + link);
    expect(res?.status()).toBe(404);
    await expectNoAxeViolations(page);
    await page.getByRole('link', { name: 'Sign in to see it' }).click();
    await page.waitForURL((u) => u.pathname === '/login');
    await submitLogin(page, 'mia@example.org', PASSWORD);
    await page.waitForURL(`${server.baseUrl}${link}`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toContain('Allow remote participation');
    await shot(page, 'walk-01-proposal-after-sign-in');
  }, 60_000);

  test('she selects a sentence across bold text and comments on it', async () => {
    await page.evaluate((sentence) => {
      const walker = document.createTreeWalker(document.querySelector('.ptext') ?? document.body, NodeFilter.SHOW_TEXT);
      const range = document.createRange();
      let started = false;
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const t = n.textContent ?? '';
        if (
          !started &&
          t.includes('Members ') &&
          (n.parentElement?.closest('p')?.textContent ?? '').includes(sentence)
        ) {
          range.setStart(n, t.indexOf('Members '));
          started = true;
        }
        if (started && t.includes('of the Group.')) {
          range.setEnd(n, t.indexOf('of the Group.') + 'of the Group.'.length);
          break;
        }
      }
      const sel = document.getSelection()!;
      sel.removeAllRanges();
      sel.addRange(range);
    }, SENTENCE);
    const button = page.getByRole('button', { name: 'Comment', exact: true });
    await button.waitFor({ state: 'visible' });
    await button.click();
    expect(await page.locator('#comment-quote').inputValue()).toBe(SENTENCE);
    await page.keyboard.type('Remote members should be able to vote too.');
    await page.getByRole('button', { name: 'Post comment' }).click();
    await page.waitForURL(/#comment-\d+$/);
    expect((await page.locator('mark.passage').allTextContents()).join('')).toBe(SENTENCE);
    const stored = server.t.ctx.meta.all('comments').at(-1)!;
    expect(stored.anchor?.quote).toContain('**may take part remotely**');
    await expectNoAxeViolations(page);
    await shot(page, 'walk-02-commented');
  }, 60_000);

  test('the round opens: the banner leads to it, the change comes before the ballot, and she votes', async () => {
    const chair = actorOf(findUserByEmail(server.t.ctx, 'cara@example.org')!);
    const r = await openRound(server.t.ctx, chair, {
      subject: { type: 'proposal', id: proposalId },
      rule: 'majority',
      quorum: 0.5,
      closesAt: '2026-03-08T17:00:00Z',
    });
    await page.goto(`${server.baseUrl}/`);
    const banner = page.locator('.vote-banner');
    expect(await banner.textContent()).toContain('1 vote open');
    await banner.getByRole('link').click();
    await page.waitForURL(`${server.baseUrl}/rounds/${r.id}`);
    // The change, formatted, with what was inserted marked, comes before the ballot form.
    const changes = page.locator('section[aria-labelledby="changes-h"]');
    expect(await changes.locator('ins').count()).toBeGreaterThan(0);
    expect(await changes.locator('strong').count()).toBeGreaterThan(0);
    const order = await page.evaluate(() => {
      const a = document.getElementById('changes-h')!;
      const b = document.getElementById('ballot-h')!;
      return a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING;
    });
    expect(order).toBeTruthy();
    await expectNoAxeViolations(page);
    await shot(page, 'walk-03-round');
    await page.getByRole('radio', { name: /^Approve/ }).check();
    await page.getByRole('button', { name: 'Cast my ballot' }).click();
    await page.waitForURL(new RegExp(`/rounds/${r.id}`));
    expect(await page.getByRole('status').first().textContent()).toContain('Your ballot is recorded');
    expect(server.t.ctx.meta.by('ballots', 'round', String(r.id))).toHaveLength(1);
    expect(await page.locator('.vote-banner').count()).toBe(0);
    await expectNoAxeViolations(page);
    await shot(page, 'walk-04-voted');
  }, 60_000);
});
