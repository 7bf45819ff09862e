import { z } from 'zod';
import { MAX_RATIONALE_BYTES, MAX_SUMMARY, MAX_TEXT_BYTES, MAX_TITLE } from '../../domain/limits.js';
import { coded, PositiveInt, utf8 } from '../validate.js';

/**
 * The fields several areas share. A schema checks the shape (types, lengths from
 * domain/limits.ts, enums, formats); the rules (a title is one line, an objection needs a
 * reason, a deadline is in the future…) stay in the domain and the services.
 */

/** A size for people: 1 MB, 20 KB, or bytes. */
export const size = (bytes: number) =>
  bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MB` : bytes >= 1024 ? `${bytes / 1024} KB` : `${bytes} bytes`;

/** `/…/:id` — a malformed id names nothing: the routes answer 404, as for an absent one. */
export const IdParams = z.object({ id: PositiveInt });

/** A whole text (a proposal's, a consolidation's): a string of at most 1 MB of UTF-8. */
export const Text = coded(
  utf8(MAX_TEXT_BYTES, 'text_too_large', `A text may be at most ${size(MAX_TEXT_BYTES)}.`),
  'invalid_text',
  'Give the text as a string.',
);

/** The revision an edit was made on: a commit id, 40 lowercase hex digits. */
export const Head = coded(
  z.string().regex(/^[0-9a-f]{40}$/),
  'invalid_head',
  'Give the head (commit id) your edit was made on.',
);

/** A title: a string of at most 200 characters (one line, not blank: the domain's rule). */
export const Title = coded(
  z.string().max(MAX_TITLE),
  'invalid_title',
  `A title is one line of 1–${MAX_TITLE} characters.`,
);

/** A proposal's rationale: at most 20 KB. */
export const Rationale = coded(
  utf8(MAX_RATIONALE_BYTES, 'rationale_too_large', `The rationale may be at most ${size(MAX_RATIONALE_BYTES)}.`),
  'invalid_rationale',
  'Give the rationale as text.',
);

/** A version's or consolidation's summary: at most 2,000 bytes. */
export const Summary = coded(
  utf8(MAX_SUMMARY, 'summary_too_large', `The summary may be at most ${MAX_SUMMARY} bytes.`),
  'invalid_summary',
  'Give the summary as text.',
);

/** A positive whole number in JSON (an id). */
export const JsonId = z.number().int().positive();

/**
 * An ISO 8601 date-time with its zone (`Z` or `±hh:mm`), seconds and fractions optional:
 * `2027-03-01T17:00:00Z`, `2027-03-01T17:00+01:00`.
 */
export const IsoDateTime = z.union([z.iso.datetime({ offset: true }), z.iso.datetime({ offset: true, precision: -1 })]);
