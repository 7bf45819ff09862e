/**
 * The records the metadata store holds, by collection. Records are plain JSON; ids are the
 * record keys (numbers for people-made objects, slugs or `slug/n` for the others).
 */
export interface GroupRecord {
  slug: string;
  name: string;
  createdAt: string;
}

export interface DocumentRecord {
  slug: string;
  title: string;
  group: string;
  /** Number of the newest published version. */
  latest: number;
  createdAt: string;
}

/** The version index: one record per published version, keyed `slug/n`, so history never walks git. */
export interface VersionRecord {
  document: string;
  number: number;
  commit: string;
  blob: string;
  publishedAt: string;
  author: { name: string; email: string };
  summary: string;
  proposals: number[];
  round: number | null;
  consolidation: number | null;
}

/** Singleton settings: whether the seed ran, and how far the version index has read `main`. */
export interface SystemRecord {
  seeded?: boolean;
  indexedMain?: string | null;
}

export interface Collections {
  groups: GroupRecord;
  documents: DocumentRecord;
  versions: VersionRecord;
  system: SystemRecord;
}

export type CollectionName = keyof Collections;

export const versionKey = (slug: string, n: number) => `${slug}/${n}`;
