/**
 * Suggested changes through the JSON API (issue 15): `suggestion` on a new anchored comment,
 * `POST /proposals/:id/comments/:cid/apply {head}` and `POST /proposals/:id/suggestions/apply
 * {comments, head}`. Every refusal is asserted by its code and changes nothing; the OpenAPI
 * document describes both routes.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { withdrawProposal } from '../../server/services/proposals/proposals.js';
import { openTestApp, testClock } from '../helpers/data.js';
import { committee, sharedProposal, twoProposalConsolidation } from '../helpers/people.js';

describe('http/suggestionsApi', () => {
  const API = '/api/v1';
  const clock = testClock('2026-05-01T09:00:00Z');
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let who: Awaited<ReturnType<typeof committee>>;

  const head = (id: number) => t.ctx.meta.get('proposals', id)!.head;
  const post = (path: string, auth: { Authorization: string } | null, body: object) => {
    const r = request(t.app).post(`${API}${path}`);
    return (auth ? r.set(auth) : r).send(body);
  };
  const code = (res: request.Response) => (res.body as { error?: { code: string } }).error?.code;
  const suggest = (id: number, quote: string, suggestion: string) =>
    post(`/proposals/${id}/comments`, who.m1.auth, { body: 'Try this.', anchor: { quote }, suggestion });
  /** What a refused call must leave as it was. */
  const snapshot = () => JSON.stringify([t.ctx.meta.all('proposals'), t.ctx.meta.all('comments')]);

  beforeAll(async () => {
    t = await openTestApp({ clock });
    who = await committee(t.ctx);
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  describe('suggesting through the API', () => {
    test('an anchored comment carries its suggestion; the list shows it', async () => {
      const p = await sharedProposal(t.ctx, who.drafter, 'Suggest', (x) => x);
      const res = await suggest(p.id, 'Chatham House Rule', 'house rules');
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        suggestion: 'house rules',
        appliedIn: null,
        anchor: { quote: 'Chatham House Rule' },
      });
      const del = await post(`/proposals/${p.id}/comments`, who.m2.auth, {
        body: '',
        anchor: { quote: 'participate in person' },
        suggestion: '',
      });
      expect(del.status).toBe(201);
      expect(del.body.suggestion).toBe('');
      const list = await request(t.app).get(`${API}/proposals/${p.id}/comments`).set(who.m3.auth);
      expect(list.body.map((c: { suggestion: string | null }) => c.suggestion)).toEqual(['house rules', '']);
    });

    test('bad suggestions are refused by code, and nothing is kept', async () => {
      const p = await sharedProposal(t.ctx, who.drafter, 'Bad', (x) => x);
      const { c } = await twoProposalConsolidation(t.ctx, who);
      const before = snapshot();
      const tries: [Promise<request.Response>, number, string][] = [
        [
          post(`/proposals/${p.id}/comments`, who.m1.auth, { body: 'x', suggestion: 'y' }),
          400,
          'suggestion_needs_anchor',
        ],
        [
          post(`/proposals/${p.id}/comments`, who.m1.auth, { body: 'x', anchor: { quote: 'Chatham' }, suggestion: 5 }),
          400,
          'invalid_suggestion',
        ],
        [suggest(p.id, 'Chatham', 'y'.repeat(64 * 1024 + 1)), 413, 'suggestion_too_large'],
        [
          post(`/consolidations/${c.id}/comments`, who.m1.auth, {
            body: 'x',
            anchor: { quote: 'Group' },
            suggestion: 'y',
          }),
          400,
          'invalid_suggestion',
        ],
      ];
      for (const [res, status, expected] of tries) {
        const r = await res;
        expect([r.status, code(r)]).toEqual([status, expected]);
      }
      expect(snapshot()).toBe(before);
    });
  });

  describe('applying through the API', () => {
    test('the author applies one: a new head, the thread resolved and marked applied', async () => {
      const p = await sharedProposal(t.ctx, who.drafter, 'Apply one', (x) => x);
      const s = (await suggest(p.id, 'Chatham House Rule', 'house rules')).body as { id: number };
      const res = await post(`/proposals/${p.id}/comments/${s.id}/apply`, who.drafter.auth, { head: p.head });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ head: head(p.id), revision: 2, applied: [s.id] });
      const text = await request(t.app).get(`${API}/proposals/${p.id}`).set(who.m1.auth);
      expect(text.body.text).toContain('under the house rules.');
      const list = await request(t.app).get(`${API}/proposals/${p.id}/comments`).set(who.m1.auth);
      expect(list.body[0]).toMatchObject({ id: s.id, resolved: true, appliedIn: 2 });
      // Again: it was applied.
      const again = await post(`/proposals/${p.id}/comments/${s.id}/apply`, who.drafter.auth, { head: head(p.id) });
      expect([again.status, code(again)]).toEqual([409, 'suggestion_applied']);
    });

    test('several as one revision; the chair may too', async () => {
      const p = await sharedProposal(t.ctx, who.drafter, 'Apply two', (x) => x);
      const a = (await suggest(p.id, 'Chatham House Rule', 'house rules')).body as { id: number };
      const b = (await suggest(p.id, 'participate in person', 'take part')).body as { id: number };
      const res = await post(`/proposals/${p.id}/suggestions/apply`, who.chair.auth, {
        comments: [a.id, b.id],
        head: p.head,
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ revision: 2, applied: [a.id, b.id] });
      expect(t.ctx.meta.get('proposals', p.id)!.revisions).toBe(2);
    });

    test('refusals by code: who, what, which head, outdated, overlapping, not editable', async () => {
      const p = await sharedProposal(t.ctx, who.drafter, 'Refuse', (x) => x);
      const a = (await suggest(p.id, 'Chatham House Rule', 'house rules')).body as { id: number };
      const b = (await suggest(p.id, 'the Chatham House', 'our')).body as { id: number };
      const plain = (await post(`/proposals/${p.id}/comments`, who.m2.auth, { body: 'Fine.' })).body as { id: number };
      const h = p.head;
      const before = snapshot();
      const one = (cid: number | string, auth: { Authorization: string } | null, body: object) =>
        post(`/proposals/${p.id}/comments/${cid}/apply`, auth, body);
      const many = (auth: { Authorization: string } | null, body: object) =>
        post(`/proposals/${p.id}/suggestions/apply`, auth, body);
      const tries: [() => Promise<request.Response>, number, string][] = [
        [() => one(a.id, null, { head: h }), 401, 'unauthenticated'],
        [() => one(a.id, who.m1.auth, { head: h }), 403, 'forbidden'],
        [() => one(a.id, who.drafter.auth, { head: 'nope' }), 400, 'invalid_head'],
        [() => one(a.id, who.drafter.auth, {}), 400, 'invalid_head'],
        [() => one(a.id, who.drafter.auth, { head: '0'.repeat(40) }), 409, 'stale_head'],
        [() => one(9999, who.drafter.auth, { head: h }), 404, 'comment_not_found'],
        [() => one(plain.id, who.drafter.auth, { head: h }), 400, 'not_a_suggestion'],
        [() => many(who.drafter.auth, { comments: [], head: h }), 400, 'invalid_comments'],
        [() => many(who.drafter.auth, { comments: ['x'], head: h }), 400, 'invalid_comments'],
        [() => many(who.drafter.auth, { comments: [a.id, b.id], head: h }), 409, 'suggestions_overlap'],
        [
          () => post(`/proposals/9999/suggestions/apply`, who.drafter.auth, { comments: [a.id], head: h }),
          404,
          'proposal_not_found',
        ],
      ];
      for (const [run, status, expected] of tries) {
        const r = await run();
        expect([r.status, code(r)]).toEqual([status, expected]);
      }
      expect(snapshot()).toBe(before);

      // A revision that changes b's passage makes b outdated; a still applies.
      const text = (await request(t.app).get(`${API}/proposals/${p.id}`).set(who.drafter.auth)).body.text as string;
      const put = await request(t.app)
        .put(`${API}/proposals/${p.id}/text`)
        .set(who.drafter.auth)
        .send({ text: text.replace('under the Chatham', 'under thee Chatham'), head: h });
      expect(put.status).toBe(200);
      const outdated = await one(b.id, who.drafter.auth, { head: put.body.head });
      expect([outdated.status, code(outdated)]).toEqual([409, 'suggestion_outdated']);
      expect((await one(a.id, who.drafter.auth, { head: put.body.head })).status).toBe(200);

      await withdrawProposal(t.ctx, who.drafter.actor, p.id);
      const c = (await suggest(p.id, 'participate', 'x')) as request.Response;
      expect([c.status, code(c)]).toEqual([409, 'closed_for_comments']);
      const gone = await one(b.id, who.drafter.auth, { head: head(p.id) });
      expect([gone.status, code(gone)]).toEqual([409, 'not_editable']);
    });

    test('the OpenAPI document describes both routes and their bodies', async () => {
      const doc = (await request(t.app).get(`${API}/openapi.json`)).body as {
        paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: object }> } }>>;
      };
      const one = doc.paths['/proposals/{id}/comments/{cid}/apply']?.post;
      const many = doc.paths['/proposals/{id}/suggestions/apply']?.post;
      expect(JSON.stringify(one?.requestBody)).toContain('"head"');
      expect(JSON.stringify(many?.requestBody)).toContain('"comments"');
      expect(JSON.stringify(doc.paths['/proposals/{id}/comments'].post.requestBody)).toContain('"suggestion"');
    });
  });
});
