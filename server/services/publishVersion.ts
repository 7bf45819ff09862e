import { conflict } from '../domain/errors.js';
import { documentPath, versionTag } from '../domain/slug.js';
import { formatMessage, versionTrailers, type Trailers } from '../domain/versionMessage.js';
import type { Identity } from '../store/git/repository.js';
import type { Change } from '../store/meta/metaStore.js';
import { versionKey, type VersionRecord } from '../store/meta/schema.js';
import { MAIN, systemIdentity, type Ctx } from './context.js';
import { updatePublicRepositoryQuietly } from './publicRepository.js';
import { provenanceOf } from './provenance.js';

export interface PublishInput {
  slug: string;
  title: string;
  group: string;
  text: string;
  summary: string;
  author: Identity;
  /** Who records it in git (the system for imports; the publisher otherwise). */
  committer?: Identity;
  /** Further trailers (the decision record). */
  trailers?: Trailers;
  proposals?: number[];
  round?: number | null;
  consolidation?: number | null;
  /** Store changes that must land together with the version (state changes, mails, audit). */
  alsoWrite?: (v: VersionRecord) => Partial<Pick<Change, 'puts' | 'dels' | 'events'>>;
  actor?: string | null;
  /**
   * One of many versions published in a row (an import): the public repository and the
   * paragraph provenance are left to the caller, which brings them up once at the end (each
   * costs a pass over every tag, so per version an import of N versions would cost N²).
   */
  batch?: boolean;
  /** Refuse (409 `stale`) unless the document's latest version is still this one (checked under the publishing lock). */
  expectedLatest?: number;
}

/**
 * Publish the next version of one document: a commit on `main` (parent: the current `main`,
 * tree: `main`'s with the document's file set to `text`), the annotated tag `<slug>/v<N>`, then
 * one store write with the version index entry and whatever must land with it, then the public
 * repository (`DATA_DIR/public.git`) is brought up to `main`; after the lock, the new version's
 * paragraph provenance is computed (services/provenance.ts). Publications
 * are serialised; `main` moves only by compare-and-swap. If the process dies after the git
 * writes, `repairFromMain` completes the store from git at the next start.
 */
export async function publishVersion(ctx: Ctx, input: PublishInput): Promise<VersionRecord> {
  const published = await ctx.publishing.run(async () => {
    const doc = ctx.meta.get('documents', input.slug);
    // An existing document keeps the title and group it has now (read under the lock): a
    // concurrent rename must not be undone by a publication that read the old ones.
    if (input.expectedLatest !== undefined && (doc?.latest ?? 0) !== input.expectedLatest) {
      throw conflict('stale', 'A newer version was published after this text was prepared: rebuild it.');
    }
    const title = doc?.title ?? input.title;
    const group = doc?.group ?? input.group;
    const number = (doc?.latest ?? 0) + 1;
    const head = await ctx.repo.resolve(MAIN);
    if (head !== (ctx.meta.get('system', 'main')?.indexedMain ?? null)) {
      throw conflict(
        'index_behind',
        'The published history changed outside this server; restart it to re-read the repository.',
      );
    }
    const message = formatMessage(input.summary, [
      ...versionTrailers({ slug: input.slug, number, title, group }),
      ...(input.trailers ?? []),
    ]);
    // git keeps whole seconds: the index must say exactly what git says.
    const committer = { ...(input.committer ?? input.author) };
    committer.at = new Date(Math.floor(committer.at.getTime() / 1000) * 1000);
    const author = { ...input.author, at: new Date(Math.floor(input.author.at.getTime() / 1000) * 1000) };
    const { commit, blob } = await ctx.repo.commitFile({
      ref: MAIN,
      expected: head,
      parent: head,
      filepath: documentPath(input.slug),
      text: input.text,
      message,
      author,
      committer,
    });
    await ctx.repo.createTag({
      name: versionTag(input.slug, number),
      object: commit,
      message: input.summary || `Version ${number}`,
      tagger: committer,
    });
    const version: VersionRecord = {
      document: input.slug,
      number,
      commit,
      blob,
      // When the text was adopted: the author's date (for an imported version, its historical date;
      // the committer's date is when Ratify recorded it, so `git log --since` finds recent imports).
      publishedAt: author.at.toISOString(),
      author: { name: input.author.name, email: input.author.email },
      summary: input.summary.trim(),
      proposals: input.proposals ?? [],
      round: input.round ?? null,
      consolidation: input.consolidation ?? null,
    };
    const extra = input.alsoWrite?.(version);
    const now = ctx.clock();
    await ctx.meta.write({
      actor: input.actor ?? null,
      at: now,
      events: [{ action: 'version.published', subject: versionTag(input.slug, number) }, ...(extra?.events ?? [])],
      puts: {
        ...extra?.puts,
        documents: {
          ...extra?.puts?.documents,
          [input.slug]: doc
            ? { ...doc, latest: number }
            : { slug: input.slug, title, group, latest: number, createdAt: author.at.toISOString() },
        },
        versions: { ...extra?.puts?.versions, [versionKey(input.slug, number)]: version },
        system: { main: { ...ctx.meta.get('system', 'main'), indexedMain: commit } },
      },
      dels: extra?.dels,
    });
    // The same step, still under the publishing lock: the public repository gets the commit and the tag.
    if (!input.batch) await updatePublicRepositoryQuietly(ctx);
    return version;
  });
  // After the lock: the new version's paragraph provenance, from the one before (a few ms; never fails a publication).
  if (!input.batch) void provenanceOf(ctx, input.slug, published.number).catch(() => {});
  return published;
}

export { systemIdentity };
