import type { Actor } from '../../domain/actor.js';
import type { Change, DiffBlock } from '../../domain/diff.js';
import type { ConflictBlock } from '../../domain/merge.js';
import { can } from '../../domain/policy.js';
import { ballotsNeeded, RULES, type Rule, type Tally } from '../../domain/round.js';
import type { Ctx } from '../../services/context.js';
import { consolidationSubject, isStale } from '../../services/consolidations/consolidations.js';
import { ballotRecord } from '../../services/rounds/decision.js';
import { currentTally, latestRoundOn } from '../../services/rounds/rounds.js';
import type { ConsolidationRecord, RoundRecord, VersionRecord } from '../../store/meta/schema.js';
import { dayLabel, utcLabel } from '../render/time.js';
import { ballotsJson, roundSummary } from './rounds.js';

/**
 * View data for the consolidation and round pages and for the public decision records:
 * records in, flat values out (names instead of ids, plain-words rules, tally bar widths as
 * class names because the CSP forbids inline styles). Views see only what these return.
 */

const nameOf = (ctx: Ctx, id: number | null) => (id === null ? '' : (ctx.meta.get('users', id)?.name ?? `user ${id}`));

// ── Rules, quorum, results in plain words ─────────────────────────────────────

export const RULE_NAMES: Record<Rule, string> = {
  consensus: 'Consensus (silence procedure)',
  majority: 'Simple majority',
  'two-thirds': 'Two-thirds majority',
};

export const RULE_TEXTS: Record<Rule, string> = {
  consensus: 'Passes if the quorum is met and nobody objects. Abstaining does not block.',
  majority: 'Passes if the quorum is met and more members approve than object. Abstentions count only towards the quorum.',
  'two-thirds': 'Passes if the quorum is met, at least one member approves, and approvals are at least two thirds of approvals and objections together. Abstentions count only towards the quorum.',
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

export function quorumView(quorumBp: number, electorate: number) {
  const needed = ballotsNeeded(quorumBp, electorate);
  return {
    percent: percentLabel(quorumBp),
    needed,
    electorate,
    text: `${percentLabel(quorumBp)} of the electorate: at least ${needed} of ${electorate} member${electorate === 1 ? '' : 's'} must vote`,
  };
}

// ── The tally bar ─────────────────────────────────────────────────────────────

export type TallyKey = 'approve' | 'object' | 'abstain' | 'notVoted';
const TALLY_LABELS: Record<TallyKey, string> = { approve: 'Approve', object: 'Object', abstain: 'Abstain', notVoted: 'Not voted' };
const KEYS: TallyKey[] = ['approve', 'object', 'abstain', 'notVoted'];

/**
 * Segment widths in steps of 5% (width classes `.w-0` … `.w-100`): largest remainders, so
 * they add up to 100, and every non-zero count keeps at least one step so it stays visible.
 */
export function tallyWidths(counts: number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return counts.map(() => 0);
  const exact = counts.map((n) => (n * 20) / total);
  const units = exact.map(Math.floor);
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (let k = 0, left = 20 - units.reduce((a, b) => a + b, 0); left > 0; k++, left--) units[order[k % order.length].i]++;
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] > 0 && units[i] === 0) {
      const donor = units.indexOf(Math.max(...units));
      units[donor]--;
      units[i]++;
    }
  }
  return units.map((u) => u * 5);
}

export interface TallyView {
  segments: { key: TallyKey; cls: string; label: string; n: number; width: number }[];
  electorate: number;
  cast: number;
  /** The whole tally as one sentence (the bar's text alternative, and the printed line). */
  text: string;
}

export function tallyView(t: Tally): TallyView {
  const counts = KEYS.map((k) => t[k]);
  const widths = tallyWidths(counts);
  const segments = KEYS.map((key, i) => ({ key, cls: key === 'notVoted' ? 'not-voted' : key, label: TALLY_LABELS[key], n: counts[i], width: widths[i] }));
  const electorate = counts.reduce((a, b) => a + b, 0);
  return {
    segments,
    electorate,
    cast: t.approve + t.object + t.abstain,
    text: `${t.approve} approve, ${t.object} object, ${t.abstain} abstain, ${t.notVoted} did not vote (of ${electorate})`,
  };
}

// ── Rounds ────────────────────────────────────────────────────────────────────

/** What a round is about: the proposal or consolidation, with a title and a link. */
export function roundSubject(ctx: Ctx, r: RoundRecord) {
  if (r.subject.type === 'proposal') {
    const p = ctx.meta.get('proposals', r.subject.id);
    return { type: 'proposal' as const, id: r.subject.id, label: `Proposal ${r.subject.id}`, title: p?.title ?? '', href: `/proposals/${r.subject.id}` };
  }
  const c = ctx.meta.get('consolidations', r.subject.id);
  return { type: 'consolidation' as const, id: r.subject.id, label: `Consolidation ${r.subject.id}`, title: c?.summary ?? '', href: `/consolidations/${r.subject.id}` };
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
  const doc = ctx.meta.get('documents', r.document);
  return {
    id: r.id,
    subject: roundSubject(ctx, r),
    document: { slug: r.document, title: doc?.title ?? r.document },
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

/** Every cast of a round for members: names, positions, reasons, counted or replaced, by whom recorded. */
export function ballotRows(ctx: Ctx, r: RoundRecord, actor: Actor | null) {
  return ballotRecord(ctx, r).map((b) => ({
    id: b.id,
    voter: nameOf(ctx, b.voterId),
    mine: !!actor && b.voterId === actor.id,
    position: b.position,
    reason: b.reason,
    castAt: b.castAt,
    counted: b.counted,
    recordedBy: b.recordedBy ? nameOf(ctx, b.recordedBy) : null,
  }));
}

/** The round page: the facts, the tally, the viewer's ballot and what they may do. */
export function roundView(ctx: Ctx, actor: Actor | null, r: RoundRecord) {
  const t = currentTally(ctx, r);
  const ballots = ballotRows(ctx, r, actor);
  const counted = new Map(ballotRecord(ctx, r).filter((b) => b.counted).map((b) => [b.voterId, b]));
  const open = r.state === 'open';
  const eligible = !!actor && r.electorate.includes(actor.id);
  const manage = can(actor, 'round.manage');
  const mine = actor ? counted.get(actor.id) : undefined;
  const q = quorumView(r.quorumBp, r.electorate.length);
  const electorate = r.electorate
    .map((id) => {
      const u = ctx.meta.get('users', id);
      return { id, name: u?.name ?? `user ${id}`, email: u?.email ?? '', position: counted.get(id)?.position ?? null };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  return {
    id: r.id,
    subject: roundSubject(ctx, r),
    document: { slug: r.document, title: ctx.meta.get('documents', r.document)?.title ?? r.document },
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
    ballots,
    eligible,
    myBallot: mine ? { position: mine.position, reason: mine.reason, castAt: mine.castAt, recordedBy: mine.recordedBy ? nameOf(ctx, mine.recordedBy) : null } : null,
    notVoted: manage ? electorate.filter((e) => !e.position).map((e) => e.name) : [],
    electorate: can(actor, 'ballot.record') ? electorate : [],
    /** The chair's next step: a passed round on a consolidation's current, still open text. */
    publishable: manage && r.state === 'closed' && r.result === 'passed' && r.subject.type === 'consolidation' && publishableConsolidation(ctx, r),
    may: {
      vote: open && eligible,
      manage: open && manage,
      record: open && can(actor, 'ballot.record'),
    },
  };
}

// ── Consolidations ────────────────────────────────────────────────────────────

/** Whether the round is the passed latest round on its consolidation's current head, not yet published. */
function publishableConsolidation(ctx: Ctx, r: RoundRecord): boolean {
  const c = ctx.meta.get('consolidations', r.subject.id);
  if (!c || c.state !== 'open' || c.head !== r.commit || isStale(ctx, c)) return false;
  return latestRoundOn(ctx, { type: 'consolidation', id: c.id })?.id === r.id;
}

interface Fragment {
  op: 'insert' | 'delete';
  text: string;
}

const fragments = (parts: Change[]): Fragment[] =>
  parts.filter((c) => c.op !== 'equal').map((c) => ({ op: c.op as Fragment['op'], text: c.text.trim().replace(/\s+/g, ' ') })).filter((f) => f.text);

/** Two changed passages match when one holds the other (short ones must be equal: "a" is in everything). */
const matches = (a: Fragment, b: Fragment) => {
  if (a.op !== b.op) return false;
  const [short, long] = a.text.length <= b.text.length ? [a.text, b.text] : [b.text, a.text];
  return short === long || (short.length >= 4 && long.includes(short));
};

/**
 * A simple attribution: a changed block of the consolidation's diff came from each proposal
 * whose own diff (base → head) deleted or inserted a matching passage. An empty list means no
 * proposal made that change (an editorial edit, or a conflict marker).
 */
export function attributeBlocks(blocks: DiffBlock[], proposals: { id: number; changes: Change[] }[]): number[][] {
  const theirs = proposals.map((p) => ({ id: p.id, frags: fragments(p.changes) }));
  return blocks.map((b) => {
    if (b.kind !== 'changed') return [];
    const mine = fragments(b.parts);
    return theirs.filter((p) => mine.some((f) => p.frags.some((g) => matches(f, g)))).map((p) => p.id);
  });
}

/** What the viewer may do to a consolidation now. */
export function consolidationActions(ctx: Ctx, actor: Actor | null, c: ConsolidationRecord, conflicts: number) {
  const subject = consolidationSubject(ctx, c);
  const manage = can(actor, 'consolidation.manage', subject);
  const stale = isStale(ctx, c);
  const open = c.state === 'open';
  const latest = latestRoundOn(ctx, { type: 'consolidation', id: c.id });
  const approved = !!latest && latest.state === 'closed' && latest.result === 'passed' && latest.commit === c.head;
  return {
    manage,
    edit: manage && open && c.openRound === null,
    openRound: manage && open && !stale && c.openRound === null && conflicts === 0,
    abandon: manage && open && c.openRound === null,
    rebuild: manage && stale && c.state !== 'published',
    publish: manage && open && !stale && approved,
    comment: can(actor, 'comment.create', subject) && c.state !== 'abandoned',
    resolve: can(actor, 'comment.resolve', subject),
  };
}

/** The facts at the top of the consolidation page. */
export function consolidationView(ctx: Ctx, actor: Actor | null, c: ConsolidationRecord, conflicts: ConflictBlock[]) {
  const doc = ctx.meta.get('documents', c.document);
  const proposal = (id: number) => {
    const p = ctx.meta.get('proposals', id);
    return { id, title: p?.title ?? `Proposal ${id}`, state: p?.state ?? '', href: `/proposals/${id}` };
  };
  const rounds = ctx.meta
    .all('rounds')
    .filter((r) => r.subject.type === 'consolidation' && r.subject.id === c.id)
    .sort((a, b) => b.id - a.id)
    .map((r) => ({ id: r.id, state: r.state, result: r.result, resultLabel: resultLabel(r.result), closesAt: r.closesAt, closedAt: r.closedAt, revision: r.revision, onHead: r.commit === c.head, tally: tallyView(currentTally(ctx, r)), cancelReason: r.cancelReason }));
  return {
    id: c.id,
    document: { slug: c.document, title: doc?.title ?? c.document, latest: doc?.latest ?? 0 },
    state: c.state,
    // A published consolidation is the version it became, not a stale candidate.
    stale: c.state !== 'published' && isStale(ctx, c),
    summary: c.summary,
    createdBy: nameOf(ctx, c.createdBy),
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    baseVersion: c.baseVersion,
    revisions: c.revisions,
    head: c.head,
    publishedVersion: c.publishedVersion,
    openRound: c.openRound,
    proposals: c.proposals.map(proposal),
    conflicts: conflicts.map((k, i) => ({ n: i + 1, proposals: k.proposals.map(proposal), text: k.text })),
    rounds,
    may: consolidationActions(ctx, actor, c, conflicts.length),
  };
}

// ── Decision records (public) ─────────────────────────────────────────────────

/**
 * A published version's decision record for the public pages: rule, quorum, electorate,
 * result, tally and (with `ballots`) every cast with its reason — voter names, never e-mails.
 */
export function decisionView(ctx: Ctx, v: VersionRecord, withBallots = false) {
  const r = v.round ? ctx.meta.get('rounds', v.round) : undefined;
  if (!r || !r.tally || !r.result) return null;
  const s = roundSummary(r);
  const q = quorumView(r.quorumBp, s.electorate);
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
    tally: tallyView(s.tally!),
    line: `Approved in round ${s.id}, closed ${dayLabel(closed)}: ${resultLabel(s.result)} under the ${RULE_NAMES[s.rule].toLowerCase()} rule, quorum ${q.percent} — ${s.tally!.approve} approve, ${s.tally!.object} object, ${s.tally!.abstain} abstain, ${s.tally!.notVoted} did not vote`,
    closedLabel: utcLabel(closed),
    ballots: withBallots ? ballotsJson(ctx, r) : [],
  };
}

export type DecisionView = NonNullable<ReturnType<typeof decisionView>>;
