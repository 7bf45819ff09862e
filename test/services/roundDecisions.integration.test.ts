/**
 * Decisions a committee can trust (issue 10): recusal, unnamed records with receipts,
 * stakeholder-group conditions — worked cases through the services, the API and git.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import request from 'supertest';
import { publishConsolidation } from '../../server/services/consolidations/publish.js';
import { cancelRound, closeRound, currentTally, openRound } from '../../server/services/rounds/rounds.js';
import { castBallot, recuse, withdrawRecusal } from '../../server/services/rounds/ballots.js';
import { receiptOf } from '../../server/services/rounds/decision.js';
import { setRoundSettings } from '../../server/services/settings/roundSettings.js';
import type { Ctx } from '../../server/services/context.js';
import { openTestApp, testClock } from '../helpers/data.js';
import {
  after,
  committee,
  DAY,
  refusal,
  TOR,
  twoProposalConsolidation,
  type Person,
  openWithConsolidation,
} from '../helpers/people.js';
import type { Conditions, RecordKind, Rule } from '../../server/domain/round.js';

describe('services/roundDecisions.integration', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  /** Put members in stakeholder groups (before a round opens: the round keeps the groups it opened with). */
  async function groups(ctx: Ctx, by: [Person, string][]) {
    const at = ctx.clock();
    const users: Record<string, unknown> = {};
    const stakeholders: Record<string, unknown> = {};
    for (const [p, slug] of by) {
      users[p.id] = { ...ctx.meta.get('users', p.id)!, stakeholder: slug };
      stakeholders[slug] = {
        slug,
        name: slug.replace(/-/g, ' ').replace(/^./, (c) => c.toUpperCase()),
        createdAt: at.toISOString(),
      };
    }
    await ctx.meta.write({ actor: null, at, events: [], puts: { users, stakeholders } as never });
  }

  async function setup(
    opts: {
      rule?: Rule;
      quorum?: number;
      record?: RecordKind;
      conditions?: Partial<Conditions>;
      groups?: (who: Awaited<ReturnType<typeof committee>>) => [Person, string][];
    } = {},
  ) {
    const clock = testClock('2026-03-01T09:00:00Z');
    const { t, who, c } = await openWithConsolidation({ clock });
    cleanups.push(() => t.cleanup());
    if (opts.groups) await groups(t.ctx, opts.groups(who));
    const r = await openRound(t.ctx, who.chair.actor, {
      subject: { type: 'consolidation', id: c.id },
      rule: opts.rule ?? 'consensus',
      quorum: opts.quorum ?? 0.5,
      closesAt: after(clock, 7 * DAY),
      record: opts.record,
      conditions: opts.conditions,
    });
    return { ctx: t.ctx, t, clock, who, c, r };
  }

  /** drafter, chair: government; m1, m2: civil-society; m3: no group. */
  const GOV_CS = (who: Awaited<ReturnType<typeof committee>>): [Person, string][] => [
    [who.drafter, 'government'],
    [who.chair, 'government'],
    [who.m1, 'civil-society'],
    [who.m2, 'civil-society'],
  ];

  describe('worked cases', () => {
    test('consensus with one objection and a proxy approve for the objector: still fails', async () => {
      const { ctx, who, r } = await setup();
      await castBallot(ctx, who.m1.actor, r.id, { position: 'object', reason: 'Not yet.' });
      expect(
        await refusal(
          castBallot(ctx, who.sec.actor, r.id, { position: 'approve', voter: who.m1.email, note: 'at the meeting' }),
        ),
      ).toEqual({ kind: 'conflict', code: 'voter_has_voted' });
      for (const p of [who.drafter, who.chair, who.m2, who.m3])
        await castBallot(ctx, p.actor, r.id, { position: 'approve' });
      expect(await closeRound(ctx, who.chair.actor, r.id)).toMatchObject({ result: 'failed', failedCondition: null });
    });

    test('two-thirds within each group: passes overall (4 of 5) but fails within civil society → failedCondition', async () => {
      const { ctx, who, r } = await setup({
        rule: 'two-thirds',
        conditions: { ruleWithinEachGroup: true },
        groups: GOV_CS,
      });
      await castBallot(ctx, who.drafter.actor, r.id, { position: 'approve' });
      await castBallot(ctx, who.chair.actor, r.id, { position: 'approve' });
      await castBallot(ctx, who.m1.actor, r.id, { position: 'approve' });
      await castBallot(ctx, who.m2.actor, r.id, { position: 'object', reason: 'Civil society was not consulted.' });
      await castBallot(ctx, who.m3.actor, r.id, { position: 'approve' });
      const closed = await closeRound(ctx, who.chair.actor, r.id);
      expect(closed).toMatchObject({
        result: 'failed',
        failedCondition: { kind: 'ruleWithinEachGroup', group: 'civil-society' },
      });
      expect(closed.tally).toEqual({
        approve: 4,
        object: 1,
        abstain: 0,
        notVoted: 0,
        recused: 0,
        groups: {
          'civil-society': { approve: 1, object: 1, abstain: 0, notVoted: 0, recused: 0 },
          government: { approve: 2, object: 0, abstain: 0, notVoted: 0, recused: 0 },
        },
      });
      // The list's mail says which condition failed, and never a name.
      const m = ctx.meta.all('mails').find((x) => x.event === 'round.closed')!;
      expect(m.text).toMatch(/within the Civil society group/);
    });

    test('each group takes part: a group that cast nothing fails the round; members without a group count overall only', async () => {
      const { ctx, clock, who, r } = await setup({
        rule: 'majority',
        quorum: 0.4,
        conditions: { eachGroupTakesPart: true },
        groups: GOV_CS,
      });
      await castBallot(ctx, who.drafter.actor, r.id, { position: 'approve' });
      await castBallot(ctx, who.m3.actor, r.id, { position: 'approve' });
      clock.set(new Date(Date.parse(r.closesAt)).toISOString());
      const closed = await closeRound(ctx, who.chair.actor, r.id);
      expect(closed).toMatchObject({
        result: 'failed',
        failedCondition: { kind: 'eachGroupTakesPart', group: 'civil-society' },
      });
    });

    test('quorum with recusals: the recused are out of the electorate for the quorum and the rule', async () => {
      // 5 electors, quorum 60% → 3 ballots needed; with 2 recused, 60% of 3 → 2.
      const { ctx, clock, who, r } = await setup({ rule: 'majority', quorum: 0.6 });
      await recuse(ctx, who.m1.actor, r.id, { reason: 'My organisation submitted the proposal.' });
      await recuse(ctx, who.sec.actor, r.id, {
        voter: who.m2.email,
        reason: 'Employer is a party.',
        note: 'said so at the meeting of 12 Sept',
      });
      await castBallot(ctx, who.drafter.actor, r.id, { position: 'approve' });
      await castBallot(ctx, who.chair.actor, r.id, { position: 'abstain' });
      expect(currentTally(ctx, ctx.meta.get('rounds', r.id)!)).toMatchObject({
        approve: 1,
        abstain: 1,
        notVoted: 1,
        recused: 2,
      });
      clock.set(r.closesAt);
      const closed = await closeRound(ctx, who.chair.actor, r.id);
      expect(closed).toMatchObject({
        result: 'passed',
        tally: { approve: 1, object: 0, abstain: 1, notVoted: 1, recused: 2 },
      });
    });
  });

  describe('recusal', () => {
    test('a recused member cannot vote; a ballot already cast stops counting; withdrawing brings it back; each step mails the member', async () => {
      const { ctx, who, r } = await setup({ rule: 'majority' });
      await castBallot(ctx, who.m1.actor, r.id, { position: 'object', reason: 'No.' });
      await recuse(ctx, who.m1.actor, r.id, { reason: 'Conflict of interest.' });
      expect(currentTally(ctx, ctx.meta.get('rounds', r.id)!)).toMatchObject({ object: 0, recused: 1, notVoted: 4 });
      expect(await refusal(castBallot(ctx, who.m1.actor, r.id, { position: 'approve' }))).toEqual({
        kind: 'conflict',
        code: 'recused',
      });
      expect(
        await refusal(castBallot(ctx, who.sec.actor, r.id, { position: 'approve', voter: who.m1.email, note: 'x' })),
      ).toEqual({ kind: 'conflict', code: 'recused' });
      expect(await refusal(recuse(ctx, who.m1.actor, r.id, { reason: 'again' }))).toEqual({
        kind: 'conflict',
        code: 'already_recused',
      });
      await withdrawRecusal(ctx, who.m1.actor, r.id, {});
      expect(currentTally(ctx, ctx.meta.get('rounds', r.id)!)).toMatchObject({ object: 1, recused: 0 });
      expect(await refusal(withdrawRecusal(ctx, who.m1.actor, r.id, {}))).toEqual({
        kind: 'conflict',
        code: 'not_recused',
      });
      const mails = ctx.meta.all('mails').filter((m) => m.event.startsWith('round.recusal'));
      expect(mails.map((m) => [m.event, m.to])).toEqual([
        ['round.recusal_recorded', [who.m1.email]],
        ['round.recusal_withdrawn', [who.m1.email]],
      ]);
      expect(new Set(mails.map((m) => m.messageId)).size).toBe(2);
    });

    test('refusals change nothing: no reason (400), not an elector (403), on behalf without a note (400) or by a member (403), after the close (409)', async () => {
      const { ctx, clock, who, r } = await setup();
      const before = JSON.stringify(ctx.meta.get('rounds', r.id));
      expect(await refusal(recuse(ctx, who.m1.actor, r.id, { reason: '  ' }))).toEqual({
        kind: 'invalid',
        code: 'reason_required',
      });
      expect(await refusal(recuse(ctx, who.sec.actor, r.id, { reason: 'x' }))).toEqual({
        kind: 'forbidden',
        code: 'not_in_electorate',
      });
      expect(await refusal(recuse(ctx, who.sec.actor, r.id, { reason: 'x', voter: who.m1.email }))).toEqual({
        kind: 'invalid',
        code: 'note_required',
      });
      expect(await refusal(recuse(ctx, who.m2.actor, r.id, { reason: 'x', voter: who.m1.email, note: 'n' }))).toEqual({
        kind: 'forbidden',
        code: 'forbidden',
      });
      expect(await refusal(recuse(ctx, null, r.id, { reason: 'x' }))).toEqual({
        kind: 'not_found',
        code: 'round_not_found',
      });
      expect(JSON.stringify(ctx.meta.get('rounds', r.id))).toBe(before);
      clock.set(r.closesAt);
      expect(await refusal(recuse(ctx, who.m1.actor, r.id, { reason: 'late' }))).toEqual({
        kind: 'conflict',
        code: 'round_not_open',
      });
    });

    test("the chair records on a member's behalf only when the settings say so", async () => {
      const { ctx, who, r } = await setup();
      expect(
        await refusal(
          castBallot(ctx, who.chair.actor, r.id, { position: 'approve', voter: who.m3.email, note: 'by phone' }),
        ),
      ).toEqual({ kind: 'forbidden', code: 'forbidden' });
      await setRoundSettings(ctx, who.sec.actor, { chairMayRecord: true });
      await castBallot(ctx, who.chair.actor, r.id, { position: 'approve', voter: who.m3.email, note: 'by phone' });
      await recuse(ctx, who.chair.actor, r.id, { voter: who.m2.email, reason: 'Conflict.', note: 'at the meeting' });
      expect(await refusal(setRoundSettings(ctx, who.chair.actor, { chairMayRecord: false }))).toEqual({
        kind: 'forbidden',
        code: 'forbidden',
      });
    });
  });

  describe('a cancelled round', () => {
    test('tells every elector, with the reason', async () => {
      const { ctx, who, r } = await setup();
      await cancelRound(ctx, who.chair.actor, r.id, { reason: 'The text needs another reading.' });
      const mails = ctx.meta.all('mails').filter((m) => m.event === 'round.cancelled');
      expect(mails.flatMap((m) => [...m.to, ...(m.bcc ?? [])]).sort()).toEqual(
        [who.drafter, who.chair, who.m1, who.m2, who.m3].map((p) => p.email).sort(),
      );
      expect(mails.every((m) => m.text!.includes('The text needs another reading.'))).toBe(true);
    });
  });

  describe('opening a round with a record and conditions', () => {
    test('the site default record applies when none is given; conditions not given are off', async () => {
      const clock = testClock('2026-03-01T09:00:00Z');
      const { t, ctx, who, c } = await openWithConsolidation({ clock });
      cleanups.push(() => t.cleanup());
      const base = {
        subject: { type: 'consolidation' as const, id: c.id },
        rule: 'consensus' as const,
        quorum: 0.5,
        closesAt: after(clock, DAY),
      };
      // An unknown record kind or condition is the schema's refusal (test/http/apiSchemas.test.ts).
      await setRoundSettings(ctx, who.sec.actor, { defaultRecord: 'unnamed' });
      const r = await openRound(ctx, who.chair.actor, { ...base, conditions: { eachGroupTakesPart: true } });
      expect(r).toMatchObject({
        record: 'unnamed',
        conditions: { eachGroupTakesPart: true, ruleWithinEachGroup: false },
      });
    });
  });

  describe('an unnamed record', () => {
    test('members and the public see positions by receipt; officers see names; each voter sees their receipt; "name me" names', async () => {
      const clock = testClock('2026-03-01T09:00:00Z');
      const t = await openTestApp({ clock });
      cleanups.push(() => t.cleanup());
      const { ctx, app } = t;
      const who = await committee(ctx);
      const { c } = await twoProposalConsolidation(ctx, who);
      const api = (p: Person | null) => (m: 'get' | 'post', url: string) => {
        const req = request(app)[m](`/api/v1${url}`);
        return p ? req.set(p.auth) : req;
      };
      const open = await api(who.chair)('post', '/rounds').send({
        subject: { type: 'consolidation', id: c.id },
        rule: 'majority',
        quorum: 0.5,
        closesAt: after(clock, 7 * DAY),
        record: 'unnamed',
      });
      expect(open.status).toBe(201);
      const id = open.body.id;
      const cast = await api(who.m1)('post', `/rounds/${id}/ballots`).send({
        position: 'object',
        reason: 'Too early.',
      });
      expect(cast.status).toBe(201);
      expect(cast.body.receipt).toMatch(/^[0-9A-HJKMNP-TV-Z]{8}$/);
      await api(who.m2)('post', `/rounds/${id}/ballots`).send({ position: 'approve', named: true });
      for (const p of [who.drafter, who.chair, who.m3])
        await api(p)('post', `/rounds/${id}/ballots`).send({ position: 'approve' });

      const asMember = (await api(who.m3)('get', `/rounds/${id}`)).body;
      expect(asMember.record).toBe('unnamed');
      expect(asMember.receipt).toBe(receiptOf(ctx.meta.get('rounds', id)!, who.m3.id));
      const byReceipt = Object.fromEntries(asMember.ballots.map((b: { receipt: string }) => [b.receipt, b]));
      expect(byReceipt[cast.body.receipt]).toEqual({
        receipt: cast.body.receipt,
        position: 'object',
        reason: 'Too early.',
        castAt: expect.any(String),
        counted: true,
      });
      expect(
        asMember.ballots.filter((b: { voter?: string }) => b.voter).map((b: { voter: string }) => b.voter),
      ).toEqual([who.m2.name]);
      const asSec = (await api(who.sec)('get', `/rounds/${id}`)).body;
      expect(asSec.ballots.map((b: { voter: string }) => b.voter).sort()).toEqual(
        [who.m1, who.m2, who.drafter, who.chair, who.m3].map((p) => p.name).sort(),
      );

      // The receipt mail to the voter; the list's mails and the git trailers name no one.
      const receiptMail = ctx.meta
        .all('mails')
        .find((m) => m.event === 'round.ballot_receipt' && m.to.includes(who.m1.email))!;
      expect(receiptMail.text).toContain(cast.body.receipt);
      await closeRound(ctx, who.chair.actor, id);
      await publishConsolidation(ctx, who.chair.actor, c.id, {});
      const decision = (await request(app).get(`/api/v1/documents/${TOR}/versions/2/decision`)).body;
      expect(decision.round).toMatchObject({ record: 'unnamed', result: 'passed' });
      expect(
        decision.ballots.filter((b: { voter?: string }) => b.voter).map((b: { voter: string }) => b.voter),
      ).toEqual([who.m2.name]);
      const secretNames = [who.m1, who.drafter, who.chair, who.m3].map((p) => p.name);
      const listMails = ctx.meta
        .all('mails')
        .filter((m) => m.event === 'round.closed' || m.event === 'version.published');
      for (const m of listMails) for (const n of secretNames) expect(m.text).not.toContain(n);
      const log = execFileSync('git', ['--git-dir', ctx.repo.gitdir, 'log', '-1', '--format=%B', 'refs/heads/main'], {
        encoding: 'utf8',
      });
      for (const n of [...secretNames, who.m2.name]) expect(log).not.toContain(n.split(' ')[0]);
      expect(log).toContain('Ratify-Record: unnamed');
      // The public page shows receipts, not the names of those who did not ask to be named.
      const page = (await request(app).get(`/documents/${TOR}/versions/2`)).text;
      expect(page).toContain(cast.body.receipt);
      expect(page).not.toContain(who.m1.name);
    });
  });

  describe('the decision record in git', () => {
    test("rebuilt from the trailers alone, it equals the API's", async () => {
      const { ctx, t, who, r, c } = await setup({
        rule: 'majority',
        quorum: 0.5,
        record: 'unnamed',
        conditions: { eachGroupTakesPart: true },
        groups: GOV_CS,
      });
      await recuse(ctx, who.m3.actor, r.id, { reason: 'Conflict.' });
      await castBallot(ctx, who.drafter.actor, r.id, { position: 'approve' });
      await castBallot(ctx, who.m1.actor, r.id, { position: 'abstain' });
      await castBallot(ctx, who.m2.actor, r.id, { position: 'approve' });
      await castBallot(ctx, who.chair.actor, r.id, { position: 'object', reason: 'Too soon.' });
      await closeRound(ctx, who.chair.actor, r.id);
      await publishConsolidation(ctx, who.chair.actor, c.id, {});
      const message = execFileSync(
        'git',
        ['--git-dir', ctx.repo.gitdir, 'log', '-1', '--format=%B', 'refs/heads/main'],
        {
          encoding: 'utf8',
        },
      );
      const parsed = execFileSync('git', ['interpret-trailers', '--parse'], { input: message, encoding: 'utf8' });
      const tr = Object.fromEntries(
        parsed
          .trim()
          .split('\n')
          .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
      );
      const counts = (s: string) =>
        Object.fromEntries(
          s
            .trim()
            .split(/\s+/)
            .map((kv) => kv.split('='))
            .map(([k, v]) => [k === 'not-voted' ? 'notVoted' : k, Number(v)]),
        );
      const fromGit = {
        id: Number(tr['Ratify-Round']),
        rule: tr['Ratify-Rule'],
        quorum: Number(tr['Ratify-Quorum']),
        record: tr['Ratify-Record'],
        conditions: {
          eachGroupTakesPart: tr['Ratify-Conditions'].includes('each-group-takes-part'),
          ruleWithinEachGroup: tr['Ratify-Conditions'].includes('rule-within-each-group'),
        },
        result: tr['Ratify-Result'],
        tally: {
          ...counts(tr['Ratify-Tally']),
          recused: Number(tr['Ratify-Recused']),
          groups: Object.fromEntries(
            tr['Ratify-Groups']
              .split(';')
              .map((g) => g.trim().split(' '))
              .map(([slug, ...kv]) => [slug, counts(kv.join(' '))]),
          ),
        },
        electorate: Number(tr['Ratify-Electorate']),
        closedAt: tr['Ratify-Closed'],
      };
      void t;
      const { roundSummary } = await import('../../server/http/presenters/rounds.js');
      const api = roundSummary(ctx, ctx.meta.get('rounds', r.id)!);
      const { recusals, failedCondition, ...rest } = api as typeof api & { failedCondition?: unknown };
      expect(fromGit).toEqual(rest);
      expect(failedCondition).toBeUndefined();
      expect(recusals).toEqual([{ voter: who.m3.name, reason: 'Conflict.', at: expect.any(String) }]);
      expect(tr['Ratify-Groups']).toBe(
        'civil-society approve=1 object=0 abstain=1 not-voted=0 recused=0; government approve=1 object=1 abstain=0 not-voted=0 recused=0',
      );
    });
  });

  describe("the terms-of-reference amendment, decided under the terms' own rules (§7)", () => {
    test('unnamed record (the seeded default), consensus, each stakeholder group taking part: every figure agrees on the page, in the API, in the mail and in git', async () => {
      const clock = testClock('2026-03-01T09:00:00Z');
      const t = await openTestApp({ clock });
      cleanups.push(() => t.cleanup());
      const { ctx, app } = t;
      const who = await committee(ctx);
      // The seeded stakeholder groups of §2 (government, private-sector, civil-society, technical).
      expect(
        ctx.meta
          .all('stakeholders')
          .map((s) => s.slug)
          .sort(),
      ).toEqual(['civil-society', 'government', 'private-sector', 'technical']);
      await groups(ctx, [
        [who.drafter, 'government'],
        [who.chair, 'private-sector'],
        [who.m1, 'civil-society'],
        [who.m2, 'technical'],
        [who.m3, 'civil-society'],
      ]);
      const { c } = await twoProposalConsolidation(ctx, who);
      // §7: consensus; quorum one half, with at least one member from each of the four groups.
      const r = await openRound(ctx, who.chair.actor, {
        subject: { type: 'consolidation', id: c.id },
        rule: 'consensus',
        quorum: 0.5,
        closesAt: after(clock, 7 * DAY),
        conditions: { eachGroupTakesPart: true },
      });
      expect(r.record).toBe('unnamed');
      await recuse(ctx, who.m3.actor, r.id, { reason: 'My organisation drafted the remote-participation text.' });
      await castBallot(ctx, who.drafter.actor, r.id, { position: 'approve' });
      await castBallot(ctx, who.chair.actor, r.id, { position: 'abstain' });
      await castBallot(ctx, who.m1.actor, r.id, { position: 'approve', named: true });
      await castBallot(ctx, who.sec.actor, r.id, {
        position: 'approve',
        voter: who.m2.email,
        note: 'by show of hands at the meeting of 12 Sept',
      });
      const closed = await closeRound(ctx, who.chair.actor, r.id);
      expect(closed).toMatchObject({
        result: 'passed',
        failedCondition: null,
        tally: { approve: 3, object: 0, abstain: 1, notVoted: 0, recused: 1 },
      });
      const v = await publishConsolidation(ctx, who.chair.actor, c.id, {});
      const T = closed.tally!;

      // API
      const api = (await request(app).get(`/api/v1/documents/${TOR}/versions/${v.number}/decision`)).body;
      expect(api.round).toMatchObject({
        result: 'passed',
        rule: 'consensus',
        quorum: 0.5,
        record: 'unnamed',
        electorate: 5,
        tally: T,
        conditions: { eachGroupTakesPart: true, ruleWithinEachGroup: false },
      });
      expect(api.ballots.filter((b: { voter?: string }) => b.voter).map((b: { voter: string }) => b.voter)).toEqual([
        who.m1.name,
      ]);
      // Git
      const log = execFileSync('git', ['--git-dir', ctx.repo.gitdir, 'log', '-1', '--format=%B', 'refs/heads/main'], {
        encoding: 'utf8',
      });
      expect(log).toContain(
        `Ratify-Tally: approve=${T.approve} object=${T.object} abstain=${T.abstain} not-voted=${T.notVoted}`,
      );
      expect(log).toContain(`Ratify-Recused: ${T.recused}`);
      expect(log).toContain('Ratify-Record: unnamed');
      expect(log).toContain('Ratify-Conditions: each-group-takes-part');
      for (const [slug, g] of Object.entries(T.groups!))
        expect(log).toContain(
          `${slug} approve=${g.approve} object=${g.object} abstain=${g.abstain} not-voted=${g.notVoted} recused=${g.recused}`,
        );
      // Mail (to the list)
      const mail = ctx.meta.all('mails').find((m) => m.event === 'round.closed')!;
      expect(mail.text).toContain(
        `Approve ${T.approve}, object ${T.object}, abstain ${T.abstain}, not voted ${T.notVoted}, recused ${T.recused}`,
      );
      expect(mail.text).toContain('Civil society: approve 1, object 0, abstain 0, not voted 0, recused 1');
      // The public page
      const page = (await request(app).get(`/documents/${TOR}/versions/${v.number}`)).text
        .replace(/<[^>]*>/g, ' ')
        .replace(/\s+/g, ' ');
      expect(page).toContain(
        `Approve: ${T.approve} Object: ${T.object} Abstain: ${T.abstain} Not voted: ${T.notVoted} of 4 in the electorate (1 recused)`,
      );
      expect(page).toMatch(/Civil society 1 0 0 0 1/);
      expect(page).toContain(`${who.m3.name} stood aside`);
      expect(page).not.toContain(who.drafter.name);
    });
  });

  describe('when everyone stands aside', () => {
    test('nobody is left to decide: no quorum, even by consensus with a quorum of 0', async () => {
      const { ctx, clock, who, r } = await setup({ rule: 'consensus', quorum: 0 });
      for (const p of [who.drafter, who.chair, who.m1, who.m2, who.m3])
        await recuse(ctx, p.actor, r.id, { reason: 'Conflict of interest.' });
      clock.set(r.closesAt);
      expect(await closeRound(ctx, who.chair.actor, r.id)).toMatchObject({
        result: 'no-quorum',
        tally: { recused: 5, notVoted: 0 },
      });
    });
  });
});
