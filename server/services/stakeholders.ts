import { conflict, invalid } from '../domain/errors.js';
import type { Actor } from '../domain/actor.js';
import { authorize } from '../domain/policy.js';
import { isSlug } from '../domain/slug.js';
import type { StakeholderRecord } from '../store/meta/schema.js';
import type { Ctx } from './context.js';

/**
 * The committee's stakeholder groups (governments, private sector, civil society, technical
 * community…): each member belongs to at most one. Not the working groups (`addGroup`), which
 * own documents and draft.
 */

/** Where a stakeholder group is named as text (the CLI, a CSV cell), this word means "none"; it is never a slug. */
export const NO_STAKEHOLDER = 'none';

const fold = (s: string) => s.trim().toLowerCase();

/** Create a stakeholder group (secretariat). Slugs are unique, and no name or slug may read as another's. */
export function addStakeholder(
  ctx: Ctx,
  actor: Actor | null,
  input: { slug: string; name: string },
): Promise<StakeholderRecord> {
  authorize(actor, 'group.manage');
  const slug = input.slug;
  if (!isSlug(slug) || slug === NO_STAKEHOLDER) {
    throw invalid(
      'invalid_slug',
      `A stakeholder group slug is 1–64 lowercase letters, digits or dashes, starting with a letter or digit (and not "${NO_STAKEHOLDER}").`,
    );
  }
  const name = input.name.trim();
  if (!name || name.length > 200 || /[\r\n\u0000<>]/.test(name) || fold(name) === NO_STAKEHOLDER) {
    throw invalid('invalid_name', 'A stakeholder group needs a name of one line of 1–200 characters, without < or >.');
  }
  // Checked and written under the accounts lock: accounts name these groups, and two adds of one slug must not both pass.
  return ctx.accounts.run(async () => {
    if (ctx.meta.get('stakeholders', slug))
      throw conflict('stakeholder_exists', `The stakeholder group ${slug} already exists.`);
    // A CSV cell or a CLI option may name a group by slug or by name: neither may name two groups.
    // Whole-table: a name may clash with any group's name or slug (a committee has a handful).
    const clash = ctx.meta
      .all('stakeholders')
      .find((s) => [fold(s.slug), fold(s.name)].some((x) => x === fold(name) || x === slug));
    if (clash)
      throw conflict(
        'stakeholder_exists',
        `The stakeholder group ${clash.name} (${clash.slug}) already has this name or slug.`,
      );
    const record: StakeholderRecord = { slug, name, createdAt: ctx.clock().toISOString() };
    await ctx.meta.write({
      actor: actor?.email ?? null,
      at: ctx.clock(),
      events: [{ action: 'stakeholder.created', subject: `stakeholder/${slug}` }],
      puts: { stakeholders: { [slug]: record } },
    });
    return record;
  });
}

/** How many enabled accounts each stakeholder group has (by slug), and how many have none. */
export function stakeholderMembership(
  ctx: Ctx,
  actor: Actor | null,
): { members: Map<string, number>; without: number } {
  authorize(actor, 'group.manage');
  const members = new Map<string, number>();
  let without = 0;
  // Whole-table: every account is counted (a committee's few hundred at most).
  for (const u of ctx.meta.all('users')) {
    if (u.disabled) continue;
    if (u.stakeholder) members.set(u.stakeholder, (members.get(u.stakeholder) ?? 0) + 1);
    else without++;
  }
  return { members, without };
}

/** Whether any member (enabled) is in a stakeholder group: else the conditions per group have nothing to check. Public, as the groups are. */
export function membersHaveStakeholders(ctx: Ctx): boolean {
  // Kept by the store until a member changes: asked on every proposal page (the round form).
  return ctx.meta.derived('users', 'activeMember', 'yes', 'anyStakeholder', (us) => us.some((u) => u.stakeholder), {
    small: true,
  });
}

/** Every stakeholder group, by name (public: the Terms of Reference publish each member's group). */
export function listStakeholders(ctx: Ctx): StakeholderRecord[] {
  // Whole-table: the list of every stakeholder group (a handful).
  return ctx.meta.all('stakeholders').sort((a, b) => a.name.localeCompare(b.name) || a.slug.localeCompare(b.slug));
}

const unknownStakeholder = (what: unknown) =>
  invalid(
    'unknown_stakeholder',
    `There is no stakeholder group ${typeof what === 'string' ? `"${what.slice(0, 100)}"` : 'so named'}; the groups are listed on Admin → Stakeholder groups.`,
  );

/** A stakeholder group given by slug (API, pages, services): the slug, or null for none. */
export function checkStakeholder(ctx: Ctx, value: unknown): string | null {
  if (value === null) return null;
  if (!isSlug(value) || !ctx.meta.get('stakeholders', value)) throw unknownStakeholder(value);
  return value;
}

/**
 * A stakeholder group named as text (a CSV cell, a CLI option): its slug or its name, in any
 * case; empty or "none" is no group (null).
 */
export function stakeholderFromText(ctx: Ctx, text: string): string | null {
  const t = fold(text);
  if (t === '' || t === NO_STAKEHOLDER) return null;
  // Whole-table: text names a group by slug or by name (a handful of groups).
  const found = ctx.meta.all('stakeholders').find((s) => s.slug === t || fold(s.name) === t);
  if (!found) throw unknownStakeholder(text.trim());
  return found.slug;
}

/** A stakeholder group's name, or its slug if it is gone; '' for none. */
export const stakeholderName = (ctx: Ctx, slug: string | null | undefined): string =>
  slug ? (ctx.meta.get('stakeholders', slug)?.name ?? slug) : '';
