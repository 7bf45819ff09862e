import { z } from 'zod';
import { MAX_COMMENT_BYTES, MAX_QUOTE, MAX_SUGGESTIONS_APPLIED } from '../../domain/limits.js';
import { coded, PositiveInt, utf8 } from '../validate.js';
import { Head, JsonId, size } from './fields.js';

/** `/proposals/:id/comments/:cid/…` and `/consolidations/:id/comments/:cid/…` */
export const CommentIdParams = z.object({ id: PositiveInt, cid: PositiveInt });

/** The passage a comment is about: a quote of the current text, as shown or as written in markdown, and which of its occurrences (0 = the first). */
export const Anchor = coded(
  z.strictObject({ quote: z.string().max(MAX_QUOTE), occurrence: z.number().int().optional() }),
  'invalid_anchor',
  `An anchor is {quote}: a passage of the current text (up to ${MAX_QUOTE} characters).`,
);

/** `POST /proposals/:id/comments`, `POST /consolidations/:id/comments` — markdown, at most 64 KB. */
export const CommentBody = z.strictObject({
  body: coded(
    utf8(MAX_COMMENT_BYTES, 'comment_too_large', `The comment may be at most ${size(MAX_COMMENT_BYTES)}.`),
    'invalid_comment',
    'Give the comment as text.',
  ),
  anchor: Anchor.nullish(),
  replyTo: coded(JsonId.nullish(), 'invalid_reply', 'replyTo is the id of a comment on this text.'),
  /** A suggested change (proposals only, with an anchor): the words that replace the quoted passage; '' deletes it. */
  suggestion: coded(
    utf8(MAX_COMMENT_BYTES, 'suggestion_too_large', `A suggestion may be at most ${size(MAX_COMMENT_BYTES)}.`),
    'invalid_suggestion',
    'Give the suggestion as text: the words that replace the quoted passage.',
  ).nullish(),
});
export type CommentBody = z.infer<typeof CommentBody>;

/** `POST /proposals/:id/comments/:cid/apply` — `head` is the revision the suggestion was read on. */
export const ApplySuggestionBody = z.strictObject({ head: Head });
export type ApplySuggestionBody = z.infer<typeof ApplySuggestionBody>;

/** `POST /proposals/:id/suggestions/apply` — several suggestions as one revision. */
export const ApplySuggestionsBody = z.strictObject({
  comments: coded(
    z.array(JsonId).min(1).max(MAX_SUGGESTIONS_APPLIED),
    'invalid_comments',
    `comments lists the ids of 1–${MAX_SUGGESTIONS_APPLIED} suggestions on this proposal.`,
  ),
  head: Head,
});
export type ApplySuggestionsBody = z.infer<typeof ApplySuggestionsBody>;
