import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import request from 'supertest';
import { addDocument } from '../../server/services/addDocument.js';
import { publishVersion } from '../../server/services/publishVersion.js';
import { openTestApp, projectRoot, testClock } from '../helpers/data.js';

describe('http/publicApi', () => {
  type Change = { op: 'equal' | 'insert' | 'delete'; text: string };

  const clock = testClock('2026-01-15T10:00:00Z');
  let t: Awaited<ReturnType<typeof openTestApp>>;

  /** The texts of the document `charter`, by version number (index 0 unused). */
  const CHARTER = [
    '',
    '# Charter\n\nThe committee meets twice a year.\n\nMeetings are held under the Chatham House Rule.\n\nMembers serve two years.\n',
    '# Charter\n\nThe committee meets three times a year.\n\nMeetings are held under the Chatham House Rule.\n\nMembers serve two years.\n\nThe chair is elected.\n',
    '# Charter\n\nThe committee meets three times a year, online or in person.\n\nMeetings are public.\n\nThe chair is elected by the members. Naïve “quotes” — and 😀.\n',
  ];

  const side = (cs: Change[], skip: Change['op']) =>
    cs
      .filter((c) => c.op !== skip)
      .map((c) => c.text)
      .join('');

  /** Every error answer has exactly the documented shape and no stack trace. */
  function expectApiError(res: request.Response, status: number | number[], code?: string) {
    const statuses = Array.isArray(status) ? status : [status];
    expect(statuses).toContain(res.status);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(Object.keys(res.body)).toEqual(['error']);
    expect(typeof res.body.error.code).toBe('string');
    expect(typeof res.body.error.message).toBe('string');
    expect(res.body.error.message.length).toBeGreaterThan(0);
    if (code) expect(res.body.error.code).toBe(code);
    expect(res.text).not.toMatch(/\bat .*\(.*:\d+:\d+\)/);
    expect(res.text).not.toMatch(/\\n\s+at /);
    expect(res.text).not.toContain('node_modules');
    expect(res.text).not.toContain(projectRoot);
  }

  beforeAll(async () => {
    t = await openTestApp({ clock });
    clock.advance(60_000);
    await addDocument(
      t.ctx,
      { id: 999, name: 'Alice Chair', email: 'alice@example.org', roles: ['secretariat'], groups: [] },
      {
        slug: 'charter',
        title: 'Committee Charter',
        group: 'mag',
        text: CHARTER[1],
        summary: 'First charter',
      },
    );
    for (const n of [2, 3]) {
      clock.advance(60_000);
      await publishVersion(t.ctx, {
        slug: 'charter',
        title: 'Committee Charter',
        group: 'mag',
        text: CHARTER[n],
        summary: `Charter change ${n}`,
        author: { name: `Author ${n}`, email: `author${n}@example.org`, at: clock() },
      });
    }
  });
  afterAll(async () => {
    await t.cleanup();
  });

  describe('GET /api/v1/documents', () => {
    test('lists every published document with its latest version', async () => {
      const res = await request(t.app).get('/api/v1/documents');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(Array.isArray(res.body)).toBe(true);
      const bySlug = Object.fromEntries(res.body.map((d: { slug: string }) => [d.slug, d]));
      expect(Object.keys(bySlug).sort()).toEqual(['charter', 'terms-of-reference', 'workshop-process']);
      for (const d of res.body) {
        expect(Object.keys(d).sort()).toEqual(['group', 'slug', 'title', 'version']);
        expect(typeof d.title).toBe('string');
        expect(Object.keys(d.version).sort()).toEqual(['commit', 'number', 'publishedAt']);
        expect(d.version.commit).toMatch(/^[0-9a-f]{40}$/);
        expect(new Date(d.version.publishedAt).toISOString()).toBe(d.version.publishedAt);
      }
      expect(bySlug['terms-of-reference'].group).toBe('wg-strategy');
      expect(bySlug['terms-of-reference'].version.number).toBe(1);
      expect(bySlug['workshop-process'].group).toBe('wg-wsp');
      expect(bySlug['workshop-process'].version.number).toBe(1);
      expect(bySlug.charter).toMatchObject({ group: 'mag', title: 'Committee Charter', version: { number: 3 } });
    });
  });

  describe('GET /api/v1/documents/:slug', () => {
    test.each(['terms-of-reference', 'workshop-process'])(
      '%s: the text equals the file in documents/',
      async (slug) => {
        const file = await fsp.readFile(path.join(projectRoot, 'documents', `${slug}.md`), 'utf8');
        const res = await request(t.app).get(`/api/v1/documents/${slug}`);
        expect(res.status).toBe(200);
        expect(Object.keys(res.body).sort()).toEqual(['group', 'slug', 'text', 'title', 'version']);
        expect(res.body.slug).toBe(slug);
        expect(res.body.version.number).toBe(1);
        expect(res.body.text).toBe(file);
      },
    );

    test('a document with several versions answers its latest text', async () => {
      const res = await request(t.app).get('/api/v1/documents/charter');
      expect(res.status).toBe(200);
      expect(res.body.version.number).toBe(3);
      expect(res.body.text).toBe(CHARTER[3]);
    });
  });

  describe('GET /api/v1/documents/:slug/versions', () => {
    test('seeded documents: one version, no round, no proposals', async () => {
      const res = await request(t.app).get('/api/v1/documents/terms-of-reference/versions');
      expect(res.status).toBe(200);
      expect(res.body).toHaveLength(1);
      const [v] = res.body;
      expect(v).toMatchObject({
        number: 1,
        round: null,
        proposals: [],
        author: 'Ratify',
        summary: 'Terms of reference as adopted',
      });
      expect(v.commit).toMatch(/^[0-9a-f]{40}$/);
    });

    test('newest first, with author, summary, round null and proposals []', async () => {
      const res = await request(t.app).get('/api/v1/documents/charter/versions');
      expect(res.status).toBe(200);
      expect(res.body.map((v: { number: number }) => v.number)).toEqual([3, 2, 1]);
      for (const v of res.body) {
        expect(Object.keys(v).sort()).toEqual([
          'author',
          'commit',
          'number',
          'proposals',
          'publishedAt',
          'round',
          'summary',
        ]);
        expect(v.round).toBeNull();
        expect(v.proposals).toEqual([]);
        expect(v.commit).toMatch(/^[0-9a-f]{40}$/);
      }
      expect(res.body.map((v: { author: string }) => v.author)).toEqual(['Author 3', 'Author 2', 'Alice Chair']);
      expect(res.body.map((v: { summary: string }) => v.summary)).toEqual([
        'Charter change 3',
        'Charter change 2',
        'First charter',
      ]);
      const times = res.body.map((v: { publishedAt: string }) => Date.parse(v.publishedAt));
      expect(times[0]).toBeGreaterThan(times[1]);
      expect(times[1]).toBeGreaterThan(times[2]);
      expect(new Set(res.body.map((v: { commit: string }) => v.commit)).size).toBe(3);
    });
  });

  describe('GET /api/v1/documents/:slug/versions/:n', () => {
    test.each([1, 2, 3])('version %i has its own text and summary', async (n) => {
      const list = (await request(t.app).get('/api/v1/documents/charter/versions')).body as {
        number: number;
        commit: string;
        publishedAt: string;
      }[];
      const res = await request(t.app).get(`/api/v1/documents/charter/versions/${n}`);
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(['commit', 'number', 'publishedAt', 'summary', 'text']);
      expect(res.body.number).toBe(n);
      expect(res.body.text).toBe(CHARTER[n]);
      expect(res.body.summary).toBe(n === 1 ? 'First charter' : `Charter change ${n}`);
      const entry = list.find((v) => v.number === n)!;
      expect(res.body.commit).toBe(entry.commit);
      expect(res.body.publishedAt).toBe(entry.publishedAt);
    });

    test('seeded version 1 text equals the file', async () => {
      const file = await fsp.readFile(path.join(projectRoot, 'documents', 'workshop-process.md'), 'utf8');
      const res = await request(t.app).get('/api/v1/documents/workshop-process/versions/1');
      expect(res.status).toBe(200);
      expect(res.body.text).toBe(file);
    });
  });

  describe('GET /api/v1/documents/:slug/diff', () => {
    const pairs: [number, number][] = [];
    for (const a of [1, 2, 3]) for (const b of [1, 2, 3]) pairs.push([a, b]);

    test.each(pairs)('from=%i to=%i satisfies the diff law', async (from, to) => {
      const res = await request(t.app).get(`/api/v1/documents/charter/diff?from=${from}&to=${to}`);
      expect(res.status).toBe(200);
      expect(res.body.from).toBe(from);
      expect(res.body.to).toBe(to);
      const cs = res.body.changes as Change[];
      expect(Array.isArray(cs)).toBe(true);
      for (const c of cs) {
        expect(['equal', 'insert', 'delete']).toContain(c.op);
        expect(typeof c.text).toBe('string');
        expect(c.text).not.toBe('');
      }
      expect(side(cs, 'insert')).toBe(CHARTER[from]);
      expect(side(cs, 'delete')).toBe(CHARTER[to]);
      if (from === to) expect(cs).toEqual([{ op: 'equal', text: CHARTER[from] }]);
      else expect(cs.some((c) => c.op !== 'equal')).toBe(true);
    });

    test('a word-level change shows the word, not the whole paragraph', async () => {
      const res = await request(t.app).get('/api/v1/documents/charter/diff?from=1&to=2');
      const cs = res.body.changes as Change[];
      expect(cs).toContainEqual({ op: 'delete', text: 'twice' });
      expect(cs).toContainEqual({ op: 'insert', text: 'three times' });
    });

    test('a seeded document diffed with itself is one equal change', async () => {
      const file = await fsp.readFile(path.join(projectRoot, 'documents', 'terms-of-reference.md'), 'utf8');
      const res = await request(t.app).get('/api/v1/documents/terms-of-reference/diff?from=1&to=1');
      expect(res.status).toBe(200);
      expect(res.body.changes).toEqual([{ op: 'equal', text: file }]);
    });
  });

  describe('errors', () => {
    test('unknown slug → 404 document_not_found on every document route', async () => {
      for (const url of [
        '/api/v1/documents/no-such-doc',
        '/api/v1/documents/no-such-doc/versions',
        '/api/v1/documents/no-such-doc/versions/1',
        '/api/v1/documents/no-such-doc/diff?from=1&to=1',
      ]) {
        const res = await request(t.app).get(url);
        expectApiError(res, 404, 'document_not_found');
      }
    });

    test.each([
      ['UPPER'],
      ['a..b'],
      ['a'.repeat(70)],
      ['%2e%2e'],
      ['%2E%2E'],
      ['-leading-dash'],
      ['a%2Fb'],
      ['a%00b'],
      ['caf%C3%A9'],
    ])('slug %s that cannot be a document → 404', async (slug) => {
      for (const suffix of ['', '/versions', '/versions/1', '/diff?from=1&to=1']) {
        const res = await request(t.app).get(`/api/v1/documents/${slug}${suffix}`);
        expectApiError(res, 404, 'document_not_found');
      }
    });

    test('a malformed percent-encoding is a 4xx, not a crash', async () => {
      const res = await request(t.app).get('/api/v1/documents/%E0%A4%A');
      expectApiError(res, [400, 404]);
    });

    test.each(['0', '-1', '1.5', 'abc', '99999999999', '01', '1e2', '%20%31', '0x1', '4'])(
      'versions/%s → 400 or 404 with the error shape',
      async (n) => {
        const res = await request(t.app).get(`/api/v1/documents/charter/versions/${n}`);
        expectApiError(res, [400, 404]);
        if (res.status === 404) expect(res.body.error.code).toBe('version_not_found');
      },
    );

    test('versions/4 of a document with 3 versions → 404 version_not_found', async () => {
      expectApiError(await request(t.app).get('/api/v1/documents/charter/versions/4'), 404, 'version_not_found');
    });

    test.each([
      ['from=x&to=1'],
      ['from=1'],
      ['to=1'],
      [''],
      ['from=0&to=1'],
      ['from=1&to=0'],
      ['from=-1&to=1'],
      ['from=1.5&to=2'],
      ['from=1&to=2&from=3'],
      ['from[]=1&to=2'],
      ['from=&to=2'],
    ])('diff?%s → 400', async (q) => {
      const res = await request(t.app).get(`/api/v1/documents/charter/diff?${q}`);
      expectApiError(res, 400);
    });

    test('diff to or from a version that does not exist → 404 version_not_found', async () => {
      expectApiError(await request(t.app).get('/api/v1/documents/charter/diff?from=1&to=4'), 404, 'version_not_found');
      expectApiError(await request(t.app).get('/api/v1/documents/charter/diff?from=9&to=1'), 404, 'version_not_found');
      expectApiError(
        await request(t.app).get('/api/v1/documents/charter/diff?from=1&to=999999999'),
        404,
        'version_not_found',
      );
    });

    test('unknown API routes → 404 JSON', async () => {
      for (const url of [
        '/api/v1/nope',
        '/api/v1/',
        '/api/v1/documents/charter/versions/1/nope',
        '/api/v2/documents',
      ]) {
        const res = await request(t.app).get(url).set('Accept', 'text/html');
        expectApiError(res, 404);
      }
      expectApiError(await request(t.app).get('/api/v1/nope'), 404, 'no_such_route');
      // A write without credentials is 401 before anything else is looked at (rule 9), even on an unknown route.
      expectApiError(await request(t.app).delete('/api/v1/documents/charter'), 401);
    });

    test('POST with Content-Type text/xml → 4xx JSON, not 5xx', async () => {
      for (const url of ['/api/v1/documents', '/api/v1/documents/charter', '/api/v1/documents/charter/proposals']) {
        const res = await request(t.app).post(url).set('Content-Type', 'text/xml').send('<x>1</x>');
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expectApiError(res, res.status);
      }
    });

    test('a malformed JSON body → 400 invalid_json', async () => {
      const res = await request(t.app)
        .post('/api/v1/documents')
        .set('Content-Type', 'application/json')
        .send('{"slug": "x",');
      expectApiError(res, 400, 'invalid_json');
    });

    test('a JSON body over the limit → 413 body_too_large, not 5xx', async () => {
      const big = JSON.stringify({ text: 'x'.repeat(3 * 1024 * 1024) });
      const res = await request(t.app).post('/api/v1/documents').set('Content-Type', 'application/json').send(big);
      expectApiError(res, 413, 'body_too_large');
    });

    test('a body in an unsupported charset is a 4xx, not 5xx', async () => {
      const res = await request(t.app)
        .post('/api/v1/documents')
        .set('Content-Type', 'application/json; charset=klingon')
        .send('{}');
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expectApiError(res, res.status);
    });
  });
});
