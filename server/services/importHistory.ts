import * as fsp from 'node:fs/promises';
import { isSystemActor, type Actor } from '../domain/actor.js';
import { authorize } from '../domain/policy.js';
import * as path from 'node:path';
import { conflict, invalid } from '../domain/errors.js';
import { listVersions, versionText } from './readDocuments.js';
import { provenanceOf } from './provenance.js';
import { updatePublicRepositoryQuietly } from './publicRepository.js';
import { parseHistoryTsv, placeholderEmail, type HistoryRow } from '../domain/historyTsv.js';
import { systemIdentity, type Ctx } from './context.js';
import { checkNewDocument, checkText } from './addDocument.js';
import { publishVersion } from './publishVersion.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Bring an existing history in: the files of `dir`, in name order, become versions 1…N of a
 * new document; the optional TSV gives each version its date, author and summary, which become
 * the commit's author and date (committed by the system identity). Everything is checked
 * before the first version is written; the repository's objects are packed at the end.
 */
export async function importHistory(
  ctx: Ctx,
  actor: Actor | null,
  input: { slug: string; title: string; group: string; dir: string; tsv?: string },
  progress: (done: number, total: number) => void = () => {},
) {
  authorize(actor, 'document.manage');
  // An import interrupted half-way (a crash, a kill) left versions 1…k of this very history:
  // running the same command again goes on from k+1. Anything else under that slug is refused.
  const existing = ctx.meta.get('documents', input.slug);
  if (!existing) checkNewDocument(ctx, input);
  const entries = await fsp.readdir(input.dir, { withFileTypes: true }).catch(() => {
    throw invalid('invalid_dir', `Cannot read the folder ${input.dir}.`);
  });
  const files = entries
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  if (!files.length) throw invalid('empty_dir', `The folder ${input.dir} holds no version files.`);
  let rows: HistoryRow[] | null = null;
  if (input.tsv) {
    rows = parseHistoryTsv(await fsp.readFile(input.tsv, 'utf8'));
    if (rows.length !== files.length) {
      throw invalid(
        'tsv_mismatch',
        `The TSV has ${rows.length} rows but the folder has ${files.length} files; give one row per file.`,
      );
    }
  }
  const texts: string[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = utf8.decode(await fsp.readFile(path.join(input.dir, f)));
    } catch {
      throw invalid('invalid_encoding', `${f} is not UTF-8 text.`);
    }
    checkText(text);
    texts.push(text);
  }
  const done = existing ? await importedPrefix(ctx, input.slug, texts) : 0;
  if (existing && done >= texts.length)
    throw conflict('document_exists', `The document ${input.slug} already exists with this whole history.`);
  for (let i = done; i < texts.length; i++) {
    const row = rows?.[i];
    const at = row?.at ?? ctx.clock();
    const author = row
      ? { name: row.author, email: placeholderEmail(row.author), at, tzOffset: row.tzOffset }
      : actor && !isSystemActor(actor)
        ? { name: actor.name, email: actor.email, at }
        : systemIdentity(at);
    await publishVersion(ctx, {
      slug: input.slug,
      title: input.title.trim(),
      group: input.group,
      text: texts[i],
      summary: row?.subject || `Imported from ${files[i]}`,
      author,
      // Recorded now, by the system: the historical date is the author's (issue 16: `git log --since` finds imports).
      committer: systemIdentity(ctx.clock()),
      batch: true,
      actor: actor?.email ?? null,
      alsoWrite: () =>
        i === 0 ? { events: [{ action: 'document.imported', subject: `document/${input.slug}` }] } : {},
    });
    progress(i + 1, texts.length);
  }
  // An import leaves hundreds of loose objects (each version's text whole): pack them now, with
  // deltas between the versions. A failure is logged and changes nothing (they stay loose).
  await ctx.repo.packQuietly();
  // Once for the whole import: the public repository gets the versions and their tags.
  await ctx.publishing.run(() => updatePublicRepositoryQuietly(ctx));
  // Every version's paragraph provenance, so that the first reader of an old version waits for none.
  await provenanceOf(ctx, input.slug, texts.length).catch((e) => console.error('Provenance of the import failed', e));
  return { slug: input.slug, versions: texts.length, ...(done ? { resumedAfter: done } : {}) };
}

/** How many of `texts` are already versions 1…k of the document, byte for byte; refuse when it is another history. */
async function importedPrefix(ctx: Ctx, slug: string, texts: string[]): Promise<number> {
  const latest = ctx.meta.get('documents', slug)!.latest;
  const same =
    latest <= texts.length &&
    (
      await Promise.all(listVersions(ctx, slug).map(async (v) => (await versionText(ctx, v)) === texts[v.number - 1]))
    ).every(Boolean);
  if (!same)
    throw conflict(
      'document_exists',
      `The document ${slug} already exists (and is not an interrupted import of these files).`,
    );
  return latest;
}
