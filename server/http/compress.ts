import compression from 'compression';
import type { Request, RequestHandler, Response } from 'express';

/** Smaller bodies go as they are: compressing them saves less than the headers cost. */
export const COMPRESS_THRESHOLD = 1024;

/**
 * Whether an answer is worth compressing: a type the mime database calls compressible (HTML,
 * JSON, CSS, JavaScript, Atom, markdown and other text, SVG); never images, archives or fonts
 * that are compressed already. The middleware itself also skips HEAD, bodies under the
 * threshold, answers with a Content-Encoding and `Cache-Control: no-transform`.
 */
export function shouldCompress(req: Request, res: Response): boolean {
  return compression.filter(req, res);
}

/**
 * gzip or brotli as the client's Accept-Encoding prefers (brotli first when both are welcome,
 * at quality 4, fast enough for pages made on each request), with `Vary: Accept-Encoding`.
 * It wraps `res.write`/`res.end`, so `res.render`, `res.json`, `res.send` and the static files
 * all pass through; the ETag stays the weak one of the uncompressed body (the same content in
 * either encoding).
 */
export function compress(): RequestHandler {
  return compression({ threshold: COMPRESS_THRESHOLD, filter: shouldCompress });
}
