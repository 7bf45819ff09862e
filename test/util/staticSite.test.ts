import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { fileOf, relativeUrl, rewriteAbsolute, rewriteLinks } from '../../server/util/staticSite.js';

describe('util/staticSite', () => {
  describe('static layout', () => {
    test('each public URL has its file; a query names its own', () => {
      expect(fileOf('/')).toBe('index.html');
      expect(fileOf('/documents/tor')).toBe('documents/tor/index.html');
      expect(fileOf('/documents/tor/versions/3')).toBe('documents/tor/versions/3/index.html');
      expect(fileOf('/documents/tor/versions/3.md')).toBe('documents/tor/versions/3.md');
      expect(fileOf('/documents/tor/compare?from=2&to=3')).toBe('documents/tor/compare/2-3/index.html');
      expect(fileOf('/documents/tor/compare?from=2&to=3&view=source')).toBeNull();
      expect(fileOf('/feed.atom?page=2')).toBe('feed-2.atom');
      expect(fileOf('/feed.atom?page=1')).toBe('feed.atom');
      expect(fileOf('/documents/tor/feed.json?page=4')).toBe('documents/tor/feed-4.json');
      expect(fileOf('/login?next=%2F')).toBeNull();
    });

    test('a relative URL from one file leads to the other', () => {
      fc.assert(
        fc.property(
          fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 4 }),
          fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 4 }),
          (x, y) => {
            const from = [...x, 'index.html'].join('/');
            const to = [...y, 'index.html'].join('/');
            expect(new URL(relativeUrl(from, to), `http://h/${from}`).pathname).toBe(`/${to}`);
          },
        ),
      );
    });

    test('links into the site point at exported files, or at the live site; others stay', () => {
      const exported = (u: string) => (u.startsWith('/login') ? null : fileOf(u));
      const html =
        '<a href="/documents/tor/versions/2#p-3">2</a><a href="#top">t</a><a href="https://elsewhere.org/x">e</a>' +
        '<a href="/login?next=%2Fx">in</a><form action="/documents/tor/compare"></form><a href="../compare?from=1&amp;to=2">c</a>';
      const out = rewriteLinks(
        html,
        '/documents/tor/versions/3',
        'documents/tor/versions/3/index.html',
        exported,
        'https://live.org',
      );
      expect(out).toContain('href="../2/index.html#p-3"');
      expect(out).toContain('href="#top"');
      expect(out).toContain('href="https://elsewhere.org/x"');
      expect(out).toContain('href="https://live.org/login?next=%2Fx"');
      // A form (compare any two versions) needs the live site.
      expect(out).toContain('action="https://live.org/documents/tor/compare"');
      expect(out).toContain('href="../../compare/1-2/index.html"');
    });

    test("a feed's paging and entry links point at the files", () => {
      const xml =
        '<link rel="next" href="https://r.org/feed.atom?page=2"/><link href="https://r.org/documents/tor/compare?from=1&amp;to=2"/><link href="https://r.org/documents/tor/versions/1"/>';
      const out = rewriteAbsolute(xml, 'https://r.org', fileOf);
      expect(out).toBe(
        '<link rel="next" href="https://r.org/feed-2.atom"/><link href="https://r.org/documents/tor/compare/1-2/"/><link href="https://r.org/documents/tor/versions/1"/>',
      );
    });
  });
});
