import { z } from 'zod';
import { coded } from '../validate.js';
import { Head, JsonId, Summary, Text } from './fields.js';

/** `POST /documents/:slug/consolidations` — the shared proposals to merge, by id. */
export const CreateConsolidationBody = z.strictObject({
  proposals: coded(
    z.array(JsonId),
    'invalid_proposals',
    'Choose the shared proposals to consolidate: a list of proposal ids.',
  ),
  summary: Summary.nullable().default(''),
});
export type CreateConsolidationBody = z.infer<typeof CreateConsolidationBody>;

/** `PUT /consolidations/:id/text` */
export const ReviseConsolidationBody = z.strictObject({ text: Text, head: Head, message: Summary.nullish() });
export type ReviseConsolidationBody = z.infer<typeof ReviseConsolidationBody>;

/** `POST /consolidations/:id/publish` — the version's summary; the consolidation's when absent. */
export const PublishBody = z.strictObject({ summary: Summary.nullish() });
export type PublishBody = z.infer<typeof PublishBody>;

/**
 * `GET /consolidations/:id/attribution` (an answer, not an input) — each change of the text
 * against the published one, in text order, with the proposal or the chair's editorial
 * revision that made it.
 */
export const AttributionResponse = z.array(
  z.strictObject({
    op: z.enum(['insert', 'delete']),
    text: z.string(),
    source: z.discriminatedUnion('type', [
      z.strictObject({ type: z.literal('proposal'), id: JsonId }),
      z.strictObject({ type: z.literal('editorial'), revision: JsonId, author: z.string() }),
    ]),
  }),
);
export type AttributionResponse = z.infer<typeof AttributionResponse>;
