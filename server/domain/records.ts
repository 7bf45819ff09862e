/**
 * The records the metadata store holds, by collection. Records are plain JSON; ids are the
 * record keys (numbers for people-made objects, slugs or `slug/n` for the others).
 */
export interface GroupRecord {
  slug: string;
  name: string;
  createdAt: string;
}

/**
 * A stakeholder group of the committee (governments, private sector, civil society, technical
 * community…), keyed by slug. Distinct from the working groups: each member belongs to at most one.
 */
export interface StakeholderRecord {
  slug: string;
  name: string;
  createdAt: string;
}

export interface DocumentRecord {
  slug: string;
  title: string;
  group: string;
  /** The short label mail subjects carry (`[ToR] Proposal 1: …`); absent: the default from the slug (domain/mail.ts). */
  label?: string;
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

/** Non-essential messages: each at once, in a daily digest, or not at all. */
export const NOTIFY_PREFERENCES = ['immediate', 'digest', 'none'] as const;
export type NotifyPreference = (typeof NOTIFY_PREFERENCES)[number];

/**
 * The kinds of non-essential mail a member may choose for separately (and unsubscribe from
 * with one click): each notification event belongs to one (`mailKindOf` in domain/mail.ts).
 */
export const MAIL_KINDS = ['proposals', 'comments', 'rounds', 'versions'] as const;
export type MailKind = (typeof MAIL_KINDS)[number];

export interface UserRecord {
  id: number;
  email: string;
  name: string;
  roles: ('member' | 'chair' | 'secretariat')[];
  groups: string[];
  /** The slug of the person's stakeholder group; absent or null: none. */
  stakeholder?: string | null;
  disabled: boolean;
  /** scrypt hash (never the password); null until the person sets one. */
  passwordHash: string | null;
  /** Bumped when sessions must end (disable, password change): sessions carry the epoch they began in. */
  sessionEpoch: number;
  totp: { secret: string; enabled: boolean; lastStep: number; recovery: string[] } | null;
  /** How the person gets non-essential messages (ballot invitations and reminders always go). */
  notify?: NotifyPreference;
  /** Per kind of mail, where the person chose otherwise than `notify`. */
  notifyKinds?: Partial<Record<MailKind, NotifyPreference>>;
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

/** A proposed change to one document, on its own ref `refs/ratify/proposals/<id>`. */
export interface ProposalRecord {
  id: number;
  document: string;
  title: string;
  rationale: string;
  authorId: number;
  state: 'draft' | 'shared' | 'consolidated' | 'withdrawn';
  /** The commit of `main` it was based on when created, and the document's version then. */
  base: string;
  baseVersion?: number;
  head: string;
  /** Number of saved revisions (revision 1 is the text it was created with). */
  revisions: number;
  /** Whether it was ever shared (a withdrawn shared proposal stays visible to members). */
  wasShared: boolean;
  /** The round open on it, if any (its text is then frozen). */
  openRound: number | null;
  createdAt: string;
  updatedAt: string;
}

/** One saved revision of a proposal or consolidation: keyed `proposal/<id>/<n>` or `consolidation/<id>/<n>`. */
export interface RevisionRecord {
  subject: SubjectRef;
  n: number;
  commit: string;
  blob: string;
  authorId: number;
  at: string;
}

export interface SubjectRef {
  type: 'proposal' | 'consolidation';
  id: number;
}

export interface CommentRecord {
  id: number;
  subject: SubjectRef;
  authorId: number;
  body: string;
  /** A quoted passage of a given revision, at an offset of that revision's text. */
  anchor: { quote: string; offset: number; revision: number } | null;
  replyTo: number | null;
  resolved: boolean;
  resolvedBy: number | null;
  createdAt: string;
  /** The Message-ID of the mail it came from, when it is a reply by mail (so a redelivery posts nothing twice). */
  viaMail?: string;
  /** A suggested change (proposals only, on an anchored comment): what should replace the quoted passage ('' deletes it). */
  suggestion?: string;
  /** The revision the suggestion was applied in. */
  appliedIn?: number;
}

/** A candidate next version of one document, on `refs/ratify/consolidations/<id>`. */
export interface ConsolidationRecord {
  id: number;
  document: string;
  state: 'open' | 'published' | 'abandoned';
  /** The commit of `main` it was built on, and the version that was then current. */
  base: string;
  baseVersion: number;
  head: string;
  revisions: number;
  proposals: number[];
  summary: string;
  createdBy: number;
  openRound: number | null;
  publishedVersion: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface RoundRecord {
  id: number;
  /** When the reminder to those who had not voted was queued. */
  remindedAt?: string | null;
  subject: SubjectRef;
  document: string;
  /** The exact revision under vote. */
  commit: string;
  revision: number;
  rule: 'consensus' | 'majority' | 'two-thirds';
  quorumBp: number;
  closesAt: string;
  openedAt: string;
  openedBy: number;
  state: 'open' | 'closed' | 'cancelled';
  /** The users holding the member role (and not disabled) when it opened. */
  electorate: number[];
  result: 'passed' | 'failed' | 'no-quorum' | null;
  /** The counts at the close (`recused` and `groups` absent on rounds closed before they existed). */
  tally: StoredTally | null;
  /** When the rule held but a condition did not: which, and in which stakeholder group. */
  failedCondition?: { kind: 'eachGroupTakesPart' | 'ruleWithinEachGroup'; group: string } | null;
  closedAt: string | null;
  closedBy: number | null;
  cancelReason: string | null;
  /** How the record names voters (absent on rounds opened before the choice existed: named). */
  record?: 'named' | 'unnamed';
  /** Conditions added to the rule, per stakeholder group (absent: none). */
  conditions?: { eachGroupTakesPart: boolean; ruleWithinEachGroup: boolean };
  /** Each elector's stakeholder group when the round opened, by user id (electors without one are absent). */
  stakeholderOf?: Record<string, string>;
  /** Electors who stood aside, with their reason (always named); a withdrawn recusal is removed. */
  recusals?: RecusalEntry[];
  /** The key of this round's ballot receipts (random, never shown). */
  receiptKey?: string;
}

export interface StoredTally {
  approve: number;
  object: number;
  abstain: number;
  notVoted: number;
  recused?: number;
  groups?: Record<string, { approve: number; object: number; abstain: number; notVoted: number; recused: number }>;
}

export interface RecusalEntry {
  voterId: number;
  reason: string;
  at: string;
  /** Who recorded it on the member's behalf, with where and how the member said so. */
  recordedBy: number | null;
  note?: string;
}

export interface BallotRecord {
  id: number;
  round: number;
  voterId: number;
  position: 'approve' | 'object' | 'abstain';
  reason: string;
  castAt: string;
  /** The secretariat member who recorded it on the voter's behalf (cast in a meeting), if any. */
  recordedBy: number | null;
  /** For a recorded ballot: where and how the member voted (shown in the record). */
  note?: string | null;
  /** In an unnamed round: the voter asked to be named in the public record. */
  named?: boolean;
}

/**
 * One outgoing message, queued in the same store write as the event that caused it. Once it was
 * sent and MAIL_RETENTION_DAYS have passed it becomes compact (`bodyDroppedAt` set): what is
 * only needed to send it — text, HTML, In-Reply-To, List-Unsubscribe, Reply-To, the next attempt,
 * the last error, an empty Bcc — is gone; ids, recipients, subject, references and times stay,
 * which is what the queue page and threading read.
 */
export interface MailRecord {
  id: number;
  /** Stable across retries and restarts: a message is never sent as two different messages. */
  messageId: string;
  /**
   * The logical message this copy is of (`<proposal-1@host>`), the same for every recipient;
   * `messageId` is this recipient's copy. Absent on mails queued before threading per recipient.
   */
  key?: string;
  /** The logical id of the thread's root (the first of the logical references, or the message itself). */
  thread?: string;
  event: string;
  to: string[];
  /** Absent on a compact record whose Bcc was empty. */
  bcc?: string[];
  subject: string;
  /** Absent on a compact record (as `html`, `inReplyTo`, `listUnsubscribe`, `nextAttemptAt`, `lastError`). */
  text?: string;
  html?: string;
  inReplyTo?: string | null;
  references: string[];
  listUnsubscribe?: string | null;
  /** `reply+<token>@<REPLY_DOMAIN>` on a member's copy of a notification they may answer by mail (absent otherwise). */
  replyTo?: string | null;
  state: 'pending' | 'sent' | 'failed';
  attempts: number;
  nextAttemptAt?: string;
  lastError?: string | null;
  createdAt: string;
  sentAt: string | null;
  /** When the text and HTML were dropped (MAIL_RETENTION_DAYS after sending); the record stays. */
  bodyDroppedAt?: string;
  /**
   * On the server, the file (in DATA_DIR/meta/bodies) that holds this message's text and HTML,
   * which the record then holds empty; absent once they are dropped, and in a store opened
   * without detached bodies.
   */
  body?: string;
}

/** A non-essential message waiting for its reader's daily digest. */
export interface DigestItemRecord {
  id: number;
  userId: number;
  subject: string;
  text: string;
  link: string;
  createdAt: string;
}

/** A single-use link (invitation or password reset), keyed by the SHA-256 of its token. */
export interface LinkTokenRecord {
  hash: string;
  userId: number;
  purpose: 'invite' | 'reset';
  expiresAt: string;
  usedAt: string | null;
  createdAt: string;
}

/** Site-wide security settings the secretariat controls. */
export interface SecuritySettings {
  requireTotpFor: ('chair' | 'secretariat')[];
}

/** How rounds are held unless a round says otherwise (the secretariat's choice). */
export interface RoundSettings {
  /** The record a new round keeps when its opener does not choose. */
  defaultRecord: 'named' | 'unnamed';
  /** Whether the chair, as well as the secretariat, may record ballots on members' behalf. */
  chairMayRecord: boolean;
}

/** The settings records, keyed `security` and `rounds`. */
export type SettingsRecord = Partial<SecuritySettings & RoundSettings>;

/** Singleton settings: whether the seed ran, and how far the version index has read `main`. */
export interface SystemRecord {
  seeded?: boolean;
  indexedMain?: string | null;
  /** The last UTC day whose digests were composed. */
  lastDay?: string;
  /** This installation's random id, made at first start: part of every Message-ID, so two installations never share one. */
  installId?: string;
  /** The key of this installation's one-click unsubscribe links (random, never shown). */
  mailSecret?: string;
  /**
   * The tagging authority of this installation's feed ids (RFC 4151: `host,YYYY-MM-DD`), from
   * BASE_URL's host and the day of first start: feed entry ids never change when BASE_URL does.
   */
  tagAuthority?: string;
}

export interface Collections {
  groups: GroupRecord;
  stakeholders: StakeholderRecord;
  documents: DocumentRecord;
  versions: VersionRecord;
  system: SystemRecord;
  users: UserRecord;
  tokens: TokenRecord;
  settings: SettingsRecord;
  proposals: ProposalRecord;
  revisions: RevisionRecord;
  comments: CommentRecord;
  consolidations: ConsolidationRecord;
  rounds: RoundRecord;
  ballots: BallotRecord;
  mails: MailRecord;
  digestItems: DigestItemRecord;
  linkTokens: LinkTokenRecord;
}

export const revisionKey = (s: SubjectRef, n: number) => `${s.type}/${s.id}/${n}`;

export type CollectionName = keyof Collections;

export const versionKey = (slug: string, n: number) => `${slug}/${n}`;
