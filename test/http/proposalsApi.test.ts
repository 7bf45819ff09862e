/**
 * Proposals and comments through the JSON API (API.md "Members", PRODUCT.md Proposal/Comment,
 * rules 7 and 9, issue 4): the visibility matrix for every proposal route × person × state,
 * create/read shapes, optimistic concurrency, the proposal branch in stock git, the diff law,
 * limits and bad input (every refusal changes nothing), comment anchors and threads, and
 * nothing of a draft leaking to the public side or to `main`.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import request from 'supertest';
import { addComment, setResolved } from '../../server/services/proposals/comments.js';
import { proposalCommentable } from '../../server/services/proposals/commentable.js';
import { createProposal, shareProposal, withdrawProposal } from '../../server/services/proposals/proposals.js';
import { publishVersion } from '../../server/services/publishVersion.js';
import type { ProposalRecord } from '../../server/store/meta/schema.js';
import { openTestApp, projectRoot, testClock } from '../helpers/data.js';
import { MAX_JSON_BODY_BYTES } from '../../server/domain/limits.js';
import { authOf, makeApiUsers, type ApiUser } from '../helpers/users.js';

describe('http/proposalsApi', () => {
  type Change = { op: 'equal' | 'insert' | 'delete'; text: string };
  type Person = 'drafter' | 'same' | 'other' | 'chair' | 'secretariat' | 'public';
  type State = 'draft' | 'shared' | 'withdrawn-after-draft' | 'withdrawn-after-shared';

  const PEOPLE: Person[] = ['drafter', 'same', 'other', 'chair', 'secretariat', 'public'];
  const STATES: State[] = ['draft', 'shared', 'withdrawn-after-draft', 'withdrawn-after-shared'];
  const SLUG = 'terms-of-reference'; // owned by wg-strategy
  const API = '/api/v1';

  const clock = testClock('2026-02-01T09:00:00Z');
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let U: Record<Exclude<Person, 'public'>, ApiUser>;
  /** The published text and `main` commit when the tests start. */
  let baseText: string;
  let mainAtStart: string;

  const who = (p: Person): ApiUser | null => (p === 'public' ? null : U[p]);
  const as = (p: Person) => authOf(who(p));

  /** Stock git on the data folder's bare repository. */
  function git(...args: string[]): string {
    return execFileSync('git', ['--git-dir', path.join(t.dataDir, 'git'), ...args], {
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: t.dataDir, LC_ALL: 'C' },
    }).toString('utf8');
  }
  /** Exit status of a git command (for --is-ancestor and friends). */
  function gitStatus(...args: string[]): number {
    try {
      git(...args);
      return 0;
    } catch (e) {
      return (e as { status?: number }).status ?? -1;
    }
  }
  const lines = (s: string) => s.split('\n').filter(Boolean);
  const branch = (id: number) => `refs/ratify/proposals/${id}`;

  const side = (cs: Change[], skip: Change['op']) =>
    cs
      .filter((c) => c.op !== skip)
      .map((c) => c.text)
      .join('');
  /** The diff law: equal+delete gives the old text, equal+insert the new one. */
  function expectDiffLaw(changes: Change[], from: string, to: string) {
    expect(Array.isArray(changes)).toBe(true);
    for (const c of changes) {
      expect(['equal', 'insert', 'delete']).toContain(c.op);
      expect(typeof c.text).toBe('string');
    }
    expect(side(changes, 'insert')).toBe(from);
    expect(side(changes, 'delete')).toBe(to);
  }

  /** Every error answer has the documented shape; the code is asserted, never the message. */
  function expectError(res: request.Response, status: number, code?: string) {
    if (res.status !== status || (code && res.body?.error?.code !== code)) {
      throw new Error(
        `expected ${status}${code ? ` ${code}` : ''}, got ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`,
      );
    }
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(Object.keys(res.body)).toContain('error');
    expect(typeof res.body.error.code).toBe('string');
    expect(typeof res.body.error.message).toBe('string');
    expect(res.text).not.toContain(projectRoot);
  }

  const record = (id: number): ProposalRecord => t.ctx.meta.get('proposals', id)!;
  const commentsOfP = (id: number) =>
    t.ctx.meta
      .all('comments')
      .filter((c) => c.subject.type === 'proposal' && c.subject.id === id)
      .sort((a, b) => a.id - b.id);

  /** The branches and tags, `main` and the proposal's branch (read in-process: this runs around every refusal). */
  async function refs(id: number) {
    return {
      branches: [...(await t.ctx.repo.listBranches()), ...(await t.ctx.repo.listRefs('refs/ratify'))].sort(),
      tags: (await t.ctx.repo.listTags()).sort(),
      main: await t.ctx.repo.resolve('refs/heads/main'),
      branch: id > 0 ? await t.ctx.repo.resolve(branch(id)) : null,
    };
  }

  /** Everything a refused request must leave untouched. */
  async function snapshot(id: number) {
    return {
      proposal: JSON.stringify(t.ctx.meta.get('proposals', id) ?? null),
      comments: JSON.stringify(commentsOfP(id)),
      revisions: t.ctx.meta.all('revisions').filter((r) => r.subject.type === 'proposal' && r.subject.id === id).length,
      proposals: t.ctx.meta.all('proposals').length,
      allComments: t.ctx.meta.all('comments').length,
      refs: await refs(id),
    };
  }
  /** Run a request that must be refused, and check that it changed nothing. */
  async function refused(id: number, run: () => PromiseLike<request.Response>, status: number, code?: string) {
    const before = await snapshot(id);
    const res = await run();
    expectError(res, status, code);
    expect(await snapshot(id)).toEqual(before);
    return res;
  }

  let textCounter = 0;
  /** A proposed text: the published one with an added paragraph, unique per call. */
  const proposedText = (marker = '') => `${baseText}\nAn added paragraph number ${++textCounter}.${marker}\n`;

  interface Fixture {
    id: number;
    commentId: number;
  }

  /**
   * A proposal by the drafter, brought to `state` through the services (share, withdraw), with
   * one comment by the drafter made while it was still a draft (resolved when asked).
   */
  async function fixture(state: State, opts: { resolved?: boolean } = {}): Promise<Fixture> {
    const ctx = t.ctx;
    const p = await createProposal(ctx, U.drafter.actor, SLUG, {
      title: `Fixture (${state})`,
      rationale: 'Why not.',
      text: proposedText(),
    });
    const c = await addComment(ctx, U.drafter.actor, proposalCommentable(ctx, record(p.id)), {
      body: 'A first remark.',
    });
    if (opts.resolved) await setResolved(ctx, U.drafter.actor, proposalCommentable(ctx, record(p.id)), c.id, true);
    if (state === 'shared' || state === 'withdrawn-after-shared') await shareProposal(ctx, U.drafter.actor, p.id);
    if (state.startsWith('withdrawn')) await withdrawProposal(ctx, U.drafter.actor, p.id);
    return { id: p.id, commentId: c.id };
  }

  beforeAll(async () => {
    t = await openTestApp({ clock });
    U = await makeApiUsers(t.ctx, {
      drafter: { email: 'drafter@example.org', name: 'Dana Drafter', roles: ['member'], groups: ['wg-strategy'] },
      same: { email: 'same@example.org', name: 'Sam Samegroup', roles: ['member'], groups: ['wg-strategy'] },
      other: { email: 'other@example.org', name: 'Olga Other', roles: ['member'], groups: ['wg-wsp'] },
      chair: { email: 'chair@example.org', name: 'Chris Chair', roles: ['chair'] },
      secretariat: { email: 'secretariat@example.org', name: 'Sue Secretariat', roles: ['secretariat'] },
    });
    const doc = await request(t.app).get(`${API}/documents/${SLUG}`);
    expect(doc.status).toBe(200);
    baseText = doc.body.text;
    // `main` is the document's version commit or a later one (seeding commits one document at a time).
    mainAtStart = git('rev-parse', 'refs/heads/main').trim();
    expect(gitStatus('merge-base', '--is-ancestor', doc.body.version.commit, mainAtStart)).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await t?.cleanup();
  });

  /* ------------------------------------------------------------------------------------------ */
  /* The visibility matrix                                                                     */
  /* ------------------------------------------------------------------------------------------ */

  /**
   * A cell is the expected status, with the expected error code when the status alone does not
   * say it. Default codes: 401 unauthenticated, 403 forbidden, 404 proposal_not_found (the same
   * code as for an id that does not exist: what you may not see looks absent).
   */
  type Cell = 200 | 201 | 401 | 403 | 404 | `409 ${string}`;
  /** Columns: drafter, same-group member, other member, chair, secretariat, public. */
  type Row = [Cell, Cell, Cell, Cell, Cell, Cell];

  const READ: Record<State, Row> = {
    //                         drafter same  other chair secr  public
    draft: [200, 200, 404, 200, 200, 404],
    shared: [200, 200, 200, 200, 200, 404],
    'withdrawn-after-draft': [200, 200, 404, 200, 200, 404],
    'withdrawn-after-shared': [200, 200, 200, 200, 200, 404],
  };

  const MATRIX: Record<string, Record<State, Row>> = {
    'GET /proposals/:id': READ,
    'GET /proposals/:id/diff': READ,
    'GET /proposals/:id/comments': READ,
    // "members of the document's owning group, chair, secretariat"; 409 unless draft/shared.
    'PUT /proposals/:id/text': {
      draft: [200, 200, 404, 200, 200, 401],
      shared: [200, 200, 403, 200, 200, 401],
      'withdrawn-after-draft': [
        '409 not_editable',
        '409 not_editable',
        404,
        '409 not_editable',
        '409 not_editable',
        401,
      ],
      'withdrawn-after-shared': [
        '409 not_editable',
        '409 not_editable',
        403,
        '409 not_editable',
        '409 not_editable',
        401,
      ],
    },
    // "members of the document's owning group, chair, secretariat".
    'POST /proposals/:id/share': {
      draft: [200, 200, 404, 200, 200, 401],
      shared: ['409 already_shared', '409 already_shared', 403, '409 already_shared', '409 already_shared', 401],
      'withdrawn-after-draft': [
        '409 not_shareable',
        '409 not_shareable',
        404,
        '409 not_shareable',
        '409 not_shareable',
        401,
      ],
      'withdrawn-after-shared': [
        '409 not_shareable',
        '409 not_shareable',
        403,
        '409 not_shareable',
        '409 not_shareable',
        401,
      ],
    },
    // "its author, chair, secretariat": a same-group member who is not the author sees it but may not.
    'POST /proposals/:id/withdraw': {
      draft: [200, 403, 404, 200, 200, 401],
      shared: [200, 403, 403, 200, 200, 401],
      'withdrawn-after-draft': [
        '409 already_withdrawn',
        403,
        404,
        '409 already_withdrawn',
        '409 already_withdrawn',
        401,
      ],
      'withdrawn-after-shared': [
        '409 already_withdrawn',
        403,
        403,
        '409 already_withdrawn',
        '409 already_withdrawn',
        401,
      ],
    },
    // "members who may see it" — the code lets every signed-in viewer comment, chair-only and
    // secretariat-only accounts included (see the report); comments close when withdrawn.
    'POST /proposals/:id/comments': {
      draft: [201, 201, 404, 201, 201, 401],
      shared: [201, 201, 201, 201, 201, 401],
      'withdrawn-after-draft': [
        '409 closed_for_comments',
        '409 closed_for_comments',
        404,
        '409 closed_for_comments',
        '409 closed_for_comments',
        401,
      ],
      'withdrawn-after-shared': [
        '409 closed_for_comments',
        '409 closed_for_comments',
        '409 closed_for_comments',
        '409 closed_for_comments',
        '409 closed_for_comments',
        401,
      ],
    },
    // Issue 4: "resolve / reopen by the owning group, the chair or the secretariat".
    'POST /proposals/:id/comments/:cid/resolve': {
      draft: [200, 200, 404, 200, 200, 401],
      shared: [200, 200, 403, 200, 200, 401],
      'withdrawn-after-draft': [200, 200, 404, 200, 200, 401],
      'withdrawn-after-shared': [200, 200, 403, 200, 200, 401],
    },
    'POST /proposals/:id/comments/:cid/reopen': {
      draft: [200, 200, 404, 200, 200, 401],
      shared: [200, 200, 403, 200, 200, 401],
      'withdrawn-after-draft': [200, 200, 404, 200, 200, 401],
      'withdrawn-after-shared': [200, 200, 403, 200, 200, 401],
    },
  };

  /** POST /documents/:slug/proposals — "member of the owning group, chair, secretariat" (no state). */
  const CREATE: Row = [201, 201, 403, 201, 201, 401];

  const DEFAULT_CODE: Record<number, string> = { 401: 'unauthenticated', 403: 'forbidden', 404: 'proposal_not_found' };
  const parseCell = (c: Cell): { status: number; code?: string } => {
    if (typeof c === 'number') return { status: c, code: DEFAULT_CODE[c] };
    const [s, code] = c.split(' ');
    return { status: Number(s), code };
  };

  /** How each route is called, and what a success must have done. */
  const ROUTES: Record<
    string,
    {
      resolved?: boolean;
      mutates: boolean;
      call: (p: Person, f: Fixture) => request.Test;
      check?: (res: request.Response, f: Fixture, before: ProposalRecord) => void;
    }
  > = {
    'GET /proposals/:id': {
      mutates: false,
      call: (p, f) => request(t.app).get(`${API}/proposals/${f.id}`).set(as(p)),
      check: (res, f) =>
        expect(res.body).toEqual(expect.objectContaining({ id: f.id, document: SLUG, state: record(f.id).state })),
    },
    'GET /proposals/:id/diff': {
      mutates: false,
      call: (p, f) => request(t.app).get(`${API}/proposals/${f.id}/diff`).set(as(p)),
      check: (res) => expectDiffLaw(res.body.changes, baseText, side(res.body.changes, 'delete')),
    },
    'GET /proposals/:id/comments': {
      mutates: false,
      call: (p, f) => request(t.app).get(`${API}/proposals/${f.id}/comments`).set(as(p)),
      check: (res, f) => expect(res.body.map((c: { id: number }) => c.id)).toEqual([f.commentId]),
    },
    'PUT /proposals/:id/text': {
      mutates: true,
      call: (p, f) =>
        request(t.app)
          .put(`${API}/proposals/${f.id}/text`)
          .set(as(p))
          .send({ text: `${proposedText()}Edited by ${p}.\n`, head: record(f.id).head }),
      check: (res, f, before) => {
        expect(res.body).toEqual({ head: record(f.id).head });
        expect(res.body.head).not.toBe(before.head);
        expect(record(f.id).revisions).toBe(before.revisions + 1);
      },
    },
    'POST /proposals/:id/share': {
      mutates: true,
      call: (p, f) => request(t.app).post(`${API}/proposals/${f.id}/share`).set(as(p)),
      check: (res, f) => {
        expect(res.body).toEqual({ state: 'shared' });
        expect(record(f.id).state).toBe('shared');
      },
    },
    'POST /proposals/:id/withdraw': {
      mutates: true,
      call: (p, f) => request(t.app).post(`${API}/proposals/${f.id}/withdraw`).set(as(p)),
      check: (res, f) => {
        expect(res.body).toEqual({ state: 'withdrawn' });
        expect(record(f.id).state).toBe('withdrawn');
      },
    },
    'POST /proposals/:id/comments': {
      mutates: true,
      call: (p, f) =>
        request(t.app)
          .post(`${API}/proposals/${f.id}/comments`)
          .set(as(p))
          .send({ body: `A remark by ${p}.` }),
      check: (res, f, _before) => {
        expect(res.body).toEqual(
          expect.objectContaining({
            body: expect.stringMatching(/^A remark by /),
            replyTo: null,
            resolved: false,
            anchor: null,
          }),
        );
        expect(commentsOfP(f.id)).toHaveLength(2);
      },
    },
    'POST /proposals/:id/comments/:cid/resolve': {
      mutates: true,
      call: (p, f) => request(t.app).post(`${API}/proposals/${f.id}/comments/${f.commentId}/resolve`).set(as(p)),
      check: (res, f) => {
        expect(res.body).toEqual(expect.objectContaining({ id: f.commentId, resolved: true }));
        expect(t.ctx.meta.get('comments', f.commentId)!.resolved).toBe(true);
      },
    },
    'POST /proposals/:id/comments/:cid/reopen': {
      resolved: true,
      mutates: true,
      call: (p, f) => request(t.app).post(`${API}/proposals/${f.id}/comments/${f.commentId}/reopen`).set(as(p)),
      check: (res, f) => {
        expect(res.body).toEqual(expect.objectContaining({ id: f.commentId, resolved: false }));
        expect(t.ctx.meta.get('comments', f.commentId)!.resolved).toBe(false);
      },
    },
  };

  describe('visibility matrix: every proposal route × person × state', () => {
    /** One proposal per state for reads and refusals (both must change nothing: `refused` checks it). */
    const shared: Partial<Record<State, Fixture>> = {};
    const sharedResolved: Partial<Record<State, Fixture>> = {};
    beforeAll(async () => {
      for (const s of STATES) shared[s] = await fixture(s);
      for (const s of STATES) sharedResolved[s] = await fixture(s, { resolved: true });
    });

    const cells: [string, State, Person, Cell][] = [];
    for (const [route, byState] of Object.entries(MATRIX)) {
      for (const s of STATES) PEOPLE.forEach((p, i) => cells.push([route, s, p, byState[s][i]]));
    }

    test.each(cells)('%s · %s · %s → %s', async (route, state, person, cell) => {
      const r = ROUTES[route];
      const { status, code } = parseCell(cell);
      // A fresh proposal for every cell where a write should succeed, so cells stay independent.
      const f =
        r.mutates && status < 400
          ? await fixture(state, { resolved: r.resolved })
          : (r.resolved ? sharedResolved : shared)[state]!;
      const before = record(f.id);
      if (status >= 400) {
        await refused(f.id, () => r.call(person, f), status, code);
      } else {
        const res = await r.call(person, f);
        if (res.status !== status)
          throw new Error(`expected ${status}, got ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
        r.check?.(res, f, before);
      }
    });

    test.each(PEOPLE.map((p, i) => [p, CREATE[i]] as const))(
      'POST /documents/:slug/proposals · %s → %s',
      async (person, cell) => {
        const { status, code } = parseCell(cell);
        const send = () =>
          request(t.app)
            .post(`${API}/documents/${SLUG}/proposals`)
            .set(as(person))
            .send({ title: `By ${person}`, rationale: '', text: proposedText() });
        if (status >= 400) {
          await refused(0, send, status, code);
        } else {
          const res = await send();
          expect(res.status).toBe(status);
          expect(record(res.body.id).authorId).toBe(who(person)!.id);
        }
      },
    );

    test('a write without credentials is 401 even for ids and documents that do not exist', async () => {
      for (const run of [
        () =>
          request(t.app)
            .put(`${API}/proposals/999999/text`)
            .send({ text: 'x', head: '0'.repeat(40) }),
        () => request(t.app).post(`${API}/proposals/999999/share`),
        () => request(t.app).post(`${API}/proposals/999999/withdraw`),
        () => request(t.app).post(`${API}/proposals/999999/comments`).send({ body: 'hi' }),
        () => request(t.app).post(`${API}/proposals/999999/comments/1/resolve`),
        () => request(t.app).post(`${API}/proposals/999999/comments/1/reopen`),
        () => request(t.app).post(`${API}/proposals/not-a-number/share`),
        () => request(t.app).post(`${API}/documents/no-such-document/proposals`).send({ title: 't', text: 'x' }),
      ]) {
        await refused(0, run, 401, 'unauthenticated');
      }
    });

    test('a read of an id that does not exist is 404 for everyone (same code as a hidden draft)', async () => {
      for (const p of PEOPLE) {
        for (const suffix of ['', '/diff', '/comments']) {
          expectError(
            await request(t.app).get(`${API}/proposals/999999${suffix}`).set(as(p)),
            404,
            'proposal_not_found',
          );
        }
      }
    });

    test('a signed-in write to an id that does not exist is 404 proposal_not_found', async () => {
      const f = shared.draft!;
      for (const p of ['drafter', 'other', 'chair'] as Person[]) {
        await refused(
          f.id,
          () =>
            request(t.app)
              .put(`${API}/proposals/999999/text`)
              .set(as(p))
              .send({ text: 'x', head: record(f.id).head }),
          404,
          'proposal_not_found',
        );
        await refused(
          f.id,
          () => request(t.app).post(`${API}/proposals/999999/share`).set(as(p)),
          404,
          'proposal_not_found',
        );
        await refused(
          f.id,
          () => request(t.app).post(`${API}/proposals/999999/withdraw`).set(as(p)),
          404,
          'proposal_not_found',
        );
        await refused(
          f.id,
          () => request(t.app).post(`${API}/proposals/999999/comments`).set(as(p)).send({ body: 'x' }),
          404,
          'proposal_not_found',
        );
      }
    });

    test('a hidden draft and an absent id answer alike on every route (no existence leak)', async () => {
      const f = shared.draft!;
      const head = record(f.id).head;
      const calls: [string, (id: number) => request.Test][] = [
        ['GET', (id) => request(t.app).get(`${API}/proposals/${id}`).set(as('other'))],
        ['GET diff', (id) => request(t.app).get(`${API}/proposals/${id}/diff`).set(as('other'))],
        ['GET comments', (id) => request(t.app).get(`${API}/proposals/${id}/comments`).set(as('other'))],
        [
          'PUT text',
          (id) => request(t.app).put(`${API}/proposals/${id}/text`).set(as('other')).send({ text: 'x', head }),
        ],
        ['share', (id) => request(t.app).post(`${API}/proposals/${id}/share`).set(as('other'))],
        ['withdraw', (id) => request(t.app).post(`${API}/proposals/${id}/withdraw`).set(as('other'))],
        [
          'comment',
          (id) => request(t.app).post(`${API}/proposals/${id}/comments`).set(as('other')).send({ body: 'x' }),
        ],
        [
          'resolve',
          (id) => request(t.app).post(`${API}/proposals/${id}/comments/${f.commentId}/resolve`).set(as('other')),
        ],
      ];
      const mismatches: string[] = [];
      for (const [name, call] of calls) {
        const hidden = await call(f.id);
        const absent = await call(999999);
        if (hidden.status !== absent.status || hidden.body?.error?.code !== absent.body?.error?.code) {
          mismatches.push(
            `${name}: hidden ${hidden.status} ${hidden.body?.error?.code} vs absent ${absent.status} ${absent.body?.error?.code}`,
          );
        }
      }
      expect(mismatches).toEqual([]);
    });

    test('a comment id of another proposal, or none, is 404 comment_not_found on resolve/reopen', async () => {
      const a = shared.draft!;
      const b = shared.shared!;
      await refused(
        a.id,
        () => request(t.app).post(`${API}/proposals/${a.id}/comments/${b.commentId}/resolve`).set(as('drafter')),
        404,
        'comment_not_found',
      );
      await refused(
        a.id,
        () => request(t.app).post(`${API}/proposals/${a.id}/comments/999999/reopen`).set(as('chair')),
        404,
        'comment_not_found',
      );
    });
  });

  /* ------------------------------------------------------------------------------------------ */
  /* Create and read                                                                            */
  /* ------------------------------------------------------------------------------------------ */

  describe('create and read', () => {
    test('create → 201 {id,document,title,state:"draft",base,head} with base = the current main commit', async () => {
      const doc = await request(t.app).get(`${API}/documents/${SLUG}`);
      const main = git('rev-parse', 'refs/heads/main').trim();
      const text = `${baseText}\nA shape-check paragraph.\n`;
      const res = await request(t.app)
        .post(`${API}/documents/${SLUG}/proposals`)
        .set(as('drafter'))
        .send({ title: '  Shape check  ', rationale: 'Because **shape**.', text });
      expect(res.status).toBe(201);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual(
        expect.objectContaining({
          id: expect.any(Number),
          document: SLUG,
          title: 'Shape check',
          state: 'draft',
          base: main,
          head: expect.stringMatching(/^[0-9a-f]{40}$/),
        }),
      );
      // The base's file for this document is the published text (the same blob as the version's).
      const blob = (rev: string) => git('rev-parse', `${rev}:documents/${SLUG}.md`).trim();
      expect(blob(res.body.base)).toBe(blob(doc.body.version.commit));
      expect(Number.isInteger(res.body.id) && res.body.id > 0).toBe(true);
      expect(res.body.head).not.toBe(res.body.base);
      expect(git('rev-parse', branch(res.body.id)).trim()).toBe(res.body.head);

      const got = await request(t.app).get(`${API}/proposals/${res.body.id}`).set(as('same'));
      expect(got.status).toBe(200);
      expect(got.body).toEqual(
        expect.objectContaining({
          id: res.body.id,
          document: SLUG,
          title: 'Shape check',
          rationale: 'Because **shape**.',
          author: U.drafter.name,
          state: 'draft',
          base: res.body.base,
          head: res.body.head,
          text,
        }),
      );
    });

    test('ids are positive integers, numbered per kind, increasing', async () => {
      const a = await request(t.app)
        .post(`${API}/documents/${SLUG}/proposals`)
        .set(as('chair'))
        .send({ title: 'A', text: proposedText() });
      const b = await request(t.app)
        .post(`${API}/documents/${SLUG}/proposals`)
        .set(as('secretariat'))
        .send({ title: 'B', text: proposedText() });
      expect(a.status).toBe(201);
      expect(b.status).toBe(201);
      expect(b.body.id).toBe(a.body.id + 1);
    });

    test('a document that does not exist is 404 for a signed-in user; a bad slug too', async () => {
      await refused(
        0,
        () =>
          request(t.app)
            .post(`${API}/documents/no-such-document/proposals`)
            .set(as('chair'))
            .send({ title: 't', text: 'x' }),
        404,
        'document_not_found',
      );
      await refused(
        0,
        () =>
          request(t.app).post(`${API}/documents/Bad_Slug!/proposals`).set(as('chair')).send({ title: 't', text: 'x' }),
        404,
        'document_not_found',
      );
    });

    test('ids that are not positive integers are 404 for reads', async () => {
      for (const id of ['0', '-1', 'abc', '1.5', '01', '1e3']) {
        expectError(await request(t.app).get(`${API}/proposals/${id}`).set(as('chair')), 404);
      }
    });
  });

  /* ------------------------------------------------------------------------------------------ */
  /* Optimistic concurrency and the branch in stock git                                        */
  /* ------------------------------------------------------------------------------------------ */

  describe('concurrency and git', () => {
    test('10 concurrent PUT /text on one head: exactly one 200, nine 409 stale_head, one new commit', async () => {
      const f = await fixture('draft');
      const head = record(f.id).head;
      const countBefore = Number(git('rev-list', '--count', branch(f.id)).trim());
      const editors: Person[] = ['drafter', 'same', 'chair', 'secretariat'];
      const texts = Array.from({ length: 10 }, (_, i) => `${baseText}\nConcurrent edit ${i}.\n`);
      const results = await Promise.all(
        texts.map((text, i) =>
          request(t.app)
            .put(`${API}/proposals/${f.id}/text`)
            .set(as(editors[i % editors.length]))
            .send({ text, head }),
        ),
      );
      const ok = results.filter((r) => r.status === 200);
      const stale = results.filter((r) => r.status === 409);
      expect(ok).toHaveLength(1);
      expect(stale).toHaveLength(9);
      for (const r of stale) {
        expectError(r, 409, 'stale_head');
        expect(r.body.error.current).toMatch(/^[0-9a-f]{40}$/);
      }
      const winner = results.indexOf(ok[0]);
      expect(Number(git('rev-list', '--count', branch(f.id)).trim())).toBe(countBefore + 1);
      expect(git('rev-parse', branch(f.id)).trim()).toBe(ok[0].body.head);
      expect(git('rev-parse', `${ok[0].body.head}^`).trim()).toBe(head);
      expect(record(f.id)).toEqual(expect.objectContaining({ head: ok[0].body.head, revisions: 2 }));
      const got = await request(t.app).get(`${API}/proposals/${f.id}`).set(as('drafter'));
      expect(got.body.text).toBe(texts[winner]);
      const editor = U[editors[winner % editors.length] as Exclude<Person, 'public'>];
      expect(git('log', '-1', '--format=%an <%ae>', branch(f.id)).trim()).toBe(`${editor.name} <${editor.email}>`);
    });

    test('a stale but well-formed head is 409 stale_head with the current head, and nothing is written', async () => {
      const f = await fixture('shared');
      const first = record(f.id).head;
      const r1 = await request(t.app)
        .put(`${API}/proposals/${f.id}/text`)
        .set(as('same'))
        .send({ text: proposedText(), head: first });
      expect(r1.status).toBe(200);
      const res = await refused(
        f.id,
        () =>
          request(t.app)
            .put(`${API}/proposals/${f.id}/text`)
            .set(as('drafter'))
            .send({ text: proposedText(), head: first }),
        409,
        'stale_head',
      );
      expect(res.body.error.current).toBe(r1.body.head);
    });

    test('every revision is one commit by the person who saved it; the branch starts at the base commit', async () => {
      const created = await request(t.app)
        .post(`${API}/documents/${SLUG}/proposals`)
        .set(as('drafter'))
        .send({ title: 'Authors', rationale: 'r', text: proposedText() });
      expect(created.status).toBe(201);
      const { id, base } = created.body;
      let head = created.body.head;
      for (const p of ['chair', 'same', 'secretariat'] as Person[]) {
        clock.advance(1000);
        const r = await request(t.app)
          .put(`${API}/proposals/${id}/text`)
          .set(as(p))
          .send({ text: proposedText(), head });
        expect(r.status).toBe(200);
        head = r.body.head;
      }
      const ref = branch(id);
      expect(git('rev-parse', ref).trim()).toBe(head);
      const expectedAuthors = ['secretariat', 'same', 'chair', 'drafter'].map(
        (p) => `${U[p as 'chair'].name} <${U[p as 'chair'].email}>`,
      );
      expect(lines(git('log', '--format=%an <%ae>', `${base}..${ref}`))).toEqual(expectedAuthors);
      expect(lines(git('log', '--format=%cn <%ce>', `${base}..${ref}`))).toEqual(expectedAuthors);
      expect(Number(git('rev-list', '--count', `${base}..${ref}`).trim())).toBe(4);
      expect(record(id).revisions).toBe(4);
      // Starts at the base commit: base is an ancestor, and the first own commit's only parent is base.
      expect(gitStatus('merge-base', '--is-ancestor', base, ref)).toBe(0);
      const first = lines(git('rev-list', '--reverse', `${base}..${ref}`))[0];
      expect(
        lines(git('rev-list', '--parents', '-n', '1', first))[0]
          .split(' ')
          .slice(1),
      ).toEqual([base]);
      // Linear: every own commit has exactly one parent.
      for (const line of lines(git('rev-list', '--parents', `${base}..${ref}`)))
        expect(line.split(' ')).toHaveLength(2);
    });

    test("the branch keeps main's file layout; only the document's file differs", async () => {
      const f = await fixture('draft');
      const ref = branch(f.id);
      const names = lines(git('ls-tree', '-r', '--name-only', ref));
      expect(names).toEqual(
        expect.arrayContaining(['documents/terms-of-reference.md', 'documents/workshop-process.md']),
      );
      expect(names).toEqual(lines(git('ls-tree', '-r', '--name-only', 'refs/heads/main')));
      expect(lines(git('diff', '--name-only', `${record(f.id).base}`, ref))).toEqual([
        'documents/terms-of-reference.md',
      ]);
      const got = await request(t.app).get(`${API}/proposals/${f.id}`).set(as('drafter'));
      expect(git('show', `${ref}:documents/terms-of-reference.md`)).toBe(got.body.text);
      expect(git('show', `${ref}:documents/workshop-process.md`)).toBe(
        git('show', 'refs/heads/main:documents/workshop-process.md'),
      );
    });

    test('git fsck stays clean', () => {
      expect(gitStatus('fsck', '--no-dangling')).toBe(0);
    });
  });

  /* ------------------------------------------------------------------------------------------ */
  /* Diffs                                                                                      */
  /* ------------------------------------------------------------------------------------------ */

  describe('proposal diffs (the diff law)', () => {
    let id: number;
    const revs: string[] = [];
    beforeAll(async () => {
      revs.push(`${baseText.replace('Chatham House Rule', 'rules of open attribution')}\nA new closing paragraph.\n`);
      const c = await request(t.app)
        .post(`${API}/documents/${SLUG}/proposals`)
        .set(as('drafter'))
        .send({ title: 'Diffs', text: revs[0] });
      id = c.body.id;
      let head = c.body.head;
      for (const edit of [
        (s: string) => s.replace('A new closing', 'A rewritten closing'),
        (s: string) => `Preamble — “quoted” 😀.\n\n${s}`,
      ]) {
        revs.push(edit(revs[revs.length - 1]));
        const r = await request(t.app)
          .put(`${API}/proposals/${id}/text`)
          .set(as('same'))
          .send({ text: revs[revs.length - 1], head });
        expect(r.status).toBe(200);
        head = r.body.head;
      }
    });

    test('base → head by default', async () => {
      const res = await request(t.app).get(`${API}/proposals/${id}/diff`).set(as('chair'));
      expect(res.status).toBe(200);
      expect(res.body.from).toBe(record(id).base);
      expect(res.body.to).toBe(record(id).head);
      expectDiffLaw(res.body.changes, baseText, revs[2]);
      expect(res.body.changes.some((c: Change) => c.op === 'delete' && c.text.includes('Chatham'))).toBe(true);
    });

    test('revision → revision with ?from=&to= (either order, and to alone)', async () => {
      for (const [a, b] of [
        [1, 2],
        [2, 3],
        [1, 3],
        [3, 1],
        [2, 2],
      ]) {
        const res = await request(t.app).get(`${API}/proposals/${id}/diff?from=${a}&to=${b}`).set(as('drafter'));
        expect(res.status).toBe(200);
        expectDiffLaw(res.body.changes, revs[a - 1], revs[b - 1]);
      }
      const toOnly = await request(t.app).get(`${API}/proposals/${id}/diff?to=2`).set(as('drafter'));
      expect(toOnly.status).toBe(200);
      expectDiffLaw(toOnly.body.changes, baseText, revs[1]);
    });

    test('revisions that do not exist are 404; malformed ones 400', async () => {
      expectError(
        await request(t.app).get(`${API}/proposals/${id}/diff?from=4`).set(as('drafter')),
        404,
        'revision_not_found',
      );
      expectError(
        await request(t.app).get(`${API}/proposals/${id}/diff?from=1&to=9`).set(as('drafter')),
        404,
        'revision_not_found',
      );
      for (const q of ['from=0', 'from=abc', 'to=-1', 'against=tomorrow', 'from=1.5']) {
        expectError(await request(t.app).get(`${API}/proposals/${id}/diff?${q}`).set(as('drafter')), 400);
      }
    });
  });

  /* ------------------------------------------------------------------------------------------ */
  /* Limits and bad input: every refusal changes nothing                                        */
  /* ------------------------------------------------------------------------------------------ */

  describe('limits and bad input', () => {
    let f: Fixture;
    beforeAll(async () => {
      f = await fixture('draft');
    });
    const put = (body: unknown, p: Person = 'drafter') =>
      request(t.app)
        .put(`${API}/proposals/${f.id}/text`)
        .set(as(p))
        .send(body as object);
    const create = (body: unknown) =>
      request(t.app)
        .post(`${API}/documents/${SLUG}/proposals`)
        .set(as('drafter'))
        .send(body as object);
    const MB = 1024 * 1024;

    test('text of 1 MB + 1 byte → 413 text_too_large (create and edit); exactly 1 MB is accepted', async () => {
      const big = 'a'.repeat(MB + 1);
      await refused(f.id, () => put({ text: big, head: record(f.id).head }), 413, 'text_too_large');
      await refused(0, () => create({ title: 'Big', text: big }), 413, 'text_too_large');
      // Multi-byte: 1 MB counts bytes, not characters.
      await refused(
        f.id,
        () => put({ text: 'é'.repeat(MB / 2) + 'a', head: record(f.id).head }),
        413,
        'text_too_large',
      );
      const exact = await put({ text: 'a'.repeat(MB), head: record(f.id).head });
      expect(exact.status).toBe(200);
    });

    test('a body over the JSON cap (room for a 1 MB text written as two-byte escapes) → 413 body_too_large', async () => {
      const huge = 'b'.repeat(MAX_JSON_BODY_BYTES + 1);
      await refused(f.id, () => put({ text: huge, head: record(f.id).head }), 413, 'body_too_large');
      await refused(0, () => create({ title: 'Huge', text: huge }), 413, 'body_too_large');
    });

    test('title: 201 characters → 400 invalid_title; 200 is fine; blank or multi-line → 400', async () => {
      await refused(0, () => create({ title: 'x'.repeat(201), text: proposedText() }), 400, 'invalid_title');
      await refused(
        f.id,
        () => put({ title: 'x'.repeat(201), text: proposedText(), head: record(f.id).head }),
        400,
        'invalid_title',
      );
      for (const title of ['', '   ', 'two\nlines', 42, null, undefined]) {
        await refused(0, () => create({ title, text: proposedText() }), 400, 'invalid_title');
      }
      const ok = await create({ title: 'y'.repeat(200), text: proposedText() });
      expect(ok.status).toBe(201);
    });

    test('rationale over 20 KB → 413 rationale_too_large (create and edit)', async () => {
      const r = 'r'.repeat(20 * 1024 + 1);
      await refused(
        0,
        () => create({ title: 'Long why', rationale: r, text: proposedText() }),
        413,
        'rationale_too_large',
      );
      await refused(
        f.id,
        () => put({ rationale: r, text: proposedText(), head: record(f.id).head }),
        413,
        'rationale_too_large',
      );
      await refused(
        0,
        () => create({ title: 'Odd why', rationale: { a: 1 }, text: proposedText() }),
        400,
        'invalid_rationale',
      );
      const ok = await create({ title: 'Long enough why', rationale: 'r'.repeat(20 * 1024), text: proposedText() });
      expect(ok.status).toBe(201);
    });

    test('text missing, not a string, or with NUL → 400 invalid_text', async () => {
      for (const text of [undefined, null, 5, ['a'], 'with\u0000nul']) {
        await refused(f.id, () => put({ text, head: record(f.id).head }), 400, 'invalid_text');
        await refused(0, () => create({ title: 'T', text }), 400, 'invalid_text');
      }
    });

    test('non-JSON bodies (text/xml, text/plain, form), malformed JSON and JSON that is not an object → 4xx', async () => {
      const head = record(f.id).head;
      const bodies: [string, string][] = [
        ['text/xml', `<proposal><text>x</text><head>${head}</head></proposal>`],
        ['text/plain', `text=x&head=${head}`],
        ['application/x-www-form-urlencoded', `text=x&head=${head}`],
        ['application/json', '{"text": "x", "head": '],
        ['application/json', '["x"]'],
        ['application/json', '"x"'],
      ];
      for (const [type, raw] of bodies) {
        const res = await refused(
          f.id,
          () =>
            request(t.app).put(`${API}/proposals/${f.id}/text`).set(as('drafter')).set('Content-Type', type).send(raw),
          400,
        );
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        const c = await refused(
          0,
          () =>
            request(t.app)
              .post(`${API}/documents/${SLUG}/proposals`)
              .set(as('drafter'))
              .set('Content-Type', type)
              .send(raw),
          400,
        );
        expect(c.status).toBeLessThan(500);
      }
      expectError(
        await request(t.app)
          .put(`${API}/proposals/${f.id}/text`)
          .set(as('drafter'))
          .set('Content-Type', 'application/json')
          .send('{"text": '),
        400,
        'invalid_json',
      );
    });

    test('head not a 40-hex string → 400 invalid_head', async () => {
      const head = record(f.id).head;
      for (const bad of [
        undefined,
        null,
        '',
        'abc',
        head.slice(0, 39),
        `${head}0`,
        head.toUpperCase(),
        42,
        [head],
        { head },
        `${head.slice(0, 39)}g`,
      ]) {
        await refused(f.id, () => put({ text: proposedText(), head: bad }), 400, 'invalid_head');
      }
    });

    test('editing a withdrawn proposal → 409 not_editable; sharing twice → 409 already_shared', async () => {
      const w = await fixture('withdrawn-after-shared');
      await refused(
        w.id,
        () =>
          request(t.app)
            .put(`${API}/proposals/${w.id}/text`)
            .set(as('drafter'))
            .send({ text: proposedText(), head: record(w.id).head }),
        409,
        'not_editable',
      );
      const s = await fixture('draft');
      expect((await request(t.app).post(`${API}/proposals/${s.id}/share`).set(as('same'))).status).toBe(200);
      await refused(
        s.id,
        () => request(t.app).post(`${API}/proposals/${s.id}/share`).set(as('drafter')),
        409,
        'already_shared',
      );
      expect(record(s.id).state).toBe('shared');
    });
  });

  /* ------------------------------------------------------------------------------------------ */
  /* Comments                                                                                   */
  /* ------------------------------------------------------------------------------------------ */

  describe('comments', () => {
    const P1 = 'First paragraph about the mandate of the group.';
    const P2 = 'Closed meetings are held under the Chatham House Rule and nobody may quote a speaker.';
    const P3 = 'Members serve for a term of three years.';
    const QUOTE = 'held under the Chatham House Rule';
    const textOf = (a: string, b: string, c: string) => `# Title\n\n${a}\n\n${b}\n\n${c}\n`;
    let id: number;
    let other: Fixture;

    beforeAll(async () => {
      const c = await request(t.app)
        .post(`${API}/documents/${SLUG}/proposals`)
        .set(as('drafter'))
        .send({ title: 'Comments', text: textOf(P1, P2, P3) });
      expect(c.status).toBe(201);
      id = c.body.id;
      expect((await request(t.app).post(`${API}/proposals/${id}/share`).set(as('drafter'))).status).toBe(200);
      other = await fixture('shared');
    });

    const post = (body: unknown, p: Person = 'other', pid = id) =>
      request(t.app)
        .post(`${API}/proposals/${pid}/comments`)
        .set(as(p))
        .send(body as object);
    const list = async (p: Person = 'other') => {
      const r = await request(t.app).get(`${API}/proposals/${id}/comments`).set(as(p));
      expect(r.status).toBe(200);
      return r.body as {
        id: number;
        author: string;
        body: string;
        anchor: { quote: string; revision: number; outdated: boolean } | null;
        createdAt: string;
        replyTo: number | null;
        resolved: boolean;
      }[];
    };
    const revise = async (text: string, p: Person = 'same') => {
      const r = await request(t.app)
        .put(`${API}/proposals/${id}/text`)
        .set(as(p))
        .send({ text, head: record(id).head });
      expect(r.status).toBe(200);
    };

    test('201 with {id,author,body,anchor,createdAt,replyTo,resolved,suggestion,appliedIn}; markdown body returned raw', async () => {
      const body =
        '**Bold** <script>alert(1)</script> <img src=x onerror="alert(2)"> [click](javascript:alert(3))\n\n- item';
      const res = await post({ body });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(Number),
        author: U.other.name,
        body,
        anchor: null,
        createdAt: expect.any(String),
        replyTo: null,
        resolved: false,
        suggestion: null,
        appliedIn: null,
      });
      expect(new Date(res.body.createdAt).toISOString()).toBe(res.body.createdAt);
      const listed = (await list()).find((c) => c.id === res.body.id)!;
      expect(listed.body).toBe(body);
    });

    test('empty body → 400 invalid_comment; over 64 KB → 413 comment_too_large; 64 KB is fine', async () => {
      for (const body of [undefined, '', '   \n', 7, { x: 1 }])
        await refused(id, () => post({ body }), 400, 'invalid_comment');
      await refused(id, () => post({ body: 'c'.repeat(64 * 1024 + 1) }), 413, 'comment_too_large');
      await refused(id, () => post({ body: 'é'.repeat(32 * 1024) + 'c' }), 413, 'comment_too_large');
      expect((await post({ body: 'c'.repeat(64 * 1024) })).status).toBe(201);
    });

    test('an anchor quote that is not in the current text → 400 quote_not_found; malformed anchors → 400', async () => {
      await refused(
        id,
        () => post({ body: 'x', anchor: { quote: 'a passage that is nowhere' } }),
        400,
        'quote_not_found',
      );
      // A passage of the published text that the proposal's text does not contain.
      await refused(id, () => post({ body: 'x', anchor: { quote: baseText.slice(0, 40) } }), 400, 'quote_not_found');
      for (const anchor of [
        { quote: '' },
        { quote: '   ' },
        { quote: 5 },
        'held under',
        ['held under'],
        { quote: 'x'.repeat(2001) },
      ]) {
        await refused(id, () => post({ body: 'x', anchor }), 400, 'invalid_anchor');
      }
    });

    test('an anchor with a negative occurrence is still checked against the text (400 quote_not_found)', async () => {
      // locateQuote(text, quote, -1) returns -1 instead of null, so this is stored with offset -1.
      await refused(
        id,
        () => post({ body: 'x', anchor: { quote: 'a passage that is nowhere', occurrence: -1 } }),
        400,
        'quote_not_found',
      );
    });

    test('replyTo a comment of another proposal, or of none → 400 invalid_reply', async () => {
      await refused(id, () => post({ body: 'x', replyTo: other.commentId }), 400, 'invalid_reply');
      await refused(id, () => post({ body: 'x', replyTo: 999999 }), 400, 'invalid_reply');
      await refused(id, () => post({ body: 'x', replyTo: 'abc' }), 400, 'invalid_reply');
    });

    test('threads: a reply to a reply joins the thread; resolve/reopen by the group, chair and secretariat (and the starter)', async () => {
      const root = await post({ body: 'Should this go?' }, 'chair');
      const reply = await post({ body: 'Yes.', replyTo: root.body.id }, 'drafter');
      expect(reply.status).toBe(201);
      expect(reply.body.replyTo).toBe(root.body.id);
      const nested = await post({ body: 'Agreed.', replyTo: reply.body.id }, 'chair');
      expect(nested.status).toBe(201);
      expect(nested.body.replyTo).toBe(root.body.id);

      const resolve = (p: Person, cid: number, verb = 'resolve') =>
        request(t.app).post(`${API}/proposals/${id}/comments/${cid}/${verb}`).set(as(p));
      // The other member sees the thread but may not resolve it (they did not start it).
      await refused(id, () => resolve('other', root.body.id), 403, 'forbidden');
      const r1 = await resolve('same', reply.body.id); // resolving via a reply resolves the thread
      expect(r1.status).toBe(200);
      expect(r1.body).toEqual(expect.objectContaining({ id: root.body.id, resolved: true }));
      expect((await list()).find((c) => c.id === root.body.id)!.resolved).toBe(true);
      const r2 = await resolve('chair', root.body.id, 'reopen');
      expect(r2.status).toBe(200);
      expect((await list()).find((c) => c.id === root.body.id)!.resolved).toBe(false);
      expect((await resolve('secretariat', root.body.id)).status).toBe(200);
      expect((await list()).find((c) => c.id === root.body.id)!.resolved).toBe(true);
      // Comments list oldest first, ids increasing.
      const ids = (await list()).map((c) => c.id);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
    });

    test('an anchored comment is outdated only after a revision that changes the quoted passage', async () => {
      const c = await post({ body: 'Why keep this?', anchor: { quote: QUOTE } }, 'other');
      expect(c.status).toBe(201);
      const rev = record(id).revisions;
      expect(c.body.anchor).toEqual({ quote: QUOTE, revision: rev, outdated: false });
      const anchorOf = async () => (await list()).find((x) => x.id === c.body.id)!.anchor;

      // Other paragraphs change (before and after): the passage is untouched.
      await revise(textOf('The first paragraph was rewritten entirely.', P2, `${P3} Renewable once.`));
      expect(await anchorOf()).toEqual({ quote: QUOTE, revision: rev, outdated: false });
      // The same paragraph changes, but outside the quoted words: still untouched.
      await revise(
        textOf(
          'The first paragraph was rewritten entirely.',
          P2.replace('nobody may quote a speaker', 'no speaker may be quoted'),
          `${P3} Renewable once.`,
        ),
      );
      expect(await anchorOf()).toEqual({ quote: QUOTE, revision: rev, outdated: false });
      // The quoted passage changes: outdated, shown with its original passage and revision.
      await revise(
        textOf(
          'The first paragraph was rewritten entirely.',
          'Closed meetings are held in public and anyone may quote a speaker.',
          `${P3} Renewable once.`,
        ),
      );
      expect(await anchorOf()).toEqual({ quote: QUOTE, revision: rev, outdated: true });
      // Anyone who may see the proposal sees the same.
      for (const p of ['drafter', 'chair', 'secretariat'] as Person[])
        expect((await list(p)).find((x) => x.id === c.body.id)!.anchor!.outdated).toBe(true);
    });

    test('commenting on a withdrawn proposal → 409 closed_for_comments', async () => {
      const w = await fixture('withdrawn-after-shared');
      await refused(w.id, () => post({ body: 'late' }, 'other', w.id), 409, 'closed_for_comments');
    });
  });

  /* ------------------------------------------------------------------------------------------ */
  /* Nothing leaks                                                                              */
  /* ------------------------------------------------------------------------------------------ */

  describe('nothing of a draft leaks (rule 7)', () => {
    const MARKER = 'QZXV7R4-draft-marker';
    let id: number;
    let sharedId: number;

    beforeAll(async () => {
      const c = await request(t.app)
        .post(`${API}/documents/${SLUG}/proposals`)
        .set(as('drafter'))
        .send({
          title: `Secret ${MARKER} title`,
          rationale: `Secret ${MARKER} rationale`,
          text: proposedText(` ${MARKER} text`),
        });
      expect(c.status).toBe(201);
      id = c.body.id;
      expect((await post(id, `Secret ${MARKER} comment`)).status).toBe(201);
      const s = await request(t.app)
        .post(`${API}/documents/${SLUG}/proposals`)
        .set(as('same'))
        .send({ title: `Shared ${MARKER}`, text: proposedText(` ${MARKER} shared`) });
      sharedId = s.body.id;
      expect((await request(t.app).post(`${API}/proposals/${sharedId}/share`).set(as('same'))).status).toBe(200);
    });
    const post = (pid: number, body: string) =>
      request(t.app).post(`${API}/proposals/${pid}/comments`).set(as('same')).send({ body });

    const PUBLIC_URLS = [
      `${API}/documents`,
      `${API}/documents/${SLUG}`,
      `${API}/documents/${SLUG}/versions`,
      `${API}/documents/${SLUG}/versions/1`,
      `${API}/documents/${SLUG}/diff?from=1&to=1`,
      '/',
      `/documents/${SLUG}`,
      `/documents/${SLUG}/history`,
      `/documents/${SLUG}/versions/1`,
      `/documents/${SLUG}/versions/1.md`,
      `/documents/${SLUG}/compare?from=1&to=1`,
      `/documents/${SLUG}/feed.atom`,
      '/feed.atom',
    ];

    test("public API, pages and feeds never contain a draft's (or a shared proposal's) text or title", async () => {
      for (const url of PUBLIC_URLS) {
        for (const auth of [{}, as('other'), as('drafter')]) {
          const res = await request(t.app).get(url).set(auth);
          expect(res.status).toBe(200);
          expect(res.text).not.toContain(MARKER);
        }
      }
    });

    test('the public gets 404 for the proposal, its diff, comments and page, with nothing of it in the answer', async () => {
      for (const pid of [id, sharedId]) {
        for (const url of [
          `${API}/proposals/${pid}`,
          `${API}/proposals/${pid}/diff`,
          `${API}/proposals/${pid}/comments`,
          `/proposals/${pid}`,
        ]) {
          const res = await request(t.app).get(url);
          expect(res.status).toBe(404);
          expect(res.text).not.toContain(MARKER);
        }
      }
    });

    test('an other member gets 404 for the draft and nothing of it', async () => {
      for (const url of [`${API}/proposals/${id}`, `${API}/proposals/${id}/diff`, `${API}/proposals/${id}/comments`]) {
        const res = await request(t.app).get(url).set(as('other'));
        expectError(res, 404, 'proposal_not_found');
        expect(res.text).not.toContain(MARKER);
      }
    });

    test('in git, proposals live only on refs/ratify/proposals/* (never under refs/heads/); main and the tags are unchanged', async () => {
      expect(git('rev-parse', 'refs/heads/main').trim()).toBe(mainAtStart);
      const refs = lines(git('for-each-ref', '--format=%(refname)'));
      for (const ref of refs)
        expect(ref).toMatch(/^refs\/(heads\/main|ratify\/proposals\/[1-9][0-9]*|tags\/[a-z0-9-]+\/v[1-9][0-9]*)$/);
      expect(refs).toContain(branch(id));
      // Nothing reachable from main or a tag carries the marker…
      expect(git('log', '--format=%an%n%ae%n%B', 'refs/heads/main', '--tags')).not.toContain(MARKER);
      expect(gitStatus('grep', '-q', MARKER, 'refs/heads/main')).not.toBe(0);
      // …and the proposals' commits are reachable only from their own branch.
      for (const pid of [id, sharedId]) {
        const head = record(pid).head;
        expect(lines(git('for-each-ref', '--contains', head, '--format=%(refname)'))).toEqual([branch(pid)]);
        expect(lines(git('tag', '--contains', head))).toEqual([]);
        expect(git('show', `${branch(pid)}:documents/${SLUG}.md`)).toContain(MARKER);
      }
    });
  });

  /* ------------------------------------------------------------------------------------------ */
  /* Against the published version (last: this publishes a new version of the document)        */
  /* ------------------------------------------------------------------------------------------ */

  describe('diff against a newer published version', () => {
    test('?against=published compares the current published text with the head; the default stays base → head', async () => {
      const f = await fixture('shared');
      const p = record(f.id);
      const head = (await request(t.app).get(`${API}/proposals/${f.id}`).set(as('other'))).body.text as string;
      const doc = t.ctx.meta.get('documents', SLUG)!;
      const published = `${baseText.replace('## 1. Mandate', '## 1. Mandate and purpose')}\nPublished after the proposal began.\n`;
      clock.advance(60_000);
      const v = await publishVersion(t.ctx, {
        slug: SLUG,
        title: doc.title,
        group: doc.group,
        text: published,
        summary: 'A newer version',
        author: { name: 'Pat Publisher', email: 'pat@example.org', at: clock() },
      });
      expect((await request(t.app).get(`${API}/documents/${SLUG}`)).body.version).toEqual(
        expect.objectContaining({ number: v.number, commit: v.commit }),
      );

      const against = await request(t.app).get(`${API}/proposals/${f.id}/diff?against=published`).set(as('other'));
      expect(against.status).toBe(200);
      expect(against.body.from).toBe(v.commit);
      expect(against.body.to).toBe(p.head);
      expectDiffLaw(against.body.changes, published, head);

      const dflt = await request(t.app).get(`${API}/proposals/${f.id}/diff`).set(as('other'));
      expect(dflt.body.from).toBe(p.base);
      expectDiffLaw(dflt.body.changes, baseText, head);
      const explicitBase = await request(t.app).get(`${API}/proposals/${f.id}/diff?against=base`).set(as('other'));
      expectDiffLaw(explicitBase.body.changes, baseText, head);

      // The proposal keeps its base; a new one is based on the new main commit.
      expect(record(f.id).base).toBe(mainAtStart);
      const n = await request(t.app)
        .post(`${API}/documents/${SLUG}/proposals`)
        .set(as('drafter'))
        .send({ title: 'After', text: proposedText() });
      expect(n.body.base).toBe(v.commit);
      // Publishing moved main by one commit whose parent is the old main: no proposal commit on it.
      expect(git('rev-parse', 'refs/heads/main^').trim()).toBe(mainAtStart);
      expect(lines(git('for-each-ref', '--contains', p.head, '--format=%(refname)'))).toEqual([branch(f.id)]);
    });
  });
});
