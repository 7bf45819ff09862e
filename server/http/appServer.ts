import type { Express } from 'express';
import * as http from 'node:http';
import type { Socket } from 'node:net';

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
  const IncomingMessage = http.IncomingMessage as unknown as (this: object, socket: Socket) => void;
  const ServerResponse = http.ServerResponse as unknown as (this: object, req: object, options?: object) => void;
  const AppRequest = (callable(http.IncomingMessage)
    ? function (this: object, socket: Socket) {
        IncomingMessage.call(this, socket);
      }
    : function (this: unknown, socket: Socket) {
        return Reflect.construct(http.IncomingMessage, [socket], AppRequest);
      }) as unknown as typeof http.IncomingMessage;
  AppRequest.prototype = app.request as http.IncomingMessage;
  const AppResponse = (callable(http.ServerResponse)
    ? function (this: object, req: object, options?: object) {
        ServerResponse.call(this, req, options);
      }
    : function (this: unknown, req: object, options?: object) {
        return Reflect.construct(http.ServerResponse, [req, options], AppResponse);
      }) as unknown as typeof http.ServerResponse;
  AppResponse.prototype = app.response as http.ServerResponse;
  return http.createServer({ IncomingMessage: AppRequest, ServerResponse: AppResponse }, handler);
}

/**
 * Whether node's constructor is a plain function that initialises `this` (so it is called on an
 * object made with the app's prototype), not a class. `Reflect.construct` with the app's
 * constructor as the new target does the same for a class, but V8 gave every object it made a
 * hidden class of its own: 17–25 µs a construction against 0.3–1.5 µs, a new map in the old
 * generation for every request and response, and a new shape at each of express's property
 * accesses on them (2026-12-06). It is kept only for a node whose constructors are classes.
 */
function callable(f: abstract new (...args: never[]) => unknown): boolean {
  return !/^class\b/.test(Function.prototype.toString.call(f));
}
