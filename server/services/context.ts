import type { GitRepository, Identity } from '../store/git/repository.js';
import type { PublicRepository } from '../store/git/publicRepository.js';
import type { MetaStore } from '../store/meta/metaStore.js';
import type { DerivedFiles } from '../store/derivedFiles.js';
import type { Section } from '../domain/sections.js';
import type { Provenance } from '../domain/provenance.js';
import { Lru } from '../util/lru.js';
import { KeyedMutex, Mutex } from '../util/mutex.js';
import { Hasher } from './auth/passwords.js';
import type { Change } from '../domain/diff.js';
import type { AttributedPiece } from '../domain/attribution.js';

/** What every use case works with: the two stores and the clock (injected so tests control time). */
/** How Ratify addresses people by mail (from the configuration). */
export interface MailSettings {
  baseUrl: string;
  host: string;
  listAddress: string | null;
  /** The domain of reply addresses (`reply+<token>@…`, REPLY_DOMAIN), or null: notifications then carry no Reply-To. */
  replyDomain: string | null;
  /** How long before a deadline the reminder goes to those who have not voted. */
  reminderHours: number;
  /** The UTC hour at which daily digests are composed. */
  digestHour: number;
}

export interface Ctx {
  mail: MailSettings;
  repo: GitRepository;
  /** `DATA_DIR/public.git`: `main` and the version tags only, brought up after each publication (absent in some tests). */
  publicRepo?: PublicRepository;
  meta: MetaStore;
  clock: () => Date;
  /** Publications of any document are serialised: each is a commit on `main`. */
  publishing: Mutex;
  /**
   * Changes to accounts are serialised: a change applies only once it is durable, so a check
   * (address free, code unused, last secretariat) and its write must not interleave with another.
   */
  accounts: Mutex;
  /** One lock per proposal or consolidation: edits, round openings and publications of one subject never interleave. */
  subjects: KeyedMutex;
  /** Password hashing (scrypt) with its cost and queue limits: production cost by default, cheap in tests. */
  passwords: Hasher;
  /**
   * The prose diff, when the app runs it elsewhere (off the event loop, cached, time-limited);
   * absent, services diff inline (CLI, tests of services). See services/diffTexts.ts.
   */
  diff?: (from: string, to: string) => Promise<Change[]>;
  /** Computed values kept on disk by immutable key (`DATA_DIR/cache`); absent, they are kept in memory only. */
  derived?: DerivedFiles;
  /** Paragraph provenance by version commit (services/provenance.ts), bounded by paragraphs held. */
  provenance: Lru<Provenance>;
  /**
   * Attributions of consolidations already computed, keyed by the commits and sources they were
   * computed from (so an entry never goes stale): a page view or decision record does not
   * diff every revision again.
   */
  attributions?: Lru<AttributedPiece[]>;
  /**
   * A Word file's markdown, when the app reads it elsewhere (off the event loop, time-limited);
   * absent, inline (`util/wordIn.ts`). Throws `NotADocx` for what is not a .docx.
   */
  wordIn?: (bytes: Uint8Array) => Promise<string>;
  /**
   * A text's sections and section splices, when the app runs them elsewhere (off the event loop,
   * cached by content); absent, inline. See services/textSections.ts.
   */
  sections?: SectionWork;
}

/**
 * The work `ctx.sections` takes off the event loop (services/textSections.ts): what a page needs
 * of a text's sections (never all of them: 210,000 objects would take as long to pass back to
 * the event loop as to compute), and a splice.
 */
export interface SectionWork {
  linked(text: string): Promise<Section[]>;
  find(text: string, anchor: string): Promise<Section | null>;
  splice(text: string, anchor: string, replacement: string): Promise<string>;
}

/** At most this many paragraphs' provenance in memory (~40 bytes each). */
const PROVENANCE_PARAGRAPHS = 200_000;

/** At most this many characters of attributed text are kept (the texts, about 2 bytes each). */
const ATTRIBUTIONS_WEIGHT = 16 * 1024 * 1024;

export function makeCtx(
  repo: GitRepository,
  meta: MetaStore,
  clock: () => Date = () => new Date(),
  mail: Partial<MailSettings> = {},
  passwords = new Hasher(),
): Ctx {
  const baseUrl = mail.baseUrl ?? 'http://localhost:3000';
  return {
    repo,
    meta,
    clock,
    publishing: new Mutex(),
    accounts: new Mutex(),
    subjects: new KeyedMutex(),
    passwords,
    provenance: new Lru<Provenance>(PROVENANCE_PARAGRAPHS, (p) => p.keys.length + 1),
    attributions: new Lru<AttributedPiece[]>(ATTRIBUTIONS_WEIGHT, (pieces) =>
      pieces.reduce((n, p) => n + p.text.length, 0),
    ),
    mail: {
      baseUrl,
      host: mail.host ?? new URL(baseUrl).hostname,
      listAddress: mail.listAddress ?? null,
      replyDomain: mail.replyDomain ?? null,
      reminderHours: mail.reminderHours ?? 24,
      digestHour: mail.digestHour ?? 7,
    },
  };
}

export const MAIN = 'refs/heads/main';

/** The address of Ratify's own commits (a reserved domain: it is never mailed). */
export const SYSTEM_EMAIL = 'ratify@system.invalid';

/** The identity of commits Ratify makes on its own (seeding, imports' committer). */
export function systemIdentity(at: Date): Identity {
  return { name: 'Ratify', email: SYSTEM_EMAIL, at };
}
