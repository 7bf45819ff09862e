/**
 * The public mirror (issue 16, PUBLIC_MIRROR_URL): after a publication the public repository's
 * `main` and version tags — nothing else — are pushed to another git host over smart HTTP (here
 * stock `git http-backend`, with credentials). A mirror that is down or refuses never fails a
 * publication; the worker retries with a growing pause and, once the mirror answers, pushes all
 * that is missing.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { publishVersion } from '../../server/services/publishVersion.js';
import { getVersion, versionText } from '../../server/services/readDocuments.js';
import { MirrorWorker } from '../../server/services/publicMirror.js';
import { gitHttpServer, type GitHttpServer } from '../helpers/gitHttpServer.js';
import { openTestData, tempDir, testClock } from '../helpers/data.js';

describe('services/publicMirror.integration', () => {
  const run = promisify(execFile);
  const git = async (...args: string[]) => (await run('git', args)).stdout;

  const TOR = 'terms-of-reference';
  const AUTH = { username: 'ratify', password: 'mirror-secret' };
  const clock = testClock();
  let t: Awaited<ReturnType<typeof openTestData>>;
  let root: string;
  let remote: string;
  let server: GitHttpServer;
  let port: number;

  async function publish(summary: string) {
    const doc = t.ctx.meta.get('documents', TOR)!;
    const text = await versionText(t.ctx, getVersion(t.ctx, TOR, doc.latest));
    clock.advance(60_000);
    return publishVersion(t.ctx, {
      slug: TOR,
      title: doc.title,
      group: doc.group,
      text: `${text}\n\n${summary}.\n`,
      summary,
      author: { name: 'Cara', email: 'cara@example.org', at: clock() },
    });
  }

  const remoteRefs = async () =>
    (await git('-C', remote, 'for-each-ref', '--format=%(refname) %(objectname)')).trim().split('\n').filter(Boolean);
  const publicRefs = async () =>
    (await git('-C', t.ctx.publicRepo!.gitdir, 'for-each-ref', '--format=%(refname) %(objectname)'))
      .trim()
      .split('\n')
      .filter(Boolean);

  beforeAll(async () => {
    t = await openTestData({ clock });
    root = await tempDir();
    remote = path.join(root, 'record.git');
    await git('init', '-q', '--bare', remote);
    await git('-C', remote, 'config', 'http.receivepack', 'true');
    server = await gitHttpServer(root, AUTH);
    port = Number(new URL(server.url).port);
  });
  afterAll(async () => {
    await server.close();
    await t.cleanup();
    await fsp.rm(root, { recursive: true, force: true });
  });

  test('after a publication the mirror gets main and every version tag, and nothing else', async () => {
    await publish('Second');
    const worker = new MirrorWorker(t.ctx, { url: `${server.url}/record.git`, ...AUTH });
    await worker.tick();
    expect(worker.status()).toMatchObject({ failures: 0, lastError: null });
    expect(await remoteRefs()).toEqual(await publicRefs());
    expect((await remoteRefs()).every((r) => /^refs\/(heads\/main|tags\/[^/]+\/v\d+) /.test(r))).toBe(true);
    expect(await git('-C', remote, 'fsck', '--strict', '--no-dangling')).toBe('');
    // A clone of the mirror has the versions' history, and no proposal's.
    const log = await git('-C', remote, 'log', '--format=%s', 'main');
    expect(log).toContain('Second');
    // Pushing wrote nothing into the public repository (no tracking refs).
    expect((await publicRefs()).some((r) => r.startsWith('refs/remotes'))).toBe(false);
    // Nothing new: the next tick asks nothing of the mirror.
    await worker.tick();
    expect(worker.status().failures).toBe(0);
  });

  test('a mirror that is down fails no publication; the worker waits, then pushes all that is missing', async () => {
    const worker = new MirrorWorker(t.ctx, { url: `${server.url}/record.git`, ...AUTH });
    await server.close();
    await publish('Third');
    await publish('Fourth');
    await worker.tick();
    const failed = worker.status();
    expect(failed.failures).toBe(1);
    expect(failed.nextAttemptAt).not.toBeNull();
    // Not before the pause is over, even once the mirror is back.
    server = await gitHttpServer(root, AUTH, port);
    await worker.tick();
    expect(worker.status().failures).toBe(1);
    clock.advance(31_000);
    await worker.tick();
    expect(worker.status()).toMatchObject({ failures: 0, lastError: null });
    expect(await remoteRefs()).toEqual(await publicRefs());
    expect(await git('-C', remote, 'log', '--format=%s', '-1', 'main')).toContain('Fourth');
  });

  test('wrong credentials are a failure, retried later; the pause grows', async () => {
    const worker = new MirrorWorker(t.ctx, { url: `${server.url}/record.git`, username: 'ratify', password: 'wrong' });
    await publish('Fifth');
    await worker.tick();
    const first = worker.status();
    expect(first.failures).toBe(1);
    clock.advance(31_000);
    await worker.tick();
    const second = worker.status();
    expect(second.failures).toBe(2);
    expect(Date.parse(second.nextAttemptAt!) - clock().getTime()).toBeGreaterThan(50_000);
    expect(await remoteRefs()).not.toEqual(await publicRefs());
  });

  test('PUBLIC_MIRROR_URL: an http(s) URL without credentials in it; they come from their own variables', async () => {
    const { loadConfig } = await import('../../server/config.js');
    expect(loadConfig({}).publicMirror).toBeNull();
    expect(
      loadConfig({
        PUBLIC_MIRROR_URL: 'https://git.example.org/mag/record.git',
        PUBLIC_MIRROR_USERNAME: 'bot',
        PUBLIC_MIRROR_PASSWORD: 'token',
      }).publicMirror,
    ).toEqual({ url: 'https://git.example.org/mag/record.git', username: 'bot', password: 'token' });
    expect(() => loadConfig({ PUBLIC_MIRROR_URL: 'https://bot:token@git.example.org/r.git' })).toThrow(
      /PUBLIC_MIRROR_URL/,
    );
    expect(() => loadConfig({ PUBLIC_MIRROR_URL: 'git@example.org:r.git' })).toThrow(/PUBLIC_MIRROR_URL/);
  });

  test('/healthz?verbose shows the mirror; the plain answer does not', async () => {
    const { createApp } = await import('../../server/app.js');
    const request = (await import('supertest')).default;
    const worker = new MirrorWorker(t.ctx, { url: `${server.url}/record.git`, ...AUTH });
    const app = createApp({
      ctx: t.ctx,
      config: { baseUrl: 'http://ratify.test', writeLimit: 0 },
      sessions: { secret: 'x'.repeat(32), store: new (await import('express-session')).default.MemoryStore() },
      mirrorStatus: () => worker.status(),
    });
    expect((await request(app).get('/healthz').expect(200)).body).toEqual({ ok: true });
    const verbose = (await request(app).get('/healthz?verbose').expect(200)).body;
    expect(verbose.mirror).toMatchObject({ url: `${server.url}/record.git`, failures: 0 });
    expect(JSON.stringify(verbose)).not.toContain(AUTH.password);
  });
});
