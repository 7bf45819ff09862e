import { Router, type Request } from 'express';
import { z } from 'zod';
import type { Ctx } from '../../services/context.js';
import { inviteUser } from '../../services/accounts/links.js';
import { loadUser } from '../../services/accounts/users.js';
import { loadMail, mailQueue, retryMail } from '../../services/notifications/deliver.js';
import { PositiveInt } from '../validate.js';
import { page } from './render.js';
import { takeNotice } from './formHelpers.js';

const Id = z.object({ id: PositiveInt });

/**
 * The secretariat's view of outgoing mail (waiting, failed with the reason, recently sent) and
 * invitations. `mailQueue`, `loadMail` and `loadUser` refuse anyone else (403, 401 signed out)
 * before they look at the id.
 */
export function adminMailPages(ctx: Ctx): Router {
  const r = Router();
  /** The `:id` of the path; 0 (which names nothing: 404 once the actor may ask) if it is not a positive whole number. */
  const idOf = (req: Request) => {
    const p = Id.safeParse(req.params);
    return p.success ? p.data.id : 0;
  };

  r.get('/admin/mail', (req, res) => {
    const queue = mailQueue(ctx, req.actor ?? null);
    const notice = takeNotice(req);
    page(res, 'admin/mail', {
      title: 'Mail queue',
      section: 'mail',
      ...queue,
      notice,
      error: null,
    });
  });

  r.post('/admin/mail/:id/retry', async (req, res) => {
    const { id } = loadMail(ctx, req.actor ?? null, idOf(req));
    await retryMail(ctx, req.actor ?? null, id);
    req.session.notice = `Message ${id} will be sent again within a few seconds.`;
    res.redirect(303, '/admin/mail');
  });

  r.post('/admin/users/:id/invite', async (req, res) => {
    const user = loadUser(ctx, req.actor ?? null, idOf(req));
    await inviteUser(ctx, req.actor ?? null, user.id);
    req.session.notice = `An invitation is on its way to ${user.email}.`;
    res.redirect(303, `/admin/users/${user.id}`);
  });

  return r;
}
