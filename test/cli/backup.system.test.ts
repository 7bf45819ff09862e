/**
 * Backup and restore: `backup` (the admin command, here run through `runAdminCommand` on the
 * server's own context, as the admin socket does) taken in the middle of a write load, restored
 * into a new folder, holds every write acknowledged before the backup began, opens cleanly and
 * fscks clean; a restore refuses a non-empty folder and a truncated, garbage or foreign archive
 * (leaving the folder empty); and the real CLI does both ends when no server runs.
 */
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import request from 'supertest';
import * as tar from 'tar';
import { runAdminCommand } from '../../server/cli/commands.js';
import { DomainError } from '../../server/domain/errors.js';
import { MAIN } from '../../server/services/context.js';
import { restoreBackup, type BackupManifest } from '../../server/store/backup.js';
import { MetaStore } from '../../server/store/meta/metaStore.js';
import { openTestApp, openTestData, projectRoot, tempDir } from '../helpers/data.js';
import { bin, childEnv } from '../helpers/bin.js';
import { makeApiUsers, type ApiUser } from '../helpers/users.js';
import { fsckProblems } from '../store/gitHelpers.js';

jest.setTimeout(60_000);

const SLUG = 'terms-of-reference';
type App = Awaited<ReturnType<typeof openTestApp>>;

let t: App;
let work: string;
let people: Record<'ana' | 'ben', ApiUser>;
let archive: string;
let manifest: BackupManifest;
let ackedBefore: Ack[];
let ackedAll: Ack[];

type Ack =
  | { kind: 'proposal'; id: number; head: string }
  | { kind: 'revision'; id: number; head: string }
  | { kind: 'comment'; id: number; on: number }
  | { kind: 'mail'; id: number };

async function code(run: () => Promise<unknown>): Promise<string | null> {
  try {
    await run();
    return null;
  } catch (e) {
    if (e instanceof DomainError) return e.code;
    throw e;
  }
}

const gitOut = (gitdir: string, args: string[]) =>
  new Promise<{ code: number; out: string }>((resolve) =>
    execFile(
      'git',
      [`--git-dir=${gitdir}`, ...args],
      { env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } },
      (err, out) => resolve({ code: err ? 1 : 0, out: out.toString().trim() }),
    ),
  );

beforeAll(async () => {
  t = await openTestApp();
  work = await tempDir('ratify-backup-work-');
  people = await makeApiUsers(t.ctx, {
    ana: { email: 'ana@example.org', name: 'Ana Author', roles: ['member'], groups: ['wg-strategy'] },
    ben: { email: 'ben@example.org', name: 'Ben Writer', roles: ['member'], groups: ['wg-strategy'] },
  });

  // Writers: each makes a proposal, then revises it and comments on it in a loop. Every
  // acknowledged write (2xx received) is recorded in order.
  const acked: Ack[] = [];
  let stop = false;
  const writer = async (who: ApiUser, n: number) => {
    const created = await request(t.app)
      .post(`/api/v1/documents/${SLUG}/proposals`)
      .set(who.auth)
      .send({ title: `Load ${n}`, rationale: 'load', text: `# Text ${n}\n\nstart\n` });
    expect(created.status).toBe(201);
    const id = created.body.id as number;
    let head = created.body.head as string;
    acked.push({ kind: 'proposal', id, head });
    for (let i = 0; !stop; i++) {
      const put = await request(t.app)
        .put(`/api/v1/proposals/${id}/text`)
        .set(who.auth)
        .send({ text: `# Text ${n}\n\nedit ${i}\n`, head });
      expect(put.status).toBe(200);
      head = put.body.head;
      acked.push({ kind: 'revision', id, head });
      const c = await request(t.app)
        .post(`/api/v1/proposals/${id}/comments`)
        .set(who.auth)
        .send({ body: `comment ${i} on ${n}` });
      expect(c.status).toBe(201);
      acked.push({ kind: 'comment', id: c.body.id, on: id });
    }
  };
  // Messages sent and compacted, which the store keeps in its cold files (meta/cold), a few to a write.
  const mailer = async () => {
    while (!stop) {
      const ids = [0, 1, 2].map(() => t.ctx.meta.nextId('mails'));
      const at = new Date().toISOString();
      await t.ctx.meta.write({
        actor: null,
        at: new Date(),
        // An event, so that the audit log's newest entry names the last line (as the test reads it).
        events: [{ action: 'mail.sent', subject: `mail/${ids[0]}` }],
        puts: {
          mails: Object.fromEntries(
            ids.map((id) => [
              id,
              {
                ...{
                  id,
                  messageId: `<m${id}.u1.x@ratify.test>`,
                  key: `<m${id}@ratify.test>`,
                  thread: '<t@ratify.test>',
                },
                ...{ event: 'comment.added', to: ['ana@example.org'], subject: `Message ${id}`, references: [] },
                ...{ state: 'sent' as const, attempts: 1, createdAt: at, sentAt: at, bodyDroppedAt: at },
              },
            ]),
          ),
        },
      });
      acked.push(...ids.map((id) => ({ kind: 'mail' as const, id })));
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  let failed: unknown = null;
  const writers = [writer(people.ana, 1), writer(people.ben, 2), writer(people.ana, 3), mailer()].map((w) =>
    w.catch((e) => (failed ??= e)),
  );
  const until = async (n: number) => {
    while (acked.length < n) {
      if (failed) throw failed;
      await new Promise((r) => setImmediate(r));
    }
  };
  await until(30);

  // An image of a cold table (derived, replaced whole): never in an archive.
  await fsp.mkdir(path.join(t.dataDir, 'meta', 'cold'), { recursive: true });
  await fsp.writeFile(path.join(t.dataDir, 'meta', 'cold', 'mails.image'), 'an image of the table');
  archive = path.join(work, 'ratify.tar.gz');
  ackedBefore = acked.slice();
  const result = (await runAdminCommand(t.ctx, {
    name: 'backup',
    args: { out: 'ratify.tar.gz' },
    cwd: work,
  })) as BackupManifest & { heldMs: number };
  const atEnd = acked.length;
  // Writes go on after the backup too.
  await until(atEnd + 10);
  stop = true;
  await Promise.all(writers);
  if (failed) throw failed;
  ackedAll = acked;
  manifest = result;
  expect(result.heldMs).toBeLessThan(2000);
});

afterAll(async () => {
  await t.cleanup();
  await fsp.rm(work, { recursive: true, force: true });
});

describe('a backup taken while writes go on', () => {
  test('the manifest names one moment, and the archive is private', async () => {
    expect(manifest).toMatchObject({ format: 'ratify-backup', version: 1, contents: ['git', 'meta'] });
    expect(manifest.journalSeq).toBeGreaterThan(0);
    expect(manifest.mainCommit).toMatch(/^[0-9a-f]{40}$/);
    expect((await fsp.stat(archive)).mode & 0o777).toBe(0o600);
    // Nothing left beside it.
    expect(await fsp.readdir(work)).toEqual(['ratify.tar.gz']);
    // More was acknowledged after it, so the test had writes racing the copy.
    expect(ackedAll.length).toBeGreaterThan(ackedBefore.length);
  });

  test('a backup never overwrites a file', async () => {
    expect(await code(() => runAdminCommand(t.ctx, { name: 'backup', args: { out: archive }, cwd: work }))).toBe(
      'file_exists',
    );
  });

  test('restored into an absent folder: opens cleanly, fscks clean, private, and holds every write acknowledged before the backup', async () => {
    const target = path.join(work, 'restored', 'data');
    const m = await restoreBackup(archive, target);
    expect(m.journalSeq).toBe(manifest.journalSeq);

    // 0700 folders, 0600 files; no sessions, no outbox.
    const walk = async (dir: string): Promise<string[]> => {
      const out: string[] = [];
      for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        const mode = (await fsp.stat(p)).mode & 0o777;
        out.push(`${e.isDirectory() ? 'd' : 'f'}${mode.toString(8)}`);
        if (e.isDirectory()) out.push(...(await walk(p)));
      }
      return out;
    };
    expect((await fsp.stat(target)).mode & 0o777).toBe(0o700);
    expect(new Set(await walk(target))).toEqual(new Set(['d700', 'f600']));
    expect((await fsp.readdir(target)).sort()).toEqual(['git', 'meta']);

    const gitdir = path.join(target, 'git');
    expect(await fsckProblems(gitdir)).toEqual([]);

    const r = await openTestData({ dataDir: target, seed: false });
    try {
      // The store is at the manifest's moment, and main is the manifest's main.
      expect((await r.ctx.meta.auditLog(1))[0].seq).toBe(manifest.journalSeq);
      expect(await r.ctx.repo.resolve(MAIN)).toBe(manifest.mainCommit);
      // Every acknowledged write from before the backup is there.
      const missing: Ack[] = [];
      for (const a of ackedBefore) {
        if (a.kind === 'mail') {
          // Kept in the cold files, copied as the journal is (up to the size seen in the hold).
          if (r.ctx.meta.get('mails', a.id)?.subject !== `Message ${a.id}`) missing.push(a);
          continue;
        }
        if (a.kind === 'comment') {
          if (r.ctx.meta.get('comments', a.id)?.subject.id !== a.on) missing.push(a);
          continue;
        }
        const p = r.ctx.meta.get('proposals', a.id);
        // The recorded head is the acknowledged one or a later revision of it.
        if (!p || (await gitOut(gitdir, ['merge-base', '--is-ancestor', a.head, p.head])).code !== 0) missing.push(a);
      }
      expect(missing).toEqual([]);
      expect(ackedBefore.filter((a) => a.kind === 'mail').length).toBeGreaterThan(0);
      // The cold files of each kind (ballots and comments are all cold; the compacted messages), not the image.
      expect((await fsp.readdir(path.join(target, 'meta', 'cold'))).sort()).toEqual([
        'ballots.jsonl',
        'ballots.keys',
        'ballots.rows',
        'comments.jsonl',
        'comments.keys',
        'comments.rows',
        'mails.jsonl',
        'mails.keys',
        'mails.rows',
      ]);
      // Git and the store agree: every proposal's recorded head is its branch or an ancestor of it
      // (a commit made just before the hold whose record came after is what a crash there leaves).
      for (const p of r.ctx.meta.all('proposals')) {
        const branch = await r.ctx.repo.resolve(`refs/ratify/proposals/${p.id}`);
        expect(branch).not.toBeNull();
        expect({ id: p.id, ok: (await gitOut(gitdir, ['merge-base', '--is-ancestor', p.head, branch!])).code }).toEqual(
          { id: p.id, ok: 0 },
        );
      }
      // Nothing from after the moment: fewer or equal writes than were acknowledged in all.
      expect(r.ctx.meta.all('comments').length).toBeLessThanOrEqual(
        ackedAll.filter((a) => a.kind === 'comment').length,
      );
    } finally {
      await r.close();
    }
  });
});

describe('restore refuses', () => {
  test('a folder that is not empty, and touches nothing in it', async () => {
    const target = await tempDir('ratify-restore-full-');
    await fsp.writeFile(path.join(target, 'keep.txt'), 'mine');
    expect(await code(() => restoreBackup(archive, target))).toBe('data_dir_not_empty');
    expect(await fsp.readdir(target)).toEqual(['keep.txt']);
    await fsp.rm(target, { recursive: true, force: true });
  });

  test('a truncated archive, garbage, a foreign tar and a missing file: clear code, folder left empty', async () => {
    const bytes = await fsp.readFile(archive);
    const truncated = path.join(work, 'truncated.tar.gz');
    await fsp.writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const cut = path.join(work, 'cut-end.tar.gz');
    await fsp.writeFile(cut, bytes.subarray(0, bytes.length - 20));
    const garbage = path.join(work, 'garbage.tar.gz');
    await fsp.writeFile(garbage, Buffer.from('this is not an archive at all\n'.repeat(100)));
    // A well-formed tar.gz that is not a Ratify backup, with a path leading out of the folder.
    const foreignSrc = path.join(work, 'foreign');
    await fsp.mkdir(path.join(foreignSrc, 'git'), { recursive: true });
    await fsp.writeFile(path.join(foreignSrc, 'git', 'HEAD'), 'x');
    await fsp.writeFile(path.join(foreignSrc, 'evil'), 'x');
    const foreign = path.join(work, 'foreign.tar.gz');
    await tar.c({ gzip: true, file: foreign, cwd: foreignSrc }, ['git', 'evil']);

    for (const [file, expected] of [
      [truncated, 'invalid_backup'],
      [cut, 'invalid_backup'],
      [garbage, 'invalid_backup'],
      [foreign, 'invalid_backup'],
      [path.join(work, 'absent.tar.gz'), 'unreadable_file'],
    ] as const) {
      const target = path.join(work, `into-${path.basename(file)}`);
      await fsp.mkdir(target);
      expect({ file: path.basename(file), code: await code(() => restoreBackup(file, target)) }).toEqual({
        file: path.basename(file),
        code: expected,
      });
      expect(await fsp.readdir(target)).toEqual([]);
    }
  });
});

describe('the CLI with no server running', () => {
  const cli = (args: string[], dataDir: string) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(bin.admin[0], [...bin.admin[1], ...args], {
        cwd: projectRoot,
        env: childEnv({ DATA_DIR: dataDir }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c, stdout, stderr }));
    });

  test('backup opens the folder itself; restore fills an absent folder and refuses a full one', async () => {
    // The app's data folder, closed (as when no server runs).
    const source = path.join(work, 'cli-source');
    const d = await openTestData({ dataDir: source });
    await d.close();
    const out = path.join(work, 'cli.tar.gz');
    const b = await cli(['backup', '--out', out], source);
    expect([b.code, b.stderr]).toEqual([0, expect.stringContaining('held')]);
    const made = JSON.parse(b.stdout) as BackupManifest;
    expect(made).toMatchObject({ format: 'ratify-backup', version: 1 });

    const target = path.join(work, 'cli-target');
    const r = await cli(['restore', '--from', out], target);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ journalSeq: made.journalSeq, mainCommit: made.mainCommit });
    const again = await cli(['restore', '--from', out], target);
    expect(again.code).not.toBe(0);
    expect(JSON.parse(again.stderr.trim().split('\n').pop()!).error.code).toBe('data_dir_not_empty');

    const opened = await openTestData({ dataDir: target, seed: false });
    expect(opened.ctx.meta.all('documents').length).toBeGreaterThan(0);
    await opened.close();
  });
});

describe('MetaStore.hold: the still moment a backup copies', () => {
  test('waits for writes in flight, makes new writes wait until it is done, and names the last seq', async () => {
    const dir = await tempDir('ratify-hold-');
    const store = await MetaStore.open(dir);
    const change = (slug: string) => ({
      actor: null,
      at: new Date(),
      events: [{ action: 'group.added', subject: slug }],
      puts: { groups: { [slug]: { slug, name: slug, createdAt: new Date().toISOString() } } },
    });
    try {
      const inFlight = store.write(change('a'));
      let laterDone = false;
      let later: Promise<void> | null = null;
      const seen = await store.hold(async (seq) => {
        // The write started before the hold is on disk; one started during it has not happened.
        later = store.write(change('b')).then(() => void (laterDone = true));
        await new Promise((r) => setTimeout(r, 20));
        return { seq, a: !!store.get('groups', 'a'), b: !!store.get('groups', 'b'), laterDone };
      });
      await inFlight;
      expect(seen).toEqual({ seq: 1, a: true, b: false, laterDone: false });
      await later;
      expect(store.get('groups', 'b')).toBeTruthy();
      expect((await store.auditLog(1))[0].seq).toBe(2);
    } finally {
      await store.close();
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
