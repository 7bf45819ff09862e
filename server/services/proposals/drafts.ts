import type { Actor } from '../../domain/actor.js';
import { canSee, signedIn } from '../../domain/policy.js';
import type { ProposalRecord } from '../../store/meta/schema.js';
import type { Ctx } from '../context.js';
import { proposalSubject } from './access.js';
import { openThreadIdsOf, type OpenThread } from './comments.js';

/** A thread that waits for the actor's reply: not resolved, and the last word is not theirs. */
export interface AwaitingThread extends OpenThread {
  proposal: ProposalRecord;
}

export interface MyDrafts {
  /** The actor's own proposals, newest first. */
  mine: ProposalRecord[];
  /** The drafts of documents the actor's working groups own, newest first. */
  groupDrafts: ProposalRecord[];
  /**
   * The first `limit` threads awaiting the actor's reply on those proposals (withdrawn ones
   * aside): newest proposal first, then oldest thread first.
   */
  awaiting: AwaitingThread[];
  /** How many threads await the actor's reply in all. */
  awaitingCount: number;
}

/**
 * "My drafts": read through the indexes (the actor's proposals, their groups' documents'
 * proposals) and the open threads' ids the store keeps per proposal (`openThreadIdsOf`), never
 * the whole proposals table nor every comment of ~1,250 proposals on each view (issue 17: 13.5 ms
 * of CPU a view at ten years). Only the first `limit` awaiting threads are read as records; the
 * rest are only counted. The ids are kept for every proposal (the threads' records were kept for
 * 4,096 subjects, fewer than five groups' proposals at ten years: after any new comment each
 * view read ~20,000 comments again, 135-340 ms).
 */
export function myDrafts(ctx: Ctx, actor: Actor | null, limit = Infinity): MyDrafts {
  signedIn(actor);
  // Made again only after a change to proposals, comments or documents (a busy committee reads
  // far more often than it writes): ~1 ms of CPU a view at ten years, now a lookup.
  return ctx.meta.memo(DRAFTS_READ, draftsKey(actor, limit), () => draftsOf(ctx, actor, limit));
}

/** What "My drafts" is made from: it is made again after a change to one of them. */
const DRAFTS_READ = ['proposals', 'comments', 'documents'] as const;
const draftsKey = (actor: Actor, limit: number) =>
  `myDrafts ${actor.id} ${actor.roles.join(',')} ${actor.groups.join(',')} ${limit}`;

/** The proposals "My drafts" looks at: the actor's own and those of their groups' documents. */
function draftProposals(ctx: Ctx, actor: Actor): Map<number, ProposalRecord> {
  const groupDocuments = new Set(actor.groups.flatMap((g) => ctx.meta.by('documents', 'group', g).map((d) => d.slug)));
  const found = new Map<number, ProposalRecord>();
  for (const p of ctx.meta.by('proposals', 'author', String(actor.id))) found.set(p.id, p);
  for (const slug of groupDocuments) for (const p of ctx.meta.by('proposals', 'document', slug)) found.set(p.id, p);
  return found;
}

/**
 * Make the open threads' ids of every proposal `myDrafts` will read for `actor` that the store
 * does not keep yet, beside the event loop (a turn of the loop after about 10 ms of work): the
 * first view of a group's drafts after a start reads its proposals' comments (a member of every
 * group at ten years: ~5,000 proposals, ~1 s of work), and in one piece that held every other
 * request as long. The view then waits, the others do not. Nothing when the view itself is kept
 * (`limit` as the view will be asked for).
 */
export async function prepareDrafts(ctx: Ctx, actor: Actor | null, limit = Infinity): Promise<void> {
  signedIn(actor);
  // The view is kept: nothing to make (every view but the first after a change).
  if (ctx.meta.memoFresh(DRAFTS_READ, draftsKey(actor, limit))) return;
  let until = performance.now() + 10;
  for (const p of draftProposals(ctx, actor).values()) {
    if (p.state === 'withdrawn') continue;
    openThreadIdsOf(ctx, { type: 'proposal', id: p.id });
    if (performance.now() < until) continue;
    await new Promise((resolve) => setImmediate(resolve));
    until = performance.now() + 10;
  }
}

function draftsOf(ctx: Ctx, actor: Actor, limit: number): MyDrafts {
  const found = draftProposals(ctx, actor);
  const mine: ProposalRecord[] = [];
  const groupDrafts: ProposalRecord[] = [];
  const awaiting: AwaitingThread[] = [];
  let awaitingCount = 0;
  for (const p of [...found.values()].sort((a, b) => b.id - a.id)) {
    const subject = proposalSubject(ctx, p);
    if (!canSee(actor, subject)) continue;
    if (p.authorId === actor.id) mine.push(p);
    if (p.state === 'draft' && subject.kind === 'proposal' && actor.groups.includes(subject.group)) groupDrafts.push(p);
    if (p.state === 'withdrawn') continue;
    // By ids first: only the threads shown are read as records.
    for (const t of openThreadIdsOf(ctx, { type: 'proposal', id: p.id })) {
      if (t.lastAuthor === actor.id) continue;
      if (awaitingCount++ < limit) {
        const root = ctx.meta.get('comments', t.root);
        const last = ctx.meta.get('comments', t.last);
        if (root && last) awaiting.push({ root, last, count: t.count, proposal: p });
      }
    }
  }
  return { mine, groupDrafts, awaiting, awaitingCount };
}
