import { MAIL_KIND_WORDS } from '../../domain/mail.js';
import { Router } from 'express';
import type { Ctx } from '../../services/context.js';
import { memberOfToken, unsubscribeByToken } from '../../services/notifications/unsubscribe.js';
import { markPersonal } from '../caching.js';
import { page } from './render.js';

/**
 * One-click unsubscribe (RFC 8058), mounted before sessions and CSRF: the token in the link is
 * the authorization. A mail client POSTs `List-Unsubscribe=One-Click`; a person following the
 * link gets a page with one button (a GET never changes anything: link checkers follow links).
 */
export function unsubscribePages(ctx: Ctx): Router {
  const r = Router();
  r.get('/unsubscribe/:token', (req, res) => {
    // The page names the member its link is for: never kept by a cache.
    markPersonal(res);
    const { user, kind } = memberOfToken(ctx, req.params.token);
    page(res, 'account/unsubscribe', {
      title: 'Unsubscribe',
      email: user.email,
      about: kind === 'all' ? null : MAIL_KIND_WORDS[kind],
      token: req.params.token,
      done: false,
    });
  });
  r.post('/unsubscribe/:token', async (req, res) => {
    markPersonal(res);
    const { email, kind } = await unsubscribeByToken(ctx, req.params.token);
    page(res, 'account/unsubscribe', {
      title: 'Unsubscribed',
      email,
      about: kind === 'all' ? null : MAIL_KIND_WORDS[kind],
      token: req.params.token,
      done: true,
    });
  });
  return r;
}
