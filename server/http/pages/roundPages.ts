import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { diffProse, foldParagraphs, type Change } from '../../domain/diff.js';
import { DomainError, invalid, notFound } from '../../domain/errors.js';
import { findConflicts } from '../../domain/merge.js';
import { authorize, can } from '../../domain/policy.js';
import { documentPath } from '../../domain/slug.js';
import type { Ctx } from '../../services/context.js';
import { consolidationCommentable } from '../../services/consolidations/commentable.js';
import {
  abandonConsolidation,
  consolidationText,
  createConsolidation,
  loadConsolidation,
  rebuildConsolidation,
  reviseConsolidation,
} from '../../services/consolidations/consolidations.js';
import { publishConsolidation } from '../../services/consolidations/publish.js';
import { addComment, commentsOf, placeComments, setResolved } from '../../services/proposals/comments.js';
import { baseText, proposalText, revisionsOf } from '../../services/proposals/read.js';
import { getDocument } from '../../services/readDocuments.js';
import { cancelRound, castBallot, closeRound, extendRound, loadRound, openRound } from '../../services/rounds/rounds.js';
import type { ConsolidationRecord, RoundRecord } from '../../store/meta/schema.js';
import { STATUS } from '../errors.js';
import { markdownUnder, proposalItem, threadsOf } from '../presenters/proposalView.js';
import { attributeBlocks, consolidationView, roundItem, roundView, ruleOptions } from '../presenters/roundView.js';
import { PositiveInt } from '../validate.js';
import { deadlineFromLocal, quorumFromPercent, suggestedDeadline as suggestAt, toLocalInput } from '../presenters/roundForm.js';
import { page } from './render.js';

type Locals = Record<string, unknown>;
type Show = (extra: Locals) => Promise<void> | void;

const Id = z.object({ id: PositiveInt });
const CommentIds = z.object({ id: PositiveInt, cid: PositiveInt });

/** One text field of a form post ('' when absent or not text). */
const field = (req: Request, name: string) => {
  const v = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : '';
};
/** A textarea as typed: browsers send CRLF line ends, the texts keep LF. */
const textarea = (req: Request, name: string) => field(req, name).replace(/\r\n?/g, '\n');
/** Every value of a repeated field (checkboxes): one value arrives as a string, several as an array. */
const values = (req: Request, name: string): string[] => {
  const v = (req.body as Record<string, unknown> | undefined)?.[name];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
};

const idOf = (req: Request, what: string) => {
  const r = Id.safeParse(req.params);
  if (!r.success) throw notFound(`${what}_not_found`, `There is no such ${what}.`);
  return r.data.id;
};

const takeNotice = (req: Request) => {
  const notice = req.session.notice ?? null;
  delete req.session.notice;
  return notice;
};

const done = (req: Request, res: Response, to: string, notice: string) => {
  req.session.notice = notice;
  res.redirect(303, to);
};

/**
 * Refusals a person can fix (bad input, a clash with the current state) are shown on the page
 * they came from, beside the form they used (`errorFor`), with the right status and what they
 * typed; what they may not see or do goes to the error page (404, 403, 401).
 */
async function orShow(res: Response, show: Show, errorFor: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof DomainError) || e.kind === 'forbidden' || e.kind === 'unauthenticated' || e.kind === 'not_found') throw e;
    res.status(STATUS[e.kind]);
    await show({ error: e.message, errorCode: e.code, errorFor });
  }
}

const counts = (changes: Change[]) => ({
  inserted: changes.filter((c) => c.op === 'insert').length,
  deleted: changes.filter((c) => c.op === 'delete').length,
});

/** Approval rounds and consolidations, as pages: consolidate, resolve, vote, close, publish. */
export function roundPages(ctx: Ctx): Router {
  const r = Router();

  const nowInput = () => toLocalInput(ctx.clock().toISOString());

  // ── Consolidate: pick shared proposals ───────────────────────────────────
  /** The document, if the actor may consolidate it (404 / 403 / 401 otherwise). */
  const forConsolidating = (req: Request, slug: string) => {
    const doc = getDocument(ctx, slug);
    authorize(req.actor ?? null, 'consolidation.manage', { kind: 'consolidation', group: doc.group }, 'document');
    return doc;
  };

  const consolidateForm = (req: Request, res: Response, slug: string, form = { proposals: [] as number[], summary: '' }, extra: Locals = {}) => {
    const doc = forConsolidating(req, slug);
    const shared = ctx.meta
      .all('proposals')
      .filter((p) => p.document === doc.slug && p.state === 'shared')
      .sort((a, b) => a.id - b.id)
      .map((p) => ({ ...proposalItem(ctx, p), checked: form.proposals.includes(p.id) }));
    const existing = ctx.meta
      .all('consolidations')
      .filter((c) => c.document === doc.slug && c.state === 'open')
      .sort((a, b) => b.id - a.id)
      .map((c) => ({ id: c.id, summary: c.summary, createdAt: c.createdAt, proposals: c.proposals }));
    page(res, 'consolidations/new', {
      title: `Consolidate proposals for ${doc.title}`,
      doc: { slug: doc.slug, title: doc.title, latest: doc.latest },
      proposals: shared,
      existing,
      form,
      notice: null,
      error: null,
      errorCode: null,
      errorFor: null,
      ...extra,
    });
  };

  r.get('/documents/:slug/consolidate', (req, res) => consolidateForm(req, res, req.params.slug));

  r.post('/documents/:slug/consolidate', async (req, res) => {
    const slug = req.params.slug;
    forConsolidating(req, slug);
    const form = { proposals: values(req, 'proposals').filter((v) => /^[1-9][0-9]{0,8}$/.test(v)).map(Number), summary: textarea(req, 'summary') };
    await orShow(res, (extra) => consolidateForm(req, res, slug, form, extra), 'consolidate', async () => {
      if (!form.proposals.length) throw invalid('invalid_proposals', 'Tick at least one shared proposal to consolidate.');
      const c = await createConsolidation(ctx, req.actor ?? null, slug, form);
      const conflicts = findConflicts(await consolidationText(ctx, c)).length;
      done(
        req,
        res,
        `/consolidations/${c.id}`,
        conflicts
          ? `Consolidation ${c.id} is made, with ${conflicts} conflict${conflicts === 1 ? '' : 's'} to resolve before it can be put to a round.`
          : `Consolidation ${c.id} is made. Check the text, then open an approval round.`,
      );
    });
  });

  // ── The consolidation page ────────────────────────────────────────────────
  const showConsolidation = async (req: Request, res: Response, c: ConsolidationRecord, extra: Locals = {}) => {
    const actor = req.actor ?? null;
    const text = await consolidationText(ctx, c);
    const conflicts = findConflicts(text);
    const head = consolidationView(ctx, actor, c, conflicts);
    const changes = diffProse(await baseText(ctx, c), text);
    const blocks = foldParagraphs(changes);
    const theirs: { id: number; changes: Change[] }[] = [];
    for (const id of c.proposals) {
      const p = ctx.meta.get('proposals', id);
      if (p) theirs.push({ id, changes: diffProse(await baseText(ctx, p), await proposalText(ctx, p)) });
    }
    const sources = attributeBlocks(blocks, theirs).map((ids) => head.proposals.filter((p) => ids.includes(p.id)));
    const ref = { type: 'consolidation' as const, id: c.id };
    const placed = await placeComments(ctx, ref, c.revisions, commentsOf(ctx, ref));
    page(res, 'consolidations/show', {
      title: `Consolidation ${c.id}: ${ctx.meta.get('documents', c.document)?.title ?? c.document}`,
      c: head,
      html: markdownUnder(text, 2),
      blocks,
      sources,
      counts: counts(changes),
      threads: threadsOf(ctx, placed, actor).map((t) => t.view),
      rules: ruleOptions(),
      roundForm: { rule: 'consensus', quorum: '50', closesAt: suggestAt(ctx.clock()) },
      publishForm: { summary: c.summary },
      comment: { body: '', quote: '', replyTo: null },
      minDeadline: nowInput(),
      notice: takeNotice(req),
      error: null,
      errorCode: null,
      errorFor: null,
      ...extra,
    });
  };

  /** The consolidation as it is now (after a refused action, for the page shown again). */
  const fresh = (c: ConsolidationRecord) => ctx.meta.get('consolidations', c.id) ?? c;

  r.get('/consolidations/:id', async (req, res) => {
    await showConsolidation(req, res, loadConsolidation(ctx, req.actor ?? null, idOf(req, 'consolidation')));
  });

  /** A chair's action on a consolidation: done → where `run` says, with a notice; a fixable refusal → the page with the reason. */
  const consolidationAction = (path: string, errorFor: string, run: (req: Request, res: Response, c: ConsolidationRecord) => Promise<void>, form: (req: Request) => Locals = () => ({})) =>
    r.post(path, async (req, res) => {
      const c = loadConsolidation(ctx, req.actor ?? null, idOf(req, 'consolidation'), 'consolidation.manage');
      await orShow(res, (extra) => showConsolidation(req, res, fresh(c), { ...form(req), ...extra }), errorFor, () => run(req, res, c));
    });

  consolidationAction(
    '/consolidations/:id/rounds',
    'round',
    async (req, res, c) => {
      const round = await openRound(ctx, req.actor ?? null, {
        subject: { type: 'consolidation', id: c.id },
        rule: field(req, 'rule'),
        quorum: quorumFromPercent(field(req, 'quorum')),
        closesAt: deadlineFromLocal(field(req, 'closesAt')),
      });
      done(req, res, `/rounds/${round.id}`, `Round ${round.id} is open. The text is frozen until the round closes or is cancelled.`);
    },
    (req) => ({ roundForm: { rule: field(req, 'rule'), quorum: field(req, 'quorum'), closesAt: field(req, 'closesAt') } }),
  );

  consolidationAction('/consolidations/:id/abandon', 'abandon', async (req, res, c) => {
    await abandonConsolidation(ctx, req.actor ?? null, c.id);
    done(req, res, `/consolidations/${c.id}`, 'The consolidation was abandoned. Its proposals stay shared and can be consolidated again.');
  });

  consolidationAction('/consolidations/:id/rebuild', 'rebuild', async (req, res, c) => {
    const next = await rebuildConsolidation(ctx, req.actor ?? null, c.id);
    done(req, res, `/consolidations/${next.id}`, `Consolidation ${next.id} rebuilds consolidation ${c.id} on the current published version.`);
  });

  consolidationAction(
    '/consolidations/:id/publish',
    'publish',
    async (req, res, c) => {
      const v = await publishConsolidation(ctx, req.actor ?? null, c.id, { summary: textarea(req, 'summary') });
      done(req, res, `/consolidations/${c.id}`, `Published as version ${v.number} of ${ctx.meta.get('documents', v.document)?.title ?? v.document}.`);
    },
    (req) => ({ publishForm: { summary: textarea(req, 'summary') } }),
  );

  // ── Editing the consolidated text ─────────────────────────────────────────
  const editForm = async (req: Request, res: Response, c: ConsolidationRecord, form: { text: string; head: string }, extra: Locals = {}) => {
    const text = await consolidationText(ctx, c);
    page(res, 'consolidations/edit', {
      title: `Edit consolidation ${c.id}`,
      c: consolidationView(ctx, req.actor ?? null, c, findConflicts(text)),
      form,
      notice: null,
      error: null,
      errorCode: null,
      errorFor: null,
      stale: null,
      ...extra,
    });
  };

  r.get('/consolidations/:id/edit', async (req, res) => {
    const c = loadConsolidation(ctx, req.actor ?? null, idOf(req, 'consolidation'), 'consolidation.manage');
    await editForm(req, res, c, { text: await consolidationText(ctx, c), head: c.head });
  });

  r.post('/consolidations/:id/edit', async (req, res) => {
    const actor = req.actor ?? null;
    const c = loadConsolidation(ctx, actor, idOf(req, 'consolidation'), 'consolidation.manage');
    const form = { text: textarea(req, 'text'), head: field(req, 'head') };
    try {
      const next = await reviseConsolidation(ctx, actor, c.id, form);
      const left = findConflicts(await consolidationText(ctx, next)).length;
      done(req, res, `/consolidations/${c.id}`, `Revision ${next.revisions} is saved.${left ? ` ${left} conflict${left === 1 ? ' remains' : 's remain'} to resolve.` : ''}`);
    } catch (e) {
      if (!(e instanceof DomainError && e.code === 'stale_head')) {
        return orShow(res, (extra) => editForm(req, res, fresh(c), form, extra), 'edit', () => Promise.reject(e));
      }
      // Someone saved first: nothing was written. Show their change, keep this person's text,
      // and let a second save go through only deliberately (on the head they have now seen).
      const now = fresh(c);
      const revisions = revisionsOf(ctx, { type: 'consolidation', id: c.id }, now.revisions);
      const started = revisions.find((x) => x.commit === form.head);
      const theirs = started ? diffProse(await ctx.repo.readBlobText(started.blob), await consolidationText(ctx, now)) : null;
      res.status(409);
      await editForm(req, res, now, { ...form, head: now.head }, {
        error: 'Someone saved a newer revision while you were editing.',
        errorCode: 'stale_head',
        errorFor: 'edit',
        stale: {
          from: started?.n ?? null,
          to: now.revisions,
          by: [...new Set(revisions.filter((x) => !started || x.n > started.n).map((x) => ctx.meta.get('users', x.authorId)?.name ?? `user ${x.authorId}`))],
          at: revisions[revisions.length - 1]?.at ?? now.updatedAt,
          blocks: theirs ? foldParagraphs(theirs) : null,
        },
      });
    }
  });

  // ── Comments on a consolidation ───────────────────────────────────────────
  r.post('/consolidations/:id/comments', async (req, res) => {
    const actor = req.actor ?? null;
    const c = loadConsolidation(ctx, actor, idOf(req, 'consolidation'));
    const reply = field(req, 'replyTo');
    const comment = { body: textarea(req, 'body'), quote: textarea(req, 'quote').trim(), replyTo: /^[1-9][0-9]{0,8}$/.test(reply) ? Number(reply) : null };
    await orShow(res, (extra) => showConsolidation(req, res, fresh(c), { comment, ...extra }), 'comment', async () => {
      const made = await addComment(ctx, actor, consolidationCommentable(ctx, c), {
        body: comment.body,
        anchor: comment.quote && comment.replyTo === null ? { quote: comment.quote } : undefined,
        replyTo: reply ? reply : undefined,
      });
      done(req, res, `/consolidations/${c.id}#comment-${made.id}`, made.replyTo ? 'Your reply was added.' : 'Your comment was added.');
    });
  });

  for (const [verb, resolved] of [['resolve', true], ['reopen', false]] as const) {
    r.post(`/consolidations/:id/comments/:cid/${verb}`, async (req, res) => {
      const ids = CommentIds.safeParse(req.params);
      if (!ids.success) throw notFound('comment_not_found', 'There is no such comment here.');
      const c = loadConsolidation(ctx, req.actor ?? null, ids.data.id);
      await orShow(res, (extra) => showConsolidation(req, res, fresh(c), extra), 'comment', async () => {
        const root = await setResolved(ctx, req.actor ?? null, consolidationCommentable(ctx, c), ids.data.cid, resolved);
        done(req, res, `/consolidations/${c.id}#thread-${root.id}`, resolved ? 'The thread is resolved.' : 'The thread is open again.');
      });
    });
  }

  // ── Rounds ────────────────────────────────────────────────────────────────
  r.get('/rounds', (req, res) => {
    const actor = req.actor ?? null;
    authorize(actor, 'round.read');
    const all = ctx.meta.all('rounds');
    const open = all
      .filter((x) => x.state === 'open')
      .map((x) => roundItem(ctx, actor, x))
      // "You have not voted" first, then the nearest deadline.
      .sort((a, b) => Number(b.eligible && !b.myPosition) - Number(a.eligible && !a.myPosition) || a.closesAt.localeCompare(b.closesAt) || a.id - b.id);
    const closed = all
      .filter((x) => x.state !== 'open')
      .sort((a, b) => (b.closedAt ?? '').localeCompare(a.closedAt ?? '') || b.id - a.id)
      .slice(0, 20)
      .map((x) => roundItem(ctx, actor, x));
    const manage = can(actor, 'consolidation.manage');
    page(res, 'rounds/index', {
      title: 'Rounds',
      notice: takeNotice(req),
      open,
      closed,
      consolidations: manage
        ? ctx.meta
            .all('consolidations')
            .filter((c) => c.state === 'open')
            .sort((a, b) => b.id - a.id)
            .map((c) => ({ id: c.id, summary: c.summary, document: ctx.meta.get('documents', c.document)?.title ?? c.document, openRound: c.openRound }))
        : null,
      documents: manage
        ? ctx.meta
            .all('documents')
            .filter((d) => d.latest > 0)
            .sort((a, b) => a.title.localeCompare(b.title))
            .map((d) => ({ slug: d.slug, title: d.title, shared: ctx.meta.all('proposals').filter((p) => p.document === d.slug && p.state === 'shared').length }))
        : null,
    });
  });

  const showRound = async (req: Request, res: Response, round: RoundRecord, extra: Locals = {}) => {
    const actor = req.actor ?? null;
    const view = roundView(ctx, actor, round);
    const text = (await ctx.repo.readFile(round.commit, documentPath(round.document)))?.text ?? '';
    const subject = round.subject.type === 'consolidation' ? ctx.meta.get('consolidations', round.subject.id) : ctx.meta.get('proposals', round.subject.id);
    const changes = diffProse(subject ? await baseText(ctx, { base: subject.base, document: round.document }) : '', text);
    page(res, 'rounds/show', {
      title: `Round ${round.id}: ${view.subject.label}`,
      r: view,
      html: markdownUnder(text, 2),
      blocks: foldParagraphs(changes),
      counts: counts(changes),
      ballotForm: { position: view.myBallot?.position ?? '', reason: view.myBallot?.reason ?? '' },
      recordForm: { voter: '', position: '', reason: '' },
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

  r.get('/rounds/:id', async (req, res) => {
    await showRound(req, res, loadRound(ctx, req.actor ?? null, idOf(req, 'round')));
  });

  /** An action on a round: done → back to the round with a notice; a fixable refusal → the round page, beside the form used. */
  const roundAction = (path: string, errorFor: string, run: (req: Request, round: RoundRecord) => Promise<string>, form: (req: Request) => Locals = () => ({})) =>
    r.post(path, async (req, res) => {
      const round = loadRound(ctx, req.actor ?? null, idOf(req, 'round'));
      await orShow(res, (extra) => showRound(req, res, ctx.meta.get('rounds', round.id) ?? round, { ...form(req), ...extra }), errorFor, async () => {
        const notice = await run(req, round);
        done(req, res, `/rounds/${round.id}${errorFor === 'ballot' ? '#your-ballot' : ''}`, notice);
      });
    });

  const POSITION_WORDS: Record<string, string> = { approve: 'approve', object: 'object', abstain: 'abstain' };

  roundAction(
    '/rounds/:id/ballots',
    'ballot',
    async (req, round) => {
      const b = await castBallot(ctx, req.actor ?? null, round.id, { position: field(req, 'position') || undefined, reason: textarea(req, 'reason') });
      return `Your ballot is recorded: ${POSITION_WORDS[b.position]}. You may change it until the round closes.`;
    },
    (req) => ({ ballotForm: { position: field(req, 'position'), reason: textarea(req, 'reason') } }),
  );

  roundAction(
    '/rounds/:id/record',
    'record',
    async (req, round) => {
      const actor = req.actor ?? null;
      authorize(actor, 'ballot.record');
      const voter = field(req, 'voter');
      if (!voter) throw invalid('invalid_voter', 'Choose the member whose ballot you record.');
      const b = await castBallot(ctx, actor, round.id, { position: field(req, 'position') || undefined, reason: textarea(req, 'reason'), voter });
      return `The ballot of ${ctx.meta.get('users', b.voterId)?.name ?? voter} is recorded on their behalf: ${POSITION_WORDS[b.position]}.`;
    },
    (req) => ({ recordForm: { voter: field(req, 'voter'), position: field(req, 'position'), reason: textarea(req, 'reason') } }),
  );

  roundAction('/rounds/:id/close', 'close', async (req, round) => {
    const closed = await closeRound(ctx, req.actor ?? null, round.id);
    return `The round is closed: ${closed.result === 'no-quorum' ? 'no quorum' : closed.result}.`;
  });

  roundAction(
    '/rounds/:id/extend',
    'extend',
    async (req, round) => {
      const next = await extendRound(ctx, req.actor ?? null, round.id, { closesAt: deadlineFromLocal(field(req, 'closesAt')) });
      return `The deadline is now ${next.closesAt.slice(0, 16).replace('T', ' ')} UTC.`;
    },
    (req) => ({ extendForm: { closesAt: field(req, 'closesAt') } }),
  );

  roundAction(
    '/rounds/:id/cancel',
    'cancel',
    async (req, round) => {
      await cancelRound(ctx, req.actor ?? null, round.id, { reason: textarea(req, 'reason') });
      return 'The round was cancelled. Its text can be edited again.';
    },
    (req) => ({ cancelForm: { reason: textarea(req, 'reason') } }),
  );

  return r;
}
