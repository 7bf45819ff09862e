import type { NextFunction, Request, Response, Router } from 'express';

/**
 * A router entered only by the requests whose path it can match: the paths under `prefix`. The
 * page routers are mounted one after the other at `/` (the API's at `/api/v1`), and express walks every
 * router a request reaches, layer by layer, making its state and closures in each before it
 * moves on: a published page, answered by the last of them, went through eleven others. Wrapped,
 * each costs one test of the path. Tested against every route of each router
 * (test/http/routeScope.test.ts): a route outside its router's prefix fails the test, not a reader.
 */
export interface ScopedRouter {
  (req: Request, res: Response, next: NextFunction): void;
  readonly prefix: RegExp;
  readonly router: Router;
}

export function scoped(prefix: RegExp, router: Router): ScopedRouter {
  // Express matches routes regardless of case (`caseSensitive` is off): so must the prefix.
  if (!prefix.flags.includes('i') || !prefix.source.startsWith('^'))
    throw new Error(`A router's prefix must be anchored and ignore case: ${prefix}`);
  const handler = (req: Request, res: Response, next: NextFunction) => {
    if (prefix.test(req.path)) router(req, res, next);
    else next();
  };
  return Object.assign(handler, { prefix, router });
}

/** A proposal's paths, the same for its pages and its API: `/proposals/…`, `/documents/:slug/proposals…`. */
const PROPOSAL_PATHS = /^\/(proposals\/|documents\/[^/]+\/proposals(\/|$))/i;

/** The paths of the page routers (one home: app.ts mounts them with these, the test reads them). */
export const PAGE_SCOPES = {
  auth: /^\/(login|logout|password)(\/|$)/i,
  account: /^\/account(\/|$)/i,
  proposals: PROPOSAL_PATHS,
  proposalEdit: /^\/proposals\//i,
  drafts: /^\/drafts(\/|$)/i,
  admin: /^\/admin(\/|$)/i,
  consolidations: /^\/(consolidations\/|documents\/[^/]+\/consolidate(\/|$))/i,
  rounds: /^\/rounds(\/|$)/i,
  unsubscribe: /^\/unsubscribe\//i,
} as const;

/** The paths of the API's routers, below `/api/v1` (where they are mounted, so the path is what follows it). */
export const API_SCOPES = {
  public: /^\/documents(\/|$)/i,
  account: /^\/(me|audit|tokens)(\/|$)/i,
  proposals: PROPOSAL_PATHS,
  rounds: /^\/(rounds(\/|$)|consolidations\/|documents\/[^/]+\/consolidations(\/|$))/i,
  stakeholders: /^\/stakeholders(\/|$)/i,
} as const;
