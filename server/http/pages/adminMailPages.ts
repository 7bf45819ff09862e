import { Router, type Request } from 'express';
import { z } from 'zod';
import { authorize } from '../../domain/policy.js';
import { absent } from '../../domain/errors.js';
import type { Ctx } from '../../services/context.js';
import { inviteUser } from '../../services/accounts/links.js';
import { getUser } from '../../services/accounts/users.js';
import { mailQueue, retryMail } from '../../services/notifications/deliver.js';
import { parse, PositiveInt } from '../validate.js';
import { page } from './render.js';

const Id = z.object({ id: PositiveInt });

/** The secretariat's view of outgoing mail (waiting, failed with the reason, recently sent) and invitations. */
export function adminMailPages(ctx: Ctx): Router {
  const r = Router();
  const idOf = (req: Request) => {
    const p = Id.safeParse(req.params);
    if (!p.success) throw absent('mail');
    return p.data.id;
  };

  r.get('/admin/mail', (req, res) => {
    const queue = mailQueue(ctx, req.actor ?? null);
    const notice = req.session.notice ?? null;
    delete req.session.notice;
    page(res, 'admin/mail', {
      title: 'Mail queue',
      section: 'mail',
      ...queue,
      notice,
      error: null,
    });
  });

  r.post('/admin/mail/:id/retry', async (req, res) => {
    authorize(req.actor ?? null, 'user.manage');
    const { id } = parse(Id, req.params, 'invalid_id');
    if (!ctx.meta.get('mails', id)) throw absent('mail');
    await retryMail(ctx, req.actor ?? null, id);
    req.session.notice = `Message ${id} will be sent again within a few seconds.`;
    res.redirect(303, '/admin/mail');
  });

  r.post('/admin/users/:id/invite', async (req, res) => {
    authorize(req.actor ?? null, 'user.manage');
    const user = getUser(ctx, idOf(req));
    await inviteUser(ctx, req.actor ?? null, user.id);
    req.session.notice = `An invitation is on its way to ${user.email}.`;
    res.redirect(303, `/admin/users/${user.id}`);
  });

  return r;
}
