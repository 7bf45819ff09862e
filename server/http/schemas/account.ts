import { z } from 'zod';
import { MAIL_KINDS, NOTIFY_PREFERENCES } from '../../domain/records.js';
import { coded, PositiveInt } from '../validate.js';

/**
 * `GET /audit?limit=N&before=SEQ` — the newest N entries (1–10,000; 100 by default), or with
 * `before` the newest N whose seq is below it: the next page starts before the last seq of this one.
 * Problems: 400 `invalid_limit`, `invalid_before`.
 */
export const AuditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
  before: coded(PositiveInt.optional(), 'invalid_before', 'must be the seq of an entry (a positive whole number)'),
});
export type AuditQuery = z.infer<typeof AuditQuery>;

/** Account › Notifications: how non-essential messages come. */
export const NotifyBody = z.strictObject({
  notify: coded(z.enum(NOTIFY_PREFERENCES), 'invalid_preference', 'Choose immediate, digest or none.'),
  /** Per kind of mail: a preference of its own, or `default` (follow `notify`). */
  kinds: coded(
    z.partialRecord(z.enum(MAIL_KINDS), z.enum([...NOTIFY_PREFERENCES, 'default'])).optional(),
    'invalid_preference',
    'For each kind of mail choose default, immediate, digest or none.',
  ),
});
export type NotifyBody = z.infer<typeof NotifyBody>;
