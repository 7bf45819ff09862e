import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { DomainError } from '../../server/domain/errors.js';
import { GitRepository, RepositoryDamagedError, type Identity } from '../../server/store/git/repository.js';
import { durableFs } from '../../server/store/git/durableFs.js';
import { fsckProblems, git, gitBytes, tmp } from './gitHelpers.js';

describe('store/gitRepository', () => {
  const MAIN = 'refs/heads/main';

  let dir: string;
  let gitdir: string;
  beforeEach(async () => {
    dir = await tmp('ratify-gitrepo-');
    gitdir = path.join(dir, 'git');
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  const alice = (at = '2026-03-01T09:30:00Z', tzOffset?: number): Identity => ({
    name: 'Alice Ölund',
    email: 'alice@example.org',
    at: new Date(at),
    tzOffset,
  });

  /** The error a promise rejects with (fails the test when it resolves). */
  async function rejection(p: Promise<unknown>): Promise<unknown> {
    try {
      await p;
    } catch (e) {
      return e;
    }
    throw new Error('expected the promise to reject');
  }

  async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
    const e = await rejection(p);
    expect(e).toBeInstanceOf(DomainError);
    expect((e as DomainError).code).toBe(code);
    expect((e as DomainError).kind).toBe('conflict');
  }

  /** Commit `text` at `filepath` on top of the current main. */
  async function commitOnMain(
    repo: GitRepository,
    filepath: string,
    text: string,
    message = 'change',
    author = alice(),
  ) {
    const head = await repo.resolve(MAIN);
    return repo.commitFile({ ref: MAIN, expected: head, parent: head, filepath, text, message, author });
  }

  describe('commitFile writes commits stock git reads', () => {
    test('fsck is clean; author, e-mail, date and time zone are what was given', async () => {
      const repo = await GitRepository.open(gitdir);
      await commitOnMain(repo, 'documents/x.md', 'first\n', 'first', alice('2026-03-01T09:30:00Z', 60));
      await commitOnMain(repo, 'documents/x.md', 'second\n', 'second', alice('2026-03-02T23:15:07Z', -300));
      await commitOnMain(repo, 'documents/x.md', 'third\n', 'third', {
        name: 'Bob',
        email: 'bob@example.org',
        at: new Date('2026-03-03T00:00:00Z'),
      });

      expect(await fsckProblems(gitdir)).toEqual([]);
      const log = await git(gitdir, ['log', '--format=%an%x09%ae%x09%aI%x09%cn%x09%ce%x09%cI%x09%s', 'main']);
      expect(log.code).toBe(0);
      expect(log.stdout.trim().split('\n')).toEqual([
        'Bob\tbob@example.org\t2026-03-03T00:00:00+00:00\tBob\tbob@example.org\t2026-03-03T00:00:00+00:00\tthird',
        'Alice Ölund\talice@example.org\t2026-03-02T18:15:07-05:00\tAlice Ölund\talice@example.org\t2026-03-02T18:15:07-05:00\tsecond',
        'Alice Ölund\talice@example.org\t2026-03-01T10:30:00+01:00\tAlice Ölund\talice@example.org\t2026-03-01T10:30:00+01:00\tfirst',
      ]);
    });

    test('a separate committer is recorded as committer, the author as author', async () => {
      const repo = await GitRepository.open(gitdir);
      await repo.commitFile({
        ref: MAIN,
        expected: null,
        parent: null,
        filepath: 'documents/x.md',
        text: 'x\n',
        message: 'imported',
        author: { name: 'Carol', email: 'carol@unknown.invalid', at: new Date('2001-05-06T07:08:09Z') },
        committer: {
          name: 'Ratify',
          email: 'ratify@system.invalid',
          at: new Date('2026-01-01T00:00:00Z'),
          tzOffset: 60,
        },
      });
      const log = await git(gitdir, ['log', '--format=%an|%ae|%aI|%cn|%ce|%cI', 'main']);
      expect(log.stdout.trim()).toBe(
        'Carol|carol@unknown.invalid|2001-05-06T07:08:09+00:00|Ratify|ratify@system.invalid|2026-01-01T01:00:00+01:00',
      );
      expect(await fsckProblems(gitdir)).toEqual([]);
    });

    test('git show prints the exact bytes: non-ASCII text and no trailing newline', async () => {
      const repo = await GitRepository.open(gitdir);
      const texts = [
        '# Règlement\n\nArticle 1 — «Objet». Ünïcödé: 日本語, emoji 🗳️, tab\there.\n',
        'No trailing newline: ç’est la fin',
        'Windows line ends\r\nstay as they are\r\n',
        '',
      ];
      for (const text of texts) {
        const { commit, blob } = await commitOnMain(repo, 'documents/x.md', text);
        expect(await gitBytes(gitdir, ['show', 'main:documents/x.md'])).toEqual(Buffer.from(text, 'utf8'));
        expect(await gitBytes(gitdir, ['cat-file', 'blob', blob])).toEqual(Buffer.from(text, 'utf8'));
        expect((await repo.readFile(commit, 'documents/x.md'))?.text).toBe(text);
      }
      expect(await fsckProblems(gitdir)).toEqual([]);
    });

    test('a file read at a commit is read from the objects once: the commit names it for good', async () => {
      // Pages read a round's or a proposal's text at its commit on every view; each uncached read
      // walked commit, tree and blob out of the pack again.
      const repo = await GitRepository.open(gitdir);
      const first = await commitOnMain(repo, 'documents/x.md', 'the first text\n');
      const second = await commitOnMain(repo, 'documents/x.md', 'the second text\n');
      expect((await repo.readFile(first.commit, 'documents/x.md'))?.text).toBe('the first text\n');
      expect(await repo.readFile(first.commit, 'documents/absent.md')).toBeNull();
      // Without the objects, only what was read before can be read.
      const objects = path.join(gitdir, 'objects');
      await fsp.rename(objects, `${objects}.away`);
      try {
        expect(await repo.readFile(first.commit, 'documents/x.md')).toEqual({
          oid: first.blob,
          text: 'the first text\n',
        });
        expect(await repo.readFile(second.commit, 'documents/x.md')).toBeNull();
      } finally {
        await fsp.rename(`${objects}.away`, objects);
      }
      expect((await repo.readFile(second.commit, 'documents/x.md'))?.text).toBe('the second text\n');
    });

    test('the commit message round-trips through stock git', async () => {
      const repo = await GitRepository.open(gitdir);
      const message = 'Summary line — ünïcode\n\nRatify-Document: x\nRatify-Version: 1\n';
      await commitOnMain(repo, 'documents/x.md', 'x', message);
      expect((await gitBytes(gitdir, ['log', '-1', '--format=%B', 'main'])).toString('utf8')).toBe(`${message}\n`);
      const trailers = await git(gitdir, ['log', '-1', '--format=%(trailers:key=Ratify-Version,valueonly)', 'main']);
      expect(trailers.stdout.trim()).toBe('1');
    });

    test('nested paths keep the other files', async () => {
      const repo = await GitRepository.open(gitdir);
      await commitOnMain(repo, 'documents/a.md', 'A\n');
      await commitOnMain(repo, 'documents/b.md', 'B\n');
      await commitOnMain(repo, 'README.md', 'readme\n');
      await commitOnMain(repo, 'documents/deep/c.md', 'C\n');
      await commitOnMain(repo, 'documents/a.md', 'A2\n');
      const ls = await git(gitdir, ['ls-tree', '-r', '--name-only', 'main']);
      expect(ls.stdout.trim().split('\n').sort()).toEqual([
        'README.md',
        'documents/a.md',
        'documents/b.md',
        'documents/deep/c.md',
      ]);
      expect((await gitBytes(gitdir, ['show', 'main:documents/a.md'])).toString()).toBe('A2\n');
      expect((await gitBytes(gitdir, ['show', 'main:documents/b.md'])).toString()).toBe('B\n');
      expect(await fsckProblems(gitdir)).toEqual([]);
    });

    test('parents form a first-parent chain that git agrees with', async () => {
      const repo = await GitRepository.open(gitdir);
      const oids: string[] = [];
      for (let i = 0; i < 5; i++) oids.push((await commitOnMain(repo, 'documents/x.md', `v${i}\n`)).commit);
      const revs = await git(gitdir, ['rev-list', '--first-parent', 'main']);
      expect(revs.stdout.trim().split('\n')).toEqual([...oids].reverse());
      const walked: string[] = [];
      for await (const c of repo.firstParents(oids[4], oids[1])) walked.push(c.oid);
      expect(walked).toEqual([oids[4], oids[3], oids[2]]);
    });
  });

  describe('compare-and-swap on refs', () => {
    test('a wrong `expected` is refused with stale_head and the ref does not move', async () => {
      const repo = await GitRepository.open(gitdir);
      const { commit: c1 } = await commitOnMain(repo, 'documents/x.md', 'one\n');
      const { commit: c2 } = await commitOnMain(repo, 'documents/x.md', 'two\n');
      await expectCode(
        repo.commitFile({
          ref: MAIN,
          expected: c1,
          parent: c1,
          filepath: 'documents/x.md',
          text: 'stale\n',
          message: 'stale',
          author: alice(),
        }),
        'stale_head',
      );
      expect(await repo.resolve(MAIN)).toBe(c2);
      expect((await git(gitdir, ['rev-parse', 'main'])).stdout.trim()).toBe(c2);
      // Expected a ref that does not exist: also stale.
      await expectCode(
        repo.commitFile({
          ref: MAIN,
          expected: '0'.repeat(40),
          parent: c2,
          filepath: 'documents/x.md',
          text: 'x\n',
          message: 'x',
          author: alice(),
        }),
        'stale_head',
      );
      expect(await repo.resolve(MAIN)).toBe(c2);
    });

    test('expected: null on an existing ref is stale_head', async () => {
      const repo = await GitRepository.open(gitdir);
      const { commit } = await commitOnMain(repo, 'documents/x.md', 'one\n');
      await expectCode(
        repo.commitFile({
          ref: MAIN,
          expected: null,
          parent: null,
          filepath: 'documents/x.md',
          text: 'root\n',
          message: 'root',
          author: alice(),
        }),
        'stale_head',
      );
      expect(await repo.resolve(MAIN)).toBe(commit);
    });

    test('expected: a head on a ref that does not exist is stale_head and creates nothing', async () => {
      const repo = await GitRepository.open(gitdir);
      const { commit } = await commitOnMain(repo, 'documents/x.md', 'one\n');
      const ref = 'refs/heads/proposals/1';
      await expectCode(
        repo.commitFile({
          ref,
          expected: commit,
          parent: commit,
          filepath: 'documents/x.md',
          text: 'p\n',
          message: 'p',
          author: alice(),
        }),
        'stale_head',
      );
      expect(await repo.resolve(ref)).toBeNull();
    });

    test('20 concurrent commits from the same head: exactly one wins, 19 are stale_head', async () => {
      const repo = await GitRepository.open(gitdir);
      const { commit: base } = await commitOnMain(repo, 'documents/x.md', 'base\n');
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          repo.commitFile({
            ref: MAIN,
            expected: base,
            parent: base,
            filepath: 'documents/x.md',
            text: `writer ${i}\n`,
            message: `writer ${i}`,
            author: alice(),
          }),
        ),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(19);
      for (const r of lost) {
        expect(r.reason).toBeInstanceOf(DomainError);
        expect((r.reason as DomainError).code).toBe('stale_head');
      }
      const winner = (won[0] as PromiseFulfilledResult<{ commit: string }>).value.commit;
      expect(await repo.resolve(MAIN)).toBe(winner);
      const revs = await git(gitdir, ['rev-list', 'main']);
      expect(revs.stdout.trim().split('\n')).toEqual([winner, base]);
      expect(await fsckProblems(gitdir)).toEqual([]);
    });

    test('20 concurrent writers that retry on stale_head: every commit lands, none is lost', async () => {
      const repo = await GitRepository.open(gitdir);
      await commitOnMain(repo, 'documents/x.md', 'base\n', 'base');
      let retries = 0;
      const writer = async (i: number) => {
        for (;;) {
          const head = await repo.resolve(MAIN);
          // Each writer edits its own file so the result shows every writer's change.
          try {
            const { commit } = await repo.commitFile({
              ref: MAIN,
              expected: head,
              parent: head,
              filepath: `documents/w${i}.md`,
              text: `writer ${i}\n`,
              message: `writer ${i}`,
              author: alice(),
            });
            return commit;
          } catch (e) {
            if (e instanceof DomainError && e.code === 'stale_head') {
              retries++;
              continue;
            }
            throw e;
          }
        }
      };
      const commits = await Promise.all(Array.from({ length: 20 }, (_, i) => writer(i)));
      expect(new Set(commits).size).toBe(20);

      const log = await git(gitdir, ['log', '--format=%H%x09%s', 'main']);
      const lines = log.stdout.trim().split('\n');
      expect(lines).toHaveLength(21);
      const subjects = lines.map((l) => l.split('\t')[1]);
      expect(subjects.filter((s) => s.startsWith('writer ')).sort()).toEqual(
        Array.from({ length: 20 }, (_, i) => `writer ${i}`).sort(),
      );
      expect(new Set(lines.map((l) => l.split('\t')[0]))).toEqual(new Set([...commits, lines.at(-1)!.split('\t')[0]]));
      // Linear history: every commit has one parent (but the root).
      const merges = await git(gitdir, ['rev-list', '--min-parents=2', 'main']);
      expect(merges.stdout.trim()).toBe('');
      const ls = await git(gitdir, ['ls-tree', '-r', '--name-only', 'main']);
      expect(ls.stdout.trim().split('\n')).toHaveLength(21);
      expect(await fsckProblems(gitdir)).toEqual([]);
      // The writers really did collide (otherwise the test proves nothing about CAS).
      expect(retries).toBeGreaterThan(0);
    });
  });

  describe('createTag', () => {
    test('an annotated tag stock git sees, refused the second time with tag_exists', async () => {
      const repo = await GitRepository.open(gitdir);
      const { commit } = await commitOnMain(repo, 'documents/x.md', 'x\n');
      const oid = await repo.createTag({
        name: 'terms-of-reference/v1',
        object: commit,
        message: 'Adopted at the March meeting',
        tagger: alice('2026-03-01T09:30:00Z', 60),
      });

      expect((await git(gitdir, ['cat-file', '-t', 'refs/tags/terms-of-reference/v1'])).stdout.trim()).toBe('tag');
      expect((await git(gitdir, ['rev-parse', 'refs/tags/terms-of-reference/v1'])).stdout.trim()).toBe(oid);
      expect((await git(gitdir, ['rev-parse', 'terms-of-reference/v1^{commit}'])).stdout.trim()).toBe(commit);
      const list = await git(gitdir, ['tag', '-n']);
      expect(list.stdout).toMatch(/^terms-of-reference\/v1\s+Adopted at the March meeting$/m);
      const tagger = await git(gitdir, [
        'for-each-ref',
        '--format=%(taggername)|%(taggeremail)|%(taggerdate:iso-strict)',
        'refs/tags/terms-of-reference/v1',
      ]);
      expect(tagger.stdout.trim()).toBe('Alice Ölund|<alice@example.org>|2026-03-01T10:30:00+01:00');
      expect(await fsckProblems(gitdir)).toEqual([]);

      const info = await repo.readTag('terms-of-reference/v1');
      expect(info?.object).toBe(commit);
      expect(info?.message.trim()).toBe('Adopted at the March meeting');

      await expectCode(
        repo.createTag({ name: 'terms-of-reference/v1', object: commit, message: 'again', tagger: alice() }),
        'tag_exists',
      );
      expect((await git(gitdir, ['rev-parse', 'refs/tags/terms-of-reference/v1'])).stdout.trim()).toBe(oid);
      expect(await repo.listTags()).toEqual(['terms-of-reference/v1']);
    });

    test('concurrent creations of one tag: one wins, the rest are tag_exists', async () => {
      const repo = await GitRepository.open(gitdir);
      const { commit } = await commitOnMain(repo, 'documents/x.md', 'x\n');
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          repo.createTag({ name: 'x/v1', object: commit, message: `attempt ${i}`, tagger: alice() }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as DomainError).code).toBe('tag_exists');
    });
  });

  describe('createBranch', () => {
    test('creates a branch once, then ref_exists', async () => {
      const repo = await GitRepository.open(gitdir);
      const { commit } = await commitOnMain(repo, 'documents/x.md', 'x\n');
      await repo.createBranch('refs/heads/proposals/7', commit);
      expect((await git(gitdir, ['rev-parse', 'proposals/7'])).stdout.trim()).toBe(commit);
      await expectCode(repo.createBranch('refs/heads/proposals/7', commit), 'ref_exists');
      expect(await repo.listBranches('proposals/')).toEqual(['proposals/7']);
    });
  });

  describe('packing refs', () => {
    /** Every ref as stock git lists it: name → object. */
    const stockRefs = async () =>
      new Map(
        (await git(gitdir, ['for-each-ref', '--format=%(refname) %(objectname)'])).stdout
          .trim()
          .split('\n')
          .map((l) => l.split(' ') as [string, string]),
      );
    const looseRefFiles = async () =>
      (await fsp.readdir(path.join(gitdir, 'refs'), { recursive: true, withFileTypes: true }))
        .filter((e) => e.isFile())
        .map((e) => path.relative(gitdir, path.join(e.parentPath, e.name)));

    test('pack() puts every ref into packed-refs, as git pack-refs does: same values, no loose files, fsck clean, git reads them', async () => {
      const repo = await GitRepository.open(gitdir);
      const { commit } = await commitOnMain(repo, 'documents/x.md', 'x\n');
      for (let i = 1; i <= 30; i++) await repo.createBranch(`refs/heads/proposals/${i}`, commit);
      await repo.createTag({ name: 'x/v1', object: commit, message: 'v1', tagger: alice() });
      const before = await stockRefs();
      expect(before.size).toBe(32);
      const report = await repo.pack();
      expect(report).toMatchObject({ refsPacked: 32, refsLooseRemoved: 32 });
      expect(await looseRefFiles()).toEqual([]);
      const text = await fsp.readFile(path.join(gitdir, 'packed-refs'), 'utf8');
      const names = text
        .split('\n')
        .filter((l) => /^[0-9a-f]{40} /.test(l))
        .map((l) => l.slice(41));
      expect(names).toEqual([...names].sort());
      expect(await stockRefs()).toEqual(before);
      expect(await fsckProblems(gitdir)).toEqual([]);
      expect((await git(gitdir, ['log', '--format=%H', 'proposals/7'])).stdout.trim()).toBe(commit);
      // Ratify reads them back, moves one (loose again, over the packed value), and opens after.
      expect(await repo.resolve('refs/heads/proposals/7')).toBe(commit);
      const next = await commitOnMain(repo, 'documents/x.md', 'y\n');
      await repo.moveRef('refs/heads/proposals/7', commit, next.commit);
      expect((await git(gitdir, ['rev-parse', 'proposals/7'])).stdout.trim()).toBe(next.commit);
      await expectCode(repo.moveRef('refs/heads/proposals/8', next.commit, commit), 'stale_head');
      await repo.deleteRef('refs/heads/proposals/9', commit);
      expect(await repo.resolve('refs/heads/proposals/9')).toBeNull();
      expect(await repo.listBranches('proposals/')).toHaveLength(29);
      await GitRepository.open(gitdir);
      // A second packing takes the moved ref in too; nothing to do the third time.
      expect(await repo.pack()).toMatchObject({ refsPacked: 31, refsLooseRemoved: 2 });
      expect(await repo.pack()).toMatchObject({ refsLooseRemoved: 0 });
      expect(await fsckProblems(gitdir)).toEqual([]);
    });

    test('refs moved while their loose files are removed keep their new values', async () => {
      const repo = await GitRepository.open(gitdir);
      const { commit } = await commitOnMain(repo, 'documents/x.md', 'x\n');
      const second = (await commitOnMain(repo, 'documents/x.md', 'z\n')).commit;
      for (let i = 1; i <= 100; i++) await repo.createBranch(`refs/heads/proposals/${i}`, commit);
      // 101 loose refs are removed in batches of 64, each under the lock: moves slip in between.
      const packing = repo.packRefs();
      const moved = await Promise.all(
        Array.from({ length: 20 }, async (_, k) => {
          const ref = `refs/heads/proposals/${1 + k * 5}`;
          await repo.moveRef(ref, commit, second);
          return ref;
        }),
      );
      // The moves queued behind the write of packed-refs: their loose files no longer hold what
      // was packed, so they stay (and win over packed-refs, as in git).
      expect((await packing).looseRemoved).toBe(101 - 20); // main and 100 proposals, less the 20 moved
      const seen = await stockRefs();
      for (let i = 1; i <= 100; i++) {
        const ref = `refs/heads/proposals/${i}`;
        expect(await repo.resolve(ref)).toBe(moved.includes(ref) ? second : commit);
        expect(seen.get(ref)).toBe(moved.includes(ref) ? second : commit);
      }
      await GitRepository.open(gitdir);
      expect(await fsckProblems(gitdir)).toEqual([]);
    });

    test('the open and refs resolved together after it read packed-refs once, and each gets its own value', async () => {
      const repo = await GitRepository.open(gitdir);
      const { commit } = await commitOnMain(repo, 'documents/x.md', 'x\n');
      const names = Array.from({ length: 20 }, (_, i) => `x/v${i}`);
      const tags = new Map<string, string>();
      for (const name of names)
        tags.set(`refs/tags/${name}`, await repo.createTag({ name, object: commit, message: name, tagger: alice() }));
      await repo.pack();
      const reads = jest.spyOn(
        GitRepository.prototype as unknown as { readPackedRefs: () => unknown },
        'readPackedRefs',
      );
      try {
        // The open's check of every ref keeps what it parsed for the resolves and listings after.
        const again = await GitRepository.open(gitdir);
        expect(await again.listRefs('refs/tags')).toEqual([...tags.keys()].sort());
        const refs = [...tags.keys()];
        expect(await Promise.all(refs.map((r) => again.resolve(r)))).toEqual(refs.map((r) => tags.get(r)));
        expect(reads).toHaveBeenCalledTimes(1);
      } finally {
        reads.mockRestore();
      }
    });

    test('a ref deleted while the refs are read for packing does not come back', async () => {
      const repo = await GitRepository.open(gitdir);
      const { commit } = await commitOnMain(repo, 'documents/x.md', 'x\n');
      for (let i = 1; i <= 60; i++) await repo.createBranch(`refs/heads/proposals/${i}`, commit);
      // The refs are read without the lock: the deletion lands while they are being read.
      const packing = repo.packRefs();
      await repo.deleteRef('refs/heads/proposals/50', commit);
      await packing;
      expect(await repo.resolve('refs/heads/proposals/50')).toBeNull();
      expect((await git(gitdir, ['rev-parse', '--verify', '-q', 'refs/heads/proposals/50'])).code).not.toBe(0);
      expect(await repo.listBranches('proposals/')).toHaveLength(59);
    });
  });

  describe('open refuses a damaged repository', () => {
    async function damagedOpen(
      damage: (mainFile: string, head: string) => Promise<void>,
    ): Promise<RepositoryDamagedError> {
      const repo = await GitRepository.open(gitdir);
      const { commit } = await commitOnMain(repo, 'documents/x.md', 'x\n');
      await repo.createTag({ name: 'x/v1', object: commit, message: 'v1', tagger: alice() });
      await damage(path.join(gitdir, 'refs', 'heads', 'main'), commit);
      const e = await rejection(GitRepository.open(gitdir));
      expect(e).toBeInstanceOf(RepositoryDamagedError);
      const problems = (e as RepositoryDamagedError).problems;
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain('refs/heads/main');
      return e as RepositoryDamagedError;
    }

    test('a fresh repository opens, and opening again is fine', async () => {
      await GitRepository.open(gitdir);
      const again = await GitRepository.open(gitdir);
      expect(await again.resolve(MAIN)).toBeNull();
      expect(await fsckProblems(gitdir)).toEqual([]);
    });

    test('an empty ref file', async () => {
      await damagedOpen((file) => fsp.writeFile(file, ''));
    });

    test('a ref file holding garbage', async () => {
      await damagedOpen((file) => fsp.writeFile(file, 'this is not an object id\n'));
    });

    test('a ref naming an object that does not exist', async () => {
      await damagedOpen((file) => fsp.writeFile(file, `${'1234567890'.repeat(4)}\n`));
    });

    test('a ref whose commit object was removed', async () => {
      await damagedOpen(async (_file, head) => {
        await fsp.rm(path.join(gitdir, 'objects', head.slice(0, 2), head.slice(2)));
      });
    });

    test('a ref whose commit object is a 0-byte file', async () => {
      await damagedOpen(async (_file, head) => {
        const obj = path.join(gitdir, 'objects', head.slice(0, 2), head.slice(2));
        await fsp.chmod(obj, 0o644);
        await fsp.writeFile(obj, '');
      });
    });

    test('a ref whose commit object is garbage (not zlib data)', async () => {
      await damagedOpen(async (_file, head) => {
        const obj = path.join(gitdir, 'objects', head.slice(0, 2), head.slice(2));
        await fsp.chmod(obj, 0o644);
        await fsp.writeFile(obj, 'not a git object at all');
      });
    });

    test('a symbolic ref to a good ref opens; one to a missing ref is refused', async () => {
      const repo = await GitRepository.open(gitdir);
      await commitOnMain(repo, 'documents/x.md', 'x\n');
      await fsp.writeFile(path.join(gitdir, 'refs', 'heads', 'alias'), 'ref: refs/heads/main\n');
      await GitRepository.open(gitdir);
      await fsp.writeFile(path.join(gitdir, 'refs', 'heads', 'alias'), 'ref: refs/heads/nothing\n');
      const e = await rejection(GitRepository.open(gitdir));
      expect(e).toBeInstanceOf(RepositoryDamagedError);
      expect((e as RepositoryDamagedError).problems).toEqual([expect.stringContaining('refs/heads/alias')]);
    });

    test('packed refs and packed objects are verified from packed-refs and the pack index', async () => {
      const repo = await GitRepository.open(gitdir);
      const { commit } = await commitOnMain(repo, 'documents/x.md', 'x\n');
      await repo.createTag({ name: 'x/v1', object: commit, message: 'v1', tagger: alice() });
      await repo.pack({ full: true });
      expect(await fsckProblems(gitdir)).toEqual([]);
      // Stock git moves the refs into packed-refs; the loose ones are gone.
      expect((await git(gitdir, ['pack-refs', '--all'])).code).toBe(0);
      await expect(fsp.access(path.join(gitdir, 'refs', 'heads', 'main'))).rejects.toThrow();
      await GitRepository.open(gitdir);
      // A packed ref naming an object no pack or loose file has is refused.
      const packedRefs = await fsp.readFile(path.join(gitdir, 'packed-refs'), 'utf8');
      await fsp.writeFile(path.join(gitdir, 'packed-refs'), packedRefs.replace(commit, '1234567890'.repeat(4)));
      const e = await rejection(GitRepository.open(gitdir));
      expect((e as RepositoryDamagedError).problems).toEqual([expect.stringContaining('refs/heads/main')]);
    });

    test('hasObject finds an object loose and packed, and not one that is not there', async () => {
      const repo = await GitRepository.open(gitdir);
      const { commit } = await commitOnMain(repo, 'documents/x.md', 'x\n');
      const missing = '1234567890'.repeat(4);
      const loose = path.join(gitdir, 'objects', commit.slice(0, 2), commit.slice(2));
      await fsp.access(loose);
      expect(await repo.hasObject(commit)).toBe(true);
      expect(await repo.hasObject(missing)).toBe(false);
      await repo.pack({ full: true });
      await expect(fsp.access(loose)).rejects.toThrow();
      expect(await repo.hasObject(commit)).toBe(true);
      expect(await repo.hasObject(missing)).toBe(false);
      // A folder where a loose object's file would be is not an object.
      await fsp.mkdir(path.join(gitdir, 'objects', missing.slice(0, 2), missing.slice(2)), { recursive: true });
      expect(await repo.hasObject(missing)).toBe(false);
    });

    test('leftover temporary files from a killed writer are swept at open and not seen as refs', async () => {
      const repo = await GitRepository.open(gitdir);
      await commitOnMain(repo, 'documents/x.md', 'x\n');
      const tmpDir = path.join(gitdir, 'ratify-tmp');
      await fsp.mkdir(tmpDir, { recursive: true });
      await fsp.writeFile(path.join(tmpDir, '123-abc.tmp'), 'half');
      await GitRepository.open(gitdir);
      expect(await fsp.readdir(tmpDir)).toEqual([]);
      expect(await fsckProblems(gitdir)).toEqual([]);
    });
  });

  describe('the fs isomorphic-git writes through (durableFs)', () => {
    // isomorphic-git probes an fs by calling readFile() with no arguments, twice per git call; the
    // probe is answered with a settled promise (node would make an error with a stack trace).
    test('answers the promise probe without an error, and reads and misses as node does', async () => {
      const fs = durableFs(path.join(dir, 'tmp')).promises as unknown as {
        readFile(...a: unknown[]): Promise<unknown>;
      };
      await expect(fs.readFile()).resolves.toBeUndefined();
      await fsp.writeFile(path.join(dir, 'a'), 'text');
      await expect(fs.readFile(path.join(dir, 'a'), 'utf8')).resolves.toBe('text');
      await expect(fs.readFile(path.join(dir, 'a'))).resolves.toEqual(Buffer.from('text'));
      await expect(fs.readFile(path.join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    });
  });
});
