import { afterEach, describe, expect, test } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { DomainError } from '../../server/domain/errors.js';
import { formatMessage, versionTrailers } from '../../server/domain/versionMessage.js';
import { MAIN } from '../../server/services/context.js';
import { publishVersion } from '../../server/services/publishVersion.js';
import { openTestData, projectRoot, tempDir, type TestData } from '../helpers/data.js';
import { fsckProblems, git } from './gitHelpers.js';

describe('store/repairFromMain', () => {
  const TOR = 'terms-of-reference';
  const TOR_TITLE = 'Terms of Reference of the Multistakeholder Advisory Group';

  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  async function fresh(): Promise<TestData> {
    const t = await openTestData();
    cleanups.push(() => fsp.rm(t.dataDir, { recursive: true, force: true }));
    return t;
  }
  async function reopen(dataDir: string, seed = false): Promise<TestData> {
    const t = await openTestData({ dataDir, seed });
    cleanups.push(() => t.close());
    return t;
  }
  const gitdir = (t: TestData) => path.join(t.dataDir, 'git');

  const bob = (at = '2026-02-01T12:00:00Z') => ({
    name: 'Bob Ĉefo',
    email: 'bob@example.org',
    at: new Date(at),
    tzOffset: 60,
  });

  /** The git half of a publication of `slug` version `number`, as publishVersion writes it — and then the process dies. */
  async function commitVersionOnly(
    t: TestData,
    slug: string,
    number: number,
    text: string,
    summary: string,
    extra: [string, string][] = [],
  ) {
    const head = await t.ctx.repo.resolve(MAIN);
    const doc = t.ctx.meta.get('documents', slug);
    const message = formatMessage(summary, [
      ...versionTrailers({ slug, number, title: doc?.title ?? slug, group: doc?.group ?? 'mag' }),
      ...extra,
    ]);
    return t.ctx.repo.commitFile({
      ref: MAIN,
      expected: head,
      parent: head,
      filepath: `documents/${slug}.md`,
      text,
      message,
      author: bob(),
    });
  }

  describe('repairFromMain repairs the store from git after a crash', () => {
    test('a version committed on main but never written to the store is indexed, tagged and made latest at the next start', async () => {
      const t = await fresh();
      expect(t.ctx.meta.get('documents', TOR)?.latest).toBe(1);
      const text = '# Terms of Reference\n\nAmended — version 2.\n';
      const { commit, blob } = await commitVersionOnly(t, TOR, 2, text, 'Amend the mandate', [
        ['Ratify-Proposals', '3, 5'],
        ['Ratify-Round', '2'],
      ]);
      // Nothing in the store, no tag: the process "died" here.
      expect(t.ctx.meta.get('versions', `${TOR}/2`)).toBeUndefined();
      expect(await t.ctx.repo.readTag(`${TOR}/v2`)).toBeNull();
      await t.close();

      const r = await reopen(t.dataDir);
      const v = r.ctx.meta.get('versions', `${TOR}/2`);
      expect(v).toEqual({
        document: TOR,
        number: 2,
        commit,
        blob,
        publishedAt: '2026-02-01T12:00:00.000Z',
        author: { name: 'Bob Ĉefo', email: 'bob@example.org' },
        summary: 'Amend the mandate',
        proposals: [3, 5],
        round: 2,
        consolidation: null,
      });
      expect(r.ctx.meta.get('documents', TOR)).toMatchObject({
        slug: TOR,
        title: TOR_TITLE,
        group: 'wg-strategy',
        latest: 2,
      });
      expect(r.ctx.meta.get('versions', `${TOR}/1`)).toBeDefined();
      expect(r.ctx.meta.get('system', 'main')?.indexedMain).toBe(commit);

      // The tag is back, and stock git sees it on the right commit.
      const tag = await r.ctx.repo.readTag(`${TOR}/v2`);
      expect(tag?.object).toBe(commit);
      expect((await git(gitdir(r), ['cat-file', '-t', `refs/tags/${TOR}/v2`])).stdout.trim()).toBe('tag');
      expect((await git(gitdir(r), ['rev-parse', `${TOR}/v2^{commit}`])).stdout.trim()).toBe(commit);
      expect(await fsckProblems(gitdir(r))).toEqual([]);
      expect((await r.ctx.meta.auditLog(5)).map((e) => e.action)).toContain('version.indexed');

      // The repaired index is not "behind": the next publication is version 3 on top of it.
      const v3 = await publishVersion(r.ctx, {
        slug: TOR,
        title: TOR_TITLE,
        group: 'wg-strategy',
        text: 'v3\n',
        summary: 'Third',
        author: bob('2026-02-02T00:00:00Z'),
      });
      expect(v3.number).toBe(3);
      expect((await git(gitdir(r), ['rev-parse', `${MAIN}~1`])).stdout.trim()).toBe(commit);
    });

    test('a crash after the tag was written (but before the store write) is repaired too, keeping the tag', async () => {
      const t = await fresh();
      const { commit } = await commitVersionOnly(t, TOR, 2, 'v2\n', 'Second');
      const tagOid = await t.ctx.repo.createTag({
        name: `${TOR}/v2`,
        object: commit,
        message: 'Second',
        tagger: bob(),
      });
      await t.close();

      const r = await reopen(t.dataDir);
      expect(r.ctx.meta.get('versions', `${TOR}/2`)?.commit).toBe(commit);
      expect(r.ctx.meta.get('documents', TOR)?.latest).toBe(2);
      expect((await r.ctx.repo.readTag(`${TOR}/v2`))?.oid).toBe(tagOid);
    });

    test('several missing commits of several documents are indexed in order', async () => {
      const t = await fresh();
      const a = await commitVersionOnly(t, TOR, 2, 'tor 2\n', 'ToR two');
      const b = await commitVersionOnly(t, 'workshop-process', 2, 'wp 2\n', 'WP two');
      // A commit without version trailers (made by hand) is read past, not indexed.
      const head = await t.ctx.repo.resolve(MAIN);
      const c = await t.ctx.repo.commitFile({
        ref: MAIN,
        expected: head,
        parent: head,
        filepath: 'README.md',
        text: 'hand\n',
        message: 'A hand-made commit',
        author: bob(),
      });
      const d = await commitVersionOnly(t, TOR, 3, 'tor 3\n', 'ToR three');
      await t.close();

      const r = await reopen(t.dataDir);
      expect(r.ctx.meta.get('versions', `${TOR}/2`)?.commit).toBe(a.commit);
      expect(r.ctx.meta.get('versions', `${TOR}/3`)?.commit).toBe(d.commit);
      expect(r.ctx.meta.get('versions', 'workshop-process/2')?.commit).toBe(b.commit);
      expect(r.ctx.meta.get('documents', TOR)?.latest).toBe(3);
      expect(r.ctx.meta.get('documents', 'workshop-process')?.latest).toBe(2);
      expect(r.ctx.meta.all('versions')).toHaveLength(5);
      expect(r.ctx.meta.get('system', 'main')?.indexedMain).toBe(d.commit);
      expect((await r.ctx.repo.listTags()).sort()).toEqual([
        `${TOR}/v1`,
        `${TOR}/v2`,
        `${TOR}/v3`,
        'workshop-process/v1',
        'workshop-process/v2',
      ]);
      expect(c.commit).not.toBe(d.commit);
      expect(await fsckProblems(gitdir(r))).toEqual([]);
    });

    test('a running server refuses to publish on a main that moved behind its back (index_behind)', async () => {
      const t = await fresh();
      cleanups.push(() => t.close());
      await commitVersionOnly(t, TOR, 2, 'v2\n', 'Second');
      let err: unknown;
      try {
        await publishVersion(t.ctx, {
          slug: TOR,
          title: TOR_TITLE,
          group: 'wg-strategy',
          text: 'x\n',
          summary: 'x',
          author: bob(),
        });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DomainError);
      expect((err as DomainError).code).toBe('index_behind');
    });
  });

  describe('seeding', () => {
    test('a fresh data folder gets version 1 of each document, by the system identity, exactly once', async () => {
      const t = await fresh();
      const docs = JSON.parse(await fsp.readFile(path.join(projectRoot, 'documents', 'manifest.json'), 'utf8'))
        .documents as { slug: string; file: string }[];
      const check = async (d: TestData) => {
        expect(
          d.ctx.meta
            .all('versions')
            .map((v) => `${v.document}/${v.number}`)
            .sort(),
        ).toEqual(docs.map((x) => `${x.slug}/1`).sort());
        for (const x of docs) expect(d.ctx.meta.get('documents', x.slug)?.latest).toBe(1);
        const log = await git(gitdir(d), ['log', '--format=%an <%ae>', 'main']);
        expect(log.stdout.trim().split('\n')).toEqual(docs.map(() => 'Ratify <ratify@system.invalid>'));
        expect((await d.ctx.repo.listTags()).sort()).toEqual(docs.map((x) => `${x.slug}/v1`).sort());
        for (const x of docs) {
          const shown = await git(gitdir(d), ['show', `main:documents/${x.slug}.md`]);
          expect(shown.stdout).toBe(await fsp.readFile(path.join(projectRoot, 'documents', x.file), 'utf8'));
        }
        expect(await fsckProblems(gitdir(d))).toEqual([]);
      };
      await check(t);
      await t.close();

      // Reopen with seeding on: nothing is seeded again.
      const r = await reopen(t.dataDir, true);
      await check(r);
      await r.close();
      const r2 = await reopen(t.dataDir, true);
      await check(r2);
      expect((await r2.ctx.meta.auditLog(1000)).filter((e) => e.action === 'seed.completed')).toHaveLength(1);
    });

    test('a seed interrupted half-way is finished at the next start without duplicating what was done', async () => {
      // A documents folder of our own with two documents; the first is published, then the process "dies".
      const docsDir = await tempDir('ratify-docs-');
      cleanups.push(() => fsp.rm(docsDir, { recursive: true, force: true }));
      await fsp.writeFile(
        path.join(docsDir, 'manifest.json'),
        JSON.stringify({
          groups: [{ slug: 'mag', name: 'MAG' }],
          documents: [
            { slug: 'one', title: 'One', group: 'mag', file: 'one.md' },
            { slug: 'two', title: 'Two', group: 'mag', file: 'two.md' },
          ],
        }),
      );
      await fsp.writeFile(path.join(docsDir, 'one.md'), '# One\n');
      await fsp.writeFile(path.join(docsDir, 'two.md'), '# Two\n');

      const t = await openTestData({ seed: false, documentsDir: docsDir });
      cleanups.push(() => fsp.rm(t.dataDir, { recursive: true, force: true }));
      await t.ctx.meta.write({
        actor: null,
        at: new Date(),
        events: [],
        puts: { groups: { mag: { slug: 'mag', name: 'MAG', createdAt: '' } } },
      });
      await publishVersion(t.ctx, {
        slug: 'one',
        title: 'One',
        group: 'mag',
        text: '# One\n',
        summary: 'Version 1',
        author: { name: 'Ratify', email: 'ratify@system.invalid', at: new Date() },
      });
      await t.close();

      const r = await openTestData({ dataDir: t.dataDir, documentsDir: docsDir });
      cleanups.push(() => r.close());
      expect(
        r.ctx.meta
          .all('versions')
          .map((v) => `${v.document}/${v.number}`)
          .sort(),
      ).toEqual(['one/1', 'two/1']);
      const log = await git(gitdir(r), ['log', '--format=%s', 'main']);
      expect(log.stdout.trim().split('\n')).toHaveLength(2);
      expect((await r.ctx.repo.listTags()).sort()).toEqual(['one/v1', 'two/v1']);
    });
  });
});
