/**
 * Complete feeds (issue 16, item 5): every version is reachable through RFC 5005 paging (50 a
 * page, `next` to older pages, `previous` to newer, `first`/`last`); entry ids are `tag:` URIs
 * made from a host and date chosen at installation, so they do not change when BASE_URL does;
 * the feed says its language; a JSON Feed 1.1 sits beside each Atom feed; a feed's errors are
 * plain text, never an HTML page.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { SaxesParser, type SaxesTagPlain } from 'saxes';
import request from 'supertest';
import { createApp } from '../../server/app.js';
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { addDocument } from '../../server/services/addDocument.js';
import { publishVersion } from '../../server/services/publishVersion.js';
import { openTestApp, testClock } from '../helpers/data.js';

describe('http/feedPaging', () => {
  const clock = testClock('2026-01-15T10:00:00Z');
  let t: Awaited<ReturnType<typeof openTestApp>>;
  const VERSIONS = 123;

  beforeAll(async () => {
    t = await openTestApp({ clock });
    await addDocument(t.ctx, CLI_ACTOR, { slug: 'long', title: 'Long history', group: 'mag', text: '# Long\n\nv1\n' });
    for (let n = 2; n <= VERSIONS; n++) {
      clock.advance(60_000);
      await publishVersion(t.ctx, {
        slug: 'long',
        title: 'Long history',
        group: 'mag',
        text: `# Long\n\nv${n}\n`,
        summary: `Version ${n}`,
        author: { name: 'Cara', email: 'cara@example.org', at: clock() },
        // In a row, as an import publishes: the public repository is not what this file is about.
        batch: true,
      });
    }
  }, 120_000);
  afterAll(() => t.cleanup());

  interface Atom {
    lang: string | null;
    id: string;
    links: Record<string, string>;
    entries: string[];
  }

  /** The parts of an Atom feed this test reads, with a strict XML parser. */
  function readAtom(xml: string): Atom {
    const out: Atom = { lang: null, id: '', links: {}, entries: [] };
    const p = new SaxesParser();
    const path: string[] = [];
    p.on('error', (e) => {
      throw e;
    });
    p.on('opentag', (tag: SaxesTagPlain) => {
      path.push(tag.name);
      if (tag.name === 'feed') out.lang = (tag.attributes['xml:lang'] as string) ?? null;
      if (tag.name === 'link' && path.length === 2)
        out.links[tag.attributes.rel as string] = tag.attributes.href as string;
    });
    p.on('text', (text) => {
      if (path.join('/') === 'feed/id') out.id += text;
      if (path.join('/') === 'feed/entry/id') out.entries.push(text);
    });
    p.on('closetag', () => void path.pop());
    p.write(xml).close();
    return out;
  }

  const local = (href: string) => href.replace('http://ratify.test', '');

  describe('Atom paging (RFC 5005)', () => {
    test.each(['/documents/long/feed.atom', '/feed.atom'])(
      '%s: following "next" reaches every version once; "previous" and "first" lead back',
      async (url) => {
        const seen: string[] = [];
        let next: string | undefined = url;
        let pages = 0;
        let first: Atom | null = null;
        while (next) {
          const res = await request(t.app).get(local(next)).expect(200);
          expect(res.headers['content-type']).toMatch(/^application\/atom\+xml/);
          const feed = readAtom(res.text);
          first ??= feed;
          expect(feed.lang).toBe('en');
          expect(feed.entries.length).toBeLessThanOrEqual(50);
          if (pages > 0) expect(feed.links.previous).toBeDefined();
          expect(local(feed.links.first)).toBe(url);
          seen.push(...feed.entries);
          next = feed.links.next;
          pages++;
        }
        const expected = url === '/feed.atom' ? VERSIONS + 2 : VERSIONS; // the two seeded documents' version 1
        expect(new Set(seen).size).toBe(expected);
        expect(seen.length).toBe(expected);
        expect(pages).toBe(Math.ceil(expected / 50));
        expect(first!.links.last).toBeDefined();
      },
    );

    test('entry ids are tag: URIs that do not change when BASE_URL does', async () => {
      const here = readAtom((await request(t.app).get('/documents/long/feed.atom')).text);
      const moved = createApp({
        ctx: t.ctx,
        config: { baseUrl: 'https://governance.example.org', writeLimit: 0 },
        sessions: t.sessions,
      });
      const there = readAtom((await request(moved).get('/documents/long/feed.atom')).text);
      expect(here.entries[0]).toMatch(/^tag:[a-z0-9.-]+,\d{4}-\d{2}-\d{2}:documents\/long\/versions\/123$/);
      expect(there.entries).toEqual(here.entries);
      expect(there.id).toBe(here.id);
      // The links move with BASE_URL; the ids do not.
      expect(there.links.self).toBe('https://governance.example.org/documents/long/feed.atom');
    });
  });

  describe('JSON Feed 1.1 beside each Atom feed', () => {
    test.each(['/documents/long/feed.json', '/feed.json'])(
      '%s pages through every version with next_url',
      async (url) => {
        const ids: string[] = [];
        let next: string | undefined = url;
        while (next) {
          const res = await request(t.app).get(local(next)).expect(200);
          expect(res.headers['content-type']).toMatch(/^application\/feed\+json/);
          const feed = res.body as {
            version: string;
            items: { id: string; url: string }[];
            next_url?: string;
            language?: string;
          };
          expect(feed.version).toBe('https://jsonfeed.org/version/1.1');
          expect(feed.language).toBe('en');
          ids.push(...feed.items.map((i) => i.id));
          next = feed.next_url;
        }
        expect(new Set(ids).size).toBe(url === '/feed.json' ? VERSIONS + 2 : VERSIONS);
      },
    );
  });

  describe("a feed's errors are plain text", () => {
    test.each([
      ['/documents/nothing/feed.atom', 404],
      ['/documents/nothing/feed.json', 404],
      ['/documents/long/feed.atom?page=99', 404],
      ['/documents/long/feed.atom?page=abc', 404],
    ])('%s → %i, text/plain', async (url, status) => {
      const res = await request(t.app).get(url).set('Accept', 'text/html,*/*');
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.text).not.toContain('<html');
    });
  });
});
