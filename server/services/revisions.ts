import type { Actor } from '../domain/actor.js';
import { mergePuts, type Puts } from './notifications/queue.js';
import { documentPath } from '../domain/slug.js';
import { revisionKey, type Collections, type RevisionRecord } from '../store/meta/schema.js';
import type { Ctx } from './context.js';

/** The texts that have revisions: where each kind's records are kept. */
const TABLE = { proposal: 'proposals', consolidation: 'consolidations' } as const;
type Revisable<K extends keyof typeof TABLE> = Collections[(typeof TABLE)[K]];

/**
 * Save the next revision of a proposal's or a consolidation's text. The caller has made its
 * checks (may edit, state, the head the edit was made on is the record's head) under the
 * subject's lock; this commits the text on the subject's branch — the ref moves only by
 * compare-and-swap — then writes the record (new head and revision count, plus `changes`) and
 * its RevisionRecord in one store write with the audit event `action`.
 */
export async function saveRevision<K extends keyof typeof TABLE>(
  ctx: Ctx,
  actor: Actor,
  subject: { type: K; id: number },
  input: {
    ref: string;
    document: string;
    head: string;
    text: string;
    message: string;
    action: string;
    changes?: Partial<Revisable<K>>;
    /** Records written in the same step (the mails this revision sends). */
    alsoPuts?: (next: Revisable<K>, n: number) => Puts;
    /** Audit events of the same step, after the revision's (the threads a suggestion resolves). */
    alsoEvents?: { action: string; subject: string }[];
  },
): Promise<Revisable<K>> {
  const { commit, blob } = await ctx.repo.commitFile({
    ref: input.ref,
    // The branch may be ahead of the record if a crash lost a store write: the record (checked
    // by the caller, under the subject's lock) decides; git's ref is compared with what it is now.
    expected: await ctx.repo.resolve(input.ref),
    parent: input.head,
    filepath: documentPath(input.document),
    text: input.text,
    message: input.message,
    author: { name: actor.name, email: actor.email, at: ctx.clock() },
  });
  // The record as it is now, after the commit: a change made meanwhile without this subject's
  // lock (publishing a consolidation marks its proposals consolidated) must not be undone here.
  // (Every write to a consolidation holds its lock, so for one this is the record checked.)
  const table = TABLE[subject.type];
  const now = ctx.meta.get(table, subject.id)!;
  const n = now.revisions + 1;
  const at = ctx.clock().toISOString();
  const next: Revisable<K> = { ...now, ...input.changes, head: commit, revisions: n, updatedAt: at };
  const rev: RevisionRecord = {
    subject: { type: subject.type, id: subject.id },
    n,
    commit,
    blob,
    authorId: actor.id,
    at,
  };
  await ctx.meta.write({
    actor: actor.email,
    at: ctx.clock(),
    events: [{ action: input.action, subject: `${subject.type}/${subject.id}` }, ...(input.alsoEvents ?? [])],
    puts: mergePuts(
      { [table]: { [subject.id]: next }, revisions: { [revisionKey(rev.subject, n)]: rev } },
      input.alsoPuts?.(next, n),
    ),
  });
  return next;
}
