import type { Actor } from '../../domain/actor.js';
import { conflict } from '../../domain/errors.js';
import { bpToQuorum } from '../../domain/round.js';
import { checkProse, MAX_SUMMARY } from '../../domain/text.js';
import type { Trailers } from '../../domain/versionMessage.js';
import type { ConsolidationRecord, ProposalRecord, RoundRecord, VersionRecord } from '../../store/meta/schema.js';
import type { Ctx } from '../context.js';
import { publishVersion } from '../publishVersion.js';
import { mergePuts } from '../notifications/queue.js';
import { versionPublishedMails } from '../notifications/events.js';
import { latestRoundOn } from '../rounds/rounds.js';
import { consolidationText, isStale, loadConsolidation } from './consolidations.js';

/** The decision record as git trailers (PRODUCT.md rule 6): the repository alone tells who decided what. */
export function decisionTrailers(r: RoundRecord, c: ConsolidationRecord): Trailers {
  const t = r.tally!;
  return [
    ['Ratify-Consolidation', String(c.id)],
    ['Ratify-Round', String(r.id)],
    ['Ratify-Rule', r.rule],
    ['Ratify-Quorum', String(bpToQuorum(r.quorumBp))],
    ['Ratify-Result', r.result!],
    ['Ratify-Tally', `approve=${t.approve} object=${t.object} abstain=${t.abstain} not-voted=${t.notVoted}`],
    ['Ratify-Electorate', String(r.electorate.length)],
    ['Ratify-Closed', r.closedAt!],
    ['Ratify-Proposals', c.proposals.join(', ')],
  ];
}

/** The store changes that go with a published consolidation (also replayed by indexMain after a crash). */
export function publishedStateChanges(ctx: Ctx, c: ConsolidationRecord, version: number, at: string) {
  const proposals: Record<string, ProposalRecord> = {};
  const events = [{ action: 'consolidation.published', subject: `consolidation/${c.id}` }];
  for (const id of c.proposals) {
    const p = ctx.meta.get('proposals', id);
    if (p && p.state !== 'consolidated') {
      proposals[id] = { ...p, state: 'consolidated', updatedAt: at };
      events.push({ action: 'proposal.consolidated', subject: `proposal/${id}` });
    }
  }
  return {
    events,
    puts: { consolidations: { [c.id]: { ...c, state: 'published' as const, publishedVersion: version, updatedAt: at } }, proposals },
  };
}

/**
 * Publish a consolidation as the next version: only when it is open, not stale, and its
 * latest round passed on its current head. The file on `main` is the approved blob, byte for
 * byte; version, consolidation and proposals change in one store write.
 */
export async function publishConsolidation(ctx: Ctx, actor: Actor | null, id: number, input: { summary?: unknown }): Promise<VersionRecord> {
  loadConsolidation(ctx, actor, id, 'consolidation.manage');
  return ctx.subjects.run(`consolidation/${id}`, async () => {
    const c = ctx.meta.get('consolidations', id)!;
    if (c.state !== 'open') throw conflict('not_open', `This consolidation is already ${c.state}.`);
    if (isStale(ctx, c)) throw conflict('stale', 'A newer version was published after this consolidation was made: rebuild it.');
    // The latest round that was decided (a cancelled round decided nothing).
    const r = latestRoundOn(ctx, { type: 'consolidation', id }, { decidedOnly: true });
    if (!r || r.state !== 'closed' || r.result !== 'passed') throw conflict('not_approved', 'Its latest round has not passed.');
    if (r.commit !== c.head) throw conflict('not_approved', 'The text changed after the round: the approved revision is not the current one.');
    const summary = checkProse(input.summary ?? c.summary, 'summary', MAX_SUMMARY, false).trim() || c.summary || `Consolidation ${id}`;
    const text = await consolidationText(ctx, c);
    const doc = ctx.meta.get('documents', c.document)!;
    return publishVersion(ctx, {
      slug: c.document,
      title: doc.title,
      group: doc.group,
      text,
      summary,
      author: { name: actor!.name, email: actor!.email, at: ctx.clock() },
      trailers: decisionTrailers(r, c),
      proposals: c.proposals,
      round: r.id,
      consolidation: c.id,
      expectedLatest: c.baseVersion,
      actor: actor!.email,
      alsoWrite: (v) => {
        const changes = publishedStateChanges(ctx, c, v.number, v.publishedAt);
        return { events: changes.events, puts: mergePuts(changes.puts, versionPublishedMails(ctx, v)) };
      },
    });
  });
}
