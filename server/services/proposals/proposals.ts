import type { Actor } from '../../domain/actor.js';
import { proposalRevisedMails } from '../notifications/events.js';
import { checkEach, conflict } from '../../domain/errors.js';
import { authorize, signedIn } from '../../domain/policy.js';
import { assertEditable, assertShareable, assertWithdrawable } from '../../domain/proposal.js';
import { documentPath } from '../../domain/slug.js';
import { checkProse, checkText, checkTitle, MAX_RATIONALE_BYTES } from '../../domain/text.js';
import { revisionKey, type DocumentRecord, type ProposalRecord, type RevisionRecord } from '../../store/meta/schema.js';
import { MAIN, type Ctx } from '../context.js';
import { getDocument, getVersion, versionText } from '../readDocuments.js';
import { spliceTextSection } from '../textSections.js';
import { loadProposalFor } from './access.js';
import { mergePuts } from '../notifications/queue.js';
import { saveRevision } from '../revisions.js';
import { proposalSharedMails } from '../notifications/events.js';
import { diffTexts } from '../diffTexts.js';
import { baseText, proposalText } from './read.js';

/** Where a proposal's commits live: outside `refs/heads/`, so a clone of the private repository does not fetch them either. */
export const proposalRef = (id: number) => `refs/ratify/proposals/${id}`;

const identity = (ctx: Ctx, actor: Actor) => ({ name: actor.name, email: actor.email, at: ctx.clock() });

/** The document, if the actor may propose a change to it (404 / 403 / 401 otherwise: `createProposal`'s own check), for the new-proposal form. */
export function documentToPropose(ctx: Ctx, actor: Actor | null, slug: string): DocumentRecord {
  const doc = getDocument(ctx, slug);
  authorize(actor, 'proposal.create', { kind: 'document', group: doc.group }, 'document');
  return doc;
}

/** What a new proposal is made of (the API's `CreateProposalBody`, the new-proposal form). */
export interface CreateProposalInput {
  title: string;
  /** Why: empty when absent. */
  rationale?: string | null;
  text: string;
  /** The version the text was written on: 409 `stale_base` when a newer one was published since. */
  baseVersion?: number | null;
  /** When given, `text` is only this section (its anchor): it replaces that section of the latest version. */
  section?: string | null;
}

/** A revision: `head` is the revision the edit was made on; title and rationale change when given. */
export interface ReviseProposalInput {
  text: string;
  head: string;
  title?: string;
  rationale?: string | null;
}

/**
 * Draft a change to a document: a ref `refs/ratify/proposals/<id>` from the current `main` whose first
 * commit (by the author) holds the proposed text.
 */
export async function createProposal(
  ctx: Ctx,
  actor: Actor | null,
  slug: string,
  input: CreateProposalInput,
): Promise<ProposalRecord> {
  const doc = getDocument(ctx, slug);
  authorize(actor, 'proposal.create', { kind: 'document', group: doc.group }, 'document');
  const published = input.section == null ? null : await versionText(ctx, getVersion(ctx, slug, doc.latest));
  // The section spliced into the published text (off the event loop when the app can), its
  // refusal (or the text's own) kept to be reported with the other fields' problems.
  const spliced =
    published === null
      ? null
      : await (async () => spliceTextSection(ctx, published, input.section!, checkText(input.text)))().then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        );
  // Every field's problem at once (the form lists them all).
  const { title, rationale, text } = checkEach('invalid_proposal', {
    title: () => checkTitle(input.title),
    rationale: () => checkProse(input.rationale, 'rationale', MAX_RATIONALE_BYTES, false),
    text: () => {
      const given = checkText(input.text);
      if (spliced === null) return given;
      if ('error' in spliced) throw spliced.error;
      return checkText(spliced.value);
    },
  });
  // A form filled in on version N must not land on a newer version: the text would undo it.
  if (input.baseVersion != null && input.baseVersion !== doc.latest) {
    throw conflict('stale_base', `Version ${doc.latest} was published while you were writing; start again from it.`, {
      current: doc.latest,
    });
  }
  const base = await ctx.repo.resolve(MAIN);
  if (!base) throw conflict('no_main', 'Nothing has been published yet.');
  const id = ctx.meta.nextId('proposals');
  const ref = proposalRef(id);
  // A branch without a record is what a crash between the git write and the store write leaves: reuse its name.
  const orphan = await ctx.repo.resolve(ref);
  const { commit, blob } = await ctx.repo.commitFile({
    ref,
    expected: orphan,
    parent: base,
    filepath: documentPath(slug),
    text,
    message: `Proposal ${id}: ${title}\n\n${rationale}`.trim() + '\n',
    author: identity(ctx, actor),
  });
  const now = ctx.clock().toISOString();
  const p: ProposalRecord = {
    id,
    document: slug,
    title,
    rationale,
    authorId: actor.id,
    state: 'draft',
    base,
    baseVersion: doc.latest,
    head: commit,
    revisions: 1,
    wasShared: false,
    openRound: null,
    createdAt: now,
    updatedAt: now,
  };
  const rev: RevisionRecord = { subject: { type: 'proposal', id }, n: 1, commit, blob, authorId: actor.id, at: now };
  await ctx.meta.write({
    actor: actor.email,
    at: ctx.clock(),
    events: [{ action: 'proposal.created', subject: `proposal/${id}` }],
    puts: { proposals: { [id]: p }, revisions: { [revisionKey(rev.subject, 1)]: rev } },
  });
  return p;
}

/**
 * Save a new revision. `head` names the revision the edit was made on: if someone saved since,
 * 409 and nothing is written (the git ref moves only by compare-and-swap).
 */
export async function reviseProposal(
  ctx: Ctx,
  actor: Actor | null,
  id: number,
  input: ReviseProposalInput,
): Promise<ProposalRecord> {
  signedIn(actor);
  return ctx.subjects.run(`proposal/${id}`, () => revise(ctx, actor, id, input));
}

/**
 * A revision that replaces one section of the current text (its anchor, domain/sections.ts):
 * `input.text` is the section's new text. The same rules and refusals as `reviseProposal`, then
 * the section's own: 404 `section_not_found`, 400 `section_heading`, `section_outline`,
 * `section_spills`; the whole text after the splice is held to the text limit.
 */
export async function reviseProposalSection(
  ctx: Ctx,
  actor: Actor | null,
  id: number,
  anchor: string,
  input: ReviseProposalInput,
): Promise<ProposalRecord> {
  signedIn(actor);
  return ctx.subjects.run(`proposal/${id}`, () => revise(ctx, actor, id, input, anchor));
}

async function revise(
  ctx: Ctx,
  actor: Actor,
  id: number,
  input: ReviseProposalInput,
  section?: string,
): Promise<ProposalRecord> {
  const p = loadProposalFor(ctx, actor, id, 'proposal.edit');
  assertEditable(p.state, p.openRound !== null);
  const given = checkText(input.text);
  const title = input.title === undefined ? p.title : checkTitle(input.title);
  const rationale =
    input.rationale === undefined ? p.rationale : checkProse(input.rationale, 'rationale', MAX_RATIONALE_BYTES, false);
  if (input.head !== p.head)
    throw conflict(
      'stale_head',
      'Someone saved a newer revision since you started editing. Reload it and apply your change again.',
      { current: p.head },
    );
  const current = section !== undefined || actor.id !== p.authorId ? await proposalText(ctx, p) : '';
  const text = section === undefined ? given : checkText(await spliceTextSection(ctx, current, section, given));
  // Someone else revises the author's proposal: the author's mail shows what this revision changes.
  const changes = actor.id !== p.authorId ? await diffTexts(ctx, current, text) : [];
  return saveRevision(
    ctx,
    actor,
    { type: 'proposal', id },
    {
      ref: proposalRef(id),
      document: p.document,
      head: input.head,
      text,
      message: `Revise proposal ${id}: ${title}\n`,
      action: 'proposal.revised',
      changes: { title, rationale },
      // Someone else revised the author's proposal: the author is told.
      alsoPuts: (next, n) =>
        actor.id !== p.authorId ? proposalRevisedMails(ctx, next as ProposalRecord, actor, n, changes) : {},
    },
  );
}

/** Share a draft with all members. */
export async function shareProposal(ctx: Ctx, actor: Actor | null, id: number): Promise<ProposalRecord> {
  signedIn(actor);
  return ctx.subjects.run(`proposal/${id}`, async () => {
    const p = loadProposalFor(ctx, actor, id, 'proposal.share');
    assertShareable(p.state);
    const next: ProposalRecord = { ...p, state: 'shared', wasShared: true, updatedAt: ctx.clock().toISOString() };
    // The announcement shows what the proposal changes (read from git now: mails are composed inside the write).
    const changes = await diffTexts(ctx, await baseText(ctx, p), await proposalText(ctx, p));
    await ctx.meta.write({
      actor: actor.email,
      at: ctx.clock(),
      events: [{ action: 'proposal.shared', subject: `proposal/${id}` }],
      puts: mergePuts({ proposals: { [id]: next } }, proposalSharedMails(ctx, next, changes)),
    });
    return next;
  });
}

/** Withdraw (its author, the chair or the secretariat). The branch stays: history is never rewritten. */
export async function withdrawProposal(ctx: Ctx, actor: Actor | null, id: number): Promise<ProposalRecord> {
  signedIn(actor);
  return ctx.subjects.run(`proposal/${id}`, async () => {
    const p = loadProposalFor(ctx, actor, id, 'proposal.withdraw');
    assertWithdrawable(p.state, p.openRound !== null);
    const next: ProposalRecord = { ...p, state: 'withdrawn', updatedAt: ctx.clock().toISOString() };
    await ctx.meta.write({
      actor: actor.email,
      at: ctx.clock(),
      events: [{ action: 'proposal.withdrawn', subject: `proposal/${id}` }],
      puts: { proposals: { [id]: next } },
    });
    return next;
  });
}
