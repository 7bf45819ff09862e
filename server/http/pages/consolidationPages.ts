import { Router, type Request, type Response } from 'express';
import { foldParagraphs } from '../../domain/diff.js';
import { diffTexts } from '../../services/diffTexts.js';
import { DomainError } from '../../domain/errors.js';
import { findConflicts } from '../../domain/merge.js';
import type { Ctx } from '../../services/context.js';
import { consolidationCommentable } from '../../services/consolidations/commentable.js';
import {
  abandonConsolidation,
  consolidationText,
  createConsolidation,
  documentToConsolidate,
  listOpenConsolidations,
  loadConsolidation,
  rebuildConsolidation,
  reviseConsolidation,
} from '../../services/consolidations/consolidations.js';
import { consolidationAttribution } from '../../services/consolidations/attribution.js';
import { publishConsolidation } from '../../services/consolidations/publish.js';
import { placedCommentsOf } from '../../services/proposals/comments.js';
import { baseText, revisionsOf, revisionText } from '../../services/proposals/read.js';
import { userName } from '../../services/accounts/users.js';
import { visibleProposals } from '../../services/proposals/access.js';
import { documentTitle } from '../../services/readDocuments.js';
import { openRound } from '../../services/rounds/rounds.js';
import type { ConsolidationRecord } from '../../store/meta/schema.js';
import { changeCounts } from '../presenters/changeCounts.js';
import { mayResolveThread, proposalItem, TEXT_UNDER, textView, type ThreadView } from '../presenters/proposalView.js';
import { diffToggle } from '../presenters/diffToggle.js';
import type { Renderer } from '../render/renderer.js';
import { consolidationView } from '../presenters/consolidationView.js';
import { attributionView } from '../presenters/attributionView.js';
import { openRoundInput, roundFormLocals, typedRoundForm } from '../presenters/roundForm.js';
import { commentPages } from './commentPages.js';
import { checked, done, field, fromForm, idOf, orShow, takeNotice, textarea, type Locals } from './formHelpers.js';
import { CreateConsolidationBody, PublishBody, ReviseConsolidationBody } from '../schemas/index.js';
import { page, sendDocx } from './render.js';

/** Consolidations, as pages: consolidate shared proposals, resolve and edit the text, open its round, publish. */
export function consolidationPages(ctx: Ctx, render: Renderer): Router {
  const r = Router();

  // ── Consolidate: pick shared proposals ───────────────────────────────────
  const consolidateForm = (
    req: Request,
    res: Response,
    slug: string,
    form = { proposals: [] as number[], summary: '' },
    extra: Locals = {},
  ) => {
    const doc = documentToConsolidate(ctx, req.actor ?? null, slug);
    const shared = visibleProposals(ctx, req.actor ?? null, doc.slug, 'shared')
      .reverse()
      .map((p) => ({ ...proposalItem(ctx, p), checked: form.proposals.includes(p.id) }));
    const existing = listOpenConsolidations(ctx, req.actor ?? null, doc.slug).map((c) => ({
      id: c.id,
      summary: c.summary,
      createdAt: c.createdAt,
      proposals: c.proposals,
    }));
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
    // Who may not consolidate is refused (404 / 403 / 401) before this page checks the form itself.
    documentToConsolidate(ctx, req.actor ?? null, slug);
    const form = {
      proposals: checked(req, 'proposals')
        .filter((v) => /^[1-9][0-9]{0,8}$/.test(v))
        .map(Number),
      summary: textarea(req, 'summary'),
    };
    await orShow(
      res,
      (extra) => consolidateForm(req, res, slug, form, extra),
      async () => {
        const c = await createConsolidation(ctx, req.actor ?? null, slug, fromForm(CreateConsolidationBody, form));
        const conflicts = findConflicts(await consolidationText(ctx, c)).length;
        done(
          req,
          res,
          `/consolidations/${c.id}`,
          conflicts
            ? `Consolidation ${c.id} is made, with ${conflicts} conflict${conflicts === 1 ? '' : 's'} to resolve before it can be put to a round.`
            : `Consolidation ${c.id} is made. Check the text, then open an approval round.`,
        );
      },
      'consolidate',
    );
  });

  // ── The consolidation page ────────────────────────────────────────────────
  const showConsolidation = async (req: Request, res: Response, c: ConsolidationRecord, extra: Locals = {}) => {
    const actor = req.actor ?? null;
    const text = await consolidationText(ctx, c);
    const conflicts = findConflicts(text);
    const head = consolidationView(ctx, actor, c, conflicts);
    const base = await baseText(ctx, c);
    const changes = await diffTexts(ctx, base, text);
    const blocks = foldParagraphs(changes);
    // Where each change came from, computed from the revisions (all changes, or the chair's alone).
    const attribution = attributionView(ctx, actor, await consolidationAttribution(ctx, actor, c.id), {
      editorialOnly: req.query.view === 'editorial',
      href: `/consolidations/${c.id}`,
    });
    const ref = { type: 'consolidation' as const, id: c.id };
    const placed = await placedCommentsOf(ctx, ref, c.revisions);
    const source = req.query.view === 'source';
    const rendered = source ? null : await render.renderedDiff(base, text, TEXT_UNDER);
    // The text in paragraphs, each with the threads on its passages beside it (under it on a
    // phone), the passages of open threads marked and linked with their threads — as on a proposal.
    const textRows = await textView(ctx, render, text, placed);
    const threads = [...textRows.outdated, ...textRows.general];
    const html = '';
    page(res, 'consolidations/show', {
      title: `Consolidation ${c.id}: ${documentTitle(ctx, c.document)}`,
      c: head,
      html,
      changes: {
        source,
        rendered,
        blocks,
        toggle: diffToggle(`/consolidations/${c.id}`, {}, 'changes-h'),
      },
      attribution,
      counts: changeCounts(changes),
      threads,
      text: textRows,
      mayResolveThread: (t: ThreadView) => mayResolveThread(head.may, t, actor?.id ?? null),
      ...roundFormLocals(ctx),
      publishForm: { summary: c.summary },
      comment: { body: '', quote: '', replyTo: null },
      notice: takeNotice(req),
      error: null,
      errorCode: null,
      errorFor: null,
      ...extra,
    });
  };

  /** The consolidation as it is now (after a refused action, for the page shown again; the actor has just loaded it). */
  const fresh = (req: Request, c: ConsolidationRecord) => loadConsolidation(ctx, req.actor ?? null, c.id);

  // The candidate text's changes to the published text as a Word file with tracked changes (issue
  // 15), for a secretariat to circulate before the final vote: who may see the consolidation.
  r.get('/consolidations/:id/changes.docx', async (req, res) => {
    const c = loadConsolidation(ctx, req.actor ?? null, idOf(req, 'consolidation'));
    const [base, text] = await Promise.all([baseText(ctx, c), consolidationText(ctx, c)]);
    const title = documentTitle(ctx, c.document);
    const file = await render.wordChanges(
      base,
      text,
      {
        title: `${title}: consolidation ${c.id}, revision ${c.revisions}`,
        description: `The changes consolidation ${c.id} (revision ${c.revisions}) makes to version ${c.baseVersion} of ${title}, as tracked changes.`,
      },
      { author: 'Ratify', date: new Date(c.updatedAt).toISOString().replace(/\.\d{3}Z$/, 'Z') },
    );
    res.set('Cache-Control', 'private, no-cache');
    sendDocx(res, `${c.document}-consolidation-${c.id}-r${c.revisions}.docx`, file);
  });

  r.get('/consolidations/:id', async (req, res) => {
    await showConsolidation(req, res, loadConsolidation(ctx, req.actor ?? null, idOf(req, 'consolidation')));
  });

  /** A chair's action on a consolidation: done → where `run` says, with a notice; a fixable refusal → the page with the reason. */
  const consolidationAction = (
    path: string,
    errorFor: string,
    run: (req: Request, res: Response, c: ConsolidationRecord) => Promise<void>,
    form: (req: Request) => Locals = () => ({}),
  ) =>
    r.post(path, async (req, res) => {
      const c = loadConsolidation(ctx, req.actor ?? null, idOf(req, 'consolidation'), 'consolidation.manage');
      await orShow(
        res,
        (extra) => showConsolidation(req, res, fresh(req, c), { ...form(req), ...extra }),
        () => run(req, res, c),
        errorFor,
      );
    });

  consolidationAction(
    '/consolidations/:id/rounds',
    'round',
    async (req, res, c) => {
      const input = openRoundInput(
        typedRoundForm((k) => field(req, k)),
        { type: 'consolidation', id: c.id },
        ctx.clock(),
      );
      const round = await openRound(ctx, req.actor ?? null, input);
      done(
        req,
        res,
        `/rounds/${round.id}`,
        `Round ${round.id} is open. The text is frozen until the round closes or is cancelled.`,
      );
    },
    (req) => ({ roundForm: typedRoundForm((k) => field(req, k)) }),
  );

  consolidationAction('/consolidations/:id/abandon', 'abandon', async (req, res, c) => {
    await abandonConsolidation(ctx, req.actor ?? null, c.id);
    done(
      req,
      res,
      `/consolidations/${c.id}`,
      'The consolidation was abandoned. Its proposals stay shared and can be consolidated again.',
    );
  });

  consolidationAction('/consolidations/:id/rebuild', 'rebuild', async (req, res, c) => {
    const next = await rebuildConsolidation(ctx, req.actor ?? null, c.id);
    done(
      req,
      res,
      `/consolidations/${next.id}`,
      `Consolidation ${next.id} rebuilds consolidation ${c.id} on the current published version.`,
    );
  });

  consolidationAction(
    '/consolidations/:id/publish',
    'publish',
    async (req, res, c) => {
      const v = await publishConsolidation(
        ctx,
        req.actor ?? null,
        c.id,
        fromForm(PublishBody, { summary: textarea(req, 'summary') }),
      );
      done(
        req,
        res,
        `/consolidations/${c.id}`,
        `Published as version ${v.number} of ${documentTitle(ctx, v.document)}.`,
      );
    },
    (req) => ({ publishForm: { summary: textarea(req, 'summary') } }),
  );

  // ── Editing the consolidated text ─────────────────────────────────────────
  const editForm = async (
    req: Request,
    res: Response,
    c: ConsolidationRecord,
    form: { text: string; head: string },
    extra: Locals = {},
  ) => {
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
    const form = { text: textarea(req, 'text'), head: field(req, 'head'), message: field(req, 'message') };
    try {
      const next = await reviseConsolidation(ctx, actor, c.id, fromForm(ReviseConsolidationBody, form));
      const left = findConflicts(await consolidationText(ctx, next)).length;
      done(
        req,
        res,
        `/consolidations/${c.id}`,
        `Revision ${next.revisions} is saved.${left ? ` ${left} conflict${left === 1 ? ' remains' : 's remain'} to resolve.` : ''}`,
      );
    } catch (e) {
      if (!(e instanceof DomainError && e.code === 'stale_head')) {
        return orShow(
          res,
          (extra) => editForm(req, res, fresh(req, c), form, extra),
          () => Promise.reject(e),
          'edit',
        );
      }
      // Someone saved first: nothing was written. Show their change, keep this person's text,
      // and let a second save go through only deliberately (on the head they have now seen).
      const now = fresh(req, c);
      const revisions = revisionsOf(ctx, { type: 'consolidation', id: c.id }, now.revisions);
      const started = revisions.find((x) => x.commit === form.head);
      const theirs = started
        ? await diffTexts(ctx, await revisionText(ctx, started), await consolidationText(ctx, now))
        : null;
      res.status(409);
      await editForm(
        req,
        res,
        now,
        { ...form, head: now.head },
        {
          error: 'Someone saved a newer revision while you were editing.',
          errorCode: 'stale_head',
          errorFor: 'edit',
          stale: {
            from: started?.n ?? null,
            to: now.revisions,
            by: [
              ...new Set(revisions.filter((x) => !started || x.n > started.n).map((x) => userName(ctx, x.authorId))),
            ],
            at: revisions[revisions.length - 1]?.at ?? now.updatedAt,
            blocks: theirs ? foldParagraphs(theirs) : null,
          },
        },
      );
    }
  });

  // ── Comments on a consolidation ───────────────────────────────────────────
  commentPages(r, ctx, {
    base: '/consolidations',
    what: 'consolidation',
    load: (actor, id) => loadConsolidation(ctx, actor, id),
    commentable: (c) => consolidationCommentable(ctx, c),
    show: (req, res, c, extra) => showConsolidation(req, res, fresh(req, c), extra),
  });

  return r;
}
