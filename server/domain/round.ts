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

export interface Tally {
  approve: number;
  object: number;
  abstain: number;
  notVoted: number;
}

export interface Cast {
  voterId: number;
  position: Position;
  castAt: string;
}

/** A fraction 0–1 with at most four decimals → ten-thousandths (0.5 → 5000). */
export function quorumToBp(q: unknown): number {
  if (typeof q !== 'number' || !Number.isFinite(q) || q < 0 || q > 1) throw invalid('invalid_quorum', 'The quorum is a fraction of the electorate from 0 to 1 (for example 0.5).');
  const bp = Math.round(q * 10000);
  if (Math.abs(q * 10000 - bp) > 1e-6) throw invalid('invalid_quorum', 'Give the quorum with at most four decimals (for example 0.6667).');
  return bp;
}

export const bpToQuorum = (bp: number) => bp / 10000;

/** ⌈quorum × E⌉ in integers. */
export const ballotsNeeded = (quorumBp: number, electorate: number) => Math.ceil((quorumBp * electorate) / 10000);
// (quorumBp * electorate) stays far below 2^53 for any real electorate; Math.ceil of an exact
// integer quotient is exact, and of a non-integer quotient rounds up as required.

export function checkRule(rule: unknown): Rule {
  if (!RULES.includes(rule as Rule)) throw invalid('invalid_rule', `The rule is one of ${RULES.join(', ')}.`);
  return rule as Rule;
}

export function checkPosition(position: unknown, reason: unknown): { position: Position; reason: string } {
  if (position !== 'approve' && position !== 'object' && position !== 'abstain') {
    throw invalid('invalid_position', 'A ballot is approve, object or abstain.');
  }
  const r = typeof reason === 'string' ? reason.trim() : '';
  if (reason !== undefined && reason !== null && typeof reason !== 'string') throw invalid('invalid_reason', 'A reason is text.');
  if (r.length > MAX_BALLOT_REASON) throw invalid('invalid_reason', 'A reason may have at most 5000 characters.');
  if (position === 'object' && !r) throw invalid('reason_required', 'An objection needs a reason.');
  return { position, reason: r };
}

/** The counted ballot of each voter is their latest cast; only the electorate counts. */
export function countedBallots<T extends Cast>(casts: T[], electorate: readonly number[]): Map<number, T> {
  const eligible = new Set(electorate);
  const counted = new Map<number, T>();
  for (const c of casts) if (eligible.has(c.voterId)) counted.set(c.voterId, c);
  return counted;
}

export function tally(casts: Cast[], electorate: readonly number[]): Tally {
  const t: Tally = { approve: 0, object: 0, abstain: 0, notVoted: 0 };
  const counted = countedBallots(casts, electorate);
  for (const c of counted.values()) t[c.position]++;
  t.notVoted = electorate.length - counted.size;
  return t;
}

/** Rule 3: quorum first, then the rule. */
export function result(rule: Rule, quorumBp: number, electorate: number, t: Tally): Result {
  const cast = t.approve + t.object + t.abstain;
  if (cast < ballotsNeeded(quorumBp, electorate)) return 'no-quorum';
  switch (rule) {
    case 'consensus':
      return t.object === 0 ? 'passed' : 'failed';
    case 'majority':
      return t.approve > t.object ? 'passed' : 'failed';
    case 'two-thirds':
      return t.approve >= 1 && 3 * t.approve >= 2 * (t.approve + t.object) ? 'passed' : 'failed';
  }
}

/** Rule 4: the chair may close early only once every eligible member has voted. */
export const everyoneVoted = (t: Tally) => t.notVoted === 0;

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
  r.state === 'open' && !r.remindedAt && !isDue(r, now) && Date.parse(r.closesAt) - reminderHours * 3_600_000 <= now.getTime();

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
export function publishability(c: { state: string; head: string }, stale: boolean, rounds: readonly RoundFacts[]): Publishability {
  if (c.state !== 'open') return { ok: false, code: 'not_open', round: null };
  if (stale) return { ok: false, code: 'stale', round: null };
  const open = rounds.find((r) => r.state === 'open');
  if (open) return { ok: false, code: 'round_open', round: open.id };
  const decided = latestDecided(rounds);
  if (!decided || decided.result !== 'passed') return { ok: false, code: 'not_approved', round: decided?.id ?? null };
  if (decided.commit !== c.head) return { ok: false, code: 'text_changed', round: decided.id };
  return { ok: true, round: decided.id };
}

/**
 * Whether a ballot may be recorded on a member's behalf (a vote given at a meeting or by
 * other means): never over a ballot the member cast themselves in this round.
 */
export const mayRecordFor = (castsOfVoter: readonly { recordedBy: number | null }[]) => castsOfVoter.every((c) => c.recordedBy !== null);
