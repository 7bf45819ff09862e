import type { Actor } from '../../domain/actor.js';
import { absent, conflict, invalid } from '../../domain/errors.js';
import { signedIn } from '../../domain/policy.js';
import { assertEditable } from '../../domain/proposal.js';
import { replacePassages, suggestionsMessage } from '../../domain/suggestion.js';
import { checkText } from '../../domain/text.js';
import type { CommentRecord, ProposalRecord } from '../../store/meta/schema.js';
import type { Ctx } from '../context.js';
import { diffTexts } from '../diffTexts.js';
import { commentResolvedMails, proposalRevisedMails } from '../notifications/events.js';
import { mergePuts } from '../notifications/queue.js';
import { saveRevision } from '../revisions.js';
import { loadProposalFor } from './access.js';
import { placeComments, type PlacedComment } from './comments.js';
import { proposalRef } from './proposals.js';
import { proposalText } from './read.js';

/** Which suggestions to apply (comment ids on the proposal), and the revision they were read on. */
/** A suggestion as a person knows it on the page: whose, on which words. */
function labelOf(ctx: Ctx, c: CommentRecord): string {
  const who = ctx.meta.get('users', c.authorId)?.name ?? 'a member';
  const q = (c.anchor?.quote ?? '').replace(/\s+/g, ' ').trim();
  return `${who}'s suggestion on “${q.length > 40 ? `${q.slice(0, 39)}…` : q}”`;
}

export interface ApplySuggestionsInput {
  comments: number[];
  head: string;
}

/**
 * Whether a suggestion can be applied to the current text: not yet applied, and its passage
 * followed to the current revision untouched (the rule that marks a comment outdated).
 */
export const applicable = (c: PlacedComment): boolean =>
  c.suggestion !== undefined && c.appliedIn === undefined && !!c.anchor && !c.outdated && c.currentOffset !== null;

/**
 * Apply suggested changes: ONE revision of the proposal by the actor (who must be allowed to
 * edit it, while it may be edited: the refusals of `reviseProposal`), each passage replaced by
 * its suggestion, the suggesters named in `Co-authored-by` trailers; their threads are resolved
 * in the same step. `head` is the revision the suggestions were read on (409 `stale_head`
 * otherwise); a suggestion whose passage has changed since is 409 `suggestion_outdated`, one
 * applied before 409 `suggestion_applied`, two that change the same words 409
 * `suggestions_overlap`. Nothing is written when any of them is refused.
 */
export async function applySuggestions(
  ctx: Ctx,
  actor: Actor | null,
  id: number,
  input: ApplySuggestionsInput,
): Promise<{ proposal: ProposalRecord; applied: number[] }> {
  signedIn(actor);
  return ctx.subjects.run(`proposal/${id}`, () => apply(ctx, actor, id, input));
}

async function apply(ctx: Ctx, actor: Actor, id: number, input: ApplySuggestionsInput) {
  const p = loadProposalFor(ctx, actor, id, 'proposal.edit');
  assertEditable(p.state, p.openRound !== null);
  const ids = [...new Set(input.comments)];
  if (!ids.length) throw invalid('invalid_comments', 'Name at least one suggestion to apply.');
  const roots: CommentRecord[] = ids.map((cid) => {
    const c = Number.isInteger(cid) ? ctx.meta.get('comments', cid) : undefined;
    if (c?.subject.type !== 'proposal' || c.subject.id !== id) throw absent('comment');
    if (c.suggestion === undefined || !c.anchor)
      throw invalid('not_a_suggestion', `Comment ${cid} suggests no change to apply.`, { comment: cid });
    return c;
  });
  if (input.head !== p.head)
    throw conflict(
      'stale_head',
      'Someone saved a newer revision since you read these suggestions: this page now shows it. Look at the suggestions again, then apply them.',
      { current: p.head },
    );
  const text = await proposalText(ctx, p);
  const placed = await placeComments(ctx, { type: 'proposal', id }, p.revisions, roots);
  const replacements = placed.map((c) => {
    if (c.appliedIn !== undefined)
      throw conflict('suggestion_applied', `${labelOf(ctx, c)} was applied in revision ${c.appliedIn}.`, {
        comment: c.id,
      });
    const at = c.currentOffset;
    const quote = c.anchor!.quote;
    if (!applicable(c) || at === null || text.slice(at, at + quote.length) !== quote)
      throw conflict(
        'suggestion_outdated',
        `The passage of ${labelOf(ctx, c)} has changed since: it can no longer be applied.`,
        { comment: c.id },
      );
    return { comment: c.id, label: labelOf(ctx, c), offset: at, length: quote.length, text: c.suggestion! };
  });
  const next = checkText(replacePassages(text, replacements));
  const suggesters = roots.map((c) => {
    const u = ctx.meta.get('users', c.authorId);
    return { name: u?.name ?? '', email: u?.email ?? '' };
  });
  // Someone else changes the author's proposal: the author's mail shows what this revision changes.
  const changes = actor.id !== p.authorId ? await diffTexts(ctx, text, next) : [];
  const saved = await saveRevision(
    ctx,
    actor,
    { type: 'proposal', id },
    {
      ref: proposalRef(id),
      document: p.document,
      head: input.head,
      text: next,
      message: suggestionsMessage(
        p,
        actor,
        suggesters.filter((s) => s.email),
      ),
      action: 'proposal.revised',
      alsoEvents: roots.map((c) => ({ action: 'comment.resolved', subject: `proposal/${id}#comment-${c.id}` })),
      alsoPuts: (rec, n) => {
        const resolved = roots.map(
          (c): CommentRecord => ({ ...c, resolved: true, resolvedBy: actor.id, appliedIn: n }),
        );
        return mergePuts(
          { comments: Object.fromEntries(resolved.map((c) => [c.id, c])) },
          actor.id !== p.authorId ? proposalRevisedMails(ctx, rec as ProposalRecord, actor, n, changes) : {},
          // Each suggester is told their thread was resolved (not the one who applied it).
          ...resolved.filter((c) => c.authorId !== actor.id).map((c) => commentResolvedMails(ctx, c, actor)),
        );
      },
    },
  );
  return { proposal: saved as ProposalRecord, applied: ids };
}
