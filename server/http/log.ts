import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { EntryMeta } from '../store/meta/metaStore.js';

export type { Logger };

declare module 'express-serve-static-core' {
  interface Request {
    /** The request's logger: its lines name the request (`requestLogger`). */
    log?: Logger;
  }
}

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

/** What a request holds for its `log` (`requestLogger`): its line's `req`, and its child logger once asked for. */
const LINE = Symbol('log line');
const CHILD = Symbol('child logger');

/** The URL as logged: the path and query, with secret query values blanked. */
export const loggedUrl = (url: string | undefined): string =>
  (url ?? '').slice(0, 2048).replace(SECRET_PARAM, '$1[redacted]');

/**
 * One JSON line per request when it ends: request id (the client's `X-Request-Id` when plain,
 * else a new one; echoed on the response), method, URL, status, response time and the actor's
 * id — at "error" for a failure (a 5xx, an error on the response), "info" otherwise. `req.log`
 * is a logger whose lines carry the same `req` (the error handler's refusal lines).
 *
 * The lines are those pino-http wrote (same keys and messages); it is not used because it made a
 * child logger for every request, whether or not anything was logged: ~0.3 ms of the ~1.3 ms a
 * small signed-in page cost in all, at any LOG_LEVEL. Here the line is built only when its level
 * is enabled, and the child logger only when something asks for `req.log`.
 */
export function requestLogger(logger: Logger): RequestHandler {
  // `req.log` is a getter of the app's request prototype, defined once, that reads what the
  // request holds: defined on each request (a getter of its own, as it was until 2026-12-06),
  // it left every request after the first with its properties in a dictionary instead of a
  // hidden class, so every read of a property of the request, by every middleware, was a lookup.
  const defined = new WeakSet<object>();
  const defineOn = (proto: object) => {
    defined.add(proto);
    Object.defineProperty(proto, 'log', {
      configurable: true,
      get(this: Request & { [LINE]?: object; [CHILD]?: Logger }) {
        const line = this[LINE];
        return line ? (this[CHILD] ??= logger.child({ req: line })) : logger;
      },
    });
  };
  return (req, res, next) => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && CLIENT_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', id);
    const start = Date.now();
    const line = { id, method: req.method, url: loggedUrl(req.url) };
    const proto = Object.getPrototypeOf(req) as object;
    if (!defined.has(proto)) defineOn(proto);
    (req as { [LINE]?: object })[LINE] = line;
    const ended = (err?: unknown) => {
      res.off('close', ended);
      res.off('finish', ended);
      res.off('error', ended);
      const failed =
        err instanceof Error
          ? err
          : res.statusCode >= 500
            ? new Error(`failed with status code ${res.statusCode}`)
            : null;
      const level = failed ? 'error' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      const fields = {
        req: line,
        res: { statusCode: res.statusCode },
        ...(failed ? { err: failed } : {}),
        responseTime: Date.now() - start,
        actor: req.actor?.id ?? null,
      };
      const msg = failed
        ? 'request errored'
        : !req.readableAborted && res.writableEnded
          ? 'request completed'
          : 'request aborted';
      logger[level](fields, msg);
    };
    res.on('close', ended);
    res.on('finish', ended);
    res.on('error', ended);
    next();
  };
}

/** The client of a request as the audit log records it for sign-in events: IP address and user agent (capped). */
export function clientOf(req: Request): EntryMeta {
  return { ip: req.ip ?? '', ua: (req.get('user-agent') ?? '').slice(0, 256) };
}
