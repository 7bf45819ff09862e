import type { Server } from 'node:http';

/**
 * How long an idle keep-alive connection stays open: longer than the idle timeout of the reverse
 * proxy in front (nginx keeps upstream connections 60 s, most load balancers 60 s), so that the
 * server never closes a connection at the moment the proxy sends a request on it — which the
 * proxy sees as a reset (ECONNRESET, a 502 to the member). Node's default is 5 s.
 */
export const KEEP_ALIVE_MS = 75_000;
/** Must exceed KEEP_ALIVE_MS (Node measures a request's headers from the connection's last activity). */
export const HEADERS_MS = KEEP_ALIVE_MS + 5_000;
/** A whole request (headers and body) that takes longer is answered 408: bodies are at most a few MB. */
export const REQUEST_MS = 120_000;

export function applyServerTimeouts(server: Server): Server {
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = HEADERS_MS;
  server.requestTimeout = REQUEST_MS;
  return server;
}
