/**
 * The whole amendment of the terms of reference through the pages, in Chromium: a working
 * group member drafts and shares two proposals (drop the Chatham House Rule; allow remote
 * participation), the chair consolidates them and opens a round, three members vote — each
 * in their own browser, signed in through the form — the chair closes the round and
 * publishes, and the public history shows version 2 with its decision. Screenshots of every
 * step in test-output/screenshots/, axe (WCAG 2.1 AA) on each page.
 */
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { testClock } from '../helpers/data.js';
import { addUser } from '../../server/services/accounts/users.js';
import { createProposal, shareProposal } from '../../server/services/proposals/proposals.js';
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

const SLUG = 'terms-of-reference';
const TITLE = 'Terms of Reference of the Multistakeholder Advisory Group';
const CHATHAM = 'Closed meetings of the Group are held under the Chatham House Rule. ';
const IN_PERSON = 'Members are required to participate in person in the closed meetings of the Group. ';
const PASSWORD = 'a long enough password';

const PEOPLE = {
  chair: { email: 'cara@example.org', name: 'Cara Chair', roles: ['chair'] },
  amina: { email: 'amina@example.org', name: 'Amina Diallo', roles: ['member'], groups: ['wg-strategy'] },
  bruno: { email: 'bruno@example.org', name: 'Bruno Costa', roles: ['member'] },
  chloe: { email: 'chloe@example.org', name: 'Chloé Martin', roles: ['member'] },
} as const;
type Who = keyof typeof PEOPLE;

let server: Awaited<ReturnType<typeof serveApp>>;
let browser: Browser;
let base: string;
const contexts: BrowserContext[] = [];
const pages = {} as Record<Who | 'reader', Page>;

beforeAll(async () => {
  const clock = testClock('2026-01-15T10:00:00Z');
  const launching = launchBrowser();
  server = await serveApp({ clock });
  base = server.baseUrl;
  for (const p of Object.values(PEOPLE)) {
    await addUser(server.t.ctx, CLI_ACTOR, {
      email: p.email,
      name: p.name,
      roles: [...p.roles],
      groups: 'groups' in p ? [...p.groups] : [],
      password: PASSWORD,
    });
  }
  browser = await launching;
  // One browser context per person: separate cookies, separate sessions.
  for (const who of [...(Object.keys(PEOPLE) as Who[]), 'reader' as const]) {
    const context = await newReader(browser, DESKTOP);
    contexts.push(context);
    pages[who] = await context.newPage();
  }
}, 120_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await server?.close();
});

/** Sign in through the login form. */
async function signIn(who: Who): Promise<void> {
  await signInAs(pages[who], base, PEOPLE[who], PASSWORD);
}

/** Draft a proposal through the pages (starting from the published text) and share it. */
async function propose(page: Page, title: string, remove: string): Promise<void> {
  await page.goto(`${base}/documents/${SLUG}`);
  await page.getByRole('link', { name: 'Propose a change', exact: true }).click();
  await page.waitForURL(`${base}/documents/${SLUG}/proposals/new`);
  await page.getByLabel('Title').fill(title);
  const text = page.locator('textarea#text');
  const published = await text.inputValue();
  expect(published).toContain(remove);
  await text.fill(published.replace(remove, ''));
  await page.getByRole('button', { name: 'Save as draft' }).click();
  await page.waitForURL(/\/proposals\/\d+$/);
  await page.getByRole('button', { name: 'Share with all members' }).click();
  await page.waitForURL(/\/proposals\/\d+$/);
  expect(await page.locator('.versionline .badge').first().textContent()).toBe('shared');
}

describe('the amendment of the terms of reference, through the pages', () => {
  test('everyone signs in through the form, each in their own browser', async () => {
    for (const who of Object.keys(PEOPLE) as Who[]) await signIn(who);
  });

  test('a working group member drafts and shares two proposals', async () => {
    await propose(pages.amina, 'Drop the Chatham House Rule', CHATHAM);
    await propose(pages.amina, 'Allow members to take part remotely', IN_PERSON);
    expect(server.t.ctx.meta.all('proposals').map((p) => p.state)).toEqual(['shared', 'shared']);
  });

  test('the chair consolidates them: the page shows the diff and where each change came from', async () => {
    const page = pages.chair;
    await page.goto(`${base}/documents/${SLUG}`);
    await page.getByRole('link', { name: 'Consolidate shared proposals' }).click();
    await page.waitForURL(`${base}/documents/${SLUG}/consolidate`);
    await expectNoAxeViolations(page);
    await page.getByLabel(/Proposal 1: Drop the Chatham House Rule/).check();
    await page.getByLabel(/Proposal 2: Allow members to take part remotely/).check();
    await page.getByLabel(/^Summary/).fill('Open records and remote participation');
    await page.getByRole('button', { name: 'Make the consolidation' }).click();
    await page.waitForURL(`${base}/consolidations/1`);
    expect(await page.getByRole('status').textContent()).toContain('Consolidation 1 is made');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(`Consolidation 1 of ${TITLE}`);
    expect(await page.locator('.versionline .badge').first().textContent()).toBe('open');
    const dels = (await page.locator('.attributed del').allTextContents()).join(' ');
    expect(dels).toContain('Chatham House Rule');
    expect(dels).toContain('participate in person');
    const sources = await page.locator('.attributed .source').allInnerTexts();
    expect(sources).toHaveLength(2);
    expect(sources.some((s) => s.includes('proposal 1') && s.includes('Drop the Chatham House Rule'))).toBe(true);
    expect(sources.some((s) => s.includes('proposal 2') && s.includes('Allow members to take part remotely'))).toBe(
      true,
    );
    await shot(page, 'amendment-01-consolidation');
    await expectNoAxeViolations(page);
  });

  test('the chair opens a round: majority, quorum 50%, deadline typed in her own time zone', async () => {
    const page = pages.chair;
    await page.getByLabel('Rule', { exact: true }).selectOption('majority');
    await page.getByLabel(/^Quorum/).fill('50');
    // This committee keeps a named record for this round (the site's default is unnamed).
    await page.locator('input[name="record"][value="named"]').check();
    // The field is in the reader's zone (Zurich, UTC+1 in January) and says so; stored in UTC.
    const deadline = page.getByLabel('Deadline (your time, Europe/Zurich)');
    await deadline.fill('2026-01-22T18:00');
    await page.getByRole('button', { name: 'Open the round' }).click();
    await page.waitForURL(`${base}/rounds/1`);
    expect(await page.getByRole('status').textContent()).toContain('Round 1 is open');
    const facts = await page.locator('.round-head .facts').innerText();
    expect(facts).toContain('Simple majority');
    expect(facts).toContain('at least 2 of 3 members must vote');
    expect(facts).toContain('22 Jan 2026, 17:00 UTC');
    // The enhancement script adds the reader's local time (Zurich: UTC+1 in January).
    expect(await page.locator('.facts .localtime').first().textContent()).toContain('18:00');
    expect(await page.locator('.tally-legend').innerText()).toMatch(/Not voted: 3/);
    await shot(page, 'amendment-02-round-before-votes');
    await expectNoAxeViolations(page);
  });

  test('three members vote, each in their own browser; an objection needs a reason', async () => {
    const votes: [Who, string, string][] = [
      ['amina', 'Approve', 'Both changes were asked for by members.'],
      ['bruno', 'Object', 'Meeting in person builds trust.'],
      ['chloe', 'Approve', ''],
    ];
    for (const [who, position, reason] of votes) {
      const page = pages[who];
      await page.goto(`${base}/rounds`);
      const item = page.locator('ul.rounds li', { has: page.getByRole('link', { name: /Round 1/ }) });
      expect(await item.locator('.badge.todo').textContent()).toBe('you have not voted');
      if (who === 'amina') {
        await shot(page, 'amendment-03a-rounds-list');
        await expectNoAxeViolations(page);
      }
      await item.getByRole('link', { name: /Round 1/ }).click();
      await page.waitForURL(`${base}/rounds/1`);
      if (position === 'Object') {
        // Without a reason the form comes back with the refusal beside it.
        await page.getByRole('radio', { name: /^Object/ }).check();
        await page.getByRole('button', { name: 'Cast my ballot' }).click();
        await page.waitForURL(`${base}/rounds/1/ballots#your-ballot`);
        expect((await page.getByRole('alert').textContent())?.trim()).toBe('An objection needs a reason.');
        // The field it is about says so, and is described by the refusal; the refusal has the focus.
        const reason = page.locator('#ballot-reason');
        expect(await reason.getAttribute('aria-invalid')).toBe('true');
        expect(await reason.getAttribute('aria-describedby')).toContain('form-error');
        expect(await page.evaluate(() => document.activeElement?.id)).toBe('form-error');
        expect(await page.getByRole('radio', { name: /^Object/ }).isChecked()).toBe(true);
        await shot(page, 'amendment-03-objection-without-reason');
        await expectNoAxeViolations(page);
      }
      await page.getByRole('radio', { name: new RegExp(`^${position}`) }).check();
      await page.getByLabel(/^Reason/).fill(reason);
      await page.getByRole('button', { name: 'Cast my ballot' }).click();
      await page.waitForURL(`${base}/rounds/1#your-ballot`);
      expect(await page.getByRole('status').textContent()).toContain(
        `Your ballot is recorded: ${position.toLowerCase()}`,
      );
      expect(await page.locator('#your-ballot').innerText()).toContain(
        `Your counted ballot: ${position.toLowerCase()}`,
      );
    }
    expect(server.t.ctx.meta.all('ballots')).toHaveLength(3);
  });

  test('the round after the votes: tally bar, every ballot, nobody left to vote', async () => {
    const page = pages.chair;
    await page.goto(`${base}/rounds/1`);
    expect(await page.locator('.tally-legend').innerText()).toMatch(
      /Approve: 2\s+Object: 1\s+Abstain: 0\s+Not voted: 0/,
    );
    const rows = page.locator('table.ballots tbody tr');
    expect(await rows.count()).toBe(3);
    expect(await rows.nth(1).innerText()).toContain('Meeting in person builds trust.');
    expect(await page.locator('.manage').innerText()).toContain('Everyone in the electorate has voted.');
    await shot(page, 'amendment-04-round-after-votes');
    await expectNoAxeViolations(page);
  });

  test('the chair closes the round (passed) and publishes version 2', async () => {
    const page = pages.chair;
    await page.getByRole('button', { name: 'Close the round and count' }).click();
    await page.waitForURL(`${base}/rounds/1`);
    expect(await page.getByRole('status').textContent()).toBe('The round is closed: passed.');
    expect(await page.locator('.versionline .badge.passed').textContent()).toBe('passed');
    await shot(page, 'amendment-05-round-closed');
    await expectNoAxeViolations(page);
    await page.getByRole('link', { name: 'Consolidation 1', exact: true }).click();
    await page.waitForURL(`${base}/consolidations/1`);
    await page.getByLabel('Summary of the new version').fill('Open records and remote participation');
    await page.getByRole('button', { name: 'Publish version 2' }).click();
    await page.waitForURL(`${base}/consolidations/1`);
    expect(await page.getByRole('status').textContent()).toBe(`Published as version 2 of ${TITLE}.`);
    await shot(page, 'amendment-06-consolidation-published');
    await expectNoAxeViolations(page);
  });

  test('the public history shows version 2 with its decision', async () => {
    const page = pages.reader;
    await page.goto(`${base}/documents/${SLUG}/history`);
    const v2 = page.locator('ol.timeline > li').first();
    expect(await v2.locator('h2').textContent()).toBe('Version 2');
    expect(await v2.locator('.summary').textContent()).toBe('Open records and remote participation');
    const line = await v2.locator('.decision-line').innerText();
    expect(line).toContain('passed');
    expect(line).toContain('Approved in round 1');
    expect(line).toContain('Simple majority');
    expect(line).toContain('quorum 50%');
    expect(await v2.locator('.tally-legend').innerText()).toMatch(/Approve: 2\s+Object: 1\s+Abstain: 0\s+Not voted: 0/);
    expect(await v2.locator('.tally-bar .seg').count()).toBe(2);
    await shot(page, 'amendment-07-history');
    await expectNoAxeViolations(page);
  });

  test('the version page shows the published text and the decision record with every ballot', async () => {
    const page = pages.reader;
    await page.getByRole('link', { name: /Decision record of version 2/ }).click();
    await page.waitForURL(`${base}/documents/${SLUG}/versions/2#decision`);
    const text = await page.locator('article.prose').innerText();
    expect(text).not.toContain('Chatham House Rule');
    expect(text).not.toContain('in person');
    const record = page.locator('#decision');
    expect(await record.getByRole('heading', { level: 2 }).textContent()).toBe('Decision record');
    const ballots = await record.locator('table.ballots tbody tr').allInnerTexts();
    expect(ballots).toHaveLength(3);
    expect(ballots[1]).toMatch(/Bruno Costa\s+object\s+Meeting in person builds trust\./);
    expect(await record.innerText()).not.toContain('@example.org');
    await shot(page, 'amendment-08-version-2-decision');
    await expectNoAxeViolations(page);
    // Printed, the version carries its decision line and no navigation or ballot table.
    await page.emulateMedia({ media: 'print' });
    try {
      expect(await page.locator('.printonly').innerText()).toContain('Approved in round 1');
      expect(await page.locator('#decision').isHidden()).toBe(true);
      expect(await page.locator('header.topbar').isHidden()).toBe(true);
      await shot(page, 'amendment-09-version-2-print');
    } finally {
      await page.emulateMedia({ media: 'screen' });
    }
  });

  test('conflicting proposals: the consolidation shows the conflict, the edit page how to resolve it', async () => {
    const page = pages.chair;
    const ctx = server.t.ctx;
    const u = ctx.meta.all('users').find((x) => x.email === PEOPLE.chair.email)!;
    const actor = { id: u.id, email: u.email, name: u.name, roles: u.roles, groups: u.groups };
    const WS = 'workshop-process';
    const text = await (await page.request.get(`${base}/documents/${WS}/versions/1.md`)).text();
    const backbone = 'Workshops are the backbone of the annual meeting';
    for (const word of ['heart', 'core']) {
      const p = await createProposal(ctx, actor, WS, {
        title: `Workshops are the ${word}`,
        rationale: '',
        text: text.replace(backbone, `Workshops are the ${word} of the annual meeting`),
      });
      await shareProposal(ctx, actor, p.id);
    }
    await page.goto(`${base}/documents/${WS}/consolidate`);
    await page.getByLabel(/Workshops are the heart/).check();
    await page.getByLabel(/Workshops are the core/).check();
    await page.getByRole('button', { name: 'Make the consolidation' }).click();
    await page.waitForURL(/\/consolidations\/\d+$/);
    expect(await page.getByRole('heading', { name: '1 conflict to resolve' }).isVisible()).toBe(true);
    await shot(page, 'amendment-12-consolidation-conflict');
    await expectNoAxeViolations(page);
    await page.getByRole('link', { name: 'Edit to resolve conflict 1' }).click();
    await page.waitForURL(/\/consolidations\/\d+\/edit$/);
    expect(await page.locator('textarea#text').inputValue()).toContain('<<<<<<< ');
    await shot(page, 'amendment-13-consolidation-edit');
    await expectNoAxeViolations(page);
  });

  test('the round and the decision record fit a phone screen', async () => {
    const context = await newReader(browser, PHONE, { isMobile: true });
    contexts.push(context);
    const page = await context.newPage();
    for (const [name, url] of [
      ['amendment-10-phone-version-2', `/documents/${SLUG}/versions/2#decision`],
      ['amendment-11-phone-history', `/documents/${SLUG}/history`],
    ] as const) {
      await page.goto(base + url);
      const { scrollWidth, clientWidth } = await page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        clientWidth: document.documentElement.clientWidth,
      }));
      expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
      await shot(page, name);
      await expectNoAxeViolations(page);
    }
  });
});
