/**
 * What bench/volume.ts is made of besides the generator: its plan by scale, what it records about
 * the folder (info.json), and its small helpers. Part of the cached folder's hash with volume.ts.
 */
import type { Ctx } from '../server/services/context.js';
import { revisionKey, versionKey, type SubjectRef } from '../server/store/meta/schema.js';

/** Accounts with a password (scrypt N=2^10: hashes keep their own cost) for the pages' sign-in. */
export const PASSWORD = 'bench volume passphrase 7';

export interface Plan {
  proposals: number;
  comments: number;
  ballots: number;
  rounds: number;
  publications: number;
  users: number;
}

export function plan(scale: number): Plan {
  const n = (x: number, min: number) => Math.max(min, Math.round(x * scale));
  // At least 60 users (a round with 50 ballots), one publication, and room for one 200-comment proposal.
  return {
    proposals: n(5000, 10),
    comments: n(100_000, 220),
    ballots: n(50_000, 100),
    rounds: n(1000, 2),
    publications: n(40, 1),
    users: n(200, 60),
  };
}

export interface VolumeInfo {
  scale: number;
  plan: Plan;
  generationMs: number;
  counts: Record<string, number>;
  /** Mail queued by the activity, waiting (nothing delivered it). */
  mailsWaiting: number;
  bigProposal: number;
  bigRound: number;
  publishedVersion: { slug: string; n: number };
  secretariat: string;
  member: string;
  writers: { email: string; token: string }[];
}

export const scaleOf = () => Number(process.env.BENCH_SCALE ?? 0.1);

/** Run `f` over `items`, `n` at a time. */
export async function pool<T>(items: T[], n: number, f: (x: T, i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await f(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

/** A deterministic random source (mulberry32): the same scale gives the same folder. */
export function random(seed: number) {
  let a = seed;
  const r = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { r, int: (n: number) => Math.floor(r() * n), pick: <T>(xs: T[]) => xs[Math.floor(r() * xs.length)] };
}

/** Split `total` into `parts` near-equal whole shares. */
export const shares = (total: number, parts: number) =>
  Array.from({ length: parts }, (_, i) => Math.floor(((i + 1) * total) / parts) - Math.floor((i * total) / parts));

export const SENTENCES = [
  'The working group should say how this interacts with the annual programme.',
  'I support the change, but the wording could be shorter.',
  'Could we keep the current rule for the transition period?',
  'This matches what the plenary agreed at its last meeting.',
  'The secretariat will need more time to implement this.',
  'Please **clarify** who decides when the chair is absent.',
  'See the _previous discussion_ on the list for the background.',
];

/**
 * How many records of a kind the store holds, from its counts: reading them all (`all`) read every
 * cold comment and message from disk, at each epoch's log line (the epochs slowed from 23 to 40 s
 * at scale 3), and at the end of a scale-3 generation, 9 million messages at once: out of memory.
 */
export const count = (ctx: Ctx, kind: Parameters<Ctx['meta']['count']>[0]) => ctx.meta.count(kind);

export async function latestText(ctx: Ctx, slug: string): Promise<string> {
  const doc = ctx.meta.get('documents', slug)!;
  return ctx.repo.readBlobText(ctx.meta.get('versions', versionKey(slug, doc.latest))!.blob);
}

export async function proposalTextOf(ctx: Ctx, pr: { id: number; revisions: number }): Promise<string> {
  const ref: SubjectRef = { type: 'proposal', id: pr.id };
  const rev = ctx.meta.get('revisions', revisionKey(ref, pr.revisions));
  return rev ? ctx.repo.readBlobText(rev.blob) : '';
}
