/**
 * One error family for every refusal the product makes. Each carries a stable `code`
 * (asserted by tests and shown to API clients) and maps to one HTTP status in http/errors.ts.
 */
export type ErrorKind = 'invalid' | 'unauthenticated' | 'forbidden' | 'not_found' | 'conflict' | 'too_large' | 'throttled' | 'unavailable';

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
export const conflict = (code: string, message: string, data?: Record<string, unknown>) =>
  new DomainError('conflict', code, message, data);
export const tooLarge = (code: string, message: string) => new DomainError('too_large', code, message);

/** The server cannot take this work now (a full queue); `retryAfter` seconds says when to try again. */
export const unavailable = (code: string, message: string, retryAfter: number) =>
  new DomainError('unavailable', code, message, { retryAfter });

export const isDomainError = (e: unknown): e is DomainError => e instanceof DomainError;
