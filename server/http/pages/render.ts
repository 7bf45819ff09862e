import type { Request, Response } from 'express';
import type { Ctx } from '../../services/context.js';
import type { SubjectRef } from '../../domain/records.js';
import { publicStateVersion, subjectStateVersion } from '../../services/readDocuments.js';
import type { PageCache } from '../pageCache.js';
import type { Renderer } from '../render/renderer.js';
import { dayLabel, timeTag, utcLabel } from '../render/time.js';
import { DOCX_TYPE } from '../../util/wordIn.js';

/**
 * The meta description of pages that give none of their own, by the first part of the view's
 * name; other pages get the one in views/partials/top.ejs (what Ratify is).
 */
const DESCRIPTIONS: Record<string, string> = {
  proposals:
    'A proposal to change one of the committee’s texts on Ratify: the text it proposes, its revisions and its discussion.',
  consolidations:
    'A consolidation on Ratify: several proposals merged into one text that the committee is then asked to approve.',
  rounds: 'Approval rounds on Ratify: what the committee is asked to decide, who may vote, the votes and the result.',
  auth: 'Sign in to Ratify to propose changes to the committee’s texts, discuss them and vote on them.',
};

/** A description of at most `max` characters (a long summary is cut at a word, with an ellipsis). */
export function clip(text: string, max = 200): string {
  const t = text.replace(/\s+/g, ' ').trim();
  if (t.length <= max) return t;
  const cut = t.slice(0, max - 1);
  return `${cut.slice(0, cut.lastIndexOf(' ') > max / 2 ? cut.lastIndexOf(' ') : cut.length)}…`;
}

/**
 * Render a page with locals built here, never from req.query/req.body directly (a request
 * could otherwise set ejs options through `settings`; STACK.md). Common locals — the signed-in
 * user, the CSRF token, helpers — come from res.locals set by middleware.
 */
export function page(res: Response, view: string, locals: Record<string, unknown>): void {
  res.render(view, pageLocals(res, view, locals), sent(res));
}

/**
 * Send what a view made: bytes (the view engine's, render/ejsJoined.ts), as an HTML page. A
 * rendering error goes to the error handler.
 */
export function sent(res: Response, keep?: (body: Buffer) => void) {
  return (err: unknown, body?: string | Buffer): void => {
    if (err || body === undefined) return res.req.next!(err);
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    keep?.(bytes);
    // Made for someone signed in: sent without an ETag (see createApp).
    if (res.locals.user) (res.app.get(PERSONAL_PAGES) as WeakSet<Buffer> | undefined)?.add(bytes);
    res.type('html').send(bytes);
  };
}

/** The app setting that holds the pages `sent` made for someone signed in. */
export const PERSONAL_PAGES = 'personal pages';

function pageLocals(res: Response, view: string, locals: Record<string, unknown>): Record<string, unknown> {
  return {
    user: res.locals.user ?? null,
    csrfToken: res.locals.csrfToken ?? '',
    utcLabel,
    dayLabel,
    timeTag,
    description: DESCRIPTIONS[view.split('/')[0]],
    ...locals,
  };
}

/**
 * `page`, and the HTML kept in `cache` for the next anonymous reader of the same URL (the route
 * asked `cache.sendKept` first). Rendering errors go to the error handler as with `page`.
 */
export function keptPage(
  cache: PageCache,
  req: Request,
  res: Response,
  view: string,
  locals: Record<string, unknown>,
): void {
  res.render(
    view,
    pageLocals(res, view, locals),
    sent(res, (body) => cache.keep(req, res, body)),
  );
}

/** A Word file as a download named `filename` (a version, a comparison, a consolidation's changes). */
export function sendDocx(res: Response, filename: string, file: Uint8Array): void {
  res
    .type(DOCX_TYPE)
    .set('Content-Disposition', `attachment; filename="${filename}"`)
    .send(Buffer.from(file.buffer, file.byteOffset, file.length));
}

/**
 * The version a page's kept pieces (render/fragments.ts) must be of when they are made from the
 * store and rendered texts: the store's public state and the renderer's coarse answers (a text
 * past its time limit, shown coarse until it is tried again).
 */
export const renderedStateVersion = (ctx: Ctx, render: Renderer) => () =>
  `${publicStateVersion(ctx)} ${render.coarseEpoch}`;

/**
 * `renderedStateVersion` for the pieces of one proposal's or consolidation's page: another
 * subject's text, revisions or comments changing leaves them kept (services/readDocuments.ts).
 */
export const renderedSubjectVersion = (ctx: Ctx, render: Renderer, subject: SubjectRef) => () =>
  `${subjectStateVersion(ctx, subject)} ${render.coarseEpoch}`;
