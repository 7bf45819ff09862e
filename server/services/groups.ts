import type { Actor } from '../domain/actor.js';
import { authorize } from '../domain/policy.js';
import type { GroupRecord } from '../store/meta/schema.js';
import type { Ctx } from './context.js';

/** Every working group, by slug (the admin forms' choices; group names are shown with documents anyway). */
export function listGroups(ctx: Ctx): GroupRecord[] {
  // Whole-table: the list of every group (a handful).
  return ctx.meta.all('groups').sort((a, b) => a.slug.localeCompare(b.slug));
}

/** A working group's name, or its slug if it is gone (group names are public: they are shown with documents). */
export function groupName(ctx: Ctx, slug: string): string {
  return ctx.meta.get('groups', slug)?.name ?? slug;
}

/** Every working group with how many enabled accounts belong to it and how many documents it owns (Admin › Groups). */
export function groupsWithUsage(
  ctx: Ctx,
  actor: Actor | null,
): (GroupRecord & { members: number; documents: number })[] {
  authorize(actor, 'group.manage');
  // Whole-table: every account and every document is counted (a committee's few hundred at most).
  const users = ctx.meta.all('users').filter((u) => !u.disabled);
  const docs = ctx.meta.all('documents');
  return listGroups(ctx).map((g) => ({
    ...g,
    members: users.filter((u) => u.groups.includes(g.slug)).length,
    documents: docs.filter((d) => d.group === g.slug).length,
  }));
}
