import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Config } from './config.js';
import { makeCtx, type Ctx } from './services/context.js';
import { indexMain } from './services/indexMain.js';
import { seedDocuments } from './services/seedDocuments.js';
import { GitRepository } from './store/git/repository.js';
import { MetaStore } from './store/meta/metaStore.js';
import { acquireLock } from './store/processLock.js';

export interface OpenData {
  ctx: Ctx;
  close: () => Promise<void>;
  setSocket: (socket: string) => Promise<void>;
}

/**
 * Take the data folder's lock, open the git repository (refusing a damaged one) and the
 * metadata store, repair the version index from `main`, and seed a fresh install.
 */
export async function openData(
  config: Pick<Config, 'dataDir' | 'documentsDir'>,
  role: 'server' | 'cli',
  opts: { clock?: () => Date; seed?: boolean } = {},
): Promise<OpenData> {
  await fsp.mkdir(config.dataDir, { recursive: true });
  const lock = await acquireLock(config.dataDir, { role });
  try {
    const repo = await GitRepository.open(path.join(config.dataDir, 'git'));
    const meta = await MetaStore.open(path.join(config.dataDir, 'meta'));
    const ctx = makeCtx(repo, meta, opts.clock);
    await indexMain(ctx);
    if (opts.seed !== false) await seedDocuments(ctx, config.documentsDir);
    return {
      ctx,
      setSocket: (socket) => lock.update({ socket }),
      close: async () => {
        await meta.close();
        await lock.release();
      },
    };
  } catch (e) {
    await lock.release();
    throw e;
  }
}
