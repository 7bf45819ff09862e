import { Router, type Request, type Response } from 'express';
import { foldParagraphs } from '../../domain/diff.js';
import { DomainError } from '../../domain/errors.js';
import { authorize } from '../../domain/policy.js';
import { checkText, checkTitle } from '../../domain/text.js';
import type { Ctx } from '../../services/context.js';
import { userName } from '../../services/accounts/users.js';
import { loadProposal, proposalSubject } from '../../services/proposals/access.js';
import { reviseProposal, reviseProposalSection } from '../../services/proposals/proposals.js';
import { noSection } from '../../domain/sections.js';
import { sectionIn, spliceTextSection } from '../../services/textSections.js';
import { sectionLabel, textPreview, type SectionLabel } from '../presenters/sectionView.js';
import { proposalDiff, proposalText, revisionsOf } from '../../services/proposals/read.js';
import type { ProposalRecord } from '../../store/meta/schema.js';
import { changeCounts } from '../presenters/changeCounts.js';
import { proposalActions, proposalHead } from '../presenters/proposalView.js';
import type { Renderer } from '../render/renderer.js';
import { done, field, fromForm, idOf, orShow, textarea, type Locals } from './formHelpers.js';
import { ReviseProposalBody } from '../schemas/index.js';
import { page } from './render.js';

/**
 * The proposal's edit form: preview, save a revision, and the answer when someone saved first.
 * With `?section=<anchor>` (the proposal page's "Edit this section") the form holds that section
 * only, and saving splices it into the current text (`reviseProposalSection`).
 */
export function proposalEditPages(ctx: Ctx, render: Renderer): Router {
  const r = Router();

  // ── Editing ───────────────────────────────────────────────────────────────
  /** The proposal, if the actor may see it (404) and edit it (403). */
  const forEditing = (req: Request) => {
    const p = loadProposal(ctx, req.actor ?? null, idOf(req, 'proposal'));
    authorize(req.actor ?? null, 'proposal.edit', proposalSubject(ctx, p), 'proposal');
    return p;
  };

  const editForm = async (
    req: Request,
    res: Response,
    p: ProposalRecord,
    form: { title: string; rationale: string; text: string; head: string },
    section: SectionLabel | null,
    extra: Locals = {},
  ) => {
    page(res, 'proposals/edit', {
      title: section ? `Edit a section: ${p.title}` : `Edit: ${p.title}`,
      p: await proposalHead(ctx, render, req.actor ?? null, p),
      form,
      section,
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
    const text = await proposalText(ctx, p);
    const anchor = typeof req.query.section === 'string' ? req.query.section : null;
    const found = anchor === null ? null : await sectionIn(ctx, text, anchor);
    if (anchor !== null && !found) throw noSection();
    // Allowed, but its state forbids changes (withdrawn, consolidated, a round open): say so.
    if (!proposalActions(ctx, req.actor ?? null, p).edit) res.status(409);
    await editForm(
      req,
      res,
      p,
      { title: p.title, rationale: p.rationale, text: found ? found.text : text, head: p.head },
      found ? { id: found.section.id, words: found.section.words } : null,
    );
  });

  r.post('/proposals/:id/edit', async (req, res) => {
    const actor = req.actor ?? null;
    const p = forEditing(req);
    const form = {
      title: field(req, 'title'),
      rationale: textarea(req, 'rationale'),
      text: textarea(req, 'text'),
      head: field(req, 'head'),
    };
    // One section only: its anchor as the form carries it.
    const anchor = field(req, 'section') || null;
    const current = await proposalText(ctx, p);
    const section = anchor === null ? null : await sectionLabel(ctx, current, anchor);
    // The proposal as it is now (the actor may edit it, so may see it).
    const again = (extra: Locals) => editForm(req, res, loadProposal(ctx, actor, p.id), form, section, extra);

    if (field(req, 'preview')) {
      // Saves nothing: the text rendered, and what it would change in the current revision.
      await orShow(res, again, async () => {
        checkTitle(form.title);
        const shown = checkText(form.text);
        const after = anchor === null ? shown : checkText(await spliceTextSection(ctx, current, anchor, shown));
        const preview = await textPreview(ctx, render, {
          before: current,
          after,
          shown,
          rationale: form.rationale,
          against: `revision ${p.revisions}`,
        });
        await again({ notice: 'This is a preview. Nothing has been saved yet.', preview });
      });
      return;
    }

    try {
      const input = fromForm(ReviseProposalBody, form);
      const next =
        anchor === null
          ? await reviseProposal(ctx, actor, p.id, input)
          : await reviseProposalSection(ctx, actor, p.id, anchor, input);
      const n = next.revisions;
      done(
        req,
        res,
        `/proposals/${p.id}?tab=changes&from=${n - 1}&to=${n}`,
        `Revision ${n} is saved. Below is what it changed in revision ${n - 1}.`,
      );
    } catch (e) {
      if (!(e instanceof DomainError && e.code === 'stale_head')) return orShow(res, again, () => Promise.reject(e));
      // Someone saved first: nothing was written. Show their change, keep this person's text,
      // and let a second save go through only deliberately (on the head they have now seen).
      const now = loadProposal(ctx, actor, p.id);
      const revisions = revisionsOf(ctx, { type: 'proposal', id: p.id }, now.revisions);
      const started = revisions.find((r) => r.commit === form.head);
      const theirs = started ? await proposalDiff(ctx, actor, p.id, { from: started.n, to: now.revisions }) : null;
      res.status(409);
      await editForm(req, res, now, { ...form, head: now.head }, section, {
        error: 'Someone saved a newer revision while you were editing.',
        errorCode: 'stale_head',
        stale: {
          from: started?.n ?? null,
          to: now.revisions,
          by: [...new Set(revisions.filter((r) => !started || r.n > started.n).map((r) => userName(ctx, r.authorId)))],
          at: revisions[revisions.length - 1]?.at ?? now.updatedAt,
          blocks: theirs ? foldParagraphs(theirs.changes) : null,
          counts: theirs ? changeCounts(theirs.changes) : null,
        },
      });
    }
  });

  return r;
}
