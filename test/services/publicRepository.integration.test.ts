/**
 * The public repository (issue 16, item 1): `DATA_DIR/public.git` holds `main` and the version
 * tags only, is brought up in the same step as each publication and at start, and is cloned
 * with stock git from its folder and over HTTP (git's dumb protocol, served by the app) without
 * any object of a draft. Drafts live under `refs/ratify/`, moved there once at start.
 */
import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import type { Server } from 'node:http';
import * as path from 'node:path';
import { createApp } from '../../server/app.js';
import { documentPath } from '../../server/domain/slug.js';
import { MAIN } from '../../server/services/context.js';
import { createProposal, proposalRef, reviseProposal } from '../../server/services/proposals/proposals.js';
import { publishVersion } from '../../server/services/publishVersion.js';
import { GitRepository } from '../../server/store/git/repository.js';
import { openTestData, tempDir, testClock, type TestData } from '../helpers/data.js';
import { committee, publishedText, TOR } from '../helpers/people.js';
import { fsckProblems, git } from '../store/gitHelpers.js';

describe('services/publicRepository.integration', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  const DRAFT_SENTENCE = 'This unshared draft sentence must never leave the private repository. ';

  /** Stock git outside any repository (clone), UTF-8 text; throws on failure. */
  function run(args: string[], cwd?: string): Promise<string> {
    return new Promise((resolve, reject) =>
      execFile(
        'git',
        args,
        {
          cwd,
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
          env: {
            ...process.env,
            GIT_CONFIG_NOSYSTEM: '1',
            GIT_CONFIG_GLOBAL: '/dev/null',
            LC_ALL: 'C',
            GIT_TERMINAL_PROMPT: '0',
          },
        },
        (err, stdout, stderr) => (err ? reject(new Error(`git ${args.join(' ')}: ${stderr}`)) : resolve(stdout)),
      ),
    );
  }

  async function open(dataDir?: string): Promise<TestData> {
    const t = await openTestData({ clock: testClock('2026-03-01T09:00:00Z'), dataDir });
    // Closed once: by the test (to start again on the same folder) or at the end.
    let closing: Promise<void> | null = null;
    const close = () => (closing ??= t.close());
    cleanups.push(async () => {
      await close();
      if (!dataDir) await fsp.rm(t.dataDir, { recursive: true, force: true });
    });
    return { ...t, close };
  }

  /** A published data folder with one more version (of TOR) and an unshared draft; returns the draft's blob. */
  async function withDraft(t: TestData) {
    const who = await committee(t.ctx);
    const base = await publishedText(t.ctx);
    await publishVersion(t.ctx, {
      slug: TOR,
      title: 'Terms of reference',
      group: 'mag',
      text: `${base}\nA published addition.\n`,
      summary: 'An addition',
      author: { name: 'Chair Chen', email: 'chen@example.org', at: t.ctx.clock() },
    });
    const p = await createProposal(t.ctx, who.drafter.actor, TOR, {
      title: 'Secret idea',
      text: `${DRAFT_SENTENCE}${await publishedText(t.ctx)}`,
    });
    const blob = (
      await git(path.join(t.dataDir, 'git'), ['rev-parse', `${proposalRef(p.id)}:${documentPath(TOR)}`])
    ).stdout.trim();
    return { who, p, blob };
  }

  /** What a clone holds: its tags and the commit each names, main, and every object id. */
  async function cloneContents(dir: string) {
    const tags = (await run(['for-each-ref', '--format=%(refname:short) %(*objectname)', 'refs/tags'], dir))
      .trim()
      .split('\n')
      .filter(Boolean)
      .sort();
    const refs = (await run(['for-each-ref', '--format=%(refname)'], dir)).trim().split('\n').filter(Boolean);
    const main = (await run(['rev-parse', 'refs/remotes/origin/main'], dir)).trim();
    const objects = new Set(
      (await run(['rev-list', '--all', '--objects'], dir))
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[0]),
    );
    return { tags, refs, main, objects };
  }

  /** What the private repository publishes: its version tags (with their commits) and main. */
  async function published(t: TestData) {
    const gitdir = path.join(t.dataDir, 'git');
    const tags = (await git(gitdir, ['for-each-ref', '--format=%(refname:short) %(*objectname)', 'refs/tags'])).stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .sort();
    return { tags, main: (await git(gitdir, ['rev-parse', MAIN])).stdout.trim() };
  }

  describe('the public repository', () => {
    test('a clone from its folder and over HTTP holds exactly the versions and tags, and no draft object', async () => {
      const t = await open();
      const { blob } = await withDraft(t);
      const privateDir = path.join(t.dataDir, 'git');
      const publicDir = path.join(t.dataDir, 'public.git');
      // The draft is in the private repository, not in the public one.
      expect((await git(privateDir, ['cat-file', '-e', blob])).code).toBe(0);
      expect((await git(publicDir, ['cat-file', '-e', blob])).code).not.toBe(0);
      expect((await git(publicDir, ['for-each-ref', '--format=%(refname)'])).stdout).not.toMatch(/ratify|proposals/);
      const want = await published(t);
      expect(want.tags.length).toBeGreaterThanOrEqual(3);

      const app = createApp({
        ctx: t.ctx,
        config: { baseUrl: 'http://ratify.test', writeLimit: 0 },
        sessions: t.sessions,
      });
      const server: Server = await new Promise((resolve) => {
        const s = app.listen(0, '127.0.0.1', () => resolve(s));
      });
      cleanups.push(
        () =>
          new Promise((resolve) => {
            server.closeAllConnections();
            server.close(resolve);
          }),
      );
      const port = (server.address() as { port: number }).port;
      const work = await tempDir('ratify-clone-');
      cleanups.push(() => fsp.rm(work, { recursive: true, force: true }));
      const started = Date.now();
      await run(['clone', '--quiet', `http://127.0.0.1:${port}/git/public.git`, 'http'], work);
      const httpMs = Date.now() - started;
      await run(['clone', '--quiet', '--no-local', publicDir, 'file'], work);

      for (const dir of ['http', 'file'].map((d) => path.join(work, d))) {
        const got = await cloneContents(dir);
        expect(got.tags).toEqual(want.tags);
        expect(got.main).toBe(want.main);
        expect(got.refs.filter((r) => !r.startsWith('refs/tags/')).sort()).toEqual([
          'refs/heads/main',
          'refs/remotes/origin/HEAD',
          'refs/remotes/origin/main',
        ]);
        expect(got.objects.has(blob)).toBe(false);
        expect(await fsckProblems(path.join(dir, '.git'))).toEqual([]);
      }
      expect(await fsckProblems(publicDir)).toEqual([]);
      expect(await fsckProblems(privateDir)).toEqual([]);
      expect(httpMs).toBeLessThan(30_000);

      // Read-only static files with the table's caching; nothing but git's files is served.
      const url = `http://127.0.0.1:${port}/git/public.git`;
      const refs = await fetch(`${url}/info/refs`);
      expect(refs.status).toBe(200);
      expect(refs.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(refs.headers.get('cache-control')).toBe('no-cache');
      expect(await refs.text()).toMatch(/\trefs\/tags\/terms-of-reference\/v1\^\{\}\n/);
      const loose = (await fsp.readdir(path.join(publicDir, 'objects'))).find((d) => /^[0-9a-f]{2}$/.test(d));
      if (loose) {
        const name = (await fsp.readdir(path.join(publicDir, 'objects', loose)))[0];
        const obj = await fetch(`${url}/objects/${loose}/${name}`);
        expect(obj.status).toBe(200);
        expect(obj.headers.get('content-type')).toBe('application/x-git-loose-object');
        expect(obj.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      }
      for (const p of ['/config', '/objects/', '/', '/ratify-tmp', '/objects/info/../../config'])
        expect((await fetch(`${url}${p}`)).status).toBe(404);
      expect((await fetch(`${url}/info/refs`, { method: 'POST' })).status).not.toBe(200);
    }, 60_000);

    test('a public repository behind main (a crash after the private writes) catches up at start', async () => {
      const t = await open();
      await withDraft(t);
      const want = await published(t);
      const publicDir = path.join(t.dataDir, 'public.git');
      await t.close();
      // The newest publication's refs never reached public.git.
      const newest = want.tags.map((l) => l.split(' ')[0]).find((n) => n === 'terms-of-reference/v2')!;
      expect((await git(publicDir, ['update-ref', MAIN, `${want.main}~1`])).code).toBe(0);
      expect((await git(publicDir, ['update-ref', '-d', `refs/tags/${newest}`])).code).toBe(0);
      const t2 = await open(t.dataDir);
      const work = await tempDir('ratify-clone-');
      cleanups.push(() => fsp.rm(work, { recursive: true, force: true }));
      await run(['clone', '--quiet', '--no-local', publicDir, 'a'], work);
      expect(await cloneContents(path.join(work, 'a'))).toMatchObject(want);
      await t2.close();

      // No public repository at all (a data folder from before): rebuilt at start.
      await fsp.rm(publicDir, { recursive: true, force: true });
      await open(t.dataDir);
      await run(['clone', '--quiet', '--no-local', publicDir, 'b'], work);
      expect(await cloneContents(path.join(work, 'b'))).toMatchObject(want);
      expect(await fsckProblems(publicDir)).toEqual([]);
    }, 60_000);

    test('a start with public.git up to date reads no object: the tags it peels are those its info/refs names', async () => {
      const t = await open();
      await withDraft(t);
      const info = path.join(t.dataDir, 'public.git', 'info', 'refs');
      const before = await fsp.readFile(info, 'utf8');
      expect(before).toMatch(/\^\{\}\n/);
      await t.close();
      const reads = jest.spyOn(GitRepository.prototype, 'readRaw');
      try {
        const t2 = await open(t.dataDir);
        expect(reads).not.toHaveBeenCalled();
        expect(await fsp.readFile(info, 'utf8')).toBe(before);
        await t2.close();
        // An info/refs that is not what Ratify writes (garbled, or a tag's peeled line missing) is
        // not believed: the tags are read and the file written again as before.
        await fsp.writeFile(info, before.replace(/^([0-9a-f]{40})\t(refs\/tags\/[^\n]*)\^\{\}$/m, 'garbage'));
        const t3 = await open(t.dataDir);
        expect(reads).toHaveBeenCalled();
        expect(await fsp.readFile(info, 'utf8')).toBe(before);
        await t3.close();
        // Well formed, but a peeled line names a commit that is not there (a digit changed).
        reads.mockClear();
        const damaged = before.replace(
          /^([0-9a-f])([0-9a-f]{39}\trefs\/tags\/[^\n]*\^\{\})$/m,
          (_, d: string, rest: string) => `${d === '0' ? '1' : '0'}${rest}`,
        );
        expect(damaged).not.toBe(before);
        await fsp.writeFile(info, damaged);
        const t4 = await open(t.dataDir);
        expect(reads).toHaveBeenCalled();
        expect(await fsp.readFile(info, 'utf8')).toBe(before);
        await t4.close();
      } finally {
        reads.mockRestore();
      }
    });

    test('proposal refs under refs/heads/ (an older data folder) move to refs/ratify/ at start, once', async () => {
      const t = await open();
      const { who, p } = await withDraft(t);
      const privateDir = path.join(t.dataDir, 'git');
      await t.close();
      // As an older Ratify left it; a second ref as a start killed between the two steps left it.
      const old = `refs/heads/proposals/${p.id}`;
      expect((await git(privateDir, ['update-ref', old, p.head])).code).toBe(0);
      expect((await git(privateDir, ['update-ref', '-d', proposalRef(p.id)])).code).toBe(0);
      expect((await git(privateDir, ['update-ref', 'refs/heads/consolidations/9', p.head])).code).toBe(0);
      expect((await git(privateDir, ['update-ref', 'refs/ratify/consolidations/9', p.head])).code).toBe(0);

      for (let i = 0; i < 2; i++) {
        const t2 = await open(t.dataDir);
        const refs = (await git(privateDir, ['for-each-ref', '--format=%(refname) %(objectname)'])).stdout;
        expect(refs).not.toMatch(/refs\/heads\/(proposals|consolidations)/);
        expect(await t2.ctx.repo.resolve(proposalRef(p.id))).toBe(p.head);
        expect(await t2.ctx.repo.resolve('refs/ratify/consolidations/9')).toBe(p.head);
        await t2.close();
      }
      // Proposals still work on the moved ref.
      const t3 = await open(t.dataDir);
      const r = await reviseProposal(t3.ctx, who.drafter.actor, p.id, { text: 'A new text.\n', head: p.head });
      expect(await t3.ctx.repo.resolve(proposalRef(p.id))).toBe(r.head);
      expect(await fsckProblems(privateDir)).toEqual([]);
    }, 60_000);
  });
});
