import type { IncomingHttpHeaders } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import onHeaders from 'on-headers';

/** The Cache-Control values Ratify sends, by class. */
export const CACHE_CONTROL = {
  /** Named by an immutable version, pair of versions or content hash: the same bytes forever. */
  immutable: 'public, max-age=31536000, immutable',
  /** May change: a cache keeps it but asks each time (If-None-Match against the ETag → 304). */
  revalidate: 'no-cache',
  /** The favicon: a plain URL whose content rarely changes. */
  daily: 'public, max-age=86400',
  /** Anything for someone signed in, or that sets a cookie or carries a form token: nobody keeps it. */
  personal: 'private, no-store',
  /** Errors, redirects and answers to writes: not kept (a version missing today may exist tomorrow). */
  none: 'no-store',
} as const;

export type CacheClass = keyof typeof CACHE_CONTROL;

/** What the rules need to know of the app: the latest version of a document, and which asset names are current. */
export interface CacheFacts {
  latestVersion: (slug: string) => number | undefined;
  currentAsset: (pathUnderAssets: string) => boolean;
}

interface Rule {
  what: string;
  path: RegExp;
  /** The class, or a function of the path's match and the query. */
  cache: CacheClass | ((m: RegExpExecArray, query: URLSearchParams) => CacheClass);
  /** Static files: the same bytes for everyone, so not personal even to someone signed in. */
  shared?: boolean;
}

/**
 * The one table: which public answer (GET or HEAD, 2xx or 304, no sign-in, no cookie set) may be
 * kept and how. The first rule whose path matches wins; none: `revalidate`. Every other answer is
 * `personal` or `none` (see `cacheClass`).
 */
export function cacheRules(facts: CacheFacts): Rule[] {
  const both = (q: URLSearchParams) => q.has('from') && q.has('to');
  return [
    {
      what: 'a fingerprinted asset',
      path: /^\/assets(\/[^/]+)$/,
      cache: (m) => (facts.currentAsset(m[1]) ? 'immutable' : 'revalidate'),
      shared: true,
    },
    { what: 'the favicon', path: /^\/favicon\.(?:svg|ico)$/, cache: 'daily', shared: true },
    {
      what: 'an object or pack of the public repository (named by its hash)',
      path: /^\/git\/public\.git\/objects\/(?:[0-9a-f]{2}\/[0-9a-f]{38}|pack\/pack-[0-9a-f]{40}\.(?:pack|idx))$/,
      cache: 'immutable',
      shared: true,
    },
    {
      what: 'the refs and pack list of the public repository',
      path: /^\/git\/public\.git\//,
      cache: 'revalidate',
      shared: true,
    },
    {
      what: 'the raw text of a version, and the version as a Word file',
      path: /^\/documents\/[^/]+\/versions\/\d+\.(md|docx)$/,
      cache: 'immutable',
    },
    {
      // The page of the latest version says "current": it changes when the next one is published.
      what: 'a version page',
      path: /^\/documents\/([^/]+)\/versions\/(\d+)$/,
      cache: (m) => ((facts.latestVersion(m[1]) ?? 0) > Number(m[2]) ? 'immutable' : 'revalidate'),
    },
    {
      what: 'the comparison of two versions (the page, and the Word file)',
      path: /^\/documents\/[^/]+\/compare(\.docx)?$/,
      cache: (_m, q) => (both(q) ? 'immutable' : 'revalidate'),
    },
    { what: 'a version (API)', path: /^\/api\/v1\/documents\/[^/]+\/versions\/\d+$/, cache: 'immutable' },
    {
      what: 'the diff of two versions (API)',
      path: /^\/api\/v1\/documents\/[^/]+\/diff$/,
      cache: (_m, q) => (both(q) ? 'immutable' : 'revalidate'),
    },
  ];
}

/** Answers that may be kept by a cache. */
const KEEPABLE = new Set([200, 203, 204, 206, 304]);

/** Marks the answer personal (e.g. it carries a CSRF token made from the visitor's cookie). */
export function markPersonal(res: Response): void {
  res.locals.personal = true;
}

/** Whether the request comes from someone signed in, or might: a bearer token, a session cookie, a session user. */
export function signedIn(req: Request, sessionCookie: string): boolean {
  return !!req.headers.authorization || !!req.user || hasCookie(req.headers, sessionCookie);
}

function hasCookie(headers: IncomingHttpHeaders, name: string): boolean {
  return (headers.cookie ?? '').split(';').some((part) => part.trim().startsWith(`${name}=`));
}

/** The class of one answer, decided when its headers are written; `shared`: a static file's rule applied. */
export function cacheClass(
  req: Request,
  res: Response,
  rules: Rule[],
  sessionCookie: string,
): { cache: CacheClass; shared: boolean } {
  const q = req.originalUrl.indexOf('?');
  const url = {
    pathname: q < 0 ? req.originalUrl : req.originalUrl.slice(0, q),
    searchParams: new URLSearchParams(q < 0 ? '' : req.originalUrl.slice(q + 1)),
  };
  const rule = rules.find((r) => r.path.test(url.pathname));
  const readOnly = req.method === 'GET' || req.method === 'HEAD';
  const keepable = readOnly && KEEPABLE.has(res.statusCode);
  if (rule?.shared && keepable) return { cache: classOf(rule, url), shared: true };
  if (signedIn(req, sessionCookie) || res.getHeader('set-cookie') !== undefined || res.locals.personal)
    return { cache: 'personal', shared: false };
  return { cache: !keepable ? 'none' : rule ? classOf(rule, url) : 'revalidate', shared: false };
}

function classOf(rule: Rule, url: { pathname: string; searchParams: URLSearchParams }): CacheClass {
  if (typeof rule.cache === 'string') return rule.cache;
  return rule.cache(rule.path.exec(url.pathname)!, url.searchParams);
}

/**
 * Sets Cache-Control on every answer, just before its headers go out (so after the route, the
 * session's cookie and the status are known). A public page or API answer that may be kept
 * varies on what would make it personal: the cookie for pages, the Authorization header for the
 * API. ETags come from express (`res.send`, `res.json`) and the static files, except on pages
 * made for someone signed in: `private, no-store`, never asked for again (createApp).
 */
export function cacheHeaders(facts: CacheFacts, sessionCookie: string): RequestHandler {
  const rules = cacheRules(facts);
  return (req, res, next) => {
    onHeaders(res, () => {
      const { cache, shared } = cacheClass(req, res, rules, sessionCookie);
      res.setHeader('Cache-Control', CACHE_CONTROL[cache]);
      if ((cache === 'immutable' || cache === 'revalidate') && !shared)
        res.vary(req.originalUrl.startsWith('/api/') ? 'Authorization' : 'Cookie');
    });
    next();
  };
}
