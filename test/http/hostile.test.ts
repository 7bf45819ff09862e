/**
 * Hostile input on every route. The routes are enumerated from the express router (a route
 * added later is covered without editing this file); for each, fast-check generates requests
 * with hostile path segments (traversal, bad percent-encoding, raw bytes that are not UTF-8,
 * prototype names, markup, huge numbers), hostile query strings, and hostile bodies (wrong
 * types, huge strings, deep nesting, `__proto__`/`constructor` keys, invalid JSON and invalid
 * UTF-8, markup, the wrong content type), sent as the public, as a member and as the
 * secretariat — with a bearer token, or with a signed-in session and its CSRF token.
 * Never a 5xx, never a stack trace in the body, and the server is healthy afterwards.
 */
import { enumerateRoutes, type RouteInfo } from '../helpers/routes.js';
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../server/app.js';
import { createLogger } from '../../server/http/log.js';
import { createToken } from '../../server/services/auth/tokens.js';
import { openRound } from '../../server/services/rounds/rounds.js';
import { csrfOf, makeUser, signIn } from '../helpers/auth.js';
import { openTestData, testClock } from '../helpers/data.js';
import { after, committee, DAY, twoProposalConsolidation } from '../helpers/people.js';
import { FULL_DEPTH } from '../helpers/depth.js';

describe('http/hostile', () => {
  /** Requests per route (the whole file stays under 30 s on a busy two-core machine). */
  // Six hostile requests per route at full depth (CI), two in the quick pass.
  const RUNS_PER_ROUTE = Number(process.env.HOSTILE_RUNS ?? (FULL_DEPTH ? 6 : 2));
  /** This file's one test's time limit: its own, not the part's (jest.setTimeout would set every file's). */
  const TIME_LIMIT = Math.max(60_000, RUNS_PER_ROUTE * 15_000);

  const clock = testClock('2026-01-15T10:00:00Z');
  let t: Awaited<ReturnType<typeof openTestData>>;
  let server: http.Server;
  let port: number;
  const failures: string[] = [];
  const errors: string[] = [];

  interface Caller {
    name: string;
    headers: Record<string, string>;
    csrf: string | null;
  }
  let callers: Caller[] = [];

  let routes: RouteInfo[] = [];

  beforeAll(async () => {
    t = await openTestData({ clock });
    // Errors that reach the error handler as failures (5xx) are collected to show their cause.
    const log = createLogger('error', { write: (s: string) => void errors.push(s) });
    const app = createApp({
      ctx: t.ctx,
      config: { baseUrl: 'http://ratify.test', writeLimit: 0 },
      sessions: t.sessions,
      log,
    });
    routes = enumerateRoutes((app as unknown as { router: { stack: unknown[] } }).router.stack);
    // Something of each kind exists, so that real ids meet hostile bodies too.
    const cast = await committee(t.ctx);
    const { c } = await twoProposalConsolidation(t.ctx, cast);
    await openRound(t.ctx, cast.chair.actor, {
      subject: { type: 'consolidation', id: c.id },
      rule: 'majority',
      quorum: 0,
      closesAt: after(clock, 7 * DAY),
    });
    const member = await makeUser(t.ctx, {
      email: 'mo@example.org',
      name: 'Mo Member',
      roles: ['member'],
      groups: ['wg-strategy'],
      password: 'member pass phrase',
    });
    const sec = await makeUser(t.ctx, {
      email: 'sy@example.org',
      name: 'Sy Secretariat',
      roles: ['secretariat'],
      groups: [],
      password: 'secretariat pass phrase',
    });
    const session = async (email: string, password: string) => {
      const { agent, after: sid } = await signIn(app, email, password);
      return { cookie: `ratify.sid=${sid}`, csrf: await csrfOf(agent) };
    };
    const bearer = async (u: typeof member) => `Bearer ${(await createToken(t.ctx, CLI_ACTOR, u, 'hostile')).token}`;
    const ms = await session(member.email, member.password);
    const ss = await session(sec.email, sec.password);
    callers = [
      { name: 'public', headers: {}, csrf: null },
      { name: 'member (token)', headers: { Authorization: await bearer(member) }, csrf: null },
      { name: 'secretariat (token)', headers: { Authorization: await bearer(sec) }, csrf: null },
      { name: 'member (session)', headers: { Cookie: ms.cookie }, csrf: ms.csrf },
      { name: 'secretariat (session)', headers: { Cookie: ss.cookie }, csrf: ss.csrf },
    ];
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    port = (server.address() as AddressInfo).port;
  }, 60_000);

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await t.cleanup();
  });

  interface Sent {
    method: string;
    path: string;
    headers: Record<string, string>;
    body?: Buffer;
  }

  /** One raw HTTP request: the path is sent byte for byte (latin-1 characters become raw bytes, so not UTF-8). */
  function send(req: Sent): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const r = http.request(
        {
          host: '127.0.0.1',
          port,
          method: req.method,
          path: req.path,
          headers: { ...req.headers, ...(req.body ? { 'Content-Length': String(req.body.length) } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      r.on('error', reject);
      r.end(req.body);
    });
  }

  // ── What is generated ───────────────────────────────────────────────────────

  /** Percent-encode any string (a lone surrogate becomes U+FFFD first: encodeURIComponent refuses it). */
  const enc = (s: string) =>
    encodeURIComponent(s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'));

  const HOSTILE_SEGMENTS = [
    '1',
    '2',
    '3',
    'terms-of-reference',
    'workshop-process',
    '0',
    '-1',
    '1.5',
    '1e3',
    '0x10',
    '%201',
    '99999999999999999999999',
    String(2 ** 53),
    '..',
    '..%2f..%2f..%2fetc%2fpasswd',
    '%2e%2e%2f%2e%2e%2f',
    '..%5c..%5c',
    '....//',
    '%',
    '%zz',
    '%E0%A4%A',
    '%ff%fe',
    '%C0%AF',
    '%00',
    '%0d%0aX-Injected:%201',
    '__proto__',
    'constructor',
    'prototype',
    'hasOwnProperty',
    '%3Cscript%3Ealert(1)%3C%2Fscript%3E',
    '"><img src=x onerror=alert(1)>'.replace(/[" <>]/g, enc),
    'NaN',
    'Infinity',
    'a'.repeat(3000),
    '\u00ff\u00fe\u00c3\u0028',
    '\u00e9t\u00e9',
    'x.md',
    'feed.atom',
  ];
  const segment = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_SEGMENTS) },
    { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map(enc) },
    { weight: 1, arbitrary: fc.nat().map(String) },
  );

  const QUERY_KEYS = [
    'from',
    'to',
    'view',
    'limit',
    'next',
    'token',
    'expired',
    'password',
    'q',
    'page',
    '__proto__',
    'constructor',
    'from[]',
    'limit[0]',
    '__proto__[x]',
  ];
  const QUERY_VALUES = [
    '1',
    '2',
    '0',
    '-5',
    '99999999999',
    'side',
    'inline',
    '//evil.example',
    'https://evil.example',
    '/\\evil',
    '%',
    '%zz',
    '%ff',
    '%E0%A4%A',
    '..%2f..%2f',
    '__proto__',
    '%3Cb%3E',
    'a'.repeat(2000),
    '',
  ];
  const query = fc.option(
    fc
      .array(
        fc.tuple(
          fc.constantFrom(...QUERY_KEYS),
          fc.oneof(fc.constantFrom(...QUERY_VALUES), fc.string({ maxLength: 20 }).map(enc)),
        ),
        { minLength: 1, maxLength: 4 },
      )
      .map((kv) => `?${kv.map(([k, v]) => `${k}=${v}`).join('&')}`),
    { nil: '' },
  );

  const FIELDS = [
    'text',
    'head',
    'title',
    'rationale',
    'summary',
    'body',
    'quote',
    'replyTo',
    'anchor',
    'position',
    'reason',
    'voter',
    'subject',
    'rule',
    'quorum',
    'closesAt',
    'email',
    'password',
    'current',
    'label',
    'proposals',
    'code',
    'name',
    'slug',
    'group',
    'roles',
    'groups',
    'requireTotpFor',
    'csv',
    'notify',
    'next',
    'limit',
    'view',
  ];
  const MARKUP = [
    '<script>alert(1)</script>',
    '<img src=x onerror=alert(1)>',
    '[x](javascript:alert(1))',
    '{{7*7}}',
    '<%= process.exit() %>',
    '${process.exit()}',
    '\u0000\uFFFE\uD800',
  ];
  const value: fc.Arbitrary<unknown> = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom(...MARKUP),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom(-1, 0, 1e308, Number.MAX_SAFE_INTEGER + 2),
    fc.array(fc.oneof(fc.string({ maxLength: 10 }), fc.integer()), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
    fc.constantFrom('x'.repeat(200_000), 'a\n\n'.repeat(20_000), '*a'.repeat(20_000)),
  );

  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const deepObject = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  const RAW_JSON = [
    '{"__proto__":{"polluted":true,"isAdmin":true},"text":"x"}',
    '{"constructor":{"prototype":{"polluted":true}}}',
    '{"text":{"__proto__":{"toString":1}},"head":{"constructor":null}}',
    '{"toString":1,"valueOf":"x","hasOwnProperty":2}',
    deep(5000),
    deepObject(5000),
    '{"text": "unterminated',
    '{"a":1,}',
    'null',
    '"a string"',
    '12',
    '[]',
    '',
    '\uFEFF{"text":"bom"}',
  ];
  /** Bytes that are not UTF-8 (a lone continuation byte, an overlong slash, a cut sequence, surrogates). */
  const BAD_UTF8 = [
    Buffer.from([0x7b, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x80, 0x22, 0x7d]),
    Buffer.from([0xc0, 0xaf, 0xe0, 0x80]),
    Buffer.from([0x74, 0x65, 0x78, 0x74, 0x3d, 0xed, 0xa0, 0x80, 0x26, 0x62, 0x6f, 0x64, 0x79, 0x3d, 0xc3]),
  ];

  type Body = { type?: string; data: Buffer } | null;
  const json = (s: string): Body => ({ type: 'application/json', data: Buffer.from(s, 'utf8') });
  const formBody = (pairs: [string, string][], csrf: string | null) =>
    [...(csrf ? [['_csrf', csrf] as [string, string]] : []), ...pairs].map(([k, v]) => `${k}=${v}`).join('&');

  /** A JSON body over the 2 MB limit, made once (its 6 MB of strings and bytes are not made per request). */
  const TOO_BIG = json(JSON.stringify({ text: 'y'.repeat(2_200_000) }));

  /** A body, given the caller's CSRF token (sent in half the forms, so both checks are exercised): made once per token. */
  const bodies = new Map<string | null, fc.Arbitrary<Body>>();
  const body = (csrf: string | null): fc.Arbitrary<Body> => {
    const made = bodies.get(csrf);
    if (made) return made;
    const arbitrary = fc.oneof(
      fc.constant(null),
      fc.jsonValue({ maxDepth: 3 }).map((v) => json(JSON.stringify(v))),
      fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 6 }).map((o) => json(JSON.stringify(o))),
      fc.constantFrom(...RAW_JSON).map(json),
      fc
        .tuple(
          fc.constantFrom(...BAD_UTF8),
          fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain; charset=utf-8'),
        )
        .map(([data, type]) => ({ type, data })),
      fc
        .tuple(
          fc.array(
            fc.tuple(
              fc.constantFrom(...FIELDS, '__proto__', 'constructor', '_csrf'),
              fc.oneof(fc.constantFrom(...QUERY_VALUES, ...MARKUP.map(enc)), fc.string({ maxLength: 30 }).map(enc)),
            ),
            { maxLength: 6 },
          ),
          fc.boolean(),
        )
        .map(([pairs, withToken]) => ({
          type: 'application/x-www-form-urlencoded',
          data: Buffer.from(formBody(pairs, withToken ? csrf : null)),
        })),
      fc.constantFrom<Body>(
        {
          type: 'text/xml',
          data: Buffer.from('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'),
        },
        { type: 'application/json; charset=latin1', data: Buffer.from('{"text":"\u00e9"}', 'latin1') },
        {
          type: 'multipart/form-data; boundary=x',
          data: Buffer.from('--x\r\nContent-Disposition: form-data; name="text"\r\n\r\nhi\r\n--x--\r\n'),
        },
        { data: Buffer.from('text=untyped') },
      ),
      // Over the 2 MB limit: rarely, it is slow.
      fc.constantFrom<Body>(null, null, null, null, null, null, null, null, null, TOO_BIG),
    );
    bodies.set(csrf, arbitrary);
    return arbitrary;
  };

  const ACCEPT = ['text/html', 'application/json', '*/*', 'application/xml', 'text/html;q=0, application/json;q=0'];

  /** A concrete request for a route pattern: each `:param` (and `*splat`) a hostile segment. */
  function requestFor(route: RouteInfo): fc.Arbitrary<Sent> {
    const pattern = route.path.replace(/[{}]/g, '');
    const params = pattern.match(/[:*][A-Za-z_]\w*/g) ?? [];
    return fc
      .record({
        caller: fc.constantFrom(...callers),
        segs: fc.tuple(...params.map(() => segment)),
        q: query,
        accept: fc.option(fc.constantFrom(...ACCEPT), { nil: undefined }),
        requestId: fc.boolean(),
      })
      .chain(({ caller, segs, q, accept, requestId }) =>
        body(caller.csrf).map((b) => {
          let i = 0;
          const path = pattern.replace(/[:*][A-Za-z_]\w*/g, () => segs[i++]) + q;
          const headers: Record<string, string> = { ...caller.headers };
          if (accept) headers.Accept = accept;
          if (requestId) headers['X-Request-Id'] = '../../etc/passwd';
          if (caller.csrf && route.method !== 'GET' && b?.type !== 'application/x-www-form-urlencoded')
            headers['X-CSRF-Token'] = caller.csrf;
          const withBody = route.method !== 'GET' && route.method !== 'HEAD' && b;
          if (withBody && b.type) headers['Content-Type'] = b.type;
          return {
            method: route.method,
            path,
            headers,
            body: withBody ? b.data : undefined,
            caller: caller.name,
          } as Sent & { caller: string };
        }),
      );
  }

  /** A stack trace or a source path in an answer. */
  const LEAK = /\n\s+at [^\n]*:\d+:\d+|node_modules|\/server\/[\w/]+\.ts|\bSyntaxError\b|\bTypeError\b|\bRangeError\b/;

  test(
    'every route answers hostile requests without a 5xx or a stack trace, and the server stays healthy',
    async () => {
      expect(routes.length).toBeGreaterThan(50);
      // Signing out would end the sessions the other routes are tried with.
      const tried = routes.filter((r) => r.path !== '/logout');
      const started = Date.now();
      let sent = 0;
      const slow: [number, string][] = [];
      for (const route of tried) {
        try {
          await fc.assert(
            fc.asyncProperty(requestFor(route), async (req) => {
              sent++;
              const t0 = Date.now();
              const res = await send(req);
              slow.push([
                Date.now() - t0,
                `${req.method} ${req.path.slice(0, 80)} ${req.body?.length ?? 0}B ${res.status}`,
              ]);
              const what = `${req.method} ${req.path.slice(0, 200)} as ${(req as Sent & { caller: string }).caller} (${req.headers['Content-Type'] ?? 'no body type'}, ${req.body?.length ?? 0} bytes) → ${res.status}`;
              if (res.status >= 500) throw new Error(`${what}\n${errors.splice(0).join('').slice(0, 1500)}`);
              if (LEAK.test(res.body))
                throw new Error(`${what}: the answer shows internals: ${LEAK.exec(res.body)![0]}`);
            }),
            { numRuns: RUNS_PER_ROUTE, seed: process.env.HOSTILE_SEED ? Number(process.env.HOSTILE_SEED) : undefined },
          );
        } catch (e) {
          failures.push(`${route.method} ${route.path}: ${(e as Error).message.slice(0, 2500)}`);
        }
      }
      const health = await send({ method: 'GET', path: '/healthz', headers: {} });
      if (process.env.SHOW_HOSTILE)
        console.log(
          `${sent} hostile requests on ${tried.length} routes in ${Date.now() - started} ms; slowest:\n${slow
            .sort((a, b) => b[0] - a[0])
            .slice(0, 12)
            .map(([ms, w]) => `${ms} ms ${w}`)
            .join('\n')}`,
        );
      expect(failures).toEqual([]);
      expect(health.status).toBe(200);
      expect(Object.prototype).not.toHaveProperty('polluted');
    },
    TIME_LIMIT,
  );
});
