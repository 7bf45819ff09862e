import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openData, type OpenData } from '../../server/bootstrap.js';
import type { createApp as CreateApp } from '../../server/app.js';
import type { WorkPool as Pool } from '../../server/http/offload/pool.js';
import type { Renderer as Render } from '../../server/http/render/renderer.js';
import type { HasherOptions } from '../../server/services/auth/passwords.js';

/**
 * Password hashing in tests: scrypt N=2^10 (~1 ms) instead of production's 2^17 (~270 ms). Hashes
 * record their N, so what tests check (format, verification, throttles) is the same code path.
 */
export const TEST_HASHING: Partial<HasherOptions> = { N: 2 ** 10 };
/** The same for child processes (the CLI, a real server): PASSWORD_HASH_N in their environment. */
export const TEST_HASH_ENV = { PASSWORD_HASH_N: String(2 ** 10) };

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const corpusDir = path.resolve(projectRoot, '../shared/corpus');

/** A fresh temporary folder, removed by `cleanup`. */
export async function tempDir(prefix = 'ratify-test-'): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** A controllable clock: starts at `start`, moves only when told. */
export function testClock(start = '2026-01-15T10:00:00Z') {
  let now = new Date(start).getTime();
  const clock = () => new Date(now);
  clock.advance = (ms: number) => {
    now += ms;
  };
  clock.set = (iso: string) => {
    now = new Date(iso).getTime();
  };
  return clock;
}

export interface TestData extends OpenData {
  dataDir: string;
  cleanup: () => Promise<void>;
}

/**
 * Open a real data folder (real git repo, real journal) in a temp dir, seeded from the
 * project's documents/ unless `seed: false`.
 */
export async function openTestData(
  opts: {
    clock?: () => Date;
    seed?: boolean;
    dataDir?: string;
    documentsDir?: string;
    listAddress?: string;
    /** REPLY_DOMAIN: notifications carry `Reply-To: reply+<token>@<this>`. */
    replyDomain?: string;
    reminderHours?: number;
    digestHour?: number;
    hashing?: Partial<HasherOptions>;
    /**
     * Keep messages' text and HTML in files, as the server does. Off by default: most tests read
     * a queued message's text from its record; test/services/mailBodiesOnDisk.test.ts and the
     * browser tests (a real server) run with it.
     */
    mailBodiesOnDisk?: boolean;
  } = {},
): Promise<TestData> {
  const dataDir = opts.dataDir ?? (await tempDir());
  // A freshly seeded folder at a test clock's time is the same every time: copy it (see seededCopy).
  const copied =
    !opts.dataDir &&
    !!opts.clock &&
    opts.seed !== false &&
    !opts.documentsDir &&
    (await seededCopy(dataDir, opts.clock().toISOString(), (dir) => openTestData({ ...opts, dataDir: dir })));
  const config = {
    dataDir,
    documentsDir: opts.documentsDir ?? path.join(projectRoot, 'documents'),
    baseUrl: 'http://ratify.test',
    listAddress: opts.listAddress,
    replyDomain: opts.replyDomain,
    reminderHours: opts.reminderHours,
    digestHour: opts.digestHour,
  };
  const data = await openData(config, 'server', {
    clock: opts.clock,
    seed: opts.seed,
    hashing: { ...TEST_HASHING, ...opts.hashing },
    mailBodiesInRecords: !opts.mailBodiesOnDisk,
  });
  if (copied) {
    // A copy is another installation: its own id and mail secret (a restored backup would keep them).
    const install = data.ctx.meta.get('system', 'install')!;
    const id = [...randomBytes(6)].map((b) => '0123456789abcdefghjkmnpqrstvwxyz'[b & 31]).join('');
    await data.ctx.meta.write({
      actor: null,
      at: data.ctx.clock(),
      events: [],
      puts: { system: { install: { ...install, installId: id, mailSecret: randomBytes(32).toString('base64url') } } },
    });
  }
  return {
    ...data,
    dataDir,
    cleanup: async () => {
      await data.close().catch(() => {});
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Seeding a new data folder (two documents published: commits, tags, the public repository, the
 * journal) is most of what opening one costs, and ~230 tests open one. Within one run (jest's
 * globalSetup names RATIFY_TEST_TEMPLATES) the first folder seeded at a given clock time is kept,
 * closed, as a template, and later ones start as a copy of it that `openData` opens as a server
 * would reopen its folder: what a test sees is the same folder, opened a second time.
 */
async function seededCopy(dataDir: string, at: string, make: (dir: string) => Promise<TestData>): Promise<boolean> {
  const root = process.env.RATIFY_TEST_TEMPLATES;
  if (!root) return false;
  const template = path.join(root, at.replace(/[^0-9A-Za-z]/g, ''));
  try {
    await fsp.access(template);
  } catch {
    const scratch = await fsp.mkdtemp(path.join(root, 'making-'));
    const made = await make(scratch);
    await made.close();
    // Another worker may have made the same template meanwhile: theirs is as good.
    await fsp.rename(scratch, template).catch(() => fsp.rm(scratch, { recursive: true, force: true }));
  }
  copyTree(template, dataDir);
  // Its own session secret, made at the open.
  await fsp.rm(path.join(dataDir, 'session-secret'), { force: true });
  return true;
}

/**
 * A data folder in a state that many tests start from (the committee, say, or a consolidation of
 * two shared proposals: test/helpers/people.ts), as `build` leaves it on a folder opened with
 * `opts`. Within one run (RATIFY_TEST_TEMPLATES, as for seeded folders) the first call for a
 * `name`, clock time and `opts` builds it and keeps the folder, closed, as a template, with what
 * `build` returned (JSON); later calls open a copy of that folder, as a server reopens its own,
 * and give that value back as `made`. The copy keeps the template's installation id and mail
 * secret, so that the mail `build` queued is the copy's own. `build` must not read the clock's
 * later times: the clock is the caller's and has not moved.
 */
export async function openPrepared<T>(
  name: string,
  opts: Omit<NonNullable<Parameters<typeof openTestData>[0]>, 'dataDir' | 'seed' | 'documentsDir'> & {
    clock: () => Date;
  },
  build: (t: TestData) => Promise<T>,
): Promise<TestData & { made: T }> {
  const root = process.env.RATIFY_TEST_TEMPLATES;
  if (!root) {
    const t = await openTestData(opts);
    try {
      return { ...t, made: await build(t) };
    } catch (e) {
      await t.cleanup();
      throw e;
    }
  }
  const { clock, ...rest } = opts;
  const key = createHash('sha256')
    .update(JSON.stringify([name, clock().toISOString(), rest]))
    .digest('hex')
    .slice(0, 16);
  // A template is a folder holding the data folder (`data`) and what `build` returned
  // (`made.json`), both written before the folder takes its name: a template is whole or absent.
  const template = path.join(root, `prepared-${key}`);
  try {
    await fsp.access(template);
  } catch {
    const scratch = await fsp.mkdtemp(path.join(root, 'making-'));
    try {
      const t = await openTestData({ ...opts, dataDir: path.join(scratch, 'data') });
      let made: T;
      try {
        made = await build(t);
      } finally {
        await t.close();
      }
      await fsp.writeFile(path.join(scratch, 'made.json'), JSON.stringify(made));
      // Another worker may have made the same one meanwhile (the name is taken): theirs is as good.
      await fsp.rename(scratch, template).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
      });
    } finally {
      await fsp.rm(scratch, { recursive: true, force: true });
    }
  }
  const dataDir = await tempDir();
  copyTree(path.join(template, 'data'), dataDir);
  await fsp.rm(path.join(dataDir, 'session-secret'), { force: true });
  const made = JSON.parse(await fsp.readFile(path.join(template, 'made.json'), 'utf8')) as T;
  return { ...(await openTestData({ ...opts, dataDir })), made };
}

/**
 * Copy a folder's tree: folders with their modes, files with theirs (`copyFileSync`), nothing else
 * in a template. `fs.cp` checks and stats each entry several times: it was a sixth of opening a
 * copy. Synchronous calls, since each asynchronous one is a hand-over to libuv's threads and
 * back: a copy and its removal took 12–13 ms of CPU that way, 5–6 ms this way (~100 entries).
 */
function copyTree(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  fs.chmodSync(to, fs.statSync(from).mode & 0o7777);
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const a = path.join(from, e.name);
    const b = path.join(to, e.name);
    if (e.isDirectory()) copyTree(a, b);
    else if (e.isFile()) fs.copyFileSync(a, b);
    else throw new Error(`${a}: a template holds only folders and files`);
  }
}

/**
 * The HTTP layer, imported on the first `openTestApp`, not at the top: a test of the services or
 * the store that opens test data does not load it (~0.25 s of module loading per test file).
 * One import at a time, and once: jest's module linker fails ("not in cache") on imports of
 * shared modules made in parallel.
 */
let appImport: Promise<{ createApp: typeof CreateApp; WorkPool: typeof Pool; Renderer: typeof Render }> | null = null;
const appModules = () =>
  (appImport ??= (async () => {
    const { createApp } = await import('../../server/app.js');
    const { WorkPool } = await import('../../server/http/offload/pool.js');
    const { Renderer } = await import('../../server/http/render/renderer.js');
    return { createApp, WorkPool, Renderer };
  })());

/**
 * Apps over the same test data, each with its caches and worker pool (as a second process over
 * the folder would have): to compare what an app that kept pieces of its pages answers with
 * what a fresh one does. `close` closes the pools of the apps it made.
 */
export function appsOver(data: Pick<TestData, 'ctx' | 'sessions'>) {
  const pools: { close(): Promise<void> }[] = [];
  return {
    async make() {
      const { createApp, WorkPool, Renderer } = await appModules();
      const renderer = new Renderer(new WorkPool());
      pools.push(renderer.pool);
      return createApp({
        ctx: data.ctx,
        config: { baseUrl: 'http://ratify.test', writeLimit: 0 },
        sessions: data.sessions,
        renderer,
      });
    },
    async close() {
      for (const p of pools) await p.close().catch(() => {});
    },
  };
}

/** An app over fresh test data; call `cleanup` in afterAll/afterEach. */
export async function openTestApp(opts: Parameters<typeof openTestData>[0] & { writeLimit?: number } = {}) {
  const { createApp, WorkPool, Renderer } = await appModules();
  const data = await openTestData(opts);
  // The app's worker pool is closed with the data (an app that makes its own never closes it: its
  // idle threads would live on for a minute, or until the jest worker exits).
  const renderer = new Renderer(new WorkPool());
  const app = createApp({
    ctx: data.ctx,
    config: { baseUrl: 'http://ratify.test', writeLimit: opts.writeLimit ?? 0 },
    sessions: data.sessions,
    renderer,
  });
  return {
    ...data,
    app,
    renderer,
    cleanup: async () => {
      await renderer.pool.close().catch(() => {});
      await data.cleanup();
    },
  };
}
