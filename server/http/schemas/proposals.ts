import { z } from 'zod';
import { coded, PositiveInt } from '../validate.js';
import { Head, JsonId, Rationale, Text, Title } from './fields.js';

/** A section's anchor: its heading's id on the document page (domain/sections.ts), letters, digits and dashes. */
export const SectionAnchor = z.string().regex(/^[\p{L}\p{N}-]{1,80}$/u);

/** `/proposals/:id/sections/:anchor` — a malformed id or anchor names nothing: 404. */
export const SectionParams = z.object({ id: PositiveInt, anchor: SectionAnchor });

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
  /** When given, `text` is this section only (its anchor on the document page): it replaces that section of the latest version. */
  section: coded(
    SectionAnchor.nullish(),
    'invalid_section',
    'section is the anchor of the section the text replaces (its heading’s id on the document page).',
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

/**
 * `PUT /proposals/:id/sections/:anchor` — as the full revise, but `text` is the section only
 * (its heading line and everything under it); it is spliced into the current text.
 */
export const ReviseSectionBody = ReviseProposalBody;
export type ReviseSectionBody = ReviseProposalBody;

/** `GET /proposals/:id/diff?from=&to=&against=` — revisions by number; `against` compares with the base or the published text. */
export const ProposalDiffQuery = z.object({
  from: PositiveInt.optional(),
  to: PositiveInt.optional(),
  against: z.enum(['base', 'published']).optional(),
});
export type ProposalDiffQuery = z.infer<typeof ProposalDiffQuery>;

/**
 * `POST /documents/:slug/proposals/docx?title=&rationale=&baseVersion=&dryRun=1` — the body is
 * the Word file itself. With `dryRun=1` nothing is saved: the answer is the text read from the
 * file and its diff against the published text; without it, `title` is required and the text
 * becomes a new proposal, as `POST /documents/:slug/proposals` would make it.
 */
export const WordProposalQuery = z
  .object({
    title: Title.optional(),
    rationale: Rationale.optional(),
    baseVersion: coded(
      PositiveInt.optional(),
      'invalid_base_version',
      'baseVersion is the number of the version the text was written on.',
    ),
    dryRun: coded(z.enum(['1', '0']).optional(), 'invalid_dry_run', 'dryRun is 1 (only read the file) or 0.'),
  })
  .refine((q) => q.dryRun === '1' || (q.title ?? '').trim() !== '', {
    path: ['title'],
    message: 'A title is required unless dryRun=1.',
    params: { code: 'invalid_title', kind: 'invalid' },
  });
export type WordProposalQuery = z.infer<typeof WordProposalQuery>;
