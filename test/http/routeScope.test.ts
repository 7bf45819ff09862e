/**
 * The page routers are entered only by the paths they serve (server/http/routeScope.ts): every
 * route of each one must be under its prefix, or its page would answer 404. This reads the routes
 * the app really has, so a route added outside its router's prefix fails here.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Router } from 'express';
import request from 'supertest';
import { API_SCOPES, PAGE_SCOPES, scoped, type ScopedRouter } from '../../server/http/routeScope.js';
import { makeUser, signedIn } from '../helpers/auth.js';
import { openTestApp } from '../helpers/data.js';

describe('http/routeScope', () => {
  interface Layer {
    handle: unknown;
    route?: { path: unknown };
    rawPath?: unknown;
    /** A `use` without a path: it sees every request that reaches its router. */
    slash?: boolean;
  }
  const stackOf = (router: unknown): Layer[] => (router as { stack: Layer[] }).stack;

  /** The routes and path-scoped middleware of `s` that its prefix does not cover ('' for none). */
  function outside(s: ScopedRouter): string[] {
    const out: string[] = [];
    for (const layer of stackOf(s.router)) {
      const p = layer.route ? layer.route.path : layer.slash ? null : layer.rawPath;
      if (typeof p !== 'string' || !s.prefix.test(p)) out.push(`${s.prefix} ${String(p)}`);
    }
    return out;
  }

  let t: Awaited<ReturnType<typeof openTestApp>>;
  beforeAll(async () => {
    t = await openTestApp();
  });
  afterAll(() => t.cleanup());

  /** The scoped routers of the app, at any depth (the API's are inside the router at /api/v1). */
  function scopedIn(stack: Layer[]): ScopedRouter[] {
    return stack.flatMap((l) => {
      const h = l.handle as { stack?: Layer[] } | ScopedRouter;
      if (typeof h === 'function' && 'prefix' in h && 'router' in h) return [h, ...scopedIn(stackOf(h.router))];
      return Array.isArray((h as { stack?: Layer[] }).stack) ? scopedIn((h as { stack: Layer[] }).stack) : [];
    });
  }
  const scopedRouters = () => scopedIn(stackOf((t.app as unknown as { router: unknown }).router));

  describe('routers entered by their paths only', () => {
    test('every route of every page and API router is under its prefix', () => {
      const routers = scopedRouters();
      // Pages: unsubscribe, auth, account, proposals, edit, drafts, three admin, consolidations,
      // rounds; the API: public, account, proposals, rounds and consolidations, stakeholders.
      expect(routers).toHaveLength(16);
      expect(new Set(routers.map((r) => r.prefix))).toEqual(
        new Set([...Object.values(PAGE_SCOPES), ...Object.values(API_SCOPES)]),
      );
      expect(routers.flatMap(outside)).toEqual([]);
    });

    test('the check finds a route outside its prefix, and a use() that sees every path', () => {
      const stray = Router();
      stray.get('/rounds/:id', (_req, res) => void res.end());
      stray.get('/elsewhere', (_req, res) => void res.end());
      stray.use((_req, _res, next) => next());
      expect(outside(scoped(PAGE_SCOPES.rounds, stray))).toEqual([
        `${PAGE_SCOPES.rounds} /elsewhere`,
        `${PAGE_SCOPES.rounds} null`,
      ]);
    });

    test('a prefix must be anchored and ignore case, as express matches routes', () => {
      expect(() => scoped(/^\/rounds/, Router())).toThrow();
      expect(() => scoped(/\/rounds/i, Router())).toThrow();
    });

    test('pages answer as before: in another case, with a trailing slash; elsewhere a 404', async () => {
      const u = await makeUser(t.ctx, {
        email: 'scope@example.org',
        name: 'Scope Member',
        roles: ['member'],
        groups: [],
        password: 'a long enough password 3',
      });
      const agent = await signedIn(t.app, u.email, u.password);
      for (const path of ['/rounds', '/ROUNDS', '/rounds/', '/drafts', '/Drafts', '/account'])
        expect([path, (await agent.get(path)).status]).toEqual([path, 200]);
      expect((await agent.get('/roundsx')).status).toBe(404);
      expect((await request(t.app).get('/LOGIN')).status).toBe(200);
      expect((await request(t.app).get('/no-such-page')).status).toBe(404);
      // The API the same way, and its own 404 elsewhere.
      expect((await request(t.app).get('/api/v1/Documents')).status).toBe(200);
      expect((await request(t.app).get('/api/v1/stakeholders/')).status).toBe(200);
      const none = await request(t.app).get('/api/v1/no-such-route');
      expect([none.status, none.body.error?.code]).toEqual([404, 'no_such_route']);
    });
  });
});
