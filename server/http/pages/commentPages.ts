import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import type { Actor } from '../../domain/actor.js';
import { absent } from '../../domain/errors.js';
import type { Ctx } from '../../services/context.js';
import { addComment, setResolved, type Commentable } from '../../services/proposals/comments.js';
import { PositiveInt } from '../validate.js';
import { done, field, fromForm, idOf, orShow, textarea, type Locals } from './formHelpers.js';
import { CommentBody } from '../schemas/index.js';

const CommentIds = z.object({ id: PositiveInt, cid: PositiveInt });

/** What a text's page gives its comment forms. */
export interface CommentedPage<T extends { id: number }> {
  /** Where the text's page is: '/proposals' → /proposals/:id. */
  base: string;
  /** What the text is called in "There is no such …" (and its `<what>_not_found` code). */
  what: 'proposal' | 'consolidation';
  /** The text, if the actor may see it (404 / 403 / 401 otherwise). */
  load: (actor: Actor | null, id: number) => T;
  commentable: (subject: T) => Commentable;
  /** The text's page shown again after a refusal, with `extra` (the error, what was typed). */
  show: (req: Request, res: Response, subject: T, extra: Locals) => Promise<void>;
}

/**
 * The comment forms shared by the proposal and the consolidation pages: add a comment or a
 * reply, resolve or reopen a thread. Done → back to the comment or thread with a notice; a
 * fixable refusal → the page again beside the comment form, keeping what was typed. (The API's
 * counterpart is api/commentRoutes.ts.)
 */
export function commentPages<T extends { id: number }>(r: Router, ctx: Ctx, on: CommentedPage<T>): void {
  r.post(`${on.base}/:id/comments`, async (req, res) => {
    const actor = req.actor ?? null;
    const subject = on.load(actor, idOf(req, on.what));
    const reply = field(req, 'replyTo');
    const comment = {
      body: textarea(req, 'body'),
      quote: textarea(req, 'quote').trim(),
      replyTo: /^[1-9][0-9]{0,8}$/.test(reply) ? Number(reply) : null,
      suggestion: textarea(req, 'suggestion'),
      deletes: field(req, 'deletes') === 'yes',
    };
    // New words for the passage suggest a change; so does "delete the passage" with none (the proposal form only).
    const suggested = comment.suggestion.trim() || comment.deletes;
    await orShow(
      res,
      (extra) => on.show(req, res, subject, { comment, ...extra }),
      async () => {
        const input = fromForm(CommentBody, {
          body: comment.body,
          anchor: comment.quote && !reply ? { quote: comment.quote } : undefined,
          replyTo: reply ? Number(reply) : undefined,
          suggestion: suggested && !reply ? (comment.suggestion.trim() ? comment.suggestion : '') : undefined,
        });
        const made = await addComment(ctx, actor, on.commentable(subject), input);
        done(
          req,
          res,
          `${on.base}/${subject.id}#comment-${made.id}`,
          made.replyTo ? 'Your reply was added.' : 'Your comment was added.',
        );
      },
      'comment',
    );
  });

  for (const [verb, resolved] of [
    ['resolve', true],
    ['reopen', false],
  ] as const) {
    r.post(`${on.base}/:id/comments/:cid/${verb}`, async (req, res) => {
      const ids = CommentIds.safeParse(req.params);
      if (!ids.success) throw absent('comment');
      const subject = on.load(req.actor ?? null, ids.data.id);
      await orShow(
        res,
        (extra) => on.show(req, res, subject, extra),
        async () => {
          const root = await setResolved(ctx, req.actor ?? null, on.commentable(subject), ids.data.cid, resolved);
          done(
            req,
            res,
            `${on.base}/${subject.id}#thread-${root.id}`,
            resolved ? 'The thread is resolved.' : 'The thread is open again.',
          );
        },
        'comment',
      );
    });
  }
}
