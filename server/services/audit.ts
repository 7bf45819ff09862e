import type { Actor } from '../domain/actor.js';
import { authorize } from '../domain/policy.js';
import type { AuditEntry } from '../store/meta/metaStore.js';
import type { Ctx } from './context.js';

/** A page of the audit log: the newest `limit` entries (below seq `before`, when given), newest first. */
export type AuditPage = (limit: number, before?: number) => Promise<AuditEntry[]>;

/**
 * The audit log, opened for someone who may read it (the secretariat; 403, or 401 signed out,
 * otherwise). The function returned gives a page of it, newest first; the next page is the one
 * `before` the last seq of this one. Opening comes before the request's own checks (a `?limit=`
 * out of range is 400): who may not read the log gets 403 whatever they send.
 */
export function openAuditLog(ctx: Ctx, actor: Actor | null): AuditPage {
  authorize(actor, 'audit.read');
  return (limit, before) => ctx.meta.auditLog(limit, before);
}
