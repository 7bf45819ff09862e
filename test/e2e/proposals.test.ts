/**
 * A proposal through the pages, in Chromium (issue 4): a member of the working group that owns
 * the terms of reference drafts "remove the reference to the Chatham House Rule", previews and
 * saves a revision, reads the diff, and shares it; a plain member — who could not see the
 * draft — comments on a quoted passage; the drafter replies in the thread and resolves it.
 * Then two drafters edit from the same head: the second save is refused with their text kept.
 * Each person has their own browser context, signed in through the form. axe (WCAG 2.1 AA) on
 * every page and tab; screenshots in test-output/screenshots/proposals-*.png.
 */
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Browser, BrowserContext, Locator, Page, Response } from 'playwright-core';
import { testClock } from '../helpers/data.js';
import { addUser } from '../../server/services/accounts/users.js';
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
const DOC_TITLE = 'Terms of Reference of the Multistakeholder Advisory Group';
const CHATHAM = 'Closed meetings of the Group are held under the Chatham House Rule. ';
const QUOTE = 'Participants are free to use the information';
const TITLE = 'Remove the reference to the Chatham House Rule';
const RATIONALE =
  'Members asked for a rule they can explain to their constituencies. The sentence after it already says what matters.';
const PASSWORD = 'a long enough password';

// The edit of revision 2, and the two edits made at once from revision 2.
const REV2 = ['follow a rule on attribution', 'follow a simple rule on attribution'] as const;
const WANDA_EDIT = ['three open consultations', 'two open consultations'] as const;
const WALT_EDIT = ['up to one week before the meeting', 'up to ten days before the meeting'] as const;

const PEOPLE = {
  wanda: { email: 'wanda@example.org', name: 'Wanda Drafter', roles: ['member'], groups: ['wg-strategy'] },
  walt: { email: 'walt@example.org', name: 'Walt Cowriter', roles: ['member'], groups: ['wg-strategy'] },
  mia: { email: 'mia@example.org', name: 'Mia Member', roles: ['member'], groups: [] },
} as const;
type Who = keyof typeof PEOPLE;

const clock = testClock('2026-01-15T10:00:00Z');
let server: Awaited<ReturnType<typeof serveApp>>;
let browser: Browser;
let base: string;
const contexts: BrowserContext[] = [];
const pages = {} as Record<Who, Page>;
let proposalUrl: string;

beforeAll(async () => {
  const launching = launchBrowser();
  server = await serveApp({ clock });
  base = server.baseUrl;
  for (const p of Object.values(PEOPLE)) {
    await addUser(server.t.ctx, CLI_ACTOR, {
      email: p.email,
      name: p.name,
      roles: [...p.roles],
      groups: [...p.groups],
      password: PASSWORD,
    });
  }
  browser = await launching;
  for (const who of Object.keys(PEOPLE) as Who[]) {
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

/** Replace a passage that must be in the text exactly once. */
function replaceOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`passage not found exactly once: ${from}`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/**
 * Click a form's button and wait until the page it leads to has loaded (also when that page
 * has the same address, as a re-rendered form does). Returns the response to the POST itself.
 */
async function submit(page: Page, button: Locator): Promise<Response> {
  const posted = page.waitForResponse(
    (r) => r.request().method() === 'POST' && r.request().frame() === page.mainFrame(),
  );
  const navigated = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame() });
  await button.click();
  const res = await posted;
  await navigated;
  await page.waitForLoadState('load');
  return res;
}

/** Sign in through the login form. */
async function signIn(who: Who): Promise<void> {
  await signInAs(pages[who], base, PEOPLE[who], PASSWORD);
}

const tabs = (page: Page) => page.getByRole('navigation', { name: 'Proposal views' });
const badge = (page: Page) => page.locator('.proposal-head .versionline .badge');
const textArea = (page: Page) => page.getByLabel(/^The whole text as you propose it/);
const threadOn = (page: Page) => page.locator('.prow .thread', { hasText: QUOTE });

/** Nothing sticks out sideways: the page scrolls only vertically. */
async function expectNoSidewaysScroll(page: Page): Promise<void> {
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
  expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
}

describe('draft → revise → share → comment → reply → resolve, through the pages', () => {
  test('the drafter, a co-drafter and a plain member sign in, each in their own browser', async () => {
    for (const who of Object.keys(PEOPLE) as Who[]) await signIn(who);
  });

  test('the drafter opens the document and "Propose a change": the form holds the published text', async () => {
    const page = pages.wanda;
    await page.goto(`${base}/documents/${SLUG}`);
    expect(await page.locator('.doc-proposals-line').innerText()).toContain('No open proposals');
    await shot(page, 'proposals-01-document');
    await page.getByRole('link', { name: 'Propose a change', exact: true }).click();
    await page.waitForURL(`${base}/documents/${SLUG}/proposals/new`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Propose a change');
    expect(await page.locator('.lead').innerText()).toContain('starting from version 1');
    expect(await textArea(page).inputValue()).toContain(CHATHAM);
    await shot(page, 'proposals-02-new');
    await expectNoAxeViolations(page);
  });

  test('removes the sentence, gives a title and reasons, and saves a draft', async () => {
    const page = pages.wanda;
    await page.getByLabel('Title', { exact: true }).fill(TITLE);
    await page.getByLabel(/^Why/).fill(RATIONALE);
    const text = await textArea(page).inputValue();
    await textArea(page).fill(replaceOnce(text, CHATHAM, ''));
    await submit(page, page.getByRole('button', { name: 'Save as draft' }));
    expect(page.url()).toMatch(/\/proposals\/\d+$/);
    proposalUrl = page.url();
    expect(await page.getByRole('status').textContent()).toContain('Your proposal was saved as a draft.');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(TITLE);
    expect(await badge(page).textContent()).toBe('draft');
    expect(await page.locator('.proposal-head .versionline').innerText()).toBe(
      `draft A change to ${DOC_TITLE}, by Wanda Drafter.`,
    );
    expect(await page.locator('.proposal-head').innerText()).toContain(
      'A draft: only Working Group on Strategy, the chair and the secretariat can see it.',
    );
    expect(await page.locator('.rationale').innerText()).toContain('Members asked for a rule');
    expect(await tabs(page).getByRole('link', { name: 'Text' }).getAttribute('aria-current')).toBe('page');
    const proposed = await page.locator('section.ptext').innerText();
    expect(proposed).not.toContain('Chatham House Rule');
    expect(proposed).toContain(QUOTE);
    await shot(page, 'proposals-03-draft-text');
    await expectNoAxeViolations(page);
  });

  test('a member outside the group cannot see the draft: not listed, and its page is "Not found"', async () => {
    const page = pages.mia;
    await page.goto(`${base}/documents/${SLUG}`);
    expect(await page.locator('main').innerText()).not.toContain(TITLE);
    expect(await page.getByRole('link', { name: 'Propose a change', exact: true }).count()).toBe(0);
    const res = await page.goto(proposalUrl);
    expect(res?.status()).toBe(404);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Not found');
    expect(await page.locator('main').innerText()).not.toContain(TITLE);
    await shot(page, 'proposals-04-member-before-sharing-404');
    await expectNoAxeViolations(page);
  });

  test('the Changes tab shows the sentence struck out', async () => {
    const page = pages.wanda;
    await tabs(page).getByRole('link', { name: 'Changes' }).click();
    await page.waitForURL(`${proposalUrl}?tab=changes`);
    expect(await tabs(page).getByRole('link', { name: 'Changes' }).getAttribute('aria-current')).toBe('page');
    expect(await page.locator('.legend').innerText()).toContain('0 insertions, 1 deletion');
    const dels = await page.locator('.diff del').allTextContents();
    expect(dels).toHaveLength(1);
    expect(dels[0]).toContain('Chatham House Rule');
    expect(await page.locator('.diff ins').count()).toBe(0);
    await shot(page, 'proposals-05-changes');
    await expectNoAxeViolations(page);
  });

  test('Edit: the form holds revision 1', async () => {
    const page = pages.wanda;
    clock.advance(20 * 60_000);
    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    await page.waitForURL(`${proposalUrl}/edit`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Edit proposal');
    expect(await page.getByLabel('Title', { exact: true }).inputValue()).toBe(TITLE);
    expect(await textArea(page).inputValue()).not.toContain('Chatham House Rule');
    await shot(page, 'proposals-06-edit');
    await expectNoAxeViolations(page);
  });

  test('Preview shows what the edit changes and saves nothing', async () => {
    const page = pages.wanda;
    const text = await textArea(page).inputValue();
    await textArea(page).fill(replaceOnce(text, REV2[0], REV2[1]));
    const res = await submit(page, page.getByRole('button', { name: 'Preview' }));
    expect(res.status()).toBe(200);
    expect(await page.getByRole('status').textContent()).toBe('This is a preview. Nothing has been saved yet.');
    const preview = page.getByRole('region', { name: 'Preview' });
    expect(await preview.locator('.legend').innerText()).toContain('1 insertion, 0 deletions');
    expect((await preview.locator('.diff ins').allTextContents()).join('')).toContain('simple');
    // What was typed is still in the form, and nothing was saved.
    expect(await textArea(page).inputValue()).toContain(REV2[1]);
    expect(server.t.ctx.meta.all('proposals')[0].revisions).toBe(1);
    await shot(page, 'proposals-07-edit-preview');
    await expectNoAxeViolations(page);
  });

  test('"Save revision 2" saves and shows what it changed', async () => {
    const page = pages.wanda;
    await submit(page, page.getByRole('button', { name: 'Save revision 2' }));
    expect(page.url()).toBe(`${proposalUrl}?tab=changes&from=1&to=2`);
    expect(await page.getByRole('status').textContent()).toBe(
      'Revision 2 is saved. Below is what it changed in revision 1.',
    );
    expect(await page.locator('.proposal-head .meta').first().innerText()).toContain('Revision 2');
    expect((await page.locator('.diff ins').allTextContents()).join('')).toContain('simple');
    expect(await page.locator('.diff del').count()).toBe(0);
    await shot(page, 'proposals-08-revision-2-saved');
    await expectNoAxeViolations(page);
  });

  test('against the published text, the diff has both: the sentence struck out and the word inserted', async () => {
    const page = pages.wanda;
    await tabs(page).getByRole('link', { name: 'Changes' }).click();
    await page.waitForURL(`${proposalUrl}?tab=changes`);
    const del = page.locator('.diff del', { hasText: 'Chatham House Rule' });
    expect(await del.count()).toBe(1);
    expect(await del.textContent()).toContain(CHATHAM.trim());
    expect((await page.locator('.diff ins').allTextContents()).join('')).toContain('simple');
    await shot(page, 'proposals-09-changes-against-published');
  });

  test('the Revisions tab lists both revisions by their author', async () => {
    const page = pages.wanda;
    await tabs(page)
      .getByRole('link', { name: /^Revisions/ })
      .click();
    await page.waitForURL(`${proposalUrl}?tab=revisions`);
    const items = page.locator('ol.revisions > li');
    expect(await items.count()).toBe(2);
    expect(await items.nth(0).innerText()).toMatch(/Revision 2\s+current\s+·\s+Wanda Drafter/);
    expect(await items.nth(0).getByRole('link', { name: 'Compare with revision 1' }).getAttribute('href')).toMatch(
      /\?tab=changes&from=1&to=2$/,
    );
    await shot(page, 'proposals-10-revisions');
    await expectNoAxeViolations(page);
  });

  test('My drafts lists it under the drafts of the working group', async () => {
    const page = pages.wanda;
    await page.locator('.topbar').getByRole('link', { name: 'My drafts' }).click();
    await page.waitForURL(`${base}/drafts`);
    expect(
      await page
        .getByRole('region', { name: 'Drafts of my working groups' })
        .getByRole('link', { name: TITLE })
        .count(),
    ).toBe(1);
    expect(await page.getByRole('region', { name: 'My proposals' }).getByRole('link', { name: TITLE }).count()).toBe(1);
    await shot(page, 'proposals-11-drafts');
    await expectNoAxeViolations(page);
  });

  test('the drafter shares it with all members', async () => {
    const page = pages.wanda;
    await page.goto(proposalUrl);
    await submit(page, page.getByRole('button', { name: 'Share with all members' }));
    expect(page.url()).toBe(proposalUrl);
    expect(await page.getByRole('status').textContent()).toBe('The proposal is now shared with all members.');
    expect(await badge(page).textContent()).toBe('shared');
    expect(await page.getByRole('button', { name: 'Share with all members' }).count()).toBe(0);
    await shot(page, 'proposals-12-shared');
    await expectNoAxeViolations(page);
  });

  test('the plain member now finds it on the document and comments on a quoted passage', async () => {
    const page = pages.mia;
    clock.advance(2 * 3_600_000);
    await page.goto(`${base}/documents/${SLUG}`);
    await page.locator('.doc-proposals').getByRole('link', { name: TITLE }).click();
    await page.waitForURL(proposalUrl);
    expect(await badge(page).textContent()).toBe('shared');
    // Not of the group: no edit, share or resolve.
    expect(await page.getByRole('link', { name: 'Edit', exact: true }).count()).toBe(0);
    await page.getByLabel(/^Comment/).fill('Does this still let us **report** what was said, without names?');
    await page.getByLabel(/^Quote a passage/).fill(QUOTE);
    await submit(page, page.getByRole('button', { name: 'Post comment' }));
    expect(page.url()).toMatch(new RegExp(`^${proposalUrl}#comment-\\d+$`));
    expect(await page.getByRole('status').textContent()).toBe('Your comment was added.');
    // Beside the paragraph it quotes, with the passage, the author and the markdown rendered.
    const thread = threadOn(page);
    expect(await thread.count()).toBe(1);
    const row = page.locator('.prow.has-threads');
    expect(await row.count()).toBe(1);
    expect(await row.locator('.pblock').innerText()).toContain(QUOTE);
    expect(await thread.locator('blockquote').textContent()).toBe(QUOTE);
    expect(await thread.locator('.comment .who').allTextContents()).toEqual(['Mia Member']);
    expect(await thread.locator('.comment-body strong').textContent()).toBe('report');
    // Mia started the thread: she may resolve it (a thread's starter may, issue 15).
    expect(await page.getByRole('button', { name: /^Resolve/ }).count()).toBe(1);
    expect(await tabs(page).getByRole('link', { name: /^Text/ }).innerText()).toContain('(1 comment)');
    await shot(page, 'proposals-13-comment');
    await expectNoAxeViolations(page);
  });

  test('the drafter finds the comment waiting for a reply in My drafts', async () => {
    const page = pages.wanda;
    await page.goto(`${base}/drafts`);
    const waiting = page.getByRole('region', { name: /^Waiting for your reply/ });
    const link = waiting.getByRole('link', { name: `Mia Member on “${TITLE}”` });
    expect(await link.count()).toBe(1);
    expect(await waiting.locator('.quote-line').textContent()).toContain(QUOTE);
    // Shared now: no longer among the group's drafts.
    expect(
      await page
        .getByRole('region', { name: 'Drafts of my working groups' })
        .getByRole('link', { name: TITLE })
        .count(),
    ).toBe(0);
    await shot(page, 'proposals-14-drafts-awaiting');
    await expectNoAxeViolations(page);
    await link.click();
    await page.waitForURL(new RegExp(`^${proposalUrl}#thread-\\d+$`));
  });

  test('the drafter replies in the thread', async () => {
    const page = pages.wanda;
    clock.advance(30 * 60_000);
    const thread = threadOn(page);
    await thread.locator('details.reply > summary').click();
    await thread.getByLabel(/^Your reply/).fill('Yes: the next sentence keeps reporting allowed; only names stay out.');
    await submit(page, thread.getByRole('button', { name: 'Post reply' }));
    expect(page.url()).toMatch(new RegExp(`^${proposalUrl}#comment-\\d+$`));
    expect(await page.getByRole('status').textContent()).toBe('Your reply was added.');
    expect(await threadOn(page).locator('.comment .who').allTextContents()).toEqual(['Mia Member', 'Wanda Drafter']);
    await shot(page, 'proposals-15-reply');
    await expectNoAxeViolations(page);
  });

  test('at phone width the text tab with the thread fits the screen', async () => {
    const context = await newReader(browser, PHONE, { isMobile: true });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${base}/login`);
    await page.getByLabel('E-mail').fill(PEOPLE.mia.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/`);
    await page.goto(proposalUrl);
    expect(await threadOn(page).locator('.comment').count()).toBe(2);
    await expectNoSidewaysScroll(page);
    const box = (await threadOn(page).boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width);
    await shot(page, 'proposals-phone-01-text-with-comments');
    await expectNoAxeViolations(page);
  });

  test('the drafter resolves the thread: it is shown resolved and collapsed', async () => {
    const page = pages.wanda;
    await submit(page, threadOn(page).getByRole('button', { name: /^Resolve/ }));
    expect(page.url()).toMatch(new RegExp(`^${proposalUrl}#thread-\\d+$`));
    expect(await page.getByRole('status').textContent()).toBe('The thread is resolved.');
    const thread = threadOn(page);
    expect(await thread.getAttribute('class')).toContain('is-resolved');
    const details = thread.locator('details.resolved');
    expect(await details.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false);
    expect(await details.locator(':scope > summary').innerText()).toBe(
      'Resolved by Wanda Drafter · 2 comments from Mia Member and Wanda Drafter',
    );
    expect(await thread.locator('.comment').first().isHidden()).toBe(true);
    await shot(page, 'proposals-16-resolved');
    await expectNoAxeViolations(page);
  });

  test('the member sees it resolved too, and can unfold it to read', async () => {
    const page = pages.mia;
    await page.goto(proposalUrl);
    const thread = threadOn(page);
    expect(await thread.getAttribute('class')).toContain('is-resolved');
    expect(await thread.locator('.comment').first().isHidden()).toBe(true);
    expect(await page.getByRole('button', { name: /^Reopen/ }).count()).toBe(0);
    await thread.locator('details.resolved > summary').click();
    expect(await thread.locator('.comment').nth(1).isVisible()).toBe(true);
    expect(await thread.locator('.comment').nth(1).innerText()).toContain('only names stay out');
    await shot(page, 'proposals-17-resolved-unfolded');
    await expectNoAxeViolations(page);
  });
});

describe('two people edit from the same revision', () => {
  test('both open the edit form on revision 2', async () => {
    for (const who of ['wanda', 'walt'] as const) {
      await pages[who].goto(`${proposalUrl}/edit`);
      expect(await pages[who].getByRole('button', { name: 'Save revision 3' }).isVisible()).toBe(true);
    }
  });

  test('the first save lands as revision 3', async () => {
    const page = pages.wanda;
    clock.advance(5 * 60_000);
    await textArea(page).fill(replaceOnce(await textArea(page).inputValue(), WANDA_EDIT[0], WANDA_EDIT[1]));
    const res = await submit(page, page.getByRole('button', { name: 'Save revision 3' }));
    expect(res.status()).toBe(303);
    expect(page.url()).toBe(`${proposalUrl}?tab=changes&from=2&to=3`);
  });

  test('the second save is refused: a clear notice, their change shown, my text kept', async () => {
    const page = pages.walt;
    clock.advance(60_000);
    const mine = replaceOnce(await textArea(page).inputValue(), WALT_EDIT[0], WALT_EDIT[1]);
    await textArea(page).fill(mine);
    const res = await submit(page, page.getByRole('button', { name: 'Save revision 3' }));
    expect(res.status()).toBe(409);
    expect(page.url()).toBe(`${proposalUrl}/edit`);
    const alert = page.getByRole('alert');
    expect(await alert.locator('strong').textContent()).toBe('Someone saved a newer revision while you were editing.');
    expect(await alert.innerText()).toContain('Nothing of yours was saved.');
    expect(await alert.innerText()).toContain('Wanda Drafter saved revision 3');
    const theirs = page.getByRole('region', { name: /^Their change/ });
    expect(await theirs.getByRole('heading').textContent()).toBe('Their change: revision 2 → 3');
    expect((await theirs.locator('.diff del').allTextContents()).join('')).toContain('three');
    expect((await theirs.locator('.diff ins').allTextContents()).join('')).toContain('two');
    // My text is still in the form, exactly as I typed it; nothing was written.
    expect((await textArea(page).inputValue()).replace(/\r\n/g, '\n')).toBe(mine);
    expect(server.t.ctx.meta.all('proposals')[0].revisions).toBe(3);
    await shot(page, 'proposals-18-stale-edit');
    await expectNoAxeViolations(page);
  });

  test('working their change in and saving again makes revision 4 with both', async () => {
    const page = pages.walt;
    await textArea(page).fill(replaceOnce(await textArea(page).inputValue(), WANDA_EDIT[0], WANDA_EDIT[1]));
    const res = await submit(page, page.getByRole('button', { name: 'Save revision 4' }));
    expect(res.status()).toBe(303);
    expect(page.url()).toBe(`${proposalUrl}?tab=changes&from=3&to=4`);
    await tabs(page).getByRole('link', { name: 'Text' }).click();
    await page.waitForURL(`${proposalUrl}?tab=text`);
    const text = await page.locator('section.ptext').innerText();
    expect(text).toContain(WANDA_EDIT[1]);
    expect(text).toContain(WALT_EDIT[1]);
    expect(text).not.toContain('Chatham House Rule');
    // The resolved thread's passage did not change: it stays beside its paragraph.
    expect(await threadOn(page).count()).toBe(1);
    await tabs(page)
      .getByRole('link', { name: /^Revisions/ })
      .click();
    await page.waitForURL(`${proposalUrl}?tab=revisions`);
    expect(await page.locator('ol.revisions > li').allInnerTexts()).toEqual([
      expect.stringMatching(/^Revision 4\s+current\s+·\s+Walt Cowriter/),
      expect.stringMatching(/^Revision 3\s+·\s+Wanda Drafter/),
      expect.stringMatching(/^Revision 2\s+·\s+Wanda Drafter/),
      expect.stringMatching(/^Revision 1\s+·\s+Wanda Drafter/),
    ]);
  });
});
