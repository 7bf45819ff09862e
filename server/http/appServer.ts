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
  const AppRequest = function (this: unknown, socket: Socket) {
    return Reflect.construct(http.IncomingMessage, [socket], AppRequest);
  } as unknown as typeof http.IncomingMessage;
  AppRequest.prototype = app.request as http.IncomingMessage;
  const AppResponse = function (this: unknown, req: http.IncomingMessage, options?: object) {
    return Reflect.construct(http.ServerResponse, [req, options], AppResponse);
  } as unknown as typeof http.ServerResponse;
  AppResponse.prototype = app.response as http.ServerResponse;
  return http.createServer({ IncomingMessage: AppRequest, ServerResponse: AppResponse }, handler);
}
