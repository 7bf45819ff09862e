/**
 * Schemas at the edge (issue 11, item 1; docs/API.md "Errors"): every JSON body and query of
 * the API is parsed by its zod schema (server/http/schemas/) before a service sees it, and a
 * refusal lists every problem at once in `error.fields`. With one problem — or several that
 * share a code — `error.code` is that code (and its status: 413 for a text too large); with
 * different codes it is `invalid` (400). Unknown fields in a body are refused
 * (`unknown_field`); unknown query parameters are ignored. A refused request changes nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Router } from 'express';
import request from 'supertest';
import { z } from 'zod';
import { MAX_RECORD_NOTE, MAX_TEXT_BYTES, MAX_TITLE } from '../../server/domain/limits.js';
import { accountApi } from '../../server/http/api/accountApi.js';
import { proposalsApi } from '../../server/http/api/proposalsApi.js';
import { publicApi } from '../../server/http/api/publicApi.js';
import { roundsApi } from '../../server/http/api/roundsApi.js';
import { stakeholdersApi } from '../../server/http/api/stakeholdersApi.js';
import { API_ROUTES } from '../../server/http/schemas/index.js';
import type { LoginThrottle } from '../../server/services/auth/throttle.js';
import type { Ctx } from '../../server/services/context.js';
import { createProposal } from '../../server/services/proposals/proposals.js';
import { openRound } from '../../server/services/rounds/rounds.js';
import type { CollectionName } from '../../server/store/meta/schema.js';
import { openTestApp, projectRoot, testClock } from '../helpers/data.js';
import { after, committee, DAY, TOR, twoProposalConsolidation, type Person } from '../helpers/people.js';

describe('http/apiSchemas', () => {
  const clock = testClock('2026-03-01T09:00:00Z');
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let who: Awaited<ReturnType<typeof committee>>;
  let draft: { id: number; head: string };
  let consolidation: { id: number; head: string };
  let round: { id: number };

  type Method = 'get' | 'post' | 'put' | 'delete';
  const api = (method: Method, path: string, as: Person | null, body?: unknown) => {
    let r = request(t.app)[method](`/api/v1${path}`);
    if (as) r = r.set(as.auth);
    return body === undefined ? r : r.send(body as object);
  };

  const COLLECTIONS: CollectionName[] = [
    'groups',
    'stakeholders',
    'documents',
    'versions',
    'system',
    'users',
    'tokens',
    'settings',
    'proposals',
    'revisions',
    'comments',
    'consolidations',
    'rounds',
    'ballots',
    'mails',
    'digestItems',
    'linkTokens',
  ];
  /** Everything a request could change: every collection, the audit log and the git refs. */
  async function everything() {
    return {
      store: JSON.stringify(COLLECTIONS.map((c) => t.ctx.meta.all(c))),
      audit: JSON.stringify(await t.ctx.meta.auditLog(10_000)),
      branches: [...(await t.ctx.repo.listBranches()), ...(await t.ctx.repo.listRefs('refs/ratify'))].sort(),
      main: await t.ctx.repo.resolve('refs/heads/main'),
    };
  }

  interface Field {
    path: string;
    code: string;
  }
  /** Send a request that must be refused with `status`/`code` and exactly these problems, and check that nothing changed. */
  async function refused(send: () => PromiseLike<request.Response>, status: number, code: string, fields: Field[]) {
    const before = await everything();
    const res = await send();
    expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(Object.keys(res.body)).toEqual(['error']);
    expect(Object.keys(res.body.error).sort()).toEqual(['code', 'fields', 'message']);
    expect(typeof res.body.error.message).toBe('string');
    expect(res.text).not.toContain(projectRoot);
    const got = res.body.error.fields as (Field & { message: string })[];
    for (const f of got) {
      expect(Object.keys(f).sort()).toEqual(['code', 'message', 'path']);
      expect(f.message).toEqual(expect.any(String));
      expect(f.message.length).toBeGreaterThan(0);
    }
    const byPath = (a: Field, b: Field) => a.path.localeCompare(b.path);
    expect(got.map(({ path, code }) => ({ path, code })).sort(byPath)).toEqual([...fields].sort(byPath));
    expect(await everything()).toEqual(before);
    return res;
  }

  beforeAll(async () => {
    t = await openTestApp({ clock });
    who = await committee(t.ctx);
    const { c } = await twoProposalConsolidation(t.ctx, who);
    consolidation = { id: c.id, head: c.head };
    const p = await createProposal(t.ctx, who.drafter.actor, TOR, {
      title: 'A draft',
      rationale: '',
      text: 'A text.\n',
    });
    draft = { id: p.id, head: p.head };
    const r = await openRound(t.ctx, who.chair.actor, {
      subject: { type: 'consolidation', id: c.id },
      rule: 'majority',
      quorum: 0.5,
      closesAt: after(clock, 7 * DAY),
    });
    round = { id: r.id };
  });

  afterAll(async () => {
    await t?.cleanup();
  });

  describe('three problems in one body: 400 `invalid`, all three in `fields`, nothing changed', () => {
    const cases: [string, Method, () => string, () => Person, unknown, Field[]][] = [
      [
        'open a round',
        'post',
        () => '/rounds',
        () => who.chair,
        { subject: { type: 'round', id: 1 }, rule: 'majority', quorum: 2, closesAt: 'tomorrow' },
        [
          { path: 'subject.type', code: 'invalid_subject' },
          { path: 'quorum', code: 'invalid_quorum' },
          { path: 'closesAt', code: 'invalid_deadline' },
        ],
      ],
      [
        'cast a ballot',
        'post',
        () => `/rounds/${round.id}/ballots`,
        () => who.m1,
        { position: 'maybe', reason: 5, named: 'yes' },
        [
          { path: 'position', code: 'invalid_position' },
          { path: 'reason', code: 'invalid_reason' },
          { path: 'named', code: 'invalid_named' },
        ],
      ],
      [
        'record a recusal',
        'post',
        () => `/rounds/${round.id}/recusals`,
        () => who.sec,
        { reason: 42, voter: 7, note: 'n'.repeat(MAX_RECORD_NOTE + 1) },
        [
          { path: 'reason', code: 'reason_required' },
          { path: 'voter', code: 'invalid_voter' },
          { path: 'note', code: 'note_required' },
        ],
      ],
      [
        'withdraw a recusal',
        'delete',
        () => `/rounds/${round.id}/recusals`,
        () => who.sec,
        { voter: 5, note: 6, reason: 'x' },
        [
          { path: 'voter', code: 'invalid_voter' },
          { path: 'note', code: 'note_required' },
          { path: 'reason', code: 'unknown_field' },
        ],
      ],
      [
        'extend a round',
        'post',
        () => `/rounds/${round.id}/extend`,
        () => who.chair,
        { closesAt: 12, until: 'later', why: 'x' },
        [
          { path: 'closesAt', code: 'invalid_deadline' },
          { path: 'until', code: 'unknown_field' },
          { path: 'why', code: 'unknown_field' },
        ],
      ],
      [
        'cancel a round',
        'post',
        () => `/rounds/${round.id}/cancel`,
        () => who.chair,
        { reason: ['no'], notify: true, force: true },
        [
          { path: 'reason', code: 'reason_required' },
          { path: 'notify', code: 'unknown_field' },
          { path: 'force', code: 'unknown_field' },
        ],
      ],
      [
        'create a proposal',
        'post',
        () => `/documents/${TOR}/proposals`,
        () => who.drafter,
        { title: 'x'.repeat(MAX_TITLE + 1), rationale: 3, text: ['a'] },
        [
          { path: 'title', code: 'invalid_title' },
          { path: 'rationale', code: 'invalid_rationale' },
          { path: 'text', code: 'invalid_text' },
        ],
      ],
      [
        'revise a proposal',
        'put',
        () => `/proposals/${draft.id}/text`,
        () => who.drafter,
        { text: 5, head: 'abc', title: null },
        [
          { path: 'text', code: 'invalid_text' },
          { path: 'head', code: 'invalid_head' },
          { path: 'title', code: 'invalid_title' },
        ],
      ],
      [
        'comment on a proposal',
        'post',
        () => `/proposals/${draft.id}/comments`,
        () => who.drafter,
        { body: 7, anchor: 'held under', replyTo: 'abc' },
        [
          { path: 'body', code: 'invalid_comment' },
          { path: 'anchor', code: 'invalid_anchor' },
          { path: 'replyTo', code: 'invalid_reply' },
        ],
      ],
      [
        'consolidate',
        'post',
        () => `/documents/${TOR}/consolidations`,
        () => who.chair,
        { proposals: 'all', summary: 5, title: 'x' },
        [
          { path: 'proposals', code: 'invalid_proposals' },
          { path: 'summary', code: 'invalid_summary' },
          { path: 'title', code: 'unknown_field' },
        ],
      ],
      [
        'revise a consolidation',
        'put',
        () => `/consolidations/${consolidation.id}/text`,
        () => who.chair,
        { text: null, head: 1, force: true },
        [
          { path: 'text', code: 'invalid_text' },
          { path: 'head', code: 'invalid_head' },
          { path: 'force', code: 'unknown_field' },
        ],
      ],
      [
        'publish',
        'post',
        () => `/consolidations/${consolidation.id}/publish`,
        () => who.chair,
        { summary: { text: 'x' }, version: 2, force: true },
        [
          { path: 'summary', code: 'invalid_summary' },
          { path: 'version', code: 'unknown_field' },
          { path: 'force', code: 'unknown_field' },
        ],
      ],
      [
        'add a stakeholder group',
        'post',
        () => '/stakeholders',
        () => who.sec,
        { slug: 1, name: null, description: 'x' },
        [
          { path: 'slug', code: 'invalid_input' },
          { path: 'name', code: 'invalid_input' },
          { path: 'description', code: 'unknown_field' },
        ],
      ],
    ];
    test.each(cases)('%s', async (_what, method, path, as, body, fields) => {
      await refused(() => api(method, path(), as(), body), 400, 'invalid', fields);
    });

    test('make a token: three problems sharing `invalid_input` keep that code', async () => {
      const fields = ['email', 'password', 'code'].map((path) => ({ path, code: 'invalid_input' }));
      await refused(
        () => api('post', '/tokens', null, { email: 1, password: 2, code: 3 }),
        400,
        'invalid_input',
        fields,
      );
    });
  });

  describe('queries: every problem at once; unknown parameters are ignored', () => {
    test('GET /documents/:slug/diff?from=x&to=0 → 400 invalid_version with both', async () => {
      const res = await refused(() => api('get', `/documents/${TOR}/diff?from=x&to=0`, null), 400, 'invalid_version', [
        { path: 'from', code: 'invalid_version' },
        { path: 'to', code: 'invalid_version' },
      ]);
      expect(res.body.error.message).toMatch(/^2 problems/);
      expect((await api('get', `/documents/${TOR}/diff?from=1&to=1&cache=no`, null)).status).toBe(200);
    });

    test('GET /proposals/:id/diff?from=0&against=head → 400 invalid_revision with both', async () => {
      await refused(
        () => api('get', `/proposals/${draft.id}/diff?from=0&against=head`, who.drafter),
        400,
        'invalid_revision',
        [
          { path: 'from', code: 'invalid_revision' },
          { path: 'against', code: 'invalid_revision' },
        ],
      );
    });

    test('GET /audit?limit=0 → 400 invalid_limit', async () => {
      await refused(() => api('get', '/audit?limit=0', who.sec), 400, 'invalid_limit', [
        { path: 'limit', code: 'invalid_limit' },
      ]);
    });
  });

  describe('one problem keeps its own code, with `fields`', () => {
    const good = () => ({
      subject: { type: 'proposal', id: draft.id },
      rule: 'majority',
      quorum: 0.5,
      closesAt: after(clock, DAY),
    });

    test('a quorum alone → 400 invalid_quorum; a deadline alone → 400 invalid_deadline', async () => {
      await refused(() => api('post', '/rounds', who.chair, { ...good(), quorum: '0.5' }), 400, 'invalid_quorum', [
        { path: 'quorum', code: 'invalid_quorum' },
      ]);
      await refused(
        () => api('post', '/rounds', who.chair, { ...good(), closesAt: 'tomorrow' }),
        400,
        'invalid_deadline',
        [{ path: 'closesAt', code: 'invalid_deadline' }],
      );
    });

    test('a wrong type deep inside: subject.id a string → 400 invalid_subject at subject.id', async () => {
      await refused(
        () => api('post', '/rounds', who.chair, { ...good(), subject: { type: 'proposal', id: String(draft.id) } }),
        400,
        'invalid_subject',
        [{ path: 'subject.id', code: 'invalid_subject' }],
      );
    });

    test('a number for a string: reason 5 → 400 invalid_reason; note 5 → 400 note_required', async () => {
      await refused(
        () => api('post', `/rounds/${round.id}/ballots`, who.m1, { position: 'object', reason: 5 }),
        400,
        'invalid_reason',
        [{ path: 'reason', code: 'invalid_reason' }],
      );
      await refused(
        () =>
          api('post', `/rounds/${round.id}/ballots`, who.sec, {
            position: 'object',
            reason: 'No.',
            voter: who.m2.email,
            note: 5,
          }),
        400,
        'note_required',
        [{ path: 'note', code: 'note_required' }],
      );
    });

    test('a text over 1 MB alone → 413 text_too_large; with another problem → 400 invalid listing both', async () => {
      const big = 'a'.repeat(MAX_TEXT_BYTES + 1);
      await refused(
        () => api('put', `/proposals/${draft.id}/text`, who.drafter, { text: big, head: draft.head }),
        413,
        'text_too_large',
        [{ path: 'text', code: 'text_too_large' }],
      );
      await refused(
        () => api('put', `/proposals/${draft.id}/text`, who.drafter, { text: big, head: 'nope' }),
        400,
        'invalid',
        [
          { path: 'text', code: 'text_too_large' },
          { path: 'head', code: 'invalid_head' },
        ],
      );
    });

    test('the rules stay in the domain: an objection without a reason passes the schema and is refused by the service (no fields)', async () => {
      const res = await api('post', `/rounds/${round.id}/ballots`, who.m1, { position: 'object' });
      expect({ status: res.status, code: res.body.error.code }).toEqual({ status: 400, code: 'reason_required' });
      expect(res.body.error.fields).toBeUndefined();
    });
  });

  describe('unknown fields are refused, not dropped', () => {
    test('a misspelt field of a ballot → 400 unknown_field; nothing cast', async () => {
      await refused(
        () => api('post', `/rounds/${round.id}/ballots`, who.m1, { position: 'approve', nmaed: true }),
        400,
        'unknown_field',
        [{ path: 'nmaed', code: 'unknown_field' }],
      );
    });

    test('an unknown key inside a field makes the field invalid: conditions.everyoneAgrees → invalid_conditions', async () => {
      const body = {
        subject: { type: 'proposal', id: draft.id },
        rule: 'majority',
        quorum: 0.5,
        closesAt: after(clock, DAY),
        conditions: { everyoneAgrees: true },
      };
      await refused(() => api('post', '/rounds', who.chair, body), 400, 'invalid_conditions', [
        { path: 'conditions.everyoneAgrees', code: 'invalid_conditions' },
      ]);
    });
  });

  describe('a body that is not a JSON object', () => {
    test('a JSON array → 400 invalid_input for the whole body (path "")', async () => {
      await refused(() => api('post', '/rounds', who.chair, [1, 2, 3]), 400, 'invalid_input', [
        { path: '', code: 'invalid_input' },
      ]);
    });

    test('text/plain or a form → 400 invalid_input, never read as fields', async () => {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
        await refused(
          () => api('post', `/rounds/${round.id}/ballots`, who.m1).set('Content-Type', type).send('position=approve'),
          400,
          'invalid_input',
          [{ path: '', code: 'invalid_input' }],
        );
      }
    });

    test('no body at all reads as {}: cancel without one → 400 reason_required', async () => {
      await refused(() => api('post', `/rounds/${round.id}/cancel`, who.chair), 400, 'reason_required', [
        { path: 'reason', code: 'reason_required' },
      ]);
    });
  });

  describe('what the schemas let through reaches the service typed', () => {
    test('a recusal recorded on a member’s behalf is withdrawn on their behalf with ?voter=&note=', async () => {
      const m3 = who.m3;
      const rec = await api('post', `/rounds/${round.id}/recusals`, who.sec, {
        reason: 'Works for a party',
        voter: m3.email,
        note: 'by letter',
      });
      expect(rec.status).toBe(201);
      const noNote = await api('delete', `/rounds/${round.id}/recusals?voter=${encodeURIComponent(m3.email)}`, who.sec);
      expect({ status: noNote.status, code: noNote.body.error?.code }).toEqual({ status: 400, code: 'note_required' });
      const back = await api(
        'delete',
        `/rounds/${round.id}/recusals?voter=${encodeURIComponent(m3.email)}&note=${encodeURIComponent('by phone')}`,
        who.sec,
      );
      expect(back.status).toBe(200);
      expect(back.body.recusals).toEqual([]);
    });
  });

  describe('the schema table (for the OpenAPI document)', () => {
    /** Every route the API's routers declare, as `method path`. */
    function declared(): string[] {
      const ctx = {} as Ctx;
      const routers: Router[] = [
        publicApi(ctx),
        accountApi(ctx, {} as LoginThrottle),
        proposalsApi(ctx),
        roundsApi(ctx),
        stakeholdersApi(ctx),
      ];
      const out: string[] = [];
      for (const r of routers) {
        for (const layer of r.stack as { route?: { path: string; methods: Record<string, boolean> } }[]) {
          if (!layer.route) continue;
          for (const m of Object.keys(layer.route.methods)) if (m !== '_all') out.push(`${m} ${layer.route.path}`);
        }
      }
      return out.sort();
    }

    test('names every API route, and only those', () => {
      expect(API_ROUTES.map((r) => `${r.method} ${r.path}`).sort()).toEqual(declared());
    });

    test('every write route that reads a body has a strict schema; every schema converts to JSON Schema', () => {
      for (const r of API_ROUTES) {
        for (const s of [r.params, r.query, r.body]) {
          if (!s) continue;
          const json = z.toJSONSchema(s, { io: 'input' }) as { type?: string; additionalProperties?: unknown };
          expect(json.type).toBe('object');
          if (s === r.body) expect(json.additionalProperties).toBe(false);
        }
      }
    });
  });
});
