/**
 * Files private to the service user: DATA_DIR is 0700 from its first mkdir, every file Ratify
 * writes is 0600 and every folder 0700 — whatever the umask (here the common 022, so the modes
 * come from the code, not from the umask main.ts sets) — and a loosened DATA_DIR is warned about.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import request from 'supertest';
import { requestPasswordReset } from '../../server/services/accounts/links.js';
import { MailWorker } from '../../server/services/notifications/deliver.js';
import { warnIfShared } from '../../server/store/fsutil.js';
import { outboxTransport } from '../../server/store/mail/transport.js';
import { openTestApp, tempDir } from '../helpers/data.js';
import { makeApiUsers } from '../helpers/users.js';

describe('store/filePermissions', () => {
  let root: string;
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let umask: number;

  beforeAll(async () => {
    umask = process.umask(0o022);
    root = await tempDir('ratify-perms-');
    // A data folder that does not exist yet: openData makes it (and its parent).
    t = await openTestApp({ dataDir: path.join(root, 'fresh', 'data') });
    const { drafter } = await makeApiUsers(t.ctx, {
      drafter: { email: 'drafter@example.org', name: 'Dana Drafter', roles: ['member'], groups: ['wg-strategy'] },
    });
    const doc = await request(t.app).get('/api/v1/documents/terms-of-reference');
    const res = await request(t.app)
      .post('/api/v1/documents/terms-of-reference/proposals')
      .set(drafter.auth)
      .send({ title: 'Private', text: `${doc.body.text}\nA draft nobody else may read.\n` });
    expect(res.status).toBe(201);
    // A mail with a live reset link, delivered to the outbox.
    await requestPasswordReset(t.ctx, 'drafter@example.org');
    expect(
      await new MailWorker(t.ctx, outboxTransport(path.join(t.dataDir, 'outbox')), 'ratify@example.org').tick(),
    ).toBeGreaterThan(0);
    // A stored session.
    await new Promise<void>((resolve, reject) =>
      t.sessions.store.set('sid-1', { cookie: { originalMaxAge: 60_000 } } as never, (e) =>
        e ? reject(e) : resolve(),
      ),
    );
    await t.ctx.meta.snapshot();
  });

  afterAll(async () => {
    process.umask(umask);
    await t.cleanup();
    await fsp.rm(root, { recursive: true, force: true });
  });

  async function walk(dir: string, out: { path: string; mode: number; dir: boolean }[] = []) {
    for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      const st = await fsp.lstat(p);
      out.push({ path: path.relative(t.dataDir, p), mode: st.mode & 0o777, dir: e.isDirectory() });
      if (e.isDirectory()) await walk(p, out);
    }
    return out;
  }

  describe('file permissions', () => {
    test('the data folder is 0700 from its first mkdir; no file or folder in it has group or other bits', async () => {
      expect(((await fsp.stat(t.dataDir)).mode & 0o777).toString(8)).toBe('700');
      const entries = await walk(t.dataDir);
      const kinds = (re: RegExp) => entries.filter((e) => !e.dir && re.test(e.path)).length;
      // The writes happened: git objects, the journal, the snapshot, an .eml, a session.
      expect(kinds(/^git\/objects\//)).toBeGreaterThan(0);
      expect(kinds(/^meta\/journal\//)).toBeGreaterThan(0);
      expect(kinds(/^meta\/snapshot\.json$/)).toBe(1);
      expect(kinds(/^outbox\/.*\.eml$/)).toBeGreaterThan(0);
      expect(kinds(/^sessions\/.*\.json$/)).toBeGreaterThan(0);
      const loose = entries.filter((e) => (e.mode & 0o077) !== 0).map((e) => `${e.path} ${e.mode.toString(8)}`);
      expect(loose).toEqual([]);
    });

    test('a data folder others can read is warned about at start', async () => {
      const dir = path.join(root, 'shared');
      await fsp.mkdir(dir);
      await fsp.chmod(dir, 0o755);
      const warnings: string[] = [];
      expect(await warnIfShared(dir, (m) => warnings.push(m))).toBe(true);
      expect(warnings).toHaveLength(1);
      await fsp.chmod(dir, 0o700);
      expect(await warnIfShared(dir, (m) => warnings.push(m))).toBe(false);
      expect(warnings).toHaveLength(1);
    });
  });
});
