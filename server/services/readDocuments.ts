import { absent, invalid } from '../domain/errors.js';
import { isSlug } from '../domain/slug.js';
import {
  versionKey,
  type CollectionName,
  type DocumentRecord,
  type SubjectRef,
  type VersionRecord,
} from '../store/meta/schema.js';
import { subjectKey } from '../store/meta/indexes.js';
import type { Actor } from '../domain/actor.js';
import type { Change } from '../domain/diff.js';
import { authorize } from '../domain/policy.js';
import type { Ctx } from './context.js';
import { diffTexts } from './diffTexts.js';
import { groupName } from './groups.js';

/** The published side: documents, versions and diffs, read from the version index (never by walking git). */

export function listDocuments(ctx: Ctx): { doc: DocumentRecord; latest: VersionRecord }[] {
  // Whole-table: the list of every document (a committee keeps a few).
  return ctx.meta
    .all('documents')
    .filter((d) => d.latest > 0)
    .sort((a, b) => a.title.localeCompare(b.title))
    .map((doc) => ({ doc, latest: ctx.meta.get('versions', versionKey(doc.slug, doc.latest))! }));
}

/** Admin › Documents: every document with its latest version and its owning group's name (the secretariat; 403 / 401 otherwise). */
export function managedDocuments(
  ctx: Ctx,
  actor: Actor | null,
): { doc: DocumentRecord; latest: VersionRecord; groupName: string }[] {
  authorize(actor, 'document.manage');
  return listDocuments(ctx).map(({ doc, latest }) => ({ doc, latest, groupName: groupName(ctx, doc.group) }));
}

/** A document's record by slug, or undefined if there is none (documents are public). */
export function findDocument(ctx: Ctx, slug: string): DocumentRecord | undefined {
  return ctx.meta.get('documents', slug);
}

/** A document's title, or its slug if there is no such document (where a proposal, consolidation or round names it). */
export const documentTitle = (ctx: Ctx, slug: string): string => findDocument(ctx, slug)?.title ?? slug;

export function getDocument(ctx: Ctx, slug: string): DocumentRecord {
  const doc = isSlug(slug) ? ctx.meta.get('documents', slug) : undefined;
  if (!doc || doc.latest < 1) throw absent('document');
  return doc;
}

/** Newest first. */
export function listVersions(ctx: Ctx, slug: string): VersionRecord[] {
  const doc = getDocument(ctx, slug);
  const out: VersionRecord[] = [];
  for (let n = doc.latest; n >= 1; n--) {
    const v = ctx.meta.get('versions', versionKey(slug, n));
    if (v) out.push(v);
  }
  return out;
}

export function getVersion(ctx: Ctx, slug: string, n: number): VersionRecord {
  const doc = getDocument(ctx, slug);
  const v =
    Number.isInteger(n) && n >= 1 && n <= doc.latest ? ctx.meta.get('versions', versionKey(slug, n)) : undefined;
  if (!v) throw absent('version');
  return v;
}

export async function versionText(ctx: Ctx, v: VersionRecord): Promise<string> {
  return ctx.repo.readBlobText(v.blob);
}

/** The word-level diff between two published versions (in either order). */
export async function diffVersions(
  ctx: Ctx,
  slug: string,
  from: number,
  to: number,
): Promise<{ from: VersionRecord; to: VersionRecord; changes: Change[]; texts: { from: string; to: string } }> {
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 1 || to < 1) {
    throw invalid('invalid_version', 'Versions to compare are positive whole numbers.');
  }
  const a = getVersion(ctx, slug, from);
  const b = getVersion(ctx, slug, to);
  // Cached by content where the app offers a cache (the JSON, inline and side-by-side views share it).
  const [ta, tb] = await Promise.all([versionText(ctx, a), versionText(ctx, b)]);
  const changes = await diffTexts(ctx, ta, tb);
  return { from: a, to: b, changes, texts: { from: ta, to: tb } };
}

/** What no public page shows: messages, digests, tokens and one-time links (written all the time). */
const NOT_PUBLIC: readonly CollectionName[] = ['mails', 'digestItems', 'tokens', 'linkTokens'];

/**
 * The version of what public pages are made from: the seq of the last change to any collection
 * but `NOT_PUBLIC` (a collection added later counts by itself). A page kept for anonymous readers under it (http/pageCache.ts) is made again
 * after such a change, not after a message is sent or a token used; so are the pieces of members'
 * pages kept under it (http/render/fragments.ts: comment threads, which show nothing of `NOT_PUBLIC` either).
 */
export const publicStateVersion = (ctx: Ctx): number => ctx.meta.versionExcept(NOT_PUBLIC);

/**
 * `publicStateVersion` for what is shown of one proposal or consolidation: its own text,
 * revisions and comments, and every collection that is not about one subject. A comment on or a
 * revision of another proposal leaves it as it is (store/meta/indexes.ts `SUBJECT_OF`).
 */
export const subjectStateVersion = (ctx: Ctx, subject: SubjectRef): number =>
  ctx.meta.versionOf(subjectKey(subject), NOT_PUBLIC);
