import { Router } from 'express';
import type { Ctx } from '../../services/context.js';
import { loadProposal } from '../../services/proposals/access.js';
import { proposalCommentable } from '../../services/proposals/commentable.js';
import {
  createProposal,
  documentToPropose,
  reviseProposal,
  reviseProposalSection,
  shareProposal,
  withdrawProposal,
} from '../../services/proposals/proposals.js';
import { proposalDiff, proposalSection, proposalText } from '../../services/proposals/read.js';
import { applySuggestions } from '../../services/proposals/suggestions.js';
import { proposalFull, proposalSummary } from '../presenters/proposals.js';
import { commentRoutes } from './commentRoutes.js';
import { parse, parseBody, parseQuery } from '../validate.js';
import {
  ApplySuggestionBody,
  ApplySuggestionsBody,
  CommentIdParams,
  CreateProposalBody,
  IdParams,
  ProposalDiffQuery,
  ReviseProposalBody,
  ReviseSectionBody,
  SectionParams,
  WordProposalQuery,
} from '../schemas/index.js';
import { noSection } from '../../domain/sections.js';
import { proposalFromWord } from '../../services/proposals/fromWord.js';
import { readUpload } from '../upload.js';
import { absent } from '../../domain/errors.js';
import { isSlug } from '../../domain/slug.js';

const idOf = (params: unknown) => {
  const r = IdParams.safeParse(params);
  if (!r.success) throw absent('proposal');
  return r.data.id;
};

/** Proposals and their comments (API.md "Members"). Routes stay thin: rules live in services and the policy. */
export function proposalsApi(ctx: Ctx): Router {
  const r = Router();

  r.post('/documents/:slug/proposals', async (req, res) => {
    const slug = req.params.slug;
    if (!isSlug(slug)) throw absent('document');
    const p = await createProposal(ctx, req.actor ?? null, slug, parseBody(CreateProposalBody, req));
    res.status(201).json(proposalSummary(p));
  });

  // A Word file as a proposal's text (issue 15): the body is the .docx. `dryRun=1` only reads it
  // and answers with the text and its diff against the published text; otherwise it is saved as
  // a new proposal, as the route above would save it.
  r.post('/documents/:slug/proposals/docx', async (req, res) => {
    const slug = req.params.slug;
    if (!isSlug(slug)) throw absent('document');
    const actor = req.actor ?? null;
    // Who may not propose, or asks wrongly, is refused before the file is read.
    documentToPropose(ctx, actor, slug);
    const q = parseQuery(WordProposalQuery, req);
    const w = await proposalFromWord(ctx, actor, slug, await readUpload(req, res));
    if (q.dryRun === '1') {
      res.json({ document: w.document, baseVersion: w.baseVersion, text: w.text, changes: w.changes });
      return;
    }
    const p = await createProposal(ctx, actor, slug, {
      title: q.title ?? '',
      rationale: q.rationale ?? '',
      text: w.text,
      baseVersion: q.baseVersion ?? w.baseVersion,
    });
    res.status(201).json(proposalSummary(p));
  });

  r.get('/proposals/:id', async (req, res) => {
    const p = loadProposal(ctx, req.actor ?? null, idOf(req.params));
    res.json(proposalFull(ctx, p, await proposalText(ctx, p)));
  });

  r.put('/proposals/:id/text', async (req, res) => {
    const id = idOf(req.params);
    const p = await reviseProposal(ctx, req.actor ?? null, id, parseBody(ReviseProposalBody, req));
    res.json({ head: p.head });
  });

  /** The anchor of `/proposals/:id/sections/:anchor`; a malformed one names no section. */
  const anchorOf = (params: unknown) => {
    const r = SectionParams.safeParse(params);
    if (!r.success) throw noSection();
    return r.data.anchor;
  };

  // One section of the current text (its anchor on the page), and the head to revise it on.
  r.get('/proposals/:id/sections/:anchor', async (req, res) => {
    const id = idOf(req.params);
    const { proposal, section, text } = await proposalSection(ctx, req.actor ?? null, id, anchorOf(req.params));
    res.json({ anchor: section.id, heading: section.words, level: section.level, text, head: proposal.head });
  });

  // One section, spliced into the current text.
  r.put('/proposals/:id/sections/:anchor', async (req, res) => {
    const id = idOf(req.params);
    const anchor = anchorOf(req.params);
    const p = await reviseProposalSection(ctx, req.actor ?? null, id, anchor, parseBody(ReviseSectionBody, req));
    res.json({ head: p.head });
  });

  r.get('/proposals/:id/diff', async (req, res) => {
    const id = idOf(req.params);
    const d = await proposalDiff(ctx, req.actor ?? null, id, parseQuery(ProposalDiffQuery, req, 'invalid_revision'));
    res.json({ from: d.from.commit, to: d.to.commit, changes: d.changes });
  });

  r.post('/proposals/:id/share', async (req, res) => {
    const p = await shareProposal(ctx, req.actor ?? null, idOf(req.params));
    res.json({ state: p.state });
  });

  r.post('/proposals/:id/withdraw', async (req, res) => {
    const p = await withdrawProposal(ctx, req.actor ?? null, idOf(req.params));
    res.json({ state: p.state });
  });

  commentRoutes(r, ctx, '/proposals', (actor, id) => proposalCommentable(ctx, loadProposal(ctx, actor, id)));

  // Suggested changes: one, or several as one revision.
  r.post('/proposals/:id/comments/:cid/apply', async (req, res) => {
    const ids = parse(CommentIdParams, req.params, 'invalid_id');
    const { head } = parseBody(ApplySuggestionBody, req);
    const done = await applySuggestions(ctx, req.actor ?? null, ids.id, { comments: [ids.cid], head });
    res.json({ head: done.proposal.head, revision: done.proposal.revisions, applied: done.applied });
  });

  r.post('/proposals/:id/suggestions/apply', async (req, res) => {
    const done = await applySuggestions(ctx, req.actor ?? null, idOf(req.params), parseBody(ApplySuggestionsBody, req));
    res.json({ head: done.proposal.head, revision: done.proposal.revisions, applied: done.applied });
  });

  return r;
}
