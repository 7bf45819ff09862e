/**
 * `GET /api/v1/rounds` keeps each round's JSON until the next write (issue 17: serialising the
 * rounds with their ballots was half of what the answer cost). What one viewer's request kept
 * must never reach another as theirs: in an unnamed round a member sees receipts, an officer
 * names, and each voter their own receipt. Each answer is compared with the one a fresh app
 * gives the same viewer, before and after a ballot.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import request from 'supertest';
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { createToken } from '../../server/services/auth/tokens.js';
import { castBallot } from '../../server/services/rounds/ballots.js';
import { openRound } from '../../server/services/rounds/rounds.js';
import { appsOver, openTestData, testClock, type TestData } from '../helpers/data.js';
import { after, committee, DAY, sharedProposal } from '../helpers/people.js';

const clock = testClock('2026-01-15T10:00:00Z');
let t: TestData;
let cast: Awaited<ReturnType<typeof committee>>;
let round: number;
const auth: Record<string, string> = {};
const viewers = ['chair', 'm1', 'm2', 'sec'] as const;

let apps: ReturnType<typeof appsOver>;
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
    expect(mine.ballots).toHaveLength(step === 'before' ? 1 : 2);
  }
});
