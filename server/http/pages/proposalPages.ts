import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { diffProse, foldParagraphs, type Change } from '../../domain/diff.js';
import { DomainError, notFound } from '../../domain/errors.js';
import { authorize } from '../../domain/policy.js';
import { checkProse, checkText, checkTitle, MAX_RATIONALE_BYTES } from '../../domain/text.js';
import type { Ctx } from '../../services/context.js';
import { loadProposal, proposalSubject, visibleProposals } from '../../services/proposals/access.js';
import { addComment, commentsOf, placeComments, setResolved } from '../../services/proposals/comments.js';
import { proposalCommentable } from '../../services/proposals/commentable.js';
import { createProposal, reviseProposal, shareProposal, withdrawProposal } from '../../services/proposals/proposals.js';
import { baseText, proposalDiff, proposalText, revisionsOf } from '../../services/proposals/read.js';
import { getDocument, getVersion, listVersions, versionText } from '../../services/readDocuments.js';
import type { ProposalRecord } from '../../store/meta/schema.js';
import { STATUS } from '../errors.js';
import { awaitingReply, markdownUnder, proposalHead, proposalItem, revisionsView, textView } from '../presenters/proposalView.js';
import { parse, PositiveInt } from '../validate.js';
import { deadlineFromLocal, quorumFromPercent, roundFormLocals } from '../presenters/roundForm.js';
import { openRound } from '../../services/rounds/rounds.js';
import { page } from './render.js';

type Locals = Record<string, unknown>;
type Show = (extra: Locals) => Promise<void> | void;

const Id = z.object({ id: PositiveInt });
const CommentIds = z.object({ id: PositiveInt, cid: PositiveInt });
const ViewQuery = z.object({
  tab: z.enum(['text', 'changes', 'revisions']).optional(),
  from: PositiveInt.optional(),
  to: PositiveInt.optional(),
  against: z.enum(['base', 'published']).optional(),
});
type View = z.infer<typeof ViewQuery>;

/** One text field of a form post ('' when absent or not text). */
const field = (req: Request, name: string) => {
  const v = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : '';
};
/** A textarea as typed: browsers send CRLF line ends, the texts keep LF. */
const textarea = (req: Request, name: string) => field(req, name).replace(/\r\n?/g, '\n');

const idOf = (req: Request) => {
  const r = Id.safeParse(req.params);
  if (!r.success) throw notFound('proposal_not_found', 'There is no such proposal.');
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
 * they came from with the right status and what they typed; what they may not see or do goes
 * to the error page (404, 403, 401).
 */
async function orShow(res: Response, show: Show, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof DomainError) || e.kind === 'forbidden' || e.kind === 'unauthenticated' || e.kind === 'not_found') throw e;
    res.status(STATUS[e.kind]);
    await show({ error: e.message, errorCode: e.code });
  }
}

const counts = (changes: Change[]) => ({
  inserted: changes.filter((c) => c.op === 'insert').length,
  deleted: changes.filter((c) => c.op === 'delete').length,
});

/** Drafting and discussing changes: the proposal pages, the edit form, comments and "My drafts". */
export function proposalPages(ctx: Ctx): Router {
  const r = Router();

  // ── New proposal ──────────────────────────────────────────────────────────
  const newForm = async (req: Request, res: Response, slug: string, extra: Locals = {}) => {
    const doc = getDocument(ctx, slug);
    authorize(req.actor ?? null, 'proposal.create', { kind: 'document', group: doc.group }, 'document');
    const latest = getVersion(ctx, doc.slug, doc.latest);
    page(res, 'proposals/new', {
      title: `Propose a change to ${doc.title}`,
      doc: { slug: doc.slug, title: doc.title },
      version: { number: latest.number, publishedAt: latest.publishedAt },
      form: { title: '', rationale: '', text: await versionText(ctx, latest) },
      error: null,
      errorCode: null,
      ...extra,
    });
  };

  r.get('/documents/:slug/proposals/new', (req, res) => newForm(req, res, req.params.slug));

  r.post('/documents/:slug/proposals', async (req, res) => {
    const slug = req.params.slug;
    const form = { title: field(req, 'title'), rationale: textarea(req, 'rationale'), text: textarea(req, 'text'), baseVersion: field(req, 'baseVersion') || undefined };
    await orShow(res, (extra) => newForm(req, res, slug, { form, ...extra }), async () => {
      const p = await createProposal(ctx, req.actor ?? null, slug, form);
      done(req, res, `/proposals/${p.id}`, 'Your proposal was saved as a draft. Only your working group, the chair and the secretariat can see it until you share it.');
    });
  });

  // ── The proposal page ─────────────────────────────────────────────────────
  /**
   * The published version the proposal was drafted on: the newest version, published before
   * the proposal began, whose text is the one in its base commit. (The record keeps only the
   * base commit, which may be another document's publication.)
   */
  const baseVersionOf = async (p: ProposalRecord) => {
    if (p.baseVersion) return getVersion(ctx, p.document, p.baseVersion);
    const text = await baseText(ctx, p);
    const began = Date.parse(p.createdAt) + 1000; // version dates are whole seconds
    for (const v of listVersions(ctx, p.document)) {
      if (Date.parse(v.publishedAt) <= began && (await versionText(ctx, v)) === text) return v;
    }
    return null;
  };

  const viewOf = (req: Request): View =>
    parse(ViewQuery, { tab: req.query.tab, from: req.query.from, to: req.query.to, against: req.query.against }, 'invalid_view');

  const showProposal = async (req: Request, res: Response, p: ProposalRecord, view: View, extra: Locals = {}) => {
    const actor = req.actor ?? null;
    const tab = view.tab ?? (view.from || view.to || view.against ? 'changes' : 'text');
    const head = proposalHead(ctx, actor, p, await baseVersionOf(p));
    const locals: Locals = {
      title: p.title,
      p: head,
      tab,
      notice: takeNotice(req),
      error: null,
      errorCode: null,
      errorFor: null,
      ...roundFormLocals(ctx.clock()),
      comment: { body: '', quote: '', replyTo: null },
      text: null,
      changes: null,
      revisions: null,
    };
    if (tab === 'text') {
      const ref = { type: 'proposal' as const, id: p.id };
      const placed = await placeComments(ctx, ref, p.revisions, commentsOf(ctx, ref));
      locals.text = textView(ctx, await proposalText(ctx, p), placed, actor);
    } else if (tab === 'changes') {
      const d = await proposalDiff(ctx, actor, p.id, { from: view.from, to: view.to, against: view.against });
      locals.changes = {
        fromLabel: d.from.label,
        toLabel: d.to.label,
        against: view.from === undefined ? (view.against ?? 'base') : 'revision',
        blocks: foldParagraphs(d.changes),
        counts: counts(d.changes),
        same: d.from.commit === d.to.commit,
      };
    } else {
      locals.revisions = revisionsView(ctx, revisionsOf(ctx, { type: 'proposal', id: p.id }, p.revisions));
    }
    page(res, 'proposals/show', { ...locals, ...extra });
  };

  r.get('/proposals/:id', async (req, res) => {
    const p = loadProposal(ctx, req.actor ?? null, idOf(req));
    await showProposal(req, res, p, viewOf(req));
  });

  /** A state change on the proposal: done → back to it with a notice; a fixable refusal → the proposal page with the reason. */
  const act = (path: string, run: (req: Request, p: ProposalRecord) => Promise<string>) =>
    r.post(path, async (req, res) => {
      const p = loadProposal(ctx, req.actor ?? null, idOf(req));
      await orShow(res, (extra) => showProposal(req, res, loadProposal(ctx, req.actor ?? null, p.id), {}, extra), async () => {
        const notice = await run(req, p);
        done(req, res, `/proposals/${p.id}`, notice);
      });
    });

  act('/proposals/:id/share', async (req, p) => {
    await shareProposal(ctx, req.actor ?? null, p.id);
    return 'The proposal is now shared with all members.';
  });

  // An in-principle round on one shared proposal.
  r.post('/proposals/:id/rounds', async (req, res) => {
    const p = loadProposal(ctx, req.actor ?? null, idOf(req));
    const typed = { rule: field(req, 'rule'), quorum: field(req, 'quorum'), closesAt: field(req, 'closesAt') };
    await orShow(res, (extra) => showProposal(req, res, loadProposal(ctx, req.actor ?? null, p.id), {}, { ...roundFormLocals(ctx.clock(), typed), ...extra, errorFor: 'round' }), async () => {
      const round = await openRound(ctx, req.actor ?? null, {
        subject: { type: 'proposal', id: p.id },
        rule: typed.rule,
        quorum: quorumFromPercent(typed.quorum),
        closesAt: deadlineFromLocal(typed.closesAt),
      });
      done(req, res, `/rounds/${round.id}`, `Round ${round.id} is open on this proposal. Its text is frozen until the round ends.`);
    });
  });

  act('/proposals/:id/withdraw', async (req, p) => {
    await withdrawProposal(ctx, req.actor ?? null, p.id);
    return 'The proposal was withdrawn. It stays on the record but can no longer change.';
  });

  // ── Comments ──────────────────────────────────────────────────────────────
  r.post('/proposals/:id/comments', async (req, res) => {
    const actor = req.actor ?? null;
    const p = loadProposal(ctx, actor, idOf(req));
    const reply = field(req, 'replyTo');
    const comment = { body: textarea(req, 'body'), quote: textarea(req, 'quote').trim(), replyTo: /^[1-9][0-9]{0,8}$/.test(reply) ? Number(reply) : null };
    await orShow(res, (extra) => showProposal(req, res, p, { tab: 'text' }, { comment, ...extra }), async () => {
      const c = await addComment(ctx, actor, proposalCommentable(ctx, p), {
        body: comment.body,
        anchor: comment.quote && comment.replyTo === null ? { quote: comment.quote } : undefined,
        replyTo: reply ? reply : undefined,
      });
      done(req, res, `/proposals/${p.id}#comment-${c.id}`, c.replyTo ? 'Your reply was added.' : 'Your comment was added.');
    });
  });

  for (const [verb, resolved] of [['resolve', true], ['reopen', false]] as const) {
    r.post(`/proposals/:id/comments/:cid/${verb}`, async (req, res) => {
      const ids = CommentIds.safeParse(req.params);
      if (!ids.success) throw notFound('comment_not_found', 'There is no such comment here.');
      const p = loadProposal(ctx, req.actor ?? null, ids.data.id);
      await orShow(res, (extra) => showProposal(req, res, p, { tab: 'text' }, extra), async () => {
        const root = await setResolved(ctx, req.actor ?? null, proposalCommentable(ctx, p), ids.data.cid, resolved);
        done(req, res, `/proposals/${p.id}#thread-${root.id}`, resolved ? 'The thread is resolved.' : 'The thread is open again.');
      });
    });
  }

  // ── Editing ───────────────────────────────────────────────────────────────
  /** The proposal, if the actor may see it (404) and edit it (403). */
  const forEditing = (req: Request) => {
    const p = loadProposal(ctx, req.actor ?? null, idOf(req));
    authorize(req.actor ?? null, 'proposal.edit', proposalSubject(ctx, p), 'proposal');
    return p;
  };

  const editForm = (req: Request, res: Response, p: ProposalRecord, form: { title: string; rationale: string; text: string; head: string }, extra: Locals = {}) => {
    page(res, 'proposals/edit', {
      title: `Edit: ${p.title}`,
      p: proposalHead(ctx, req.actor ?? null, p),
      form,
      notice: null,
      error: null,
      errorCode: null,
      preview: null,
      stale: null,
      ...extra,
    });
  };

  r.get('/proposals/:id/edit', async (req, res) => {
    const p = forEditing(req);
    // Allowed, but its state forbids changes (withdrawn, consolidated, a round open): say so.
    if (!proposalHead(ctx, req.actor ?? null, p).may.edit) res.status(409);
    editForm(req, res, p, { title: p.title, rationale: p.rationale, text: await proposalText(ctx, p), head: p.head });
  });

  r.post('/proposals/:id/edit', async (req, res) => {
    const actor = req.actor ?? null;
    const p = forEditing(req);
    const form = { title: field(req, 'title'), rationale: textarea(req, 'rationale'), text: textarea(req, 'text'), head: field(req, 'head') };
    const again = (extra: Locals) => editForm(req, res, ctx.meta.get('proposals', p.id) ?? p, form, extra);

    if (field(req, 'preview')) {
      // Saves nothing: the text rendered, and what it would change in the current revision.
      await orShow(res, again, async () => {
        checkTitle(form.title);
        checkProse(form.rationale, 'rationale', MAX_RATIONALE_BYTES, false);
        const changes = diffProse(await proposalText(ctx, p), checkText(form.text));
        again({
          notice: 'This is a preview. Nothing has been saved yet.',
          preview: { html: markdownUnder(form.text, 2), rationaleHtml: markdownUnder(form.rationale, 2), blocks: foldParagraphs(changes), counts: counts(changes), against: p.revisions },
        });
      });
      return;
    }

    try {
      const next = await reviseProposal(ctx, actor, p.id, form);
      const n = next.revisions;
      done(req, res, `/proposals/${p.id}?tab=changes&from=${n - 1}&to=${n}`, `Revision ${n} is saved. Below is what it changed in revision ${n - 1}.`);
    } catch (e) {
      if (!(e instanceof DomainError && e.code === 'stale_head')) return orShow(res, again, () => Promise.reject(e));
      // Someone saved first: nothing was written. Show their change, keep this person's text,
      // and let a second save go through only deliberately (on the head they have now seen).
      const now = loadProposal(ctx, actor, p.id);
      const revisions = revisionsOf(ctx, { type: 'proposal', id: p.id }, now.revisions);
      const started = revisions.find((r) => r.commit === form.head);
      const theirs = started ? await proposalDiff(ctx, actor, p.id, { from: started.n, to: now.revisions }) : null;
      res.status(409);
      editForm(req, res, now, { ...form, head: now.head }, {
        error: 'Someone saved a newer revision while you were editing.',
        errorCode: 'stale_head',
        stale: {
          from: started?.n ?? null,
          to: now.revisions,
          by: [...new Set(revisions.filter((r) => !started || r.n > started.n).map((r) => ctx.meta.get('users', r.authorId)?.name ?? `user ${r.authorId}`))],
          at: revisions[revisions.length - 1]?.at ?? now.updatedAt,
          blocks: theirs ? foldParagraphs(theirs.changes) : null,
          counts: theirs ? counts(theirs.changes) : null,
        },
      });
    }
  });

  // ── My drafts ─────────────────────────────────────────────────────────────
  r.get('/drafts', (req, res) => {
    authorize(req.actor ?? null, 'account.use');
    const actor = req.actor!;
    const visible = visibleProposals(ctx, actor);
    const mineOrGroups = (p: ProposalRecord) => {
      const s = proposalSubject(ctx, p);
      return s.kind === 'proposal' && actor.groups.includes(s.group);
    };
    const awaiting = visible
      .filter((p) => p.state !== 'withdrawn' && (p.authorId === actor.id || mineOrGroups(p)))
      .flatMap((p) => awaitingReply(ctx, actor, p, commentsOf(ctx, { type: 'proposal', id: p.id })));
    page(res, 'drafts/index', {
      title: 'My drafts',
      notice: takeNotice(req),
      groupDrafts: visible.filter((p) => p.state === 'draft' && mineOrGroups(p)).map((p) => proposalItem(ctx, p)),
      mine: visible.filter((p) => p.authorId === actor.id).map((p) => proposalItem(ctx, p)),
      awaiting,
    });
  });

  return r;
}
