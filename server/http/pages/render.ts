import type { Response } from 'express';
import { utcLabel, dayLabel } from '../render/time.js';

/**
 * Render a page with locals built here, never from req.query/req.body directly (a request
 * could otherwise set ejs options through `settings`; STACK.md). Common locals — the signed-in
 * user, the CSRF token, helpers — come from res.locals set by middleware.
 */
export function page(res: Response, view: string, locals: Record<string, unknown>): void {
  res.render(view, {
    user: res.locals.user ?? null,
    csrfToken: res.locals.csrfToken ?? '',
    utcLabel,
    dayLabel,
    ...locals,
  });
}
