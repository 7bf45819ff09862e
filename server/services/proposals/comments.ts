import type { Actor } from '../../domain/actor.js';
import { commentResolvedMails } from '../notifications/events.js';
import { followAnchor, locatePassage } from '../../domain/anchor.js';
import { assertCommentable, assertEditable, type ProposalState } from '../../domain/proposal.js';
import { absent, invalid } from '../../domain/errors.js';
import { authorize, signedIn } from '../../domain/policy.js';
import { checkProse, MAX_COMMENT_BYTES } from '../../domain/text.js';
import { MAX_QUOTE } from '../../domain/limits.js';
import { isCoarse, type Change } from '../../domain/diff.js';
import { diffTexts } from '../diffTexts.js';
import { revisionKey, type CommentRecord, type SubjectRef } from '../../store/meta/schema.js';
import { subjectKey } from '../../store/meta/indexes.js';
import { withFields } from '../../util/withFields.js';
import type { Ctx } from '../context.js';
import type { proposalSubject } from './access.js';
import { revisionText } from './read.js';
import { mergePuts } from '../notifications/queue.js';
import { commentMails } from '../notifications/events.js';

/** What a comment thread hangs on: the subject's visibility, state and current revision. */
export interface Commentable {
  ref: SubjectRef;
  state: Parameters<typeof assertCommentable>[0];
  revisions: number;
  policy: ReturnType<typeof proposalSubject>;
  /** Whether a round is open on it (proposals: their text is then frozen, and so no change may be suggested). */
  roundOpen?: boolean;
}

export function commentsOf(ctx: Ctx, ref: SubjectRef): CommentRecord[] {
  return ctx.meta.by('comments', 'subject', subjectKey(ref));
}

/** A thread not resolved: its first comment, its last, and how many it holds (the first included). */
export interface OpenThread {
  root: CommentRecord;
  last: CommentRecord;
  count: number;
}

/**
 * The threads of some comments that are not resolved, oldest first, formed as the proposal page
 * forms them (`threadsOf`): a reply joins the thread of the comment it answers when that comment
 * began one.
 */
export function openThreads(comments: readonly CommentRecord[]): OpenThread[] {
  const threads = new Map<number, OpenThread>();
  for (const c of [...comments].sort((a, b) => a.id - b.id)) {
    const t = c.replyTo !== null ? threads.get(c.replyTo) : undefined;
    if (t) {
      t.last = c;
      t.count++;
    } else threads.set(c.id, { root: c, last: c, count: 1 });
  }
  return [...threads.values()].filter((t) => !t.root.resolved);
}

/** An open thread by its comments' ids: what "My drafts" needs to count and choose the threads it shows. */
export interface OpenThreadIds {
  root: number;
  last: number;
  /** Who wrote the last comment. */
  lastAuthor: number;
  count: number;
}

/**
 * A subject's open threads as ids and counts (oldest first), kept by the store until one of its
 * comments changes: small, so kept for every subject a member's drafts read, where the threads
 * themselves (`openThreadsOf`) hold records and are kept for fewer (read-only).
 */
export function openThreadIdsOf(ctx: Ctx, ref: SubjectRef): readonly OpenThreadIds[] {
  return ctx.meta.derived(
    'comments',
    'subject',
    subjectKey(ref),
    'openThreadIds',
    (comments) =>
      openThreads(comments).map((t) => ({
        root: t.root.id,
        last: t.last.id,
        lastAuthor: t.last.authorId,
        count: t.count,
      })),
    { small: true },
  );
}

/** A subject's open threads, kept by the store until one of its comments changes (read-only). */
export function openThreadsOf(ctx: Ctx, ref: SubjectRef): readonly OpenThread[] {
  return ctx.meta.derived('comments', 'subject', subjectKey(ref), 'openThreads', openThreads);
}

/** A comment: markdown, the passage it is about (a quote of the current text and which occurrence, 0 = the first), the comment it answers. */
export interface CommentInput {
  body: string;
  anchor?: { quote: string; occurrence?: number } | null;
  replyTo?: number | null;
  /** A suggested change (proposals only, with an anchor, not in a reply): what should replace the passage; '' deletes it. */
  suggestion?: string | null;
  /** A reply by mail: the Message-ID it came with (not part of the API's or the form's input). */
  viaMail?: string | null;
}

/**
 * Add a comment (markdown), optionally anchored to a passage quoted from the current revision,
 * as written or as the page shows it (400 if it is in neither), optionally a reply in a thread.
 */
export async function addComment(
  ctx: Ctx,
  actor: Actor | null,
  on: Commentable,
  input: CommentInput,
): Promise<CommentRecord> {
  authorize(actor, 'comment.create', on.policy, on.ref.type);
  assertCommentable(on.state);
  const suggestion = input.suggestion ?? null;
  if (suggestion !== null) checkSuggestion(on, input);
  // A suggestion may speak for itself: its comment may then be empty.
  const body = checkProse(input.body, 'comment', MAX_COMMENT_BYTES, suggestion === null);
  let replyTo: number | null = null;
  let target: CommentRecord | undefined;
  if (input.replyTo != null) {
    target = ctx.meta.get('comments', input.replyTo);
    if (!target || target.subject.type !== on.ref.type || target.subject.id !== on.ref.id)
      throw invalid('invalid_reply', 'The comment you reply to is not on this text.');
    replyTo = target.replyTo ?? target.id; // threads are one level deep: a reply to a reply joins the thread
  }
  let anchor: CommentRecord['anchor'] = null;
  if (input.anchor != null) {
    const a = input.anchor;
    if (!a.quote.trim() || a.quote.length > MAX_QUOTE) {
      throw invalid('invalid_anchor', 'An anchor is {quote}: a passage of the current text (up to 2000 characters).');
    }
    const rev = ctx.meta.get('revisions', revisionKey(on.ref, on.revisions))!;
    // The quote may be of the source or of the rendered text (copied across bold or a link);
    // the anchor keeps the source passage.
    const found = locatePassage(await revisionText(ctx, rev), a.quote, a.occurrence ?? 0);
    if (found === null) throw invalid('quote_not_found', 'The quoted passage is not in the current text.');
    anchor = { quote: found.quote, offset: found.offset, revision: on.revisions };
  }
  const c: CommentRecord = {
    id: ctx.meta.nextId('comments'),
    subject: on.ref,
    authorId: actor.id,
    body,
    anchor,
    replyTo,
    resolved: false,
    resolvedBy: null,
    createdAt: ctx.clock().toISOString(),
    ...(input.viaMail ? { viaMail: input.viaMail } : {}),
    ...(suggestion !== null ? { suggestion } : {}),
  };
  await ctx.meta.write({
    actor: actor.email,
    at: ctx.clock(),
    events: [{ action: 'comment.created', subject: `${on.ref.type}/${on.ref.id}#comment-${c.id}` }],
    // The mails quote the comment replied to (`target`, which may be a reply in the thread).
    puts: mergePuts({ comments: { [c.id]: c } }, commentMails(ctx, c, target)),
  });
  return c;
}

/**
 * The rules of a suggested change: on a proposal whose text may still change (the refusal of
 * `reviseProposal`: 409 `not_editable` or `frozen`), on a quoted passage, as the start of a
 * thread; at most as large as a comment, and text.
 */
function checkSuggestion(on: Commentable, input: CommentInput): void {
  if (on.ref.type !== 'proposal')
    throw invalid('invalid_suggestion', 'Changes can be suggested on proposals only; say what you would change.');
  assertEditable(on.state as ProposalState, !!on.roundOpen);
  checkProse(input.suggestion, 'suggestion', MAX_COMMENT_BYTES, false);
  if (input.anchor == null || input.replyTo != null)
    throw invalid(
      'suggestion_needs_anchor',
      'A suggested change replaces a passage: quote the words it replaces, in a new comment (not a reply).',
    );
}

/** Resolve or reopen a thread (its first comment). */
export async function setResolved(
  ctx: Ctx,
  actor: Actor | null,
  on: Commentable,
  commentId: number,
  resolved: boolean,
): Promise<CommentRecord> {
  signedIn(actor);
  const c = Number.isInteger(commentId) ? ctx.meta.get('comments', commentId) : undefined;
  if (!c || c.subject.type !== on.ref.type || c.subject.id !== on.ref.id) throw absent('comment');
  const root = c.replyTo ? ctx.meta.get('comments', c.replyTo)! : c;
  // The people who edit the text may resolve a thread, and so may whoever started it.
  const policy =
    on.policy.kind === 'proposal' || on.policy.kind === 'consolidation'
      ? { ...on.policy, threadStarter: root.authorId }
      : on.policy;
  authorize(actor, 'comment.resolve', policy, on.ref.type);
  const next: CommentRecord = { ...root, resolved, resolvedBy: resolved ? actor.id : null };
  await ctx.meta.write({
    actor: actor.email,
    at: ctx.clock(),
    events: [
      {
        action: resolved ? 'comment.resolved' : 'comment.reopened',
        subject: `${on.ref.type}/${on.ref.id}#comment-${root.id}`,
      },
    ],
    // The thread's starter is told when someone else resolves it.
    puts: mergePuts(
      { comments: { [root.id]: next } },
      resolved && root.authorId !== actor.id ? commentResolvedMails(ctx, next, actor) : {},
    ),
  });
  return next;
}

export interface PlacedComment extends CommentRecord {
  /** Where the anchor is in the current revision, or null when a later revision changed the passage. */
  currentOffset: number | null;
  outdated: boolean;
}

/**
 * A subject's comments placed in its current revision (`revisions`), as `placeComments` places
 * them, kept by the store until one of its comments changes (read-only; one placement a subject,
 * that of the revision asked for last). A page view of a proposal with 200 comments placed them
 * anew each time (~0.6 ms, one copy of each record). Only a placement made from word diffs is
 * kept: one that failed (a busy diff pool) or followed anchors through a coarse diff (the pool
 * ran out of time; the word diff is tried again later) is made again next time.
 */
export async function placedCommentsOf(
  ctx: Ctx,
  ref: SubjectRef,
  revisions: number,
): Promise<readonly PlacedComment[]> {
  const held = ctx.meta.derived(
    'comments',
    'subject',
    subjectKey(ref),
    'placed',
    () => ({}) as { revisions?: number; placed?: PlacedComment[] },
  );
  if (held.placed && held.revisions === revisions) return held.placed;
  const { placed, coarse } = await place(ctx, ref, revisions, commentsOf(ctx, ref));
  // A comment changed meanwhile: the store has let this holder go, and the next view places again.
  if (!coarse) Object.assign(held, { revisions, placed });
  return placed;
}

/** A comment with its place (a copy kept for every comment of every proposal viewed). */
const placedOf = (c: CommentRecord, currentOffset: number | null, outdated: boolean): PlacedComment =>
  withFields(c, { currentOffset, outdated });

/** Follow every anchor to the current revision (one diff per anchored revision). */
export async function placeComments(
  ctx: Ctx,
  ref: SubjectRef,
  revisions: number,
  comments: CommentRecord[],
): Promise<PlacedComment[]> {
  return (await place(ctx, ref, revisions, comments)).placed;
}

/** `placeComments`, saying whether an anchor was followed through a coarse diff. */
async function place(
  ctx: Ctx,
  ref: SubjectRef,
  revisions: number,
  comments: readonly CommentRecord[],
): Promise<{ placed: PlacedComment[]; coarse: boolean }> {
  const current = await revisionText(ctx, ctx.meta.get('revisions', revisionKey(ref, revisions))!);
  const diffs = new Map<number, Change[]>();
  const out: PlacedComment[] = [];
  for (const c of comments) {
    if (!c.anchor) {
      out.push(placedOf(c, null, false));
      continue;
    }
    if (c.anchor.revision === revisions) {
      out.push(placedOf(c, c.anchor.offset, false));
      continue;
    }
    let d = diffs.get(c.anchor.revision);
    if (!d) {
      const old = ctx.meta.get('revisions', revisionKey(ref, c.anchor.revision));
      d = old ? await diffTexts(ctx, await revisionText(ctx, old), current) : [];
      diffs.set(c.anchor.revision, d);
    }
    const at = d.length ? followAnchor(d, c.anchor) : null;
    out.push(placedOf(c, at, at === null));
  }
  const coarse = [...diffs.values()].some(isCoarse);
  return { placed: out, coarse };
}
