/**
 * Compression and caching (http/compress.ts, http/caching.ts): what each kind of answer says
 * to caches, for the public and for someone signed in (session cookie or bearer token), the
 * fingerprinted assets, the favicon and every page's meta description. Raw bytes are read with
 * node's http client against the app listening on 127.0.0.1 (supertest would decompress).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { Request, Response } from 'express';
import request from 'supertest';
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { CACHE_CONTROL } from '../../server/http/caching.js';
import { shouldCompress } from '../../server/http/compress.js';
import { addDocument } from '../../server/services/addDocument.js';
import { publishVersion } from '../../server/services/publishVersion.js';
import { makeUser, signedIn, type Agent } from '../helpers/auth.js';
import { openTestApp, projectRoot, testClock } from '../helpers/data.js';
import { makeApiUser, type ApiUser } from '../helpers/users.js';

describe('http/caching', () => {
  const clock = testClock(new Date().toISOString());
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let server: http.Server;
  let member: Agent;
  let secretariat: Agent;
  let apiUser: ApiUser;
  const PW = 'caches keep nothing of mine';

  const IMMUTABLE = CACHE_CONTROL.immutable;
  const PERSONAL = 'private, no-store';

  /** A text well over the compression threshold, different in each version. */
  const text = (n: number) =>
    `# Rules\n\n${Array.from({ length: 60 }, (_, i) => `Paragraph ${i + 1} of the rules, as they stood in version ${n}.`).join('\n\n')}\n`;

  async function publish(n: number) {
    clock.advance(60_000);
    await publishVersion(t.ctx, {
      slug: 'rules',
      title: 'Rules of Procedure',
      group: 'mag',
      text: text(n),
      summary: `Version ${n} of the rules`,
      author: { name: `Author ${n}`, email: `author${n}@example.org`, at: clock() },
    });
  }

  beforeAll(async () => {
    t = await openTestApp({ clock });
    await addDocument(t.ctx, CLI_ACTOR, {
      slug: 'rules',
      title: 'Rules of Procedure',
      group: 'mag',
      text: text(1),
      summary: 'First rules',
    });
    await publish(2);
    await publish(3);
    await makeUser(t.ctx, { email: 'mia@example.org', name: 'Mia Member', password: PW });
    await makeUser(t.ctx, { email: 'sec@example.org', name: 'Sam Secretariat', roles: ['secretariat'], password: PW });
    member = await signedIn(t.app, 'mia@example.org', PW);
    secretariat = await signedIn(t.app, 'sec@example.org', PW);
    apiUser = await makeApiUser(t.ctx, { email: 'api@example.org', name: 'Ada Api' });
    server = await new Promise((resolve) => {
      const s = t.app.listen(0, '127.0.0.1', () => resolve(s));
    });
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await t.cleanup();
  });

  interface Raw {
    status: number;
    headers: http.IncomingHttpHeaders;
    body: Buffer;
  }

  /** One GET with the given headers; the body exactly as it came over the wire. */
  function raw(urlPath: string, headers: Record<string, string> = {}): Promise<Raw> {
    const { port } = server.address() as AddressInfo;
    return new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: urlPath, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        })
        .on('error', reject);
    });
  }

  const decode = (r: Raw): string => {
    const enc = r.headers['content-encoding'];
    const body = enc === 'br' ? zlib.brotliDecompressSync(r.body) : enc === 'gzip' ? zlib.gunzipSync(r.body) : r.body;
    return body.toString('utf8');
  };

  /** The stylesheet and script URLs a page links. */
  async function assetUrls(): Promise<{ css: string; js: string }> {
    const html = decode(await raw('/'));
    return {
      css: /<link rel="stylesheet" href="([^"]+)">/.exec(html)![1],
      js: /<script src="([^"]+)" defer>/.exec(html)![1],
    };
  }

  describe('compression', () => {
    const compressible: [string, string, RegExp][] = [
      ['HTML', '/documents/rules/versions/1', /^text\/html/],
      ['JSON', '/api/v1/documents/rules/versions/1', /^application\/json/],
      ['raw text', '/documents/rules/versions/1.md', /^text\/markdown/],
      ['Atom', '/documents/rules/feed.atom', /^application\/atom\+xml/],
    ];

    test.each(compressible)('%s (%s): brotli, gzip or nothing as asked, the same text', async (_kind, url, type) => {
      const plain = await raw(url);
      expect(plain.status).toBe(200);
      expect(plain.headers['content-type']).toMatch(type);
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.body.length).toBeGreaterThan(1024);
      for (const [asked, got] of [
        ['br', 'br'],
        ['gzip', 'gzip'],
        ['gzip, deflate, br', 'br'],
        ['gzip;q=1, br;q=0.5', 'gzip'],
      ]) {
        const r = await raw(url, { 'Accept-Encoding': asked });
        expect(r.headers['content-encoding']).toBe(got);
        expect(r.headers.vary).toMatch(/Accept-Encoding/);
        expect(r.body.length).toBeLessThan(plain.body.length / 2);
        expect(decode(r)).toBe(plain.body.toString('utf8'));
      }
      for (const none of ['identity', 'compress']) {
        const r = await raw(url, { 'Accept-Encoding': none });
        expect(r.headers['content-encoding']).toBeUndefined();
        expect(r.body.equals(plain.body)).toBe(true);
      }
      expect(plain.headers.vary).toMatch(/Accept-Encoding/);
    });

    test('the stylesheet and the script are compressed; /healthz is not (under 1 KiB)', async () => {
      const { css, js } = await assetUrls();
      const c = await raw(css, { 'Accept-Encoding': 'br' });
      expect(c.headers['content-type']).toMatch(/^text\/css/);
      expect(c.headers['content-encoding']).toBe('br');
      expect(decode(c)).toBe(await fsp.readFile(path.join(projectRoot, 'public', 'ratify.css'), 'utf8'));
      const j = await raw(js, { 'Accept-Encoding': 'br' });
      expect(j.headers['content-type']).toMatch(/^(application|text)\/javascript/);
      expect(j.headers['content-encoding']).toBe('br');
      expect(decode(j)).toBe(await fsp.readFile(path.join(projectRoot, 'public', 'ratify.js'), 'utf8'));
      const h = await raw('/healthz', { 'Accept-Encoding': 'br' });
      expect(h.headers['content-encoding']).toBeUndefined();
      expect(JSON.parse(h.body.toString('utf8'))).toEqual({ ok: true });
    });

    test('a HEAD is answered with the headers only', async () => {
      const res = await request(t.app).head('/documents/rules/versions/1').set('Accept-Encoding', 'br');
      expect(res.status).toBe(200);
      expect(res.headers['content-encoding']).toBeUndefined();
    });

    test('what is compressed already (images, archives, fonts) is left as it is', () => {
      const answer = (type: string) =>
        ({ getHeader: (n: string) => (n.toLowerCase() === 'content-type' ? type : undefined) }) as unknown as Response;
      const req = { headers: {} } as Request;
      for (const type of ['image/png', 'image/jpeg', 'application/gzip', 'application/zip', 'font/woff2'])
        expect(shouldCompress(req, answer(type))).toBe(false);
      for (const type of [
        'text/html; charset=utf-8',
        'application/json; charset=utf-8',
        'text/css; charset=utf-8',
        'text/javascript; charset=utf-8',
        'application/javascript',
        'application/atom+xml; charset=utf-8',
        'text/markdown; charset=utf-8',
        'image/svg+xml',
      ])
        expect(shouldCompress(req, answer(type))).toBe(true);
    });
  });

  describe('Cache-Control for the public', () => {
    const cases: [string, string, string][] = [
      ['an earlier version page', '/documents/rules/versions/1', IMMUTABLE],
      ['the raw text of a version', '/documents/rules/versions/1.md', IMMUTABLE],
      ['the raw text of the latest version', '/documents/rules/versions/3.md', IMMUTABLE],
      ['a comparison of two named versions', '/documents/rules/compare?from=1&to=2', IMMUTABLE],
      ['the same, side by side', '/documents/rules/compare?from=1&to=3&view=side', IMMUTABLE],
      ['a version (API)', '/api/v1/documents/rules/versions/2', IMMUTABLE],
      ['a diff of two versions (API)', '/api/v1/documents/rules/diff?from=1&to=3', IMMUTABLE],
      ['the latest version page (it says "current")', '/documents/rules/versions/3', 'no-cache'],
      ['a comparison with the latest, implied', '/documents/rules/compare', 'no-cache'],
      ['a comparison with one version named', '/documents/rules/compare?from=1', 'no-cache'],
      ['the home page', '/', 'no-cache'],
      ['a document page', '/documents/rules', 'no-cache'],
      ['a history', '/documents/rules/history', 'no-cache'],
      ['the feed', '/feed.atom', 'no-cache'],
      ["a document's feed", '/documents/rules/feed.atom', 'no-cache'],
      ['the documents (API)', '/api/v1/documents', 'no-cache'],
      ['a document (API)', '/api/v1/documents/rules', 'no-cache'],
      ['the versions (API)', '/api/v1/documents/rules/versions', 'no-cache'],
      ['the OpenAPI document', '/api/v1/openapi.json', 'no-cache'],
    ];

    test.each(cases)('%s: %s → %s', async (_what, url, expected) => {
      const res = await raw(url);
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe(expected);
      expect(res.headers['set-cookie']).toBeUndefined();
      // What could differ for someone signed in is keyed on what says so.
      expect(res.headers.vary).toContain(url.startsWith('/api/') ? 'Authorization' : 'Cookie');
      if (expected === 'no-cache') expect(res.headers.etag).toBeTruthy();
    });

    test.each(['/', '/documents/rules/history', '/feed.atom', '/api/v1/documents', '/api/v1/documents/rules/versions'])(
      '%s revalidates: the same ETag answers 304 with no body',
      async (url) => {
        const first = await raw(url, { 'Accept-Encoding': 'br' });
        const etag = first.headers.etag!;
        const again = await raw(url, { 'Accept-Encoding': 'br', 'If-None-Match': etag });
        expect(again.status).toBe(304);
        expect(again.body.length).toBe(0);
        expect(again.headers['cache-control']).toBe('no-cache');
        // Compressed or not, the content is the same: one (weak) ETag for both.
        expect((await raw(url)).headers.etag).toBe(etag);
      },
    );

    test('an answer that is not there (yet) is never kept', async () => {
      for (const url of [
        '/documents/rules/versions/4',
        '/documents/rules/versions/4.md',
        '/documents/rules/compare?from=1&to=4',
        '/api/v1/documents/rules/versions/4',
        '/api/v1/documents/rules/diff?from=1&to=4',
        '/no/such/page',
        '/documents/rules/versions/abc',
      ]) {
        const res = await raw(url);
        expect([400, 404]).toContain(res.status);
        expect(res.headers['cache-control']).toBe('no-store');
      }
    });

    test('a page that sets a cookie or carries a form token is private (the sign-in form)', async () => {
      const first = await raw('/login');
      expect(first.headers['set-cookie']?.length).toBeGreaterThan(0);
      expect(first.headers['cache-control']).toBe(PERSONAL);
      // Again with the cookie it set: no cookie now, but the form's token is made from it.
      const cookie = first.headers['set-cookie']![0].split(';')[0];
      const again = await raw('/login', { Cookie: cookie });
      expect(again.headers['set-cookie']).toBeUndefined();
      expect(again.headers['cache-control']).toBe(PERSONAL);
      // That cookie alone (no session) does not make the public pages personal.
      expect((await raw('/documents/rules/versions/1', { Cookie: cookie })).headers['cache-control']).toBe(IMMUTABLE);
    });

    test('an earlier version page is the same after a newer version; the latest becomes immutable once superseded', async () => {
      const before1 = decode(await raw('/documents/rules/versions/1'));
      const before2 = decode(await raw('/documents/rules/versions/2'));
      expect(before1).toContain('not the current version');
      expect(before1).not.toMatch(/version 3|to=3|of 3\b/);
      expect((await raw('/documents/rules/versions/3')).headers['cache-control']).toBe('no-cache');
      await publish(4);
      expect(decode(await raw('/documents/rules/versions/1'))).toBe(before1);
      expect(decode(await raw('/documents/rules/versions/2'))).toBe(before2);
      expect((await raw('/documents/rules/versions/3')).headers['cache-control']).toBe(IMMUTABLE);
      expect((await raw('/documents/rules/versions/4')).headers['cache-control']).toBe('no-cache');
    });
  });

  describe('assets and the favicon', () => {
    test('pages link the stylesheet and script by fingerprint, kept a year; the plain URLs still answer, revalidated', async () => {
      const { css, js } = await assetUrls();
      expect(css).toMatch(/^\/assets\/ratify\.[0-9a-f]{10}\.css$/);
      expect(js).toMatch(/^\/assets\/ratify\.[0-9a-f]{10}\.js$/);
      for (const url of [css, js]) {
        const res = await raw(url);
        expect(res.status).toBe(200);
        expect(res.headers['cache-control']).toBe(IMMUTABLE);
      }
      for (const url of ['/assets/ratify.css', '/assets/ratify.js']) {
        const res = await raw(url);
        expect(res.status).toBe(200);
        expect(res.headers['cache-control']).toBe('no-cache');
        expect(res.headers.etag).toBeTruthy();
        const again = await raw(url, { 'If-None-Match': res.headers.etag! });
        expect(again.status).toBe(304);
      }
    });

    test('the fingerprint is of the content: a stale one still finds the file (revalidated), an unknown file is a 404', async () => {
      const { css } = await assetUrls();
      const stale = await raw(css.replace(/\.[0-9a-f]{10}\./, '.0123456789.'));
      expect(stale.status).toBe(200);
      expect(stale.headers['cache-control']).toBe('no-cache');
      expect(stale.body.equals((await raw(css)).body)).toBe(true);
      const missing = await raw('/assets/nothing.0123456789.css');
      expect(missing.status).toBe(404);
      expect(missing.headers['cache-control']).toBe('no-store');
    });

    test('someone signed in gets the same assets, cached the same way (the same bytes for everyone)', async () => {
      const { css } = await assetUrls();
      const res = await member.get(css);
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe(IMMUTABLE);
      expect(res.headers['set-cookie']).toBeUndefined();
    });

    test('/favicon.svg is our SVG, linked from every page; /favicon.ico answers 204', async () => {
      const svg = await raw('/favicon.svg');
      expect(svg.status).toBe(200);
      expect(svg.headers['content-type']).toMatch(/^image\/svg\+xml/);
      expect(svg.body.toString('utf8')).toBe(
        await fsp.readFile(path.join(projectRoot, 'public', 'favicon.svg'), 'utf8'),
      );
      expect(svg.headers['cache-control']).toBe('public, max-age=86400');
      const ico = await raw('/favicon.ico');
      expect(ico.status).toBe(204);
      expect(ico.body.length).toBe(0);
      expect(ico.headers['cache-control']).toBe('public, max-age=86400');
      expect(decode(await raw('/'))).toContain('<link rel="icon" href="/favicon.svg" type="image/svg+xml">');
    });
  });

  describe('someone signed in: every answer is private, no-store', () => {
    const pages = [
      '/',
      '/documents/rules',
      '/documents/rules/history',
      '/documents/rules/versions/1',
      '/documents/rules/versions/1.md',
      '/documents/rules/compare?from=1&to=2',
      '/feed.atom',
      '/drafts',
      '/rounds',
      '/account',
      '/no/such/page',
    ];
    const api = [
      '/api/v1/documents',
      '/api/v1/documents/rules',
      '/api/v1/documents/rules/versions',
      '/api/v1/documents/rules/versions/1',
      '/api/v1/documents/rules/diff?from=1&to=2',
      '/api/v1/me',
      '/api/v1/documents/rules/versions/99',
    ];

    test.each(pages)('with the session cookie: %s', async (url) => {
      const res = await member.get(url);
      expect(res.headers['cache-control']).toBe(PERSONAL);
      expect(res.headers['cache-control']).not.toMatch(/public/);
    });

    test('a page made for them carries no ETag (nothing keeps it to ask again); the same page for the public does', async () => {
      const views = pages.filter((u) => !/\.md$|feed/.test(u));
      for (const url of views) {
        const res = await member.get(url);
        expect({ url, type: res.headers['content-type'], etag: res.headers.etag }).toEqual({
          url,
          type: expect.stringMatching(/^text\/html/),
          etag: undefined,
        });
      }
      expect((await request(t.app).get('/documents/rules/history')).headers.etag).toBeTruthy();
      expect((await member.get('/documents/rules/versions/1.md')).headers.etag).toBeTruthy();
    });

    test.each(api)('with a bearer token: %s', async (url) => {
      const res = await request(t.app).get(url).set(apiUser.auth);
      expect(res.headers['cache-control']).toBe(PERSONAL);
      expect(res.headers['cache-control']).not.toMatch(/public/);
    });

    test('a bearer token on a page, or a session cookie that is no longer valid, is still private', async () => {
      for (const url of ['/documents/rules/versions/1', '/documents/rules/compare?from=1&to=2']) {
        expect((await request(t.app).get(url).set(apiUser.auth)).headers['cache-control']).toBe(PERSONAL);
        const stale = await request(t.app).get(url).set('Cookie', 'ratify.sid=s%3Anot-a-session.sig');
        expect(stale.status).toBe(200);
        expect(stale.headers['cache-control']).toBe(PERSONAL);
      }
    });

    test('the admin pages and the answers to writes are private too', async () => {
      expect((await secretariat.get('/admin')).headers['cache-control']).toBe(PERSONAL);
      const post = await request(t.app).post('/api/v1/tokens').set(apiUser.auth).send({ name: 'another' });
      expect(post.headers['cache-control']).toBe(PERSONAL);
      const anon = await request(t.app).post('/api/v1/tokens').send({ name: 'x' });
      expect(anon.status).toBeGreaterThanOrEqual(400);
      expect(anon.headers['cache-control']).toBe('no-store');
    });
  });

  describe('meta description', () => {
    const description = (html: string) => /<meta name="description" content="([^"]*)">/.exec(html)?.[1];

    test('every view that makes a page includes the top partial, which always writes a description', async () => {
      const views = path.join(projectRoot, 'views');
      const top = await fsp.readFile(path.join(views, 'partials', 'top.ejs'), 'utf8');
      expect(top).toMatch(/<meta name="description" content="<%= locals\.description \|\| '[^']{40,}' %>">/);
      const files = (await fsp.readdir(views, { recursive: true }))
        .map(String)
        .filter((f) => f.endsWith('.ejs') && !f.startsWith('partials') && !path.basename(f).startsWith('_'));
      expect(files.length).toBeGreaterThan(20);
      for (const f of files)
        expect(`${f}: ${await fsp.readFile(path.join(views, f), 'utf8')}`).toMatch(/partials\/top/);
    });

    test.each([
      ['/', /^Ratify: where this committee governs its foundational texts/],
      ['/documents/rules', /^Rules of Procedure: the current text, version \d, published /],
      ['/documents/rules/versions/2', /^Rules of Procedure, version 2, published .*: Version 2 of the rules$/],
      ['/documents/rules/history', /^Every published version of Rules of Procedure/],
      ['/documents/rules/compare?from=1&to=2', /^What changed in Rules of Procedure from version 1 to version 2: /],
      ['/login', /^Sign in to Ratify/],
      ['/no/such/page', /^Ratify: where a committee governs its foundational texts/],
    ])('%s', async (url, expected) => {
      const res = await request(t.app).get(url);
      expect(description(res.text)).toMatch(expected);
    });

    test('signed-in pages have one too', async () => {
      expect(description((await member.get('/rounds')).text)).toMatch(/^Approval rounds on Ratify/);
      for (const url of ['/drafts', '/account']) expect(description((await member.get(url)).text)).toBeTruthy();
      expect(description((await secretariat.get('/admin')).text)).toBeTruthy();
    });
  });
});
