import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from '../../server/app.js';
import { openData, type OpenData } from '../../server/bootstrap.js';
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
  } = {},
): Promise<TestData> {
  const dataDir = opts.dataDir ?? (await tempDir());
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
  });
  return {
    ...data,
    dataDir,
    cleanup: async () => {
      await data.close().catch(() => {});
      await fsp.rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** An app over fresh test data; call `cleanup` in afterAll/afterEach. */
export async function openTestApp(opts: Parameters<typeof openTestData>[0] & { writeLimit?: number } = {}) {
  const data = await openTestData(opts);
  const app = createApp({
    ctx: data.ctx,
    config: { baseUrl: 'http://ratify.test', writeLimit: opts.writeLimit ?? 0 },
    sessions: data.sessions,
  });
  return { ...data, app };
}
