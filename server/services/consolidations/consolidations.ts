import { oneLine } from '../../domain/versionMessage.js';
import type { Actor } from '../../domain/actor.js';
import { absent, conflict, invalid } from '../../domain/errors.js';
import { findConflicts, mergeProposals } from '../../domain/merge.js';
import { mergePuts } from '../notifications/queue.js';
import { consolidationCreatedMails } from '../notifications/events.js';
import { authorize, canSee, signedIn } from '../../domain/policy.js';
import { assertEditable } from '../../domain/proposal.js';
import { documentPath } from '../../domain/slug.js';
import { checkProse, checkText, MAX_SUMMARY } from '../../domain/text.js';
import {
  revisionKey,
  versionKey,
  type ConsolidationRecord,
  type DocumentRecord,
  type RevisionRecord,
} from '../../store/meta/schema.js';
import { MAIN, type Ctx } from '../context.js';
import { getDocument } from '../readDocuments.js';
import { baseText, proposalText } from '../proposals/read.js';
import { saveRevision } from '../revisions.js';
import { diffTexts } from '../diffTexts.js';

export const consolidationRef = (id: number) => `refs/ratify/consolidations/${id}`;

/** Stale: another version of its document was published after it was made. */
export function isStale(ctx: Ctx, c: ConsolidationRecord): boolean {
  // Its own publication does not make it stale.
  return (ctx.meta.get('documents', c.document)?.latest ?? 0) > (c.publishedVersion ?? c.baseVersion);
}

export function consolidationSubject(ctx: Ctx, c: ConsolidationRecord) {
  return { kind: 'consolidation' as const, group: ctx.meta.get('documents', c.document)?.group ?? '' };
}

/** Load a consolidation the actor may see (members, the chair, the secretariat). */
export function loadConsolidation(
  ctx: Ctx,
  actor: Actor | null,
  id: number,
  action: 'round.read' | 'consolidation.manage' = 'round.read',
): ConsolidationRecord {
  const c = Number.isInteger(id) && id > 0 ? ctx.meta.get('consolidations', id) : undefined;
  if (!c) throw absent('consolidation');
  authorize(actor, action, consolidationSubject(ctx, c), 'consolidation');
  return c;
}

/** A consolidation by id if the actor may see it, else undefined — as for an id that does not exist (where a round names it). */
export function findConsolidation(ctx: Ctx, actor: Actor | null, id: number): ConsolidationRecord | undefined {
  const c = ctx.meta.get('consolidations', id);
  return c && canSee(actor, consolidationSubject(ctx, c)) ? c : undefined;
}

/** The open consolidations the actor may see (optionally of one document), newest first. */
export function listOpenConsolidations(ctx: Ctx, actor: Actor | null, document?: string): ConsolidationRecord[] {
  return ctx.meta
    .by('consolidations', 'state', 'open')
    .filter((c) => (!document || c.document === document) && canSee(actor, consolidationSubject(ctx, c)))
    .reverse();
}

/** The document, if the actor may consolidate its proposals (404 / 403 / 401 otherwise: `createConsolidation`'s own check), for the consolidate form. */
export function documentToConsolidate(ctx: Ctx, actor: Actor | null, slug: string): DocumentRecord {
  const doc = getDocument(ctx, slug);
  authorize(actor, 'consolidation.manage', { kind: 'consolidation', group: doc.group }, 'document');
  return doc;
}

/** The shared proposals to merge, by id, and the consolidation's summary. */
export interface CreateConsolidationInput {
  proposals: number[];
  summary?: string | null;
}

/** The chair's edit: the whole text, and `head`, the revision it was made on. */
export interface ReviseConsolidationInput {
  text: string;
  head: string;
  /** What the chair changed, in a line (the revision's commit message; "Edit consolidation N" when absent). */
  message?: string | null;
}

/**
 * Build a consolidation: a branch from the current `main` on which the chosen shared
 * proposals are merged one after another (one commit each, by the person consolidating).
 * Overlaps become conflict blocks in the text for the chair to resolve by editing.
 */
export async function createConsolidation(
  ctx: Ctx,
  actor: Actor | null,
  slug: string,
  input: CreateConsolidationInput,
): Promise<ConsolidationRecord> {
  const doc = getDocument(ctx, slug);
  authorize(actor, 'consolidation.manage', { kind: 'consolidation', group: doc.group }, 'document');
  const summary = checkProse(input.summary, 'summary', MAX_SUMMARY, false).trim();
  const ids = input.proposals;
  if (!ids.length || ids.length > 100)
    throw invalid('invalid_proposals', 'Choose the shared proposals to consolidate (a list of 1–100 ids).');
  if (new Set(ids).size !== ids.length) throw invalid('invalid_proposals', 'Each proposal is named once.');
  const proposals = ids.map((id) => {
    const p = ctx.meta.get('proposals', id);
    if (!p) throw absent('proposal');
    if (p.document !== slug) throw invalid('wrong_document', `Proposal ${id} changes another document.`);
    if (p.state !== 'shared')
      throw conflict('not_shared', `Proposal ${id} is ${p.state}: only shared proposals can be consolidated.`);
    return p;
  });
  const base = await ctx.repo.resolve(MAIN);
  const latest = ctx.meta.get('versions', versionKey(slug, doc.latest))!;
  const published = await ctx.repo.readBlobText(latest.blob);
  const inputs = [];
  for (const p of proposals)
    inputs.push({ id: p.id, title: p.title, base: await baseText(ctx, p), head: await proposalText(ctx, p) });
  const steps = mergeProposals(published, inputs);
  const id = ctx.meta.nextId('consolidations');
  const ref = consolidationRef(id);
  let expected = await ctx.repo.resolve(ref); // an orphan from a crash is reused
  let parent = base!;
  const at = ctx.clock();
  const revisions: RevisionRecord[] = [];
  for (const [i, s] of steps.entries()) {
    const p = proposals[i];
    const { commit, blob } = await ctx.repo.commitFile({
      ref,
      expected,
      parent,
      filepath: documentPath(slug),
      text: s.text,
      message: `Merge proposal ${p.id}: ${p.title}${s.conflicts ? ` (${s.conflicts} conflict${s.conflicts > 1 ? 's' : ''})` : ''}\n`,
      author: { name: actor.name, email: actor.email, at },
    });
    expected = parent = commit;
    revisions.push({
      subject: { type: 'consolidation', id },
      n: i + 1,
      commit,
      blob,
      authorId: actor.id,
      at: at.toISOString(),
    });
  }
  // The announcement shows what the consolidated text changes in the published one.
  const changes = await diffTexts(ctx, published, steps.at(-1)!.text);
  const c: ConsolidationRecord = {
    id,
    document: slug,
    state: 'open',
    base: base!,
    baseVersion: doc.latest,
    head: parent,
    revisions: revisions.length,
    proposals: ids,
    summary,
    createdBy: actor.id,
    openRound: null,
    publishedVersion: null,
    createdAt: at.toISOString(),
    updatedAt: at.toISOString(),
  };
  await ctx.meta.write({
    actor: actor.email,
    at,
    events: [{ action: 'consolidation.created', subject: `consolidation/${id}` }],
    puts: mergePuts(
      {
        consolidations: { [id]: c },
        revisions: Object.fromEntries(revisions.map((r) => [revisionKey(r.subject, r.n), r])),
      },
      consolidationCreatedMails(
        ctx,
        c,
        steps.at(-1)?.conflicts ? findConflicts(steps.at(-1)!.text).length : 0,
        changes,
      ),
    ),
  });
  return c;
}

export async function consolidationText(ctx: Ctx, c: ConsolidationRecord): Promise<string> {
  return ctx.repo.readBlobText(
    ctx.meta.get('revisions', revisionKey({ type: 'consolidation', id: c.id }, c.revisions))!.blob,
  );
}

/** The chair's editorial edits and conflict resolutions: each a revision, by compare-and-swap on the head. */
export async function reviseConsolidation(
  ctx: Ctx,
  actor: Actor | null,
  id: number,
  input: ReviseConsolidationInput,
): Promise<ConsolidationRecord> {
  signedIn(actor);
  return ctx.subjects.run(`consolidation/${id}`, async () => {
    const c = loadConsolidation(ctx, actor, id, 'consolidation.manage');
    if (c.state !== 'open') throw conflict('not_editable', `A ${c.state} consolidation cannot be edited.`);
    assertEditable('draft', c.openRound !== null);
    const text = checkText(input.text);
    if (input.head !== c.head)
      throw conflict(
        'stale_head',
        'Someone saved a newer revision since you started editing. Reload it and apply your change again.',
        { current: c.head },
      );
    return saveRevision(
      ctx,
      actor,
      { type: 'consolidation', id },
      {
        ref: consolidationRef(id),
        document: c.document,
        head: c.head,
        text,
        message: `${oneLine(input.message ?? '').slice(0, 200) || `Edit consolidation ${id}`}\n`,
        action: 'consolidation.revised',
      },
    );
  });
}

export async function abandonConsolidation(ctx: Ctx, actor: Actor | null, id: number): Promise<ConsolidationRecord> {
  signedIn(actor);
  return ctx.subjects.run(`consolidation/${id}`, async () => {
    const c = loadConsolidation(ctx, actor, id, 'consolidation.manage');
    if (c.state !== 'open') throw conflict('not_open', `This consolidation is already ${c.state}.`);
    if (c.openRound !== null) throw conflict('round_open', 'A round is open on this consolidation; cancel it first.');
    const next: ConsolidationRecord = { ...c, state: 'abandoned', updatedAt: ctx.clock().toISOString() };
    await ctx.meta.write({
      actor: actor.email,
      at: ctx.clock(),
      events: [{ action: 'consolidation.abandoned', subject: `consolidation/${id}` }],
      puts: { consolidations: { [id]: next } },
    });
    return next;
  });
}

/** "Rebuild": a new consolidation of the same proposals (those still shared) on the current published text. */
export async function rebuildConsolidation(ctx: Ctx, actor: Actor | null, id: number): Promise<ConsolidationRecord> {
  const c = loadConsolidation(ctx, actor, id, 'consolidation.manage');
  const still = c.proposals.filter((p) => ctx.meta.get('proposals', p)?.state === 'shared');
  if (!still.length) throw conflict('nothing_to_rebuild', 'None of its proposals is still shared.');
  return createConsolidation(ctx, actor, c.document, { proposals: still, summary: c.summary });
}
