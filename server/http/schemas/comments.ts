import { z } from 'zod';
import { MAX_COMMENT_BYTES, MAX_QUOTE } from '../../domain/limits.js';
import { coded, PositiveInt, utf8 } from '../validate.js';
import { JsonId, size } from './fields.js';

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
});
export type CommentBody = z.infer<typeof CommentBody>;
