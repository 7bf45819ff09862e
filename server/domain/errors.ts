/**
 * One error family for every refusal the product makes. Each carries a stable `code`
 * (asserted by tests and shown to API clients) and maps to one HTTP status in http/errors.ts.
 */
export type ErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'throttled'
  | 'busy'
  | 'storage_full'
  | 'unavailable';

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly data: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const invalid = (code: string, message: string, data?: Record<string, unknown>) =>
  new DomainError('invalid', code, message, data);
export const unauthenticated = (message = 'Sign in first: this needs an account.') =>
  new DomainError('unauthenticated', 'unauthenticated', message);
export const forbidden = (code: string, message: string) => new DomainError('forbidden', code, message);
export const notFound = (code: string, message: string) => new DomainError('not_found', code, message);
/** The things a URL or a command names by id or slug. */
export type Thing =
  | 'proposal'
  | 'consolidation'
  | 'round'
  | 'comment'
  | 'revision'
  | 'version'
  | 'document'
  | 'user'
  | 'group'
  | 'token'
  | 'mail';

/**
 * The one answer for an id that does not exist and for one the actor may not see: per kind, one
 * code and one message whichever it is, so that no answer tells whether something hidden exists.
 * Every "no such thing" refusal goes through here (pages, API and CLI).
 */
export const absent = (kind: Thing) =>
  new DomainError('not_found', `${kind}_not_found`, `There is no such ${kind}, or you may not see it.`);
export const conflict = (code: string, message: string, data?: Record<string, unknown>) =>
  new DomainError('conflict', code, message, data);
export const tooLarge = (code: string, message: string) => new DomainError('too_large', code, message);

/** The disk refused a write (full or failing): nothing of the change was kept; try again later. */
export const storageFull = () =>
  new DomainError(
    'storage_full',
    'storage_full',
    'The server has no room left to store this change. Nothing of it was kept; please try again later.',
  );
export const storageUnavailable = () =>
  new DomainError(
    'unavailable',
    'storage_unavailable',
    'The server cannot store changes at the moment. Nothing of this one was kept; please try again later.',
  );
/** The server cannot take this work now (a full queue); `retryAfter` seconds says when to try again. */
export const unavailable = (code: string, message: string, retryAfter: number) =>
  new DomainError('unavailable', code, message, { retryAfter });

export const isDomainError = (e: unknown): e is DomainError => e instanceof DomainError;

/** One field's refusal, as `error.fields` lists it. */
export interface FieldProblem {
  path: string;
  code: string;
  message: string;
}

/**
 * Run each field's check and report every refusal at once (a form answers with all its
 * problems): one refused check throws as it is; several throw `code` (400) naming each in
 * `fields`, its message theirs in order. Errors that are not refusals pass through.
 */
export function checkEach<T extends Record<string, () => unknown>>(
  code: string,
  checks: T,
): { [K in keyof T]: ReturnType<T[K]> } {
  const out: Record<string, unknown> = {};
  const refused: { path: string; error: DomainError }[] = [];
  for (const [path, check] of Object.entries(checks)) {
    try {
      out[path] = check();
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      refused.push({ path, error: e });
    }
  }
  if (refused.length === 1) throw refused[0].error;
  if (refused.length > 1) {
    const fields: FieldProblem[] = refused.map(({ path, error }) => ({
      path,
      code: error.code,
      message: error.message,
    }));
    throw invalid(code, fields.map((f) => f.message).join(' '), { fields });
  }
  return out as { [K in keyof T]: ReturnType<T[K]> };
}
