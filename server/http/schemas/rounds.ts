import { z } from 'zod';
import { MAX_BALLOT_REASON, MAX_CANCEL_REASON, MAX_RECORD_NOTE } from '../../domain/limits.js';
import { RECORDS, RULES, type Position } from '../../domain/round.js';
import { coded, PositiveInt } from '../validate.js';
import { IsoDateTime, JsonId } from './fields.js';

const POSITIONS = ['approve', 'object', 'abstain'] as const satisfies readonly Position[];
// Every position is offered: a new one in the domain fails the type check here.
const _everyPosition: Exclude<Position, (typeof POSITIONS)[number]> extends never ? true : never = true;
void _everyPosition;

const Deadline = coded(
  IsoDateTime,
  'invalid_deadline',
  'Give the deadline as an ISO 8601 date and time with its zone, e.g. 2027-03-01T17:00:00Z.',
);

/** `POST /rounds` */
export const OpenRoundBody = z.strictObject({
  subject: coded(
    z.strictObject({ type: z.enum(['proposal', 'consolidation']), id: JsonId }),
    'invalid_subject',
    'The subject is {type: "proposal" | "consolidation", id}.',
  ),
  rule: coded(z.enum(RULES), 'invalid_rule', `The rule is one of ${RULES.join(', ')}.`),
  quorum: coded(
    z.number().min(0).max(1),
    'invalid_quorum',
    'The quorum is a fraction of the electorate from 0 to 1 (for example 0.5).',
  ),
  closesAt: Deadline,
  /** Whether ballots are public by name; the site's default when absent. */
  record: coded(z.enum(RECORDS).nullish(), 'invalid_record', 'The record is "named" or "unnamed".'),
  conditions: coded(
    z
      .strictObject({ eachGroupTakesPart: z.boolean().optional(), ruleWithinEachGroup: z.boolean().optional() })
      .nullish(),
    'invalid_conditions',
    'The conditions are {eachGroupTakesPart?: boolean, ruleWithinEachGroup?: boolean}.',
  ),
});
export type OpenRoundBody = z.infer<typeof OpenRoundBody>;

/** The e-mail of the member on whose behalf a ballot or recusal is recorded (secretariat; the chair when allowed). */
const Voter = coded(z.string().nullish(), 'invalid_voter', 'Name the voter by the e-mail of their account.');
/** With `voter`: where and how the member gave it (required then: the domain's rule). */
const Note = coded(
  z.string().max(MAX_RECORD_NOTE).nullish(),
  'note_required',
  `Say where and how the member gave it (up to ${MAX_RECORD_NOTE} characters), e.g. "at the meeting of 12 Sept".`,
);

/** `POST /rounds/:id/ballots` */
export const BallotBody = z.strictObject({
  position: coded(z.enum(POSITIONS), 'invalid_position', 'A ballot is approve, object or abstain.'),
  reason: coded(
    z.string().max(MAX_BALLOT_REASON).nullish(),
    'invalid_reason',
    `A reason is text of at most ${MAX_BALLOT_REASON} characters.`,
  ),
  voter: Voter,
  note: Note,
  /** In an unnamed round: name this voter in the public record. */
  named: coded(z.boolean().nullish(), 'invalid_named', 'named is true or false.'),
});
export type BallotBody = z.infer<typeof BallotBody>;

/** `POST /rounds/:id/recusals` */
export const RecusalBody = z.strictObject({
  reason: coded(
    z.string().max(MAX_CANCEL_REASON),
    'reason_required',
    `Say why the member stands aside (up to ${MAX_CANCEL_REASON} characters); recusals are in the public record.`,
  ),
  voter: Voter,
  note: Note,
});
export type RecusalBody = z.infer<typeof RecusalBody>;

/** `DELETE /rounds/:id/recusals` — the body, or the query string (`?voter=&note=`), names the member on whose behalf. */
export const WithdrawRecusalBody = z.strictObject({ voter: Voter, note: Note });
export type WithdrawRecusalBody = z.infer<typeof WithdrawRecusalBody>;
export const WithdrawRecusalQuery = z.object({ voter: Voter, note: Note });
export type WithdrawRecusalQuery = z.infer<typeof WithdrawRecusalQuery>;

/** `POST /rounds/:id/extend` — a later deadline. */
export const ExtendRoundBody = z.strictObject({ closesAt: Deadline });
export type ExtendRoundBody = z.infer<typeof ExtendRoundBody>;

/** `POST /rounds/:id/cancel` */
export const CancelRoundBody = z.strictObject({
  reason: coded(
    z.string().max(MAX_CANCEL_REASON),
    'reason_required',
    `Say why the round is cancelled (up to ${MAX_CANCEL_REASON} characters).`,
  ),
});
export type CancelRoundBody = z.infer<typeof CancelRoundBody>;

/** `GET /rounds?limit&before`: a page of rounds, newest first (unknown parameters are ignored). */
export const RoundsQuery = z.object({
  limit: PositiveInt.pipe(z.number().max(1000, 'must be at most 1000')).optional(),
  before: PositiveInt.optional(),
});
