/**
 * The listening server makes each request and response with the app's own prototypes
 * (http/appServer.ts): express then has no prototype to change, which in V8 had every object of
 * a request promoted to the old generation.
 */
import { afterEach, describe, expect, jest, test } from '@jest/globals';
import express from 'express';
import * as http from 'node:http';
import * as v8 from 'node:v8';
import type { AddressInfo } from 'node:net';
import { createAppServer } from '../../server/http/appServer.js';

describe('http/appServer', () => {
  let server: http.Server | null = null;

  afterEach(async () => {
    jest.restoreAllMocks();
    if (server) await new Promise((r) => server!.close(r));
    server = null;
  });

  async function listen(s: http.Server): Promise<string> {
    server = s;
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  }

  test('requests arrive with the prototypes express gives them, and express changes none', async () => {
    const app = express();
    app.set('trust proxy', false);
    app.get('/answer', (req, res) => {
      res.status(201).json({ ip: req.ip, path: req.path, query: req.query.q });
    });
    const arrived: boolean[] = [];
    const base = await listen(
      createAppServer(app, (req, res) => {
        arrived.push(Object.getPrototypeOf(req) === app.request, Object.getPrototypeOf(res) === app.response);
        arrived.push(req instanceof http.IncomingMessage, res instanceof http.ServerResponse);
        app(req, res);
      }),
    );
    // Each prototype express sets, and whether the object had another one just before.
    const original = Object.setPrototypeOf;
    const sets: boolean[] = [];
    jest.spyOn(Object, 'setPrototypeOf').mockImplementation((o: object, p: object | null) => {
      sets.push(Object.getPrototypeOf(o) !== p);
      return original(o, p);
    });
    const r = await fetch(`${base}/answer?q=1`);
    expect(r.status).toBe(201);
    expect(await r.json()).toEqual({ ip: '127.0.0.1', path: '/answer', query: '1' });
    expect(arrived).toEqual([true, true, true, true]);
    // Express still sets them; each call finds the prototype already there.
    expect(sets.length).toBeGreaterThan(0);
    expect(sets.filter((changed) => changed)).toEqual([]);
  });

  test('the app is the handler when none is given; keep-alive requests one after another', async () => {
    const app = express();
    let n = 0;
    app.use((_req, res) => void res.send(String(++n)));
    const base = await listen(createAppServer(app));
    const bodies: string[] = [];
    for (let i = 0; i < 3; i++) bodies.push(await (await fetch(`${base}/`)).text());
    expect(bodies).toEqual(['1', '2', '3']);
  });

  test('every request and every response share one hidden class, and keep their properties in it through express', async () => {
    // V8's own checks, without starting node with the flag: functions compiled after this line may use them.
    v8.setFlagsFromString('--allow-natives-syntax');
    const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
    const fast = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;
    const app = express();
    const seen: [object, object][] = [];
    const fastAt: boolean[] = [];
    app.use((req, res, next) => {
      fastAt.push(fast(req), fast(res));
      next();
    });
    app.get('/n/:n', (req, res) => {
      seen.push([req, res]);
      fastAt.push(fast(req), fast(res));
      res.send(`n ${req.params.n}`);
    });
    const base = await listen(
      createAppServer(app, (req, res) => {
        fastAt.push(fast(req), fast(res));
        app(req, res);
      }),
    );
    for (let i = 0; i < 3; i++) expect(await (await fetch(`${base}/n/${i}`)).text()).toBe(`n ${i}`);
    expect(seen).toHaveLength(3);
    expect(fastAt).toEqual(Array(18).fill(true));
    const [[req0, res0], ...rest] = seen;
    for (const [req, res] of rest) {
      expect(sameMap(req, req0)).toBe(true);
      expect(sameMap(res, res0)).toBe(true);
    }
  });
});
