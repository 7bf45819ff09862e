import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { foldParagraphs } from '../../domain/diff.js';
import type { Ctx } from '../../services/context.js';
import { loadProposal } from '../../services/proposals/access.js';
import { placedCommentsOf } from '../../services/proposals/comments.js';
import { proposalCommentable } from '../../services/proposals/commentable.js';
import {
  createProposal,
  documentToPropose,
  shareProposal,
  withdrawProposal,
} from '../../services/proposals/proposals.js';
import { baseText, proposalDiff, proposalText, revisionsOf } from '../../services/proposals/read.js';
import { getVersion, listVersions, versionText } from '../../services/readDocuments.js';
import type { ProposalRecord } from '../../store/meta/schema.js';
import { changeCounts } from '../presenters/changeCounts.js';
import { proposalHead, revisionsView, TEXT_UNDER, textKey, textView, threadKeys } from '../presenters/proposalView.js';
import { FragmentCache } from '../render/fragments.js';
import type { Renderer } from '../render/renderer.js';
import { parse, PositiveInt } from '../validate.js';
import { openRoundInput, roundFormLocals, typedRoundForm } from '../presenters/roundForm.js';
import { openRound } from '../../services/rounds/rounds.js';
import { commentPages } from './commentPages.js';
import {
  checked,
  done,
  field,
  fromForm,
  idOf,
  numberField,
  orShow,
  takeNotice,
  textarea,
  type Locals,
} from './formHelpers.js';
import { ApplySuggestionBody, ApplySuggestionsBody, CreateProposalBody } from '../schemas/index.js';
import { applySuggestions } from '../../services/proposals/suggestions.js';
import { absent } from '../../domain/errors.js';
import { page, renderedSubjectVersion } from './render.js';
import { diffToggle } from '../presenters/diffToggle.js';
import { noSection } from '../../domain/sections.js';
import { checkText, checkTitle } from '../../domain/text.js';
import { linkedSections, sectionIn, spliceTextSection } from '../../services/textSections.js';
import { sectionLabel, sectionsByRow, textPreview } from '../presenters/sectionView.js';
import { proposalFromWord } from '../../services/proposals/fromWord.js';
import { fileField } from '../upload.js';

const ViewQuery = z.object({
  tab: z.enum(['text', 'changes', 'revisions']).optional(),
  from: PositiveInt.optional(),
  to: PositiveInt.optional(),
  against: z.enum(['base', 'published']).optional(),
  /** The changes tab shows the rendered diff unless `view=source`. */
  view: z.enum(['source']).optional(),
  /** The text tab folds older threads of a long discussion unless `comments=all`. */
  comments: z.enum(['all']).optional(),
});
type View = z.infer<typeof ViewQuery>;

/** Drafting and discussing changes: a new proposal, the proposal page (text, changes, revisions), its actions and comments. The edit form is in proposalEditPages.ts, "My drafts" in draftPages.ts. */
export function proposalPages(ctx: Ctx, render: Renderer): Router {
  const r = Router();

  // ── New proposal ──────────────────────────────────────────────────────────
  /**
   * The form, on the latest version. With a section's anchor (the document page's "Propose a
   * change to this section", then the form's own field) it holds that section only, and saving
   * splices it into the published text.
   */
  const newForm = async (req: Request, res: Response, slug: string, anchor: string | null, extra: Locals = {}) => {
    const doc = documentToPropose(ctx, req.actor ?? null, slug);
    const latest = getVersion(ctx, doc.slug, doc.latest);
    const text = await versionText(ctx, latest);
    const found = anchor === null ? null : await sectionIn(ctx, text, anchor);
    if (anchor !== null && !found && !('form' in extra)) throw noSection();
    page(res, 'proposals/new', {
      title: `Propose a change to ${doc.title}`,
      doc: { slug: doc.slug, title: doc.title },
      version: { number: latest.number, publishedAt: latest.publishedAt },
      form: { title: '', rationale: '', text: found ? found.text : text },
      section: anchor === null ? null : await sectionLabel(ctx, text, anchor),
      preview: null,
      error: null,
      errorCode: null,
      ...extra,
    });
  };

  r.get('/documents/:slug/proposals/new', (req, res) =>
    newForm(req, res, req.params.slug, typeof req.query.section === 'string' ? req.query.section : null),
  );

  // A Word file read into the new-proposal form (issue 15): the page shows what it changes in
  // the published text and the form filled with its text; nothing is saved until "Save as draft".
  r.post('/documents/:slug/proposals/docx', async (req, res) => {
    const slug = req.params.slug;
    const file = fileField(req, 'file');
    await orShow(
      res,
      (extra) => newForm(req, res, slug, null, extra),
      async () => {
        const w = await proposalFromWord(ctx, req.actor ?? null, slug, file?.data ?? new Uint8Array());
        await newForm(req, res, slug, null, {
          form: { title: '', rationale: '', text: w.text },
          word: {
            filename: file?.filename ?? '',
            same: w.text === w.published,
            counts: changeCounts(w.changes),
            rendered: await render.renderedDiff(w.published, w.text, TEXT_UNDER),
            blocks: foldParagraphs(w.changes),
          },
        });
      },
    );
  });

  r.post('/documents/:slug/proposals', async (req, res) => {
    const slug = req.params.slug;
    const form = {
      title: field(req, 'title'),
      rationale: textarea(req, 'rationale'),
      text: textarea(req, 'text'),
      baseVersion: field(req, 'baseVersion'),
    };
    const anchor = field(req, 'section') || null;
    const again = (extra: Locals) => newForm(req, res, slug, anchor, { form, ...extra });
    if (field(req, 'preview')) {
      // Saves nothing: the text rendered, and what it would change in the latest version.
      await orShow(res, again, async () => {
        const doc = documentToPropose(ctx, req.actor ?? null, slug);
        const latest = getVersion(ctx, doc.slug, doc.latest);
        const before = await versionText(ctx, latest);
        checkTitle(form.title);
        const shown = checkText(form.text);
        const after = anchor === null ? shown : checkText(await spliceTextSection(ctx, before, anchor, shown));
        const preview = await textPreview(ctx, render, {
          before,
          after,
          shown,
          rationale: form.rationale,
          against: `version ${latest.number}`,
        });
        await again({ notice: 'This is a preview. Nothing has been saved yet.', preview });
      });
      return;
    }
    await orShow(res, again, async () => {
      const input = fromForm(CreateProposalBody, {
        ...form,
        baseVersion: numberField(req, 'baseVersion'),
        section: anchor,
      });
      const p = await createProposal(ctx, req.actor ?? null, slug, input);
      done(
        req,
        res,
        `/proposals/${p.id}`,
        'Your proposal was saved as a draft. Only your working group, the chair and the secretariat can see it until you share it.',
      );
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
    parse(
      ViewQuery,
      {
        tab: req.query.tab,
        from: req.query.from,
        to: req.query.to,
        against: req.query.against,
        view: req.query.view,
        comments: req.query.comments,
      },
      'invalid_view',
    );

  // Threads kept between requests (render/fragments.ts), one cache per app.
  const fragments = new FragmentCache();

  const showProposal = async (req: Request, res: Response, p: ProposalRecord, view: View, extra: Locals = {}) => {
    const actor = req.actor ?? null;
    // Before anything is read: the version the kept threads must be of (this proposal's: a
    // comment on another leaves them kept).
    const kept = fragments.forPage(
      renderedSubjectVersion(ctx, render, { type: 'proposal', id: p.id }),
      (res.locals.csrfToken as string | undefined) ?? '',
    );
    const query = view; // (the text tab names its own `view`)
    const tab = view.tab ?? (view.from || view.to || view.against ? 'changes' : 'text');
    const head = await proposalHead(ctx, render, actor, p, await baseVersionOf(p));
    const locals: Locals = {
      title: p.title,
      p: head,
      tab,
      notice: takeNotice(req),
      error: null,
      errorCode: null,
      errorFor: null,
      ...roundFormLocals(ctx),
      comment: { body: '', quote: '', replyTo: null, suggestion: '', deletes: false },
      text: null,
      changes: null,
      revisions: null,
    };
    if (tab === 'text') {
      // A reply that was refused is shown again in its thread: that thread is never folded.
      const keep = (extra.comment as { replyTo?: number | null } | undefined)?.replyTo ?? null;
      const all = query.comments === 'all';
      // The same for every reader of this revision: made once until something is written.
      const { text, view } = await kept.value(`text ${p.id} ${p.revisions} ${p.head} ${all} ${keep}`, async () => {
        const placed = await placedCommentsOf(ctx, { type: 'proposal', id: p.id }, p.revisions);
        const text = await proposalText(ctx, p);
        return { text, view: await textView(ctx, render, text, placed, { all, keep }) };
      });
      // "Edit this section" beside each heading, for who may revise it now.
      const shown = await kept.value(
        `text ${p.id} ${p.revisions} ${p.head} ${all} ${keep} ${+head.may.edit}`,
        async () => {
          const sections = head.may.edit ? sectionsByRow(await linkedSections(ctx, text), view.paragraphs) : [];
          return { ...view, paragraphs: view.paragraphs.map((para, i) => ({ ...para, sections: sections[i] ?? [] })) };
        },
      );
      locals.text = shown;
      locals.fragment = kept.fragment;
      locals.large = kept.large;
      locals.threadKey = threadKeys(head, view.applicable, keep, actor?.id ?? null);
      locals.textKey = textKey(head, shown, all, keep, actor?.id ?? null);
    } else if (tab === 'changes') {
      const d = await proposalDiff(ctx, actor, p.id, { from: view.from, to: view.to, against: view.against });
      locals.changes = {
        fromLabel: d.from.label,
        toLabel: d.to.label,
        against: view.from === undefined ? (view.against ?? 'base') : 'revision',
        blocks: foldParagraphs(d.changes),
        source: view.view === 'source',
        rendered: view.view === 'source' ? null : await render.renderedDiff(d.texts.from, d.texts.to, TEXT_UNDER),
        toggle: diffToggle(
          `/proposals/${p.id}`,
          { tab: 'changes', from: view.from, to: view.to, against: view.against },
          'changes-h',
        ),
        counts: changeCounts(d.changes),
        same: d.from.commit === d.to.commit,
      };
    } else {
      locals.revisions = revisionsView(ctx, revisionsOf(ctx, { type: 'proposal', id: p.id }, p.revisions));
    }
    page(res, 'proposals/show', { ...locals, ...extra });
  };

  r.get('/proposals/:id', async (req, res) => {
    const p = loadProposal(ctx, req.actor ?? null, idOf(req, 'proposal'));
    await showProposal(req, res, p, viewOf(req));
  });

  /** A state change on the proposal: done → back to it with a notice; a fixable refusal → the proposal page with the reason. */
  const act = (path: string, run: (req: Request, p: ProposalRecord) => Promise<string>) =>
    r.post(path, async (req, res) => {
      const p = loadProposal(ctx, req.actor ?? null, idOf(req, 'proposal'));
      await orShow(
        res,
        (extra) => showProposal(req, res, loadProposal(ctx, req.actor ?? null, p.id), {}, extra),
        async () => {
          const notice = await run(req, p);
          done(req, res, `/proposals/${p.id}`, notice);
        },
      );
    });

  act('/proposals/:id/share', async (req, p) => {
    await shareProposal(ctx, req.actor ?? null, p.id);
    return 'The proposal is now shared with all members.';
  });

  // An in-principle round on one shared proposal.
  r.post('/proposals/:id/rounds', async (req, res) => {
    const p = loadProposal(ctx, req.actor ?? null, idOf(req, 'proposal'));
    const typed = typedRoundForm((k) => field(req, k));
    await orShow(
      res,
      (extra) =>
        showProposal(
          req,
          res,
          loadProposal(ctx, req.actor ?? null, p.id),
          {},
          { ...roundFormLocals(ctx, typed), ...extra },
        ),
      async () => {
        const input = openRoundInput(typed, { type: 'proposal', id: p.id }, ctx.clock());
        const round = await openRound(ctx, req.actor ?? null, input);
        done(
          req,
          res,
          `/rounds/${round.id}`,
          `Round ${round.id} is open on this proposal. Its text is frozen until the round ends.`,
        );
      },
      'round',
    );
  });

  act('/proposals/:id/withdraw', async (req, p) => {
    await withdrawProposal(ctx, req.actor ?? null, p.id);
    return 'The proposal was withdrawn. It stays on the record but can no longer change.';
  });

  // ── Suggested changes: one (its thread's button), or the ticked ones as one revision ──
  const applied = (n: number, revision: number) =>
    `${n === 1 ? 'The suggestion was' : `${n} suggestions were`} applied as revision ${revision}, and ${n === 1 ? 'its thread' : 'their threads'} resolved.`;

  act('/proposals/:id/comments/:cid/apply', async (req, p) => {
    const cid = req.params.cid;
    if (typeof cid !== 'string' || !/^[1-9][0-9]{0,8}$/.test(cid)) throw absent('comment');
    const { head } = fromForm(ApplySuggestionBody, { head: field(req, 'head') });
    const result = await applySuggestions(ctx, req.actor ?? null, p.id, { comments: [Number(cid)], head });
    return applied(1, result.proposal.revisions);
  });

  act('/proposals/:id/suggestions/apply', async (req, p) => {
    const input = fromForm(ApplySuggestionsBody, {
      comments: checked(req, 'comments').map((x) => (/^[1-9][0-9]{0,8}$/.test(x) ? Number(x) : x)),
      head: field(req, 'head'),
    });
    const result = await applySuggestions(ctx, req.actor ?? null, p.id, input);
    return applied(result.applied.length, result.proposal.revisions);
  });

  // ── Comments ──────────────────────────────────────────────────────────────
  commentPages(r, ctx, {
    base: '/proposals',
    what: 'proposal',
    load: (actor, id) => loadProposal(ctx, actor, id),
    commentable: (p) => proposalCommentable(ctx, p),
    show: (req, res, p, extra) => showProposal(req, res, p, { tab: 'text' }, extra),
  });

  return r;
}
