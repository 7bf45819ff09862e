import { notFound } from '../../domain/errors.js';
import { countedBallots } from '../../domain/round.js';
import type { BallotRecord, RoundRecord } from '../../store/meta/schema.js';
import type { Ctx } from '../context.js';
import { getVersion } from '../readDocuments.js';
import { ballotsOf } from './rounds.js';

/** Every cast of a round, oldest first, each marked counted or replaced. */
export function ballotRecord(ctx: Ctx, r: RoundRecord): (BallotRecord & { counted: boolean })[] {
  const all = ballotsOf(ctx, r.id);
  const counted = new Set([...countedBallots(all, r.electorate).values()].map((b) => b.id));
  return all.map((b) => ({ ...b, counted: counted.has(b.id) }));
}

/** The round that approved a published version (public: decision records are public). */
export function decisionOf(ctx: Ctx, slug: string, n: number): RoundRecord {
  const v = getVersion(ctx, slug, n);
  const r = v.round ? ctx.meta.get('rounds', v.round) : undefined;
  if (!r) throw notFound('no_decision', `Version ${n} was not decided by a round (it was seeded, added or imported).`);
  return r;
}
