/**
 * A full disk, for real: the data folder on a small tmpfs, writes through the HTTP API until
 * the disk refuses one. The refused write answers 507 storage_full and is seen by nobody;
 * /healthz answers 503 while writes fail and 200 again once space is freed (no restart);
 * writes then succeed; after close and reopen every acknowledged write is there, the journal
 * opens, and stock `git fsck --strict` finds the repository clean.
 *
 * Mounting needs root (or CAP_SYS_ADMIN) on Linux; where the machine does not allow it the
 * suite is skipped, and its title says why.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import request from 'supertest';
import { createApp } from '../../server/app.js';
import { openData } from '../../server/bootstrap.js';
import { openTestApp, projectRoot } from '../helpers/data.js';
import { mountTmpfs, tmpfsUnavailable } from '../helpers/tmpfs.js';
import { makeApiUsers, type ApiUser } from '../helpers/users.js';
import { git } from './gitHelpers.js';

const unavailable = await tmpfsUnavailable();

describe('store/fullDisk', () => {
  const SIZE = 3 * 1024 * 1024;
  const API = '/api/v1';
  const SLUG = 'terms-of-reference';

  const suite = unavailable ? describe.skip : describe;
  const title = unavailable ? `a full disk (tmpfs) — skipped: ${unavailable}` : 'a full disk (tmpfs)';

  suite(title, () => {
    let mnt = '';
    let release = async () => {};
    let dataDir = '';
    let filler = '';
    let t: Awaited<ReturnType<typeof openTestApp>>;
    let drafter: ApiUser;
    let proposal: { id: number; head: string };
    let text: string;
    const acknowledged: { id: number; body: string }[] = [];
    let refusedBody = '';

    const comment = (body: string) =>
      request(t.app).post(`${API}/proposals/${proposal.id}/comments`).set(drafter.auth).send({ body });
    const commentBodies = async (app = t.app) => {
      const res = await request(app).get(`${API}/proposals/${proposal.id}/comments`).set(drafter.auth);
      expect(res.status).toBe(200);
      // Compared by their first words: the padding would only bloat a failure message.
      return (res.body as { body: string }[]).map((c) => head(c.body));
    };
    const head = (body: string) => body.slice(0, 24);
    const pad = (tag: string) => `${tag}: ${'x'.repeat(4000)}`;
    const free = async () => {
      const s = await fsp.statfs(mnt);
      return s.bavail * s.bsize;
    };

    beforeAll(async () => {
      ({ dir: mnt, release } = await mountTmpfs(SIZE, 'ratify-fulldisk-'));
      dataDir = path.join(mnt, 'data');
      filler = path.join(mnt, 'filler');
      t = await openTestApp({ dataDir });
      ({ drafter } = await makeApiUsers(t.ctx, {
        drafter: { email: 'drafter@example.org', name: 'Dana Drafter', roles: ['member'], groups: ['wg-strategy'] },
      }));
      const doc = await request(t.app).get(`${API}/documents/${SLUG}`);
      text = `${doc.body.text}\nA paragraph proposed before the disk filled up.\n`;
      const res = await request(t.app)
        .post(`${API}/documents/${SLUG}/proposals`)
        .set(drafter.auth)
        .send({ title: 'Before', text });
      expect(res.status).toBe(201);
      proposal = { id: res.body.id, head: res.body.head };
    });

    afterAll(async () => {
      await t?.close().catch(() => {});
      await release();
    });

    test('writes until the disk is full: the refused one answers 507 storage_full and nobody sees it', async () => {
      // Leave about 40 KB, then comment (4 KB each) until the disk refuses.
      await fsp.writeFile(filler, Buffer.alloc(Math.max(0, (await free()) - 40 * 1024)));
      let res: request.Response | null = null;
      for (let i = 0; i < 200; i++) {
        const body = pad(`Comment ${i}`);
        res = await comment(body);
        if (res.status !== 201) {
          refusedBody = body;
          break;
        }
        acknowledged.push({ id: res.body.id, body });
      }
      expect(acknowledged.length).toBeGreaterThan(0);
      expect(res!.status).toBe(507);
      expect(res!.body.error.code).toBe('storage_full');
      expect(res!.text).not.toMatch(/ENOSPC|at .*\.ts/);

      // Not shown to anyone, not in the audit log; what was acknowledged is.
      const bodies = await commentBodies();
      expect(bodies).not.toContain(head(refusedBody));
      expect(bodies).toEqual(acknowledged.map((c) => head(c.body)));
      expect(
        (await t.ctx.meta.auditLog(5)).some(
          (e) => e.action === 'comment.added' && e.subject.endsWith(`/${acknowledged.length + 1}`),
        ),
      ).toBe(false);

      // Still full: a second attempt is refused the same way.
      const again = await comment(pad('Still no room'));
      expect([again.status, again.body.error?.code]).toEqual([507, 'storage_full']);
    });

    test('a text edit on the full disk is refused with 507 and leaves the proposal as it was', async () => {
      const res = await request(t.app)
        .put(`${API}/proposals/${proposal.id}/text`)
        .set(drafter.auth)
        .send({ text: `${text}${'A long new paragraph. '.repeat(3000)}\n`, head: proposal.head });
      expect([res.status, res.body.error?.code]).toEqual([507, 'storage_full']);
      const now = await request(t.app).get(`${API}/proposals/${proposal.id}`).set(drafter.auth);
      expect(now.body.head).toBe(proposal.head);
      expect(now.body.text).toBe(text);
      // Nothing half-written was left in the repository's temporary folder.
      expect(await fsp.readdir(path.join(dataDir, 'git', 'ratify-tmp'))).toEqual([]);
    });

    test('/healthz answers 503 while writes fail', async () => {
      const res = await request(t.app).get('/healthz');
      expect(res.status).toBe(503);
      expect(res.body.ok).toBe(false);
    });

    test('once space is freed: /healthz 200 and writes succeed, without a restart', async () => {
      await fsp.rm(filler);
      const health = await request(t.app).get('/healthz');
      expect([health.status, health.body]).toEqual([200, { ok: true }]);
      const res = await comment('After the space was freed.');
      expect(res.status).toBe(201);
      acknowledged.push({ id: res.body.id, body: 'After the space was freed.' });
      const edit = await request(t.app)
        .put(`${API}/proposals/${proposal.id}/text`)
        .set(drafter.auth)
        .send({ text: `${text}Edited after the space was freed.\n`, head: proposal.head });
      expect(edit.status).toBe(200);
      proposal.head = edit.body.head;
      expect(await commentBodies()).toEqual(acknowledged.map((c) => head(c.body)));
    });

    test('after close and reopen: the store opens, every acknowledged write is there, git fsck --strict is clean', async () => {
      await t.close();
      const data = await openData({ dataDir, documentsDir: path.join(projectRoot, 'documents') }, 'server');
      try {
        const app = createApp({
          ctx: data.ctx,
          config: { baseUrl: 'http://ratify.test', writeLimit: 0 },
          sessions: data.sessions,
        });
        expect(await commentBodies(app)).toEqual(acknowledged.map((c) => head(c.body)));
        const p = await request(app).get(`${API}/proposals/${proposal.id}`).set(drafter.auth);
        expect(p.body.head).toBe(proposal.head);
        expect(p.body.text).toBe(`${text}Edited after the space was freed.\n`);
      } finally {
        await data.close();
      }
      const fsck = await git(path.join(dataDir, 'git'), ['fsck', '--strict', '--no-dangling']);
      expect({ code: fsck.code, stderr: fsck.stderr }).toEqual({ code: 0, stderr: '' });
    });
  });
});
