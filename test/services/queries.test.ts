/**
 * The read functions the pages and the API call instead of reading the store: what they
 * answer, and that each one that reveals something refuses an actor without the right.
 */
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { accountCounts, findUserByEmail, setUser } from '../../server/services/accounts/users.js';
import { listOpenConsolidations } from '../../server/services/consolidations/consolidations.js';
import { groupsWithUsage, listGroups } from '../../server/services/groups.js';
import { mailQueue } from '../../server/services/notifications/deliver.js';
import { visibleProposals } from '../../server/services/proposals/access.js';
import { withoutSecondFactor } from '../../server/services/settings/securitySettings.js';
import { membersHaveStakeholders, stakeholderMembership } from '../../server/services/stakeholders.js';
import { openTestData, testClock } from '../helpers/data.js';
import { committee, sharedProposal, TOR, twoProposalConsolidation } from '../helpers/people.js';
import type { Actor } from '../../server/domain/actor.js';

describe('services/queries', () => {
  const clock = testClock('2026-03-01T09:00:00Z');
  let t: Awaited<ReturnType<typeof openTestData>>;
  let who: Awaited<ReturnType<typeof committee>>;
  let outsider: Actor;

  const codeOf = (fn: () => unknown) => {
    try {
      fn();
      return 'no error';
    } catch (e) {
      return (e as { code?: string }).code ?? String(e);
    }
  };

  beforeAll(async () => {
    t = await openTestData({ clock });
    who = await committee(t.ctx);
    // Signed in, no role and no working group: sees nothing of the committee's work.
    outsider = { ...who.m1.actor, roles: [], groups: [] };
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  describe('admin reads: the secretariat only', () => {
    test('each refuses the public (401) and a member (403)', () => {
      const reads: [string, (a: Actor | null) => unknown][] = [
        ['accountCounts', (a) => accountCounts(t.ctx, a)],
        ['groupsWithUsage', (a) => groupsWithUsage(t.ctx, a)],
        ['stakeholderMembership', (a) => stakeholderMembership(t.ctx, a)],
        ['withoutSecondFactor', (a) => withoutSecondFactor(t.ctx, a)],
        ['mailQueue', (a) => mailQueue(t.ctx, a)],
      ];
      for (const [name, read] of reads) {
        expect({
          name,
          public: codeOf(() => read(null)),
          member: codeOf(() => read(who.m1.actor)),
          secretariat: codeOf(() => read(who.sec.actor)),
        }).toEqual({
          name,
          public: 'unauthenticated',
          member: 'forbidden',
          secretariat: 'no error',
        });
      }
    });

    test('what they count', async () => {
      expect(accountCounts(t.ctx, who.sec.actor)).toEqual({ users: 6, disabled: 0 });
      const wg = groupsWithUsage(t.ctx, who.sec.actor).find((g) => g.slug === 'wg-strategy');
      expect(wg).toMatchObject({ members: 1, documents: 1 });
      expect(listGroups(t.ctx).map((g) => g.slug)).toEqual([...listGroups(t.ctx).map((g) => g.slug)].sort());
      expect(withoutSecondFactor(t.ctx, who.sec.actor)).toEqual([
        { role: 'chair', without: 1 },
        { role: 'secretariat', without: 1 },
      ]);
      expect(membersHaveStakeholders(t.ctx)).toBe(false);
      await setUser(t.ctx, CLI_ACTOR, who.m2.email, { stakeholder: 'civil-society' });
      expect(membersHaveStakeholders(t.ctx)).toBe(true);
      const m = stakeholderMembership(t.ctx, who.sec.actor);
      expect([m.members.get('civil-society'), m.members.get('constructor'), m.without]).toEqual([1, undefined, 5]);
      const q = mailQueue(t.ctx, who.sec.actor);
      const newestFirst = (xs: { id: number }[]) =>
        expect(xs.map((x) => x.id)).toEqual(xs.map((x) => x.id).sort((a, b) => b - a));
      newestFirst(q.pending);
      newestFirst(q.sent);
      expect(q.pending.every((x) => x.state === 'pending')).toBe(true);
      // Kept by the store, and forgotten when a member changes: a member leaving the group, or the
      // role that makes them one.
      await setUser(t.ctx, CLI_ACTOR, who.m2.email, { stakeholder: null });
      expect(membersHaveStakeholders(t.ctx)).toBe(false);
      await setUser(t.ctx, CLI_ACTOR, who.m2.email, { stakeholder: 'civil-society' });
      expect(membersHaveStakeholders(t.ctx)).toBe(true);
      await setUser(t.ctx, CLI_ACTOR, who.m2.email, { roles: [] });
      expect(membersHaveStakeholders(t.ctx)).toBe(false);
    });
  });

  describe('committee reads: what the actor may see', () => {
    test('open consolidations: members and officers, newest first; not the public or a person without a role', async () => {
      const { c } = await twoProposalConsolidation(t.ctx, who);
      expect(listOpenConsolidations(t.ctx, who.m1.actor).map((x) => x.id)).toEqual([c.id]);
      expect(listOpenConsolidations(t.ctx, who.chair.actor, TOR).map((x) => x.id)).toEqual([c.id]);
      expect(listOpenConsolidations(t.ctx, who.chair.actor, 'no-such-document')).toEqual([]);
      expect(listOpenConsolidations(t.ctx, null)).toEqual([]);
      expect(listOpenConsolidations(t.ctx, outsider)).toEqual([]);
    });

    test('proposals of a document in a state, newest first, as visible to the actor', async () => {
      const p = await sharedProposal(t.ctx, who.drafter, 'One more', (s) =>
        s.replace('## 1. Mandate', '## 1. The mandate'),
      );
      const shared = visibleProposals(t.ctx, who.m1.actor, TOR, 'shared');
      expect(shared[0].id).toBe(p.id);
      expect(shared.every((x) => x.document === TOR && x.state === 'shared')).toBe(true);
      expect(visibleProposals(t.ctx, null, TOR, 'shared')).toEqual([]);
    });

    test('a user by address, whatever its case and spaces', () => {
      expect(findUserByEmail(t.ctx, '  MIA@Example.org ')?.id).toBe(who.m1.id);
      expect(findUserByEmail(t.ctx, 'nobody@example.org')).toBeUndefined();
    });
  });
});
