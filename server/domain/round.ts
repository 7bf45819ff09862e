import { invalid } from './errors.js';
import { MAX_BALLOT_REASON } from './limits.js';

/**
 * Approval rounds, as pure rules (PRODUCT.md rules 2–4). The quorum is held as a whole number
 * of ten-thousandths, so every comparison is exact integer arithmetic.
 */
export const RULES = ['consensus', 'majority', 'two-thirds'] as const;
export type Rule = (typeof RULES)[number];
export type Position = 'approve' | 'object' | 'abstain';
export type Result = 'passed' | 'failed' | 'no-quorum';

/** Counts of one stakeholder group's electors. */
export interface GroupTally {
  approve: number;
  object: number;
  abstain: number;
  notVoted: number;
  recused: number;
}

/**
 * A round's counts: the counted ballots, the electors who have not voted and those who are
 * recused (out of the electorate for the quorum and the rule), overall and per stakeholder group.
 */
export interface Tally extends GroupTally {
  groups: Record<string, GroupTally>;
}

/** How the record names voters: `unnamed` publishes positions by receipt, naming only those who ask. */
export const RECORDS = ['named', 'unnamed'] as const;
export type RecordKind = (typeof RECORDS)[number];

/** Conditions a round may add to its rule, per stakeholder group. */
export interface Conditions {
  /** Every stakeholder group present in the electorate casts at least one counted ballot. */
  eachGroupTakesPart: boolean;
  /** The round's rule holds within each group too, counting that group's ballots. */
  ruleWithinEachGroup: boolean;
}
export const NO_CONDITIONS: Readonly<Conditions> = Object.freeze({
  eachGroupTakesPart: false,
  ruleWithinEachGroup: false,
});

export type ConditionKind = keyof Conditions;
export interface FailedCondition {
  kind: ConditionKind;
  group: string;
}

export interface Cast {
  voterId: number;
  position: Position;
  castAt: string;
}

/** A fraction 0–1 with at most four decimals → ten-thousandths (0.5 → 5000). */
export function quorumToBp(q: unknown): number {
  if (typeof q !== 'number' || !Number.isFinite(q) || q < 0 || q > 1)
    throw invalid('invalid_quorum', 'The quorum is a fraction of the electorate from 0 to 1 (for example 0.5).');
  const bp = Math.round(q * 10000);
  if (Math.abs(q * 10000 - bp) > 1e-6)
    throw invalid('invalid_quorum', 'Give the quorum with at most four decimals (for example 0.6667).');
  return bp;
}

export const bpToQuorum = (bp: number) => bp / 10000;

/** ⌈quorum × E⌉ in integers. */
export const ballotsNeeded = (quorumBp: number, electorate: number) => Math.ceil((quorumBp * electorate) / 10000);
// (quorumBp * electorate) stays far below 2^53 for any real electorate; Math.ceil of an exact
// integer quotient is exact, and of a non-integer quotient rounds up as required.

/** Rule 2: an objection needs a reason; a reason is at most 5,000 characters. */
export function checkPosition(
  position: Position,
  reason: string | null | undefined,
): { position: Position; reason: string } {
  const r = reason?.trim() ?? '';
  if (r.length > MAX_BALLOT_REASON) throw invalid('invalid_reason', 'A reason may have at most 5000 characters.');
  if (position === 'object' && !r) throw invalid('reason_required', 'An objection needs a reason.');
  return { position, reason: r };
}

/** The counted ballot of each voter is their latest cast; only the electorate counts. */
export function countedBallots<T extends Cast>(casts: readonly T[], electorate: readonly number[]): Map<number, T> {
  const eligible = new Set(electorate);
  const counted = new Map<number, T>();
  for (const c of casts) if (eligible.has(c.voterId)) counted.set(c.voterId, c);
  return counted;
}

/** Who votes in a round and in which stakeholder group, and who has stood aside. */
export interface Electorate {
  /** The members when the round opened. */
  ids: readonly number[];
  /** Each elector's stakeholder group when the round opened (absent: none). */
  groupOf?: Readonly<Record<number, string>>;
  /** Electors who have recused themselves (out of the electorate for the quorum and the rule). */
  recused?: readonly number[];
}

const emptyCounts = (): GroupTally => ({ approve: 0, object: 0, abstain: 0, notVoted: 0, recused: 0 });

/**
 * The counts: each elector's latest ballot counts unless they are recused; an elector is
 * either recused, counted by position, or has not voted. Groups are those present in the electorate.
 */
export function tally(casts: readonly Cast[], e: Electorate | readonly number[]): Tally {
  const el: Electorate = Array.isArray(e) ? { ids: e as readonly number[] } : (e as Electorate);
  const counted = countedBallots(casts, votingElectors(el));
  const recused = new Set(el.recused ?? []);
  const t: Tally = { ...emptyCounts(), groups: {} };
  for (const id of el.ids) {
    const slug = el.groupOf?.[id];
    const g = slug ? (t.groups[slug] ??= emptyCounts()) : null;
    const c = counted.get(id);
    const key: keyof GroupTally = recused.has(id) ? 'recused' : c ? c.position : 'notVoted';
    t[key]++;
    if (g) g[key]++;
  }
  t.groups = Object.fromEntries(Object.entries(t.groups).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return t;
}

/** The electors who may vote: the electorate without the recused. */
export const votingElectors = (e: Electorate): number[] => {
  const recused = new Set(e.recused ?? []);
  return e.ids.filter((id) => !recused.has(id));
};

/** Whether the rule holds on these counts (no quorum involved). */
function ruleHolds(rule: Rule, t: Pick<GroupTally, 'approve' | 'object'>): boolean {
  switch (rule) {
    case 'consensus':
      return t.object === 0;
    case 'majority':
      return t.approve > t.object;
    case 'two-thirds':
      return t.approve >= 1 && 3 * t.approve >= 2 * (t.approve + t.object);
  }
}

/** Rule 3: quorum first (of the electors who are not recused), then the rule. */
export function result(
  rule: Rule,
  quorumBp: number,
  electorate: number,
  t: Pick<GroupTally, 'approve' | 'object' | 'abstain'>,
): Result {
  const cast = t.approve + t.object + t.abstain;
  if (cast < ballotsNeeded(quorumBp, electorate)) return 'no-quorum';
  return ruleHolds(rule, t) ? 'passed' : 'failed';
}

export interface Decision {
  tally: Tally;
  result: Result;
  /** When the rule held overall but a condition of the round did not. */
  failedCondition: FailedCondition | null;
}

/**
 * The whole decision of a round: the quorum (of the electors not recused), the rule, then the
 * round's conditions in order (each group takes part, then the rule within each group), group
 * by group in slug order; members without a stakeholder group count in the overall rule only.
 */
export function decide(
  round: { rule: Rule; quorumBp: number; conditions?: Conditions },
  casts: readonly Cast[],
  e: Electorate,
): Decision {
  const t = tally(casts, e);
  const voting = t.approve + t.object + t.abstain + t.notVoted;
  // Everyone in the electorate stood aside: nobody was left to decide, whatever the rule.
  const overall = voting === 0 && t.recused > 0 ? 'no-quorum' : result(round.rule, round.quorumBp, voting, t);
  if (overall !== 'passed') return { tally: t, result: overall, failedCondition: null };
  const cond = round.conditions ?? NO_CONDITIONS;
  const groups = Object.entries(t.groups).filter(([, g]) => g.approve + g.object + g.abstain + g.notVoted > 0);
  if (cond.eachGroupTakesPart) {
    for (const [group, g] of groups)
      if (g.approve + g.object + g.abstain === 0)
        return { tally: t, result: 'failed', failedCondition: { kind: 'eachGroupTakesPart', group } };
  }
  if (cond.ruleWithinEachGroup) {
    for (const [group, g] of groups)
      if (!ruleHolds(round.rule, g))
        return { tally: t, result: 'failed', failedCondition: { kind: 'ruleWithinEachGroup', group } };
  }
  return { tally: t, result: 'passed', failedCondition: null };
}

/** Rule 4: the chair may close early only once every eligible (not recused) member has voted. */
export const everyoneVoted = (t: Pick<Tally, 'notVoted'>) => t.notVoted === 0;

/** A tally stored before recusals and groups existed, read as today's shape. */
export const fullTally = (t: Partial<Tally> & Omit<GroupTally, 'recused'>): Tally => ({
  approve: t.approve,
  object: t.object,
  abstain: t.abstain,
  notVoted: t.notVoted,
  recused: t.recused ?? 0,
  groups: t.groups ?? {},
});

// ── The round lifecycle: one home for each rule, used by services, presenters and pages ──

export type RoundState = 'open' | 'closed' | 'cancelled';

/** What the lifecycle rules need to know of a round. */
export interface RoundFacts {
  id: number;
  state: RoundState;
  result?: Result | null;
  /** The exact revision (commit) the round is about. */
  commit: string;
  closesAt: string;
}

/** An open round whose deadline has come: it closes now, as of its deadline. */
export const isDue = (r: RoundFacts, now: Date) => r.state === 'open' && Date.parse(r.closesAt) <= now.getTime();

/** An open round that is not due yet, but whose reminder to non-voters is due (once). */
export const isReminderDue = (r: RoundFacts & { remindedAt?: string | null }, now: Date, reminderHours: number) =>
  r.state === 'open' &&
  !r.remindedAt &&
  !isDue(r, now) &&
  Date.parse(r.closesAt) - reminderHours * 3_600_000 <= now.getTime();

/** The latest round that decided something (a cancelled round decides nothing; an open one has not yet). */
export const latestDecided = <R extends RoundFacts>(rounds: readonly R[]): R | undefined =>
  rounds.filter((r) => r.state === 'closed').reduce<R | undefined>((a, r) => (!a || r.id > a.id ? r : a), undefined);

export type Publishability =
  | { ok: true; round: number }
  | { ok: false; code: 'not_open' | 'stale' | 'round_open' | 'not_approved' | 'text_changed'; round: number | null };

/**
 * Whether a consolidation may be published (PRODUCT.md rule 5): it is open, not stale, no
 * round is open on it, and the latest decided round on it passed on its current revision.
 */
export function publishability(
  c: { state: string; head: string },
  stale: boolean,
  rounds: readonly RoundFacts[],
): Publishability {
  if (c.state !== 'open') return { ok: false, code: 'not_open', round: null };
  if (stale) return { ok: false, code: 'stale', round: null };
  const open = rounds.find((r) => r.state === 'open');
  if (open) return { ok: false, code: 'round_open', round: open.id };
  const decided = latestDecided(rounds);
  if (decided?.result !== 'passed') return { ok: false, code: 'not_approved', round: decided?.id ?? null };
  if (decided.commit !== c.head) return { ok: false, code: 'text_changed', round: decided.id };
  return { ok: true, round: decided.id };
}

/**
 * Whether a ballot may be recorded on a member's behalf (a vote given at a meeting or by
 * other means): never over a ballot the member cast themselves in this round.
 */
export const mayRecordFor = (castsOfVoter: readonly { recordedBy: number | null }[]) =>
  castsOfVoter.every((c) => c.recordedBy !== null);

/**
 * Whether a ballot of this voter is seen with their name: in a named round always; in an
 * unnamed one only by the chair and the secretariat, or when the voter asked to be named.
 */
export const voterShown = (record: RecordKind, viewerIsOfficer: boolean, named: boolean) =>
  record === 'named' || viewerIsOfficer || named;

/** A failed condition in words, for pages and mail ("the Civil society group cast no ballot"). */
export function conditionWords(f: FailedCondition, groupName: string): string {
  return f.kind === 'eachGroupTakesPart'
    ? `the ${groupName} group cast no ballot (every stakeholder group must take part)`
    : `the rule did not hold within the ${groupName} group`;
}

/**
 * The deadline rule (one home for it): an ISO 8601 instant with its zone — a deadline must not
 * depend on the server's time zone — in the future, and later than `after` when extending.
 * The problem, or null when it holds.
 */
const DEADLINE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
export function deadlineProblem(
  closesAt: string,
  now: Date,
  after?: string,
): { code: 'invalid_deadline'; message: string } | null {
  const t = DEADLINE.test(closesAt) ? Date.parse(closesAt) : Number.NaN;
  const problem = (message: string) => ({ code: 'invalid_deadline' as const, message });
  if (!Number.isFinite(t))
    return problem('Give the deadline as an ISO 8601 date and time with its zone, e.g. 2027-03-01T17:00:00Z.');
  if (t <= now.getTime()) return problem('The deadline must be in the future.');
  if (after && t <= Date.parse(after)) return problem('A deadline can only be extended to a later moment.');
  return null;
}
