import type { Actor } from '../../domain/actor.js';
import type { Change } from '../../domain/diff.js';
import { diffTexts } from '../diffTexts.js';
import { absent } from '../../domain/errors.js';
import { documentPath } from '../../domain/slug.js';
import {
  revisionKey,
  versionKey,
  type ProposalRecord,
  type RevisionRecord,
  type SubjectRef,
} from '../../store/meta/schema.js';
import type { Ctx } from '../context.js';
import { loadProposal } from './access.js';
import { noSection } from '../../domain/sections.js';
import { sectionIn } from '../textSections.js';

export function revisionsOf(ctx: Ctx, subject: SubjectRef, count: number): RevisionRecord[] {
  const out: RevisionRecord[] = [];
  for (let n = 1; n <= count; n++) {
    const r = ctx.meta.get('revisions', revisionKey(subject, n));
    if (r) out.push(r);
  }
  return out;
}

export function revisionOf(ctx: Ctx, subject: SubjectRef, n: number, count: number): RevisionRecord {
  const r =
    Number.isInteger(n) && n >= 1 && n <= count ? ctx.meta.get('revisions', revisionKey(subject, n)) : undefined;
  if (!r) throw absent('revision');
  return r;
}

export const revisionText = (ctx: Ctx, r: RevisionRecord) => ctx.repo.readBlobText(r.blob);

/** The text of the document as published in the proposal's base commit. */
export async function baseText(ctx: Ctx, p: Pick<ProposalRecord, 'base' | 'document'>): Promise<string> {
  return (await ctx.repo.readFile(p.base, documentPath(p.document)))?.text ?? '';
}

export async function proposalText(ctx: Ctx, p: ProposalRecord): Promise<string> {
  return revisionText(ctx, revisionOf(ctx, { type: 'proposal', id: p.id }, p.revisions, p.revisions));
}

export interface DiffSide {
  label: string;
  commit: string;
}

/**
 * A proposal's changes: base → head by default; `against=published` compares the current
 * published version with the head (when the document moved on since the proposal began);
 * `from`/`to` compare two revisions.
 */
export async function proposalDiff(
  ctx: Ctx,
  actor: Actor | null,
  id: number,
  opts: { from?: number; to?: number; against?: 'base' | 'published' },
): Promise<{
  proposal: ProposalRecord;
  from: DiffSide;
  to: DiffSide;
  changes: Change[];
  /** The two texts compared (for the rendered diff). */
  texts: { from: string; to: string };
}> {
  const p = loadProposal(ctx, actor, id);
  const subject: SubjectRef = { type: 'proposal', id };
  let from: DiffSide;
  let fromText: string;
  if (opts.from !== undefined) {
    const r = revisionOf(ctx, subject, opts.from, p.revisions);
    from = { label: `revision ${r.n}`, commit: r.commit };
    fromText = await revisionText(ctx, r);
  } else if (opts.against === 'published') {
    const doc = ctx.meta.get('documents', p.document)!;
    const v = ctx.meta.get('versions', versionKey(p.document, doc.latest))!;
    from = { label: `published version ${v.number}`, commit: v.commit };
    fromText = await ctx.repo.readBlobText(v.blob);
  } else {
    from = { label: 'the published version it started from', commit: p.base };
    fromText = await baseText(ctx, p);
  }
  const toRev = revisionOf(ctx, subject, opts.to ?? p.revisions, p.revisions);
  const to = { label: `revision ${toRev.n}`, commit: toRev.commit };
  const toText = await revisionText(ctx, toRev);
  return {
    proposal: p,
    from,
    to,
    changes: await diffTexts(ctx, fromText, toText),
    texts: { from: fromText, to: toText },
  };
}

/**
 * One section of the proposal's current text, by its anchor (domain/sections.ts), for who may
 * see the proposal; 404 `section_not_found` when the text has no such section.
 */
export async function proposalSection(ctx: Ctx, actor: Actor | null, id: number, anchor: string) {
  const p = loadProposal(ctx, actor, id);
  const found = await sectionIn(ctx, await proposalText(ctx, p), anchor);
  if (!found) throw noSection();
  return { proposal: p, section: found.section, text: found.text };
}
