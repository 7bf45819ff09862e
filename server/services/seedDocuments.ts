import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { z as Zod } from 'zod';
import { SLUG_PATTERN } from '../domain/slug.js';
import { isInside } from '../store/fsutil.js';
import { systemIdentity, type Ctx } from './context.js';
import { publishVersion } from './publishVersion.js';
import { NO_STAKEHOLDER } from './stakeholders.js';

/**
 * The manifest's schema, made when a seed runs (once per installation), with zod loaded then: the
 * server and the CLI load zod anyway, but a test of the services or the store opens a copy of a
 * folder seeded once per run, and need not load zod's ~95 modules (60–100 ms of CPU a test file).
 */
const manifestSchema = (z: typeof Zod) =>
  z.object({
    groups: z.array(z.object({ slug: z.string().regex(SLUG_PATTERN), name: z.string().min(1) })),
    /** The committee's stakeholder groups (optional: older manifests have none). */
    stakeholders: z
      .array(
        z.object({
          slug: z
            .string()
            .regex(SLUG_PATTERN)
            .refine((s) => s !== NO_STAKEHOLDER, 'means no stakeholder group'),
          name: z.string().min(1).max(200),
        }),
      )
      .optional(),
    /** How rounds are held unless a round says otherwise (optional: the built-in defaults otherwise). */
    rounds: z
      .object({ defaultRecord: z.enum(['named', 'unnamed']).optional(), chairMayRecord: z.boolean().optional() })
      .strict()
      .optional(),
    documents: z.array(
      z.object({
        slug: z.string().regex(SLUG_PATTERN),
        title: z.string().min(1),
        group: z.string().regex(SLUG_PATTERN),
        file: z.string().min(1),
        summary: z.string().optional(),
      }),
    ),
  });

/**
 * On a fresh data folder, create the groups, stakeholder groups and documents that
 * `documents/manifest.json` describes, each document as version 1 by the system identity — exactly once: a crash
 * half-way is finished at the next start (documents already published are skipped), and after
 * the seed is recorded as done it never runs again.
 */
export async function seedDocuments(ctx: Ctx, documentsDir: string): Promise<{ seeded: string[] }> {
  if (ctx.meta.get('system', 'seed')?.seeded) return { seeded: [] };
  const { z } = await import('zod');
  const manifest = manifestSchema(z).parse(
    JSON.parse(await fsp.readFile(path.join(documentsDir, 'manifest.json'), 'utf8')),
  );
  const at = ctx.clock();
  const groups = Object.fromEntries(
    manifest.groups
      .filter((g) => !ctx.meta.get('groups', g.slug))
      .map((g) => [g.slug, { slug: g.slug, name: g.name, createdAt: at.toISOString() }]),
  );
  if (Object.keys(groups).length) {
    await ctx.meta.write({
      actor: null,
      at,
      events: Object.keys(groups).map((g) => ({ action: 'group.created', subject: `group/${g}` })),
      puts: { groups },
    });
  }
  const stakeholders = Object.fromEntries(
    (manifest.stakeholders ?? [])
      .filter((s) => !ctx.meta.get('stakeholders', s.slug))
      .map((s) => [s.slug, { slug: s.slug, name: s.name, createdAt: at.toISOString() }]),
  );
  if (Object.keys(stakeholders).length) {
    await ctx.meta.write({
      actor: null,
      at,
      events: Object.keys(stakeholders).map((s) => ({ action: 'stakeholder.created', subject: `stakeholder/${s}` })),
      puts: { stakeholders },
    });
  }
  if (manifest.rounds && !ctx.meta.get('settings', 'rounds')) {
    const rounds = {
      defaultRecord: manifest.rounds.defaultRecord ?? 'named',
      chairMayRecord: manifest.rounds.chairMayRecord ?? false,
    } as const;
    await ctx.meta.write({
      actor: null,
      at,
      events: [{ action: 'settings.updated', subject: 'settings/rounds' }],
      puts: { settings: { rounds } },
    });
  }
  const seeded: string[] = [];
  for (const d of manifest.documents) {
    if (ctx.meta.get('documents', d.slug)) continue;
    const file = path.resolve(documentsDir, d.file);
    if (!isInside(documentsDir, file)) throw new Error(`manifest.json names a file outside documents/: ${d.file}`);
    const text = await fsp.readFile(file, 'utf8');
    await publishVersion(ctx, {
      slug: d.slug,
      title: d.title,
      group: d.group,
      text,
      summary: d.summary ?? 'Version 1',
      author: systemIdentity(ctx.clock()),
    });
    seeded.push(d.slug);
  }
  await ctx.meta.write({
    actor: null,
    at: ctx.clock(),
    events: [{ action: 'seed.completed', subject: 'documents' }],
    puts: { system: { seed: { seeded: true } } },
  });
  return { seeded };
}
