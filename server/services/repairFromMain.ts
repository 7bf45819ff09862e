import { documentPath, versionTag } from '../domain/slug.js';
import { parseMessage } from '../domain/versionMessage.js';
import type { CommitInfo } from '../store/git/repository.js';
import { versionKey, type DocumentRecord, type VersionRecord } from '../store/meta/schema.js';
import { MAIN, type Ctx } from './context.js';
import { publishedStateChanges } from './consolidations/publish.js';
import { mergePuts } from './notifications/queue.js';
import { versionPublishedMails } from './notifications/events.js';

/**
 * Bring the version index up to `main`. Normally a no-op: the index records which commit of
 * `main` it has read. After a crash between a publication's git write and its store write,
 * this reads the missing commits' trailers, restores any missing tag, and writes the index
 * entries — so the store is repaired from git, never the other way round.
 */
export async function repairFromMain(ctx: Ctx): Promise<number> {
  const head = await ctx.repo.resolve(MAIN);
  const known = ctx.meta.get('system', 'main')?.indexedMain ?? null;
  if (!head || head === known) return 0;
  const missing: CommitInfo[] = [];
  for await (const c of ctx.repo.firstParents(head, known)) missing.push(c);
  missing.reverse();
  let repaired = 0;
  for (const c of missing) {
    const { summary, trailers } = parseMessage(c.message);
    const slug = trailers.get('Ratify-Document');
    const number = Number(trailers.get('Ratify-Version'));
    let puts = {};
    let events: { action: string; subject: string }[] = [];
    if (slug && Number.isInteger(number) && number > 0 && !ctx.meta.get('versions', versionKey(slug, number))) {
      const file = await ctx.repo.readFile(c.oid, documentPath(slug));
      if (file) {
        if (!(await ctx.repo.readTag(versionTag(slug, number)))) {
          await ctx.repo.createTag({
            name: versionTag(slug, number),
            object: c.oid,
            message: summary,
            tagger: { ...c.committer },
          });
        }
        const prior = ctx.meta.get('documents', slug);
        const doc: DocumentRecord = {
          slug,
          title: trailers.get('Ratify-Title') ?? prior?.title ?? slug,
          group: trailers.get('Ratify-Group') ?? prior?.group ?? 'mag',
          latest: Math.max(number, prior?.latest ?? 0),
          createdAt: prior?.createdAt ?? c.author.at.toISOString(),
          // Not in the commit's trailers: the label set on the record stays.
          ...(prior?.label ? { label: prior.label } : {}),
        };
        const version: VersionRecord = {
          document: slug,
          number,
          commit: c.oid,
          blob: file.oid,
          // The author's date: when the text was adopted (an imported version's historical date; the committer's is when Ratify recorded it).
          publishedAt: c.author.at.toISOString(),
          author: { name: c.author.name, email: c.author.email },
          summary,
          proposals: (trailers.get('Ratify-Proposals') ?? '')
            .split(/[,\s]+/)
            .filter(Boolean)
            .map(Number)
            .filter(Number.isInteger),
          round: trailers.has('Ratify-Round') ? Number(trailers.get('Ratify-Round')) : null,
          consolidation: trailers.has('Ratify-Consolidation') ? Number(trailers.get('Ratify-Consolidation')) : null,
        };
        puts = { documents: { [slug]: doc }, versions: { [versionKey(slug, number)]: version } };
        // A publication whose store write was lost: its consolidation and proposals change now.
        const cons = version.consolidation ? ctx.meta.get('consolidations', version.consolidation) : undefined;
        if (cons && cons.state !== 'published') {
          const extra = publishedStateChanges(ctx, cons, number, version.publishedAt);
          // The announcement too (at least once: the mail was never queued before the crash).
          puts = mergePuts(puts, extra.puts, versionPublishedMails(ctx, version));
          events = extra.events;
        }
        repaired++;
      }
    }
    await ctx.meta.write({
      actor: null,
      at: ctx.clock(),
      events: Object.keys(puts).length ? [{ action: 'version.indexed', subject: c.oid }, ...events] : [],
      puts: { ...puts, system: { main: { ...ctx.meta.get('system', 'main'), indexedMain: c.oid } } },
    });
  }
  return repaired;
}
