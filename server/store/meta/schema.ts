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

export interface UserRecord {
  id: number;
  email: string;
  name: string;
  roles: ('member' | 'chair' | 'secretariat')[];
  groups: string[];
  disabled: boolean;
  /** scrypt hash (never the password); null until the person sets one. */
  passwordHash: string | null;
  /** Bumped when sessions must end (disable, password change): sessions carry the epoch they began in. */
  sessionEpoch: number;
  totp: { secret: string; enabled: boolean; lastStep: number; recovery: string[] } | null;
  createdAt: string;
  updatedAt: string;
}

/** A personal API token, keyed by the SHA-256 of the token (the token itself is shown once, never stored). */
export interface TokenRecord {
  id: number;
  hash: string;
  userId: number;
  label: string;
  createdAt: string;
  revokedAt: string | null;
}

/** Site-wide security settings the secretariat controls. */
export interface SecuritySettings {
  requireTotpFor: ('chair' | 'secretariat')[];
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
  users: UserRecord;
  tokens: TokenRecord;
  settings: SecuritySettings;
}

export type CollectionName = keyof Collections;

export const versionKey = (slug: string, n: number) => `${slug}/${n}`;
