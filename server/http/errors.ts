import type { ErrorRequestHandler, Request, Response } from 'express';
import { DomainError, type ErrorKind } from '../domain/errors.js';

/** The one table from error kind to HTTP status. */
export const STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  throttled: 429,
  unavailable: 503,
};

const TITLES: Record<number, string> = {
  400: 'That request was not valid',
  401: 'Please sign in',
  403: 'Not allowed',
  404: 'Not found',
  409: 'That clashes with the current state',
  413: 'Too large',
  429: 'Too many attempts',
  500: 'Something went wrong on our side',
  503: 'Busy: please try again shortly',
};

/** Turn what express or a body parser throws into our error family; unknown errors stay unknown. */
function normalise(err: unknown): DomainError | null {
  if (err instanceof DomainError) return err;
  const e = err as { type?: string; status?: number; statusCode?: number; message?: string };
  const status = e?.status ?? e?.statusCode;
  if (e?.type === 'entity.too.large' || status === 413) return new DomainError('too_large', 'body_too_large', 'The request body is too large.');
  if (e?.type === 'entity.parse.failed') return new DomainError('invalid', 'invalid_json', 'The request body is not valid JSON.');
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const kind = (Object.entries(STATUS).find(([, s]) => s === status)?.[0] ?? 'invalid') as ErrorKind;
    return new DomainError(kind, kind === 'invalid' ? 'bad_request' : kind, e.message ?? 'Bad request.');
  }
  return null;
}

export function sendError(req: Request, res: Response, status: number, code: string, message: string, extra: Record<string, unknown> = {}) {
  res.status(status);
  if (req.originalUrl.startsWith('/api/')) {
    res.json({ error: { code, message, ...extra } });
    return;
  }
  res.format({
    html: () =>
      res.render('error', {
        title: TITLES[status] ?? 'Error',
        status,
        code,
        message,
        next: req.method === 'GET' && /^\/(?![/\\])/.test(req.originalUrl) ? req.originalUrl : '/',
        user: res.locals.user ?? null,
        csrfToken: res.locals.csrfToken ?? '',
      }),
    json: () => res.json({ error: { code, message, ...extra } }),
    default: () => res.type('text/plain').send(`${message}\n`),
  });
}

/** The one error handler: JSON under /api, a page elsewhere; never a stack trace. */
export function errorHandler(log: (msg: string, err: unknown) => void): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) return next(err);
    const known = normalise(err);
    if (known) {
      if ((known.kind === 'throttled' || known.kind === 'unavailable') && known.data.retryAfter) res.set('Retry-After', String(known.data.retryAfter));
      const extra = known.kind === 'conflict' ? pickPublic(known.data) : {};
      return sendError(req, res, STATUS[known.kind], known.code, known.message, extra);
    }
    log(`${req.method} ${req.originalUrl} failed`, err);
    sendError(req, res, 500, 'internal', 'Something went wrong on our side. Nothing you sent was lost; please try again.');
  };
}

/** Conflicts may tell the client the current head; nothing else from `data` leaves the server. */
function pickPublic(data: Record<string, unknown>): Record<string, unknown> {
  return 'current' in data ? { current: data.current } : {};
}
