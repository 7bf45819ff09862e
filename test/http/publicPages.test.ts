import { CLI_ACTOR } from '../../server/domain/actor.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import request from 'supertest';
import { addDocument } from '../../server/services/addDocument.js';
import { publishVersion } from '../../server/services/publishVersion.js';
import { createApp } from '../../server/app.js';
import { openTestApp, projectRoot, testClock } from '../helpers/data.js';

describe('http/publicPages', () => {
  const BASE = 'http://ratify.test';
  const clock = testClock('2026-01-15T10:00:00Z');
  let t: Awaited<ReturnType<typeof openTestApp>>;

  /** Five paragraphs; version 2 changes only the third, so two unchanged paragraphs fold on each side. */
  const RULES = [
    '',
    '# Rules\n\nAlpha paragraph stays.\n\nBravo paragraph stays.\n\nThe committee meets twice a year.\n\nDelta paragraph stays.\n\nEcho paragraph stays.\n',
    '# Rules\n\nAlpha paragraph stays.\n\nBravo paragraph stays.\n\nThe committee meets three times a year.\n\nDelta paragraph stays.\n\nEcho paragraph stays.\n',
    '# Rules\n\nAlpha paragraph stays.\n\nBravo paragraph stays.\n\nThe committee meets three times a year.\n\nDelta paragraph stays.\n\nEcho paragraph stays.\n\nA final paragraph with “quotes”, é and 😀 & <angle> brackets.\n',
  ];

  const UNSAFE = [
    '# Unsafe',
    '',
    '<script>alert(1)</script>',
    '',
    'An image: <img src=x onerror=alert(1)>',
    '',
    '[x](javascript:alert(1)) and [y](JAVASCRIPT:alert(1)) and [z](  javascript:alert(1)) and [w](jav&#x09;ascript:alert(1))',
    '',
    '<javascript:alert(1)>',
    '',
    '![pic](javascript:alert(1))',
    '',
    '[ref]: javascript:alert(1)',
    '',
    'A [ref] link and <a href="javascript:alert(1)">raw</a> and <iframe src="https://evil.example"></iframe>',
    '',
    '[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==) and [vb](vbscript:msgbox)',
    '',
    '<div onclick="alert(1)">click</div><svg onload=alert(1)>',
    '',
    'A safe link: [ok](https://example.org/a?b=1&c=2).',
    '',
  ].join('\n');

  const HOSTILE_TITLE = 'Title <img src=x onerror=alert(1)> & "quoted"';
  const HOSTILE_SUMMARY = 'Summary <script>alert(1)</script> & more';

  /** The markup between <article ...> and </article>. */
  function article(html: string): string {
    const m = /<article\b[^>]*>([\s\S]*?)<\/article>/.exec(html);
    expect(m).not.toBeNull();
    return m![1];
  }

  /** Every tag in `html`, as written (`<a href="...">`, `</p>`, …). */
  const tags = (html: string) => html.match(/<[a-zA-Z!/][^>]*>/g) ?? [];

  /** No markup in `html` can run script: no script/iframe/object tags, no on* attributes, no script URLs. */
  function expectNoActiveMarkup(html: string) {
    expect(html).not.toMatch(/<script\b/i);
    expect(html).not.toMatch(/<(iframe|object|embed|svg|math|form|base|meta|link|style)\b/i);
    for (const tag of tags(html)) {
      expect(tag).not.toMatch(/\son[a-z]+\s*=/i);
      expect(tag).not.toMatch(/(javascript|vbscript|data):/i);
    }
  }

  function expectHtmlPage(res: request.Response, status: number) {
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^text\/html; charset=utf-8/);
    expect(res.text).toMatch(/^<!doctype html>/i);
    expect(res.text).not.toMatch(/\n\s+at .*:\d+:\d+/);
    expect(res.text).not.toContain('node_modules');
    expect(res.text).not.toContain(projectRoot);
  }

  /** supertest gives no body for unknown types; read the raw bytes. */
  const rawBytes = (res: request.Response, cb: (err: Error | null, body: Buffer) => void) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => cb(null, Buffer.concat(chunks)));
  };

  function entries(xml: string): string[] {
    return xml.match(/<entry>[\s\S]*?<\/entry>/g) ?? [];
  }

  function expectAtom(res: request.Response) {
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/atom\+xml/);
    const xml = res.text;
    expect(xml).toMatch(/^<\?xml version="1\.0" encoding="utf-8"\?>\s*<feed xmlns="http:\/\/www\.w3\.org\/2005\/Atom"/);
    expect(xml.trim().endsWith('</feed>')).toBe(true);
    // Required feed elements (RFC 4287 §4.1.1): id, title, updated — each once at feed level.
    const head = xml.slice(0, xml.indexOf('<entry>') >= 0 ? xml.indexOf('<entry>') : undefined);
    for (const el of ['id', 'title', 'updated']) expect(head.match(new RegExp(`<${el}>`, 'g'))).toHaveLength(1);
    // Ids are tag: URIs of the installation (RFC 4151), not URLs: they survive a new BASE_URL.
    expect(/<id>([^<]*)<\/id>/.exec(head)![1]).toMatch(TAG);
    expect(head).toMatch(
      /<link rel="self" type="application\/atom\+xml" href="http:\/\/ratify\.test\/[^"]*feed\.atom"\/>/,
    );
    // No unescaped ampersands or raw markup in text content.
    expect(xml).not.toMatch(/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);)/i);
    for (const e of entries(xml)) {
      const id = /<id>([^<]*)<\/id>/.exec(e)![1];
      expect(id).toMatch(new RegExp(`${TAG.source}documents/[a-z0-9-]+/versions/\\d+$`));
      const updated = /<updated>([^<]*)<\/updated>/.exec(e)![1];
      expect(new Date(updated).toISOString()).toBe(updated);
      expect(e).toMatch(/<link rel="alternate" type="text\/html" href="http:\/\/ratify\.test\/[^"]+"\/>/);
      expect(e).toMatch(/<author><name>[^<]+<\/name><\/author>/);
      expect(e).toMatch(/<title>[^<]+<\/title>/);
    }
    return xml;
  }

  const STYLED = [
    '# Charter\n\n## 1. Scope\n\nThe charter covers **Standards Track EIP** work.\n\n- chairs\n- members\n\n## 3. Membership\n\nOne.\n\nTwo.\n\nThree.\n\nSee [the formal specification](https://spec.example/).\n',
    '# Charter\n\n## 1. Scope\n\nThe charter covers **Meta EIP** work, **in public**.\n\n- chairs\n- members\n- observers\n\n## 3. Membership\n\nOne.\n\nTwo.\n\nThree.\n\nSee [the full specification](https://spec.example/).\n',
  ];

  beforeAll(async () => {
    t = await openTestApp({ clock });
    clock.advance(60_000);
    await addDocument(t.ctx, CLI_ACTOR, {
      slug: 'styled',
      title: 'Charter',
      group: 'mag',
      text: STYLED[0],
      summary: 'One',
    });
    clock.advance(60_000);
    await publishVersion(t.ctx, {
      slug: 'styled',
      title: 'Charter',
      group: 'mag',
      text: STYLED[1],
      summary: 'Two',
      author: { name: 'Bob', email: 'bob@example.org', at: clock() },
    });
    clock.advance(60_000);
    await addDocument(
      t.ctx,
      { id: 999, name: 'Alice Chair', email: 'alice@example.org', roles: ['secretariat'], groups: [] },
      { slug: 'rules', title: 'Rules of Procedure', group: 'mag', text: RULES[1], summary: 'First rules' },
    );
    for (const n of [2, 3]) {
      clock.advance(60_000);
      await publishVersion(t.ctx, {
        slug: 'rules',
        title: 'Rules of Procedure',
        group: 'mag',
        text: RULES[n],
        summary: n === 3 ? HOSTILE_SUMMARY : 'Meet three times',
        author: { name: `Author ${n}`, email: `author${n}@example.org`, at: clock() },
      });
    }
    clock.advance(60_000);
    await addDocument(t.ctx, CLI_ACTOR, {
      slug: 'unsafe',
      title: HOSTILE_TITLE,
      group: 'mag',
      text: '# Safe first\n',
      summary: 'Safe',
    });
    clock.advance(60_000);
    await publishVersion(t.ctx, {
      slug: 'unsafe',
      title: HOSTILE_TITLE,
      group: 'mag',
      text: UNSAFE,
      summary: HOSTILE_SUMMARY,
      author: { name: 'Mallory & "Quotes"', email: 'mallory@example.org', at: clock() },
    });
  });
  afterAll(async () => {
    await t.cleanup();
  });

  describe('GET /', () => {
    test('lists every document with a link, its group and its version', async () => {
      const res = await request(t.app).get('/');
      expectHtmlPage(res, 200);
      expect(res.text).toContain('href="/documents/terms-of-reference"');
      expect(res.text).toContain('href="/documents/workshop-process"');
      expect(res.text).toContain('href="/documents/rules"');
      expect(res.text).toContain('Working Group on Strategy');
      expect(res.text).toContain('Working Group on Workshop Selection');
      expect(res.text).toContain('Terms of Reference of the Multistakeholder Advisory Group');
      expect(res.text).toContain('href="/documents/rules/compare?from=2&amp;to=3"');
      expect(res.text).toContain('href="/feed.atom"');
    });
  });

  describe('GET /documents/:slug', () => {
    test('a seeded document renders its markdown as HTML', async () => {
      const file = await fsp.readFile(path.join(projectRoot, 'documents', 'terms-of-reference.md'), 'utf8');
      const res = await request(t.app).get('/documents/terms-of-reference');
      expectHtmlPage(res, 200);
      const heading = /^# (.+)$/m.exec(file)![1];
      // The page's one h1 is the title; the text's own "# Title", which repeats it, is not shown twice.
      expect(res.text.match(/<h1[ >][\s\S]*?<\/h1>/g)).toEqual([`<h1>${heading}</h1>`]);
      expect(article(res.text)).not.toMatch(/^# /m);
      expect(article(res.text)).toMatch(/<h2 id="1-mandate">1\. Mandate<\/h2>/);
      expect(res.text).toContain('href="/documents/terms-of-reference/history"');
      expect(res.text).toContain('href="/documents/terms-of-reference/versions/1.md"');
    });

    test('the current text of a document with several versions', async () => {
      const res = await request(t.app).get('/documents/rules');
      expectHtmlPage(res, 200);
      const a = article(res.text);
      expect(res.text.match(/<h1[ >]/g)).toHaveLength(1);
      expect(res.text).toContain('<h1>Rules of Procedure</h1>');
      expect(a).toContain('<h2 id="rules">Rules</h2>');
      expect(a).toContain('<p>The committee meets three times a year.</p>');
      expect(a).toContain('&lt;angle&gt;');
      expect(res.text).toContain('href="/documents/rules/compare?from=2&amp;to=3"');
    });
  });

  describe('GET /documents/:slug/history', () => {
    test('every version newest first with author and summary', async () => {
      const res = await request(t.app).get('/documents/rules/history');
      expectHtmlPage(res, 200);
      const order = [3, 2, 1].map((n) => res.text.indexOf(`href="/documents/rules/versions/${n}"`));
      order.forEach((i) => expect(i).toBeGreaterThan(0));
      expect(order[0]).toBeLessThan(order[1]);
      expect(order[1]).toBeLessThan(order[2]);
      for (const s of ['Alice Chair', 'Author 2', 'Author 3', 'First rules', 'Meet three times'])
        expect(res.text).toContain(s);
      expect(res.text).toContain('href="/documents/rules/feed.atom"');
    });

    test('hostile summaries and author names are escaped', async () => {
      const res = await request(t.app).get('/documents/unsafe/history');
      expectHtmlPage(res, 200);
      expect(res.text).not.toContain('<script>alert');
      expect(res.text).not.toContain('<img src=x');
      expect(res.text).toContain('Mallory &amp; &#34;Quotes&#34;');
      expect(res.text).toContain('Summary &lt;script&gt;alert(1)&lt;/script&gt; &amp; more');
    });
  });

  describe('GET /documents/:slug/versions/:n', () => {
    test('an older version says it is not current and links to the latest', async () => {
      const res = await request(t.app).get('/documents/rules/versions/1');
      expectHtmlPage(res, 200);
      expect(article(res.text)).toContain('<p>The committee meets twice a year.</p>');
      expect(res.text).toContain('not the current version');
      expect(res.text).toContain('href="/documents/rules"');
    });

    test('the latest version through its number', async () => {
      const res = await request(t.app).get('/documents/rules/versions/3');
      expectHtmlPage(res, 200);
      expect(article(res.text)).toContain('three times');
      expect(res.text).not.toContain('not the current version');
    });

    test.each(['0', '-1', '1.5', 'abc', '99999999999', '01'])('versions/%s → 400 or 404 page', async (n) => {
      const res = await request(t.app).get(`/documents/rules/versions/${n}`);
      expect([400, 404]).toContain(res.status);
      expectHtmlPage(res, res.status);
    });

    test('a version that does not exist → 404 page', async () => {
      const res = await request(t.app).get('/documents/rules/versions/4');
      expectHtmlPage(res, 404);
      expect(res.text).toContain('version_not_found');
    });
  });

  describe('GET /documents/:slug/versions/:n.md', () => {
    test.each(['terms-of-reference', 'workshop-process'])(
      '%s v1: the exact bytes of the file, as text/markdown',
      async (slug) => {
        const file = await fsp.readFile(path.join(projectRoot, 'documents', `${slug}.md`));
        const res = await request(t.app).get(`/documents/${slug}/versions/1.md`).buffer(true).parse(rawBytes);
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toBe('text/markdown; charset=utf-8');
        expect(Buffer.compare(res.body as Buffer, file)).toBe(0);
      },
    );

    test.each([1, 2, 3])('rules v%i: exact bytes, including non-ASCII', async (n) => {
      const res = await request(t.app).get(`/documents/rules/versions/${n}.md`).buffer(true).parse(rawBytes);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/markdown; charset=utf-8');
      expect(Buffer.compare(res.body as Buffer, Buffer.from(RULES[n], 'utf8'))).toBe(0);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    });

    test('raw text with markup is served as markdown, never as HTML', async () => {
      const res = await request(t.app).get('/documents/unsafe/versions/2.md').buffer(true).parse(rawBytes);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/markdown; charset=utf-8');
      expect((res.body as Buffer).toString('utf8')).toBe(UNSAFE);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    });

    test('absent versions and bad numbers are refused', async () => {
      expect((await request(t.app).get('/documents/rules/versions/4.md')).status).toBe(404);
      expect((await request(t.app).get('/documents/nope/versions/1.md')).status).toBe(404);
      expect((await request(t.app).get('/documents/rules/versions/0.md')).status).toBe(400);
      expect((await request(t.app).get('/documents/rules/versions/x.md')).status).toBe(400);
    });
  });

  describe('GET /documents/:slug/compare', () => {
    /** The diff part of the compare page (the legend above it also shows sample <ins>/<del>). */
    const diffPart = (html: string) => {
      const i = html.indexOf('<div class="diff');
      expect(i).toBeGreaterThan(0);
      return html.slice(i);
    };

    test('inline: changed words marked, unchanged paragraphs folded', async () => {
      const res = await request(t.app).get('/documents/rules/compare?from=1&to=2');
      expectHtmlPage(res, 200);
      const d = diffPart(res.text);
      expect(d).toContain('<del>twice</del>');
      expect(d).toContain('<ins>three times</ins>');
      expect(d).toMatch(/show 2 unchanged paragraphs/);
      expect(d).toContain('<details class="unchanged">');
      expect(d).toContain('Alpha paragraph stays.');
      expect(res.text).toContain('1 insertion, 1 deletion');
    });

    test('formatted by default: bold stays bold inside <ins>, links stay links, items stay items', async () => {
      const res = await request(t.app).get('/documents/styled/compare?from=1&to=2');
      expectHtmlPage(res, 200);
      const d = diffPart(res.text);
      expect(d).toContain('class="diff rendered"');
      expect(d).not.toContain('**');
      expect(d).toContain('<strong><del>Standards Track</del><ins>Meta</ins> EIP</strong>');
      expect(d).toMatch(/<ins>, <strong>in public<\/strong><\/ins>/);
      expect(d).toContain('<a href="https://spec.example/">the <del>formal</del><ins>full</ins> specification</a>');
      expect(d).toContain('<li class="ins"><ins>observers</ins></li>');
      // The document's own headings sit under the page's h1, and a fold names its section.
      expect(d).toMatch(/show 3 unchanged paragraphs in § 3\. Membership/);
      expect(d).toContain('<h3>3. Membership</h3>');
      expect(res.text.match(/<h1[ >]/g)).toHaveLength(1);
      expect(res.text).toContain('<strong aria-current="page">formatted</strong>');
      expect(res.text).toContain('href="/documents/styled/compare?from=1&amp;to=2&amp;view=source"');
    });

    test('?view=source keeps the markdown source view, with a link back to the formatted one', async () => {
      const res = await request(t.app).get('/documents/styled/compare?from=1&to=2&view=source');
      expectHtmlPage(res, 200);
      const d = diffPart(res.text);
      expect(d).toContain('class="diff inline"');
      expect(d).toContain('**<del>Standards Track</del><ins>Meta</ins> EIP**');
      expect(res.text).toContain('href="/documents/styled/compare?from=1&amp;to=2">formatted</a>');
      expect(res.text).toMatch(/value="source" checked/);
    });

    test('inline in the other direction', async () => {
      const res = await request(t.app).get('/documents/rules/compare?from=2&to=1');
      expectHtmlPage(res, 200);
      const d = diffPart(res.text);
      expect(d).toContain('<del>three times</del>');
      expect(d).toContain('<ins>twice</ins>');
    });

    test('side by side: both columns, deletions left and insertions right', async () => {
      const res = await request(t.app).get('/documents/rules/compare?from=1&to=2&view=side');
      expectHtmlPage(res, 200);
      const d = diffPart(res.text);
      expect(d).toContain('class="diff side"');
      expect(d).toContain('<del>twice</del>');
      expect(d).toContain('<ins>three times</ins>');
      expect(d).toContain('Version 1');
      expect(d).toContain('Version 2');
      expect(res.text).toMatch(/value="side" checked/);
    });

    test('inserted text with markup characters is escaped in the diff', async () => {
      const res = await request(t.app).get('/documents/rules/compare?from=2&to=3');
      expectHtmlPage(res, 200);
      const d = diffPart(res.text);
      expect(d).toMatch(/<ins>[^<]*&lt;angle&gt;[^<]*<\/ins>/);
      expect(d).not.toContain('<angle>');
    });

    test('a compare of the unsafe text shows it as escaped text only', async () => {
      for (const view of ['inline', 'side', 'source']) {
        const res = await request(t.app).get(`/documents/unsafe/compare?from=1&to=2&view=${view}`);
        expectHtmlPage(res, 200);
        expectNoActiveMarkup(diffPart(res.text).replace(/<\/main>[\s\S]*$/, ''));
        expect(res.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      }
    });

    test('same version: nothing changed', async () => {
      const res = await request(t.app).get('/documents/rules/compare?from=2&to=2');
      expectHtmlPage(res, 200);
      expect(diffPart(res.text)).not.toMatch(/<(ins|del)>/);
      expect(res.text).toContain('0 insertions, 0 deletions');
    });

    test('without parameters compares the latest with the one before', async () => {
      const res = await request(t.app).get('/documents/rules/compare');
      expectHtmlPage(res, 200);
      expect(res.text).toContain('Compare versions 2 and 3');
    });

    test.each([
      ['from=x&to=2'],
      ['from=0&to=2'],
      ['from=1&to=abc'],
      ['from=-1&to=2'],
      ['from=1&to=2&view=bogus'],
      ['from=1&to=2&from=3'],
    ])('bad parameters %s → 400 HTML page', async (q) => {
      const res = await request(t.app).get(`/documents/rules/compare?${q}`).set('Accept', 'text/html');
      expectHtmlPage(res, 400);
      expect(res.text).toContain('invalid_version');
    });

    test('a version that does not exist → 404 page', async () => {
      const res = await request(t.app).get('/documents/rules/compare?from=1&to=9').set('Accept', 'text/html');
      expectHtmlPage(res, 404);
    });

    test('the query cannot set ejs options', async () => {
      const res = await request(t.app).get(
        '/documents/rules/compare?from=1&to=2&settings[view options][client]=1&settings=x',
      );
      expect(res.status).toBeLessThan(500);
    });
  });

  /** A tag: URI of this installation (`tag:host,YYYY-MM-DD:`…). */
  const TAG = /^tag:[a-z0-9.-]+,\d{4}-\d{2}-\d{2}:/;
  /** This installation's tag prefix. */
  const tag = () => `tag:${t.ctx.meta.get('system', 'install')!.tagAuthority}`;

  describe('Atom feeds', () => {
    test('/documents/:slug/feed.atom: one entry per version, stable tag: ids', async () => {
      const res = await request(t.app).get('/documents/rules/feed.atom');
      const xml = expectAtom(res);
      const es = entries(xml);
      expect(es).toHaveLength(3);
      expect(es.map((e) => /<id>([^<]*)<\/id>/.exec(e)![1])).toEqual(
        [3, 2, 1].map((n) => `${tag()}:documents/rules/versions/${n}`),
      );
      expect(xml).toContain(`<id>${tag()}:documents/rules</id>`);
      expect(es[0]).toContain(`href="${BASE}/documents/rules/compare?from=2&amp;to=3"`);
      expect(es[2]).toContain(`href="${BASE}/documents/rules/versions/1"`);
      expect(es[1]).toContain('<author><name>Author 2</name></author>');
      expect(es[1]).toContain('<summary>Meet three times</summary>');
      // The feed's updated is its newest entry's.
      const feedUpdated = /<updated>([^<]*)<\/updated>/.exec(xml)![1];
      expect(feedUpdated).toBe(/<updated>([^<]*)<\/updated>/.exec(es[0])![1]);
    });

    test('a seeded document has one entry', async () => {
      const xml = expectAtom(await request(t.app).get('/documents/terms-of-reference/feed.atom'));
      expect(entries(xml)).toHaveLength(1);
    });

    test('hostile titles and summaries are escaped in the feed', async () => {
      const xml = expectAtom(await request(t.app).get('/documents/unsafe/feed.atom'));
      expect(xml).not.toContain('<script>');
      expect(xml).not.toContain('<img');
      expect(xml).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; more');
      expect(xml).toContain('Mallory &amp; &quot;Quotes&quot;');
    });

    test('/feed.atom: one entry per version of every document, newest first', async () => {
      const xml = expectAtom(await request(t.app).get('/feed.atom'));
      const es = entries(xml);
      const ids = es.map((e) => /<id>([^<]*)<\/id>/.exec(e)![1]);
      // 2 seeded + 3 rules + 2 unsafe + 2 styled.
      expect(ids).toHaveLength(9);
      expect(new Set(ids).size).toBe(9);
      for (const id of [
        '/documents/terms-of-reference/versions/1',
        '/documents/workshop-process/versions/1',
        '/documents/rules/versions/1',
        '/documents/rules/versions/2',
        '/documents/rules/versions/3',
        '/documents/unsafe/versions/1',
        '/documents/unsafe/versions/2',
      ])
        expect(ids).toContain(`${tag()}:${id.slice(1)}`);
      const times = es.map((e) => Date.parse(/<updated>([^<]*)<\/updated>/.exec(e)![1]));
      for (let i = 1; i < times.length; i++) expect(times[i - 1]).toBeGreaterThanOrEqual(times[i]);
      expect(ids[0]).toBe(`${tag()}:documents/unsafe/versions/2`);
    });

    test('a feed of an unknown document → 404', async () => {
      expect((await request(t.app).get('/documents/nope/feed.atom')).status).toBe(404);
    });
  });

  describe('not found pages', () => {
    test.each([
      ['/documents/no-such-doc', 'document_not_found'],
      ['/documents/no-such-doc/history', 'document_not_found'],
      ['/documents/UPPER', 'document_not_found'],
      ['/documents/%2e%2e', 'document_not_found'],
      ['/documents/' + 'a'.repeat(70), 'document_not_found'],
      ['/no/such/page', 'page_not_found'],
      ['/documents/rules/nope', 'page_not_found'],
    ])('%s → 404 HTML without a stack trace', async (url, code) => {
      for (const accept of [undefined, 'text/html', 'text/html,application/xhtml+xml,*/*;q=0.8']) {
        const req = request(t.app).get(url);
        const res = await (accept ? req.set('Accept', accept) : req);
        expectHtmlPage(res, 404);
        expect(res.text).toContain(`<code>${code}</code>`);
        expect(res.text).not.toMatch(/Error: |DomainError|\.ts:\d+/);
      }
    });

    test('a malformed percent-encoding in a page URL is a 4xx page', async () => {
      const res = await request(t.app).get('/documents/%E0%A4%A').set('Accept', 'text/html');
      expect([400, 404]).toContain(res.status);
      expectHtmlPage(res, res.status);
    });
  });

  describe('Markdown safety', () => {
    test.each(['/documents/unsafe', '/documents/unsafe/versions/2'])(
      '%s renders no script, handler or script URL',
      async (url) => {
        const res = await request(t.app).get(url);
        expectHtmlPage(res, 200);
        const a = article(res.text);
        expect(a).not.toContain('<script>alert');
        expect(a).not.toMatch(/<script/i);
        expectNoActiveMarkup(a);
        // The text is kept, as inert escaped characters (the author's words are not silently dropped).
        expect(a).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
        expect(a).not.toMatch(/<img[^>]*onerror/i);
        // Escaped text may still read "javascript:" or "onerror=" (that is the author's text, inert);
        // what must never appear is a tag carrying them.
        for (const tag of tags(a)) expect(tag).not.toMatch(/javascript:|onerror=/i);
        // Every link or image URL, resolved as a browser would, lands on http(s) or mailto.
        for (const [, url] of tags(a)
          .join('\n')
          .matchAll(/\s(?:href|src)="([^"]*)"/g)) {
          const decoded = url.replace(/&amp;/g, '&').replace(/&#(\d+);/g, (_m, d) => String.fromCharCode(Number(d)));
          expect(['http:', 'https:', 'mailto:']).toContain(new URL(decoded, `${BASE}/documents/unsafe`).protocol);
        }
        // Safe links survive sanitising.
        expect(a).toContain('<a href="https://example.org/a?b=1&amp;c=2">ok</a>');
        // Only the page's own external script, no inline script anywhere.
        const scripts = res.text.match(/<script\b[^>]*>/g) ?? [];
        expect(scripts).toHaveLength(1);
        expect(scripts[0]).toMatch(/^<script src="\/assets\/ratify\.[0-9a-f]{10}\.js" defer>$/);
      },
    );

    test('the hostile title is escaped everywhere it appears', async () => {
      for (const url of [
        '/',
        '/documents/unsafe',
        '/documents/unsafe/history',
        '/documents/unsafe/compare?from=1&to=2',
      ]) {
        const res = await request(t.app).get(url);
        expectHtmlPage(res, 200);
        expect(res.text).not.toContain('<img src=x onerror');
        expect(res.text).toContain('Title &lt;img src=x onerror=alert(1)&gt; &amp; &#34;quoted&#34;');
      }
    });
  });

  describe('security headers', () => {
    test.each([
      '/',
      '/documents/rules',
      '/documents/rules/compare?from=1&to=2',
      '/no/such/page',
      '/documents/rules/versions/1.md',
    ])('%s', async (url) => {
      const res = await request(t.app).get(url);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-powered-by']).toBeUndefined();
      const csp = String(res.headers['content-security-policy'] ?? '');
      const directives = new Map(
        csp
          .split(';')
          .map((d) => d.trim().split(/\s+/))
          .filter((d) => d[0])
          .map(([name, ...values]) => [name.toLowerCase(), values] as const),
      );
      expect(directives.get('object-src')).toEqual(["'none'"]);
      expect(directives.get('base-uri')).toEqual(["'none'"]);
      expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
      const scriptSrc = directives.get('script-src') ?? directives.get('default-src');
      expect(scriptSrc).toBeDefined();
      expect(scriptSrc).not.toContain("'unsafe-inline'");
      expect(scriptSrc).not.toContain("'unsafe-eval'");
      expect(scriptSrc).not.toContain('*');
      expect(scriptSrc!.some((s) => /^(https?:|data:)$/.test(s))).toBe(false);
    });
  });

  describe('headers that fit the scheme', () => {
    test('over plain HTTP (a LAN host): no upgrade-insecure-requests, no HSTS, none of the headers a browser ignores there', async () => {
      const res = await request(t.app).get('/login');
      expect(String(res.headers['content-security-policy'])).not.toContain('upgrade-insecure-requests');
      expect(res.headers['strict-transport-security']).toBeUndefined();
      // Ignored from an untrustworthy origin, with a console error on every page.
      expect(res.headers['cross-origin-opener-policy']).toBeUndefined();
      expect(res.headers['origin-agent-cluster']).toBeUndefined();
    });

    test('over https: both', async () => {
      const https = createApp({
        ctx: t.ctx,
        config: { baseUrl: 'https://ratify.example', writeLimit: 0 },
        sessions: t.sessions,
      });
      const res = await request(https).get('/login');
      expect(String(res.headers['content-security-policy'])).toContain('upgrade-insecure-requests');
      expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect(res.headers['cross-origin-opener-policy']).toBe('same-origin');
      expect(res.headers['origin-agent-cluster']).toBe('?1');
    });
  });
});
