import { conflict, invalid } from '../domain/errors.js';
import { isSlug } from '../domain/slug.js';
import type { Actor } from '../domain/actor.js';
import { authorize } from '../domain/policy.js';
import type { Ctx } from './context.js';

/** Create a working group (or the plenary). Slugs are unique. */
export async function addGroup(ctx: Ctx, actor: Actor | null, input: { slug: string; name: string }) {
  authorize(actor, 'group.manage');
  if (!isSlug(input.slug))
    throw invalid(
      'invalid_slug',
      'A group slug is 1–64 lowercase letters, digits or dashes, starting with a letter or digit.',
    );
  const name = input.name.trim();
  if (!name || name.length > 200) throw invalid('invalid_name', 'A group needs a name of 1–200 characters.');
  if (ctx.meta.get('groups', input.slug)) throw conflict('group_exists', `The group ${input.slug} already exists.`);
  const group = { slug: input.slug, name, createdAt: ctx.clock().toISOString() };
  await ctx.meta.write({
    actor: actor.email,
    at: ctx.clock(),
    events: [{ action: 'group.created', subject: `group/${input.slug}` }],
    puts: { groups: { [input.slug]: group } },
  });
  return group;
}
