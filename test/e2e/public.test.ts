/**
 * The public pages walked as a reader would, in a real browser: documents → document →
 * history → compare (inline, then side by side through the form) → raw text; the same pages
 * at phone width; print media; axe (WCAG 2.1 AA) on every page; screenshots of every page in
 * test-output/screenshots/ for people to look at.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { projectRoot, testClock } from '../helpers/data.js';
import { publishVersion } from '../../server/services/publishVersion.js';
import { addDocument } from '../../server/services/addDocument.js';
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { DESKTOP, PHONE, expectNoAxeViolations, launchBrowser, newReader, serveApp, shot } from './helpers.js';

const SLUG = 'terms-of-reference';
const TITLE = 'Terms of Reference of the Multistakeholder Advisory Group';
const CHATHAM = 'Closed meetings of the Group are held under the Chatham House Rule. ';
const IN_PERSON = 'Members are required to participate in person in the closed meetings of the Group. ';
/** An imported text as EIPs are written: front matter, no "#" heading, "##" and "####", a relative image. */
const WRITTEN = [
  '---\neip: 7\ntitle: Written as it is\nstatus: Living\n---',
  '## Intro',
  'First paragraph with ![the process diagram](../assets/eip-7/process.png) and [EIP-5](./eip-5.md).',
  '## Rules',
  'Second paragraph.',
  '#### Detail',
  '- one\n- two',
  '## Close',
  'Last paragraph.',
  '',
].join('\n\n');

let server: Awaited<ReturnType<typeof serveApp>>;
let browser: Browser;
let base: string;

/** Remove one sentence that must be in the text exactly once. */
function without(text: string, sentence: string): string {
  const at = text.indexOf(sentence);
  if (at < 0 || text.indexOf(sentence, at + 1) >= 0) throw new Error(`sentence not found exactly once: ${sentence}`);
  return text.slice(0, at) + text.slice(at + sentence.length);
}

beforeAll(async () => {
  const clock = testClock('2026-01-15T10:00:00Z');
  // Start the browser while the data folder is seeded: both take a moment.
  const launching = launchBrowser();
  server = await serveApp({ clock });
  base = server.baseUrl;
  const v1 = await fsp.readFile(path.join(projectRoot, 'documents', `${SLUG}.md`), 'utf8');
  const v2 = without(v1, CHATHAM);
  const v3 = without(v2, IN_PERSON);
  const doc = server.t.ctx.meta.get('documents', SLUG)!;
  expect(doc.latest).toBe(1);
  await publishVersion(server.t.ctx, {
    slug: SLUG,
    title: doc.title,
    group: doc.group,
    text: v2,
    summary: 'Drop the Chatham House Rule from closed meetings',
    author: { name: 'Amina Diallo', email: 'amina@example.org', at: new Date('2026-03-02T14:30:00Z') },
  });
  await publishVersion(server.t.ctx, {
    slug: SLUG,
    title: doc.title,
    group: doc.group,
    text: v3,
    summary: 'Allow members to take part in closed meetings remotely',
    author: { name: 'Jonas Berg', email: 'jonas@example.org', at: new Date('2026-05-20T09:15:00Z') },
  });
  for (const [slug, title, text] of [
    ['written', 'Written Rules', WRITTEN],
    ['written', 'Written Rules', WRITTEN.replace('Last paragraph.', 'Last paragraph, changed.')],
    ['plain', 'Plain Rules', 'Only text, no heading at all.\n\nA second paragraph.\n'],
  ]) {
    if (server.t.ctx.meta.get('documents', slug))
      await publishVersion(server.t.ctx, {
        slug,
        title,
        group: doc.group,
        text,
        summary: 'Two',
        author: { name: 'Bob', email: 'bob@example.org', at: new Date('2026-06-01T10:00:00Z') },
      });
    else await addDocument(server.t.ctx, CLI_ACTOR, { slug, title, group: doc.group, text, summary: 'One' });
  }
  browser = await launching;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Go to a page, expect the status, and check axe finds nothing. */
async function visit(page: Page, url: string, status = 200): Promise<void> {
  const res = await page.goto(base + url);
  expect(res?.status()).toBe(status);
  await page.waitForLoadState('load');
}

describe('a reader on a desktop (1280×900)', () => {
  let context: BrowserContext;
  let page: Page;
  beforeAll(async () => {
    context = await newReader(browser, DESKTOP);
    page = await context.newPage();
  });
  afterAll(async () => {
    await context?.close();
  });

  test('the documents page lists the documents and links to the text', async () => {
    await visit(page, '/');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Documents');
    const item = page.locator('.doclist li', { has: page.getByRole('link', { name: TITLE }) });
    expect(await item.locator('.badge').textContent()).toBe('version 3');
    expect(await item.locator('.changed-last').textContent()).toContain(
      'Allow members to take part in closed meetings remotely',
    );
    await shot(page, 'desktop-01-documents');
    await expectNoAxeViolations(page);
  });

  test('clicking the title opens the current text', async () => {
    await page.getByRole('link', { name: TITLE }).click();
    await page.waitForURL(`${base}/documents/${SLUG}`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(TITLE);
    const text = await page.locator('article.prose').innerText();
    expect(text).toContain('The Group seeks to take all its decisions by consensus.');
    expect(text).not.toContain('Chatham House Rule');
    expect(text).not.toContain('participate in person');
    expect(await page.locator('.versionline').innerText()).toMatch(/version 3\s+current/);
    // The enhancement script adds the reader's local time (Zurich: UTC+2 in May).
    expect(await page.locator('.versionline .localtime').textContent()).toContain('11:15');
    await shot(page, 'desktop-02-document');
    await expectNoAxeViolations(page);
  });

  test('History shows three versions, newest first, with compare links', async () => {
    await page.getByRole('link', { name: 'History', exact: true }).click();
    await page.waitForURL(`${base}/documents/${SLUG}/history`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(`History of ${TITLE}`);
    const items = page.locator('ol.timeline > li');
    expect(await items.count()).toBe(3);
    expect(await items.locator('h2').allTextContents()).toEqual(['Version 3', 'Version 2', 'Version 1']);
    expect(await items.nth(0).locator('.summary').textContent()).toBe(
      'Allow members to take part in closed meetings remotely',
    );
    expect(await items.nth(0).locator('.meta').innerText()).toContain('Jonas Berg');
    expect(await page.getByRole('link', { name: /^Compare with version/ }).allTextContents()).toEqual([
      'Compare with version 2',
      'Compare with version 1',
    ]);
    await shot(page, 'desktop-03-history');
    await expectNoAxeViolations(page);
  });

  test('an older version says it is not the current one', async () => {
    await page.getByRole('link', { name: 'Version 2', exact: true }).click();
    await page.waitForURL(`${base}/documents/${SLUG}/versions/2`);
    expect(await page.locator('.versionline .badge.old').textContent()).toBe('not the current version');
    const text = await page.locator('article.prose').innerText();
    expect(text).not.toContain('Chatham House Rule');
    expect(text).toContain(IN_PERSON.trim());
    await shot(page, 'desktop-04-version-2');
    await expectNoAxeViolations(page);
    await page.goBack();
    await page.waitForURL(`${base}/documents/${SLUG}/history`);
  });

  test('"Compare with version 2" shows the change from 2 to 3 inline', async () => {
    await page.getByRole('link', { name: 'Compare with version 2' }).click();
    await page.waitForURL(`${base}/documents/${SLUG}/compare?from=2&to=3`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Compare versions');
    expect(await page.getByLabel('From').inputValue()).toBe('2');
    expect(await page.getByLabel('To').inputValue()).toBe('3');
    expect(await page.getByRole('radio', { name: 'formatted', exact: true }).isChecked()).toBe(true);
    const diff = page.locator('.diff.rendered');
    expect(await diff.locator('del').count()).toBeGreaterThan(0);
    const deleted = (await diff.locator('del').allTextContents()).join('');
    expect(deleted).toContain('Members are required to participate in person in the closed meetings of the Group.');
    expect(deleted).not.toContain('Chatham');
    // Unchanged paragraphs are folded, and unfold on a click.
    const folded = diff.locator('details.unchanged').first();
    expect(await folded.locator('summary').textContent()).toMatch(/^show \d+ unchanged paragraphs? in § .+$/);
    await shot(page, 'desktop-05-compare-inline');
    await expectNoAxeViolations(page);
    // The source view is one link away, and back.
    await page.getByRole('link', { name: 'source', exact: true }).click();
    await page.waitForURL(`${base}/documents/${SLUG}/compare?from=2&to=3&view=source`);
    expect(await page.locator('.diff.inline del').count()).toBeGreaterThan(0);
    await expectNoAxeViolations(page);
    await page.getByRole('link', { name: 'formatted', exact: true }).click();
    await page.waitForURL(`${base}/documents/${SLUG}/compare?from=2&to=3`);
  });

  test('comparing 1 to 3 shows both deletions, each in a del', async () => {
    await page.getByLabel('From').selectOption('1');
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.waitForURL(/compare\?from=1&to=3&view=inline$/);
    const dels = await page.locator('.diff del').allTextContents();
    expect(dels.some((d) => d.includes('Closed meetings of the Group are held under the Chatham House Rule.'))).toBe(
      true,
    );
    expect(dels.some((d) => d.includes('Members are required to participate in person'))).toBe(true);
    // A real edit has inserted words too: check ins renders on a pair that has some.
    await page.goto(`${base}/documents/${SLUG}/compare?from=3&to=1`);
    const ins = await page.locator('.diff ins').allTextContents();
    expect(ins.join('')).toContain('Chatham House Rule');
    expect(await page.locator('.diff del').count()).toBe(0);
  });

  test('side by side through the form: version 2 on the left, 3 on the right', async () => {
    await page.goto(`${base}/documents/${SLUG}/compare?from=2&to=3`);
    await page.getByLabel('From').selectOption('2');
    await page.getByLabel('To').selectOption('3');
    await page.getByRole('radio', { name: 'source, side by side' }).check();
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.waitForURL(`${base}/documents/${SLUG}/compare?from=2&to=3&view=side`);
    expect(await page.getByRole('radio', { name: 'source, side by side' }).isChecked()).toBe(true);
    const table = page.getByRole('table', { name: 'Version 2 and version 3 side by side' });
    expect(await table.getByRole('columnheader').allTextContents()).toEqual(['Version 2', 'Version 3']);
    const changed = table.locator('.row.changed');
    expect(await changed.count()).toBeGreaterThan(0);
    const left = changed.first().locator('[role=cell]').nth(0);
    const right = changed.first().locator('[role=cell]').nth(1);
    expect(await left.locator('del').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining('participate in person')]),
    );
    expect(await right.innerText()).not.toContain('participate in person');
    // Left and right sit beside each other at this width.
    const lb = (await left.boundingBox())!;
    const rb = (await right.boundingBox())!;
    expect(rb.x).toBeGreaterThan(lb.x + lb.width - 2);
    expect(Math.abs(rb.y - lb.y)).toBeLessThan(2);
    await shot(page, 'desktop-06-compare-side');
    await expectNoAxeViolations(page);
  });

  test('the raw markdown link gives the plain text of the version', async () => {
    await page.goto(`${base}/documents/${SLUG}`);
    const link = page.getByRole('link', { name: 'Raw markdown' });
    expect(await link.getAttribute('href')).toBe(`/documents/${SLUG}/versions/3.md`);
    const res = await page.request.get(base + (await link.getAttribute('href'))!);
    expect(res.status()).toBe(200);
    expect(res.headers()['content-type']).toMatch(/^text\/markdown; charset=utf-8/);
    const body = await res.text();
    expect(body.startsWith('# Terms of Reference of the Multistakeholder Advisory Group\n')).toBe(true);
    expect(body).not.toContain('Chatham House Rule');
    expect(body).not.toContain('participate in person');
    // And a click in the browser shows that same text.
    await link.click();
    await page.waitForURL(`${base}/documents/${SLUG}/versions/3.md`);
    expect((await page.locator('body').innerText()).trim()).toBe(body.trim());
  });

  test('print media hides the navigation and shows the version line', async () => {
    await page.goto(`${base}/documents/${SLUG}`);
    await page.emulateMedia({ media: 'print' });
    try {
      expect(await page.locator('header.topbar').isHidden()).toBe(true);
      expect(await page.locator('footer.footer').isHidden()).toBe(true);
      expect(await page.locator('.actions').isHidden()).toBe(true);
      expect(await page.locator('.crumbs').isHidden()).toBe(true);
      const printLine = page.locator('.printonly');
      expect(await printLine.isVisible()).toBe(true);
      expect(await printLine.innerText()).toContain(`Version 3 of ${TITLE}`);
      await shot(page, 'desktop-07-document-print');
    } finally {
      await page.emulateMedia({ media: 'screen' });
    }
    expect(await page.locator('header.topbar').isVisible()).toBe(true);
    expect(await page.locator('.printonly').isHidden()).toBe(true);
  });

  test('a page that does not exist says so in plain words', async () => {
    await visit(page, '/documents/no-such-document', 404);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Not found');
    expect(await page.locator('main').innerText()).not.toMatch(/at .*\.ts:\d+/);
    await page.getByRole('link', { name: 'Go to the documents' }).isVisible();
    await shot(page, 'desktop-08-not-found');
    await expectNoAxeViolations(page);
  });

  test('axe does report a problem when there is one', async () => {
    await page.goto(`${base}/`);
    await page.evaluate(() => {
      const img = document.createElement('img');
      img.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';
      document.querySelector('main')!.append(img);
    });
    await expect(expectNoAxeViolations(page)).rejects.toThrow(/image-alt/);
  });

  test('an imported text reads as written: one h1, front matter table, contents, numbered paragraphs', async () => {
    await visit(page, '/documents/written/versions/1');
    expect(await page.getByRole('heading', { level: 1 }).allTextContents()).toEqual(['Written Rules']);
    expect(await page.locator('table.frontmatter th').allTextContents()).toEqual(['eip', 'title', 'status']);
    expect(await page.locator('img').count()).toBe(0);
    const contents = page.getByRole('navigation', { name: 'Contents' });
    await contents.getByRole('link', { name: 'Close' }).click();
    expect(page.url()).toBe(`${base}/documents/written/versions/1#close`);
    await page.getByRole('link', { name: 'Paragraph 2', exact: true }).click();
    expect(page.url()).toBe(`${base}/documents/written/versions/1#p-2`);
    await shot(page, 'desktop-09-written');
    await expectNoAxeViolations(page);
    for (const url of ['/documents/plain', '/documents/written/compare?from=1&to=2']) {
      await visit(page, url);
      expect(await page.getByRole('heading', { level: 1 }).count()).toBe(1);
      await expectNoAxeViolations(page);
    }
  });

  test('the keyboard reaches the skip link first and it leads to the content', async () => {
    await page.goto(`${base}/documents/${SLUG}`);
    await page.keyboard.press('Tab');
    const focused = page.locator(':focus');
    expect(await focused.textContent()).toBe('Skip to content');
    expect(await focused.isVisible()).toBe(true);
    await page.keyboard.press('Enter');
    expect(page.url()).toBe(`${base}/documents/${SLUG}#main`);
  });
});

describe('a reader on a phone (390×844)', () => {
  let context: BrowserContext;
  let page: Page;
  beforeAll(async () => {
    context = await newReader(browser, PHONE, { isMobile: true });
    page = await context.newPage();
  });
  afterAll(async () => {
    await context?.close();
  });

  /** Nothing sticks out sideways: the page scrolls only vertically. */
  async function expectNoSidewaysScroll(): Promise<void> {
    const { scrollWidth, clientWidth } = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
    }));
    expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
  }

  const pages: [string, string, number][] = [
    ['phone-01-documents', '/', 200],
    ['phone-02-document', `/documents/${SLUG}`, 200],
    ['phone-03-history', `/documents/${SLUG}/history`, 200],
    ['phone-04-version-2', `/documents/${SLUG}/versions/2`, 200],
    ['phone-05-compare-inline', `/documents/${SLUG}/compare?from=2&to=3`, 200],
    ['phone-06-compare-side', `/documents/${SLUG}/compare?from=2&to=3&view=side`, 200],
    ['phone-09-written', '/documents/written', 200],
    ['phone-10-plain', '/documents/plain/versions/1', 200],
    ['phone-11-written-compare', '/documents/written/compare?from=1&to=2', 200],
    ['phone-08-not-found', '/documents/no-such-document', 404],
  ];

  test.each(pages)('%s (%s) fits the screen and passes axe', async (name, url, status) => {
    await visit(page, url, status);
    await expectNoSidewaysScroll();
    await shot(page, name);
    await expectNoAxeViolations(page);
  });

  test('the document reads at a comfortable size', async () => {
    await page.goto(`${base}/documents/${SLUG}`);
    const p = page.locator('article.prose p').first();
    const size = await p.evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
    expect(size).toBeGreaterThanOrEqual(16);
    const box = (await p.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(8);
    expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width - 8);
  });

  test('side by side stacks the two versions at phone width', async () => {
    await page.goto(`${base}/documents/${SLUG}/compare?from=2&to=3&view=side`);
    const row = page.locator('.diff.side .row.changed').first();
    const left = (await row.locator('[role=cell]').nth(0).boundingBox())!;
    const right = (await row.locator('[role=cell]').nth(1).boundingBox())!;
    expect(right.y).toBeGreaterThanOrEqual(left.y + left.height - 2);
    expect(await row.locator('del').count()).toBeGreaterThan(0);
  });

  test('print media at phone width hides the top bar', async () => {
    await page.goto(`${base}/documents/${SLUG}`);
    await page.emulateMedia({ media: 'print' });
    try {
      expect(await page.locator('header.topbar').isHidden()).toBe(true);
      expect(await page.locator('.printonly').isVisible()).toBe(true);
      await shot(page, 'phone-07-document-print');
    } finally {
      await page.emulateMedia({ media: 'screen' });
    }
  });
});

describe('no console error, the favicon, caching (a fresh reader)', () => {
  let context: BrowserContext;
  let page: Page;
  const errors: string[] = [];
  const icons: { url: string; status: number }[] = [];
  beforeAll(async () => {
    context = await newReader(browser, DESKTOP);
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`${page.url()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`${page.url()}: ${e.message}`));
    page.on('response', (r) => {
      if (/\/favicon\./.test(r.url())) icons.push({ url: r.url(), status: r.status() });
    });
  });
  afterAll(async () => {
    await context?.close();
  });

  test.each([
    '/',
    `/documents/${SLUG}`,
    `/documents/${SLUG}/history`,
    `/documents/${SLUG}/versions/2`,
    `/documents/${SLUG}/compare?from=2&to=3`,
    '/login',
  ])('%s logs no console error and links the icon', async (url) => {
    await visit(page, url);
    // Give the browser the moment it takes to ask for the icon.
    await page.waitForTimeout(200);
    expect(errors).toEqual([]);
    expect(await page.locator('link[rel=icon]').getAttribute('href')).toBe('/favicon.svg');
    expect(await page.locator('meta[name=description]').getAttribute('content')).toBeTruthy();
  });

  test('whatever icon the browser asked for was found', async () => {
    for (const icon of icons) expect(icon.status).toBeLessThan(400);
    const svg = await page.request.get(`${base}/favicon.svg`);
    expect(svg.status()).toBe(200);
    expect(svg.headers()['content-type']).toMatch(/^image\/svg\+xml/);
    expect((await page.request.get(`${base}/favicon.ico`)).status()).toBe(204);
  });

  test('the stylesheet comes compressed under its fingerprint, kept for a year', async () => {
    const fresh = await newReader(browser, DESKTOP);
    try {
      const p = await fresh.newPage();
      const css = p.waitForResponse((r) => /\/assets\/ratify\.[0-9a-f]{10}\.css$/.test(r.url()));
      await p.goto(`${base}/`);
      const headers = await (await css).allHeaders();
      expect(headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(headers['content-encoding']).toMatch(/^(br|gzip)$/);
    } finally {
      await fresh.close();
    }
  });
});
