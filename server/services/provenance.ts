import { createHash } from 'node:crypto';
import { carryOrigins, type Provenance } from '../domain/provenance.js';
import type { VersionRecord } from '../domain/records.js';
import { numberedSources } from '../util/documentHtml.js';
import type { Ctx } from './context.js';
import { getVersion, versionText } from './readDocuments.js';

/**
 * Which version last changed each paragraph of a published version (issue 16, "blame" for
 * prose). A version's provenance is computed from the one before it (the paragraph diff of the
 * two texts, domain/provenance.ts), so only versions not yet known are computed, oldest first;
 * each is kept by its commit in memory and, when the app gives a place, on disk
 * (`ctx.derived`), and a publication computes its new version's at once.
 */

/** A paragraph's key: its exact text, hashed (12 bytes: collisions in one document are not a concern). */
const keyOf = (s: string) => createHash('sha1').update(s).digest('base64url').slice(0, 16);

const KIND = 'provenance';

async function known(ctx: Ctx, v: VersionRecord): Promise<Provenance | undefined> {
  const hit = ctx.provenance.get(v.commit);
  if (hit) return hit;
  const stored = await ctx.derived?.read<Provenance>(KIND, v.commit);
  if (
    stored &&
    Array.isArray(stored.keys) &&
    Array.isArray(stored.origins) &&
    stored.keys.length === stored.origins.length
  ) {
    ctx.provenance.set(v.commit, stored);
    return stored;
  }
  return undefined;
}

/** The provenance of version `n` of `slug`, computing what is not yet known (one document at a time). */
export async function provenanceOf(ctx: Ctx, slug: string, n: number): Promise<Provenance> {
  const target = getVersion(ctx, slug, n);
  const ready = await known(ctx, target);
  if (ready) return ready;
  return ctx.subjects.run(`provenance:${slug}`, async () => {
    // Back to the newest version whose provenance is known (or the first), then forward.
    let from = n;
    let before: Provenance | null = null;
    for (; from >= 1; from--) {
      const got = await known(ctx, getVersion(ctx, slug, from));
      if (got) {
        before = got;
        break;
      }
    }
    for (let k = Math.max(from, 0) + 1; k <= n; k++) {
      const v = getVersion(ctx, slug, k);
      const keys = numberedSources(await versionText(ctx, v)).map(keyOf);
      before = carryOrigins(before, keys, k);
      ctx.provenance.set(v.commit, before);
      await ctx.derived?.write(KIND, v.commit, before);
    }
    return before!;
  });
}

export interface ParagraphOrigin {
  /** The paragraph's number on the version page (`#p-N`). */
  paragraph: number;
  /** The version that last changed it. */
  since: VersionRecord;
}

/** Each numbered paragraph of version `n` with the version that last changed it. */
export async function paragraphOrigins(ctx: Ctx, slug: string, n: number): Promise<ParagraphOrigin[]> {
  const p = await provenanceOf(ctx, slug, n);
  const versions = new Map<number, VersionRecord>();
  return p.origins.map((o, i) => {
    let since = versions.get(o);
    if (!since) versions.set(o, (since = getVersion(ctx, slug, o)));
    return { paragraph: i + 1, since };
  });
}
