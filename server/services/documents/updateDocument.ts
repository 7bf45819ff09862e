import { authorize } from '../../domain/policy.js';
import type { Actor } from '../../domain/actor.js';
import { absent, invalid } from '../../domain/errors.js';
import { isSlug } from '../../domain/slug.js';
import { MAX_TITLE } from '../../domain/limits.js';
import { checkLabel } from '../../domain/text.js';
import type { DocumentRecord } from '../../store/meta/schema.js';
import type { Ctx } from '../context.js';

export interface DocumentChanges {
  title?: string;
  group?: string;
  /** The label in mail subjects (`[ToR]`); empty: back to the default from the slug. */
  label?: string;
}

/**
 * Change a document's title, owning group or mail label (the secretariat's housekeeping; the
 * text changes only through a published version). Checked like a new document: a title is one
 * line of 1–200 characters, the group must exist; a label is 1–16 characters without square
 * brackets (`invalid_label`), or empty for the default. Runs under the publishing lock so a publication in
 * flight cannot write back the old title or group over this change. Returns the record as it
 * now stands; nothing is written (and nothing audited) when nothing differs.
 */
export async function updateDocument(
  ctx: Ctx,
  actor: Actor | null,
  slug: string,
  changes: DocumentChanges,
): Promise<DocumentRecord> {
  authorize(actor, 'document.manage');
  if (changes.title === undefined && changes.group === undefined && changes.label === undefined)
    throw invalid('nothing_to_change', 'Give a new title, owning group or label.');
  if (
    changes.title !== undefined &&
    (!changes.title.trim() || changes.title.length > MAX_TITLE || /[\r\n]/.test(changes.title))
  ) {
    throw invalid('invalid_title', 'A title is one line of 1–200 characters.');
  }
  if (changes.group !== undefined && (!isSlug(changes.group) || !ctx.meta.get('groups', changes.group))) {
    throw absent('group');
  }
  const label = changes.label !== undefined ? checkLabel(changes.label) : undefined;
  return ctx.publishing.run(async () => {
    const doc = isSlug(slug) ? ctx.meta.get('documents', slug) : undefined;
    if (!doc) throw absent('document');
    const next: DocumentRecord = {
      ...doc,
      title: changes.title !== undefined ? changes.title.trim() : doc.title,
      group: changes.group ?? doc.group,
    };
    // null: back to the default from the slug (no label kept on the record).
    if (label) next.label = label;
    else if (label === null) delete next.label;
    if (next.title === doc.title && next.group === doc.group && next.label === doc.label) return doc;
    await ctx.meta.write({
      actor: actor?.email ?? null,
      at: ctx.clock(),
      events: [{ action: 'document.updated', subject: `document/${slug}` }],
      puts: { documents: { [slug]: next } },
    });
    return next;
  });
}
