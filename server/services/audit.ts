import type { Actor } from '../domain/actor.js';
import { authorize } from '../domain/policy.js';
import type { AuditEntry } from '../store/meta/metaStore.js';
import type { Ctx } from './context.js';

/**
 * The audit log, opened for someone who may read it (the secretariat; 403, or 401 signed out,
 * otherwise). The function returned gives the newest `limit` entries, newest first. Opening
 * comes before the request's own checks (a `?limit=` out of range is 400): who may not read the
 * log gets 403 whatever they send.
 */
export function openAuditLog(ctx: Ctx, actor: Actor | null): (limit: number) => AuditEntry[] {
  authorize(actor, 'audit.read');
  return (limit) => ctx.meta.auditLog(limit);
}
