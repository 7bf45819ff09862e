import { isOfficer, type Actor } from '../../domain/actor.js';
import { can } from '../../domain/policy.js';
import {
  ballotsNeeded,
  conditionWords,
  NO_CONDITIONS,
  RULES,
  voterShown,
  type Rule,
  type Tally,
} from '../../domain/round.js';
import type { Ctx } from '../../services/context.js';
import { userName } from '../../services/accounts/users.js';
import { findConsolidation } from '../../services/consolidations/consolidations.js';
import { roundMakesPublishable } from '../../services/consolidations/publish.js';
import { findProposal } from '../../services/proposals/access.js';
import { documentTitle } from '../../services/readDocuments.js';
import { ballotRecord, receiptOf, roundOfVersion } from '../../services/rounds/decision.js';
import { currentTally, electorateRoll } from '../../services/rounds/rounds.js';
import { getRoundSettings } from '../../services/settings/roundSettings.js';
import { stakeholderName } from '../../services/stakeholders.js';
import type { RoundRecord, VersionRecord } from '../../store/meta/schema.js';
import { dayLabel, utcLabel } from '../render/time.js';
import { ballotsJson, roundJsonKey, roundSummary } from './rounds.js';
import { tallyView } from './tallyView.js';

/**
 * View data for the round pages and for the public decision records: records in, flat values
 * out (names instead of ids, plain-words rules). Views see only what these return. The tally
 * bar is in tallyView.ts, the consolidation pages' data in consolidationView.ts.
 */

const nameOf = (ctx: Ctx, id: number | null) => (id === null ? '' : userName(ctx, id));

// ── Rules, quorum, results in plain words ─────────────────────────────────────

export const RULE_NAMES: Record<Rule, string> = {
  consensus: 'Consensus (silence procedure)',
  majority: 'Simple majority',
  'two-thirds': 'Two-thirds majority',
};

export const RULE_TEXTS: Record<Rule, string> = {
  consensus: 'Passes if the quorum is met and nobody objects. Abstaining does not block.',
  majority:
    'Passes if the quorum is met and more members approve than object. Abstentions count only towards the quorum.',
  'two-thirds':
    'Passes if the quorum is met, at least one member approves, and approvals are at least two thirds of approvals and objections together. Abstentions count only towards the quorum.',
};

export const ruleOptions = () => RULES.map((value) => ({ value, name: RULE_NAMES[value], text: RULE_TEXTS[value] }));

const RESULT_LABELS = { passed: 'passed', failed: 'failed', 'no-quorum': 'no quorum' } as const;
export const resultLabel = (r: RoundRecord['result']) => (r ? RESULT_LABELS[r] : '');

/** "50%", "66.67%": the quorum held in ten-thousandths, written exactly. */
export function percentLabel(bp: number): string {
  const whole = Math.floor(bp / 100);
  const frac = bp % 100;
  return frac ? `${whole}.${String(frac).padStart(2, '0').replace(/0$/, '')}%` : `${whole}%`;
}

/** The quorum of the electors who may vote (the electorate without those recused). */
export function quorumView(quorumBp: number, electorate: number, recused = 0) {
  const needed = ballotsNeeded(quorumBp, electorate);
  return {
    percent: percentLabel(quorumBp),
    needed,
    electorate,
    text: `${percentLabel(quorumBp)} of the electorate: at least ${needed} of ${electorate} member${electorate === 1 ? '' : 's'} must vote${recused ? ` (${recused} recused, not counted)` : ''}`,
  };
}

// ── Rounds ────────────────────────────────────────────────────────────────────

/** What a round is about: the proposal or consolidation, with a title (if the viewer may see it) and a link. */
export function roundSubject(ctx: Ctx, actor: Actor | null, r: RoundRecord) {
  if (r.subject.type === 'proposal') {
    const p = findProposal(ctx, actor, r.subject.id);
    return {
      type: 'proposal' as const,
      id: r.subject.id,
      label: `Proposal ${r.subject.id}`,
      title: p?.title ?? '',
      href: `/proposals/${r.subject.id}`,
    };
  }
  const c = findConsolidation(ctx, actor, r.subject.id);
  return {
    type: 'consolidation' as const,
    id: r.subject.id,
    label: `Consolidation ${r.subject.id}`,
    title: c?.summary ?? '',
    href: `/consolidations/${r.subject.id}`,
  };
}

/** "in 3 days", "in 5 hours", "in 12 minutes" — how long until the deadline. */
export function remainingLabel(closesAt: string, now: Date): string {
  const ms = Date.parse(closesAt) - now.getTime();
  if (ms <= 0) return 'now'; // the sweep closes it within a second
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  if (ms >= 2 * 86_400_000) return `in ${plural(Math.floor(ms / 86_400_000), 'day')}`;
  if (ms >= 2 * 3_600_000) return `in ${plural(Math.floor(ms / 3_600_000), 'hour')}`;
  return `in ${plural(Math.max(1, Math.ceil(ms / 60_000)), 'minute')}`;
}

/** One line in the list of rounds. */
export function roundItem(ctx: Ctx, actor: Actor | null, r: RoundRecord) {
  const t = currentTally(ctx, r);
  const mine = actor ? ballotRecord(ctx, r).filter((b) => b.voterId === actor.id && b.counted)[0] : undefined;
  return {
    id: r.id,
    subject: roundSubject(ctx, actor, r),
    document: { slug: r.document, title: documentTitle(ctx, r.document) },
    state: r.state,
    result: r.result,
    resultLabel: resultLabel(r.result),
    rule: RULE_NAMES[r.rule],
    closesAt: r.closesAt,
    closedAt: r.closedAt,
    remaining: remainingLabel(r.closesAt, ctx.clock()),
    eligible: !!actor && r.electorate.includes(actor.id),
    myPosition: mine?.position ?? null,
    tally: tallyView(t),
  };
}

/**
 * Every cast of a round as the viewer may see it: positions, reasons, receipts, counted or
 * replaced; names and who recorded it only where the record names the voter (see `voterShown`).
 */
/**
 * The keys of a round page's kept pieces (render/fragments.ts) for `actor`: what the text under
 * vote changes and the text itself are the same for every reader; the ballots table shows names
 * to officers (and to everyone on a named record) and marks the reader's own ballots
 * (`ballotRows`), so its key holds the officer flag and, for a voter, who they are.
 */
export const roundPieceKeys = (r: RoundRecord, actor: Actor | null, source: boolean) => ({
  changes: `round ${r.id} changes ${+source}`,
  text: `round ${r.id} text`,
  ballots: `${roundJsonKey(r, actor)} ballots`,
});

export function ballotRows(ctx: Ctx, r: RoundRecord, actor: Actor | null) {
  const officer = isOfficer(actor);
  return ballotRecord(ctx, r).map((b) => {
    const mine = !!actor && b.voterId === actor.id;
    const shown = voterShown(r.record ?? 'named', officer, !!b.named) || mine;
    return {
      id: b.id,
      receipt: b.receipt,
      voter: shown ? nameOf(ctx, b.voterId) : null,
      named: !!b.named,
      mine,
      position: b.position,
      reason: b.reason,
      castAt: b.castAt,
      counted: b.counted,
      notCounted: b.notCounted,
      recorded: b.recordedBy !== null,
      recordedBy: b.recordedBy && shown ? nameOf(ctx, b.recordedBy) : null,
      note: b.recordedBy && shown ? (b.note ?? '') : '',
    };
  });
}

const RECORD_TEXTS = {
  named: 'Named: the record names every voter with their position and reason.',
  unnamed:
    'Unnamed: the record gives every position and reason by receipt, without names, except for members who ask to be named. Each voter gets a receipt to check that their ballot was counted as cast.',
} as const;

/** What every view of a round shows alike: its record, conditions, recusals and the tally per stakeholder group. */
export function roundFacts(ctx: Ctx, r: RoundRecord, t: Tally) {
  const cond = r.conditions ?? NO_CONDITIONS;
  const conditions = [
    ...(cond.eachGroupTakesPart ? ['Every stakeholder group in the electorate must cast at least one ballot.'] : []),
    ...(cond.ruleWithinEachGroup
      ? ['The rule must also hold within each stakeholder group, counting that group’s ballots.']
      : []),
  ];
  return {
    record: r.record ?? 'named',
    recordText: RECORD_TEXTS[r.record ?? 'named'],
    conditions,
    failedCondition: r.failedCondition
      ? conditionWords(r.failedCondition, stakeholderName(ctx, r.failedCondition.group))
      : null,
    recusals: (r.recusals ?? []).map((x) => ({
      voter: nameOf(ctx, x.voterId),
      reason: x.reason,
      at: x.at,
      recordedBy: x.recordedBy !== null ? nameOf(ctx, x.recordedBy) : null,
      note: x.note ?? '',
    })),
    groups: Object.entries(t.groups).map(([slug, g]) => ({
      slug,
      name: stakeholderName(ctx, slug),
      ...g,
      tally: tallyView(g),
    })),
    recused: t.recused,
  };
}

/** The round page: the facts, the tally, the viewer's ballot and what they may do. */
export function roundView(ctx: Ctx, actor: Actor | null, r: RoundRecord) {
  const t = currentTally(ctx, r);
  const ballots = ballotRows(ctx, r, actor);
  const counted = new Map(
    ballotRecord(ctx, r)
      .filter((b) => b.counted)
      .map((b) => [b.voterId, b]),
  );
  const open = r.state === 'open';
  const eligible = !!actor && r.electorate.includes(actor.id);
  const manage = can(actor, 'round.manage');
  const mine = actor ? counted.get(actor.id) : undefined;
  const myRecusal = actor ? (r.recusals ?? []).find((x) => x.voterId === actor.id) : undefined;
  const q = quorumView(r.quorumBp, r.electorate.length - t.recused, t.recused);
  const records = recorder(ctx, actor);
  // Who voted what, by name: only the chair and secretariat see it (who has not voted; the
  // recording form), so it is not made for every other reader (at 200 members, making and
  // sorting it was the largest allocation of a member's view of the page, by heap sampling).
  const electorate =
    manage || records
      ? electorateRoll(ctx, actor, r)
          .map(({ id, name, email }) => {
            const recused = (r.recusals ?? []).some((x) => x.voterId === id);
            return { id, name, email, position: recused ? null : (counted.get(id)?.position ?? null), recused };
          })
          .sort((a, b) => a.name.localeCompare(b.name))
      : [];
  return {
    id: r.id,
    subject: roundSubject(ctx, actor, r),
    document: { slug: r.document, title: documentTitle(ctx, r.document) },
    commit: r.commit,
    revision: r.revision,
    rule: r.rule,
    ruleName: RULE_NAMES[r.rule],
    ruleText: RULE_TEXTS[r.rule],
    quorum: q,
    quorumMet: t.approve + t.object + t.abstain >= q.needed,
    closesAt: r.closesAt,
    remaining: remainingLabel(r.closesAt, ctx.clock()),
    openedAt: r.openedAt,
    openedBy: nameOf(ctx, r.openedBy),
    state: r.state,
    result: r.result,
    resultLabel: resultLabel(r.result),
    closedAt: r.closedAt,
    closedBy: r.closedBy === null ? null : nameOf(ctx, r.closedBy),
    cancelReason: r.cancelReason,
    tally: tallyView(t),
    ...roundFacts(ctx, r, t),
    ballots,
    eligible,
    receipt: actor && eligible ? receiptOf(r, actor.id) : null,
    myRecusal: myRecusal ? { reason: myRecusal.reason, at: myRecusal.at } : null,
    myBallot: mine
      ? {
          position: mine.position,
          reason: mine.reason,
          castAt: mine.castAt,
          named: !!mine.named,
          recordedBy: mine.recordedBy ? nameOf(ctx, mine.recordedBy) : null,
        }
      : null,
    notVoted: manage ? electorate.filter((e) => !e.position && !e.recused).map((e) => e.name) : [],
    electorate: records ? electorate : [],
    /** The chair's next step: a passed round on a consolidation's current, still open text. */
    publishable: manage && roundMakesPublishable(ctx, r),
    may: {
      vote: open && eligible && !myRecusal,
      recuse: open && eligible,
      manage: open && manage,
      record: open && records,
    },
  };
}

/** Whether the viewer may record ballots and recusals on members' behalf (the secretariat; the chair if the settings say so). */
const recorder = (ctx: Ctx, actor: Actor | null) =>
  can(actor, 'ballot.record', { kind: 'proxy', chairMayRecord: getRoundSettings(ctx).chairMayRecord });

// ── Decision records (public) ─────────────────────────────────────────────────

/**
 * A published version's decision record for the public pages: rule, quorum, electorate,
 * result, tally and (with `ballots`) every cast with its reason — voter names, never e-mails.
 */
export function decisionView(ctx: Ctx, v: VersionRecord, withBallots = false, viewer: Actor | null = null) {
  const r = roundOfVersion(ctx, v);
  if (!r?.tally || !r.result) return null;
  const s = roundSummary(ctx, r);
  const t = s.tally!;
  const q = quorumView(r.quorumBp, s.electorate - t.recused, t.recused);
  const closed = s.closedAt ?? v.publishedAt;
  return {
    round: s.id,
    rule: s.rule,
    ruleName: RULE_NAMES[s.rule],
    ruleText: RULE_TEXTS[s.rule],
    quorum: q,
    electorate: s.electorate,
    result: s.result!,
    resultLabel: resultLabel(s.result),
    closedAt: closed,
    tally: tallyView(t),
    ...roundFacts(ctx, r, t),
    line: `Approved in round ${s.id}, closed ${dayLabel(closed)}: ${resultLabel(s.result)} under the ${RULE_NAMES[s.rule].toLowerCase()} rule, quorum ${q.percent} — ${t.approve} approve, ${t.object} object, ${t.abstain} abstain, ${t.notVoted} did not vote${t.recused ? `, ${t.recused} recused` : ''}`,
    closedLabel: utcLabel(closed),
    ballots: withBallots ? ballotsJson(ctx, r, viewer) : [],
  };
}

export type DecisionView = NonNullable<ReturnType<typeof decisionView>>;
