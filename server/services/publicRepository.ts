import { isVersionTag } from '../domain/slug.js';
import type { PublicSyncReport } from '../store/git/publicRepository.js';
import type { Ctx } from './context.js';

/**
 * Bring `DATA_DIR/public.git` up to the private repository's `main` and version tags (nothing
 * else: no proposal, consolidation or draft object). Run after each publication and at start,
 * where it repairs a public repository left behind by a crash. Null when there is none.
 */
export async function updatePublicRepository(ctx: Ctx): Promise<PublicSyncReport | null> {
  if (!ctx.publicRepo) return null;
  return ctx.publicRepo.syncFrom(ctx.repo, isVersionTag);
}

/**
 * After a publication: the version is published whatever happens here, so a failure (a full
 * disk) is logged, not thrown; the next publication or the next start catches up.
 */
export async function updatePublicRepositoryQuietly(ctx: Ctx): Promise<void> {
  try {
    await updatePublicRepository(ctx);
  } catch (e) {
    console.error('Updating the public repository failed; it catches up at the next publication or start', e);
  }
}

/** Where drafts lived before: `refs/heads/<kind>/<id>`; now `refs/ratify/<kind>/<id>`. */
const MOVED = ['proposals', 'consolidations'] as const;

/**
 * The one-time move of proposal and consolidation refs out of `refs/heads/` (where a clone would
 * fetch them) to `refs/ratify/`. Each ref: write the new one, then delete the old one, so a
 * crash in between leaves both pointing at the same commit and the next start finishes. A new
 * ref that exists already wins. Returns how many refs were moved.
 */
export async function moveDraftRefs(ctx: Ctx): Promise<number> {
  let moved = 0;
  for (const kind of MOVED) {
    const from = `refs/heads/${kind}`;
    for (const old of await ctx.repo.listRefs(from)) {
      const oid = await ctx.repo.resolve(old);
      if (!oid) continue;
      const target = `refs/ratify/${kind}/${old.slice(from.length + 1)}`;
      if ((await ctx.repo.resolve(target)) === null) await ctx.repo.moveRef(target, null, oid);
      await ctx.repo.deleteRef(old, oid);
      moved++;
    }
  }
  return moved;
}

/** The folder of the public repository (what `/git/public.git` serves), or null when there is none. */
export function publicRepositoryFolder(ctx: Ctx): string | null {
  return ctx.publicRepo?.gitdir ?? null;
}
