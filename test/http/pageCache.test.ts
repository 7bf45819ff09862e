/**
 * A published version's page is rendered once for every anonymous reader until the next write
 * (issue 17: the public's page under load). What is kept is exactly what a fresh render gives; a
 * write — here a newer version, which makes the page say "an earlier version" — renders it
 * again; someone signed in always gets a page rendered for them.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { makeUser, signedIn } from '../helpers/auth.js';
import { openTestApp, testClock } from '../helpers/data.js';
import { publishedText } from '../helpers/people.js';
import { publishVersion } from '../../server/services/publishVersion.js';
import type { PageCache } from '../../server/http/pageCache.js';

describe('http/pageCache', () => {
  const SLUG = 'terms-of-reference';
  const clock = testClock('2026-01-15T10:00:00Z');
  let t: Awaited<ReturnType<typeof openTestApp>>;
  const stats = () => (t.app.locals.pageCache as PageCache).stats();

  beforeAll(async () => {
    t = await openTestApp({ clock });
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  test('kept for anonymous readers until a write; the kept page is a fresh render; signed-in readers bypass it', async () => {
    const url = `/documents/${SLUG}/versions/1`;
    const first = await request(t.app).get(url);
    expect(first.status).toBe(200);
    const s0 = stats();
    const second = await request(t.app).get(url);
    expect(second.status).toBe(200);
    expect(second.text).toBe(first.text);
    expect(second.headers.etag).toBe(first.headers.etag);
    // Kept encoded: the same bytes, length and type as the page rendered.
    expect(second.headers['content-type']).toBe(first.headers['content-type']);
    expect(second.headers['content-type']).toMatch(/^text\/html; charset=utf-8$/i);
    expect(second.headers['content-length']).toBe(first.headers['content-length']);
    expect(stats().hits).toBe(s0.hits + 1);
    // A revalidation against the kept page's ETag is a 304, as before.
    expect((await request(t.app).get(url).set('If-None-Match', first.headers.etag)).status).toBe(304);

    // Messages are written all the time and appear on no public page: the kept page stays.
    const kept = stats().hits;
    await t.ctx.meta.write({
      actor: null,
      at: clock(),
      events: [],
      puts: {
        digestItems: { 1: { id: 1, userId: 1, subject: 's', text: 't', link: '/', createdAt: clock().toISOString() } },
      },
    });
    expect((await request(t.app).get(url)).text).toBe(first.text);
    expect(stats().hits).toBe(kept + 1);

    // A signed-in member gets their own page (with their name in it), never the kept one.
    const u = await makeUser(t.ctx, {
      email: 'm@example.org',
      name: 'Mia Member',
      roles: ['member'],
      password: 'a long enough password',
    });
    const mia = await signedIn(t.app, u.email, 'a long enough password');
    const hits = stats().hits;
    const hers = await mia.get(url);
    expect(hers.text).toContain('Mia Member');
    expect(stats().hits).toBe(hits);

    // A write: version 2 is published, version 1's page now says it is an earlier one.
    const doc = t.ctx.meta.get('documents', SLUG)!;
    clock.advance(60_000);
    await publishVersion(t.ctx, {
      slug: SLUG,
      title: doc.title,
      group: doc.group,
      text: `${await publishedText(t.ctx)}\nOne more line.\n`,
      summary: 'One more line',
      author: { name: 'Sam Sec', email: 'sec@example.org', at: clock() },
    });
    const after = await request(t.app).get(url);
    expect(after.text).not.toBe(first.text);
    expect(after.text).toContain('an earlier version');
    expect(after.text).not.toContain('Mia Member');
  });
});
