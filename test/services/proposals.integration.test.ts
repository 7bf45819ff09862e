/**
 * Proposals at the service level (real git repository and journal in a temp folder): the
 * state machine of domain/proposal.ts through createProposal / reviseProposal /
 * shareProposal / withdrawProposal, a frozen text while a round is open, optimistic
 * concurrency, revisions as records and commits, and crash leftovers in git (an orphan
 * branch from a lost create, a commit from a lost revise) that must not block anything.
 */
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import type { Actor } from '../../server/domain/actor.js';
import { DomainError } from '../../server/domain/errors.js';
import { documentPath } from '../../server/domain/slug.js';
import { actorOf, addUser } from '../../server/services/accounts/users.js';
import { MAIN } from '../../server/services/context.js';
import {
  createProposal,
  proposalRef,
  reviseProposal,
  shareProposal,
  withdrawProposal,
} from '../../server/services/proposals/proposals.js';
import { proposalText, revisionsOf } from '../../server/services/proposals/read.js';
import { revisionKey, type ProposalRecord } from '../../server/store/meta/schema.js';
import { openTestData, testClock } from '../helpers/data.js';

describe('services/proposals.integration', () => {
  type TestData = Awaited<ReturnType<typeof openTestData>>;
  const SLUG = 'terms-of-reference';

  function git(t: TestData, ...args: string[]): string {
    return execFileSync('git', ['--git-dir', path.join(t.dataDir, 'git'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: t.dataDir, LC_ALL: 'C' },
    }).toString('utf8');
  }

  /** The refusal a call ends with (kind and code), or null when it succeeds. */
  async function refusal(run: () => Promise<unknown>): Promise<{ kind: string; code: string } | null> {
    try {
      await run();
      return null;
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      return { kind: e.kind, code: e.code };
    }
  }

  interface People {
    drafter: Actor;
    same: Actor;
    other: Actor;
    chair: Actor;
    secretariat: Actor;
  }
  async function people(t: TestData): Promise<People> {
    const mk = async (email: string, name: string, roles: string[], groups: string[] = []) =>
      actorOf(await addUser(t.ctx, CLI_ACTOR, { email, name, roles, groups }));
    return {
      drafter: await mk('drafter@example.org', 'Dana Drafter', ['member'], ['wg-strategy']),
      same: await mk('same@example.org', 'Sam Same', ['member'], ['wg-strategy']),
      other: await mk('other@example.org', 'Olga Other', ['member'], ['wg-wsp']),
      chair: await mk('chair@example.org', 'Chris Chair', ['chair']),
      secretariat: await mk('sec@example.org', 'Sue Sec', ['secretariat']),
    };
  }

  const clock = testClock('2026-03-01T08:00:00Z');
  let t: TestData;
  let P: People;
  let published: string;
  let n = 0;
  const text = () => `${published}\nParagraph ${++n}.\n`;
  const rec = (id: number): ProposalRecord => t.ctx.meta.get('proposals', id)!;

  /** Everything a refused call must leave untouched for this proposal. */
  async function state(id: number) {
    return {
      record: JSON.stringify(t.ctx.meta.get('proposals', id) ?? null),
      revisions: t.ctx.meta.all('revisions').filter((r) => r.subject.type === 'proposal' && r.subject.id === id).length,
      branch: await t.ctx.repo.resolve(proposalRef(id)),
      main: await t.ctx.repo.resolve(MAIN),
      proposals: t.ctx.meta.all('proposals').length,
    };
  }
  async function expectRefused(id: number, run: () => Promise<unknown>, kind: string, code: string) {
    const before = await state(id);
    expect(await refusal(run)).toEqual({ kind, code });
    expect(await state(id)).toEqual(before);
  }

  /** Put a record straight into the store (what another part of the system would do). */
  async function putProposal(p: ProposalRecord) {
    await t.ctx.meta.write({ actor: null, at: clock(), events: [], puts: { proposals: { [p.id]: p } } });
  }

  beforeAll(async () => {
    t = await openTestData({ clock });
    P = await people(t);
    const main = (await t.ctx.repo.resolve(MAIN))!;
    published = (await t.ctx.repo.readFile(main, documentPath(SLUG)))!.text;
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  describe('createProposal', () => {
    test('a draft on its own branch from the current main, one commit by the author, revision 1', async () => {
      const main = (await t.ctx.repo.resolve(MAIN))!;
      const body = text();
      const p = await createProposal(t.ctx, P.drafter, SLUG, {
        title: '  Drop the rule  ',
        rationale: 'Because.',
        text: body,
      });
      expect(p).toEqual(
        expect.objectContaining({
          document: SLUG,
          title: 'Drop the rule',
          rationale: 'Because.',
          authorId: P.drafter.id,
          state: 'draft',
          base: main,
          revisions: 1,
          wasShared: false,
          openRound: null,
        }),
      );
      expect(rec(p.id)).toEqual(p);
      expect(await t.ctx.repo.resolve(proposalRef(p.id))).toBe(p.head);
      const c = await t.ctx.repo.readCommit(p.head);
      expect(c.parents).toEqual([main]);
      expect(c.author).toEqual(expect.objectContaining({ name: P.drafter.name, email: P.drafter.email }));
      expect(await proposalText(t.ctx, p)).toBe(body);
      const r1 = t.ctx.meta.get('revisions', revisionKey({ type: 'proposal', id: p.id }, 1))!;
      expect(r1).toEqual(expect.objectContaining({ n: 1, commit: p.head, authorId: P.drafter.id }));
      expect(r1.blob).toBe((await t.ctx.repo.readFile(p.head, documentPath(SLUG)))!.oid);
      expect((await t.ctx.meta.auditLog(5)).map((e) => e.action)).toContain('proposal.created');
    });

    test('who may create: the owning group, the chair, the secretariat', async () => {
      for (const a of [P.drafter, P.same, P.chair, P.secretariat])
        expect(
          await refusal(() => createProposal(t.ctx, a, SLUG, { title: 'ok', rationale: '', text: text() })),
        ).toBeNull();
      await expectRefused(
        0,
        () => createProposal(t.ctx, P.other, SLUG, { title: 'no', rationale: '', text: text() }),
        'forbidden',
        'forbidden',
      );
      await expectRefused(
        0,
        () => createProposal(t.ctx, null, SLUG, { title: 'no', rationale: '', text: text() }),
        'unauthenticated',
        'unauthenticated',
      );
      await expectRefused(
        0,
        () => createProposal(t.ctx, P.chair, 'no-such-doc', { title: 'no', rationale: '', text: text() }),
        'not_found',
        'document_not_found',
      );
    });

    test('bad input is refused before anything is written', async () => {
      await expectRefused(
        0,
        () => createProposal(t.ctx, P.drafter, SLUG, { title: 'x'.repeat(201), rationale: '', text: text() }),
        'invalid',
        'invalid_title',
      );
      await expectRefused(
        0,
        () =>
          createProposal(t.ctx, P.drafter, SLUG, { title: 'ok', rationale: 'r'.repeat(20 * 1024 + 1), text: text() }),
        'too_large',
        'rationale_too_large',
      );
      await expectRefused(
        0,
        () => createProposal(t.ctx, P.drafter, SLUG, { title: 'ok', rationale: '', text: 'a'.repeat(1024 * 1024 + 1) }),
        'too_large',
        'text_too_large',
      );
    });

    test('concurrent creations get distinct ids and branches', async () => {
      const ps = await Promise.all(
        Array.from({ length: 6 }, () =>
          createProposal(t.ctx, P.same, SLUG, { title: 'parallel', rationale: '', text: text() }),
        ),
      );
      const ids = ps.map((p) => p.id);
      expect(new Set(ids).size).toBe(6);
      for (const p of ps) expect(await t.ctx.repo.resolve(proposalRef(p.id))).toBe(p.head);
    });
  });

  describe('state machine (domain/proposal.ts)', () => {
    test('draft → revise → share → revise → withdraw; then nothing but reads', async () => {
      const p = await createProposal(t.ctx, P.drafter, SLUG, { title: 'Life', rationale: '', text: text() });
      const r2 = await reviseProposal(t.ctx, P.same, p.id, { text: text(), head: p.head });
      expect(r2).toEqual(expect.objectContaining({ state: 'draft', revisions: 2 }));
      expect((await t.ctx.repo.readCommit(r2.head)).parents).toEqual([p.head]);

      const s = await shareProposal(t.ctx, P.chair, p.id);
      expect(s).toEqual(expect.objectContaining({ state: 'shared', wasShared: true }));
      await expectRefused(p.id, () => shareProposal(t.ctx, P.drafter, p.id), 'conflict', 'already_shared');

      const r3 = await reviseProposal(t.ctx, P.secretariat, p.id, {
        text: text(),
        head: r2.head,
        title: 'Life, revised',
        rationale: 'Now with reasons.',
      });
      expect(r3).toEqual(
        expect.objectContaining({
          state: 'shared',
          revisions: 3,
          title: 'Life, revised',
          rationale: 'Now with reasons.',
        }),
      );
      expect(revisionsOf(t.ctx, { type: 'proposal', id: p.id }, 3).map((r) => r.authorId)).toEqual([
        P.drafter.id,
        P.same.id,
        P.secretariat.id,
      ]);

      const w = await withdrawProposal(t.ctx, P.drafter, p.id);
      expect(w).toEqual(expect.objectContaining({ state: 'withdrawn', wasShared: true, head: r3.head }));
      await expectRefused(p.id, () => withdrawProposal(t.ctx, P.chair, p.id), 'conflict', 'already_withdrawn');
      await expectRefused(
        p.id,
        () => reviseProposal(t.ctx, P.drafter, p.id, { text: text(), head: r3.head }),
        'conflict',
        'not_editable',
      );
      await expectRefused(p.id, () => shareProposal(t.ctx, P.drafter, p.id), 'conflict', 'not_shareable');
      // The branch stays: history is never rewritten.
      expect(await t.ctx.repo.resolve(proposalRef(p.id))).toBe(r3.head);
      const actions = (await t.ctx.meta.auditLog(50))
        .filter((e) => e.subject === `proposal/${p.id}`)
        .map((e) => e.action)
        .reverse();
      expect(actions).toEqual([
        'proposal.created',
        'proposal.revised',
        'proposal.shared',
        'proposal.revised',
        'proposal.withdrawn',
      ]);
    });

    test('withdrawn from draft: never shared, still not editable', async () => {
      const p = await createProposal(t.ctx, P.same, SLUG, { title: 'Short life', rationale: '', text: text() });
      await expectRefused(p.id, () => withdrawProposal(t.ctx, P.drafter, p.id), 'forbidden', 'forbidden'); // not the author
      const w = await withdrawProposal(t.ctx, P.same, p.id);
      expect(w).toEqual(expect.objectContaining({ state: 'withdrawn', wasShared: false }));
      await expectRefused(
        p.id,
        () => reviseProposal(t.ctx, P.same, p.id, { text: text(), head: p.head }),
        'conflict',
        'not_editable',
      );
    });

    test('a consolidated proposal cannot be edited, shared or withdrawn', async () => {
      const p = await createProposal(t.ctx, P.drafter, SLUG, { title: 'Merged', rationale: '', text: text() });
      await shareProposal(t.ctx, P.drafter, p.id);
      await putProposal({ ...rec(p.id), state: 'consolidated' });
      await expectRefused(
        p.id,
        () => reviseProposal(t.ctx, P.drafter, p.id, { text: text(), head: p.head }),
        'conflict',
        'not_editable',
      );
      await expectRefused(p.id, () => shareProposal(t.ctx, P.drafter, p.id), 'conflict', 'not_shareable');
      await expectRefused(p.id, () => withdrawProposal(t.ctx, P.chair, p.id), 'conflict', 'not_withdrawable');
    });

    test('while a round is open the text is frozen (409 frozen) and it cannot be withdrawn', async () => {
      const p = await createProposal(t.ctx, P.drafter, SLUG, { title: 'Voted on', rationale: '', text: text() });
      await shareProposal(t.ctx, P.drafter, p.id);
      await putProposal({ ...rec(p.id), openRound: 1 });
      for (const a of [P.drafter, P.same, P.chair, P.secretariat]) {
        await expectRefused(
          p.id,
          () => reviseProposal(t.ctx, a, p.id, { text: text(), head: p.head }),
          'conflict',
          'frozen',
        );
      }
      // Frozen wins over a stale head and over a title-only change.
      await expectRefused(
        p.id,
        () => reviseProposal(t.ctx, P.drafter, p.id, { text: text(), head: '0'.repeat(40) }),
        'conflict',
        'frozen',
      );
      await expectRefused(
        p.id,
        () => reviseProposal(t.ctx, P.drafter, p.id, { text: text(), head: p.head, title: 'New title' }),
        'conflict',
        'frozen',
      );
      await expectRefused(p.id, () => withdrawProposal(t.ctx, P.drafter, p.id), 'conflict', 'round_open');
      // Once the round is over, editing works again.
      await putProposal({ ...rec(p.id), openRound: null });
      expect(await refusal(() => reviseProposal(t.ctx, P.drafter, p.id, { text: text(), head: p.head }))).toBeNull();
    });

    test('a draft hidden from someone is refused exactly like an id that does not exist', async () => {
      const p = await createProposal(t.ctx, P.drafter, SLUG, { title: 'Hidden', rationale: '', text: text() });
      for (const run of [
        (id: number) => reviseProposal(t.ctx, P.other, id, { text: text(), head: p.head }),
        (id: number) => shareProposal(t.ctx, P.other, id),
        (id: number) => withdrawProposal(t.ctx, P.other, id),
      ]) {
        const absent = await refusal(() => run(999999));
        expect(absent).toEqual({ kind: 'not_found', code: 'proposal_not_found' });
        await expectRefused(p.id, () => run(p.id), absent!.kind, absent!.code);
      }
    });

    test('who may edit, share and withdraw (policy through the services)', async () => {
      const p = await createProposal(t.ctx, P.drafter, SLUG, { title: 'Policy', rationale: '', text: text() });
      await shareProposal(t.ctx, P.same, p.id);
      await expectRefused(
        p.id,
        () => reviseProposal(t.ctx, P.other, p.id, { text: text(), head: p.head }),
        'forbidden',
        'forbidden',
      );
      await expectRefused(p.id, () => withdrawProposal(t.ctx, P.other, p.id), 'forbidden', 'forbidden');
      await expectRefused(p.id, () => withdrawProposal(t.ctx, P.same, p.id), 'forbidden', 'forbidden');
      await expectRefused(
        p.id,
        () => reviseProposal(t.ctx, null, p.id, { text: text(), head: p.head }),
        'unauthenticated',
        'unauthenticated',
      );
      await expectRefused(
        p.id,
        () => reviseProposal(t.ctx, P.chair, 999999, { text: text(), head: p.head }),
        'not_found',
        'proposal_not_found',
      );
    });
  });

  describe('optimistic concurrency', () => {
    test('10 concurrent revisions on one head: one lands (one commit), nine are stale and write nothing', async () => {
      const p = await createProposal(t.ctx, P.drafter, SLUG, { title: 'Race', rationale: '', text: text() });
      const editors = [P.drafter, P.same, P.chair, P.secretariat];
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          refusal(() =>
            reviseProposal(t.ctx, editors[i % 4], p.id, { text: `${published}\nRacer ${i}.\n`, head: p.head }),
          ),
        ),
      );
      expect(results.filter((r) => r === null)).toHaveLength(1);
      expect(results.filter((r) => r !== null)).toEqual(Array(9).fill({ kind: 'conflict', code: 'stale_head' }));
      expect(rec(p.id).revisions).toBe(2);
      expect(Number(git(t, 'rev-list', '--count', `${p.base}..${proposalRef(p.id)}`).trim())).toBe(2);
      const winner = results.indexOf(null);
      expect(await proposalText(t.ctx, rec(p.id))).toBe(`${published}\nRacer ${winner}.\n`);
    });

    // A malformed head is the schema's refusal (400 invalid_head: test/http/proposalsApi.test.ts).
    test('a head that is not the current revision is 409 stale_head', async () => {
      const p = await createProposal(t.ctx, P.drafter, SLUG, { title: 'Heads', rationale: '', text: text() });
      await expectRefused(
        p.id,
        () => reviseProposal(t.ctx, P.drafter, p.id, { text: text(), head: p.base }),
        'conflict',
        'stale_head',
      );
    });
  });

  describe('crash leftovers in git', () => {
    /** The id createProposal will take next (ids come from the records; no proposal was attempted without a record here). */
    const nextProposalId = (d: TestData) => Math.max(0, ...d.ctx.meta.all('proposals').map((p) => p.id)) + 1;

    test('an orphan branch (git written, record lost) does not block creation: the branch is rebuilt from main', async () => {
      const d = await openTestData({ clock });
      try {
        const drafter = actorOf(
          await addUser(d.ctx, CLI_ACTOR, {
            email: 'd@example.org',
            name: 'D',
            roles: ['member'],
            groups: ['wg-strategy'],
          }),
        );
        const main = (await d.ctx.repo.resolve(MAIN))!;
        const id = nextProposalId(d);
        // What a crash after the git write leaves: a branch with a commit, and no record.
        const orphan = await d.ctx.repo.commitFile({
          ref: proposalRef(id),
          expected: null,
          parent: main,
          filepath: documentPath(SLUG),
          text: 'lost text\n',
          message: 'Proposal (lost)\n',
          author: { name: 'D', email: 'd@example.org', at: clock() },
        });
        const p = await createProposal(d.ctx, drafter, SLUG, {
          title: 'After a crash',
          rationale: '',
          text: 'new text\n',
        });
        expect(p.id).toBe(id);
        expect(p.base).toBe(main);
        expect(await d.ctx.repo.resolve(proposalRef(id))).toBe(p.head);
        expect((await d.ctx.repo.readCommit(p.head)).parents).toEqual([main]);
        expect(p.head).not.toBe(orphan.commit);
        expect(await proposalText(d.ctx, p)).toBe('new text\n');
        // A second one is unaffected.
        const q = await createProposal(d.ctx, drafter, SLUG, { title: 'Next', rationale: '', text: 'next\n' });
        expect(q.id).toBe(id + 1);
      } finally {
        await d.cleanup();
      }
    });

    test('an orphan branch pointing at an unrelated root commit does not block creation either', async () => {
      const d = await openTestData({ clock });
      try {
        const drafter = actorOf(
          await addUser(d.ctx, CLI_ACTOR, {
            email: 'd@example.org',
            name: 'D',
            roles: ['member'],
            groups: ['wg-strategy'],
          }),
        );
        const id = nextProposalId(d);
        await d.ctx.repo.commitFile({
          ref: proposalRef(id),
          expected: null,
          parent: null,
          filepath: 'junk.md',
          text: 'junk\n',
          message: 'junk\n',
          author: { name: 'D', email: 'd@example.org', at: clock() },
        });
        const p = await createProposal(d.ctx, drafter, SLUG, { title: 'After junk', rationale: '', text: 'text\n' });
        expect(p.id).toBe(id);
        expect((await d.ctx.repo.readCommit(p.head)).parents).toEqual([p.base]);
        expect(git(d, 'ls-tree', '-r', '--name-only', proposalRef(id)).split('\n').filter(Boolean)).not.toContain(
          'junk.md',
        );
      } finally {
        await d.cleanup();
      }
    });

    test('a commit left on the branch by a lost revision does not make the proposal uneditable', async () => {
      const p = await createProposal(t.ctx, P.drafter, SLUG, { title: 'Lost revision', rationale: '', text: text() });
      // What a crash between the git write and the store write of a revision leaves.
      await t.ctx.repo.commitFile({
        ref: proposalRef(p.id),
        expected: p.head,
        parent: p.head,
        filepath: documentPath(SLUG),
        text: 'lost revision\n',
        message: 'Revise (lost)\n',
        author: { name: P.drafter.name, email: P.drafter.email, at: clock() },
      });
      // The record still says p.head: a client that read the proposal edits on p.head and must succeed.
      const r = await refusal(() =>
        reviseProposal(t.ctx, P.drafter, p.id, { text: 'after the crash\n', head: p.head }),
      );
      expect(r).toBeNull();
      expect(rec(p.id).revisions).toBe(2);
      expect(await t.ctx.repo.resolve(proposalRef(p.id))).toBe(rec(p.id).head);
      expect(await proposalText(t.ctx, rec(p.id))).toBe('after the crash\n');
    });
  });
});
