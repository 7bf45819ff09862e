/**
 * Decisions a committee can trust, in Chromium: an unnamed round on a consolidation in which
 * every stakeholder group must take part. A member stands aside through the page on a phone
 * (360 px); another votes there and reads her receipt; the secretariat records a ballot given
 * in a meeting, through the confirmation step; the round is closed and published, and the
 * public version page lists the ballots by receipt: the member's receipt is there beside her
 * position, her name is not. axe (WCAG 2.1 AA) on every page; screenshots in
 * test-output/screenshots/round-decisions-*.png.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { makeUser } from '../helpers/auth.js';
import { testClock } from '../helpers/data.js';
import { after, DAY, publishedText } from '../helpers/people.js';
import { createConsolidation } from '../../server/services/consolidations/consolidations.js';
import { publishConsolidation } from '../../server/services/consolidations/publish.js';
import { createProposal, shareProposal } from '../../server/services/proposals/proposals.js';
import { closeRound, openRound } from '../../server/services/rounds/rounds.js';
import { castBallot } from '../../server/services/rounds/ballots.js';
import {
  DESKTOP,
  expectNoAxeViolations,
  expectNoSidewaysScroll,
  launchBrowser,
  newReader,
  serveApp,
  shot,
  signInAs,
} from './helpers.js';

const SLUG = 'terms-of-reference';
const CHATHAM = 'Closed meetings of the Group are held under the Chatham House Rule. ';
const IN_PERSON = 'Members are required to participate in person in the closed meetings of the Group. ';
const PASSWORD = 'a long enough password for the round';
/** A narrow phone (narrower than PHONE). */
const NARROW = { width: 360, height: 780 };

const PEOPLE = {
  chair: { email: 'cara@example.org', name: 'Cara Chair', roles: ['chair'] as const },
  sec: { email: 'sara@example.org', name: 'Sara Secretariat', roles: ['secretariat'] as const },
  wanda: { email: 'wanda@example.org', name: 'Wanda Drafter', roles: ['member'] as const, stakeholder: 'government' },
  mia: { email: 'mia@example.org', name: 'Mia Member', roles: ['member'] as const, stakeholder: 'government' },
  noor: { email: 'noor@example.org', name: 'Noor Member', roles: ['member'] as const, stakeholder: 'civil-society' },
  olu: { email: 'olu@example.org', name: 'Olu Member', roles: ['member'] as const, stakeholder: 'civil-society' },
};
type Who = keyof typeof PEOPLE;

let server: Awaited<ReturnType<typeof serveApp>>;
let browser: Browser;
let base: string;
let roundId: number;
let consolidationId: number;
const actors = {} as Record<Who, Awaited<ReturnType<typeof makeUser>>['actor']>;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  const clock = testClock('2026-03-01T09:00:00Z');
  const launching = launchBrowser();
  server = await serveApp({ clock });
  const ctx = server.t.ctx;
  for (const [k, p] of Object.entries(PEOPLE) as [Who, (typeof PEOPLE)[Who]][]) {
    actors[k] = (
      await makeUser(ctx, {
        email: p.email,
        name: p.name,
        roles: [...p.roles],
        groups: k === 'wanda' ? ['wg-strategy'] : [],
        password: PASSWORD,
      })
    ).actor;
  }
  // Stakeholder groups, written directly (their admin form is tested elsewhere).
  const at = clock().toISOString();
  const users: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(PEOPLE) as [Who, (typeof PEOPLE)[Who]][]) {
    if ('stakeholder' in p)
      users[actors[k].id] = { ...ctx.meta.get('users', actors[k].id)!, stakeholder: p.stakeholder };
  }
  const stakeholders = {
    government: { slug: 'government', name: 'Government', createdAt: at },
    'civil-society': { slug: 'civil-society', name: 'Civil society', createdAt: at },
  };
  await ctx.meta.write({ actor: null, at: clock(), events: [], puts: { users, stakeholders } as never });

  // Two shared proposals, consolidated; an unnamed majority round in which every group takes part.
  const text = await publishedText(ctx, SLUG);
  const a = await createProposal(ctx, actors.wanda, SLUG, {
    title: 'Drop the Chatham House Rule',
    rationale: 'Open records.',
    text: text.replace(CHATHAM, ''),
  });
  const b = await createProposal(ctx, actors.wanda, SLUG, {
    title: 'Allow remote participation',
    rationale: 'Hybrid meetings.',
    text: text.replace(IN_PERSON, ''),
  });
  await shareProposal(ctx, actors.wanda, a.id);
  await shareProposal(ctx, actors.wanda, b.id);
  const c = await createConsolidation(ctx, actors.chair, SLUG, {
    proposals: [a.id, b.id],
    summary: 'Open and hybrid meetings',
  });
  consolidationId = c.id;
  const r = await openRound(ctx, actors.chair, {
    subject: { type: 'consolidation', id: c.id },
    rule: 'majority',
    quorum: 0.5,
    closesAt: after(clock, 7 * DAY),
    record: 'unnamed',
    conditions: { eachGroupTakesPart: true },
  });
  roundId = r.id;
  base = server.baseUrl;
  browser = await launching;
}, 120_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await server?.close();
});

/** A signed-in page for `who` in its own context (its own cookies). */
async function pageFor(who: Who | null, viewport = DESKTOP, isMobile = false): Promise<Page> {
  const context = await newReader(browser, viewport, { isMobile });
  contexts.push(context);
  const page = await context.newPage();
  if (who) await signInAs(page, base, PEOPLE[who], PASSWORD);
  return page;
}

let miaReceipt = '';

describe('members on a 360 px phone', () => {
  test('Olu stands aside with a reason: the ballot form goes, the recusal is listed', async () => {
    const page = await pageFor('olu', NARROW, true);
    await page.goto(`${base}/rounds/${roundId}`);
    await expectNoSidewaysScroll(page);
    await expectNoAxeViolations(page);
    await shot(page, 'round-decisions-01-member-phone');
    await page.getByText('Stand aside from this round (recuse)…').click();
    await page.getByLabel('Why do you stand aside?').fill('My employer wrote one of the proposals.');
    await page.getByRole('button', { name: 'Stand aside' }).click();
    await page.waitForURL((u) => u.pathname === `/rounds/${roundId}`);
    expect(await page.getByRole('status').textContent()).toContain('You stand aside from this round');
    expect(await page.locator('#your-ballot').innerText()).toContain(
      'You stand aside from this round (“My employer wrote one of the proposals.”)',
    );
    expect(await page.locator('form.ballot-form').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Withdraw my recusal' }).count()).toBe(1);
    expect(await page.locator('ul.recusals').innerText()).toContain(
      'Olu Member stood aside: “My employer wrote one of the proposals.”',
    );
    expect(server.t.ctx.meta.get('rounds', roundId)!.recusals).toEqual([
      expect.objectContaining({ reason: 'My employer wrote one of the proposals.', recordedBy: null }),
    ]);
    await expectNoSidewaysScroll(page);
    await expectNoAxeViolations(page);
    await shot(page, 'round-decisions-02-recused-phone');
  }, 60_000);

  test('Mia votes without asking to be named and reads her receipt', async () => {
    const page = await pageFor('mia', NARROW, true);
    await page.goto(`${base}/rounds/${roundId}`);
    const form = page.locator('form.ballot-form');
    await form.getByLabel('Approve').check();
    await form.locator('#ballot-reason').fill('Open records serve the public.');
    expect(await form.getByLabel('Name me in the public record with my position').isChecked()).toBe(false);
    await form.getByRole('button', { name: 'Cast my ballot' }).click();
    await page.waitForURL((u) => u.pathname === `/rounds/${roundId}`);
    miaReceipt = ((await page.locator('#your-ballot code.receipt').textContent()) ?? '').trim();
    expect(miaReceipt).toMatch(/^\S{6,}$/);
    expect(await page.getByRole('status').textContent()).toContain(`Your receipt is ${miaReceipt}.`);
    // Her row in the ballots table: her receipt, marked as hers.
    const row = page.locator('table.ballots tbody tr', { has: page.locator('code.receipt', { hasText: miaReceipt }) });
    expect(await row.innerText()).toMatch(/\(you\)[\s\S]*approve[\s\S]*Open records serve the public\./);
    await expectNoSidewaysScroll(page);
    await expectNoAxeViolations(page);
    await shot(page, 'round-decisions-03-voted-phone');
  }, 60_000);
});

describe('the secretariat', () => {
  test("records Wanda's ballot given in a meeting, through the confirmation page", async () => {
    // Noor votes (through the service), asking to be named.
    await castBallot(server.t.ctx, actors.noor, roundId, {
      position: 'object',
      reason: 'Recordings will chill debate.',
      named: true,
    });
    const page = await pageFor('sec');
    await page.goto(`${base}/rounds/${roundId}`);
    // The secretariat sees the names of every voter.
    expect(await page.locator('table.ballots').innerText()).toContain('Mia Member');
    await expectNoAxeViolations(page);
    await shot(page, 'round-decisions-04-secretariat');
    const record = page.locator(`form[action="/rounds/${roundId}/record#record-ballot"]`);
    await record.getByLabel('Member').selectOption('wanda@example.org');
    await record.getByLabel('Approve').check();
    await record.getByLabel('Where and how they voted').fill('by show of hands at the meeting of 2 March');
    await record.getByRole('button', { name: 'Check and record…' }).click();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Record a ballot for Wanda Drafter?');
    expect(await page.locator('dl.facts').innerText()).toMatch(
      /Their ballot now\s+none yet[\s\S]*To be recorded\s+approve[\s\S]*How it was given\s+by show of hands at the meeting of 2 March/,
    );
    expect(server.t.ctx.meta.all('ballots').filter((b) => b.recordedBy)).toEqual([]);
    await expectNoAxeViolations(page);
    await shot(page, 'round-decisions-05-confirm');
    await page.getByRole('button', { name: 'Record this ballot' }).click();
    await page.waitForURL((u) => u.pathname === `/rounds/${roundId}`);
    expect(await page.getByRole('status').textContent()).toContain(
      'The ballot of Wanda Drafter is recorded on their behalf: approve',
    );
    expect(await page.locator('table.ballots').innerText()).toContain(
      'Recorded by Sara Secretariat on their behalf: by show of hands at the meeting of 2 March.',
    );
    await expectNoAxeViolations(page);
  }, 60_000);

  test('the round page at 360 px; a recusal recorded without a note is refused beside its form', async () => {
    const page = await pageFor('sec', NARROW, true);
    await page.goto(`${base}/rounds/${roundId}`);
    await expectNoSidewaysScroll(page);
    await expectNoAxeViolations(page);
    await shot(page, 'round-decisions-06-secretariat-phone');
    // A recusal recorded without a note: refused beside its form.
    const form = page.locator(`form[action="/rounds/${roundId}/record-recusal#record-recusal"]`);
    await form.getByLabel('Who stands aside').selectOption('wanda@example.org');
    await form.getByLabel('Why they stand aside').fill('Drafted the proposals.');
    await form.getByLabel('Where and how they said so').fill(' ');
    await form.getByRole('button', { name: 'Record the recusal' }).click();
    await page.waitForLoadState();
    expect(
      await page
        .locator(
          `form[action="/rounds/${roundId}/record-recusal#record-recusal"] [role="alert"][data-code="note_required"]`,
        )
        .count(),
    ).toBe(1);
    expect(server.t.ctx.meta.get('rounds', roundId)!.recusals).toHaveLength(1);
    await expectNoSidewaysScroll(page);
    await expectNoAxeViolations(page);
    await shot(page, 'round-decisions-07-recusal-refused-phone');
  }, 60_000);
});

describe('the public record', () => {
  test("Mia's receipt is in the published record beside her position; her name is not", async () => {
    const ctx = server.t.ctx;
    const closed = await closeRound(ctx, actors.chair, roundId);
    expect(closed.result).toBe('passed');
    const v = await publishConsolidation(ctx, actors.chair, consolidationId, {
      summary: 'Open records and remote participation',
    });
    expect(v.number).toBe(2);
    for (const [viewport, isMobile, name] of [
      [DESKTOP, false, 'round-decisions-08-public-record'],
      [NARROW, true, 'round-decisions-09-public-record-phone'],
    ] as const) {
      const page = await pageFor(null, viewport, isMobile);
      await page.goto(`${base}/documents/${SLUG}/versions/2`);
      const record = page.locator('#decision');
      const row = record.locator('table.ballots tbody tr', {
        has: page.locator('code.receipt', { hasText: miaReceipt }),
      });
      expect(await row.count()).toBe(1);
      const cells = await row.locator('th, td').allInnerTexts();
      expect(cells[0].trim()).toBe(miaReceipt);
      expect(cells[1].trim()).toBe('approve');
      expect(cells[2]).toContain('Open records serve the public.');
      const text = await page.locator('body').innerText();
      expect(text).not.toContain('Mia Member');
      expect(text).not.toContain('Wanda Drafter');
      // Noor asked to be named; recusals are always named; the proxy is marked without a name.
      expect(await record.innerText()).toContain('Noor Member');
      expect(await record.innerText()).toContain('Olu Member stood aside: “My employer wrote one of the proposals.”');
      expect(await record.innerText()).toContain("Recorded on the member's behalf by the secretariat.");
      expect(await record.locator('table.groups tbody tr').allInnerTexts()).toEqual([
        expect.stringMatching(/^Civil society\s+0\s+1\s+0\s+0\s+1$/),
        expect.stringMatching(/^Government\s+2\s+0\s+0\s+0\s+0$/),
      ]);
      await expectNoSidewaysScroll(page);
      await expectNoAxeViolations(page);
      await record.scrollIntoViewIfNeeded();
      await shot(page, name);
    }
  }, 90_000);
});
