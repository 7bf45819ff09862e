import { z } from 'zod';
import { coded, PositiveInt } from '../validate.js';
import { Head, JsonId, Rationale, Text, Title } from './fields.js';

/** `POST /documents/:slug/proposals` */
export const CreateProposalBody = z.strictObject({
  title: Title,
  /** Why: empty when absent. */
  rationale: Rationale.nullable().default(''),
  text: Text,
  /** The version the text was written on: 409 `stale_base` when a newer one was published since. */
  baseVersion: coded(
    JsonId.nullish(),
    'invalid_base_version',
    'baseVersion is the number of the version the text was written on.',
  ),
});
export type CreateProposalBody = z.infer<typeof CreateProposalBody>;

/** `PUT /proposals/:id/text` — `head` is the revision the edit was made on; title and rationale change when given. */
export const ReviseProposalBody = z.strictObject({
  text: Text,
  head: Head,
  title: Title.optional(),
  rationale: Rationale.nullish(),
});
export type ReviseProposalBody = z.infer<typeof ReviseProposalBody>;

/** `GET /proposals/:id/diff?from=&to=&against=` — revisions by number; `against` compares with the base or the published text. */
export const ProposalDiffQuery = z.object({
  from: PositiveInt.optional(),
  to: PositiveInt.optional(),
  against: z.enum(['base', 'published']).optional(),
});
export type ProposalDiffQuery = z.infer<typeof ProposalDiffQuery>;
