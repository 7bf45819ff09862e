/**
 * A ballot recorded on a member's behalf, in a real browser (issue 10): the secretariat fills
 * the form with the note, sees the member's current ballot on a confirmation page, confirms;
 * the record shows who recorded it and how it was given. axe on both pages; screenshots.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { makeUser } from '../helpers/auth.js';
import { testClock } from '../helpers/data.js';
import { after, committee, DAY, twoProposalConsolidation } from '../helpers/people.js';
import { openRound } from '../../server/services/rounds/rounds.js';
import { castBallot } from '../../server/services/rounds/ballots.js';
import { DESKTOP, expectNoAxeViolations, launchBrowser, newReader, serveApp, shot, signInAs } from './helpers.js';

const PASSWORD = 'a long enough password for sam';
let server: Awaited<ReturnType<typeof serveApp>>;
let browser: Browser;
let page: Page;
let roundId: number;

beforeAll(async () => {
  const clock = testClock('2026-03-01T09:00:00Z');
  const launching = launchBrowser();
  server = await serveApp({ clock });
  const ctx = server.t.ctx;
  const who = await committee(ctx);
  await makeUser(ctx, {
    email: 'sara@example.org',
    name: 'Sara Secretariat',
    roles: ['secretariat'],
    password: PASSWORD,
  });
  const { c } = await twoProposalConsolidation(ctx, who);
  const r = await openRound(ctx, who.chair.actor, {
    subject: { type: 'consolidation', id: c.id },
    rule: 'consensus',
    quorum: 0.5,
    closesAt: after(clock, 7 * DAY),
  });
  await castBallot(ctx, who.m1.actor, r.id, { position: 'object', reason: 'Keep the Chatham House Rule.' });
  roundId = r.id;
  browser = await launching;
  page = await (await newReader(browser, DESKTOP)).newPage();
  await signInAs(page, server.baseUrl, { email: 'sara@example.org', name: 'Sara Secretariat' }, PASSWORD);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

test('recording with confirmation; a member who voted herself cannot be overridden', async () => {
  await page.goto(`${server.baseUrl}/rounds/${roundId}`);
  await page.getByLabel('Member').selectOption('noor@example.org');
  await page.locator('form[action$="/record#record-ballot"]').getByLabel('Approve').check();
  await page.getByLabel('Where and how they voted').fill('by show of hands at the meeting of 12 September');
  await page.getByRole('button', { name: 'Check and record…' }).click();
  expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Record a ballot for Noor Member?');
  expect(await page.locator('dl.facts').innerText()).toMatch(/Their ballot now\s+none yet/);
  await expectNoAxeViolations(page);
  await shot(page, 'round-record-confirm');
  await page.getByRole('button', { name: 'Record this ballot' }).click();
  await page.waitForURL((u) => u.pathname === `/rounds/${roundId}`);
  expect(await page.getByRole('status').textContent()).toContain(
    'The ballot of Noor Member is recorded on their behalf: approve',
  );
  expect(await page.locator('table.ballots').innerText()).toContain(
    'Recorded by Sara Secretariat on their behalf: by show of hands at the meeting of 12 September.',
  );
  await expectNoAxeViolations(page);
  await shot(page, 'round-record-done');

  // Mia objected herself: recording "approve" for her is refused, beside the form.
  await page.getByLabel('Member').selectOption('mia@example.org');
  await page.locator('form[action$="/record#record-ballot"]').getByLabel('Approve').check();
  await page.getByLabel('Where and how they voted').fill('in the corridor');
  await page.getByRole('button', { name: 'Check and record…' }).click();
  expect(await page.locator('[role="alert"][data-code="voter_has_voted"]').count()).toBe(1);
  await expectNoAxeViolations(page);
}, 90_000);
