import { absent, conflict, invalid } from '../domain/errors.js';
import { isSystemActor, type Actor } from '../domain/actor.js';
import { authorize } from '../domain/policy.js';
import { isSlug } from '../domain/slug.js';
import { checkText, MAX_TITLE } from '../domain/text.js';
import { systemIdentity, type Ctx } from './context.js';
import { publishVersion } from './publishVersion.js';

/** Check a new document's slug, title, group and text; refuse a slug already in use. */
export function checkNewDocument(ctx: Ctx, input: { slug: string; title: string; group: string }): void {
  if (!isSlug(input.slug))
    throw invalid(
      'invalid_slug',
      'A document slug is 1–64 lowercase letters, digits or dashes, starting with a letter or digit.',
    );
  if (!input.title.trim() || input.title.length > MAX_TITLE || /[\r\n]/.test(input.title))
    throw invalid('invalid_title', 'A title is one line of 1–200 characters.');
  if (!ctx.meta.get('groups', input.group)) throw absent('group');
  if (ctx.meta.get('documents', input.slug))
    throw conflict('document_exists', `The document ${input.slug} already exists.`);
}

export { checkText };

/** Add a new document whose text becomes version 1, recorded as made by `actor` (or the system). */
export async function addDocument(
  ctx: Ctx,
  actor: Actor | null,
  input: { slug: string; title: string; group: string; text: string; summary?: string },
) {
  authorize(actor, 'document.manage');
  checkNewDocument(ctx, input);
  checkText(input.text);
  const at = ctx.clock();
  const author = !isSystemActor(actor) ? { name: actor.name, email: actor.email, at } : systemIdentity(at);
  return publishVersion(ctx, {
    slug: input.slug,
    title: input.title.trim(),
    group: input.group,
    text: input.text,
    summary: input.summary?.trim() || 'Added as version 1',
    author,
    actor: actor?.email ?? null,
    alsoWrite: () => ({ events: [{ action: 'document.created', subject: `document/${input.slug}` }] }),
  });
}
