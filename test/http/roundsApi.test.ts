/**
 * API.md "Members" — consolidations, rounds, ballots, publishing — and the public decision
 * record, through HTTP with bearer tokens. The tests run in order and tell one story:
 * two proposals → consolidation → round → ballots → close → publish → public history. Each
 * step still runs on its own (`-t`): it brings the story up to itself first (helpers/story.ts).
 */
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { story } from '../helpers/story.js';
import request from 'supertest';
import { openTestApp, projectRoot, testClock } from '../helpers/data.js';
import { committee, person, S1, S2, TOR, type Person } from '../helpers/people.js';

describe('http/roundsApi', () => {
  const clock = testClock('2026-03-01T09:00:00Z');
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let who: Awaited<ReturnType<typeof committee>>;
  let published: string;
  const P: Record<'p1' | 'p2' | 'p3' | 'draft', { id: number; head: string }> = {} as never;

  type Method = 'get' | 'post' | 'put';
  const api = (method: Method, path: string, as: Person | null = null, body?: unknown) => {
    let r = request(t.app)[method](`/api/v1${path}`);
    if (as) r = r.set(as.auth);
    return body === undefined ? r : r.send(body as object);
  };
  const iso = (ms: number) => new Date(clock().getTime() + ms).toISOString();
  const DAY = 86_400_000;

  /** Every error answer has exactly the documented shape and no stack trace. */
  function expectError(res: request.Response, status: number, code?: string) {
    expect({ status: res.status, code: res.body?.error?.code }).toEqual({
      status,
      code: code ?? res.body?.error?.code,
    });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(Object.keys(res.body)).toEqual(['error']);
    expect(typeof res.body.error.message).toBe('string');
    expect(res.text).not.toContain(projectRoot);
    expect(res.text).not.toMatch(/\n\s+at /);
  }

  const CONSOLIDATION_KEYS = [
    'id',
    'document',
    'state',
    'stale',
    'base',
    'head',
    'text',
    'proposals',
    'summary',
    'conflicts',
  ];
  const ROUND_KEYS = [
    'id',
    'subject',
    'commit',
    'rule',
    'quorum',
    'closesAt',
    'state',
    'electorate',
    'tally',
    'ballots',
  ];
  const SHA = /^[0-9a-f]{40}$/;
  const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

  beforeAll(async () => {
    t = await openTestApp({ clock });
    who = await committee(t.ctx);
    published = (await api('get', `/documents/${TOR}`)).body.text;
    expect(published).toContain(S1);
    const make = async (title: string, text: string, share = true) => {
      const res = await api('post', `/documents/${TOR}/proposals`, who.drafter, {
        title,
        rationale: `Because: ${title}`,
        text,
      });
      expect(res.status).toBe(201);
      if (share) expect((await api('post', `/proposals/${res.body.id}/share`, who.drafter)).status).toBe(200);
      return { id: res.body.id as number, head: res.body.head as string };
    };
    P.p1 = await make('Open meetings', published.replace(S1, ''));
    P.p2 = await make('Remote participation', published.replace(S2, ''));
    P.p3 = await make(
      'Confidential meetings',
      published.replace(S1, 'Closed meetings of the Group are confidential. '),
    );
    P.draft = await make('Not yet shared', published.replace('## 1. Mandate', '## 1. Mandate (draft)'), false);
  });

  afterAll(async () => {
    await t?.cleanup();
  });

  const step = story();

  let c: { id: number; head: string };
  let clash: { id: number; head: string };
  let later: { id: number };
  let round: { id: number; closesAt: string };
  let proposalRound: { id: number };

  describe('consolidations', () => {
    step(
      'POST /documents/:slug/consolidations: 401 public, 403 member, 404 unknown document, 400 bad list, 409 not shared',
      async () => {
        const body = { proposals: [P.p1.id, P.p2.id], summary: 'Open and remote meetings' };
        expectError(await api('post', `/documents/${TOR}/consolidations`, null, body), 401, 'unauthenticated');
        expectError(await api('post', `/documents/${TOR}/consolidations`, who.m1, body), 403, 'forbidden');
        expectError(await api('post', `/documents/${TOR}/consolidations`, who.drafter, body), 403, 'forbidden');
        expectError(await api('post', '/documents/no-such-doc/consolidations', who.chair, body), 404);
        expectError(
          await api('post', `/documents/${TOR}/consolidations`, who.chair, { proposals: [], summary: 'x' }),
          400,
          'invalid_proposals',
        );
        expectError(
          await api('post', `/documents/${TOR}/consolidations`, who.chair, { proposals: 'all', summary: 'x' }),
          400,
          'invalid_proposals',
        );
        expectError(
          await api('post', `/documents/${TOR}/consolidations`, who.chair, {
            proposals: [P.p1.id, P.draft.id],
            summary: 'x',
          }),
          409,
          'not_shared',
        );
      },
    );

    step('POST → 201 with the consolidation (as GET): both changes merged, no conflicts', async () => {
      const res = await api('post', `/documents/${TOR}/consolidations`, who.chair, {
        proposals: [P.p1.id, P.p2.id],
        summary: 'Open and remote meetings',
      });
      expect(res.status).toBe(201);
      expect(Object.keys(res.body)).toEqual(expect.arrayContaining(CONSOLIDATION_KEYS));
      expect(res.body).toMatchObject({
        document: TOR,
        state: 'open',
        stale: false,
        proposals: [P.p1.id, P.p2.id],
        summary: 'Open and remote meetings',
        conflicts: [],
      });
      expect(res.body.base).toMatch(SHA);
      expect(res.body.head).toMatch(SHA);
      expect(res.body.text).toBe(published.replace(S1, '').replace(S2, ''));
      c = { id: res.body.id, head: res.body.head };
      const got = await api('get', `/consolidations/${c.id}`, who.m1);
      expect(got.status).toBe(200);
      expect(got.body).toEqual(res.body);
    });

    step(
      'overlapping proposals: the text carries conflict markers and conflicts name both proposals; no round until resolved',
      async () => {
        const res = await api('post', `/documents/${TOR}/consolidations`, who.sec, {
          proposals: [P.p1.id, P.p3.id],
          summary: 'Clash',
        });
        expect(res.status).toBe(201);
        expect(res.body.conflicts).toHaveLength(1);
        expect(res.body.conflicts[0]).toEqual({
          proposals: [P.p1.id, P.p3.id],
          text: expect.stringContaining('<<<<<<< '),
        });
        expect(res.body.text).toContain(res.body.conflicts[0].text);
        clash = { id: res.body.id, head: res.body.head };
        const open = await api('post', '/rounds', who.chair, {
          subject: { type: 'consolidation', id: clash.id },
          rule: 'majority',
          quorum: 0.5,
          closesAt: iso(DAY),
        });
        expectError(open, 409, 'unresolved_conflicts');
      },
    );

    step('PUT /consolidations/:id/text: 401 public, 403 member, 200 {head}, 409 on a stale head', async () => {
      const text = published.replace(S1, 'Closed meetings of the Group are confidential. ');
      expectError(
        await api('put', `/consolidations/${clash.id}/text`, null, { text, head: clash.head }),
        401,
        'unauthenticated',
      );
      expectError(
        await api('put', `/consolidations/${clash.id}/text`, who.m1, { text, head: clash.head }),
        403,
        'forbidden',
      );
      const ok = await api('put', `/consolidations/${clash.id}/text`, who.chair, { text, head: clash.head });
      expect(ok.status).toBe(200);
      expect(Object.keys(ok.body)).toEqual(['head']);
      expect(ok.body.head).toMatch(SHA);
      expectError(
        await api('put', `/consolidations/${clash.id}/text`, who.chair, { text: `${text}\nMore.\n`, head: clash.head }),
        409,
        'stale_head',
      );
      const got = (await api('get', `/consolidations/${clash.id}`, who.m2)).body;
      expect(got).toMatchObject({ head: ok.body.head, text, conflicts: [] });
      clash.head = ok.body.head;
    });

    step('comments on a consolidation: 201 for members, 401 for the public', async () => {
      const res = await api('post', `/consolidations/${c.id}/comments`, who.m1, { body: 'Reads well.' });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ body: 'Reads well.' });
      expectError(await api('post', `/consolidations/${c.id}/comments`, null, { body: 'x' }), 401, 'unauthenticated');
      const list = await api('get', `/consolidations/${c.id}/comments`, who.m2);
      expect(list.status).toBe(200);
      expect(list.body).toHaveLength(1);
    });

    step('POST /consolidations/:id/abandon: 401, 403, 200, then 409', async () => {
      expectError(await api('post', `/consolidations/${clash.id}/abandon`), 401, 'unauthenticated');
      expectError(await api('post', `/consolidations/${clash.id}/abandon`, who.m1), 403, 'forbidden');
      const ok = await api('post', `/consolidations/${clash.id}/abandon`, who.chair);
      expect(ok.status).toBe(200);
      expect(ok.body.state).toBe('abandoned');
      expectError(await api('post', `/consolidations/${clash.id}/abandon`, who.chair), 409);
      expectError(
        await api('post', '/rounds', who.chair, {
          subject: { type: 'consolidation', id: clash.id },
          rule: 'majority',
          quorum: 0.5,
          closesAt: iso(DAY),
        }),
        409,
      );
    });

    step('GET /consolidations/:id: 404 for the public, for unknown and malformed ids', async () => {
      expectError(await api('get', `/consolidations/${c.id}`), 404);
      expectError(await api('get', `/consolidations/${c.id}/diff`), 404);
      expectError(await api('get', '/consolidations/9999', who.m1), 404);
      expectError(await api('get', '/consolidations/abc', who.m1), 404);
      expectError(await api('get', '/consolidations/0', who.m1), 404);
    });
  });

  describe('rounds', () => {
    step('POST /rounds: 401 public, 403 plain member, 400 rule/quorum/deadline/subject, 409 not shared', async () => {
      const good = {
        subject: { type: 'consolidation', id: c.id },
        rule: 'majority',
        quorum: 0.5,
        closesAt: iso(7 * DAY),
      };
      expectError(await api('post', '/rounds', null, good), 401, 'unauthenticated');
      expectError(await api('post', '/rounds', who.m1, good), 403, 'forbidden');
      expectError(await api('post', '/rounds', who.drafter, good), 403, 'forbidden');
      expectError(await api('post', '/rounds', who.chair, { ...good, rule: 'unanimity' }), 400, 'invalid_rule');
      for (const quorum of [1.5, -0.5, '0.5', 0.12345, null])
        expectError(await api('post', '/rounds', who.chair, { ...good, quorum }), 400, 'invalid_quorum');
      for (const closesAt of [iso(0), iso(-DAY), 'tomorrow', 12])
        expectError(await api('post', '/rounds', who.chair, { ...good, closesAt }), 400, 'invalid_deadline');
      expectError(
        await api('post', '/rounds', who.chair, { ...good, subject: { type: 'consolidation', id: 'x' } }),
        400,
        'invalid_subject',
      );
      expectError(
        await api('post', '/rounds', who.chair, { ...good, subject: { type: 'proposal', id: P.draft.id } }),
        409,
        'not_shared',
      );
      expectError(
        await api('post', '/rounds', who.chair, { ...good, subject: { type: 'consolidation', id: 9999 } }),
        404,
      );
      expectError(await api('post', '/rounds', who.chair, 'not json'), 400);
    });

    step(
      'POST /rounds → 201 with the round (as GET); a second opening → 409 round_open; the text is frozen',
      async () => {
        const res = await api('post', '/rounds', who.chair, {
          subject: { type: 'consolidation', id: c.id },
          rule: 'majority',
          quorum: 0.5,
          closesAt: '2026-03-08T17:00:00Z',
          record: 'named',
        });
        expect(res.status).toBe(201);
        expect(Object.keys(res.body)).toEqual(expect.arrayContaining(ROUND_KEYS));
        expect(res.body).toMatchObject({
          subject: { type: 'consolidation', id: c.id },
          commit: c.head,
          rule: 'majority',
          quorum: 0.5,
          closesAt: '2026-03-08T17:00:00.000Z',
          state: 'open',
          electorate: 5,
          tally: { approve: 0, object: 0, abstain: 0, notVoted: 5 },
          ballots: [],
        });
        expect(res.body).not.toHaveProperty('result');
        round = { id: res.body.id, closesAt: res.body.closesAt };
        const got = await api('get', `/rounds/${round.id}`, who.m3);
        expect(got.status).toBe(200);
        // The same round; an elector also sees their own receipt.
        expect(got.body).toEqual({ ...res.body, receipt: expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{8}$/) });
        expectError(
          await api('post', '/rounds', who.sec, {
            subject: { type: 'consolidation', id: c.id },
            rule: 'consensus',
            quorum: 0,
            closesAt: iso(DAY),
          }),
          409,
          'round_open',
        );
        expectError(
          await api('put', `/consolidations/${c.id}/text`, who.chair, { text: 'Anything\n', head: c.head }),
          409,
          'frozen',
        );
        expectError(await api('post', `/consolidations/${c.id}/abandon`, who.chair), 409, 'round_open');
      },
    );

    step('GET /rounds/:id: 404 for the public and for unknown ids', async () => {
      expectError(await api('get', `/rounds/${round.id}`), 404);
      expectError(await api('get', '/rounds/9999', who.m1), 404);
      expectError(await api('get', '/rounds/x', who.m1), 404);
    });

    step(
      'POST /rounds/:id/ballots: 401 public, 400 object without reason / bad position, 403 not in electorate, 201',
      async () => {
        const url = `/rounds/${round.id}/ballots`;
        expectError(await api('post', url, null, { position: 'approve' }), 401, 'unauthenticated');
        expectError(await api('post', url, who.m1, { position: 'object' }), 400, 'reason_required');
        expectError(await api('post', url, who.m1, { position: 'object', reason: '   ' }), 400, 'reason_required');
        expectError(await api('post', url, who.m1, { position: 'maybe' }), 400, 'invalid_position');
        // Secretariat staff without the member role, and a member who joined after the opening.
        expectError(await api('post', url, who.sec, { position: 'approve' }), 403, 'not_in_electorate');
        const late = await person(t.ctx, { email: 'late@example.org', name: 'Late Member' });
        expectError(await api('post', url, late, { position: 'approve' }), 403, 'not_in_electorate');
        expectError(await api('post', '/rounds/9999/ballots', who.m1, { position: 'approve' }), 404);

        const first = await api('post', url, who.m1, { position: 'object', reason: 'The second change goes too far.' });
        expect(first.status).toBe(201);
        expect(first.body).toMatchObject({
          round: round.id,
          position: 'object',
          reason: 'The second change goes too far.',
        });
        expect(first.body.castAt).toMatch(ISO);
        clock.advance(60_000);
        expect((await api('post', url, who.m1, { position: 'approve' })).status).toBe(201);
        const got = (await api('get', `/rounds/${round.id}`, who.m1)).body;
        expect(got.ballots).toHaveLength(2);
        for (const b of got.ballots)
          expect(Object.keys(b)).toEqual(expect.arrayContaining(['voter', 'position', 'reason', 'castAt', 'counted']));
        expect(
          got.ballots.map((b: { voter: string; position: string; reason: string; counted: boolean }) => [
            b.voter,
            b.position,
            b.reason,
            b.counted,
          ]),
        ).toEqual([
          [who.m1.name, 'object', 'The second change goes too far.', false],
          [who.m1.name, 'approve', '', true],
        ]);
        expect(got.tally).toEqual({ approve: 1, object: 0, abstain: 0, notVoted: 4, recused: 0, groups: {} });
      },
    );

    step("the secretariat records a ballot on a member's behalf (marked); a chair cannot (403)", async () => {
      const url = `/rounds/${round.id}/ballots`;
      expectError(await api('post', url, who.chair, { position: 'abstain', voter: who.m2.email }), 403, 'forbidden');
      expectError(
        await api('post', url, who.sec, { position: 'abstain', voter: 'nobody@example.org' }),
        400,
        'invalid_voter',
      );
      const res = await api('post', url, who.sec, {
        position: 'abstain',
        voter: who.m2.email,
        note: 'by show of hands',
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ voter: who.m2.name, recordedBy: who.sec.name, note: 'by show of hands' });
      const got = (await api('get', `/rounds/${round.id}`, who.m2)).body;
      const b = got.ballots[got.ballots.length - 1];
      expect(b).toMatchObject({
        voter: who.m2.name,
        position: 'abstain',
        counted: true,
        recordedBy: who.sec.name,
        note: 'by show of hands',
      });
    });

    step('POST /rounds/:id/close before everyone voted → 409 not_everyone_voted; 401 public; 403 member', async () => {
      expectError(await api('post', `/rounds/${round.id}/close`), 401, 'unauthenticated');
      expectError(await api('post', `/rounds/${round.id}/close`, who.m1), 403, 'forbidden');
      expectError(await api('post', `/rounds/${round.id}/close`, who.chair), 409, 'not_everyone_voted');
    });

    step('POST /rounds/:id/extend: only later deadlines (400), 401, 403, 200', async () => {
      const url = `/rounds/${round.id}/extend`;
      expectError(await api('post', url, null, { closesAt: '2026-03-09T17:00:00Z' }), 401, 'unauthenticated');
      expectError(await api('post', url, who.m1, { closesAt: '2026-03-09T17:00:00Z' }), 403, 'forbidden');
      expectError(await api('post', url, who.chair, { closesAt: '2026-03-07T17:00:00Z' }), 400, 'invalid_deadline');
      expectError(await api('post', url, who.chair, { closesAt: round.closesAt }), 400, 'invalid_deadline');
      const ok = await api('post', url, who.chair, { closesAt: '2026-03-09T17:00:00Z' });
      expect(ok.status).toBe(200);
      expect(ok.body.closesAt).toBe('2026-03-09T17:00:00.000Z');
      expect((await api('get', `/rounds/${round.id}`, who.m1)).body.closesAt).toBe('2026-03-09T17:00:00.000Z');
    });

    step(
      'POST /rounds/:id/cancel needs a reason (400); 401; 403; 200 — on a round held on a single proposal',
      async () => {
        const open = await api('post', '/rounds', who.chair, {
          subject: { type: 'proposal', id: P.p2.id },
          rule: 'consensus',
          quorum: 0,
          closesAt: iso(DAY),
          record: 'named',
        });
        expect(open.status).toBe(201);
        expect(open.body.subject).toEqual({ type: 'proposal', id: P.p2.id });
        expect(open.body.commit).toBe(P.p2.head);
        proposalRound = { id: open.body.id };
        const url = `/rounds/${proposalRound.id}/cancel`;
        expectError(
          await api('put', `/proposals/${P.p2.id}/text`, who.drafter, { text: published, head: P.p2.head }),
          409,
          'frozen',
        );
        expectError(await api('post', url, null, { reason: 'x' }), 401, 'unauthenticated');
        expectError(await api('post', url, who.m1, { reason: 'x' }), 403, 'forbidden');
        expectError(await api('post', url, who.chair, {}), 400, 'reason_required');
        expectError(await api('post', url, who.chair, { reason: '  ' }), 400, 'reason_required');
        const ok = await api('post', url, who.chair, { reason: 'Decided in the consolidation instead' });
        expect(ok.status).toBe(200);
        expect(ok.body.state).toBe('cancelled');
        expectError(
          await api('post', `/rounds/${proposalRound.id}/ballots`, who.m1, { position: 'approve' }),
          409,
          'round_not_open',
        );
        expectError(await api('post', url, who.chair, { reason: 'again' }), 409, 'round_not_open');
      },
    );

    step('once everyone voted, POST /rounds/:id/close → 200 with the result; later ballots → 409', async () => {
      for (const v of [who.drafter, who.chair, who.m3])
        expect((await api('post', `/rounds/${round.id}/ballots`, v, { position: 'approve' })).status).toBe(201);
      clock.advance(3600_000);
      const res = await api('post', `/rounds/${round.id}/close`, who.chair);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id: round.id,
        state: 'closed',
        result: 'passed',
        tally: { approve: 4, object: 0, abstain: 1, notVoted: 0 },
        electorate: 5,
      });
      expectError(
        await api('post', `/rounds/${round.id}/ballots`, who.m1, { position: 'object', reason: 'Too late?' }),
        409,
        'round_not_open',
      );
      expectError(await api('post', `/rounds/${round.id}/close`, who.chair), 409, 'round_not_open');
      expectError(
        await api('post', `/rounds/${round.id}/extend`, who.chair, { closesAt: '2026-04-01T00:00:00Z' }),
        409,
        'round_not_open',
      );
      // The text is editable again (not needed here: just check it is no longer frozen for a no-op stale edit).
      expectError(
        await api('put', `/consolidations/${c.id}/text`, who.chair, { text: 'x\n', head: '0'.repeat(40) }),
        409,
        'stale_head',
      );
    });
  });

  describe('publishing and the public decision record', () => {
    step('a consolidation without a round → 409 not_approved', async () => {
      const res = await api('post', `/documents/${TOR}/consolidations`, who.chair, {
        proposals: [P.p3.id],
        summary: 'Confidential',
      });
      expect(res.status).toBe(201);
      later = { id: res.body.id };
      expectError(
        await api('post', `/consolidations/${later.id}/publish`, who.chair, { summary: 'x' }),
        409,
        'not_approved',
      );
    });

    step('POST /consolidations/:id/publish: 401 public, 403 member, 201 chair, then 409', async () => {
      expectError(await api('post', `/consolidations/${c.id}/publish`, null, { summary: 'x' }), 401, 'unauthenticated');
      expectError(await api('post', `/consolidations/${c.id}/publish`, who.m1, { summary: 'x' }), 403, 'forbidden');
      expectError(
        await api('post', `/consolidations/${c.id}/publish`, who.drafter, { summary: 'x' }),
        403,
        'forbidden',
      );
      const res = await api('post', `/consolidations/${c.id}/publish`, who.chair, {
        summary: 'Open and remote meetings',
      });
      expect(res.status).toBe(201);
      expect(Object.keys(res.body).sort()).toEqual(['document', 'version']);
      expect(res.body.document).toBe(TOR);
      expect(Object.keys(res.body.version).sort()).toEqual(['commit', 'number', 'publishedAt']);
      expect(res.body.version).toMatchObject({
        number: 2,
        commit: expect.stringMatching(SHA),
        publishedAt: expect.stringMatching(ISO),
      });
      expectError(await api('post', `/consolidations/${c.id}/publish`, who.chair, {}), 409);
      const doc = (await api('get', `/documents/${TOR}`)).body;
      expect(doc.version.number).toBe(2);
      expect(doc.text).toBe(published.replace(S1, '').replace(S2, ''));
    });

    step(
      'states after publishing: consolidation published, proposals consolidated, the other consolidation stale',
      async () => {
        expect((await api('get', `/consolidations/${c.id}`, who.m1)).body).toMatchObject({
          state: 'published',
          stale: false,
        });
        for (const p of [P.p1, P.p2])
          expect((await api('get', `/proposals/${p.id}`, who.m1)).body.state).toBe('consolidated');
        expect((await api('get', `/consolidations/${later.id}`, who.m1)).body).toMatchObject({
          state: 'open',
          stale: true,
        });
        expectError(
          await api('post', '/rounds', who.chair, {
            subject: { type: 'consolidation', id: later.id },
            rule: 'majority',
            quorum: 0.5,
            closesAt: iso(DAY),
          }),
          409,
          'stale',
        );
        expectError(await api('post', `/consolidations/${later.id}/publish`, who.chair, {}), 409, 'stale');
      },
    );

    step('GET /documents/:slug/versions: round summary for version 2, null for version 1', async () => {
      const res = await api('get', `/documents/${TOR}/versions`);
      expect(res.status).toBe(200);
      expect(res.body.map((v: { number: number }) => v.number)).toEqual([2, 1]);
      const [v2, v1] = res.body;
      expect(v2.proposals).toEqual([P.p1.id, P.p2.id]);
      expect(v2.summary).toBe('Open and remote meetings');
      expect(Object.keys(v2.round).sort()).toEqual([
        'closedAt',
        'conditions',
        'electorate',
        'id',
        'quorum',
        'record',
        'recusals',
        'result',
        'rule',
        'tally',
      ]);
      expect(v2.round).toEqual({
        id: round.id,
        rule: 'majority',
        quorum: 0.5,
        result: 'passed',
        record: 'named',
        conditions: { eachGroupTakesPart: false, ruleWithinEachGroup: false },
        tally: { approve: 4, object: 0, abstain: 1, notVoted: 0, recused: 0, groups: {} },
        electorate: 5,
        closedAt: expect.stringMatching(ISO),
        recusals: [],
      });
      expect(v1.round).toBeNull();
    });

    step('GET /documents/:slug/versions/2/decision is public: {round, ballots}; version 1 → 404', async () => {
      const res = await api('get', `/documents/${TOR}/versions/2/decision`);
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(['ballots', 'round']);
      expect(res.body.round).toMatchObject({ id: round.id, rule: 'majority', result: 'passed', electorate: 5 });
      expect(res.body.ballots).toHaveLength(6);
      for (const b of res.body.ballots) {
        expect(Object.keys(b)).toEqual(expect.arrayContaining(['voter', 'position', 'reason', 'castAt', 'counted']));
        expect(b.castAt).toMatch(ISO);
      }
      expect(res.body.ballots.filter((b: { counted: boolean }) => b.counted)).toHaveLength(5);
      expect(res.body.ballots[0]).toMatchObject({
        voter: who.m1.name,
        position: 'object',
        reason: 'The second change goes too far.',
        counted: false,
      });
      // No e-mail addresses in the public record.
      for (const p of Object.values(who)) expect(res.text).not.toContain(p.email);
      expectError(await api('get', `/documents/${TOR}/versions/1/decision`), 404);
      expectError(await api('get', `/documents/${TOR}/versions/3/decision`), 404);
    });

    step('every write route of this API answers 401 without a token', async () => {
      const writes: [Method, string][] = [
        ['post', `/documents/${TOR}/consolidations`],
        ['put', `/consolidations/${later.id}/text`],
        ['post', `/consolidations/${later.id}/abandon`],
        ['post', `/consolidations/${later.id}/comments`],
        ['post', `/consolidations/${later.id}/publish`],
        ['post', '/rounds'],
        ['post', `/rounds/${round.id}/ballots`],
        ['post', `/rounds/${round.id}/close`],
        ['post', `/rounds/${round.id}/extend`],
        ['post', `/rounds/${round.id}/cancel`],
        ['post', '/rounds/9999/ballots'],
        ['post', '/consolidations/9999/publish'],
      ];
      for (const [m, p] of writes) expectError(await api(m, p, null, {}), 401, 'unauthenticated');
    });
  });
});
