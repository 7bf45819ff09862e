/**
 * Ballots recorded on a member's behalf (issue 10): never over the member's own ballot, with a
 * note saying how it was given, a mail to the member at once; the member's own ballot replaces
 * a recorded one. And one rule for "may this be published", for the service and every page.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { publicationCheck, publishConsolidation } from '../../server/services/consolidations/publish.js';
import { ballotsOf, cancelRound, closeRound, currentTally, openRound } from '../../server/services/rounds/rounds.js';
import { castBallot } from '../../server/services/rounds/ballots.js';
import { ballotRecord } from '../../server/services/rounds/decision.js';
import { openTestApp, testClock } from '../helpers/data.js';
import { makeUser, signedIn } from '../helpers/auth.js';
import { after, committee, DAY, refusal, twoProposalConsolidation, openWithConsolidation } from '../helpers/people.js';
import type { Rule } from '../../server/domain/round.js';

describe('services/recordedBallots.integration', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  async function setup(rule: Rule = 'consensus') {
    const clock = testClock('2026-03-01T09:00:00Z');
    const { t, who, c } = await openWithConsolidation({ clock });
    cleanups.push(() => t.cleanup());
    const r = await openRound(t.ctx, who.chair.actor, {
      subject: { type: 'consolidation', id: c.id },
      rule,
      quorum: 0.5,
      closesAt: after(clock, 7 * DAY),
    });
    return { ctx: t.ctx, clock, who, c, r };
  }

  describe("a ballot recorded on a member's behalf", () => {
    test('consensus: her own objection stands; a recorded "approve" is refused (409 voter_has_voted), nothing written, nothing sent', async () => {
      const { ctx, who, r } = await setup('consensus');
      await castBallot(ctx, who.m1.actor, r.id, {
        position: 'object',
        reason: 'The Chatham House Rule protects members.',
      });
      const mailsBefore = ctx.meta.all('mails').length;
      expect(
        await refusal(
          castBallot(ctx, who.sec.actor, r.id, { position: 'approve', voter: who.m1.email, note: 'in the corridor' }),
        ),
      ).toEqual({
        kind: 'conflict',
        code: 'voter_has_voted',
      });
      expect(ballotsOf(ctx, r.id)).toHaveLength(1);
      expect(ctx.meta.all('mails')).toHaveLength(mailsBefore);
      for (const v of [who.drafter, who.chair, who.m2, who.m3])
        await castBallot(ctx, v.actor, r.id, { position: 'approve' });
      const closed = await closeRound(ctx, who.chair.actor, r.id);
      expect(closed).toMatchObject({ result: 'failed', tally: { approve: 4, object: 1, abstain: 0, notVoted: 0 } });
    });

    test('a note is required: 400 note_required, nothing written', async () => {
      const { ctx, who, r } = await setup();
      for (const note of [undefined, '', '   ', 'x'.repeat(2001)]) {
        expect(
          await refusal(castBallot(ctx, who.sec.actor, r.id, { position: 'approve', voter: who.m2.email, note })),
        ).toEqual({ kind: 'invalid', code: 'note_required' });
      }
      expect(ballotsOf(ctx, r.id)).toEqual([]);
    });

    test('recorded with its note; the member is mailed at once; her own ballot then replaces it, and no later recording replaces hers', async () => {
      const { ctx, who, r } = await setup('majority');
      const b = await castBallot(ctx, who.sec.actor, r.id, {
        position: 'approve',
        voter: who.m2.email,
        note: 'by show of hands at the meeting of 12 Sept',
      });
      expect(b).toMatchObject({
        voterId: who.m2.id,
        recordedBy: who.sec.id,
        note: 'by show of hands at the meeting of 12 Sept',
      });
      const sent = ctx.meta.all('mails').filter((m) => m.event === 'round.ballot_recorded');
      expect(sent).toHaveLength(1);
      expect(sent[0].to).toEqual([who.m2.email]);
      expect(sent[0].text).toContain('by show of hands at the meeting of 12 Sept');
      expect(sent[0].text).toContain(`/rounds/${r.id}`);
      expect(sent[0].text).toMatch(/cast your own ballot before/);
      // A second recording over a recorded one is allowed (she has not voted herself).
      await castBallot(ctx, who.sec.actor, r.id, {
        position: 'abstain',
        voter: who.m2.email,
        note: 'corrected from the minutes',
      });
      await castBallot(ctx, who.m2.actor, r.id, { position: 'object', reason: 'I did not agree.' });
      expect(
        await refusal(
          castBallot(ctx, who.sec.actor, r.id, { position: 'approve', voter: who.m2.email, note: 'again' }),
        ),
      ).toEqual({ kind: 'conflict', code: 'voter_has_voted' });
      const record = ballotRecord(ctx, ctx.meta.get('rounds', r.id)!).filter((x) => x.voterId === who.m2.id);
      expect(record.map((x) => [x.position, x.recordedBy !== null, x.counted])).toEqual([
        ['approve', true, false],
        ['abstain', true, false],
        ['object', false, true],
      ]);
      expect(currentTally(ctx, ctx.meta.get('rounds', r.id)!)).toMatchObject({ object: 1, approve: 0, abstain: 0 });
    });
  });

  describe('may it be published: one rule, the same answer everywhere', () => {
    test('a passed round, then a second round opened and cancelled: publishable, and it publishes', async () => {
      const { ctx, clock, who, c, r } = await setup('majority');
      for (const v of [who.drafter, who.chair, who.m1, who.m2, who.m3])
        await castBallot(ctx, v.actor, r.id, { position: 'approve' });
      clock.advance(3600_000);
      await closeRound(ctx, who.chair.actor, r.id);
      const r2 = await openRound(ctx, who.chair.actor, {
        subject: { type: 'consolidation', id: c.id },
        rule: 'majority',
        quorum: 0.5,
        closesAt: after(clock, DAY),
      });
      expect(publicationCheck(ctx, ctx.meta.get('consolidations', c.id)!)).toEqual({
        ok: false,
        code: 'round_open',
        round: r2.id,
      });
      expect(await refusal(publishConsolidation(ctx, who.chair.actor, c.id, {}))).toEqual({
        kind: 'conflict',
        code: 'not_approved',
      });
      await cancelRound(ctx, who.chair.actor, r2.id, { reason: 'Opened by mistake' });
      expect(publicationCheck(ctx, ctx.meta.get('consolidations', c.id)!)).toEqual({ ok: true, round: r.id });
      const v = await publishConsolidation(ctx, who.chair.actor, c.id, {});
      expect(v).toMatchObject({ number: 2, round: r.id });
    });
  });

  describe('the pages give the same answer as the service', () => {
    test('after a passed round and a cancelled second round, the consolidation page offers Publish and the round page points to it', async () => {
      const clock = testClock('2026-03-01T09:00:00Z');
      const t = await openTestApp({ clock });
      cleanups.push(() => t.cleanup());
      const who = await committee(t.ctx);
      const chair = await makeUser(t.ctx, {
        email: 'carla@example.org',
        name: 'Carla Chair',
        roles: ['member', 'chair'],
        password: 'a long enough password',
      });
      const { c } = await twoProposalConsolidation(t.ctx, {
        drafter: who.drafter,
        chair: { ...who.chair, actor: chair.actor } as typeof who.chair,
      });
      const r = await openRound(t.ctx, chair.actor, {
        subject: { type: 'consolidation', id: c.id },
        rule: 'majority',
        quorum: 0.5,
        closesAt: after(clock, 7 * DAY),
      });
      for (const v of [who.drafter, who.chair, who.m1, who.m2, who.m3, chair])
        await castBallot(t.ctx, v.actor, r.id, { position: 'approve' });
      await closeRound(t.ctx, chair.actor, r.id);
      const r2 = await openRound(t.ctx, chair.actor, {
        subject: { type: 'consolidation', id: c.id },
        rule: 'majority',
        quorum: 0.5,
        closesAt: after(clock, DAY),
      });
      const agent = await signedIn(t.app, chair.email, chair.password);
      expect((await agent.get(`/consolidations/${c.id}`)).text).not.toContain(
        `action="/consolidations/${c.id}/publish"`,
      );
      await cancelRound(t.ctx, chair.actor, r2.id, { reason: 'Opened by mistake' });
      const page = await agent.get(`/consolidations/${c.id}`);
      expect(page.text).toContain(`action="/consolidations/${c.id}/publish"`);
      expect(page.text).toContain(`Round ${r.id} passed on the current text.`);
      expect((await agent.get(`/rounds/${r.id}`)).text).toContain('The round passed on the current text');
      expect((await agent.get(`/rounds/${r2.id}`)).text).not.toContain('The round passed on the current text');
    });
  });
});
