import { openApiDocument } from './http/openapi.js';
import { loadMarkdown, markdownLoaded } from './util/markdown.js';
import type { MirrorStatus } from './services/publicMirror.js';
import { unsubscribePages } from './http/pages/unsubscribePages.js';
import { bytesEngine } from './http/render/ejsJoined.js';
import { PERSONAL_PAGES } from './http/pages/render.js';
import express, { type Express } from 'express';
import helmet from 'helmet';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { notFound } from './domain/errors.js';
import { timeTag } from './http/render/time.js';
import { PageCache } from './http/pageCache.js';
import { publicStateVersion } from './services/readDocuments.js';
import type { Config } from './config.js';
import type { Ctx } from './services/context.js';
import { publicApi } from './http/api/publicApi.js';
import { errorHandler } from './http/errors.js';
import { requestLogger, silentLogger, type Logger } from './http/log.js';
import { publicPages } from './http/pages/publicPages.js';
import { accountApi } from './http/api/accountApi.js';
import { proposalsApi } from './http/api/proposalsApi.js';
import { roundsApi } from './http/api/roundsApi.js';
import { stakeholdersApi } from './http/api/stakeholdersApi.js';
import { apiAuth } from './http/middleware/apiAuth.js';
import { writeLimit } from './http/middleware/writeLimit.js';
import { votesAwaiting } from './http/middleware/votesAwaiting.js';
import { requireSignInForWrites } from './http/middleware/requireSignIn.js';
import { requireTotpEnrolment, sessionMiddleware } from './http/middleware/session.js';
import { csrfProtection } from './http/middleware/csrf.js';
import { authPages } from './http/pages/authPages.js';
import { accountPages } from './http/pages/accountPages.js';
import { proposalPages } from './http/pages/proposalPages.js';
import { proposalEditPages } from './http/pages/proposalEditPages.js';
import { draftPages } from './http/pages/draftPages.js';
import { consolidationPages } from './http/pages/consolidationPages.js';
import { roundPages } from './http/pages/roundPages.js';
import { adminMailPages } from './http/pages/adminMailPages.js';
import { adminPages } from './http/pages/adminPages.js';
import { adminUserPages } from './http/pages/adminUserPages.js';
import { LoginThrottle, WriteLimiter } from './services/auth/throttle.js';
import type session from 'express-session';
import { MAX_FORM_BODY_BYTES, MAX_JSON_BODY_BYTES } from './domain/limits.js';
import { WorkPool } from './http/offload/pool.js';
import { fingerprintAssets } from './http/assets.js';
import { cacheHeaders } from './http/caching.js';
import { compress } from './http/compress.js';
import { cookieNames } from './http/middleware/csrf.js';
import { getDocument } from './services/readDocuments.js';
import { Renderer } from './http/render/renderer.js';
import { schemeOf, trustProxySetting } from './http/scheme.js';
import { API_SCOPES, PAGE_SCOPES, scoped } from './http/routeScope.js';
import { publicGit } from './http/publicGit.js';
import { wordForm } from './http/upload.js';
import { publicRepositoryFolder } from './services/publicRepository.js';
import type { LoopDelayReport } from './http/loopDelay.js';

export interface AppDeps {
  ctx: Ctx;
  config: Pick<Config, 'baseUrl' | 'writeLimit'> & Partial<Pick<Config, 'trustProxy' | 'siteName'>>;
  sessions: { secret: string; store: session.Store };
  /** The structured logger (pino); silent when not given (tests). */
  log?: Logger;
  /**
   * Markdown and diffs, cached and run off the event loop in a bounded worker pool. The owner
   * closes it (`renderer.pool.close()`); when absent the app makes one whose idle threads never
   * keep the process alive.
   */
  renderer?: Renderer;
  /** The public mirror's state (PUBLIC_MIRROR_URL), shown by `/healthz?verbose`. */
  mirrorStatus?: () => MirrorStatus;
  /** The event loop's delay (http/loopDelay.ts), shown by `/healthz?verbose`. */
  loopDelay?: () => LoopDelayReport;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Build the express app from its dependencies; no listen, no globals (supertest imports this). */
export function createApp(deps: AppDeps): Express {
  const { config } = deps;
  const log = deps.log ?? silentLogger();
  const render = deps.renderer ?? new Renderer(new WorkPool(), {}, (msg, err) => log.error({ err }, msg));
  // Services diff, read Word files and read sections through the same pool (services/diffTexts.ts,
  // proposals/fromWord.ts, textSections.ts).
  const ctx: Ctx = {
    ...deps.ctx,
    diff: (from, to) => render.diff(from, to),
    wordIn: (bytes) => render.wordIn(bytes),
    sections: {
      linked: (text) => render.linkedSections(text),
      find: (text, anchor) => render.findSection(text, anchor),
      splice: (text, anchor, replacement) => render.splice(text, anchor, replacement),
    },
  };
  const scheme = schemeOf(config.baseUrl);
  const app = express();
  app.disable('x-powered-by');
  app.use(requestLogger(log));
  const views = path.join(root, 'views');
  app.set('views', views);
  app.set('view engine', 'ejs');
  // Compiled templates are kept (express only does so with NODE_ENV=production by default).
  app.set('view cache', true);
  // Includes name their template from the views folder (`include('/partials/top', …)`): ejs
  // resolves such a path against `root` without asking the disk, where a relative one costs an
  // fs.existsSync on every call — a thousand a request on a page that includes per row. Pages
  // are rendered to bytes (render/ejsJoined.ts): whoever sends one sets its type.
  const engine = bytesEngine(views);
  app.engine('ejs', engine);
  // Views put a partial in as its pieces, never joined: a large kept piece (render/fragments.ts
  // `large`), the threads of the text tab, the changes and diff partials.
  app.locals.piecesOf = engine.piecesOf;
  // A page made for someone signed in is `private, no-store` (http/caching.ts): no cache keeps it,
  // so none asks for it again with its ETag, and hashing its ~100 KB for one was ~3 % of the
  // heaviest page's cost. `sent` (pages/render.ts) names such pages here; express's own ETag
  // function makes the others' (and the API's).
  const personal = new WeakSet<Buffer>();
  app.set(PERSONAL_PAGES, personal);
  const etagOf = app.get('etag fn') as (body: Buffer | string, encoding?: BufferEncoding) => string | undefined;
  app.set('etag', (body: Buffer | string, encoding?: BufferEncoding) =>
    typeof body !== 'string' && personal.has(body) ? undefined : etagOf(body, encoding),
  );
  app.set('query parser', 'simple');
  // Which proxies may say where a request came from and over what (X-Forwarded-For/-Proto):
  // TRUST_PROXY, loopback only unless configured.
  app.set('trust proxy', trustProxySetting(config.trustProxy ?? 'loopback'));
  // Pages link the stylesheet and script by content hash (`asset('ratify.css')` in the views).
  const publicDir = path.join(root, 'public');
  const assets = fingerprintAssets(publicDir);
  app.locals.asset = assets.url;
  // Every page, the error page too, can write a time (views/partials/top.ejs does).
  app.locals.timeTag = timeTag;
  // Cache-Control for every answer, from one table (http/caching.ts).
  app.use(
    cacheHeaders(
      {
        latestVersion: (slug) => {
          try {
            return getDocument(ctx, slug).latest;
          } catch {
            return undefined;
          }
        },
        currentAsset: assets.isCurrent,
      },
      cookieNames(scheme.httpsSite).session,
    ),
  );
  // gzip or brotli, as the client asks, for every compressible type (HTML, JSON, CSS, JS, Atom,
  // markdown, SVG) of 1 KiB and more; images and other encoded bodies pass as they are.
  app.use(compress());

  // Only an answer served over https may ask the browser to upgrade its requests: on a
  // plain-HTTP LAN host this would load every stylesheet and post every form over https.
  // Likewise HSTS: sent over plain HTTP it is ignored at best, and wrong. One rule decides
  // (scheme.ts): BASE_URL https, or a trusted proxy says the request came over https.
  const headers = (https: boolean) =>
    helmet({
      contentSecurityPolicy: {
        useDefaults: true,
        directives: {
          'default-src': ["'self'"],
          'script-src': ["'self'"],
          'style-src': ["'self'"],
          'img-src': ["'self'", 'https:', 'data:'],
          'object-src': ["'none'"],
          'base-uri': ["'none'"],
          'frame-ancestors': ["'none'"],
          'form-action': ["'self'"],
          'upgrade-insecure-requests': https ? [] : null,
        },
      },
      strictTransportSecurity: https,
      crossOriginEmbedderPolicy: false,
      // Browsers ignore these from an http origin other than localhost and say so in the console on
      // every page (a LAN host over plain HTTP): sent only over https.
      crossOriginOpenerPolicy: https,
      originAgentCluster: https,
    });
  const overHttps = headers(true);
  const overHttp = headers(false);
  app.use((req, res, next) => (scheme.secure(req) ? overHttps : overHttp)(req, res, next));
  app.use('/assets', assets.rewrite, express.static(publicDir, { cacheControl: false, index: false }));
  app.get('/favicon.svg', (_req, res) => res.sendFile(path.join(publicDir, 'favicon.svg'), { cacheControl: false }));
  // The public repository, for `git clone <site>/git/public.git` (static files, no session).
  const publicFolder = publicRepositoryFolder(ctx);
  if (publicFolder) app.use('/git/public.git', publicGit(publicFolder));
  // Browsers that ignore the page's icon link ask for this one: nothing, rather than a 404 in the console.
  app.get('/favicon.ico', (_req, res) => void res.status(204).end());

  // 503 while the stores cannot write (the last write failed and a probe write fails too).
  // `?verbose` adds the public mirror's state (its failures never make the server unhealthy),
  // the event loop's delay, and the kinds of records the start is still reading (`readingLater`:
  // the waiting messages, read just after the port opens).
  app.get('/healthz', async (req, res) => {
    const [meta, git] = await Promise.all([ctx.meta.writable(), ctx.repo.health.check()]);
    const verbose = req.query.verbose !== undefined;
    const more = {
      ...(verbose && deps.mirrorStatus ? { mirror: deps.mirrorStatus() } : {}),
      ...(verbose && deps.loopDelay ? { eventLoopDelayMs: deps.loopDelay() } : {}),
      ...(verbose ? { readingLater: ctx.meta.readingLater } : {}),
    };
    if (meta && git) return void res.json({ ok: true, ...more });
    res.status(503).json({ ok: false, storage: { meta: ctx.meta.writeState, git: ctx.repo.health.state }, ...more });
  });

  // What follows may render what members wrote: it waits until the markdown renderer is loaded
  // (util/markdown.ts; the server loads it once its port is open, and /healthz above need not wait).
  app.use((_req, _res, next) => (markdownLoaded() ? next() : void loadMarkdown().then(() => next(), next)));

  const throttle = new LoginThrottle(ctx.clock);
  const limiter = new WriteLimiter(ctx.clock, config.writeLimit);

  const api = express.Router();
  // The description of this API, made from the schemas the routes parse with.
  api.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });
  api.use(express.json({ limit: MAX_JSON_BODY_BYTES }));
  api.use(apiAuth(ctx));
  api.use(requireSignInForWrites(/^\/tokens$/));
  api.use(writeLimit(limiter));
  // Each router of the API, and of the pages below, is entered only by the paths it serves (http/routeScope.ts).
  api.use(scoped(API_SCOPES.public, publicApi(ctx)));
  api.use(scoped(API_SCOPES.account, accountApi(ctx, throttle)));
  api.use(scoped(API_SCOPES.proposals, proposalsApi(ctx)));
  api.use(scoped(API_SCOPES.rounds, roundsApi(ctx)));
  api.use(scoped(API_SCOPES.stakeholders, stakeholdersApi(ctx)));
  api.use((req, _res, next) => next(notFound('no_such_route', `There is no API route ${req.method} ${req.path}.`)));
  app.use('/api/v1', api);

  // One-click unsubscribe: its token is its authorization (no session, no CSRF form).
  app.use(scoped(PAGE_SCOPES.unsubscribe, unsubscribePages(ctx)));

  app.use(express.urlencoded({ extended: false, limit: MAX_FORM_BODY_BYTES }));
  sessionMiddleware(app, ctx, { ...deps.sessions, scheme });
  app.use(requireSignInForWrites(/^\/(login|login\/code|logout|password\/forgot|password\/set)$/));
  // The one page form that sends a file (a Word file for a new proposal): multipart, read here
  // so the CSRF check below finds its token as in any form.
  app.post('/documents/:slug/proposals/docx', wordForm);
  app.use(csrfProtection({ secret: deps.sessions.secret, scheme }));
  app.use(requireTotpEnrolment(ctx));
  app.use(votesAwaiting(ctx));
  // Signing in and out are never refused by the write limit (signing in has its own throttle).
  app.use(scoped(PAGE_SCOPES.auth, authPages(ctx, throttle)));
  app.use(writeLimit(limiter));
  app.use(scoped(PAGE_SCOPES.account, accountPages(ctx, throttle)));
  app.use(scoped(PAGE_SCOPES.proposals, proposalPages(ctx, render)));
  app.use(scoped(PAGE_SCOPES.proposalEdit, proposalEditPages(ctx, render)));
  app.use(scoped(PAGE_SCOPES.drafts, draftPages(ctx)));
  app.use(scoped(PAGE_SCOPES.admin, adminPages(ctx)));
  app.use(scoped(PAGE_SCOPES.admin, adminUserPages(ctx)));
  app.use(scoped(PAGE_SCOPES.admin, adminMailPages(ctx)));
  app.use(scoped(PAGE_SCOPES.consolidations, consolidationPages(ctx, render)));
  app.use(scoped(PAGE_SCOPES.rounds, roundPages(ctx, render)));
  // Public pages kept for anonymous readers until the next write (http/pageCache.ts); one per app.
  const pages = new PageCache(() => publicStateVersion(ctx));
  app.locals.pageCache = pages;
  app.use(publicPages(ctx, config.baseUrl, render, config.siteName ?? new URL(config.baseUrl).hostname, pages));
  app.use((req, _res, next) => next(notFound('page_not_found', `There is no page at ${req.path}.`)));
  app.use(errorHandler(log));
  return app;
}
