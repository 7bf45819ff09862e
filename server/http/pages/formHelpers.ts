import type { Request, Response } from 'express';
import { z } from 'zod';
import type { Actor } from '../../domain/actor.js';
import { absent, DomainError, type ErrorKind, type Thing } from '../../domain/errors.js';
import { signedIn } from '../../domain/policy.js';
import { STATUS } from '../errors.js';
import { parse, PositiveInt, type Problem } from '../validate.js';

/**
 * What the page routes share: reading a form post, the notice carried across a redirect, and
 * how a refusal a person can fix is shown on the page they came from.
 */

export type Locals = Record<string, unknown>;
/** Render the page again with extra locals (a refusal, what was typed). */
type Show = (extra: Locals) => Promise<void> | void;

type Body = Record<string, unknown> | undefined;

/** One text field of a form post ('' when absent or not text). */
export const field = (req: Request, name: string) => {
  const v = (req.body as Body)?.[name];
  return typeof v === 'string' ? v : '';
};

/** A form field only when it was sent (so a partial post leaves the rest as it is). */
export const maybe = (req: Request, name: string) =>
  typeof (req.body as Body)?.[name] === 'string' ? field(req, name) : undefined;

/** A textarea's text as the person typed it: browsers send CRLF line ends, the texts keep LF. */
export const textarea = (req: Request, name: string) => field(req, name).replace(/\r\n?/g, '\n');

/** The checked values of a checkbox group (one value arrives as a string, several as an array). */
export const checked = (req: Request, name: string): string[] => {
  const v = (req.body as Body)?.[name];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
};

/** A number field: absent or blank → undefined; otherwise the number it reads as (NaN if none, which the schema refuses). */
export const numberField = (req: Request, name: string) => {
  const v = field(req, name).trim();
  return v ? Number(v) : undefined;
};

/**
 * What a form sent, checked by the schema of the API route that does the same thing
 * (`http/schemas/`): the service gets the same typed input from both, and every problem is
 * reported at once (a DomainError with `fields`, which the page shows beside the form).
 */
export const fromForm = <S extends z.ZodType>(schema: S, fields: Record<string, unknown>): z.output<S> =>
  parse(schema, fields);

const Id = z.object({ id: PositiveInt });

/** Who is signed in, typed as such: 401 (unauthenticated) for the public. */
export function signedInActor(req: Request): Actor {
  const actor = req.actor ?? null;
  signedIn(actor);
  return actor;
}

/** The `:id` of the path; anything but a positive integer is "no such <what>" (404). */
export const idOf = (req: Request, what: Thing) => {
  const r = Id.safeParse(req.params);
  if (!r.success) throw absent(what);
  return r.data.id;
};

/** The notice left by the previous request (after a redirect), shown once (none without a session: session.ts). */
export const takeNotice = (req: Request) => {
  if (!req.session) return null;
  const notice = req.session.notice ?? null;
  delete req.session.notice;
  return notice;
};

/** Done: redirect (303, so a reload does not post again) to a page that shows `notice`. */
export const done = (req: Request, res: Response, to: string, notice: string) => {
  req.session.notice = notice;
  res.redirect(303, to);
};

/**
 * The form field a rule's refusal is about, by its code (a schema refusal names its fields
 * itself). The names are the forms' input names, the same in every form.
 */
const FIELD_OF_CODE: Record<string, string> = {
  invalid_title: 'title',
  invalid_text: 'text',
  text_too_large: 'text',
  invalid_rationale: 'rationale',
  rationale_too_large: 'rationale',
  invalid_comment: 'body',
  comment_too_large: 'body',
  quote_not_found: 'quote',
  invalid_anchor: 'quote',
  suggestion_needs_anchor: 'quote',
  invalid_suggestion: 'suggestion',
  suggestion_too_large: 'suggestion',
  invalid_summary: 'summary',
  summary_too_large: 'summary',
  invalid_rule: 'rule',
  invalid_quorum: 'quorum',
  invalid_deadline: 'closesAt',
  invalid_position: 'position',
  reason_required: 'reason',
  invalid_reason: 'reason',
  invalid_voter: 'voter',
  note_required: 'note',
  invalid_email: 'email',
  user_exists: 'email',
  invalid_name: 'name',
  invalid_slug: 'slug',
  invalid_label: 'label',
  invalid_preference: 'notify',
  password_too_short: 'next',
  password_too_long: 'next',
  password_too_common: 'next',
  password_mismatch: 'confirm',
  invalid_docx: 'file',
  empty_docx: 'file',
  docx_too_large: 'file',
  docx_too_complex: 'file',
  invalid_upload: 'file',
};

/** The input names a refusal is about: every field a schema named, or the one a rule's code names. */
/** The form field a problem's path names: its first segment; a CSV's "line N" is the CSV's field. */
const fieldOfPath = (path: string): string => (/^line \d+$/.test(path) ? 'csv' : path.split('.')[0]);

export function fieldsOf(e: DomainError): string[] {
  const named =
    (e.data.fields as { path: string }[] | undefined)?.map((f) => fieldOfPath(f.path)).filter(Boolean) ?? [];
  if (named.length) return [...new Set(named)];
  return FIELD_OF_CODE[e.code] ? [FIELD_OF_CODE[e.code]] : [];
}

/** What a person cannot put right on the form they used: these go to the error page (404, 403, 401). */
const TO_ERROR_PAGE: readonly ErrorKind[] = ['forbidden', 'unauthenticated', 'not_found'];

/**
 * Run `fn`; a refusal the person can fix (a DomainError whose kind is not in `toErrorPage`)
 * answers with its status and `show`s the page again — nothing was changed. Anything else goes
 * on to the error handler.
 */
export async function onRefusal(
  res: Response,
  fn: () => Promise<void>,
  show: (e: DomainError) => unknown,
  toErrorPage: readonly ErrorKind[] = TO_ERROR_PAGE,
): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof DomainError) || toErrorPage.includes(e.kind)) throw e;
    res.status(STATUS[e.kind]);
    // Which fields the refusal is about: the page's alert names them (`data-fields`) and ratify.js marks them.
    res.locals.errorFieldNames = fieldsOf(e);
    // Every problem (a schema's refusal names several), for the page to list, each linked to its field.
    res.locals.errorProblems = ((e.data.fields as Problem[] | undefined) ?? []).map((f) => ({
      ...f,
      field: fieldOfPath(f.path),
    }));
    // A throttled check (the account page's password checks) says when to try again, as the error page does.
    if (e.kind === 'throttled' || e.kind === 'unavailable') res.set('Retry-After', String(e.data.retryAfter));
    await show(e);
  }
}

/**
 * Refusals a person can fix (bad input, a clash with the current state) are shown on the page
 * they came from, with the right status and what they typed — beside the form they used when
 * the page has several (`errorFor`); what they may not see or do goes to the error page.
 */
export const orShow = (res: Response, show: Show, fn: () => Promise<void>, errorFor?: string) =>
  onRefusal(res, fn, (e) =>
    show({
      error: e.message,
      errorCode: e.code,
      // Every problem, by the field it is about (a form's schema refusal names each; a rule names one).
      errorFields: (e.data.fields as Problem[] | undefined) ?? [],
      ...(errorFor === undefined ? {} : { errorFor }),
    }),
  );
