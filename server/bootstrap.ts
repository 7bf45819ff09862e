import * as fsp from 'node:fs/promises';
import { ensureInstallId } from './services/notifications/queue.js';
import * as path from 'node:path';
import type { Config } from './config.js';
import { makeCtx, type Ctx } from './services/context.js';
import { Hasher, type HasherOptions } from './services/auth/passwords.js';
import { repairFromMain } from './services/repairFromMain.js';
import { seedDocuments } from './services/seedDocuments.js';
import { sweepRounds } from './services/rounds/rounds.js';
import { GitRepository } from './store/git/repository.js';
import { PublicRepository } from './store/git/publicRepository.js';
import { DerivedFiles } from './store/derivedFiles.js';
import { moveDraftRefs, updatePublicRepository } from './services/publicRepository.js';
import { MetaStore } from './store/meta/metaStore.js';
import type { DetachSpec } from './store/meta/detachedBodies.js';

/** What the server keeps out of memory: the text and HTML of every queued message. */
/** What the server keeps of messages on disk rather than in memory (the mail bench opens its store the same way). */
export const MAIL_BODIES: DetachSpec = { kind: 'mails', fields: ['text', 'html'] };
import { acquireLock } from './store/processLock.js';
import { dataFolderState, NoDataFolderError } from './store/dataFolder.js';
import { FileSessionStore } from './store/sessions/fileSessionStore.js';
import { once } from './util/once.js';
import { randomBytes } from 'node:crypto';

export interface OpenData {
  ctx: Ctx;
  sessions: { secret: string; store: FileSessionStore };
  close: () => Promise<void>;
  setSocket: (socket: string) => Promise<void>;
  /**
   * What this start had to repair of what the last run left: bytes of a torn journal tail cut
   * (a crash mid-write), versions restored from `main` (a crash between git and the store).
   * Both 0 after a clean shutdown.
   */
  repairs: { journalTornBytes: number; versionsFromMain: number };
}

/**
 * Take the data folder's lock, open the git repository (refusing a damaged one), the public
 * repository and the metadata store, move drafts out of `refs/heads/` (once), repair the
 * version index from `main`, bring the public repository up to it, and seed a fresh install. With
 * `create: false` (the admin CLI) DATA_DIR must already be a data folder: a missing or empty
 * one is refused (NoDataFolderError), never made.
 */
export async function openData(
  config: Pick<Config, 'dataDir' | 'documentsDir'> &
    Partial<
      Pick<
        Config,
        'sessionSecret' | 'baseUrl' | 'listAddress' | 'replyDomain' | 'reminderHours' | 'digestHour' | 'passwordHashN'
      >
    >,
  role: 'server' | 'cli',
  opts: {
    clock?: () => Date;
    seed?: boolean;
    hashing?: Partial<HasherOptions>;
    create?: boolean;
    /** Keep messages' text and HTML in their records rather than in files (most tests read them there). */
    mailBodiesInRecords?: boolean;
    /**
     * Leave the repositories' loose objects uncounted until `repo.countBacklog()` and
     * `publicRepo.repo.countBacklog()` are called (the server, once its start is done).
     */
    backlogLater?: boolean;
  } = {},
): Promise<OpenData> {
  if (opts.create === false) {
    const state = await dataFolderState(config.dataDir);
    if (state !== 'data') throw new NoDataFolderError(config.dataDir, state);
  } else await fsp.mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const lock = await acquireLock(config.dataDir, { role });
  try {
    // Only a server packs by itself every so many writes; a command packs after an import, or on `gc`.
    const backlog = opts.backlogLater ? ('later' as const) : undefined;
    const repo = await GitRepository.open(
      path.join(config.dataDir, 'git'),
      role === 'cli' ? { packEvery: null, backlog } : { backlog },
    );
    const publicRepo = await PublicRepository.open(path.join(config.dataDir, 'public.git'), { backlog });
    // Messages' text and HTML stay on disk, not in memory (tests may keep them in the records).
    // The server reads the waiting messages' records after it listens (main.ts: `readLater`):
    // at ten years' volume they were most of the snapshot, and half a second of the start.
    const meta = await MetaStore.open(path.join(config.dataDir, 'meta'), {
      detach: opts.mailBodiesInRecords ? undefined : MAIL_BODIES,
      ...(role === 'server' ? { later: ['mails'] as const } : {}),
    });
    const ctx = makeCtx(
      repo,
      meta,
      opts.clock,
      {
        baseUrl: config.baseUrl,
        listAddress: config.listAddress ?? null,
        replyDomain: config.replyDomain ?? null,
        reminderHours: config.reminderHours,
        digestHour: config.digestHour,
      },
      new Hasher({ ...(config.passwordHashN ? { N: config.passwordHashN } : {}), ...opts.hashing }),
    );
    ctx.publicRepo = publicRepo;
    ctx.derived = new DerivedFiles(path.join(config.dataDir, 'cache'));
    await ensureInstallId(ctx);
    // Drafts out of refs/heads/ (once; a start killed halfway finishes here).
    await moveDraftRefs(ctx);
    const versionsFromMain = await repairFromMain(ctx);
    // public.git left behind by a crash (or new) catches up with main and the version tags.
    await updatePublicRepository(ctx);
    if (opts.seed !== false) await seedDocuments(ctx, config.documentsDir);
    // Rounds whose deadline passed while nothing ran close now, as of their deadline.
    await sweepRounds(ctx);
    const store = await FileSessionStore.open(path.join(config.dataDir, 'sessions'), ctx.clock);
    return {
      ctx,
      sessions: { secret: config.sessionSecret ?? (await sessionSecret(config.dataDir)), store },
      setSocket: (socket) => lock.update({ socket }),
      repairs: { journalTornBytes: meta.tornBytesAtOpen, versionsFromMain },
      close: once(async () => {
        try {
          store.close();
          await repo.close();
          await publicRepo.close();
          await meta.close();
        } finally {
          // Even when a close failed: the folder stays openable (a second close would not try again).
          await lock.release();
        }
      }),
    };
  } catch (e) {
    await lock.release();
    throw e;
  }
}

/** SESSION_SECRET when set; otherwise one generated on first start and kept (0600) in DATA_DIR. */
async function sessionSecret(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'session-secret');
  try {
    const s = (await fsp.readFile(file, 'utf8')).trim();
    if (s.length >= 32) return s;
  } catch {
    // first start
  }
  const s = randomBytes(32).toString('hex');
  await fsp.writeFile(file, `${s}\n`, { mode: 0o600 });
  return s;
}
