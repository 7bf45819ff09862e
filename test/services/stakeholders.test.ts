/**
 * Stakeholder groups without HTTP: adding (secretariat only, unique slug, slug and name rules),
 * the list by name, the seeded groups, and a user's one stakeholder group — set, cleared,
 * refused when it names no group — through addUser, setUser and the CSV import. A refusal
 * changes nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { DomainError } from '../../server/domain/errors.js';
import { importUsers } from '../../server/services/accounts/importUsers.js';
import {
  actorOf,
  addUser,
  findUserByEmail,
  getUser,
  publicUser,
  setUser,
} from '../../server/services/accounts/users.js';
import {
  addStakeholder,
  checkStakeholder,
  listStakeholders,
  stakeholderFromText,
} from '../../server/services/stakeholders.js';
import { openTestData, projectRoot, tempDir, testClock } from '../helpers/data.js';

describe('services/stakeholders', () => {
  const clock = testClock('2026-01-15T10:00:00Z');
  let t: Awaited<ReturnType<typeof openTestData>>;
  let sec: ReturnType<typeof actorOf>;

  /** The code of the DomainError `fn` throws (or 'no error'). */
  async function codeOf(fn: () => unknown): Promise<string> {
    try {
      await fn();
    } catch (e) {
      if (e instanceof DomainError) return e.code;
      throw e;
    }
    return 'no error';
  }
  const auditSeq = async () => (await t.ctx.meta.auditLog(1))[0].seq;

  beforeAll(async () => {
    t = await openTestData({ clock });
    sec = actorOf(await addUser(t.ctx, CLI_ACTOR, { email: 'sec@x.org', name: 'Sam Sec', roles: ['secretariat'] }));
  });
  afterAll(async () => {
    await t.cleanup();
  });

  describe('the seed', () => {
    test('a fresh data folder has the four stakeholder groups of the Terms of Reference, by name', async () => {
      expect(listStakeholders(t.ctx).map((s) => [s.slug, s.name])).toEqual([
        ['civil-society', 'Civil society'],
        ['government', 'Governments and intergovernmental organisations'],
        ['private-sector', 'Private sector'],
        ['technical', 'Technical and academic community'],
      ]);
      expect(
        (await t.ctx.meta.auditLog(1000))
          .filter((e) => e.action === 'stakeholder.created')
          .map((e) => e.subject)
          .sort(),
      ).toEqual([
        'stakeholder/civil-society',
        'stakeholder/government',
        'stakeholder/private-sector',
        'stakeholder/technical',
      ]);
    });

    test('a manifest without "stakeholders" still seeds (none are created)', async () => {
      const docs = await tempDir('ratify-docs-');
      const manifest = JSON.parse(
        await fsp.readFile(path.join(projectRoot, 'documents', 'manifest.json'), 'utf8'),
      ) as Record<string, unknown>;
      delete manifest.stakeholders;
      await fsp.writeFile(path.join(docs, 'manifest.json'), JSON.stringify(manifest));
      for (const f of ['terms-of-reference.md', 'workshop-process.md'])
        await fsp.copyFile(path.join(projectRoot, 'documents', f), path.join(docs, f));
      const old = await openTestData({ clock, documentsDir: docs });
      try {
        expect(listStakeholders(old.ctx)).toEqual([]);
        expect(old.ctx.meta.all('documents')).toHaveLength(2);
      } finally {
        await old.cleanup();
        await fsp.rm(docs, { recursive: true, force: true });
      }
    });
  });

  describe('addStakeholder', () => {
    test('adds one, audited; the list stays sorted by name', async () => {
      const s = await addStakeholder(t.ctx, sec, { slug: 'youth', name: '  Youth  ' });
      expect(s).toEqual({ slug: 'youth', name: 'Youth', createdAt: '2026-01-15T10:00:00.000Z' });
      expect(t.ctx.meta.get('stakeholders', 'youth')).toEqual(s);
      expect((await t.ctx.meta.auditLog(1))[0]).toMatchObject({
        actor: 'sec@x.org',
        action: 'stakeholder.created',
        subject: 'stakeholder/youth',
      });
      expect(listStakeholders(t.ctx).map((x) => x.slug)).toEqual([
        'civil-society',
        'government',
        'private-sector',
        'technical',
        'youth',
      ]);
    });

    test('the admin command line may add one', async () => {
      expect(await addStakeholder(t.ctx, CLI_ACTOR, { slug: 'parliaments', name: 'Parliaments' })).toMatchObject({
        slug: 'parliaments',
      });
      expect((await t.ctx.meta.auditLog(1))[0]).toMatchObject({ actor: 'cli', action: 'stakeholder.created' });
    });

    test('a duplicate slug, or a name that reads as another group, is 409 stakeholder_exists; nothing changes', async () => {
      const before = await auditSeq();
      expect(await codeOf(() => addStakeholder(t.ctx, sec, { slug: 'civil-society', name: 'Another' }))).toBe(
        'stakeholder_exists',
      );
      expect(await codeOf(() => addStakeholder(t.ctx, sec, { slug: 'cs', name: 'CIVIL SOCIETY' }))).toBe(
        'stakeholder_exists',
      );
      expect(await codeOf(() => addStakeholder(t.ctx, sec, { slug: 'cs', name: 'technical' }))).toBe(
        'stakeholder_exists',
      );
      expect(t.ctx.meta.get('stakeholders', 'civil-society')!.name).toBe('Civil society');
      expect(t.ctx.meta.get('stakeholders', 'cs')).toBeUndefined();
      expect(await auditSeq()).toBe(before);
    });

    test('a bad slug or name is 400; nothing changes', async () => {
      const before = await auditSeq();
      for (const slug of ['', 'Civil', 'civil society', '-x', 'a'.repeat(65), 'none']) {
        expect(await codeOf(() => addStakeholder(t.ctx, sec, { slug, name: 'Fine' }))).toBe('invalid_slug');
      }
      for (const name of ['', '   ', 'x'.repeat(201), 'two\nlines', '<b>', 'None']) {
        expect(await codeOf(() => addStakeholder(t.ctx, sec, { slug: 'fine', name }))).toBe('invalid_name');
      }
      expect(t.ctx.meta.get('stakeholders', 'fine')).toBeUndefined();
      expect(await auditSeq()).toBe(before);
    });

    test('only the secretariat: 403 for a member or the chair, 401 without an actor', async () => {
      const member = actorOf(
        await addUser(t.ctx, CLI_ACTOR, { email: 'mem@x.org', name: 'Mia', roles: ['member', 'chair'] }),
      );
      const before = await auditSeq();
      expect(await codeOf(() => addStakeholder(t.ctx, member, { slug: 'nope', name: 'Nope' }))).toBe('forbidden');
      expect(await codeOf(() => addStakeholder(t.ctx, null, { slug: 'nope', name: 'Nope' }))).toBe('unauthenticated');
      expect(t.ctx.meta.get('stakeholders', 'nope')).toBeUndefined();
      expect(await auditSeq()).toBe(before);
    });

    test('two adds of one slug at once: one wins, the other is 409', async () => {
      const results = await Promise.allSettled([
        addStakeholder(t.ctx, sec, { slug: 'race', name: 'Race A' }),
        addStakeholder(t.ctx, sec, { slug: 'race', name: 'Race B' }),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect((lost.reason as DomainError).code).toBe('stakeholder_exists');
    });
  });

  describe("a user's stakeholder group", () => {
    test('set, keep, clear and set again through setUser; audited as user.updated', async () => {
      const u = await addUser(t.ctx, CLI_ACTOR, { email: 'sue@x.org', name: 'Sue' });
      expect(u.stakeholder).toBeUndefined();
      expect(publicUser(u).stakeholder).toBeNull();

      let v = await setUser(t.ctx, sec, 'sue@x.org', { stakeholder: 'civil-society' });
      expect(v.stakeholder).toBe('civil-society');
      expect(publicUser(v).stakeholder).toBe('civil-society');
      expect((await t.ctx.meta.auditLog(1))[0]).toMatchObject({ action: 'user.updated', subject: 'user/sue@x.org' });

      // Left out: unchanged.
      v = await setUser(t.ctx, sec, 'sue@x.org', { roles: ['member', 'chair'] });
      expect(v.stakeholder).toBe('civil-society');

      v = await setUser(t.ctx, sec, 'sue@x.org', { stakeholder: null });
      expect(publicUser(v).stakeholder).toBeNull();
      expect(getUser(t.ctx, u.id).stakeholder ?? null).toBeNull();

      v = await setUser(t.ctx, sec, 'sue@x.org', { stakeholder: 'technical' });
      expect(getUser(t.ctx, u.id).stakeholder).toBe('technical');
    });

    test('an unknown group is 400 unknown_stakeholder, and nothing of the change is kept', async () => {
      const sue = findUserByEmail(t.ctx, 'sue@x.org')!;
      const before = await auditSeq();
      for (const stakeholder of ['nowhere', 'Technical', 'none', '', '../x']) {
        expect(await codeOf(() => setUser(t.ctx, sec, 'sue@x.org', { name: 'Sue Changed', stakeholder }))).toBe(
          'unknown_stakeholder',
        );
      }
      expect(getUser(t.ctx, sue.id)).toEqual(sue);
      expect(await auditSeq()).toBe(before);
    });

    test('addUser takes a stakeholder group; an unknown one creates nobody', async () => {
      const u = await addUser(t.ctx, CLI_ACTOR, { email: 'gov@x.org', name: 'Gus Gov', stakeholder: 'government' });
      expect(u.stakeholder).toBe('government');
      const none = await addUser(t.ctx, CLI_ACTOR, { email: 'none@x.org', name: 'No One', stakeholder: null });
      expect(none.stakeholder).toBeUndefined();
      const count = t.ctx.meta.all('users').length;
      expect(
        await codeOf(() => addUser(t.ctx, CLI_ACTOR, { email: 'bad@x.org', name: 'Bad', stakeholder: 'atlantis' })),
      ).toBe('unknown_stakeholder');
      expect(t.ctx.meta.all('users')).toHaveLength(count);
    });

    test('by text (CLI, CSV): slug or name in any case; empty or "none" is no group', () => {
      expect(stakeholderFromText(t.ctx, 'private-sector')).toBe('private-sector');
      expect(stakeholderFromText(t.ctx, '  PRIVATE sector ')).toBe('private-sector');
      expect(stakeholderFromText(t.ctx, 'Civil-Society')).toBe('civil-society');
      expect(stakeholderFromText(t.ctx, '')).toBeNull();
      expect(stakeholderFromText(t.ctx, 'None')).toBeNull();
      expect(() => stakeholderFromText(t.ctx, 'Atlantis')).toThrow(
        expect.objectContaining({ code: 'unknown_stakeholder' }),
      );
      expect(checkStakeholder(t.ctx, null)).toBeNull();
      expect(() => checkStakeholder(t.ctx, 'Private sector')).toThrow(
        expect.objectContaining({ code: 'unknown_stakeholder' }),
      );
    });
  });

  describe('the CSV import', () => {
    test('a stakeholder column by slug or name, any case; empty for none', async () => {
      const csv =
        'email,name,roles,groups,stakeholder\ncsv1@x.org,Csv One,member,,civil-society\ncsv2@x.org,Csv Two,member,mag,technical AND ACADEMIC community\ncsv3@x.org,Csv Three,,,\n';
      const users = await importUsers(t.ctx, sec, csv);
      expect(users.map((u) => [u.email, u.stakeholder ?? null])).toEqual([
        ['csv1@x.org', 'civil-society'],
        ['csv2@x.org', 'technical'],
        ['csv3@x.org', null],
      ]);
    });

    test('without the column, as before', async () => {
      const [u] = await importUsers(t.ctx, sec, 'email,name,roles,groups\ncsv4@x.org,Csv Four,member,\n');
      expect(u.stakeholder).toBeUndefined();
    });

    test('an unknown group refuses the whole file, naming the line', async () => {
      const count = t.ctx.meta.all('users').length;
      try {
        await importUsers(
          t.ctx,
          sec,
          'email,name,roles,groups,stakeholder\ncsv5@x.org,Csv Five,member,,government\ncsv6@x.org,Csv Six,member,,Atlantis\n',
        );
        throw new Error('accepted');
      } catch (e) {
        expect((e as DomainError).code).toBe('unknown_stakeholder');
        expect((e as DomainError).message).toMatch(/^Line 3:/);
      }
      expect(t.ctx.meta.all('users')).toHaveLength(count);
      expect(findUserByEmail(t.ctx, 'csv5@x.org')).toBeUndefined();
    });
  });
});
