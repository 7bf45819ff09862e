/**
 * Citable versions (issue 16, item 6): every version page shows a citation line — the site (the
 * committee, SITE_NAME), the document, the version, its date, its permanent URL — and its commit
 * id; `/documents/:slug/v/:n` is a short link (for minutes and mails) that redirects to it.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { createApp } from '../../server/app.js';
import { openTestApp } from '../helpers/data.js';

describe('http/citableVersions', () => {
  const TOR = 'terms-of-reference';
  let t: Awaited<ReturnType<typeof openTestApp>>;
  beforeAll(async () => {
    t = await openTestApp();
  });
  afterAll(() => t.cleanup());

  test('the version page cites the site, the document, the version, the date, the permanent URL and the commit', async () => {
    const app = createApp({
      ctx: t.ctx,
      config: { baseUrl: 'http://ratify.test', writeLimit: 0, siteName: 'Multistakeholder Advisory Group' },
      sessions: t.sessions,
    });
    const v = t.ctx.meta.get('versions', `${TOR}/1`) ?? t.ctx.meta.all('versions').find((x) => x.document === TOR)!;
    for (const url of [`/documents/${TOR}`, `/documents/${TOR}/versions/1`]) {
      const res = await request(app).get(url).expect(200);
      const cite = /<p class="citation"[^>]*>([\s\S]*?)<\/p>/.exec(res.text)?.[1] ?? '';
      const text = cite.replace(/<[^>]+>/g, '');
      expect(text).toContain('Multistakeholder Advisory Group');
      expect(text).toContain('Terms of Reference of the Multistakeholder Advisory Group, version 1');
      expect(text).toContain(`http://ratify.test/documents/${TOR}/v/1`);
      expect(cite).toContain(`<code title="${v.commit}">${v.commit.slice(0, 12)}</code>`);
    }
  });

  test('/documents/:slug/v/:n redirects to the version; an unknown one is 404', async () => {
    const res = await request(t.app).get(`/documents/${TOR}/v/1`);
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe(`/documents/${TOR}/versions/1`);
    expect((await request(t.app).get(`/documents/${TOR}/v/99`)).status).toBe(404);
    // A malformed number answers as it does on the version page itself.
    expect((await request(t.app).get(`/documents/${TOR}/v/x`)).status).toBe(
      (await request(t.app).get(`/documents/${TOR}/versions/x`)).status,
    );
    expect((await request(t.app).get('/documents/nothing/v/1')).status).toBe(404);
  });

  test('compare, formatted side by side: the old version on the left with what it lost, the new on the right with what it gained', async () => {
    const { publishVersion } = await import('../../server/services/publishVersion.js');
    const text = (await request(t.app).get(`/documents/${TOR}/versions/1.md`)).text;
    await publishVersion(t.ctx, {
      slug: TOR,
      title: 'Terms of Reference of the Multistakeholder Advisory Group',
      group: 'wg-strategy',
      text: text.replace('Chatham House Rule', '**open record** rule'),
      summary: 'Open record',
      author: { name: 'Cara', email: 'cara@example.org', at: new Date('2026-02-01T10:00:00Z') },
    });
    const res = await request(t.app).get(`/documents/${TOR}/compare?from=1&to=2&view=side-formatted`).expect(200);
    const rows = [...res.text.matchAll(/<div class="row changed"[^>]*>([\s\S]*?)<\/div>\s*<\/div>/g)].map((m) => m[1]);
    expect(rows.length).toBeGreaterThan(0);
    const [left, right] = rows[0].split(/<div class="para prose" role="cell"[^>]*>/).slice(1);
    expect(left).toContain('<del>');
    expect(left).not.toContain('<ins>');
    expect(right).toContain('<ins>');
    expect(right).not.toContain('<del>');
    // Formatting kept: the new words are bold on the right.
    expect(right).toContain('<ins><strong>open record</strong>');
  });
});
