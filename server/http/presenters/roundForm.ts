import { DomainError, invalid } from '../../domain/errors.js';
import { deadlineProblem } from '../../domain/round.js';
import { OpenRoundBody } from '../schemas/index.js';
import { check, refusal, type Found } from '../validate.js';
import { ruleOptions } from './roundView.js';
import type { Ctx } from '../../services/context.js';
import { getRoundSettings } from '../../services/settings/roundSettings.js';
import { membersHaveStakeholders } from '../../services/stakeholders.js';

/** A quorum typed as a percentage ("50", "66.67", "50 %") → the fraction the service takes, exactly. */
export function quorumFromPercent(input: string): number {
  const m = /^\s*(\d{1,3})(?:[.,](\d{1,2}))?\s*%?\s*$/.exec(input);
  const bp = m ? Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0')) : NaN;
  if (!(bp >= 0 && bp <= 10000))
    throw invalid(
      'invalid_quorum',
      'Give the quorum as a percentage of the electorate from 0 to 100, with at most two decimals (for example 50 or 66.67).',
    );
  return bp / 10000;
}

/** A `datetime-local` value ("2026-03-01T17:00"), read as UTC → an ISO string. */
export function deadlineFromLocal(input: string): string {
  const m = /^\s*(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?\s*$/.exec(input);
  if (!m)
    throw invalid('invalid_deadline', 'Give the deadline as a date and a time (UTC), for example 2026-03-01 17:00.');
  const iso = `${m[1]}T${m[2]}:${m[3]}:${m[4] ?? '00'}.000Z`;
  const t = new Date(iso);
  // A date the calendar does not have (30 February) must not roll over silently.
  if (Number.isNaN(t.getTime()) || t.toISOString() !== iso)
    throw invalid('invalid_deadline', 'That date does not exist. Give the deadline as a date and a time (UTC).');
  return iso;
}

/** The UTC instant the browser worked out from the local time typed (`<name>Utc`, sent by ratify.js), if any. */
const UTC_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?Z$/;
function browserInstant(field: (name: string) => string, name: string): string | null {
  const v = field(`${name}Utc`).trim();
  return UTC_INSTANT.test(v) && !Number.isNaN(Date.parse(v)) ? new Date(v).toISOString() : null;
}

/**
 * The deadline a form sent, as an ISO string in UTC. With JavaScript the person typed it in
 * their own time zone and the browser sent the instant beside it (`closesAtUtc`); without, the
 * field itself is read as UTC (the form says so).
 */
export const deadlineFromForm = (field: (name: string) => string, name = 'closesAt'): string =>
  browserInstant(field, name) ?? deadlineFromLocal(field(name));

/** What a deadline field shows again after a refusal: always UTC in the page (ratify.js shows it in local time). */
export const deadlineShownAgain = (field: (name: string) => string, name = 'closesAt'): string => {
  const instant = browserInstant(field, name);
  return instant ? toLocalInput(instant) : field(name);
};

/** ISO → the value a `datetime-local` field shows (UTC, to the minute). */
export const toLocalInput = (iso: string) => iso.slice(0, 16);

/** A week from now, on the next hour (UTC): the deadline a new round's form suggests. */
export function suggestedDeadline(now: Date): string {
  const t = new Date(now.getTime() + 7 * 86_400_000);
  t.setUTCMinutes(0, 0, 0);
  t.setUTCHours(t.getUTCHours() + 1);
  return toLocalInput(t.toISOString());
}

/** What was typed into the "open a round" form. */
export interface TypedRoundForm {
  rule: string;
  quorum: string;
  closesAt: string;
  /** The instant the browser computed from the local time typed (empty without JavaScript). */
  closesAtUtc?: string;
  record: string;
  eachGroupTakesPart: boolean;
  ruleWithinEachGroup: boolean;
}

/** The form's fields, read through `field` (the page's form reader). */
export const typedRoundForm = (field: (name: string) => string): TypedRoundForm => ({
  rule: field('rule'),
  quorum: field('quorum'),
  closesAt: deadlineShownAgain(field),
  closesAtUtc: field('closesAtUtc'),
  record: field('record'),
  eachGroupTakesPart: field('eachGroupTakesPart') === 'yes',
  ruleWithinEachGroup: field('ruleWithinEachGroup') === 'yes',
});

/** The ids of the round form's fields, by the input's path (the error summary links to them). */
export const ROUND_FIELD_IDS: Record<string, string> = {
  rule: 'round-rule',
  quorum: 'round-quorum',
  closesAt: 'round-deadline',
  record: 'round-record',
};

/** The field a rule's refusal is about, by its code (a rule refuses one field at a time). */
export const ROUND_CODE_FIELDS: Record<string, string> = {
  invalid_rule: 'rule',
  invalid_quorum: 'quorum',
  invalid_deadline: 'closesAt',
  invalid_record: 'record',
};

/** Run a conversion of one field; its refusal becomes a problem of that field. */
function attempt<T>(path: string, found: Found[], fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof DomainError)) throw e;
    found.push({ path, code: e.code, message: e.message, kind: e.kind });
    return undefined;
  }
}

/**
 * The typed form as the service's input, or a refusal naming every problem at once (issue 14:
 * a quorum of 150 and a past deadline are both reported): the fields as typed (a percentage, a
 * local date and time), then the API's schema, then the deadline rule, which needs the clock.
 */
export function openRoundInput(t: TypedRoundForm, subject: OpenRoundBody['subject'], now: Date): OpenRoundBody {
  const found: Found[] = [];
  const quorum = attempt('quorum', found, () => quorumFromPercent(t.quorum));
  const closesAt = attempt('closesAt', found, () =>
    deadlineFromForm((k) => (k === 'closesAtUtc' ? (t.closesAtUtc ?? '') : t.closesAt)),
  );
  const checked = check(OpenRoundBody, {
    subject,
    rule: t.rule,
    quorum: quorum ?? 0,
    closesAt: closesAt ?? '2000-01-01T00:00:00Z',
    record: t.record || undefined,
    conditions: { eachGroupTakesPart: t.eachGroupTakesPart, ruleWithinEachGroup: t.ruleWithinEachGroup },
  });
  if (!checked.ok) found.push(...checked.found.filter((p) => !found.some((f) => f.path === p.path)));
  const late = closesAt === undefined ? null : deadlineProblem(closesAt, now);
  if (late && !found.some((f) => f.path === 'closesAt')) found.push({ path: 'closesAt', ...late, kind: 'invalid' });
  if (found.length || !checked.ok) throw refusal(found);
  return checked.data;
}

/** The locals of the "open a round" form (views/rounds/_open_form.ejs). */
export function roundFormLocals(ctx: Ctx, typed?: TypedRoundForm) {
  const now = ctx.clock();
  return {
    rules: ruleOptions(),
    hasStakeholders: membersHaveStakeholders(ctx),
    roundForm: typed ?? {
      rule: 'consensus',
      quorum: '50',
      closesAt: suggestedDeadline(now),
      record: getRoundSettings(ctx).defaultRecord,
      eachGroupTakesPart: false,
      ruleWithinEachGroup: false,
    },
    minDeadline: toLocalInput(now.toISOString()),
    roundFieldIds: ROUND_FIELD_IDS,
    roundCodeFields: ROUND_CODE_FIELDS,
  };
}
