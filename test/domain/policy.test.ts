/**
 * The role × action matrix over the pure policy (server/domain/policy.ts), written out as an
 * explicit table of what PRODUCT.md ("People and what they may do", "Objects", rules 8–9) and
 * API.md require. Each cell is what `authorize` answers: 'ok', 401 (no sign-in, for a
 * write), 404 (not visible to this actor) or 403 (visible but not allowed).
 *
 * One test per actor (a column of the table), so that a wrong rule shows up as one failing
 * test whose diff lists exactly the cells that differ.
 */
import { describe, expect, test } from '@jest/globals';
import type { Actor } from '../../server/domain/actor.js';
import { DomainError } from '../../server/domain/errors.js';
import { authorize, can, canSee, type Action, type Subject } from '../../server/domain/policy.js';

describe('domain/policy', () => {
  // ---------------------------------------------------------------- actors (the columns)

  const ACTORS = {
    public: null,
    member: { id: 1, email: 'm@x.org', name: 'Plain Member', roles: ['member'], groups: [] },
    wgAuthor: { id: 2, email: 'wa@x.org', name: 'WG Author', roles: ['member'], groups: ['wg-strategy'] },
    wgOther: { id: 3, email: 'wo@x.org', name: 'WG Colleague', roles: ['member'], groups: ['wg-strategy'] },
    chair: { id: 4, email: 'c@x.org', name: 'Chair', roles: ['member', 'chair'], groups: [] },
    // Secretariat staff who are not committee members: `secretariat` without `member`.
    secretariat: { id: 5, email: 's@x.org', name: 'Secretariat', roles: ['secretariat'], groups: [] },
  } satisfies Record<string, Actor | null>;
  type Who = keyof typeof ACTORS;
  const COLUMNS = Object.keys(ACTORS) as Who[];

  // ---------------------------------------------------------------- subjects

  const AUTHOR = ACTORS.wgAuthor.id;
  const SUBJECTS = {
    none: { kind: 'none' },
    document: { kind: 'document', group: 'wg-strategy' },
    draft: { kind: 'proposal', group: 'wg-strategy', state: 'draft', authorId: AUTHOR },
    shared: { kind: 'proposal', group: 'wg-strategy', state: 'shared', authorId: AUTHOR },
    // A draft withdrawn before it was ever shared: nobody outside the owning group, the chair
    // and the secretariat has seen it, so withdrawing must not publish it to every member.
    withdrawn: { kind: 'proposal', group: 'wg-strategy', state: 'withdrawn', authorId: AUTHOR },
    // Withdrawn after it had been shared: it stays on the record for all members.
    withdrawnShared: { kind: 'proposal', group: 'wg-strategy', state: 'withdrawn', authorId: AUTHOR, wasShared: true },
    // Another group's draft.
    otherDraft: { kind: 'proposal', group: 'wg-hybrid', state: 'draft', authorId: 99 },
    // A consolidation of a document owned by wg-strategy ("GET /consolidations/:id — members").
    consolidation: { kind: 'consolidation', group: 'wg-strategy' },
    // A thread the plain member started, on a shared proposal and on a consolidation.
    threadOnShared: { kind: 'proposal', group: 'wg-strategy', state: 'shared', authorId: AUTHOR, threadStarter: 1 },
    threadOnConsolidation: { kind: 'consolidation', group: 'wg-strategy', threadStarter: 1 },
  } satisfies Record<string, Subject>;
  type SubjectName = keyof typeof SUBJECTS;

  // ---------------------------------------------------------------- the table

  type Cell = 'ok' | 401 | 403 | 404;
  const O = 'ok' as const;
  //                public member wgAuthor wgOther chair secretariat
  type Row = [Cell, Cell, Cell, Cell, Cell, Cell];

  const SECRETARIAT_ONLY: Row = [401, 403, 403, 403, 403, O];
  const ANY_SIGNED_IN: Row = [401, O, O, O, O, O];

  /** Every Action of policy.ts; the type check below fails to compile when one is added and not listed. */
  const ALL_ACTIONS = [
    'audit.read',
    'user.manage',
    'group.manage',
    'document.manage',
    'settings.manage',
    'account.use',
    'proposal.create',
    'proposal.read',
    'proposal.edit',
    'proposal.share',
    'proposal.withdraw',
    'comment.create',
    'comment.resolve',
    'consolidation.manage',
    'round.manage',
    'round.read',
    'ballot.cast',
    'ballot.record',
  ] as const satisfies readonly Action[];
  type Unlisted = Exclude<Action, (typeof ALL_ACTIONS)[number]>;
  const everyActionListed: [Unlisted] extends [never] ? true : false = true;

  const TABLE: Record<Action, Partial<Record<SubjectName, Row>>> = {
    // Secretariat: "manage users, groups and documents"; the audit trail is theirs to read (rule 8).
    'audit.read': { none: SECRETARIAT_ONLY, document: SECRETARIAT_ONLY },
    'user.manage': { none: SECRETARIAT_ONLY, document: SECRETARIAT_ONLY },
    'group.manage': { none: SECRETARIAT_ONLY, document: SECRETARIAT_ONLY },
    'document.manage': { none: SECRETARIAT_ONLY, document: SECRETARIAT_ONLY },
    'settings.manage': { none: SECRETARIAT_ONLY, document: SECRETARIAT_ONLY },
    // My account: anyone signed in.
    'account.use': { none: ANY_SIGNED_IN, document: ANY_SIGNED_IN },
    // "POST /documents/:slug/proposals — member of the owning group, chair, secretariat"; a
    // document is public, so a plain member sees it and is refused with 403.
    'proposal.create': { document: [401, 403, O, O, O, O] },
    // Drafts: owning group, chair, secretariat; shared: all members. Reads by the public of
    // what they may not see answer 404 (the public never learns a draft exists).
    'proposal.read': {
      withdrawnShared: [404, O, O, O, O, O],
      draft: [404, 404, O, O, O, O],
      shared: [404, O, O, O, O, O],
      withdrawn: [404, 404, O, O, O, O],
      otherDraft: [404, 404, 404, 404, O, O],
    },
    // Writes. Rule 9: "A request without credentials that tries to change anything gets 401".
    'proposal.edit': {
      withdrawnShared: [401, 403, O, O, O, O],
      draft: [401, 404, O, O, O, O],
      shared: [401, 403, O, O, O, O],
      withdrawn: [401, 404, O, O, O, O], // (the 409 for a withdrawn text is the service's, not the policy's)
      otherDraft: [401, 404, 404, 404, O, O],
    },
    'proposal.share': {
      withdrawnShared: [401, 403, O, O, O, O],
      draft: [401, 404, O, O, O, O],
      shared: [401, 403, O, O, O, O],
      withdrawn: [401, 404, O, O, O, O],
      otherDraft: [401, 404, 404, 404, O, O],
    },
    // "its author, chair, secretariat"
    'proposal.withdraw': {
      withdrawnShared: [401, 403, O, 403, O, O],
      draft: [401, 404, O, 403, O, O],
      shared: [401, 403, O, 403, O, O],
      withdrawn: [401, 404, O, 403, O, O],
      otherDraft: [401, 404, 404, 404, O, O],
    },
    // "members who may see it" (the secretariat, who see everything, may comment too).
    'comment.create': {
      withdrawnShared: [401, O, O, O, O, O],
      consolidation: [401, O, O, O, O, O],
      draft: [401, 404, O, O, O, O],
      shared: [401, O, O, O, O, O],
      withdrawn: [401, 404, O, O, O, O],
      otherDraft: [401, 404, 404, 404, O, O],
    },
    // Resolving threads: the people who edit the text, and the thread's starter.
    'comment.resolve': {
      threadOnShared: [401, O, O, O, O, O],
      threadOnConsolidation: [401, O, 403, 403, O, O],
      withdrawnShared: [401, 403, O, O, O, O],
      // consolidations are the chair's and the secretariat's to edit
      consolidation: [401, 403, 403, 403, O, O],
      draft: [401, 404, O, O, O, O],
      shared: [401, 403, O, O, O, O],
      withdrawn: [401, 404, O, O, O, O],
      otherDraft: [401, 404, 404, 404, O, O],
    },
    // "chair: open, close and cancel approval rounds; create consolidations; publish approved
    // consolidations"; "secretariat: everything the chair may do".
    'consolidation.manage': {
      document: [401, 403, 403, 403, O, O],
      consolidation: [401, 403, 403, 403, O, O],
    },
    'round.manage': {
      shared: [401, 403, 403, 403, O, O],
      consolidation: [401, 403, 403, 403, O, O],
    },
    // "GET /rounds/:id — members". The public asking: 401 where nothing is revealed (no
    // subject), 404 for a subject they may not see.
    'round.read': {
      none: [401, O, O, O, O, O],
      shared: [404, O, O, O, O, O],
      consolidation: [404, O, O, O, O, O],
    },
    // Who is in the electorate (members, not disabled, when the round opened — so not the
    // secretariat without `member`) is the round service's check, not the policy's.
    'ballot.cast': {
      shared: [401, O, O, O, O, O],
      consolidation: [401, O, O, O, O, O],
    },
    'ballot.record': { none: SECRETARIAT_ONLY },
  };

  const CELLS = ALL_ACTIONS.flatMap((action) =>
    (Object.entries(TABLE[action]) as [SubjectName, Row][]).map(([subject, row]) => ({ action, subject, row })),
  );
  const cellKey = (action: Action, subject: SubjectName) => `${action} on ${subject}`;

  /** What `authorize` answers for one cell. */
  function outcome(who: Who, action: Action, subject: SubjectName): Cell {
    try {
      authorize(ACTORS[who], action, SUBJECTS[subject]);
      return O;
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      if (e.kind === 'unauthenticated') return 401;
      if (e.kind === 'forbidden') return 403;
      if (e.kind === 'not_found') return 404;
      throw new Error(`unexpected refusal ${e.kind}/${e.code}`);
    }
  }

  describe('the table itself', () => {
    test('lists every Action of policy.ts, each with at least one subject', () => {
      expect(everyActionListed).toBe(true);
      for (const a of ALL_ACTIONS) expect(Object.keys(TABLE[a]).length).toBeGreaterThan(0);
      expect(CELLS.length).toBeGreaterThanOrEqual(55);
    });
  });

  describe('role × action matrix (one column per actor)', () => {
    test.each(COLUMNS)('%s', (who) => {
      const col = COLUMNS.indexOf(who);
      const expected: Record<string, Cell> = {};
      const actual: Record<string, Cell> = {};
      for (const { action, subject, row } of CELLS) {
        expected[cellKey(action, subject)] = row[col];
        actual[cellKey(action, subject)] = outcome(who, action, subject);
      }
      expect(actual).toEqual(expected);
    });
  });

  describe('can() and authorize() agree', () => {
    test('for every cell, can() is true exactly when authorize() does not throw', () => {
      const disagreements: string[] = [];
      for (const who of COLUMNS) {
        for (const { action, subject } of CELLS) {
          const allowed = can(ACTORS[who], action, SUBJECTS[subject]);
          if (allowed !== (outcome(who, action, subject) === O))
            disagreements.push(`${who}: ${cellKey(action, subject)}`);
        }
      }
      expect(disagreements).toEqual([]);
    });

    test('can() is false whenever canSee() is false', () => {
      for (const who of COLUMNS) {
        for (const { action, subject } of CELLS) {
          if (!canSee(ACTORS[who], SUBJECTS[subject])) expect(can(ACTORS[who], action, SUBJECTS[subject])).toBe(false);
        }
      }
    });
  });

  describe('authorize() maps refusals to 401 / 404 / 403 with stable codes', () => {
    const refusal = (a: Actor | null, action: Action, s: Subject) => {
      try {
        authorize(a, action, s);
      } catch (e) {
        return { kind: (e as DomainError).kind, code: (e as DomainError).code };
      }
      return null;
    };

    test('the public writing: unauthenticated (401)', () => {
      expect(refusal(null, 'account.use', SUBJECTS.none)).toEqual({ kind: 'unauthenticated', code: 'unauthenticated' });
      expect(refusal(null, 'proposal.create', SUBJECTS.document)).toEqual({
        kind: 'unauthenticated',
        code: 'unauthenticated',
      });
      expect(refusal(null, 'audit.read', SUBJECTS.none)).toEqual({ kind: 'unauthenticated', code: 'unauthenticated' });
    });

    test('the public writing to a proposal (rule 9: 401, whatever the public may see)', () => {
      expect(refusal(null, 'comment.create', SUBJECTS.shared)).toEqual({
        kind: 'unauthenticated',
        code: 'unauthenticated',
      });
      expect(refusal(null, 'proposal.edit', SUBJECTS.draft)).toEqual({
        kind: 'unauthenticated',
        code: 'unauthenticated',
      });
    });

    test('not visible: the 404 of a proposal that does not exist', () => {
      expect(refusal(ACTORS.member, 'proposal.read', SUBJECTS.draft)).toEqual({
        kind: 'not_found',
        code: 'proposal_not_found',
      });
      expect(refusal(ACTORS.wgAuthor, 'proposal.edit', SUBJECTS.otherDraft)).toEqual({
        kind: 'not_found',
        code: 'proposal_not_found',
      });
      expect(refusal(null, 'proposal.read', SUBJECTS.shared)).toEqual({
        kind: 'not_found',
        code: 'proposal_not_found',
      });
    });

    test('visible but not allowed: forbidden (403)', () => {
      expect(refusal(ACTORS.member, 'audit.read', SUBJECTS.none)).toEqual({ kind: 'forbidden', code: 'forbidden' });
      expect(refusal(ACTORS.member, 'proposal.edit', SUBJECTS.shared)).toEqual({
        kind: 'forbidden',
        code: 'forbidden',
      });
      expect(refusal(ACTORS.chair, 'user.manage', SUBJECTS.none)).toEqual({ kind: 'forbidden', code: 'forbidden' });
    });

    test('allowed: no throw', () => {
      expect(refusal(ACTORS.secretariat, 'audit.read', SUBJECTS.none)).toBeNull();
      expect(refusal(ACTORS.wgOther, 'proposal.edit', SUBJECTS.draft)).toBeNull();
    });
  });

  describe('properties from PRODUCT.md', () => {
    test('"secretariat: everything the chair may do"', () => {
      const chairOnly: string[] = [];
      for (const { action, subject } of CELLS) {
        if (can(ACTORS.chair, action, SUBJECTS[subject]) && !can(ACTORS.secretariat, action, SUBJECTS[subject]))
          chairOnly.push(cellKey(action, subject));
      }
      expect(chairOnly).toEqual([]);
    });

    test('the public may do nothing but read what is public (drafts never leak: rule 7)', () => {
      for (const { action, subject } of CELLS) {
        const allowed = can(null, action, SUBJECTS[subject]);
        if (allowed) throw new Error(`public allowed: ${cellKey(action, subject)}`);
      }
      for (const s of ['draft', 'shared', 'withdrawn', 'withdrawnShared', 'otherDraft', 'consolidation'] as const)
        expect(canSee(null, SUBJECTS[s])).toBe(false);
    });

    test('roles are independent flags: a user who is member, in a group and secretariat gets the union', () => {
      const all: Actor = {
        id: 7,
        email: 'all@x.org',
        name: 'All',
        roles: ['member', 'secretariat'],
        groups: ['wg-strategy', 'wg-hybrid'],
      };
      for (const { action, subject } of CELLS) {
        const any = (['member', 'wgOther', 'secretariat'] as Who[]).some((w) =>
          can(ACTORS[w], action, SUBJECTS[subject]),
        );
        if (any)
          expect([cellKey(action, subject), can(all, action, SUBJECTS[subject])]).toEqual([
            cellKey(action, subject),
            true,
          ]);
      }
    });

    test('the policy is pure: same answer twice, inputs not mutated', () => {
      const a = structuredClone(ACTORS.wgAuthor);
      const s = structuredClone(SUBJECTS.draft);
      expect(can(a, 'proposal.edit', s)).toBe(can(a, 'proposal.edit', s));
      expect(a).toEqual(ACTORS.wgAuthor);
      expect(s).toEqual(SUBJECTS.draft);
    });
  });
});
