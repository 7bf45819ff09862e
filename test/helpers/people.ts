/**
 * People for service and API tests of consolidations, rounds and publishing: accounts made
 * with `addUser` (the service the CLI uses) WITHOUT a password — so no scrypt hash, making a
 * user costs one store write — each with a personal API token from `createToken`. Also the
 * service-level steps of an amendment (shared proposals, a consolidation) and small helpers
 * to assert refusals by their DomainError kind and code.
 */
import { CLI_ACTOR } from '../../server/domain/actor.js';
import type { Actor } from '../../server/domain/actor.js';
import type { Ctx } from '../../server/services/context.js';
import { openPrepared } from './data.js';
import { actorOf, addUser } from '../../server/services/accounts/users.js';
import { createToken } from '../../server/services/auth/tokens.js';
import { createConsolidation } from '../../server/services/consolidations/consolidations.js';
import { createProposal, shareProposal } from '../../server/services/proposals/proposals.js';
import {
  versionKey,
  type ConsolidationRecord,
  type ProposalRecord,
  type UserRecord,
} from '../../server/store/meta/schema.js';

export interface Person extends UserRecord {
  actor: Actor;
  token: string;
  /** `{ Authorization: 'Bearer …' }` for supertest's `.set()`. */
  auth: { Authorization: string };
}

export interface PersonSpec {
  email: string;
  name: string;
  roles?: ('member' | 'chair' | 'secretariat')[];
  groups?: string[];
}

/** One account (no password) with an API token. */
export async function person(ctx: Ctx, spec: PersonSpec): Promise<Person> {
  const u = await addUser(ctx, CLI_ACTOR, {
    email: spec.email,
    name: spec.name,
    roles: spec.roles ?? ['member'],
    groups: spec.groups ?? [],
  });
  const { token } = await createToken(ctx, CLI_ACTOR, u, 'test');
  return { ...u, actor: actorOf(u), token, auth: { Authorization: `Bearer ${token}` } };
}

/** Several accounts, made one after another in the order given (ids follow that order). */
export async function people<K extends string>(ctx: Ctx, specs: Record<K, PersonSpec>): Promise<Record<K, Person>> {
  const out = {} as Record<K, Person>;
  for (const k of Object.keys(specs) as K[]) out[k] = await person(ctx, specs[k]);
  return out;
}

/**
 * The usual cast: a working-group drafter (member of wg-strategy, owner of the terms of
 * reference), a chair who is also a member, three plain members, and secretariat staff who
 * are not members (so do not vote). Electorate of a round opened with only these: 5.
 */
export const COMMITTEE = {
  drafter: { email: 'wanda@example.org', name: 'Wanda Drafter', roles: ['member'], groups: ['wg-strategy'] },
  chair: { email: 'chen@example.org', name: 'Chair Chen', roles: ['member', 'chair'] },
  m1: { email: 'mia@example.org', name: 'Mia Member' },
  m2: { email: 'noor@example.org', name: 'Noor Member' },
  m3: { email: 'olu@example.org', name: 'Olu Member' },
  sec: { email: 'sam@example.org', name: 'Sam Secretariat', roles: ['secretariat'] },
} satisfies Record<string, PersonSpec>;

export const committee = (ctx: Ctx) => people(ctx, COMMITTEE);

type PreparedOptions = Parameters<typeof openPrepared>[1];

/** A fresh folder with the usual committee (`who`): made once per run and options, then copied. */
export async function openWithCommittee(opts: PreparedOptions) {
  const t = await openPrepared('committee', opts, (t) => committee(t.ctx));
  return { t, ctx: t.ctx, who: t.made };
}

/**
 * A fresh folder with the usual committee and a conflict-free consolidation of two shared
 * proposals (`twoProposalConsolidation`): made once per run and options, then copied.
 */
export async function openWithConsolidation(opts: PreparedOptions) {
  const t = await openPrepared('committee and consolidation', opts, async (t) => {
    const who = await committee(t.ctx);
    return { who, ...(await twoProposalConsolidation(t.ctx, who)) };
  });
  return { t, ctx: t.ctx, ...t.made };
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<{ kind: string; code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { kind: string; code: string; message: string };
  }
  throw new Error('expected a refusal, but the call succeeded');
}

/** Assert a DomainError kind+code from a service call, as `{kind, code}` for a readable diff. */
export async function refusal(p: Promise<unknown>): Promise<{ kind: string; code: string }> {
  const e = await rejection(p);
  return { kind: e.kind, code: e.code };
}

// ---------------------------------------------------------------- the amendment flow, as services

export const TOR = 'terms-of-reference';
/** Two sentences of documents/terms-of-reference.md in different paragraphs (as in scratch/flow.mts). */
export const S1 = 'Closed meetings of the Group are held under the Chatham House Rule. ';
export const S2 = 'Members are required to participate in person in the closed meetings of the Group. ';

/** The current published text of a document. */
export async function publishedText(ctx: Ctx, slug = TOR): Promise<string> {
  const doc = ctx.meta.get('documents', slug)!;
  return ctx.repo.readBlobText(ctx.meta.get('versions', versionKey(slug, doc.latest))!.blob);
}

/** A proposal drafted by `by` (text = edit(published text)) and shared with all members. */
export async function sharedProposal(
  ctx: Ctx,
  by: Person,
  title: string,
  edit: (t: string) => string,
  slug = TOR,
): Promise<ProposalRecord> {
  const text = edit(await publishedText(ctx, slug));
  const p = await createProposal(ctx, by.actor, slug, { title, rationale: `Why: ${title}`, text });
  return shareProposal(ctx, by.actor, p.id);
}

/** Two shared proposals (dropping S1, dropping S2) consolidated by the chair without conflicts. */
export async function twoProposalConsolidation(
  ctx: Ctx,
  cast: { drafter: Person; chair: Person },
  summary = 'Open and remote meetings',
): Promise<{ p1: ProposalRecord; p2: ProposalRecord; c: ConsolidationRecord }> {
  const p1 = await sharedProposal(ctx, cast.drafter, 'Open meetings', (t) => t.replace(S1, ''));
  const p2 = await sharedProposal(ctx, cast.drafter, 'Remote participation', (t) => t.replace(S2, ''));
  const c = await createConsolidation(ctx, cast.chair.actor, TOR, { proposals: [p1.id, p2.id], summary });
  return { p1, p2, c };
}

/** An ISO time `ms` after the clock's now. */
export const after = (clock: () => Date, ms: number) => new Date(clock().getTime() + ms).toISOString();
export const DAY = 86_400_000;
