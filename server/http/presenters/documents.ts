import type { DocumentRecord, VersionRecord } from '../../store/meta/schema.js';

/** Flat API shapes of the published side (API.md). */
export const versionRef = (v: VersionRecord) => ({ number: v.number, commit: v.commit, publishedAt: v.publishedAt });

export const documentSummary = (doc: DocumentRecord, latest: VersionRecord) => ({
  slug: doc.slug,
  title: doc.title,
  group: doc.group,
  version: versionRef(latest),
});

export const versionEntry = (v: VersionRecord, round: unknown = null) => ({
  ...versionRef(v),
  author: v.author.name,
  summary: v.summary,
  proposals: v.proposals,
  round,
});
