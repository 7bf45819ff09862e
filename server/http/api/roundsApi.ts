import { Router, type Request } from 'express';
import { z } from 'zod';
import { absent, type Thing } from '../../domain/errors.js';
import { isSlug } from '../../domain/slug.js';
import { diffTexts } from '../../services/diffTexts.js';
import type { Ctx } from '../../services/context.js';
import { abandonConsolidation, consolidationText, createConsolidation, loadConsolidation, rebuildConsolidation, reviseConsolidation } from '../../services/consolidations/consolidations.js';
import { consolidationCommentable } from '../../services/consolidations/commentable.js';
import { publishConsolidation } from '../../services/consolidations/publish.js';
import { cancelRound, castBallot, closeRound, extendRound, listRounds, loadRound, openRound, recuse, withdrawRecusal } from '../../services/rounds/rounds.js';
import { receiptOf } from '../../services/rounds/decision.js';
import { baseText } from '../../services/proposals/read.js';
import { consolidationJson, nameOf, roundJson } from '../presenters/rounds.js';
import { commentRoutes } from './commentRoutes.js';
import { parse, PositiveInt } from '../validate.js';

const Id = z.object({ id: PositiveInt });
/** `GET /rounds`: a page of at most `limit` rounds (100 by default), those before round `before`. */
const ROUNDS_PAGE = 100;
const RoundsQuery = z.object({ limit: PositiveInt.pipe(z.number().max(1000, 'must be at most 1000')).optional(), before: PositiveInt.optional() });
const body = (req: Request) => (req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {});

/** Consolidations, rounds, ballots and publishing (API.md "Members"). */
export function roundsApi(ctx: Ctx): Router {
  const r = Router();
  const idOf = (req: Request, what: Thing) => {
    const p = Id.safeParse(req.params);
    if (!p.success) throw absent(what);
    return p.data.id;
  };
  const showConsolidation = async (c: Parameters<typeof consolidationText>[1]) => consolidationJson(ctx, c, await consolidationText(ctx, c));

  r.post('/documents/:slug/consolidations', async (req, res) => {
    if (!isSlug(req.params.slug)) throw absent('document');
    const b = body(req);
    const c = await createConsolidation(ctx, req.actor ?? null, req.params.slug, { proposals: b.proposals, summary: b.summary });
    res.status(201).json(await showConsolidation(c));
  });

  r.get('/consolidations/:id', async (req, res) => {
    res.json(await showConsolidation(loadConsolidation(ctx, req.actor ?? null, idOf(req, 'consolidation'))));
  });

  r.get('/consolidations/:id/diff', async (req, res) => {
    const c = loadConsolidation(ctx, req.actor ?? null, idOf(req, 'consolidation'));
    const changes = await diffTexts(ctx, await baseText(ctx, c), await consolidationText(ctx, c));
    res.json({ from: c.base, to: c.head, changes });
  });

  r.put('/consolidations/:id/text', async (req, res) => {
    const b = body(req);
    const c = await reviseConsolidation(ctx, req.actor ?? null, idOf(req, 'consolidation'), { text: b.text, head: b.head });
    res.json({ head: c.head });
  });

  r.post('/consolidations/:id/abandon', async (req, res) => {
    res.json(await showConsolidation(await abandonConsolidation(ctx, req.actor ?? null, idOf(req, 'consolidation'))));
  });

  r.post('/consolidations/:id/rebuild', async (req, res) => {
    res.status(201).json(await showConsolidation(await rebuildConsolidation(ctx, req.actor ?? null, idOf(req, 'consolidation'))));
  });

  r.post('/consolidations/:id/publish', async (req, res) => {
    const v = await publishConsolidation(ctx, req.actor ?? null, idOf(req, 'consolidation'), { summary: body(req).summary });
    res.status(201).json({ document: v.document, version: { number: v.number, commit: v.commit, publishedAt: v.publishedAt } });
  });

  commentRoutes(r, ctx, '/consolidations', (actor, id) => consolidationCommentable(ctx, loadConsolidation(ctx, actor, id)));

  r.get('/rounds', (req, res) => {
    const q = parse(RoundsQuery, { limit: req.query.limit ?? undefined, before: req.query.before ?? undefined }, 'invalid_query');
    const limit = q.limit ?? ROUNDS_PAGE;
    const { rounds, more } = listRounds(ctx, req.actor ?? null, { limit, before: q.before });
    // Older rounds remain: where the next page is (the answer stays a plain array).
    if (more) res.set('Link', `<${req.baseUrl}/rounds?limit=${limit}&before=${rounds.at(-1)!.id}>; rel="next"`);
    res.json(rounds.map((x) => roundJson(ctx, x, req.actor ?? null)));
  });

  r.post('/rounds', async (req, res) => {
    const b = body(req);
    const round = await openRound(ctx, req.actor ?? null, { subject: b.subject, rule: b.rule, quorum: b.quorum, closesAt: b.closesAt, record: b.record, conditions: b.conditions });
    res.status(201).json(roundJson(ctx, round, req.actor ?? null));
  });

  r.get('/rounds/:id', (req, res) => {
    res.json(roundJson(ctx, loadRound(ctx, req.actor ?? null, idOf(req, 'round')), req.actor ?? null));
  });

  r.post('/rounds/:id/ballots', async (req, res) => {
    const b = body(req);
    const ballot = await castBallot(ctx, req.actor ?? null, idOf(req, 'round'), { position: b.position, reason: b.reason, voter: b.voter, note: b.note, named: b.named });
    const round = ctx.meta.get('rounds', ballot.round)!;
    res.status(201).json({
      id: ballot.id,
      round: ballot.round,
      position: ballot.position,
      reason: ballot.reason,
      castAt: ballot.castAt,
      // The voter's receipt; a recorded ballot's receipt is the member's, and reaches them by mail only.
      ...(ballot.recordedBy === null ? { receipt: receiptOf(round, ballot.voterId), named: !!ballot.named } : {}),
      ...(ballot.recordedBy !== null ? { voter: nameOf(ctx, ballot.voterId), recordedBy: nameOf(ctx, ballot.recordedBy), note: ballot.note ?? '' } : {}),
    });
  });

  r.post('/rounds/:id/recusals', async (req, res) => {
    const b = body(req);
    const id = idOf(req, 'round');
    const x = await recuse(ctx, req.actor ?? null, id, { reason: b.reason, voter: b.voter, note: b.note });
    res.status(201).json({ voter: nameOf(ctx, x.voterId), reason: x.reason, at: x.at, ...(x.recordedBy !== null ? { recordedBy: nameOf(ctx, x.recordedBy), note: x.note ?? '' } : {}) });
  });

  r.delete('/rounds/:id/recusals', async (req, res) => {
    const b = body(req);
    const voter = b.voter ?? (typeof req.query.voter === 'string' ? req.query.voter : undefined);
    res.json(roundJson(ctx, await withdrawRecusal(ctx, req.actor ?? null, idOf(req, 'round'), { voter }), req.actor ?? null));
  });

  r.post('/rounds/:id/close', async (req, res) => {
    res.json(roundJson(ctx, await closeRound(ctx, req.actor ?? null, idOf(req, 'round')), req.actor ?? null));
  });

  r.post('/rounds/:id/extend', async (req, res) => {
    res.json(roundJson(ctx, await extendRound(ctx, req.actor ?? null, idOf(req, 'round'), { closesAt: body(req).closesAt }), req.actor ?? null));
  });

  r.post('/rounds/:id/cancel', async (req, res) => {
    res.json(roundJson(ctx, await cancelRound(ctx, req.actor ?? null, idOf(req, 'round'), { reason: body(req).reason }), req.actor ?? null));
  });

  return r;
}
