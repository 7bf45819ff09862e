/**
 * Paragraph provenance (issue 16, item 4): `GET /api/v1/documents/:slug/versions/:n/provenance`
 * names, for each numbered paragraph of a version, the version that last changed it (its date,
 * summary and decision), and the version page shows it as a note beside each paragraph linking
 * to that decision. Kept on disk by commit, so a restarted server does not recompute it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { publishVersion } from '../../server/services/publishVersion.js';
import { provenanceOf } from '../../server/services/provenance.js';
import type { RoundRecord } from '../../server/domain/records.js';
import { openTestApp, openTestData } from '../helpers/data.js';

describe('http/provenance', () => {
  const TOR = 'terms-of-reference';
  const TITLE = 'Terms of Reference of the Multistakeholder Advisory Group';
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let v1: string;

  const round = (id: number, commit: string): RoundRecord => ({
    id,
    subject: { type: 'proposal', id: 1 },
    document: TOR,
    commit,
    revision: 1,
    rule: 'majority',
    quorumBp: 5000,
    closesAt: '2026-02-01T00:00:00.000Z',
    openedAt: '2026-01-20T00:00:00.000Z',
    openedBy: 1,
    state: 'closed',
    electorate: [],
    result: 'passed',
    tally: { approve: 14, object: 2, abstain: 1, notVoted: 3 } as RoundRecord['tally'],
    closedAt: '2026-02-01T00:00:00.000Z',
    closedBy: 1,
    cancelReason: null,
  });

  beforeAll(async () => {
    t = await openTestApp();
    v1 = (await request(t.app).get(`/documents/${TOR}/versions/1.md`)).text;
    const paragraphs = v1.split(/\n\n+/);
    const target = paragraphs.findIndex((p) => p.includes('Chatham House'));
    // Version 2 rewords one paragraph and is decided by round 7.
    await publishVersion(t.ctx, {
      slug: TOR,
      title: TITLE,
      group: 'wg-strategy',
      text: v1.replace('Chatham House Rule', 'open record rule'),
      summary: 'Open record',
      author: { name: 'Cara', email: 'cara@example.org', at: new Date('2026-02-01T10:00:00Z') },
      round: 7,
      alsoWrite: (v) => ({ puts: { rounds: { 7: round(7, v.commit) } } }),
    });
    expect(target).toBeGreaterThanOrEqual(0);
  });
  afterAll(() => t.cleanup());

  test('each paragraph names the version that last changed it, with its decision', async () => {
    const res = await request(t.app).get(`/api/v1/documents/${TOR}/versions/2/provenance`).expect(200);
    expect(res.body.document).toBe(TOR);
    expect(res.body.version).toBe(2);
    const paragraphs = res.body.paragraphs as { paragraph: number; since: Record<string, unknown> }[];
    expect(paragraphs.map((p) => p.paragraph)).toEqual(paragraphs.map((_, i) => i + 1));
    const changed = paragraphs.filter((p) => p.since.version === 2);
    expect(changed).toHaveLength(1);
    expect(changed[0].since).toMatchObject({
      origin: 'round',
      summary: 'Open record',
      round: { id: 7, result: 'passed', approve: 14, object: 2, abstain: 1 },
      note: 'since v2 · round 7 · passed 14–2–1',
    });
    const rest = paragraphs.filter((p) => p.since.version !== 2);
    expect(rest.length).toBeGreaterThan(3);
    for (const p of rest) expect(p.since).toMatchObject({ version: 1, origin: 'seeded', round: null });

    // Version 1 alone: everything from version 1.
    const first = await request(t.app).get(`/api/v1/documents/${TOR}/versions/1/provenance`).expect(200);
    expect(new Set(first.body.paragraphs.map((p: { since: { version: number } }) => p.since.version))).toEqual(
      new Set([1]),
    );
  });

  test('the version page shows a note beside each paragraph, linking to the decision', async () => {
    const res = await request(t.app).get(`/documents/${TOR}/versions/2`).expect(200);
    const paras = [...res.text.matchAll(/<div class="para" id="p-(\d+)">([\s\S]*?)<\/div>/g)];
    expect(paras.length).toBeGreaterThan(3);
    const notes = paras.map((m) => /<a class="since" href="([^"]+)">([^<]+)<\/a>/.exec(m[2]));
    expect(notes.every(Boolean)).toBe(true);
    const changed = notes.filter((n) => n![2].startsWith('since v2'));
    expect(changed.map((n) => [n![1], n![2]])).toEqual([
      [`/documents/${TOR}/versions/2#decision`, 'since v2 · round 7 · passed 14–2–1'],
    ]);
    expect(notes.find((n) => n![2] === 'since v1 · the first text')?.[1]).toBe(`/documents/${TOR}/versions/1`);
  });

  test('bad requests: an unknown document or version is 404, a malformed number 400', async () => {
    const no = async (url: string, status: number, code: string) => {
      const res = await request(t.app).get(url);
      expect([res.status, res.body.error?.code]).toEqual([status, code]);
    };
    await no(`/api/v1/documents/${TOR}/versions/3/provenance`, 404, 'version_not_found');
    await no('/api/v1/documents/nothing/versions/1/provenance', 404, 'document_not_found');
    await no(`/api/v1/documents/${TOR}/versions/x/provenance`, 400, 'invalid_version');
  });

  test('kept on disk by commit: a fresh process over the same data reads it rather than computing it', async () => {
    const v2 = t.ctx.meta.get('versions', `${TOR}/2`)!;
    const file = path.join(t.dataDir, 'cache', 'provenance', `${v2.commit}.json`);
    expect(fs.existsSync(file)).toBe(true);
    // A stored answer is believed: a planted one shows that the disk was read, not the texts.
    const planted = JSON.parse(fs.readFileSync(file, 'utf8')) as { keys: string[]; origins: number[] };
    fs.writeFileSync(file, JSON.stringify({ ...planted, origins: planted.origins.map(() => 2) }));
    // The data folder is held by the test app: close it, then open the same folder as a new process would.
    await t.close();
    const again = await openTestData({ dataDir: t.dataDir, seed: false });
    expect((await provenanceOf(again.ctx, TOR, 2)).origins.every((o) => o === 2)).toBe(true);
    await again.close();
    // A damaged file is computed again.
    fs.writeFileSync(file, '{"keys":');
    const third = await openTestData({ dataDir: t.dataDir, seed: false });
    expect((await provenanceOf(third.ctx, TOR, 2)).origins).toContain(1);
    await third.close();
  });
});
