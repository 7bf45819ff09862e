/**
 * Publishing an approved consolidation (PRODUCT.md rules 5–6, issue 5 "Publish"): only when
 * open, not stale and approved on its current head; the published blob is the approved blob;
 * one commit on main with the decision trailers and one annotated tag; all or nothing, with the
 * store repaired from git after a crash between the two writes. Checked with stock git.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { formatMessage, versionTrailers } from '../../server/domain/versionMessage.js';
import { documentPath } from '../../server/domain/slug.js';
import { MAIN } from '../../server/services/context.js';
import {
  abandonConsolidation,
  consolidationText,
  createConsolidation,
  reviseConsolidation,
} from '../../server/services/consolidations/consolidations.js';
import { decisionTrailers, publishConsolidation } from '../../server/services/consolidations/publish.js';
import { cancelRound, closeRound, openRound, sweepRounds } from '../../server/services/rounds/rounds.js';
import { castBallot } from '../../server/services/rounds/ballots.js';
import {
  versionKey,
  type ConsolidationRecord,
  type RoundRecord,
  type VersionRecord,
} from '../../server/store/meta/schema.js';
import { openTestData, testClock, type TestData } from '../helpers/data.js';
import {
  after,
  type committee,
  DAY,
  refusal,
  sharedProposal,
  TOR,
  type Person,
  openWithConsolidation,
} from '../helpers/people.js';
import { fsckProblems } from '../store/gitHelpers.js';
import type { Rule } from '../../server/domain/round.js';

describe('services/publish.integration', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  type Ctx = TestData['ctx'];
  type Who = Awaited<ReturnType<typeof committee>>;

  /** Stock git on the data folder's bare repository (UTF-8 text, trimmed). */
  const git = (t: TestData, args: string[], input?: string) =>
    execFileSync('git', [`--git-dir=${path.join(t.dataDir, 'git')}`, ...args], {
      encoding: 'utf8',
      input,
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', LC_ALL: 'C', TZ: 'UTC' },
    }).trim();

  async function setup() {
    const clock = testClock('2026-03-01T09:00:00Z');
    const { t, who, p1, p2, c } = await openWithConsolidation({ clock });
    cleanups.push(() => t.cleanup());
    return { t, ctx: t.ctx, clock, who, p1, p2, c };
  }

  const voters = (who: Who) => [who.drafter, who.chair, who.m1, who.m2, who.m3];

  /** Open a round on the consolidation, have every member cast `position`, close it early. */
  async function decide(
    ctx: Ctx,
    clock: ReturnType<typeof testClock>,
    who: Who,
    c: ConsolidationRecord,
    position: 'approve' | 'object' | 'abstain' = 'approve',
    rule: Rule = 'majority',
  ): Promise<RoundRecord> {
    const r = await openRound(ctx, who.chair.actor, {
      subject: { type: 'consolidation', id: c.id },
      rule,
      quorum: 0.5,
      closesAt: after(clock, 7 * DAY),
    });
    for (const v of voters(who))
      await castBallot(ctx, v.actor, r.id, position === 'object' ? { position, reason: 'No' } : { position });
    clock.advance(3600_000);
    return closeRound(ctx, who.chair.actor, r.id);
  }

  const chairOf = (who: Who): Person => who.chair;

  describe('publishConsolidation refuses what is not approved (rule 5)', () => {
    test('without any round → 409 not_approved', async () => {
      const { ctx, who, c } = await setup();
      expect(await refusal(publishConsolidation(ctx, chairOf(who).actor, c.id, {}))).toEqual({
        kind: 'conflict',
        code: 'not_approved',
      });
    });

    test('while its round is open, after a failed round, after a no-quorum round → 409 not_approved', async () => {
      const { ctx, clock, who, c } = await setup();
      const open = await openRound(ctx, who.chair.actor, {
        subject: { type: 'consolidation', id: c.id },
        rule: 'majority',
        quorum: 0.5,
        closesAt: after(clock, DAY),
      });
      expect(await refusal(publishConsolidation(ctx, who.chair.actor, c.id, {}))).toEqual({
        kind: 'conflict',
        code: 'not_approved',
      });
      clock.advance(DAY);
      await sweepRounds(ctx);
      expect(ctx.meta.get('rounds', open.id)!.result).toBe('no-quorum');
      expect(await refusal(publishConsolidation(ctx, who.chair.actor, c.id, {}))).toEqual({
        kind: 'conflict',
        code: 'not_approved',
      });
      const failed = await decide(ctx, clock, who, c, 'object');
      expect(failed.result).toBe('failed');
      expect(await refusal(publishConsolidation(ctx, who.chair.actor, c.id, {}))).toEqual({
        kind: 'conflict',
        code: 'not_approved',
      });
      expect(ctx.meta.get('documents', TOR)!.latest).toBe(1);
    });

    test('the text changed after the passed round → 409 not_approved', async () => {
      const { ctx, clock, who, c } = await setup();
      const passed = await decide(ctx, clock, who, c);
      expect(passed.result).toBe('passed');
      const edited = (await consolidationText(ctx, c)).replace('## 1. Mandate', '## 1. The mandate');
      await reviseConsolidation(ctx, who.chair.actor, c.id, { text: edited, head: c.head });
      expect(await refusal(publishConsolidation(ctx, who.chair.actor, c.id, {}))).toEqual({
        kind: 'conflict',
        code: 'not_approved',
      });
    });

    test('passed round, then a new round cancelled, an edit, and no new round → 409 not_approved', async () => {
      const { ctx, clock, who, c } = await setup();
      await decide(ctx, clock, who, c);
      const r2 = await openRound(ctx, who.chair.actor, {
        subject: { type: 'consolidation', id: c.id },
        rule: 'majority',
        quorum: 0.5,
        closesAt: after(clock, DAY),
      });
      await cancelRound(ctx, who.chair.actor, r2.id, { reason: 'Editorial fix first' });
      const edited = (await consolidationText(ctx, c)).replace('## 1. Mandate', '## 1. The mandate');
      await reviseConsolidation(ctx, who.chair.actor, c.id, { text: edited, head: c.head });
      expect(await refusal(publishConsolidation(ctx, who.chair.actor, c.id, {}))).toEqual({
        kind: 'conflict',
        code: 'not_approved',
      });
      // A passed round on the new head makes it publishable.
      const again = await decide(ctx, clock, who, ctx.meta.get('consolidations', c.id)!);
      expect(again.commit).toBe(ctx.meta.get('consolidations', c.id)!.head);
      const v = await publishConsolidation(ctx, who.chair.actor, c.id, {});
      expect(v.number).toBe(2);
      expect(v.round).toBe(again.id);
    });

    test('a plain member → 403; the public → 401; an abandoned consolidation → 409', async () => {
      const { ctx, clock, who, c } = await setup();
      await decide(ctx, clock, who, c);
      expect(await refusal(publishConsolidation(ctx, who.m1.actor, c.id, {}))).toEqual({
        kind: 'forbidden',
        code: 'forbidden',
      });
      expect(await refusal(publishConsolidation(ctx, null, c.id, {}))).toEqual({
        kind: 'unauthenticated',
        code: 'unauthenticated',
      });
      expect(await refusal(publishConsolidation(ctx, who.chair.actor, 404, {}))).toEqual({
        kind: 'not_found',
        code: 'consolidation_not_found',
      });
      const again = await createConsolidation(ctx, who.chair.actor, TOR, {
        proposals: c.proposals,
        summary: 'Duplicate',
      });
      await decide(ctx, clock, who, again);
      await abandonConsolidation(ctx, who.chair.actor, again.id);
      expect(await refusal(publishConsolidation(ctx, who.chair.actor, again.id, {}))).toEqual({
        kind: 'conflict',
        code: 'not_open',
      });
      expect(ctx.meta.get('documents', TOR)!.latest).toBe(1);
    });

    test('409 stale after another version of the document was published', async () => {
      const { ctx, clock, who, c } = await setup();
      const p3 = await sharedProposal(ctx, who.drafter, 'Scope', (t) =>
        t.replace('## 1. Mandate', '## 1. Mandate and scope'),
      );
      const c2 = await createConsolidation(ctx, who.chair.actor, TOR, { proposals: [p3.id], summary: 'Scope' });
      await decide(ctx, clock, who, c);
      await decide(ctx, clock, who, c2);
      await publishConsolidation(ctx, who.chair.actor, c2.id, {});
      expect(await refusal(publishConsolidation(ctx, who.chair.actor, c.id, {}))).toEqual({
        kind: 'conflict',
        code: 'stale',
      });
      expect(ctx.meta.get('documents', TOR)!.latest).toBe(2);
    });

    test('two approved consolidations of one document published at the same moment → one version, the other 409 stale', async () => {
      // BUG: publishConsolidation checks isStale() under the consolidation's own lock, then waits
      // for ctx.publishing; nothing re-checks staleness under the publishing lock, so the second
      // one is published as version 3 on top of version 2 — silently undoing version 2's change.
      const { t, ctx, clock, who, c } = await setup();
      const p3 = await sharedProposal(ctx, who.drafter, 'Scope', (x) =>
        x.replace('## 1. Mandate', '## 1. Mandate and scope'),
      );
      const c2 = await createConsolidation(ctx, who.chair.actor, TOR, { proposals: [p3.id], summary: 'Scope' });
      await decide(ctx, clock, who, c);
      await decide(ctx, clock, who, c2);
      const before = git(t, ['rev-list', '--count', 'main']);
      const out = await Promise.allSettled([
        publishConsolidation(ctx, who.chair.actor, c.id, {}),
        publishConsolidation(ctx, who.chair.actor, c2.id, {}),
      ]);
      const codes = out.map((o) => (o.status === 'fulfilled' ? 201 : (o.reason as { code: string }).code)).sort();
      expect(codes).toEqual([201, 'stale']);
      expect(ctx.meta.get('documents', TOR)!.latest).toBe(2);
      expect(Number(git(t, ['rev-list', '--count', 'main']))).toBe(Number(before) + 1);
    });
  });

  describe('a publication', () => {
    test('10 concurrent publishes → exactly one new version, nine 409; one new commit on main, one new tag', async () => {
      const { t, ctx, clock, who, c } = await setup();
      await decide(ctx, clock, who, c);
      const mainBefore = git(t, ['rev-parse', 'main']);
      const commitsBefore = Number(git(t, ['rev-list', '--count', 'main']));
      const tagsBefore = git(t, ['tag', '-l']).split('\n').filter(Boolean);
      const out = await Promise.allSettled(
        Array.from({ length: 10 }, () =>
          publishConsolidation(ctx, who.chair.actor, c.id, { summary: 'Open and remote meetings' }),
        ),
      );
      const ok = out.filter((o): o is PromiseFulfilledResult<VersionRecord> => o.status === 'fulfilled');
      const refused = out.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(ok).toHaveLength(1);
      expect(refused).toHaveLength(9);
      for (const r of refused) expect(r.reason).toMatchObject({ kind: 'conflict' });
      expect(ok[0].value.number).toBe(2);
      expect(Number(git(t, ['rev-list', '--count', 'main']))).toBe(commitsBefore + 1);
      expect(git(t, ['rev-parse', 'main^'])).toBe(mainBefore);
      const tagsAfter = git(t, ['tag', '-l']).split('\n').filter(Boolean);
      expect(tagsAfter.filter((x) => !tagsBefore.includes(x))).toEqual([`${TOR}/v2`]);
      expect(ctx.meta.all('versions').filter((v) => v.document === TOR)).toHaveLength(2);
      // Publishing again later → 409 as well.
      expect(await refusal(publishConsolidation(ctx, who.chair.actor, c.id, {}))).toMatchObject({ kind: 'conflict' });
      expect(await fsckProblems(path.join(t.dataDir, 'git'))).toEqual([]);
    });

    test('the published blob is the approved blob; main moves by one commit with the decision trailers; an annotated tag; states change', async () => {
      const { t, ctx, clock, who, c, p1, p2 } = await setup();
      // A mix of ballots, with a changed one, so the tally trailer is non-trivial.
      const r0 = await openRound(ctx, who.chair.actor, {
        subject: { type: 'consolidation', id: c.id },
        rule: 'two-thirds',
        quorum: 0.6,
        closesAt: '2026-03-08T17:00:00Z',
      });
      await castBallot(ctx, who.drafter.actor, r0.id, { position: 'approve' });
      await castBallot(ctx, who.chair.actor, r0.id, { position: 'approve' });
      await castBallot(ctx, who.m1.actor, r0.id, { position: 'object', reason: 'Needs work' });
      await castBallot(ctx, who.m1.actor, r0.id, { position: 'abstain' });
      clock.set('2026-03-09T08:00:00Z');
      await sweepRounds(ctx);
      const r = ctx.meta.get('rounds', r0.id)!;
      expect(r).toMatchObject({
        result: 'passed',
        tally: { approve: 2, object: 0, abstain: 1, notVoted: 2 },
        closedAt: '2026-03-08T17:00:00.000Z',
      });

      const mainBefore = git(t, ['rev-parse', 'main']);
      const approvedBlob = git(t, ['rev-parse', `refs/ratify/consolidations/${c.id}:${documentPath(TOR)}`]);
      expect(git(t, ['rev-parse', `${r.commit}:${documentPath(TOR)}`])).toBe(approvedBlob);
      clock.advance(60_000);
      const v = await publishConsolidation(ctx, who.chair.actor, c.id, { summary: 'Open and remote meetings' });
      expect(v).toMatchObject({
        document: TOR,
        number: 2,
        round: r.id,
        consolidation: c.id,
        proposals: [p1.id, p2.id],
        summary: 'Open and remote meetings',
        author: { name: who.chair.name, email: who.chair.email },
      });

      // Byte for byte: the same blob id, read by stock git.
      const mainHead = git(t, ['rev-parse', 'main']);
      expect(mainHead).toBe(v.commit);
      expect(git(t, ['rev-parse', `main:${documentPath(TOR)}`])).toBe(approvedBlob);
      expect(v.blob).toBe(approvedBlob);
      // One parent: the previous main; only the document's file changed.
      expect(git(t, ['show', '-s', '--format=%P', 'main'])).toBe(mainBefore);
      expect(git(t, ['diff', '--name-only', mainBefore, 'main'])).toBe(documentPath(TOR));
      expect(git(t, ['show', '-s', '--format=%an <%ae>', 'main'])).toBe(`${who.chair.name} <${who.chair.email}>`);

      // The decision record as trailers, as git itself parses them.
      const message = git(t, ['log', '-1', '--format=%B', 'main']);
      expect(message.split('\n')[0]).toBe('Open and remote meetings');
      const parsed = git(t, ['interpret-trailers', '--parse'], `${message}\n`);
      const trailers = Object.fromEntries(
        parsed.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
      );
      expect(trailers).toMatchObject({
        'Ratify-Document': TOR,
        'Ratify-Version': '2',
        'Ratify-Round': String(r.id),
        'Ratify-Rule': 'two-thirds',
        'Ratify-Quorum': '0.6',
        'Ratify-Result': 'passed',
        'Ratify-Tally': 'approve=2 object=0 abstain=1 not-voted=2',
        'Ratify-Electorate': '5',
        'Ratify-Closed': '2026-03-08T17:00:00.000Z',
        'Ratify-Proposals': `${p1.id}, ${p2.id}`,
      });

      // Annotated tag <slug>/v2 on that commit, with the summary.
      expect(git(t, ['cat-file', '-t', `refs/tags/${TOR}/v2`])).toBe('tag');
      expect(git(t, ['rev-parse', `${TOR}/v2^{commit}`])).toBe(v.commit);
      expect(git(t, ['tag', '-l', '--format=%(contents:subject)', `${TOR}/v2`])).toBe('Open and remote meetings');

      // Store: version indexed, document latest, proposals consolidated, consolidation published.
      expect(ctx.meta.get('versions', versionKey(TOR, 2))).toEqual(v);
      expect(ctx.meta.get('documents', TOR)!.latest).toBe(2);
      expect(ctx.meta.get('consolidations', c.id)).toMatchObject({ state: 'published', publishedVersion: 2 });
      expect(ctx.meta.get('proposals', p1.id)!.state).toBe('consolidated');
      expect(ctx.meta.get('proposals', p2.id)!.state).toBe('consolidated');
      const actions = (await ctx.meta.auditLog(10)).map((a) => a.action);
      expect(actions).toEqual(
        expect.arrayContaining(['version.published', 'consolidation.published', 'proposal.consolidated']),
      );
      expect(await fsckProblems(path.join(t.dataDir, 'git'))).toEqual([]);
    });
  });

  describe('crash between the git write and the store write', () => {
    test('start-up repairs the store from git: version indexed with its round, states changed, tag created; publishing again → 409', async () => {
      const { t, ctx, clock, who, c, p1, p2 } = await setup();
      const r = await decide(ctx, clock, who, c);
      expect(r.result).toBe('passed');
      const doc = ctx.meta.get('documents', TOR)!;
      // The git half of publishVersion, then the process "dies": no tag, no store write.
      const head = await ctx.repo.resolve(MAIN);
      const text = await consolidationText(ctx, c);
      const message = formatMessage('Open and remote meetings', [
        ...versionTrailers({ slug: TOR, number: 2, title: doc.title, group: doc.group }),
        ...decisionTrailers(r, c),
      ]);
      const at = new Date(Math.floor(clock().getTime() / 1000) * 1000);
      const { commit, blob } = await ctx.repo.commitFile({
        ref: MAIN,
        expected: head,
        parent: head,
        filepath: documentPath(TOR),
        text,
        message,
        author: { name: who.chair.name, email: who.chair.email, at },
      });
      expect(git(t, ['tag', '-l', `${TOR}/v2`])).toBe('');
      await t.close();

      const t2 = await openTestData({ dataDir: t.dataDir, seed: false, clock });
      cleanups.push(() => t2.close());
      const v = t2.ctx.meta.get('versions', versionKey(TOR, 2));
      expect(v).toMatchObject({
        document: TOR,
        number: 2,
        commit,
        blob,
        round: r.id,
        consolidation: c.id,
        proposals: [p1.id, p2.id],
        summary: 'Open and remote meetings',
        publishedAt: at.toISOString(),
      });
      expect(t2.ctx.meta.get('documents', TOR)!.latest).toBe(2);
      expect(t2.ctx.meta.get('consolidations', c.id)).toMatchObject({ state: 'published', publishedVersion: 2 });
      expect(t2.ctx.meta.get('proposals', p1.id)!.state).toBe('consolidated');
      expect(t2.ctx.meta.get('proposals', p2.id)!.state).toBe('consolidated');
      expect(git(t2, ['cat-file', '-t', `refs/tags/${TOR}/v2`])).toBe('tag');
      expect(git(t2, ['rev-parse', `${TOR}/v2^{commit}`])).toBe(commit);
      // Publishing again is refused and writes nothing to git.
      expect(await refusal(publishConsolidation(t2.ctx, who.chair.actor, c.id, {}))).toMatchObject({
        kind: 'conflict',
      });
      expect(git(t2, ['rev-parse', 'main'])).toBe(commit);
      expect(await fsckProblems(path.join(t2.dataDir, 'git'))).toEqual([]);
    });
  });
});
