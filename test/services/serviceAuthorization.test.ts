/**
 * Authorization lives in the services (issue 11): every exported service function that takes
 * who is acting (`ctx, actor` or `ctx, by`) is listed here, and each refuses someone without
 * the right — 401, 403 or the 404 of what they cannot see — and changes nothing. The list is
 * checked against the modules themselves, so a new service cannot slip by without a row.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Actor } from '../../server/domain/actor.js';
import type { Ctx } from '../../server/services/context.js';
import { consolidationCommentable } from '../../server/services/consolidations/commentable.js';
import { proposalCommentable } from '../../server/services/proposals/commentable.js';
import { addComment } from '../../server/services/proposals/comments.js';
import { openRound } from '../../server/services/rounds/rounds.js';
import { castBallot, recuse } from '../../server/services/rounds/ballots.js';
import { createToken } from '../../server/services/auth/tokens.js';
import { openTestData, projectRoot, testClock, type TestData } from '../helpers/data.js';
import {
  after,
  committee,
  DAY,
  rejection,
  sharedProposal,
  S1,
  twoProposalConsolidation,
  type Person,
} from '../helpers/people.js';

describe('services/serviceAuthorization', () => {
  type Who = Awaited<ReturnType<typeof committee>>;
  interface World {
    ctx: Ctx;
    who: Who;
    proposal: number;
    draft: number;
    consolidation: number;
    round: number;
    comment: number;
    secToken: number;
  }

  /**
   * One row per service function: the call made by someone without the right. `m1` is a plain
   * member (in no working group); the secretariat is not a member (so not an elector).
   */
  const REFUSED: Record<string, (w: World) => Promise<unknown>> = {
    addUser: async (w) =>
      (await svc('accounts/users')).addUser(w.ctx, w.who.m1.actor, {
        email: 'x@example.org',
        name: 'X',
        roles: ['member'],
        groups: [],
      }),
    setUser: async (w) =>
      (await svc('accounts/users')).setUser(w.ctx, w.who.m1.actor, w.who.m2.email, { roles: ['secretariat'] }),
    disableUser: async (w) => (await svc('accounts/users')).disableUser(w.ctx, w.who.m1.actor, w.who.m2.email),
    importUsers: async (w) =>
      (await svc('accounts/importUsers')).importUsers(w.ctx, w.who.m1.actor, 'email,name\nx@example.org,X\n'),
    inviteUser: async (w) => (await svc('accounts/links')).inviteUser(w.ctx, w.who.m1.actor, w.who.m2.id),
    setPassword: async (w) =>
      (await svc('accounts/password')).setPassword(w.ctx, w.who.m1.actor, w.who.m2.id, 'a long enough password'),
    createToken: async (w) =>
      (await svc('auth/tokens')).createToken(w.ctx, w.who.m1.actor, w.ctx.meta.get('users', w.who.m2.id)!, 'theirs'),
    revokeToken: async (w) => (await svc('auth/tokens')).revokeToken(w.ctx, w.who.m1.actor, w.secToken),
    addGroup: async (w) => (await svc('addGroup')).addGroup(w.ctx, w.who.m1.actor, { slug: 'wg-new', name: 'New' }),
    addStakeholder: async (w) =>
      (await svc('stakeholders')).addStakeholder(w.ctx, w.who.m1.actor, { slug: 'new', name: 'New' }),
    addDocument: async (w) =>
      (await svc('addDocument')).addDocument(w.ctx, w.who.m1.actor, {
        slug: 'new-doc',
        title: 'New',
        group: 'mag',
        text: '# New\n',
      }),
    importHistory: async (w) =>
      (await svc('importHistory')).importHistory(w.ctx, w.who.m1.actor, {
        slug: 'new-doc',
        title: 'New',
        group: 'mag',
        dir: projectRoot,
      }),
    updateDocument: async (w) =>
      (await svc('documents/updateDocument')).updateDocument(w.ctx, w.who.m1.actor, 'terms-of-reference', {
        title: 'Mine',
      }),
    setSecuritySettings: async (w) =>
      (await svc('settings/securitySettings')).setSecuritySettings(w.ctx, w.who.m1.actor, { requireTotpFor: [] }),
    setRoundSettings: async (w) =>
      (await svc('settings/roundSettings')).setRoundSettings(w.ctx, w.who.m1.actor, { chairMayRecord: true }),
    retryMail: async (w) => (await svc('notifications/deliver')).retryMail(w.ctx, w.who.m1.actor, 1),
    createProposal: async (w) =>
      (await svc('proposals/proposals')).createProposal(w.ctx, w.who.m1.actor, 'terms-of-reference', {
        title: 'T',
        rationale: 'R',
        text: 'x\n',
      }),
    reviseProposal: async (w) =>
      (await svc('proposals/proposals')).reviseProposal(w.ctx, w.who.m1.actor, w.proposal, {
        text: 'x\n',
        head: w.ctx.meta.get('proposals', w.proposal)!.head,
      }),
    reviseProposalSection: async (w) =>
      (await svc('proposals/proposals')).reviseProposalSection(w.ctx, w.who.m1.actor, w.proposal, 'x', {
        text: '# x\n',
        head: w.ctx.meta.get('proposals', w.proposal)!.head,
      }),
    shareProposal: async (w) => (await svc('proposals/proposals')).shareProposal(w.ctx, w.who.m1.actor, w.draft),
    withdrawProposal: async (w) =>
      (await svc('proposals/proposals')).withdrawProposal(w.ctx, w.who.m1.actor, w.proposal),
    loadProposal: async (w) => (await svc('proposals/access')).loadProposal(w.ctx, w.who.m1.actor, w.draft),
    loadProposalFor: async (w) =>
      (await svc('proposals/access')).loadProposalFor(w.ctx, w.who.m1.actor, w.proposal, 'proposal.edit'),
    proposalDiff: async (w) => (await svc('proposals/read')).proposalDiff(w.ctx, null, w.proposal, {}),
    myDrafts: async (w) => (await svc('proposals/drafts')).myDrafts(w.ctx, null),
    prepareDrafts: async (w) => (await svc('proposals/drafts')).prepareDrafts(w.ctx, null),
    applySuggestions: async (w) =>
      (await svc('proposals/suggestions')).applySuggestions(w.ctx, w.who.m1.actor, w.proposal, {
        comments: [w.comment],
        head: w.ctx.meta.get('proposals', w.proposal)!.head,
      }),
    proposalSection: async (w) => (await svc('proposals/read')).proposalSection(w.ctx, null, w.proposal, 'x'),
    addComment: async (w) =>
      addComment(w.ctx, null, proposalCommentable(w.ctx, w.ctx.meta.get('proposals', w.proposal)!), { body: 'Hi' }),
    setResolved: async (w) =>
      (await svc('proposals/comments')).setResolved(
        w.ctx,
        w.who.m1.actor,
        proposalCommentable(w.ctx, w.ctx.meta.get('proposals', w.proposal)!),
        w.comment,
        true,
      ),
    createConsolidation: async (w) =>
      (await svc('consolidations/consolidations')).createConsolidation(w.ctx, w.who.m1.actor, 'terms-of-reference', {
        proposals: [w.proposal],
        summary: 'S',
      }),
    reviseConsolidation: async (w) =>
      (await svc('consolidations/consolidations')).reviseConsolidation(w.ctx, w.who.m1.actor, w.consolidation, {
        text: 'x\n',
        head: w.ctx.meta.get('consolidations', w.consolidation)!.head,
      }),
    abandonConsolidation: async (w) =>
      (await svc('consolidations/consolidations')).abandonConsolidation(w.ctx, w.who.m1.actor, w.consolidation),
    rebuildConsolidation: async (w) =>
      (await svc('consolidations/consolidations')).rebuildConsolidation(w.ctx, w.who.m1.actor, w.consolidation),
    loadConsolidation: async (w) =>
      (await svc('consolidations/consolidations')).loadConsolidation(w.ctx, null, w.consolidation),
    consolidationAttribution: async (w) =>
      (await svc('consolidations/attribution')).consolidationAttribution(w.ctx, null, w.consolidation),
    publishConsolidation: async (w) =>
      (await svc('consolidations/publish')).publishConsolidation(w.ctx, w.who.m1.actor, w.consolidation, {}),
    openRound: async (w) =>
      openRound(w.ctx, w.who.m1.actor, {
        subject: { type: 'proposal', id: w.proposal },
        rule: 'consensus',
        quorum: 0.5,
        closesAt: after(w.ctx.clock, DAY),
      }),
    loadRound: async (w) => (await svc('rounds/rounds')).loadRound(w.ctx, null, w.round),
    castBallot: async (w) => castBallot(w.ctx, w.who.sec.actor, w.round, { position: 'approve' }),
    previewBallot: async (w) =>
      (await svc('rounds/ballots')).previewBallot(w.ctx, w.who.m1.actor, w.round, {
        position: 'approve',
        voter: w.who.m2.email,
        note: 'n',
      }),
    closeRound: async (w) => (await svc('rounds/rounds')).closeRound(w.ctx, w.who.m1.actor, w.round),
    extendRound: async (w) =>
      (await svc('rounds/rounds')).extendRound(w.ctx, w.who.m1.actor, w.round, {
        closesAt: after(w.ctx.clock, 9 * DAY),
      }),
    cancelRound: async (w) =>
      (await svc('rounds/rounds')).cancelRound(w.ctx, w.who.m1.actor, w.round, { reason: 'No' }),
    recuse: async (w) => recuse(w.ctx, w.who.sec.actor, w.round, { reason: 'Conflict' }),
    openRounds: async (w) => (await svc('rounds/rounds')).openRounds(w.ctx, null),
    endedRounds: async (w) => (await svc('rounds/rounds')).endedRounds(w.ctx, null, 10),
    listRounds: async (w) => (await svc('rounds/rounds')).listRounds(w.ctx, null, { limit: 10 }),
    mailQueue: async (w) => (await svc('notifications/deliver')).mailQueue(w.ctx, w.who.m1.actor),
    accountCounts: async (w) => (await svc('accounts/users')).accountCounts(w.ctx, w.who.m1.actor),
    groupsWithUsage: async (w) => (await svc('groups')).groupsWithUsage(w.ctx, w.who.m1.actor),
    stakeholderMembership: async (w) => (await svc('stakeholders')).stakeholderMembership(w.ctx, w.who.m1.actor),
    withoutSecondFactor: async (w) =>
      (await svc('settings/securitySettings')).withoutSecondFactor(w.ctx, w.who.m1.actor),
    withdrawRecusal: async (w) =>
      (await svc('rounds/ballots')).withdrawRecusal(w.ctx, w.who.m1.actor, w.round, { voter: w.who.m2.email }),
    documentToPropose: async (w) =>
      (await svc('proposals/proposals')).documentToPropose(w.ctx, w.who.m1.actor, 'terms-of-reference'),
    proposalFromWord: async (w) =>
      (await svc('proposals/fromWord')).proposalFromWord(
        w.ctx,
        w.who.m1.actor,
        'terms-of-reference',
        new Uint8Array([1]),
      ),
    documentToConsolidate: async (w) =>
      (await svc('consolidations/consolidations')).documentToConsolidate(w.ctx, w.who.m1.actor, 'terms-of-reference'),
    loadUser: async (w) => (await svc('accounts/users')).loadUser(w.ctx, w.who.m1.actor, w.who.m2.id),
    listUsers: async (w) => (await svc('accounts/users')).listUsers(w.ctx, w.who.m1.actor),
    managedDocuments: async (w) => (await svc('readDocuments')).managedDocuments(w.ctx, w.who.m1.actor),
    openAuditLog: async (w) => (await svc('audit')).openAuditLog(w.ctx, w.who.m1.actor),
    loadMail: async (w) => (await svc('notifications/deliver')).loadMail(w.ctx, w.who.m1.actor, 1),
    editableRoundSettings: async (w) =>
      (await svc('settings/roundSettings')).editableRoundSettings(w.ctx, w.who.m1.actor),
  };

  /**
   * Functions that take an actor but act only on that actor's own account, or that filter what
   * they return by it rather than refuse: each with the reason it has no "without the right".
   */
  const BY_DESIGN: Record<string, string> = {
    changePassword: 'changes the actor’s own password, after checking the current one',
    setNotify: 'sets the actor’s own mail preference',
    beginTotp: 'the actor’s own second factor',
    confirmTotp: 'the actor’s own second factor',
    disableTotp: 'the actor’s own second factor, after the password',
    visibleProposals: 'returns only what the actor may see (checked below)',
    listOpenConsolidations: 'returns only what the actor may see (checked below)',
    mayDo: 'answers whether the actor may; changes nothing',
    roundsAwaiting: 'the actor’s own open votes; nothing for who may not vote',
    saveRevision: 'a step of reviseProposal and reviseConsolidation, called after they authorized',
    findProposal: 'returns nothing for what the actor may not see (checked below)',
    findConsolidation: 'returns nothing for what the actor may not see (checked below)',
    electorateRoll: 'gives the members’ addresses only to who may record on their behalf (checked below)',
  };

  const svc = (m: string) => import(`../../server/services/${m}.js`);

  /** Every exported function of the services whose second parameter is who acts. */
  async function actorTakingServices(): Promise<string[]> {
    const root = path.join(projectRoot, 'server/services');
    const files = fs.readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const names = new Set<string>();
    for (const f of files) {
      const mod = (await import(pathToFileURL(path.join(root, f)).href)) as Record<string, unknown>;
      for (const [name, v] of Object.entries(mod)) {
        if (typeof v !== 'function') continue;
        const params = /^[^(]*\(([^)]*)\)/
          .exec(Function.prototype.toString.call(v))?.[1]
          .split(',')
          .map((p) => p.trim().split(/[\s=]/)[0]);
        if (params && params[0] === 'ctx' && (params[1] === 'actor' || params[1] === 'by')) names.add(name);
      }
    }
    return [...names].sort();
  }

  let t: TestData;
  let w: World;

  /** Everything the store holds, as one string: a refusal must leave it as it was. */
  const everything = (ctx: Ctx) =>
    JSON.stringify(
      (
        [
          'users',
          'groups',
          'stakeholders',
          'documents',
          'versions',
          'settings',
          'tokens',
          'proposals',
          'revisions',
          'comments',
          'consolidations',
          'rounds',
          'ballots',
          'mails',
          'linkTokens',
        ] as const
      ).map((c) => ctx.meta.all(c)),
    );

  beforeAll(async () => {
    const clock = testClock('2026-03-01T09:00:00Z');
    t = await openTestData({ clock });
    const ctx = t.ctx;
    const who = await committee(ctx);
    const { c } = await twoProposalConsolidation(ctx, who);
    const p = await sharedProposal(ctx, who.drafter, 'Third', (x) => x.replace(S1, 'Changed. '));
    const { createProposal } = await svc('proposals/proposals');
    const draft = await createProposal(ctx, who.drafter.actor, 'terms-of-reference', {
      title: 'Draft',
      rationale: 'R',
      text: 'Draft text\n',
    });
    const round = await openRound(ctx, who.chair.actor, {
      subject: { type: 'consolidation', id: c.id },
      rule: 'consensus',
      quorum: 0.5,
      closesAt: after(clock, 7 * DAY),
    });
    const comment = await addComment(ctx, who.m2.actor, proposalCommentable(ctx, ctx.meta.get('proposals', p.id)!), {
      body: 'A thought',
    });
    const { record } = await createToken(ctx, who.sec.actor, ctx.meta.get('users', who.sec.id)!, 'mine');
    void consolidationCommentable;
    w = {
      ctx,
      who,
      proposal: p.id,
      draft: draft.id,
      consolidation: c.id,
      round: round.id,
      comment: comment.id,
      secToken: record.id,
    };
  });

  afterAll(async () => {
    await t?.cleanup();
  });

  describe('every service that takes who acts checks it', () => {
    test('the table names every such exported function (and nothing else)', async () => {
      const found = await actorTakingServices();
      expect(found.filter((n) => !(n in REFUSED) && !(n in BY_DESIGN))).toEqual([]);
      expect([...Object.keys(REFUSED), ...Object.keys(BY_DESIGN)].filter((n) => !found.includes(n)).sort()).toEqual([]);
    });

    test.each(Object.keys(REFUSED))('%s refuses someone without the right, and changes nothing', async (name) => {
      const before = everything(w.ctx);
      const e = await rejection(REFUSED[name](w));
      expect(['forbidden', 'unauthenticated', 'not_found']).toContain(e.kind);
      expect(everything(w.ctx)).toBe(before);
    });

    test('visibleProposals shows the public and a plain member no draft of a working group', async () => {
      const { visibleProposals } = await svc('proposals/access');
      for (const a of [null, w.who.m1.actor] as (Actor | null)[]) {
        expect(visibleProposals(w.ctx, a).map((p: { id: number }) => p.id)).not.toContain(w.draft);
      }
      expect(visibleProposals(w.ctx, w.who.drafter.actor).map((p: { id: number }) => p.id)).toContain(w.draft);
      // "My drafts" reads through the indexes: the same rule.
      const { myDrafts } = await svc('proposals/drafts');
      const ids = (a: Actor) => {
        const d = myDrafts(w.ctx, a);
        return [...d.mine, ...d.groupDrafts, ...d.awaiting.map((t: { proposal: unknown }) => t.proposal)].map(
          (p: { id: number }) => p.id,
        );
      };
      expect(ids(w.who.m1.actor)).not.toContain(w.draft);
      expect(ids(w.who.drafter.actor)).toContain(w.draft);
      const { listOpenConsolidations } = await svc('consolidations/consolidations');
      expect(listOpenConsolidations(w.ctx, null)).toEqual([]);
      expect(listOpenConsolidations(w.ctx, w.who.m1.actor).map((c: { id: number }) => c.id)).toContain(w.consolidation);
    });

    test('findProposal and findConsolidation answer as if what the actor may not see did not exist', async () => {
      const { findProposal } = await svc('proposals/access');
      for (const a of [null, w.who.m1.actor] as (Actor | null)[])
        expect(findProposal(w.ctx, a, w.draft)).toBeUndefined();
      expect(findProposal(w.ctx, w.who.drafter.actor, w.draft)).toMatchObject({ id: w.draft });
      expect(findProposal(w.ctx, w.who.m1.actor, w.proposal)).toMatchObject({ id: w.proposal });
      const { findConsolidation } = await svc('consolidations/consolidations');
      expect(findConsolidation(w.ctx, null, w.consolidation)).toBeUndefined();
      expect(findConsolidation(w.ctx, w.who.m1.actor, w.consolidation)).toMatchObject({ id: w.consolidation });
    });

    test('electorateRoll names every elector, with addresses only for who may record ballots on their behalf', async () => {
      const { electorateRoll, loadRound } = await svc('rounds/rounds');
      const round = loadRound(w.ctx, w.who.sec.actor, w.round);
      const forSec = electorateRoll(w.ctx, w.who.sec.actor, round) as { id: number; name: string; email: string }[];
      expect(forSec.map((e) => e.id)).toEqual(round.electorate);
      expect(forSec.every((e) => e.name && e.email.includes('@'))).toBe(true);
      for (const a of [w.who.m1.actor, w.who.chair.actor]) {
        const roll = electorateRoll(w.ctx, a, round) as { name: string; email: string }[];
        expect(roll.map((e) => e.name)).toEqual(forSec.map((e) => e.name));
        expect(roll.every((e) => e.email === '')).toBe(true);
      }
    });

    test('the command line acts as an explicit system actor with the secretariat’s powers, never as "nobody"', async () => {
      const { addGroup } = await svc('addGroup');
      expect((await rejection(addGroup(w.ctx, null, { slug: 'wg-x', name: 'X' }))).kind).toBe('unauthenticated');
    });
  });

  void ({} as Person);
});
