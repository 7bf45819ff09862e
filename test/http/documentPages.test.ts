/**
 * Documents as they are written (issue 14, item 7): front matter as a table, one h1 with the
 * text's headings beneath it, heading anchors and contents, numbered paragraphs as permalinks,
 * relative images and links as plain text. On made-up texts and on EIP-1 from the corpus.
 */
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as fs from 'node:fs';
import * as path from 'node:path';
import request from 'supertest';
import { addDocument } from '../../server/services/addDocument.js';
import { publishVersion } from '../../server/services/publishVersion.js';
import { corpusDir, openTestApp, testClock } from '../helpers/data.js';

describe('http/documentPages', () => {
  const clock = testClock('2026-01-15T10:00:00Z');
  let t: Awaited<ReturnType<typeof openTestApp>>;

  const WRITTEN = [
    '---',
    'eip: 7',
    'title: "Written as it is"',
    'status: Living',
    '---',
    '',
    '## Intro',
    '',
    'First paragraph with ![the process diagram](../assets/eip-1/process.png), [EIP-5](./eip-5.md), [a section](#close) and [a site](https://example.org/).',
    '',
    '## Intro',
    '',
    'Second paragraph.',
    '',
    '#### Detail',
    '',
    '- one',
    '- two',
    '',
    '## Close',
    '',
    'Last paragraph.',
    '',
  ].join('\n');

  /** The text between <article …> and </article>. */
  function article(html: string): string {
    const m = /<article\b[^>]*>([\s\S]*?)<\/article>/.exec(html);
    expect(m).not.toBeNull();
    return m![1];
  }

  /** Heading levels of the whole page in order: exactly one h1, first, and no level skipped. */
  function expectOutline(html: string) {
    const levels = [...html.matchAll(/<h([1-6])[ >]/g)].map((m) => Number(m[1]));
    expect(levels.filter((l) => l === 1)).toHaveLength(1);
    expect(levels[0]).toBe(1);
    levels.forEach((l, i) => {
      if (i) expect(l).toBeLessThanOrEqual(levels[i - 1] + 1);
    });
  }

  beforeAll(async () => {
    t = await openTestApp({ clock });
    const add = (slug: string, title: string, text: string) =>
      addDocument(t.ctx, CLI_ACTOR, { slug, title, group: 'mag', text, summary: 'First' });
    await add('written', 'Written Rules', WRITTEN);
    await add('no-heading', 'Plain Rules', 'Only text here.\n\nAnd a second paragraph.\n');
    await add('odd-matter', 'Odd Matter', '---\nauthors:\n  - A\n  - B\n---\n\nText.\n');
    clock.advance(60_000);
    await publishVersion(t.ctx, {
      slug: 'written',
      title: 'Written Rules',
      group: 'mag',
      text: WRITTEN.replace('Last paragraph.', 'Last paragraph, changed.'),
      summary: 'Two',
      author: { name: 'Bob', email: 'bob@example.org', at: clock() },
    });
  });

  afterAll(async () => {
    await t?.cleanup();
  });

  describe('a document written with front matter, headings and relative links', () => {
    test.each(['/documents/written', '/documents/written/versions/1'])(
      '%s: one h1, headings beneath it',
      async (url) => {
        const res = await request(t.app).get(url);
        expect(res.status).toBe(200);
        expect(res.text).toContain('<h1>Written Rules</h1>');
        expectOutline(res.text);
        // "####" right under "##" becomes h3: never a skipped level.
        expect(article(res.text)).toContain('<h3 id="detail">Detail</h3>');
      },
    );

    test('front matter is a key/value table, not text or a heading', async () => {
      const a = article((await request(t.app).get('/documents/written')).text);
      expect(a).toMatch(/<table class="frontmatter">/);
      expect(a).toContain('<th scope="row">eip</th><td>7</td>');
      expect(a).toContain('<th scope="row">title</th><td>Written as it is</td>');
      expect(a).not.toContain('<hr');
      expect(a).not.toMatch(/<h\d[^>]*>[^<]*eip:/);
    });

    test('front matter that is not simple key: value lines is shown as a code block', async () => {
      const res = await request(t.app).get('/documents/odd-matter');
      expect(res.status).toBe(200);
      const a = article(res.text);
      expect(a).toContain('<pre class="frontmatter" tabindex="0"><code>authors:\n  - A\n  - B</code></pre>');
      expect(a).not.toMatch(/<h\d/);
    });

    test('headings carry stable, de-duplicated ids, and a long text has contents', async () => {
      const a = article((await request(t.app).get('/documents/written')).text);
      for (const id of ['intro', 'intro-1', 'detail', 'close']) expect(a).toMatch(new RegExp(`<h[23] id="${id}">`));
      const nav = /<nav class="toc" aria-label="Contents">([\s\S]*?)<\/nav>/.exec(a);
      expect(nav).not.toBeNull();
      expect(nav![1]).toContain('<a href="#intro-1">Intro</a>');
      expect(nav![1]).toContain('<a href="#detail">Detail</a>');
      expect(a.indexOf('<nav')).toBeLessThan(a.indexOf('<h2'));
    });

    test('a short text has no contents', async () => {
      const res = await request(t.app).get('/documents/no-heading');
      expect(res.text).not.toContain('aria-label="Contents"');
    });

    test.each(['/documents/written', '/documents/written/versions/2'])(
      '%s: paragraphs are numbered with #p-N permalinks, the same on the version page',
      async (url) => {
        const a = article((await request(t.app).get(url)).text);
        const ids = [...a.matchAll(/<div class="para" id="p-(\d+)"><a class="pnum" href="#p-(\d+)">/g)];
        expect(ids.map((m) => Number(m[1]))).toEqual([1, 2, 3, 4]);
        ids.forEach((m) => expect(m[1]).toBe(m[2]));
        expect(a).toMatch(
          // The version page's provenance note (which version last changed it) may follow the permalink.
          /id="p-4"><a class="pnum" href="#p-4"><span class="visually-hidden">Paragraph <\/span>4<\/a>(<a class="since"[^>]*>[^<]*<\/a>)?<p>Last paragraph, changed\.<\/p>/,
        );
      },
    );

    test('relative images and links are plain text; fragments and absolute links stay', async () => {
      const a = article((await request(t.app).get('/documents/written')).text);
      expect(a).not.toMatch(/<img/);
      expect(a).not.toContain('src="../');
      expect(a).toContain('<span class="noimage">the process diagram</span>');
      expect(a).not.toContain('href="./eip-5.md"');
      expect(a).toContain('EIP-5');
      expect(a).toContain('<a href="#close">a section</a>');
      expect(a).toContain('<a href="https://example.org/">a site</a>');
    });

    test('a text without any heading still has exactly one h1', async () => {
      const res = await request(t.app).get('/documents/no-heading/versions/1');
      expect(res.status).toBe(200);
      expect(res.text).toContain('<h1>Plain Rules</h1>');
      expectOutline(res.text);
    });

    test('the compare page of a text with front matter still diffs', async () => {
      const res = await request(t.app).get('/documents/written/compare?from=1&to=2');
      expect(res.status).toBe(200);
      expect(res.text).toContain('<ins>, changed</ins>');
      expect(res.text).not.toContain('src="../');
      // Front matter is a table there too, and "##" sits right under the page's h1.
      expect(res.text).toContain('<th>eip</th><td>7</td>');
      expect(res.text).not.toMatch(/<h\d[^>]*>[^<]*eip:/);
      expect(res.text.match(/<h1[ >]/g)).toHaveLength(1);
      expect(res.text).toMatch(/<h2>Intro<\/h2>/);
    });
  });

  const EIP = path.join(corpusDir, 'eip-1', 'versions');
  const present = fs.existsSync(EIP);
  // Chosen at load: without the corpus this suite shows as skipped, never as passed.
  if (!present) console.warn(`EIP-1 document pages skipped: ${EIP} is absent`);

  (present ? describe : describe.skip)('EIP-1 from the corpus', () => {
    beforeAll(async () => {
      const files = fs.readdirSync(EIP).sort();
      await addDocument(t.ctx, CLI_ACTOR, {
        slug: 'eip-1',
        title: 'EIP Purpose and Guidelines',
        group: 'mag',
        text: fs.readFileSync(path.join(EIP, files[files.length - 1]), 'utf8'),
        summary: 'Imported',
      });
    });

    test('its version page: one h1, the preamble as a table, no heading made of front matter, no broken image', async () => {
      const res = await request(t.app).get('/documents/eip-1/versions/1');
      expect(res.status).toBe(200);
      expectOutline(res.text);
      const a = article(res.text);
      expect(a).toContain('<th scope="row">status</th>');
      expect(a).not.toMatch(/<h\d[^>]*>[^<]*(eip: 1|status:)/);
      expect(a).not.toMatch(/<img[^>]*src="(?!https?:)/);
      expect(a).toContain('aria-label="Contents"');
      expect(a).toContain('id="eip-header-preamble"');
      expect(a).toMatch(/id="p-1"/);
    });
  });
});
