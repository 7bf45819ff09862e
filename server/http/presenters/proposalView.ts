import type { Actor } from '../../domain/actor.js';
import { assertCommentable, assertEditable, assertShareable, assertWithdrawable } from '../../domain/proposal.js';
import { can } from '../../domain/policy.js';
import type { Ctx } from '../../services/context.js';
import { userName } from '../../services/accounts/users.js';
import { groupName } from '../../services/groups.js';
import { mayDo, proposalSubject } from '../../services/proposals/access.js';
import { documentTitle, findDocument } from '../../services/readDocuments.js';
import type { PlacedComment } from '../../services/proposals/comments.js';
import type { AwaitingThread } from '../../services/proposals/drafts.js';
import { applicable } from '../../services/proposals/suggestions.js';
import type { CommentRecord, ProposalRecord, RevisionRecord, VersionRecord } from '../../store/meta/schema.js';
import type { Renderer } from '../render/renderer.js';
import { markPassages, withBrackets, type MarkedRange } from '../render/passages.js';
import { normalizeSpace, projectMarkdown } from '../../domain/anchor.js';

/**
 * View data for the proposal pages: records in, flat values out (names instead of ids,
 * markdown already rendered and sanitised, paragraphs with the threads anchored in them).
 * Views see only what these functions return.
 */

const nameOf = (ctx: Ctx, id: number | null) => (id === null ? '' : userName(ctx, id));

/** Whether a domain assertion holds (the assertions throw a Conflict when it does not). */
const holds = (check: () => void): boolean => {
  try {
    check();
    return true;
  } catch {
    return false;
  }
};

/** How many levels a text's own headings move down: under the page's h2 for texts, to h5/h6 for comments. */
export const TEXT_UNDER = 2;
export const COMMENT_UNDER = 4;

/** The comments' bodies as safe HTML, by comment id (cached by content, so each is rendered once). */
export async function commentsHtml(r: Renderer, comments: CommentRecord[]): Promise<Map<number, string>> {
  const html = await r.markdownAll(comments.map((c) => ({ text: c.body, by: COMMENT_UNDER })));
  return new Map(comments.map((c, i) => [c.id, html[i]]));
}

export { boundedBlocks, MAX_PARAGRAPH_ROWS, paragraphsOf, type Block } from '../render/paragraphs.js';

export interface CommentView {
  id: number;
  author: string;
  /** Who wrote it (the same view for every reader: what a reader may do with it is worked out per reader, `mayResolveThread`). */
  authorId: number;
  html: string;
  createdAt: string;
}

export interface ThreadView {
  id: number;
  /** The quoted passage as shown (as it was, for outdated threads), or null for a general comment. */
  quote: string | null;
  /** The revision the passage was quoted from. */
  revision: number | null;
  outdated: boolean;
  resolved: boolean;
  resolvedBy: string;
  comments: CommentView[];
  /** Whether its passage is marked in the text shown (`#passage-<id>`): an open thread whose passage is current. */
  marked: boolean;
  /** The change its first comment suggests, if any (proposals; filled in by textView). */
  suggestion: SuggestionView | null;
  /** Shown as one line with a link to the page with every comment (textView: an older thread on a long page); its comments are not rendered. */
  folded: boolean;
  /** When its last comment was written. */
  lastAt: string;
}

export interface SuggestionView {
  /** The passage → the suggested words, as a rendered word diff (sanitised HTML with `<ins>`/`<del>`). */
  html: string;
  /** An empty suggestion: delete the passage. */
  deletes: boolean;
  /** Its passage is still in the current text, as it was, and it was not applied yet. */
  applicable: boolean;
  /** The revision that applied it, or null. */
  appliedIn: number | null;
}

/** The suggestion's word diff: both rendered (headings at the comments' level), compared word by word; the source as text if it cannot be made in time. */
async function suggestionHtml(r: Renderer, quote: string, suggestion: string): Promise<string> {
  const blocks = await r.renderedDiff(quote, suggestion, COMMENT_UNDER);
  if (blocks) return blocks.map((b) => b.html).join('\n');
  const esc = (s: string) =>
    s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
  return `<p><del>${esc(quote)}</del> <ins>${esc(suggestion)}</ins></p>`;
}

const commentView = (ctx: Ctx, c: CommentRecord, html: ReadonlyMap<number, string>): CommentView => ({
  id: c.id,
  author: nameOf(ctx, c.authorId),
  authorId: c.authorId,
  // Rendered by commentsHtml (headings kept at h5/h6, under the page's); '' where not needed.
  html: html.get(c.id) ?? '',
  createdAt: c.createdAt,
});

/** Group comments into threads (replies join their first comment), oldest first; `html` from commentsHtml. The same for every reader. */
export function threadsOf<C extends CommentRecord>(
  ctx: Ctx,
  comments: readonly C[],
  html: ReadonlyMap<number, string> = new Map(),
): { root: C; view: ThreadView }[] {
  const roots = new Map<number, { root: C; replies: C[] }>();
  for (const c of [...comments].sort((a, b) => a.id - b.id)) {
    const parent = c.replyTo !== null ? roots.get(c.replyTo) : undefined;
    if (parent) parent.replies.push(c);
    else roots.set(c.id, { root: c, replies: [] });
  }
  return [...roots.values()].map(({ root, replies }) => {
    const all = [root, ...replies];
    const placed = root as Partial<PlacedComment>;
    return {
      root,
      view: {
        id: root.id,
        quote: root.anchor ? anchorQuote(root.anchor) : null,
        revision: root.anchor?.revision ?? null,
        outdated: !!placed.outdated,
        resolved: root.resolved,
        resolvedBy: nameOf(ctx, root.resolvedBy),
        comments: all.map((c) => commentView(ctx, c, html)),
        marked: false,
        suggestion: null,
        folded: false,
        lastAt: all[all.length - 1].createdAt,
      },
    };
  });
}

/** A quoted passage as the page shows it (the record keeps the source's, with its marks). */
const shownQuote = (quote: string) => normalizeSpace(projectMarkdown(quote).text) || quote;

/**
 * An anchor's quote as shown, made once per anchor: a record (and so its anchor) never changes
 * in place, and a proposal page with 200 threads spent ~0.4 ms a view reading their quotes'
 * markdown again. Kept while the anchor is.
 */
const shownQuotes = new WeakMap<object, string>();
function anchorQuote(anchor: { quote: string }): string {
  let shown = shownQuotes.get(anchor);
  if (shown === undefined) shownQuotes.set(anchor, (shown = shownQuote(anchor.quote)));
  return shown;
}

export interface ParagraphView {
  n: number;
  /** Where it sits in the text: [start, end). */
  start: number;
  end: number;
  html: string;
  threads: ThreadView[];
}

/** The source range of an open thread's passage in the current revision, or null (general, outdated or resolved). */
const openPassage = (root: PlacedComment) =>
  root.anchor && !root.resolved && !root.outdated && root.currentOffset !== null
    ? { start: root.currentOffset, end: root.currentOffset + root.anchor.quote.length }
    : null;

/** Render `src` with the given passages marked (see render/passages.ts). */
async function renderMarked(r: Renderer, src: string, ranges: MarkedRange[]): Promise<string> {
  return markPassages(await r.markdown(withBrackets(src, ranges), TEXT_UNDER));
}

/** Note the threads whose passage the HTML marks (`id="passage-<id>"`). */
function noteMarked(views: Iterable<ThreadView>, html: string): void {
  for (const v of views) if (html.includes(`id="passage-${v.id}"`)) v.marked = true;
}

/**
 * The text tab: each paragraph rendered with the threads anchored in it (by where the anchor
 * sits in the current revision), threads whose passage has changed apart as outdated — never
 * attached to other text — and general threads at the end. The passages of open threads are
 * marked in their paragraphs. The same for every reader (what a reader may do is worked out
 * when the page is made: `mayResolveThread`, `threadKeys`), so a page can keep it.
 */
export async function textView(
  ctx: Ctx,
  r: Renderer,
  text: string,
  placed: readonly PlacedComment[],
  fold: FoldOptions = { all: true, keep: null },
) {
  const rows = r.paragraphs(text, TEXT_UNDER);
  const threads = threadsOf(ctx, placed);
  foldThreads(
    threads.map(({ view }) => view),
    fold,
  );
  // Only what is shown is rendered: the comments and suggestions of folded threads are not.
  const hidden = new Set(threads.flatMap(({ view }) => (view.folded ? view.comments.map((c) => c.id) : [])));
  const shown = placed.filter((c) => !hidden.has(c.id));
  const [blocks, comments] = await Promise.all([rows, commentsHtml(r, shown)]);
  for (const { view } of threads) for (const c of view.comments) c.html = comments.get(c.id) ?? '';
  const paragraphs: ParagraphView[] = blocks.map((b, i) => ({
    n: i + 1,
    start: b.start,
    end: b.end,
    html: b.html,
    threads: [],
  }));
  const outdated: ThreadView[] = [];
  /** Suggestions applied to the text: their passage changed because they were taken, not outdated. */
  const applied: ThreadView[] = [];
  const general: ThreadView[] = [];
  const marks = new Map<number, MarkedRange[]>();
  const suggested: Promise<void>[] = [];
  let applicableCount = 0;
  for (const { root, view } of threads) {
    if (root.suggestion !== undefined && root.anchor && !view.folded) {
      const s = root.suggestion;
      const ok = applicable(root);
      if (ok) applicableCount++;
      suggested.push(
        suggestionHtml(r, root.anchor.quote, s).then((html) => {
          view.suggestion = { html, deletes: s === '', applicable: ok, appliedIn: root.appliedIn ?? null };
        }),
      );
    }
    if (!root.anchor) general.push(view);
    else if (root.suggestion !== undefined && root.appliedIn) applied.push(view);
    else if (root.outdated || root.currentOffset === null || !paragraphs.length) outdated.push(view);
    else {
      // The paragraph holding the start of the passage (or the next one, if it starts in a blank line).
      const at = root.currentOffset;
      const found = blocks.findIndex((b) => b.end > at);
      const i = found < 0 ? paragraphs.length - 1 : found;
      paragraphs[i].threads.push(view);
      const passage = openPassage(root);
      if (!passage) continue;
      blocks.forEach((b, k) => {
        if (b.end <= passage.start || b.start >= passage.end) return;
        const ranges = marks.get(k) ?? [];
        const start = Math.max(passage.start, b.start) - b.start;
        ranges.push({ start, end: Math.min(passage.end, b.end) - b.start, thread: view.id, first: k === i });
        marks.set(k, ranges);
      });
    }
  }
  await Promise.all(
    [...marks].map(async ([k, ranges]) => {
      paragraphs[k].html = await renderMarked(r, text.slice(blocks[k].start, blocks[k].end), ranges);
    }),
  );
  await Promise.all(suggested);
  // A passage is marked only in the paragraphs its thread's ranges were given for.
  const byId = new Map(threads.map(({ view }) => [view.id, view]));
  for (const [k, ranges] of marks) {
    const placedHere = new Set(ranges.flatMap((m) => byId.get(m.thread) ?? []));
    noteMarked(placedHere, paragraphs[k].html);
  }
  return {
    paragraphs,
    outdated,
    applied,
    general,
    count: placed.length,
    applicable: applicableCount,
    folded: { threads: threads.filter(({ view }) => view.folded).length, comments: hidden.size },
  };
}

/**
 * The keys the threads of one proposal page are kept under for this reader (render/fragments.ts:
 * the same HTML for every reader with the same key, at the same version of the store). A key
 * holds everything views/proposals/_thread.ejs shows that two readers of the same version may
 * see differently: what they may do (comment, edit, apply several suggestions at once, resolve
 * this thread — their own, or any), and how the thread is shown (folded, with its quote). The
 * thread a refused reply was typed in is made for this request alone (null): it shows the reply.
 */
export function threadKeys(
  p: { id: number; head: string; may: { comment: boolean; edit: boolean; resolve: boolean } },
  applicable: number,
  replyTo: number | null,
  me: number | null,
): (t: ThreadView, showQuote: boolean) => { key: string | null; mayResolve: boolean } {
  const page = pageKey(p, applicable);
  return (t, showQuote) => {
    const mayResolve = mayResolveThread(p.may, t, me);
    return { key: t.id === replyTo ? null : `${page}${+mayResolve}${+showQuote}${+t.folded} ${t.id}`, mayResolve };
  };
}

/** What every kept piece of one proposal page is keyed by: the revision and what the reader may do on it. */
const pageKey = (p: { id: number; head: string; may: { comment: boolean; edit: boolean } }, applicable: number) =>
  `proposal ${p.id} ${p.head} ${+p.may.comment}${+p.may.edit}${+(applicable > 1)}`;

/**
 * The key of the text tab's whole piece (its paragraphs and every thread in them) for the reader
 * `me`: what `threadKeys` keys each thread by, for all of them at once — the page's, whether every
 * thread is shown in full, and which threads the reader may resolve (`*`: all). Readers who may
 * resolve every thread share one piece; a member who may resolve only their own has one of theirs.
 * Null while a refused reply is shown (its thread is made for that request alone).
 */
export function textKey(
  p: { id: number; head: string; may: { comment: boolean; edit: boolean; resolve: boolean } },
  text: { applicable: number; paragraphs: readonly { threads: readonly ThreadView[] }[] } & Record<
    'applied' | 'outdated' | 'general',
    readonly ThreadView[]
  >,
  all: boolean,
  replyTo: number | null,
  me: number | null,
): string | null {
  if (replyTo !== null) return null;
  let resolvable = '';
  let count = 0;
  let total = 0;
  const each = (threads: readonly ThreadView[]) => {
    for (const t of threads) {
      total++;
      if (mayResolveThread(p.may, t, me)) {
        count++;
        resolvable += `,${t.id}`;
      }
    }
  };
  for (const para of text.paragraphs) each(para.threads);
  each(text.applied);
  each(text.outdated);
  each(text.general);
  return `${pageKey(p, text.applicable)} text ${+all} ${count === total ? '*' : resolvable}`;
}

/** Whether the reader `me` may resolve (or reopen) thread `t`: anyone's with the right to resolve, their own where they may comment. */
export const mayResolveThread = (may: { comment: boolean; resolve: boolean }, t: ThreadView, me: number | null) =>
  may.resolve || (may.comment && me !== null && t.comments[0].authorId === me);

/** At most this many comments are shown in full on a page (issue 17); older threads beyond them are folded. */
export const SHOWN_COMMENTS = 50;

export interface FoldOptions {
  /** Every thread in full (`?comments=all`). */
  all: boolean;
  /** A thread never folded: the one a refused reply was typed in (the form shows it again). */
  keep: number | null;
}

/**
 * Fold the older threads of a long discussion: the threads with the latest comments are shown
 * in full until SHOWN_COMMENTS comments are (the most recent one always), the others folded
 * (`view.folded`). A comment just posted, or one a mail links to, is recent.
 */
function foldThreads(views: ThreadView[], { all, keep }: FoldOptions): void {
  const total = views.reduce((n, v) => n + v.comments.length, 0);
  if (all || total <= SHOWN_COMMENTS) return;
  const recent = [...views].sort((a, b) => b.lastAt.localeCompare(a.lastAt) || b.id - a.id);
  let shown = 0;
  for (const v of recent) {
    if (v.id === keep || shown === 0 || shown + v.comments.length <= SHOWN_COMMENTS) shown += v.comments.length;
    else v.folded = true;
  }
}

/** The whole text rendered with the passages of open threads marked, and the threads noted as marked (for the consolidation page). */
export async function markedText(r: Renderer, text: string, placed: PlacedComment[], views: ThreadView[]) {
  const ranges: MarkedRange[] = [];
  for (const c of placed) {
    const passage = c.replyTo === null ? openPassage(c) : null;
    if (passage) ranges.push({ ...passage, thread: c.id, first: true });
  }
  if (!ranges.length) return r.markdown(text, TEXT_UNDER);
  const html = await renderMarked(r, text, ranges);
  noteMarked(views, html);
  return html;
}

/** What the viewer may do to the proposal now: allowed by the policy and possible in its state. */
export function proposalActions(ctx: Ctx, actor: Actor | null, p: ProposalRecord) {
  const roundOpen = p.openRound !== null;
  return {
    edit: mayDo(ctx, actor, 'proposal.edit', p) && holds(() => assertEditable(p.state, roundOpen)),
    share: mayDo(ctx, actor, 'proposal.share', p) && holds(() => assertShareable(p.state)),
    withdraw: mayDo(ctx, actor, 'proposal.withdraw', p) && holds(() => assertWithdrawable(p.state, roundOpen)),
    comment: mayDo(ctx, actor, 'comment.create', p) && holds(() => assertCommentable(p.state)),
    // A suggested change needs a text that may still change.
    suggest:
      mayDo(ctx, actor, 'comment.create', p) &&
      holds(() => assertCommentable(p.state)) &&
      holds(() => assertEditable(p.state, roundOpen)),
    resolve: mayDo(ctx, actor, 'comment.resolve', p),
    // An in-principle decision on a single shared proposal (publishing still needs a consolidation).
    openRound: can(actor, 'round.manage') && p.state === 'shared' && !roundOpen,
  };
}

/**
 * The facts at the top of every proposal page. `base` is the published version the proposal
 * was drafted on, when known.
 */
export async function proposalHead(
  ctx: Ctx,
  r: Renderer,
  actor: Actor | null,
  p: ProposalRecord,
  base: Pick<VersionRecord, 'number' | 'publishedAt'> | null = null,
) {
  const doc = findDocument(ctx, p.document);
  const subject = proposalSubject(ctx, p);
  return {
    id: p.id,
    title: p.title,
    state: p.state,
    document: {
      slug: p.document,
      title: doc?.title ?? p.document,
      latest: doc?.latest ?? 0,
      groupName: subject.kind === 'proposal' ? groupName(ctx, subject.group) : '',
    },
    rationaleHtml: p.rationale.trim() ? await r.markdown(p.rationale, TEXT_UNDER) : '',
    author: nameOf(ctx, p.authorId),
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
    revisions: p.revisions,
    head: p.head,
    base: p.base,
    baseVersion: base ? { number: base.number, publishedAt: base.publishedAt } : null,
    /** A newer version of the document was published since the proposal began. */
    newerPublished: !!base && !!doc && doc.latest > base.number,
    roundOpen: p.openRound !== null,
    may: proposalActions(ctx, actor, p),
  };
}

/** One line in a list of proposals. */
export function proposalItem(ctx: Ctx, p: ProposalRecord) {
  return {
    id: p.id,
    title: p.title,
    state: p.state,
    open: p.state === 'draft' || p.state === 'shared',
    document: { slug: p.document, title: documentTitle(ctx, p.document) },
    author: nameOf(ctx, p.authorId),
    revisions: p.revisions,
    updatedAt: p.updatedAt,
  };
}

/** The revisions tab: newest first. */
export function revisionsView(ctx: Ctx, revisions: RevisionRecord[]) {
  return revisions
    .map((r) => ({ n: r.n, author: nameOf(ctx, r.authorId), at: r.at, commit: r.commit }))
    .sort((a, b) => b.n - a.n);
}

/** What "My drafts" shows of a thread awaiting the actor's reply. */
export function awaitingItem(ctx: Ctx, t: AwaitingThread) {
  return {
    proposal: { id: t.proposal.id, title: t.proposal.title, state: t.proposal.state },
    thread: t.root.id,
    quote: t.root.anchor ? anchorQuote(t.root.anchor) : null,
    last: { author: nameOf(ctx, t.last.authorId), createdAt: t.last.createdAt, excerpt: excerpt(t.last.body) },
    replies: t.count - 1,
  };
}

/** The first words of a markdown body, as plain text. */
function excerpt(body: string, max = 160): string {
  // Only the start is shown, so only the start is read (a comment may be 64 KB).
  const plain = body
    .slice(0, 8 * max)
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their words
    .replace(/^[ \t]*(?:#{1,6}|>|[-+*]|\d+[.)])[ \t]+/gm, '') // headings, quotes, list marks
    .replace(/[*_~`]+/g, '') // emphasis and code marks
    .replace(/\s+/g, ' ')
    .trim();
  return plain.length > max ? `${plain.slice(0, max - 1).trimEnd()}…` : plain;
}
