import type { Request, Response } from 'express';
import { authorize, type Action } from '../../domain/policy.js';
import type { Ctx } from '../../services/context.js';
import { listGroups } from '../../services/groups.js';
import { onRefusal, type Locals } from './formHelpers.js';

/** What the admin pages (adminPages.ts, adminUserPages.ts) share. */

/** Render an admin page with extra locals (a refusal, what was typed). */
export type AdminShow = (req: Request, res: Response, extra?: Locals) => void;

/** The policy's gate for one admin area (403 / 401 otherwise). */
export const allow = (req: Request, action: Action) => authorize(req.actor ?? null, action);

/** Every group, by slug (the checkboxes and selects of the admin forms). */
export const sortedGroups = (ctx: Ctx) => listGroups(ctx);

/** A group's name, or its slug if it is gone. */
export const groupName = (ctx: Ctx, slug: string) => ctx.meta.get('groups', slug)?.name ?? slug;

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
