import type { Express } from 'express';
import * as http from 'node:http';

/**
 * The node:http server of an express app, whose requests and responses are made with the app's
 * own prototypes (`app.request`, `app.response`) from the start.
 *
 * Express gives every request and response those prototypes as it takes them
 * (`Object.setPrototypeOf` in `app.handle`). In V8 that change of prototype made every object
 * of the request survive the young generation's collections and be promoted to the old one, where
 * it died: ~8 KB a request with express alone and one connection, 30–50 KB a request for Ratify's
 * pages (what the middleware and the router make for a request), 30–55 MB a second under load
 * (docs/DEPLOY.md, "Memory"). A request made with the right prototype is left as it is (setting
 * the same prototype changes nothing): with express alone nothing of it is promoted, and a quarter
 * to a half as much of Ratify's pages under 20 connections.
 */
export function createAppServer(app: Express, handler: http.RequestListener = app): http.Server {
  class AppRequest extends http.IncomingMessage {}
  class AppResponse extends http.ServerResponse {}
  app.request = adopt(AppRequest.prototype, app.request);
  app.response = adopt(AppResponse.prototype, app.response);
  return http.createServer({ IncomingMessage: AppRequest, ServerResponse: AppResponse }, handler);
}

/**
 * `proto` (a subclass's prototype) made to stand for `old` (the app's request or response
 * prototype): it gets `old`'s own properties and its prototype, so a request made by the subclass
 * has express's methods, and the app uses `proto` from now on. Made by a subclass of node's own,
 * each request and response has a hidden class shared with every other, with room in the object
 * for the fields node's constructor sets. Two other ways were measured and left (2026-12-06):
 * - `Reflect.construct` with a plain function as the new target: V8 gave every object a hidden
 *   class of its own (17–25 µs a construction against 0.3–1.5 µs, a new map in the old generation
 *   for each, and a new shape at each of express's property accesses);
 * - calling node's constructor on an object of a plain function whose prototype is the app's:
 *   V8 sized the object for that function's own body (no fields), and the response went from a
 *   hidden class to a dictionary of properties while node's constructor set its ~30 fields, and
 *   the request once express set its own, so every read of their properties was a lookup.
 */
function adopt<T extends object>(proto: object, old: T): T {
  Object.setPrototypeOf(proto, Object.getPrototypeOf(old));
  for (const key of Reflect.ownKeys(old))
    if (key !== 'constructor') Object.defineProperty(proto, key, Reflect.getOwnPropertyDescriptor(old, key)!);
  return proto as T;
}
