import { createHash, createHmac } from 'node:crypto';
import { absent, notFound } from '../../domain/errors.js';
import { countedBallots, votingElectors } from '../../domain/round.js';
import type { BallotRecord, RoundRecord, VersionRecord } from '../../store/meta/schema.js';
import type { Ctx } from '../context.js';
import { getVersion } from '../readDocuments.js';
import { ballotsOf, electorateOf } from './rounds.js';
import { withFields } from '../../util/withFields.js';

type MarkedBallot = BallotRecord & { counted: boolean; notCounted: 'replaced' | 'recused' | null; receipt: string };

/**
 * Memos of pure functions of a round record. A record is replaced, never changed, when its
 * round changes, so an entry can never go stale; it goes with the record. A closed or cancelled
 * round takes no more ballots (every ballot write checks that the round is open, under its
 * lock), so its marked record is computed once: a page or list of past rounds costs no HMAC
 * and no count per ballot per request (100 rounds of 50 ballots: 5,000 HMACs a request).
 */
const receiptsOf = new WeakMap<RoundRecord, Map<number, string>>();
const keyOf = new WeakMap<RoundRecord, string>();
const closedRecords = new WeakMap<RoundRecord, readonly MarkedBallot[]>();

/** Every cast of a round, oldest first, each marked counted or replaced (a recused member's ballot does not count). */
export function ballotRecord(ctx: Ctx, r: RoundRecord): readonly MarkedBallot[] {
  const kept = closedRecords.get(r);
  if (kept) return kept;
  const marked = markBallots(ctx, r);
  if (r.state !== 'open') closedRecords.set(r, marked);
  return marked;
}

function markBallots(ctx: Ctx, r: RoundRecord): MarkedBallot[] {
  const all = ballotsOf(ctx, r.id);
  const counted = new Set([...countedBallots(all, votingElectors(electorateOf(r))).values()].map((b) => b.id));
  const latest = new Map(all.map((b) => [b.voterId, b.id]));
  // Kept for a closed round: copies built by `withFields`, not spread (a quarter of the size).
  return all.map((b) =>
    withFields(b, {
      counted: counted.has(b.id),
      // Why a cast does not count: a later ballot replaced it, or the voter stood aside.
      notCounted: counted.has(b.id)
        ? null
        : latest.get(b.voterId) !== b.id
          ? ('replaced' as const)
          : ('recused' as const),
      receipt: receiptOf(r, b.voterId),
    }),
  );
}

/** Letters and digits that cannot be mistaken for one another when read aloud or copied (Crockford's base 32). */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A voter's receipt in a round: 8 characters of an HMAC of the round and the voter under the
 * round's secret key. The voter sees it; the public record lists ballots by it, so each member
 * can check their ballot was counted as cast without anyone else learning how they voted.
 * (Rounds opened before receipts existed derive their key from the round itself.)
 */
export function receiptOf(r: RoundRecord, voterId: number): string {
  let known = receiptsOf.get(r);
  if (!known) receiptsOf.set(r, (known = new Map()));
  let out = known.get(voterId);
  if (out !== undefined) return out;
  let key = r.receiptKey ?? keyOf.get(r);
  if (key === undefined) {
    key = createHash('sha256').update(`round-${r.id}:${r.commit}:${r.openedAt}`).digest('hex');
    keyOf.set(r, key);
  }
  const mac = createHmac('sha256', key).update(`${r.id}:${voterId}`).digest();
  out = '';
  for (let i = 0; i < 8; i++) out += ALPHABET[mac[i] & 31];
  known.set(voterId, out);
  return out;
}

/** The receipt of a ballot just cast or recorded: its round's receipt for its voter. */
export function ballotReceipt(ctx: Ctx, b: BallotRecord): string {
  const r = ctx.meta.get('rounds', b.round);
  if (!r) throw absent('round');
  return receiptOf(r, b.voterId);
}

/** The round that approved a published version, if a round decided it (public: decision records are public). */
export function roundOfVersion(ctx: Ctx, v: VersionRecord): RoundRecord | undefined {
  return v.round ? ctx.meta.get('rounds', v.round) : undefined;
}

/** The round that approved a published version (public: decision records are public). */
export function decisionOf(ctx: Ctx, slug: string, n: number): RoundRecord {
  const v = getVersion(ctx, slug, n);
  const r = roundOfVersion(ctx, v);
  if (!r) throw notFound('no_decision', `Version ${n} was not decided by a round (it was seeded, added or imported).`);
  return r;
}
