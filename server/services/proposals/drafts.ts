import type { Actor } from '../../domain/actor.js';
import { canSee, signedIn } from '../../domain/policy.js';
import type { ChangeMark } from '../../store/meta/metaStore.js';
import { subjectKey } from '../../store/meta/indexes.js';
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
 * the whole proposals table nor every comment on each view. Only the first `limit` awaiting
 * threads are read as records; the rest are only counted.
 *
 * What the view is made from is kept per actor (`DraftsState`): the proposals, made again after
 * a change to proposals or documents, and each one's threads awaiting the actor, brought up to
 * date from the proposals whose comments changed since (the store's change log of the comments'
 * `subject` index). A member of every group at thirty years reads ~15,000 proposals and ~200,000
 * open threads: made again whole after each comment, that was ~40-60 ms of the event loop a
 * comment; now one proposal's threads are read again.
 */
export function myDrafts(ctx: Ctx, actor: Actor | null, limit = Infinity): MyDrafts {
  signedIn(actor);
  const state = ctx.meta.memo(BASE_READ, draftsKey(actor), () => newState(ctx, actor));
  bringUpToDate(ctx, actor, state);
  let view = state.views.get(limit);
  if (!view) state.views.set(limit, (view = viewOf(ctx, actor, state, limit)));
  return view;
}

/** What the proposals of "My drafts" are chosen from: they are chosen again after a change to one of them. */
const BASE_READ = ['proposals', 'documents'] as const;
const draftsKey = (actor: Actor) => `myDrafts ${actor.id} ${actor.roles.join(',')} ${actor.groups.join(',')}`;

/**
 * An actor's drafts as kept between views (held by the store's `memo`; changed in place here
 * only, as the comments change). Small: ~12 bytes a proposal besides the lists shown.
 */
interface DraftsState {
  mine: ProposalRecord[];
  groupDrafts: ProposalRecord[];
  /** The proposals whose threads may await the actor (visible, not withdrawn), newest first. */
  open: ProposalRecord[];
  /** Per proposal of `open`, at the same place, how many of its threads await the actor's reply. */
  awaiting: Uint32Array;
  /** How many threads await in all. */
  count: number;
  /** Where the comments' `subject` index stood when `awaiting` was last brought up to date. */
  mark: ChangeMark;
  /** The views made since the last change, by limit. */
  views: Map<number, MyDrafts>;
}

/** The proposals "My drafts" looks at: the actor's own and those of their groups' documents. */
function draftProposals(ctx: Ctx, actor: Actor): Map<number, ProposalRecord> {
  const groupDocuments = new Set(actor.groups.flatMap((g) => ctx.meta.by('documents', 'group', g).map((d) => d.slug)));
  const found = new Map<number, ProposalRecord>();
  for (const p of ctx.meta.by('proposals', 'author', String(actor.id))) found.set(p.id, p);
  for (const slug of groupDocuments) for (const p of ctx.meta.by('proposals', 'document', slug)) found.set(p.id, p);
  return found;
}

function newState(ctx: Ctx, actor: Actor): DraftsState {
  const mark = ctx.meta.changeMark('comments', 'subject');
  const mine: ProposalRecord[] = [];
  const groupDrafts: ProposalRecord[] = [];
  const open: ProposalRecord[] = [];
  for (const p of [...draftProposals(ctx, actor).values()].sort((a, b) => b.id - a.id)) {
    const subject = proposalSubject(ctx, p);
    if (!canSee(actor, subject)) continue;
    if (p.authorId === actor.id) mine.push(p);
    if (p.state === 'draft' && subject.kind === 'proposal' && actor.groups.includes(subject.group)) groupDrafts.push(p);
    if (p.state !== 'withdrawn') open.push(p);
  }
  const state: DraftsState = {
    mine,
    groupDrafts,
    open,
    awaiting: new Uint32Array(open.length),
    count: 0,
    mark,
    views: new Map(),
  };
  for (let i = 0; i < open.length; i++) readAwaiting(ctx, actor, state, i);
  return state;
}

/** The threads of a proposal that await the actor's reply. */
const awaitingThreads = (ctx: Ctx, actor: Actor, p: ProposalRecord) =>
  openThreadIdsOf(ctx, { type: 'proposal', id: p.id }).filter((t) => t.lastAuthor !== actor.id);

/** Count again the threads of `state.open[i]` that await the actor. */
function readAwaiting(ctx: Ctx, actor: Actor, state: DraftsState, i: number): void {
  let n = 0;
  for (const t of openThreadIdsOf(ctx, { type: 'proposal', id: state.open[i].id })) if (t.lastAuthor !== actor.id) n++;
  state.count += n - state.awaiting[i];
  state.awaiting[i] = n;
}

/** Where proposal `id` is in `open` (newest first), or -1. */
function placeOf(open: readonly ProposalRecord[], id: number): number {
  let lo = 0;
  let hi = open.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (open[mid].id > id) lo = mid + 1;
    else hi = mid;
  }
  return open[lo]?.id === id ? lo : -1;
}

/** Count again the threads of the proposals whose comments changed since the state's mark. */
function bringUpToDate(ctx: Ctx, actor: Actor, state: DraftsState): void {
  const changed = ctx.meta.changedKeys('comments', 'subject', state.mark);
  if (changed?.size === 0) return;
  state.mark = ctx.meta.changeMark('comments', 'subject');
  state.views.clear();
  if (changed === null) {
    for (let i = 0; i < state.open.length; i++) readAwaiting(ctx, actor, state, i);
    return;
  }
  for (const key of changed) {
    const id = proposalOfKey(key);
    const i = id === null ? -1 : placeOf(state.open, id);
    if (i >= 0) readAwaiting(ctx, actor, state, i);
  }
}

/** The proposal id of a comments' subject key, or null for another subject. */
function proposalOfKey(key: string): number | null {
  const prefix = subjectKey({ type: 'proposal', id: 0 }).slice(0, -1);
  return key.startsWith(prefix) ? Number(key.slice(prefix.length)) : null;
}

/** The view with the first `limit` awaiting threads read as records. */
function viewOf(ctx: Ctx, actor: Actor, state: DraftsState, limit: number): MyDrafts {
  const awaiting: AwaitingThread[] = [];
  for (let i = 0; i < state.open.length && awaiting.length < limit; i++) {
    if (!state.awaiting[i]) continue;
    const p = state.open[i];
    for (const t of awaitingThreads(ctx, actor, p)) {
      if (awaiting.length >= limit) break;
      const root = ctx.meta.get('comments', t.root);
      const last = ctx.meta.get('comments', t.last);
      if (root && last) awaiting.push({ root, last, count: t.count, proposal: p });
    }
  }
  return { mine: state.mine, groupDrafts: state.groupDrafts, awaiting, awaitingCount: state.count };
}

/**
 * Make the open threads' ids of every proposal `myDrafts` will read for `actor` that the store
 * does not keep yet, beside the event loop (a turn of the loop after about 10 ms of work): the
 * first view of a group's drafts after a start reads its proposals' comments (a member of every
 * group at thirty years: ~15,000 proposals, 1-4 s of work), and in one piece that held every
 * other request as long. The view then waits, the others do not. Nothing when the actor's
 * drafts are kept (every view but the first after a change to proposals or documents: a change
 * of comments is brought up to date by the view itself, one proposal at a time). Views of one
 * actor asked for together wait for one preparation: each running its own, they took turns of
 * the loop back to back (20 at once held it 100 ms and more).
 */
export async function prepareDrafts(ctx: Ctx, actor: Actor | null): Promise<void> {
  signedIn(actor);
  const key = draftsKey(actor);
  if (ctx.meta.memoFresh(BASE_READ, key)) return;
  let running = preparing.get(ctx.meta);
  if (!running) preparing.set(ctx.meta, (running = new Map()));
  const already = running.get(key);
  if (already) return already;
  const done = prepare(ctx, actor).finally(() => running.delete(key));
  running.set(key, done);
  return done;
}

/** The preparations running, per store and actor (`prepareDrafts`). */
const preparing = new WeakMap<object, Map<string, Promise<void>>>();

async function prepare(ctx: Ctx, actor: Actor): Promise<void> {
  let until = performance.now() + 10;
  for (const p of draftProposals(ctx, actor).values()) {
    if (p.state === 'withdrawn') continue;
    openThreadIdsOf(ctx, { type: 'proposal', id: p.id });
    if (performance.now() < until) continue;
    await new Promise((resolve) => setImmediate(resolve));
    until = performance.now() + 10;
  }
}
