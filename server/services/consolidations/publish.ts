import { signedIn } from '../../domain/policy.js';
import type { Actor } from '../../domain/actor.js';
import { conflict } from '../../domain/errors.js';
import {
  bpToQuorum,
  fullTally,
  NO_CONDITIONS,
  publishability,
  type GroupTally,
  type Publishability,
} from '../../domain/round.js';
import { checkProse, MAX_SUMMARY } from '../../domain/text.js';
import type { Trailers } from '../../domain/versionMessage.js';
import type { ConsolidationRecord, ProposalRecord, RoundRecord, VersionRecord } from '../../store/meta/schema.js';
import type { Ctx } from '../context.js';
import { publishVersion } from '../publishVersion.js';
import { mergePuts } from '../notifications/queue.js';
import { versionPublishedMails } from '../notifications/events.js';
import { roundsOn } from '../rounds/rounds.js';
import { consolidationText, isStale, loadConsolidation } from './consolidations.js';

/** The decision record as git trailers (PRODUCT.md rule 6): the repository alone tells who decided what. */
export function decisionTrailers(r: RoundRecord, c: ConsolidationRecord): Trailers {
  const t = fullTally(r.tally!);
  const cond = r.conditions ?? NO_CONDITIONS;
  const counts = (g: GroupTally) =>
    `approve=${g.approve} object=${g.object} abstain=${g.abstain} not-voted=${g.notVoted}`;
  const groups = Object.entries(t.groups);
  return [
    ['Ratify-Consolidation', String(c.id)],
    ['Ratify-Round', String(r.id)],
    ['Ratify-Rule', r.rule],
    ['Ratify-Quorum', String(bpToQuorum(r.quorumBp))],
    ['Ratify-Record', r.record ?? 'named'],
    [
      'Ratify-Conditions',
      [cond.eachGroupTakesPart ? 'each-group-takes-part' : '', cond.ruleWithinEachGroup ? 'rule-within-each-group' : '']
        .filter(Boolean)
        .join(' ') || 'none',
    ],
    ['Ratify-Result', r.result!],
    ['Ratify-Tally', counts(t)],
    ['Ratify-Recused', String(t.recused)],
    ...(groups.length
      ? [
          ['Ratify-Groups', groups.map(([slug, g]) => `${slug} ${counts(g)} recused=${g.recused}`).join('; ')] as [
            string,
            string,
          ],
        ]
      : []),
    ['Ratify-Electorate', String(r.electorate.length)],
    ['Ratify-Closed', r.closedAt!],
    ['Ratify-Proposals', c.proposals.join(', ')],
  ];
}

/** The store changes that go with a published consolidation (also replayed by repairFromMain after a crash). */
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
    puts: {
      consolidations: { [c.id]: { ...c, state: 'published' as const, publishedVersion: version, updatedAt: at } },
      proposals,
    },
  };
}

/** Whether a consolidation may be published now: the one rule (domain `publishability`), for the service and every page. */
export function publicationCheck(ctx: Ctx, c: ConsolidationRecord): Publishability {
  return publishability(c, isStale(ctx, c), roundsOn(ctx, { type: 'consolidation', id: c.id }));
}

/** Whether this round is the one that makes its consolidation publishable now (the round page's pointer to publishing). */
export function roundMakesPublishable(ctx: Ctx, r: RoundRecord): boolean {
  if (r.subject.type !== 'consolidation') return false;
  const c = ctx.meta.get('consolidations', r.subject.id);
  const check = c && publicationCheck(ctx, c);
  return !!check && check.ok && check.round === r.id;
}

const REFUSALS: Record<Exclude<Publishability, { ok: true }>['code'], (c: ConsolidationRecord) => [string, string]> = {
  not_open: (c) => ['not_open', `This consolidation is already ${c.state}.`],
  stale: () => ['stale', 'A newer version was published after this consolidation was made: rebuild it.'],
  round_open: () => [
    'not_approved',
    'A round is open on it: it can be published once that round has closed and passed.',
  ],
  not_approved: () => ['not_approved', 'Its latest round has not passed.'],
  text_changed: () => [
    'not_approved',
    'The text changed after the round: the approved revision is not the current one.',
  ],
};

/**
 * Publish a consolidation as the next version: only when it is open, not stale, and its
 * latest round passed on its current head. The file on `main` is the approved blob, byte for
 * byte; version, consolidation and proposals change in one store write.
 */
export async function publishConsolidation(
  ctx: Ctx,
  actor: Actor | null,
  id: number,
  input: { summary?: string | null },
): Promise<VersionRecord> {
  signedIn(actor);
  loadConsolidation(ctx, actor, id, 'consolidation.manage');
  return ctx.subjects.run(`consolidation/${id}`, async () => {
    const c = ctx.meta.get('consolidations', id)!;
    const check = publicationCheck(ctx, c);
    if (!check.ok) throw conflict(...REFUSALS[check.code](c));
    const r = ctx.meta.get('rounds', check.round)!;
    const summary =
      checkProse(input.summary ?? c.summary, 'summary', MAX_SUMMARY, false).trim() ||
      c.summary ||
      `Consolidation ${id}`;
    const text = await consolidationText(ctx, c);
    const doc = ctx.meta.get('documents', c.document)!;
    return publishVersion(ctx, {
      slug: c.document,
      title: doc.title,
      group: doc.group,
      text,
      summary,
      author: { name: actor.name, email: actor.email, at: ctx.clock() },
      trailers: decisionTrailers(r, c),
      proposals: c.proposals,
      round: r.id,
      consolidation: c.id,
      expectedLatest: c.baseVersion,
      actor: actor.email,
      alsoWrite: (v) => {
        const changes = publishedStateChanges(ctx, c, v.number, v.publishedAt);
        return { events: changes.events, puts: mergePuts(changes.puts, versionPublishedMails(ctx, v)) };
      },
    });
  });
}
