import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { pino, type DestinationStream, type Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { EntryMeta } from '../store/meta/metaStore.js';

export type { Logger };

/**
 * Never in a log line: credentials in headers (the serializers below keep no headers at all;
 * this is the second fence should a header object ever be logged).
 */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
];

/** The service's structured (JSON lines) logger at `level`; `silent` writes nothing. */
export function createLogger(level: string, stream?: DestinationStream): Logger {
  return pino({ level, base: { service: 'ratify' }, redact: { paths: REDACT, censor: '[redacted]' } }, stream);
}

/** A logger that writes nothing (the default in tests). */
export const silentLogger = (): Logger => pino({ level: 'silent' });

/** A request id from the client is kept if it is short and plain; anything else is replaced. */
const CLIENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Query values that are secrets (password-reset links carry `token`). */
const SECRET_PARAM = /([?&](?:token|code|password)=)[^&#]*/gi;

/** The URL as logged: the path and query, with secret query values blanked. */
export const loggedUrl = (url: string | undefined): string =>
  (url ?? '').slice(0, 2048).replace(SECRET_PARAM, '$1[redacted]');

/**
 * One JSON line per request: request id (the client's `X-Request-Id` when plain, else a new
 * one; echoed on the response), method, URL, status, response time and the actor's id.
 */
export function requestLogger(logger: Logger): RequestHandler {
  const mw = pinoHttp({
    logger,
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && CLIENT_ID.test(given) ? given : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    serializers: {
      req: (req: { id: unknown; method: string; url: string }) => ({
        id: req.id,
        method: req.method,
        url: loggedUrl(req.url),
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
    customSuccessObject: (req, _res, val: Record<string, unknown>) => ({
      ...val,
      actor: (req as Request).actor?.id ?? null,
    }),
    customErrorObject: (req, _res, _err, val: Record<string, unknown>) => ({
      ...val,
      actor: (req as Request).actor?.id ?? null,
    }),
  });
  return mw as unknown as RequestHandler;
}

/** The client of a request as the audit log records it for sign-in events: IP address and user agent (capped). */
export function clientOf(req: Request): EntryMeta {
  return { ip: req.ip ?? '', ua: (req.get('user-agent') ?? '').slice(0, 256) };
}
