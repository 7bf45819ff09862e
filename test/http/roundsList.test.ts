/**
 * Listing rounds without reading every round ever held: `GET /api/v1/rounds` in pages (newest
 * first, `?limit=&before=`, a `Link` to the next page), and the services behind the rounds page
 * (open rounds; the rounds that ended last, by when they ended).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { openTestApp, projectRoot, testClock } from '../helpers/data.js';
import { after, committee, DAY, S1, S2, sharedProposal, type Person } from '../helpers/people.js';
import { cancelRound, endedRounds, openRound, openRounds } from '../../server/services/rounds/rounds.js';
import type { ProposalRecord } from '../../server/store/meta/schema.js';
import { ROUNDS_PAGE } from '../../server/http/api/roundsApi.js';

describe('http/roundsList', () => {
  const clock = testClock('2026-03-01T09:00:00Z');
  const HOUR = 3_600_000;
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let who: Awaited<ReturnType<typeof committee>>;

  const open = async (p: ProposalRecord) =>
    (
      await openRound(t.ctx, who.chair.actor, {
        subject: { type: 'proposal', id: p.id },
        rule: 'majority',
        quorum: 0.5,
        closesAt: after(clock, DAY),
      })
    ).id;
  const cancel = async (id: number) => {
    clock.advance(HOUR);
    await cancelRound(t.ctx, who.chair.actor, id, { reason: 'Opened by mistake.' });
  };
  const list = (query: string, as: Person | null = who.m1) => {
    const r = request(t.app).get(`/api/v1/rounds${query}`);
    return as ? r.set(as.auth) : r;
  };
  const ids = (res: request.Response) => (res.body as { id: number }[]).map((r) => r.id);

  beforeAll(async () => {
    t = await openTestApp({ clock });
    who = await committee(t.ctx);
    const a = await sharedProposal(t.ctx, who.drafter, 'Open meetings', (s) => s.replace(S1, ''));
    const b = await sharedProposal(t.ctx, who.drafter, 'Remote participation', (s) => s.replace(S2, ''));
    // Round 1 ends after round 2; round 4 ends last; rounds 3 and 5 stay open.
    const r1 = await open(a);
    const r2 = await open(b);
    await cancel(r2);
    await cancel(r1);
    await open(a);
    await cancel(await open(b));
    await open(b);
  });

  afterAll(async () => {
    await t?.cleanup();
  });

  describe('GET /api/v1/rounds', () => {
    test('without a query: every round, newest first, as before (no Link while all fit)', async () => {
      const res = await list('');
      expect(res.status).toBe(200);
      expect(ids(res)).toEqual([5, 4, 3, 2, 1]);
      expect(res.headers.link).toBeUndefined();
      expect(res.body[0]).toMatchObject({ id: 5, state: 'open', subject: { type: 'proposal' } });
    });

    test('?limit= pages newest first; Link rel="next" names the next page until the oldest', async () => {
      const first = await list('?limit=2');
      expect(ids(first)).toEqual([5, 4]);
      expect(first.headers.link).toBe('</api/v1/rounds?limit=2&before=4>; rel="next"');
      const second = await list('?limit=2&before=4');
      expect(ids(second)).toEqual([3, 2]);
      expect(second.headers.link).toBe('</api/v1/rounds?limit=2&before=2>; rel="next"');
      const last = await list('?limit=2&before=2');
      expect(ids(last)).toEqual([1]);
      expect(last.headers.link).toBeUndefined();
    });

    test('?before= alone: the rounds older than that one; past the first: none', async () => {
      expect(ids(await list('?before=3'))).toEqual([2, 1]);
      expect(ids(await list('?before=1'))).toEqual([]);
      expect(ids(await list('?before=999'))).toEqual([5, 4, 3, 2, 1]);
    });

    test('400 invalid_query for a limit or before that is not a positive whole number, or a limit over 1000; 401 without a token', async () => {
      for (const q of ['?limit=0', '?limit=-1', '?limit=1001', '?limit=two', '?before=x', '?before=0']) {
        const res = await list(q);
        expect({ q, status: res.status, code: res.body.error?.code }).toEqual({
          q,
          status: 400,
          code: 'invalid_query',
        });
      }
      expect((await list('', null)).status).toBe(401);
    });
  });

  describe('the services behind the rounds page', () => {
    test('openRounds: the open ones, oldest first; endedRounds: the latest to end first, not by id', () => {
      expect(openRounds(t.ctx, who.m1.actor).map((r) => r.id)).toEqual([3, 5]);
      expect(endedRounds(t.ctx, who.m1.actor, 20).map((r) => r.id)).toEqual([4, 1, 2]);
      expect(endedRounds(t.ctx, who.m1.actor, 2).map((r) => r.id)).toEqual([4, 1]);
    });

    test('both refuse the public (401) and a signed-in person without a role (403)', async () => {
      expect(() => openRounds(t.ctx, null)).toThrow(expect.objectContaining({ code: 'unauthenticated' }));
      expect(() => endedRounds(t.ctx, { ...who.sec.actor, roles: [] }, 20)).toThrow(
        expect.objectContaining({ code: 'forbidden' }),
      );
    });
  });

  describe('GET /api/v1/rounds with more rounds than a page', () => {
    test(`a plain GET answers the newest ${ROUNDS_PAGE} and a Link to the rest, never every round ever held`, async () => {
      // Last in this file: it adds rounds. 5 so far; open and cancel until one more than a page.
      const a = await sharedProposal(t.ctx, who.drafter, 'Paging', (s) => s.replace(S1, ''));
      while (t.ctx.meta.all('rounds').length < ROUNDS_PAGE) await cancel(await open(a));
      const newest = await open(a);
      expect(newest).toBe(ROUNDS_PAGE + 1);
      const res = await list('');
      expect(res.status).toBe(200);
      expect(ids(res)).toEqual(Array.from({ length: ROUNDS_PAGE }, (_, i) => ROUNDS_PAGE + 1 - i));
      expect(res.headers.link).toBe(`</api/v1/rounds?limit=${ROUNDS_PAGE}&before=2>; rel="next"`);
      expect(ids(await list(`?limit=${ROUNDS_PAGE}&before=2`))).toEqual([1]);
      await cancel(newest);
      // The API reference states the same page (a script writer reads it there).
      const reference = await fsp.readFile(path.join(projectRoot, 'docs', 'API.md'), 'utf8');
      expect(reference).toContain(`(default ${ROUNDS_PAGE}, at most 1000)`);
      expect(reference).toContain(`${ROUNDS_PAGE} a page`);
    });
  });
});
