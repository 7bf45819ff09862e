import type { Request, Response } from 'express';
import type { Ctx } from '../../services/context.js';
import { listGroups } from '../../services/groups.js';
import { onRefusal, type Locals } from './formHelpers.js';

/**
 * What the admin pages (adminPages.ts, adminUserPages.ts) share. Who may see and use them is
 * the services' question: each page's first read (`accountCounts`, `listUsers`, `loadUser`,
 * `groupsWithUsage`, `managedDocuments`, `openAuditLog`…) and each form's service refuse anyone
 * but the secretariat — 403, or 401 signed out — before they look at what was sent.
 */

/** Render an admin page with extra locals (a refusal, what was typed). */
export type AdminShow = (req: Request, res: Response, extra?: Locals) => void;

/** Every group, by slug (the checkboxes and selects of the admin forms). */
export const sortedGroups = (ctx: Ctx) => listGroups(ctx);

/**
 * Refusals a person can fix are shown on the page they came from, with the right status and
 * `keep` (what they typed); nothing was changed. Here "not found" is one of them: it is a group,
 * user or document the form named, and the form is the place to correct it.
 */
export const orShowAdmin = (req: Request, res: Response, show: AdminShow, fn: () => Promise<void>, keep: Locals = {}) =>
  onRefusal(res, fn, (e) => show(req, res, { ...keep, error: e.message, errorCode: e.code }), [
    'forbidden',
    'unauthenticated',
  ]);
