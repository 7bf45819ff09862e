/**
 * Traceable consolidations (issue 15, item 3), end to end over HTTP on a real repository: two
 * proposals change different sentences of one paragraph and merge without conflict; the chair
 * then changes "may participate" to "may take part". Every revision is listed; each change is
 * credited exactly — to its proposal, or to the chair's editorial revision — on the API
 * (`GET /api/v1/consolidations/:id/attribution`), the consolidation page (and its "chair's
 * edits" view), the round page and the public decision record alike.
 */
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import request from 'supertest';
import { zipEntry } from '../helpers/zip.js';
import type { Express } from 'express';
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { AttributionResponse } from '../../server/http/schemas/index.js';
import { createToken } from '../../server/services/auth/tokens.js';
import { makeUser, signedIn, type Agent } from '../helpers/auth.js';
import { openTestApp, testClock } from '../helpers/data.js';
import { plain, section } from '../helpers/pages.js';
import { story } from '../helpers/story.js';

describe('http/consolidationAttribution', () => {
  const step = story();
  const PASSWORD = 'a long enough password';
  const TOR = 'terms-of-reference';
  const FIRST = 'Members are required to participate in person in the closed meetings of the Group.';
  const FIRST_P1 = 'Members may participate in person or remotely in the closed meetings of the Group.';
  const THIRD = 'A member who misses two consecutive meetings';
  const THIRD_P2 = 'A member who misses three consecutive meetings';
  const clock = testClock('2026-03-01T09:00:00Z');

  let t: Awaited<ReturnType<typeof openTestApp>>;
  let app: Express;
  const auth: Record<string, { Authorization: string }> = {};
  let chairPage: Agent;
  let memberPage: Agent;
  let published: string;
  let p1: number;
  let p2: number;
  let cid: number;
  let roundId: number;

  type Method = 'get' | 'post' | 'put';
  const api = (method: Method, path: string, as: string | null, body?: unknown) => {
    let r = request(app)[method](`/api/v1${path}`);
    if (as) r = r.set(auth[as]);
    return body === undefined ? r : r.send(body as object);
  };
  type Change = { op: string; text: string; source: { type: string; id?: number; revision?: number; author?: string } };
  const attribution = async (as = 'chair') => {
    const res = await api('get', `/consolidations/${cid}/attribution`, as);
    expect(res.status).toBe(200);
    expect(AttributionResponse.safeParse(res.body).success).toBe(true);
    return res.body as Change[];
  };
  const ofSource = (changes: Change[], type: string) => changes.filter((c) => c.source.type === type);

  beforeAll(async () => {
    t = await openTestApp({ clock });
    app = t.app;
    const specs = [
      { key: 'chair', email: 'chen@example.org', name: 'Chair Chen', roles: ['member', 'chair'] as const },
      {
        key: 'drafter',
        email: 'wanda@example.org',
        name: 'Wanda Drafter',
        roles: ['member'] as const,
        groups: ['wg-strategy'],
      },
      { key: 'm1', email: 'mia@example.org', name: 'Mia Member', roles: ['member'] as const },
    ];
    for (const s of specs) {
      const u = await makeUser(t.ctx, {
        email: s.email,
        name: s.name,
        roles: [...s.roles],
        groups: s.groups ?? [],
        password: PASSWORD,
      });
      auth[s.key] = { Authorization: `Bearer ${(await createToken(t.ctx, CLI_ACTOR, u, 'test')).token}` };
    }
    chairPage = await signedIn(app, 'chen@example.org', PASSWORD);
    memberPage = await signedIn(app, 'mia@example.org', PASSWORD);
    published = (await api('get', `/documents/${TOR}`, null)).body.text;
    expect(published).toContain(`${FIRST} `);
    expect(published).toContain(THIRD);
    const make = async (title: string, text: string) => {
      const res = await api('post', `/documents/${TOR}/proposals`, 'drafter', { title, rationale: title, text });
      expect(res.status).toBe(201);
      expect((await api('post', `/proposals/${res.body.id}/share`, 'drafter')).status).toBe(200);
      return res.body.id as number;
    };
    p1 = await make('Remote participation', published.replace(FIRST, FIRST_P1));
    p2 = await make('Three meetings', published.replace(THIRD, THIRD_P2));
  }, 60_000);

  afterAll(async () => {
    await t?.cleanup();
  });

  describe('a consolidation whose every change is credited', () => {
    step('two proposals changing different sentences of one paragraph merge without conflict', async () => {
      const res = await api('post', `/documents/${TOR}/consolidations`, 'chair', { proposals: [p1, p2], summary: 'x' });
      expect(res.status).toBe(201);
      cid = res.body.id;
      expect(res.body.conflicts).toEqual([]);
      expect(res.body.text).toBe(published.replace(FIRST, FIRST_P1).replace(THIRD, THIRD_P2));
    });

    step('the attribution credits each change to its proposal, and nothing to the chair yet', async () => {
      const changes = await attribution();
      expect(ofSource(changes, 'editorial')).toEqual([]);
      expect(changes).toEqual([
        { op: 'delete', text: 'are required to ', source: { type: 'proposal', id: p1 } },
        { op: 'insert', text: 'may ', source: { type: 'proposal', id: p1 } },
        { op: 'insert', text: 'or remotely ', source: { type: 'proposal', id: p1 } },
        { op: 'delete', text: 'two ', source: { type: 'proposal', id: p2 } },
        { op: 'insert', text: 'three ', source: { type: 'proposal', id: p2 } },
      ]);
    });

    step(
      'the chair changes “may participate” to “may take part”: that is editorial revision 3, by the chair',
      async () => {
        const now = await api('get', `/consolidations/${cid}`, 'chair');
        const text = (now.body.text as string).replace('may participate', 'may take part');
        const put = await api('put', `/consolidations/${cid}/text`, 'chair', {
          text,
          head: now.body.head,
          message: 'Plainer words: take part',
        });
        expect(put.status).toBe(200);
        const changes = await attribution();
        const chair = { type: 'editorial', revision: 3, author: 'Chair Chen' };
        expect(ofSource(changes, 'editorial')).toEqual([
          { op: 'delete', text: 'participate ', source: chair },
          { op: 'insert', text: 'take part ', source: chair },
        ]);
        // The proposal keeps exactly its own changes; none of them is the chair's wording.
        expect(changes.filter((c) => c.source.type === 'proposal' && c.source.id === p1)).toEqual([
          { op: 'delete', text: 'are required to ', source: { type: 'proposal', id: p1 } },
          { op: 'insert', text: 'may ', source: { type: 'proposal', id: p1 } },
          { op: 'insert', text: 'or remotely ', source: { type: 'proposal', id: p1 } },
        ]);
        expect(changes.some((c) => c.source.type === 'proposal' && c.text.includes('take part'))).toBe(false);
        // Members read it too.
        expect(await attribution('m1')).toEqual(changes);
      },
    );

    step('the API refuses who may not see the consolidation, and an unknown id, by code', async () => {
      // The public may not see a consolidation: the very answer of one that does not exist.
      const anon = await api('get', `/consolidations/${cid}/attribution`, null);
      expect(anon.status).toBe(404);
      expect(anon.body.error.code).toBe('consolidation_not_found');
      const none = await api('get', '/consolidations/999/attribution', 'm1');
      expect(none.status).toBe(404);
      expect(none.body.error.code).toBe('consolidation_not_found');
    });

    step('the OpenAPI document describes the answer with its schema', async () => {
      const doc = (await request(app).get('/api/v1/openapi.json')).body;
      const ok = doc.paths['/consolidations/{id}/attribution'].get.responses['200'];
      const schema = ok.content['application/json'].schema;
      expect(schema.type).toBe('array');
      expect(Object.keys(schema.items.properties).sort()).toEqual(['op', 'source', 'text']);
    });

    step('the consolidation page lists every revision, with author, time and message', async () => {
      const res = await memberPage.get(`/consolidations/${cid}`);
      expect(res.status).toBe(200);
      const revisions = plain(section(res.text, 'revisions-h'));
      expect(revisions).toContain(`Merge proposal ${p1}: Remote participation`);
      expect(revisions).toContain(`Merge proposal ${p2}: Three meetings`);
      // The chair's own words for the edit (without them: "Edit consolidation N").
      expect(revisions).toContain('Plainer words: take part');
      expect(revisions.match(/Chair Chen/g)).toHaveLength(3);
      expect(section(res.text, 'revisions-h').match(/<time /g)).toHaveLength(3);
    });

    step("the page credits each change, and the chair's edits view shows only the chair's", async () => {
      const all = section((await memberPage.get(`/consolidations/${cid}`)).text, 'attribution-h');
      const sources = [...all.matchAll(/<p class="source">([\s\S]*?)<\/p>/g)].map((m) => plain(m[1]).trim());
      expect(sources.some((s) => s.includes(`proposal ${p1}`))).toBe(true);
      expect(sources.some((s) => s.includes(`proposal ${p2}`))).toBe(true);
      expect(sources.filter((s) => /revision 3/.test(s) && s.includes('Chair Chen'))).toHaveLength(1);
      expect(all).toContain('<ins>take part </ins>');
      // The link counts what the view lists: the chair's one rewording, not its deletion and insertion.
      expect(all).toMatch(/the chair's edits only<\/a> \(1\)/);
      const editorial = section((await memberPage.get(`/consolidations/${cid}?view=editorial`)).text, 'attribution-h');
      const marked = [...editorial.matchAll(/<(ins|del)>([^<]*)<\/\1>/g)].map((m) => `${m[1]}:${m[2]}`);
      expect(marked).toEqual(['del:participate ', 'ins:take part ']);
      expect(editorial).not.toContain(`proposal ${p1}`);
      expect(editorial).not.toContain(`proposal ${p2}`);
    });

    step('the candidate text downloads as a Word file whose changes are tracked; not for the public', async () => {
      const page = (await memberPage.get(`/consolidations/${cid}`)).text;
      expect(page).toContain(`href="/consolidations/${cid}/changes.docx"`);
      const res = await memberPage
        .get(`/consolidations/${cid}/changes.docx`)
        .buffer(true)
        .parse((r, done) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => done(null, Buffer.concat(chunks)));
        });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toContain('wordprocessingml');
      const xml = zipEntry(res.body as Buffer, 'word/document.xml')?.toString('utf8') ?? '';
      expect(xml).toMatch(/<w:ins [^>]*w:author="Ratify"/);
      expect(xml).toMatch(/<w:del [^>]*w:author="Ratify"/);
      expect(xml).toContain('take part');
      expect((await request(app).get(`/consolidations/${cid}/changes.docx`)).status).toBe(404);
    });

    step('the round page and, once published, the public decision record show the same attribution', async () => {
      const open = await api('post', '/rounds', 'chair', {
        subject: { type: 'consolidation', id: cid },
        rule: 'majority',
        quorum: 0.5,
        closesAt: new Date(clock().getTime() + 7 * 86_400_000).toISOString(),
      });
      expect(open.status).toBe(201);
      roundId = open.body.id;
      const onRound = section((await chairPage.get(`/rounds/${roundId}`)).text, 'attribution-h');
      expect(onRound).toContain('<ins>take part </ins>');
      expect(plain(onRound)).toContain('Chair Chen');
      expect(plain(onRound)).toContain(`proposal ${p2}`);
      for (const who of ['chair', 'drafter', 'm1'])
        expect((await api('post', `/rounds/${roundId}/ballots`, who, { position: 'approve' })).status).toBe(201);
      expect((await api('post', `/rounds/${roundId}/close`, 'chair')).status).toBe(200);
      expect((await api('post', `/consolidations/${cid}/publish`, 'chair', {})).status).toBe(201);
      const record = section((await request(app).get(`/documents/${TOR}/versions/2`)).text, 'attribution-h');
      expect(record).toContain('<ins>take part </ins>');
      expect(plain(record)).toMatch(/revision 3 by Chair Chen/);
      expect(plain(record)).toContain(`proposal ${p1}`);
    });
  });
});
