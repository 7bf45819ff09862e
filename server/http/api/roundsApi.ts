import { Router, type Request } from 'express';
import { absent, type Thing } from '../../domain/errors.js';
import { isSlug } from '../../domain/slug.js';
import { diffTexts } from '../../services/diffTexts.js';
import type { Ctx } from '../../services/context.js';
import {
  abandonConsolidation,
  consolidationText,
  createConsolidation,
  loadConsolidation,
  rebuildConsolidation,
  reviseConsolidation,
} from '../../services/consolidations/consolidations.js';
import { consolidationAttribution } from '../../services/consolidations/attribution.js';
import { consolidationCommentable } from '../../services/consolidations/commentable.js';
import { publishConsolidation } from '../../services/consolidations/publish.js';
import {
  cancelRound,
  closeRound,
  extendRound,
  listRounds,
  loadRound,
  openRound,
} from '../../services/rounds/rounds.js';
import { castBallot, recuse, withdrawRecusal } from '../../services/rounds/ballots.js';
import { ballotReceipt } from '../../services/rounds/decision.js';
import { baseText } from '../../services/proposals/read.js';
import { attributionJson } from '../presenters/attributionView.js';
import { consolidationJson, nameOf, roundJson, roundJsonKey } from '../presenters/rounds.js';
import { FragmentCache } from '../render/fragments.js';
import { publicStateVersion } from '../../services/readDocuments.js';
import { commentRoutes } from './commentRoutes.js';
import { parseBody, parseQuery } from '../validate.js';
import {
  BallotBody,
  CancelRoundBody,
  CreateConsolidationBody,
  ExtendRoundBody,
  IdParams,
  OpenRoundBody,
  RoundsQuery,
  PublishBody,
  RecusalBody,
  ReviseConsolidationBody,
  WithdrawRecusalBody,
  WithdrawRecusalQuery,
} from '../schemas/index.js';

/**
 * `GET /rounds`: a page of at most `limit` rounds (20 by default), those before round `before`.
 * Each round comes with all its ballots, so a page of 100 rounds of a 50-member committee was
 * 665 KB; a script that wants more pages follows the `Link`.
 */
export const ROUNDS_PAGE = 20;

/** Consolidations, rounds, ballots and publishing (API.md "Members"). */
export function roundsApi(ctx: Ctx): Router {
  // Rounds as JSON, kept per viewer's view of them until the next write (render/fragments.ts).
  const answers = new FragmentCache();
  const r = Router();
  const idOf = (req: Request, what: Thing) => {
    const p = IdParams.safeParse(req.params);
    if (!p.success) throw absent(what);
    return p.data.id;
  };
  const showConsolidation = async (c: Parameters<typeof consolidationText>[1]) =>
    consolidationJson(ctx, c, await consolidationText(ctx, c));

  r.post('/documents/:slug/consolidations', async (req, res) => {
    if (!isSlug(req.params.slug)) throw absent('document');
    const c = await createConsolidation(
      ctx,
      req.actor ?? null,
      req.params.slug,
      parseBody(CreateConsolidationBody, req),
    );
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

  r.get('/consolidations/:id/attribution', async (req, res) => {
    const a = await consolidationAttribution(ctx, req.actor ?? null, idOf(req, 'consolidation'));
    res.json(attributionJson(ctx, a));
  });

  r.put('/consolidations/:id/text', async (req, res) => {
    const id = idOf(req, 'consolidation');
    const c = await reviseConsolidation(ctx, req.actor ?? null, id, parseBody(ReviseConsolidationBody, req));
    res.json({ head: c.head });
  });

  r.post('/consolidations/:id/abandon', async (req, res) => {
    res.json(await showConsolidation(await abandonConsolidation(ctx, req.actor ?? null, idOf(req, 'consolidation'))));
  });

  r.post('/consolidations/:id/rebuild', async (req, res) => {
    res
      .status(201)
      .json(await showConsolidation(await rebuildConsolidation(ctx, req.actor ?? null, idOf(req, 'consolidation'))));
  });

  r.post('/consolidations/:id/publish', async (req, res) => {
    const id = idOf(req, 'consolidation');
    const v = await publishConsolidation(ctx, req.actor ?? null, id, parseBody(PublishBody, req));
    res
      .status(201)
      .json({ document: v.document, version: { number: v.number, commit: v.commit, publishedAt: v.publishedAt } });
  });

  commentRoutes(r, ctx, '/consolidations', (actor, id) =>
    consolidationCommentable(ctx, loadConsolidation(ctx, actor, id)),
  );

  r.get('/rounds', (req, res) => {
    const q = parseQuery(RoundsQuery, req, 'invalid_query');
    const limit = q.limit ?? ROUNDS_PAGE;
    const viewer = req.actor ?? null;
    const kept = answers.forPage(() => String(publicStateVersion(ctx)), '');
    const { rounds, more } = listRounds(ctx, viewer, { limit, before: q.before });
    // Older rounds remain: where the next page is (the answer stays a plain array).
    if (more) res.set('Link', `<${req.baseUrl}/rounds?limit=${limit}&before=${rounds.at(-1)!.id}>; rel="next"`);
    // Each round as JSON, kept until the next write: serialising a page of rounds with their
    // ballots was half of what this answer cost.
    const items = rounds.map((x) =>
      kept.bytes(roundJsonKey(x, viewer), () => JSON.stringify(roundJson(ctx, x, viewer))),
    );
    res.type('json').send(jsonArray(items));
  });

  r.post('/rounds', async (req, res) => {
    const round = await openRound(ctx, req.actor ?? null, parseBody(OpenRoundBody, req));
    res.status(201).json(roundJson(ctx, round, req.actor ?? null));
  });

  r.get('/rounds/:id', (req, res) => {
    res.json(roundJson(ctx, loadRound(ctx, req.actor ?? null, idOf(req, 'round')), req.actor ?? null));
  });

  r.post('/rounds/:id/ballots', async (req, res) => {
    const id = idOf(req, 'round');
    const ballot = await castBallot(ctx, req.actor ?? null, id, parseBody(BallotBody, req));
    res.status(201).json({
      id: ballot.id,
      round: ballot.round,
      position: ballot.position,
      reason: ballot.reason,
      castAt: ballot.castAt,
      // The voter's receipt; a recorded ballot's receipt is the member's, and reaches them by mail only.
      ...(ballot.recordedBy === null ? { receipt: ballotReceipt(ctx, ballot), named: !!ballot.named } : {}),
      ...(ballot.recordedBy !== null
        ? { voter: nameOf(ctx, ballot.voterId), recordedBy: nameOf(ctx, ballot.recordedBy), note: ballot.note ?? '' }
        : {}),
    });
  });

  r.post('/rounds/:id/recusals', async (req, res) => {
    const id = idOf(req, 'round');
    const x = await recuse(ctx, req.actor ?? null, id, parseBody(RecusalBody, req));
    res.status(201).json({
      voter: nameOf(ctx, x.voterId),
      reason: x.reason,
      at: x.at,
      ...(x.recordedBy !== null ? { recordedBy: nameOf(ctx, x.recordedBy), note: x.note ?? '' } : {}),
    });
  });

  r.delete('/rounds/:id/recusals', async (req, res) => {
    const id = idOf(req, 'round');
    const b = parseBody(WithdrawRecusalBody, req);
    const q = parseQuery(WithdrawRecusalQuery, req);
    // On a member's behalf: named in the body or the query string, with the note the recording needs.
    const x = { voter: b.voter ?? q.voter, note: b.note ?? q.note };
    res.json(roundJson(ctx, await withdrawRecusal(ctx, req.actor ?? null, id, x), req.actor ?? null));
  });

  r.post('/rounds/:id/close', async (req, res) => {
    res.json(roundJson(ctx, await closeRound(ctx, req.actor ?? null, idOf(req, 'round')), req.actor ?? null));
  });

  r.post('/rounds/:id/extend', async (req, res) => {
    const id = idOf(req, 'round');
    res.json(
      roundJson(ctx, await extendRound(ctx, req.actor ?? null, id, parseBody(ExtendRoundBody, req)), req.actor ?? null),
    );
  });

  r.post('/rounds/:id/cancel', async (req, res) => {
    const id = idOf(req, 'round');
    res.json(
      roundJson(ctx, await cancelRound(ctx, req.actor ?? null, id, parseBody(CancelRoundBody, req)), req.actor ?? null),
    );
  });

  return r;
}

const [OPEN, COMMA, CLOSE] = ['[', ',', ']'].map((c) => Buffer.from(c));

/** A JSON array of items that are each one JSON value's UTF-8 bytes. */
function jsonArray(items: Buffer[]): Buffer {
  return Buffer.concat([OPEN, ...items.flatMap((b, i) => (i ? [COMMA, b] : [b])), CLOSE]);
}
