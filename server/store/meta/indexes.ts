import type { IndexDef } from './secondaryIndexes.js';
import type { Collections, CollectionName, SubjectRef } from './schema.js';

export type { IndexDef };

/** The key of a proposal or consolidation in the indexes: `proposal/12`. */
export const subjectKey = (s: SubjectRef) => `${s.type}/${s.id}`;

/** The key of one recipient's copies in one thread (`address thread-root`): the `mails.thread` index. */
export const recipientKey = (address: string, thread: string) => `${address} ${thread}`;

/** The key of a record of a document in a given state: `tor/shared`. */
export const documentStateKey = (document: string, state: string) => `${document}/${state}`;

/**
 * The collections whose every record is about one proposal or consolidation, and which: its
 * `subjectKey` from the record's id, or from the record (undefined: not known from the id alone).
 * A change to one of these changes only what is shown of that subject (`MetaStore.versionOf`),
 * so pieces of another subject's pages are kept. A record's subject never changes.
 */
export const SUBJECT_OF = {
  proposals: (id: string) => `proposal/${id}`,
  revisions: (id: string) => id.slice(0, id.lastIndexOf('/')),
  comments: (_id: string, c: Collections['comments'] | undefined) => (c ? subjectKey(c.subject) : undefined),
} satisfies { [K in CollectionName]?: (id: string, r: Collections[K] | undefined) => string | undefined };

/**
 * The secondary indexes of the metadata store: per collection, each index's key (records whose
 * key is undefined are left out) and, optionally, what its records are sorted by. Queried with
 * `MetaStore.by`, `countBy` and `newest`; maintained on every write and rebuilt at start.
 */
export const INDEXES = {
  // Every ballot is cold (`COLD`): its index lists cold records.
  ballots: { round: { key: (b) => String(b.round), cold: true } },
  comments: {
    // Every comment is cold (`COLD`): its indexes list cold records.
    subject: { key: (c) => subjectKey(c.subject), cold: true },
    /** Replies by mail, by the Message-ID they came with (a mail delivered twice makes one comment). */
    viaMail: { key: (c) => c.viaMail, cold: true },
  },
  documents: { group: { key: (d) => d.group } },
  proposals: {
    document: { key: (p) => p.document },
    author: { key: (p) => String(p.authorId) },
    documentState: { key: (p) => documentStateKey(p.document, p.state) },
  },
  consolidations: { state: { key: (c) => c.state } },
  rounds: {
    subject: { key: (r) => subjectKey(r.subject) },
    state: { key: (r) => r.state },
    /** Closed and cancelled rounds, by when they ended. */
    ended: { key: (r) => (r.state === 'open' ? undefined : 'ended'), order: (r) => r.closedAt ?? '' },
    /** Every round under one key, for paging newest first. */
    all: { key: () => 'all' },
  },
  mails: {
    state: { key: (m) => m.state },
    /**
     * Waiting messages by when they are due (`nextAttemptAt`, an ISO time in UTC, so text order
     * is time order): the worker takes the first ones due, never reading a delivered message.
     */
    due: { key: (m) => (m.state === 'pending' ? 'pending' : undefined), order: (m) => m.nextAttemptAt ?? '' },
    /** Messages by the file that holds their text and HTML (`detachedBodies.ts`): a file no message names is removed. */
    bodyFile: { key: (m) => m.body },
    /** Sent messages that still hold their bodies, by when they were sent: what the retention pass drops. */
    bodyKept: {
      key: (m) => (m.state === 'sent' && !m.bodyDroppedAt && m.sentAt ? 'kept' : undefined),
      order: (m) => m.sentAt ?? '',
    },
    /**
     * Each recipient's copies in one thread (`address thread-root`), in the order queued: the
     * threading law's memory (which logical messages a recipient was sent is read from here;
     * an index of every recipient and message pair held 157 MB at ten years).
     */
    thread: {
      key: (m) => (m.thread && m.to.length === 1 && !m.bcc?.length ? recipientKey(m.to[0], m.thread) : undefined),
      // Threading reads a recipient's copies of years ago too.
      cold: true,
      split: ' ',
    },
  },
  users: {
    /** Addresses are stored normalised (trimmed, lower case). */
    email: { key: (u) => u.email },
    /** Accounts holding the member role and not disabled: the electorate of a round, the list's readers. */
    activeMember: { key: (u) => (!u.disabled && u.roles.includes('member') ? 'yes' : undefined) },
  },
  tokens: { user: { key: (t) => String(t.userId) } },
  linkTokens: { user: { key: (l) => String(l.userId) } },
} satisfies { [K in CollectionName]?: Record<string, IndexDef<Collections[K]>> };

export type IndexedCollection = keyof typeof INDEXES;
export type IndexName<K extends IndexedCollection> = keyof (typeof INDEXES)[K] & string;

/**
 * Records that go cold once stored so (`coldRecords.ts`): kept on disk, out of memory and of the
 * snapshot, found by id and by the indexes that declare `cold`. A message sent and compacted
 * (`compactMail`) never changes again: at ten years 1.5 million of them were most of the heap.
 * Comments are all cold: at ten years 100,000 of them were ~40 % of the snapshot, read at every
 * start, while a page reads one proposal's few hundred (a resolved thread's comment is written
 * again, at the cold file's end). Pages keep what they made of them (`render/fragments.ts`).
 * Ballots are all cold: never changed (a voter's new ballot is a new record), 50,000 at ten years,
 * read by round.
 */
export const COLD = {
  mails: (m) => m.state === 'sent' && !!m.bodyDroppedAt,
  comments: () => true,
  ballots: () => true,
} satisfies { [K in CollectionName]?: (r: Collections[K]) => boolean };
