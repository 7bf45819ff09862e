import type { ErrorRequestHandler, Request, Response } from 'express';
import { DomainError, type ErrorKind } from '../domain/errors.js';
import type { Logger } from './log.js';
import { sent } from './pages/render.js';

/** The one table from error kind to HTTP status. */
export const STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  throttled: 429,
  busy: 503,
  unavailable: 503,
  storage_full: 507,
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
  503: 'Not available just now',
  507: 'No room left to store this',
};

/** Turn what express or a body parser throws into our error family; unknown errors stay unknown. */
function normalise(err: unknown): DomainError | null {
  if (err instanceof DomainError) return err;
  const e = err as { type?: string; status?: number; statusCode?: number; message?: string };
  const status = e?.status ?? e?.statusCode;
  if (e?.type === 'entity.too.large' || status === 413)
    return new DomainError('too_large', 'body_too_large', 'The request body is too large.');
  if (e?.type === 'entity.parse.failed')
    return new DomainError('invalid', 'invalid_json', 'The request body is not valid JSON.');
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const kind = (Object.entries(STATUS).find(([, s]) => s === status)?.[0] ?? 'invalid') as ErrorKind;
    return new DomainError(kind, kind === 'invalid' ? 'bad_request' : kind, e.message ?? 'Bad request.');
  }
  return null;
}

export function sendError(
  req: Request,
  res: Response,
  status: number,
  code: string,
  message: string,
  extra: Record<string, unknown> = {},
) {
  res.status(status);
  if (req.originalUrl.startsWith('/api/')) {
    res.json({ error: { code, message, ...extra } });
    return;
  }
  // A feed reader is no browser: a feed's error is a line of text, never an HTML page.
  if (/\/feed\.(?:atom|json)$/.test(req.path)) {
    res.type('text/plain').send(`${message} (${code})\n`);
    return;
  }
  res.format({
    html: () =>
      res.render(
        'error',
        {
          title: TITLES[status] ?? 'Error',
          status,
          code,
          message,
          next: req.method === 'GET' && /^\/(?![/\\])/.test(req.originalUrl) ? req.originalUrl : '/',
          user: res.locals.user ?? null,
          csrfToken: res.locals.csrfToken ?? '',
        },
        sent(res),
      ),
    json: () => res.json({ error: { code, message, ...extra } }),
    default: () => res.type('text/plain').send(`${message}\n`),
  });
}

/** Refusals worth a log line, and at which level: who was refused what is a security signal. */
const REFUSAL_LEVEL: Partial<Record<number, 'info' | 'warn'>> = { 401: 'warn', 403: 'warn', 404: 'info', 429: 'warn' };

/** The one error handler: JSON under /api, a page elsewhere; never a stack trace. Refusals and failures are logged here. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) return next(err);
    const reqLog = req.log ?? log;
    const known = normalise(err);
    if (known) {
      const status = STATUS[known.kind];
      const level = REFUSAL_LEVEL[status];
      if (level)
        reqLog[level](
          { refusal: { status, code: known.code }, actor: req.actor?.id ?? null },
          `refused: ${known.code}`,
        );
      if (
        (known.kind === 'throttled' || known.kind === 'busy' || known.kind === 'unavailable') &&
        known.data.retryAfter
      )
        res.set('Retry-After', String(known.data.retryAfter));
      const extra =
        known.kind === 'conflict'
          ? pickPublic(known.data)
          : Array.isArray(known.data.fields)
            ? { fields: known.data.fields }
            : {};
      return sendError(req, res, status, known.code, known.message, extra);
    }
    reqLog.error({ err, actor: req.actor?.id ?? null }, `${req.method} ${req.path} failed`);
    sendError(
      req,
      res,
      500,
      'internal',
      'Something went wrong on our side. Nothing you sent was lost; please try again.',
    );
  };
}

/** Conflicts may tell the client the current head, and refused input lists its problems (`fields`, from http/validate.ts); nothing else from `data` leaves the server. */
function pickPublic(data: Record<string, unknown>): Record<string, unknown> {
  return 'current' in data ? { current: data.current } : {};
}
