import { Router, type Request, type Response } from 'express';
import { foldParagraphs } from '../../domain/diff.js';
import { diffTexts } from '../../services/diffTexts.js';
import { can } from '../../domain/policy.js';
import type { Ctx } from '../../services/context.js';
import {
  cancelRound,
  closeRound,
  endedRounds,
  extendRound,
  loadRound,
  openRounds,
  roundTexts,
} from '../../services/rounds/rounds.js';
import { castBallot, previewBallot, recuse, withdrawRecusal } from '../../services/rounds/ballots.js';
import { findConsolidation, listOpenConsolidations } from '../../services/consolidations/consolidations.js';
import { consolidationAttribution } from '../../services/consolidations/attribution.js';
import { visibleProposals } from '../../services/proposals/access.js';
import { documentTitle, listDocuments } from '../../services/readDocuments.js';
import type { RoundRecord } from '../../store/meta/schema.js';
import { changeCounts } from '../presenters/changeCounts.js';
import { TEXT_UNDER } from '../presenters/proposalView.js';
import { diffToggle } from '../presenters/diffToggle.js';
import type { Renderer } from '../render/renderer.js';
import { roundItem, roundPieceKeys, roundView } from '../presenters/roundView.js';
import { FragmentCache } from '../render/fragments.js';
import { attributionView } from '../presenters/attributionView.js';
import { ballotReceipt } from '../../services/rounds/decision.js';
import { findUserByEmail, userName } from '../../services/accounts/users.js';
import { deadlineFromForm, deadlineShownAgain, toLocalInput } from '../presenters/roundForm.js';
import { done, field, fromForm, idOf, orShow, takeNotice, textarea, type Locals } from './formHelpers.js';
import { BallotBody, CancelRoundBody, ExtendRoundBody, RecusalBody, WithdrawRecusalBody } from '../schemas/index.js';
import { page, renderedStateVersion } from './render.js';

/** Approval rounds, as pages: the list, a round, voting, recording a ballot, close, extend, cancel. */
export function roundPages(ctx: Ctx, render: Renderer): Router {
  const r = Router();

  const nowInput = () => toLocalInput(ctx.clock().toISOString());

  // ── The list of rounds ────────────────────────────────────────────────────
  r.get('/rounds', (req, res) => {
    const actor = req.actor ?? null;
    // openRounds is the first read: who may not read rounds gets 403 (401 signed out) from it.
    const open = openRounds(ctx, actor)
      .map((x) => roundItem(ctx, actor, x))
      // "You have not voted" first, then the nearest deadline.
      .sort(
        (a, b) =>
          Number(b.eligible && !b.myPosition) - Number(a.eligible && !a.myPosition) ||
          a.closesAt.localeCompare(b.closesAt) ||
          a.id - b.id,
      );
    // The latest to end first (by closedAt, then id).
    const closed = endedRounds(ctx, actor, 20).map((x) => roundItem(ctx, actor, x));
    const manage = can(actor, 'consolidation.manage');
    page(res, 'rounds/index', {
      title: 'Rounds',
      notice: takeNotice(req),
      open,
      closed,
      consolidations: manage
        ? listOpenConsolidations(ctx, actor).map((c) => ({
            id: c.id,
            summary: c.summary,
            document: documentTitle(ctx, c.document),
            openRound: c.openRound,
          }))
        : null,
      documents: manage
        ? listDocuments(ctx).map(({ doc: d }) => ({
            slug: d.slug,
            title: d.title,
            shared: visibleProposals(ctx, actor, d.slug, 'shared').length,
          }))
        : null,
    });
  });

  // ── The round page ────────────────────────────────────────────────────────
  // Pieces of round pages kept between requests (render/fragments.ts), one cache per app.
  const fragments = new FragmentCache();

  const showRound = async (req: Request, res: Response, round: RoundRecord, extra: Locals = {}) => {
    const actor = req.actor ?? null;
    // Before anything is read: the version the kept pieces must be of.
    const kept = fragments.forPage(
      renderedStateVersion(ctx, render),
      (res.locals.csrfToken as string | undefined) ?? '',
    );
    const view = roundView(ctx, actor, round);
    const source = req.query.view === 'source';
    // The text under vote and what it changes: the same for every reader of the round.
    // Its paragraphs folded and its changes counted once too, not on every view.
    const { blocks, counts, html, rendered } = await kept.value(`round ${round.id} ${+source}`, async () => {
      const { base, text } = await roundTexts(ctx, round);
      const [changes, html, rendered] = await Promise.all([
        diffTexts(ctx, base, text),
        render.markdown(text, TEXT_UNDER),
        source ? null : render.renderedDiff(base, text, TEXT_UNDER),
      ]);
      return { blocks: foldParagraphs(changes), counts: changeCounts(changes), html, rendered };
    });
    // On a consolidation: where each change of the text under vote came from (as on its page).
    const c = round.subject.type === 'consolidation' ? findConsolidation(ctx, actor, round.subject.id) : undefined;
    const attribution = c
      ? attributionView(ctx, actor, await consolidationAttribution(ctx, actor, c.id, round.revision))
      : null;
    page(res, 'rounds/show', {
      title: `Round ${round.id}: ${view.subject.label}`,
      r: view,
      fragment: kept.fragment,
      large: kept.large,
      keys: roundPieceKeys(round, actor, source),
      html,
      attribution,
      changes: {
        source,
        rendered,
        blocks,
        toggle: diffToggle(`/rounds/${round.id}`, {}, 'changes-h'),
      },
      counts,
      ballotForm: {
        position: view.myBallot?.position ?? '',
        reason: view.myBallot?.reason ?? '',
        named: view.myBallot?.named ?? false,
      },
      recordForm: { voter: '', position: '', reason: '', note: '' },
      recuseForm: { reason: '' },
      recordRecusalForm: { voter: '', reason: '', note: '' },
      withdrawRecusalForm: { voter: '', note: '' },
      extendForm: { closesAt: toLocalInput(new Date(Date.parse(round.closesAt) + 86_400_000).toISOString()) },
      cancelForm: { reason: '' },
      minDeadline: nowInput(),
      notice: takeNotice(req),
      error: null,
      errorCode: null,
      errorFor: null,
      ...extra,
    });
  };

  /** The round as it is now (after a refused action, for the page shown again; the actor has just loaded it). */
  const fresh = (req: Request, round: RoundRecord) => loadRound(ctx, req.actor ?? null, round.id);

  r.get('/rounds/:id', async (req, res) => {
    await showRound(req, res, loadRound(ctx, req.actor ?? null, idOf(req, 'round')));
  });

  /** An action on a round: done → back to the round with a notice; a fixable refusal → the round page, beside the form used. */
  const roundAction = (
    path: string,
    errorFor: string,
    run: (req: Request, round: RoundRecord) => Promise<string>,
    form: (req: Request) => Locals = () => ({}),
  ) =>
    r.post(path, async (req, res) => {
      const round = loadRound(ctx, req.actor ?? null, idOf(req, 'round'));
      await orShow(
        res,
        (extra) => showRound(req, res, fresh(req, round), { ...form(req), ...extra }),
        async () => {
          const notice = await run(req, round);
          done(
            req,
            res,
            `/rounds/${round.id}${errorFor === 'ballot' || errorFor === 'recuse' ? '#your-ballot' : ''}`,
            notice,
          );
        },
        errorFor,
      );
    });

  const POSITION_WORDS: Record<string, string> = { approve: 'approve', object: 'object', abstain: 'abstain' };

  roundAction(
    '/rounds/:id/ballots',
    'ballot',
    async (req, round) => {
      const input = fromForm(BallotBody, {
        position: field(req, 'position') || undefined,
        reason: textarea(req, 'reason'),
        named: field(req, 'named') === 'yes',
      });
      const b = await castBallot(ctx, req.actor ?? null, round.id, input);
      return `Your ballot is recorded: ${POSITION_WORDS[b.position]}. Your receipt is ${ballotReceipt(ctx, b)}. You may change it until the round closes.`;
    },
    (req) => ({
      ballotForm: {
        position: field(req, 'position'),
        reason: textarea(req, 'reason'),
        named: field(req, 'named') === 'yes',
      },
    }),
  );

  roundAction(
    '/rounds/:id/recuse',
    'recuse',
    async (req, round) => {
      await recuse(ctx, req.actor ?? null, round.id, fromForm(RecusalBody, { reason: textarea(req, 'reason') }));
      return 'You stand aside from this round: you do not vote in it and are not counted in its electorate. You may withdraw this until the round closes.';
    },
    (req) => ({ recuseForm: { reason: textarea(req, 'reason') } }),
  );

  roundAction('/rounds/:id/recusal/withdraw', 'recuse', async (req, round) => {
    await withdrawRecusal(ctx, req.actor ?? null, round.id, {});
    return 'Your recusal is withdrawn: you may vote in this round again.';
  });

  roundAction(
    '/rounds/:id/withdraw-recusal-for',
    'withdraw-recusal-for',
    async (req, round) => {
      const voter = field(req, 'voter');
      const input = fromForm(WithdrawRecusalBody, { voter, note: textarea(req, 'note') });
      await withdrawRecusal(ctx, req.actor ?? null, round.id, input);
      return `The recusal of ${findUserByEmail(ctx, voter)?.name ?? 'the member'} is withdrawn: they are in the electorate again. They have been told by mail.`;
    },
    (req) => ({ withdrawRecusalForm: { voter: field(req, 'voter'), note: textarea(req, 'note') } }),
  );

  roundAction(
    '/rounds/:id/record-recusal',
    'record-recusal',
    async (req, round) => {
      const input = fromForm(RecusalBody, {
        voter: field(req, 'voter'),
        reason: textarea(req, 'reason'),
        note: textarea(req, 'note'),
      });
      const x = await recuse(ctx, req.actor ?? null, round.id, input);
      return `The recusal of ${userName(ctx, x.voterId, 'the member')} is recorded. They have been told by mail.`;
    },
    (req) => ({
      recordRecusalForm: { voter: field(req, 'voter'), reason: textarea(req, 'reason'), note: textarea(req, 'note') },
    }),
  );

  // Recording a ballot on a member's behalf takes two steps: what would be recorded, beside the
  // member's current ballot, then the confirmation. The rules are the service's (previewBallot).
  const recordInput = (req: Request) =>
    fromForm(BallotBody, {
      voter: field(req, 'voter'),
      position: field(req, 'position') || undefined,
      reason: textarea(req, 'reason'),
      note: textarea(req, 'note'),
    });
  r.post('/rounds/:id/record', async (req, res) => {
    const actor = req.actor ?? null;
    const round = loadRound(ctx, actor, idOf(req, 'round'));
    const form = {
      recordForm: {
        voter: field(req, 'voter'),
        position: field(req, 'position'),
        reason: textarea(req, 'reason'),
        note: textarea(req, 'note'),
      },
    };
    await orShow(
      res,
      (extra) => showRound(req, res, fresh(req, round), { ...form, ...extra }),
      async () => {
        if (field(req, 'confirm') !== 'yes') {
          const { draft, current } = previewBallot(ctx, actor, round.id, recordInput(req));
          const name = (id: number | null) => (id === null ? null : userName(ctx, id));
          return page(res, 'rounds/confirm-record', {
            title: `Record a ballot for ${name(draft.voterId)}`,
            round: roundItem(ctx, actor, round),
            member: name(draft.voterId),
            draft: { ...draft, position: POSITION_WORDS[draft.position] },
            current: current && {
              position: POSITION_WORDS[current.position],
              reason: current.reason,
              castAt: current.castAt,
              recordedBy: name(current.recordedBy),
            },
            form: form.recordForm,
          });
        }
        const b = await castBallot(ctx, actor, round.id, recordInput(req));
        done(
          req,
          res,
          `/rounds/${round.id}`,
          `The ballot of ${userName(ctx, b.voterId, 'the member')} is recorded on their behalf: ${POSITION_WORDS[b.position]}. They have been told by mail.`,
        );
      },
      'record',
    );
  });

  roundAction('/rounds/:id/close', 'close', async (req, round) => {
    const closed = await closeRound(ctx, req.actor ?? null, round.id);
    return `The round is closed: ${closed.result === 'no-quorum' ? 'no quorum' : closed.result}.`;
  });

  roundAction(
    '/rounds/:id/extend',
    'extend',
    async (req, round) => {
      const input = fromForm(ExtendRoundBody, { closesAt: deadlineFromForm((k) => field(req, k)) });
      const next = await extendRound(ctx, req.actor ?? null, round.id, input);
      return `The deadline is now ${next.closesAt.slice(0, 16).replace('T', ' ')} UTC.`;
    },
    (req) => ({ extendForm: { closesAt: deadlineShownAgain((k) => field(req, k)) } }),
  );

  roundAction(
    '/rounds/:id/cancel',
    'cancel',
    async (req, round) => {
      await cancelRound(
        ctx,
        req.actor ?? null,
        round.id,
        fromForm(CancelRoundBody, { reason: textarea(req, 'reason') }),
      );
      return 'The round was cancelled. Its text can be edited again.';
    },
    (req) => ({ cancelForm: { reason: textarea(req, 'reason') } }),
  );

  return r;
}
