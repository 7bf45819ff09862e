import type { Actor } from '../../domain/actor.js';
import {
  attribute,
  changesOnly,
  type AttributedChange,
  type AttributedPiece,
  type ChangeSource,
} from '../../domain/attribution.js';
import type { ConsolidationRecord, RevisionRecord, VersionRecord } from '../../store/meta/schema.js';
import type { Ctx } from '../context.js';
import { baseText, revisionsOf, revisionText } from '../proposals/read.js';
import { roundOfVersion } from '../rounds/decision.js';
import { loadConsolidation } from './consolidations.js';

/**
 * Where each change of a consolidation came from (issue 15): its revisions, each with who made
 * it, when and its commit message, and the text against the published one with every change
 * credited to the revision that made it (domain/attribution.ts). The one home of this
 * attribution: the consolidation page, its round's page, the decision record of the version
 * it became and the API all read it from here.
 */

export interface ConsolidationRevision {
  n: number;
  authorId: number;
  at: string;
  /** The first line of the revision's commit message. */
  message: string;
  source: ChangeSource;
}

export interface ConsolidationAttribution {
  consolidation: ConsolidationRecord;
  /** The revision the attribution runs to (the current one, or the one a round voted on). */
  revision: number;
  revisions: ConsolidationRevision[];
  pieces: AttributedPiece[];
  changes: AttributedChange[];
}

/**
 * What a revision is: `createConsolidation` makes revisions 1…k, one per proposal merged, in
 * the order of `proposals`; every later one is the chair's editorial revision.
 */
export function revisionSource(c: ConsolidationRecord, r: RevisionRecord): ChangeSource {
  return r.n <= c.proposals.length
    ? { type: 'proposal', id: c.proposals[r.n - 1] }
    : { type: 'editorial', revision: r.n, author: r.authorId };
}

async function attributionOf(ctx: Ctx, c: ConsolidationRecord, upTo: number): Promise<ConsolidationAttribution> {
  const records = revisionsOf(ctx, { type: 'consolidation', id: c.id }, Math.min(upTo, c.revisions));
  const revisions: ConsolidationRevision[] = [];
  for (const r of records) {
    const { message } = await ctx.repo.readCommit(r.commit);
    const source = revisionSource(c, r);
    revisions.push({ n: r.n, authorId: r.authorId, at: r.at, message: message.split('\n')[0], source });
  }
  // The same commits and sources always give the same attribution.
  const key = `${c.base} ${records.map((r) => r.commit).join(' ')} ${JSON.stringify(revisions.map((r) => r.source))}`;
  let pieces = ctx.attributions?.get(key);
  if (!pieces) {
    const steps = [];
    for (const [i, r] of records.entries())
      steps.push({ text: await revisionText(ctx, r), source: revisions[i].source });
    pieces = attribute(await baseText(ctx, c), steps);
    ctx.attributions?.set(key, pieces);
  }
  return { consolidation: c, revision: records.length, revisions, pieces, changes: changesOnly(pieces) };
}

/** The attribution of a consolidation the actor may see, up to revision `upTo` (the current one by default). */
export async function consolidationAttribution(
  ctx: Ctx,
  actor: Actor | null,
  id: number,
  upTo?: number,
): Promise<ConsolidationAttribution> {
  const c = loadConsolidation(ctx, actor, id);
  return attributionOf(ctx, c, upTo ?? c.revisions);
}

/**
 * The attribution of the text a published version's round approved, for its public decision
 * record (decision records are public); null for a version not made from a consolidation.
 */
export async function versionAttribution(ctx: Ctx, v: VersionRecord): Promise<ConsolidationAttribution | null> {
  const c = v.consolidation === null ? undefined : ctx.meta.get('consolidations', v.consolidation);
  const r = roundOfVersion(ctx, v);
  if (!c || !r || r.subject.type !== 'consolidation' || r.subject.id !== c.id) return null;
  return attributionOf(ctx, c, r.revision);
}
