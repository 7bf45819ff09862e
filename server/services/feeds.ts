import { notFound } from '../domain/errors.js';
import type { DocumentRecord, VersionRecord } from '../domain/records.js';
import type { Ctx } from './context.js';
import { getDocument, listDocuments, listVersions } from './readDocuments.js';

/** Entries per page of a feed (RFC 5005 paging: every version is reachable). */
export const FEED_PAGE_SIZE = 50;

export interface FeedPage {
  /** The `tag:` authority of this installation (RFC 4151), fixed at first start. */
  authority: string;
  /** This page's versions, newest first. */
  entries: { doc: DocumentRecord; v: VersionRecord }[];
  /** 1-based; page 1 is the newest. */
  page: number;
  pages: number;
  /** The newest publication in the whole feed (not only on this page). */
  updated: string;
}

/** A feed's stable id for `specific` (`documents/tor/versions/3`): it never changes with BASE_URL. */
export const tagUri = (authority: string, specific: string) => `tag:${authority}:${specific}`;

/**
 * One page of the versions feed of a document (`slug`) or of the whole site (null), newest
 * first. A page past the last is "not found" (page 1 always exists, if empty).
 */
export function feedPage(ctx: Ctx, slug: string | null, page: number): FeedPage {
  const all =
    slug === null
      ? listDocuments(ctx)
          .flatMap(({ doc }) => listVersions(ctx, doc.slug).map((v) => ({ doc, v })))
          .sort((a, b) => b.v.publishedAt.localeCompare(a.v.publishedAt) || a.doc.slug.localeCompare(b.doc.slug))
      : ((doc) => listVersions(ctx, doc.slug).map((v) => ({ doc, v })))(getDocument(ctx, slug));
  const pages = Math.max(1, Math.ceil(all.length / FEED_PAGE_SIZE));
  if (page > pages) throw notFound('page_not_found', `This feed has ${pages} page${pages === 1 ? '' : 's'}.`);
  return {
    authority: ctx.meta.get('system', 'install')?.tagAuthority ?? 'localhost,2026-01-01',
    entries: all.slice((page - 1) * FEED_PAGE_SIZE, page * FEED_PAGE_SIZE),
    page,
    pages,
    updated: all[0]?.v.publishedAt ?? new Date(0).toISOString(),
  };
}
