import { Router } from 'express';
import { z } from 'zod';
import type { Ctx } from '../../services/context.js';
import { loadProposal } from '../../services/proposals/access.js';
import { proposalCommentable } from '../../services/proposals/commentable.js';
import { createProposal, reviseProposal, shareProposal, withdrawProposal } from '../../services/proposals/proposals.js';
import { proposalDiff, proposalText } from '../../services/proposals/read.js';
import { proposalFull, proposalSummary } from '../presenters/proposals.js';
import { commentRoutes } from './commentRoutes.js';
import { parse, PositiveInt } from '../validate.js';
import { absent } from '../../domain/errors.js';
import { isSlug } from '../../domain/slug.js';

const Id = z.object({ id: PositiveInt });
const DiffQuery = z.object({ from: PositiveInt.optional(), to: PositiveInt.optional(), against: z.enum(['base', 'published']).optional() });
const idOf = (params: unknown) => {
  const r = Id.safeParse(params);
  if (!r.success) throw absent('proposal');
  return r.data.id;
};
const body = (req: { body?: unknown }) => (req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {});

/** Proposals and their comments (API.md "Members"). Routes stay thin: rules live in services and the policy. */
export function proposalsApi(ctx: Ctx): Router {
  const r = Router();

  r.post('/documents/:slug/proposals', async (req, res) => {
    const slug = req.params.slug;
    if (!isSlug(slug)) throw absent('document');
    const b = body(req);
    const p = await createProposal(ctx, req.actor ?? null, slug, { title: b.title, rationale: b.rationale, text: b.text, baseVersion: b.baseVersion });
    res.status(201).json(proposalSummary(p));
  });

  r.get('/proposals/:id', async (req, res) => {
    const p = loadProposal(ctx, req.actor ?? null, idOf(req.params));
    res.json(proposalFull(ctx, p, await proposalText(ctx, p)));
  });

  r.put('/proposals/:id/text', async (req, res) => {
    const b = body(req);
    const p = await reviseProposal(ctx, req.actor ?? null, idOf(req.params), { text: b.text, head: b.head, title: b.title, rationale: b.rationale });
    res.json({ head: p.head });
  });

  r.get('/proposals/:id/diff', async (req, res) => {
    const q = parse(DiffQuery, { from: req.query.from, to: req.query.to, against: req.query.against }, 'invalid_revision');
    const d = await proposalDiff(ctx, req.actor ?? null, idOf(req.params), q);
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

  return r;
}
