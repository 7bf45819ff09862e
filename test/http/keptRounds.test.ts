/**
 * `GET /api/v1/rounds` keeps each round's JSON until the next write (issue 17: serialising the
 * rounds with their ballots was half of what the answer cost), and the round page keeps its
 * ballots table and the text under vote. What one viewer's request kept must never reach another
 * as theirs: in an unnamed round a member sees receipts, an officer names, and each voter their
 * own receipt and their own name. Each answer and page is compared with the one a fresh app
 * gives the same viewer, before and after a ballot.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { createToken } from '../../server/services/auth/tokens.js';
import { castBallot } from '../../server/services/rounds/ballots.js';
import { openRound } from '../../server/services/rounds/rounds.js';
import { csrfFrom, makeUser, signedIn } from '../helpers/auth.js';
import { appsOver, openTestData, testClock, type TestData } from '../helpers/data.js';
import { after, committee, DAY, sharedProposal } from '../helpers/people.js';

describe('http/keptRounds', () => {
  const clock = testClock('2026-01-15T10:00:00Z');
  let t: TestData;
  let cast: Awaited<ReturnType<typeof committee>>;
  let round: number;
  const auth: Record<string, string> = {};
  const viewers = ['chair', 'm1', 'm2', 'sec'] as const;

  let apps: ReturnType<typeof appsOver>;
  const PW = 'a long enough password';
  const PAGE_READERS = [
    ['pia', ['member']],
    ['quin', ['member']],
    ['rae', ['member', 'chair']],
    ['sol', ['secretariat']],
  ] as const;
  const readers: Record<string, Awaited<ReturnType<typeof makeUser>>> = {};
  const roundsOf = async (app: Awaited<ReturnType<typeof apps.make>>, who: string) => {
    const res = await request(app).get('/api/v1/rounds').set('Authorization', auth[who]);
    expect(res.status).toBe(200);
    expect(res.type).toBe('application/json');
    return res.body as { id: number; receipt?: string; ballots: { voter?: string; receipt: string }[] }[];
  };

  beforeAll(async () => {
    t = await openTestData({ clock });
    cast = await committee(t.ctx);
    apps = appsOver(t);
    for (const who of viewers) auth[who] = `Bearer ${(await createToken(t.ctx, CLI_ACTOR, cast[who], 'test')).token}`;
    // Who reads the round page (signed in with a password): in the electorate when the round opens.
    for (const [name, roles] of PAGE_READERS)
      readers[name] = await makeUser(t.ctx, { email: `${name}@example.org`, name, roles: [...roles], password: PW });
    const p = await sharedProposal(t.ctx, cast.drafter, 'Kept', (x) => `${x}\nA change.\n`);
    round = (
      await openRound(t.ctx, cast.chair.actor, {
        subject: { type: 'proposal', id: p.id },
        rule: 'majority',
        quorum: 0,
        record: 'unnamed',
        closesAt: after(clock, 7 * DAY),
      })
    ).id;
    await castBallot(t.ctx, cast.m1.actor, round, { position: 'approve' });
    await castBallot(t.ctx, readers.pia.actor, round, { position: 'approve', reason: 'Pia agrees.' });
  }, 60_000);
  afterAll(async () => {
    await apps?.close();
    await t?.cleanup();
  });

  test('each viewer gets the answer made for them alone, from kept rounds as from a fresh app, before and after a ballot', async () => {
    const warm = await apps.make();
    for (const step of ['before', 'after']) {
      if (step === 'after') await castBallot(t.ctx, cast.m2.actor, round, { position: 'object', reason: 'No.' });
      // In turn, twice: the later answers are made from what the earlier ones kept.
      const seen: Record<string, unknown[]> = {};
      for (let k = 0; k < 2; k++) for (const who of viewers) (seen[who] ??= []).push(await roundsOf(warm, who));
      for (const who of viewers) {
        const alone = await roundsOf(await apps.make(), who);
        for (const answer of seen[who]) expect(answer).toEqual(alone);
      }
      const [m1, chair] = [seen.m1[1], seen.chair[1]] as Awaited<ReturnType<typeof roundsOf>>[];
      const mine = m1.find((r) => r.id === round)!;
      // A member sees receipts only; the chair sees names; each voter their own receipt.
      expect(mine.ballots.every((b) => b.voter === undefined)).toBe(true);
      expect(chair.find((r) => r.id === round)!.ballots.every((b) => typeof b.voter === 'string')).toBe(true);
      expect(mine.receipt).toBeDefined();
      expect(mine.receipt).not.toBe((seen.m2[1] as typeof m1).find((r) => r.id === round)!.receipt);
      expect(mine.ballots).toHaveLength(step === 'before' ? 2 : 3);
    }
  });

  test('the round page: each reader’s page made from kept pieces is the page a fresh app makes for them, before and after a ballot', async () => {
    const warm = await apps.make();
    const agents = Object.fromEntries(
      await Promise.all(
        PAGE_READERS.map(async ([name]) => [name, await signedIn(warm, `${name}@example.org`, PW)] as const),
      ),
    );
    const pageOf = async (agent: (typeof agents)[string]) => {
      const res = await agent.get(`/rounds/${round}`);
      expect(res.status).toBe(200);
      const token = csrfFrom(res.text);
      const tokens = new Set([...res.text.matchAll(/name="_csrf" value="([^"]*)"/g)].map((m) => m[1]));
      expect([...tokens]).toEqual([token]);
      return res.text.replaceAll(token, 'TOKEN');
    };
    const voters = (html: string) => [...html.matchAll(/<span class="voter">([^<]*)<\/span>/g)].map((m) => m[1]).sort();
    for (const step of ['before', 'after']) {
      if (step === 'after')
        await castBallot(t.ctx, readers.quin.actor, round, { position: 'object', reason: 'Quin does not.' });
      const seen: Record<string, string[]> = {};
      for (let k = 0; k < 2; k++)
        for (const [name] of PAGE_READERS) (seen[name] ??= []).push(await pageOf(agents[name]));
      for (const [name] of PAGE_READERS) {
        const alone = await pageOf(await signedIn(await apps.make(), `${name}@example.org`, PW));
        for (const page of seen[name]) expect(page).toBe(alone);
      }
      // Unnamed: a member sees their own name only, marked as theirs; officers see every voter's.
      expect(voters(seen.pia[1])).toEqual(['pia']);
      expect(seen.pia[1].match(/\(you\)/g)).toHaveLength(1);
      expect(voters(seen.quin[1])).toEqual(step === 'before' ? [] : ['quin']);
      for (const officer of ['rae', 'sol']) {
        const page = seen[officer][1];
        expect(voters(page)).toEqual(
          expect.arrayContaining(['Mia Member', 'pia', ...(step === 'after' ? ['quin'] : [])]),
        );
        // A name on every ballot's row.
        expect(voters(page)).toHaveLength(page.match(/<tr class="(?:replaced)?">/g)!.length);
      }
      expect(seen.pia[1]).toContain(step === 'before' ? 'Pia agrees.' : 'Quin does not.');
    }
  });
});
