/**
 * A long discussion stays a light page (issue 17: a proposal with 200 comments was the heaviest
 * member page): the threads with the latest comments are shown in full up to SHOWN_COMMENTS
 * comments, older threads as one line each with the targets of the links to their comments and
 * a link to the page with every comment (`?comments=all`). A reply brings its thread back; a
 * refused reply is shown again in its thread, folded or not.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { makeUser, signedIn, type Agent } from '../helpers/auth.js';
import { openTestApp, testClock } from '../helpers/data.js';
import { publishedText } from '../helpers/people.js';
import { forms, textareaOf } from '../helpers/pages.js';
import { MAX_COMMENT_BYTES } from '../../server/domain/limits.js';
import { SHOWN_COMMENTS } from '../../server/http/presenters/proposalView.js';
import { addComment } from '../../server/services/proposals/comments.js';
import { proposalCommentable } from '../../server/services/proposals/commentable.js';
import { createProposal, shareProposal } from '../../server/services/proposals/proposals.js';
import type { CommentRecord } from '../../server/store/meta/schema.js';

describe('http/foldedComments', () => {
  const PASSWORD = 'a long enough password';
  const THREADS = 20;
  const PER_THREAD = 3; // 60 comments: the 16 latest threads (48 comments) in full, 4 folded
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let clock: ReturnType<typeof testClock>;
  let member: Agent;
  let id: number;
  /** The first comment of each thread, oldest thread first. */
  const roots: CommentRecord[] = [];

  const shownComments = (html: string) =>
    [...html.matchAll(/<article class="comment" id="comment-(\d+)"/g)].map((m) => Number(m[1]));
  const foldedThreads = (html: string) =>
    [...html.matchAll(/<div class="thread is-folded[^"]*" id="thread-(\d+)"/g)].map((m) => Number(m[1]));

  beforeAll(async () => {
    clock = testClock('2026-02-01T09:00:00Z');
    t = await openTestApp({ clock });
    const [dana, kim] = await Promise.all(
      ['dana', 'kim'].map((n) =>
        makeUser(t.ctx, {
          email: `${n}@example.org`,
          name: n,
          roles: ['member'],
          groups: ['wg-strategy'],
          password: PASSWORD,
        }),
      ),
    );
    const p = await createProposal(t.ctx, dana.actor, 'terms-of-reference', {
      title: 'Long discussion',
      rationale: '',
      text: await publishedText(t.ctx),
    });
    id = p.id;
    const on = proposalCommentable(t.ctx, await shareProposal(t.ctx, dana.actor, id));
    for (let i = 0; i < THREADS; i++) {
      clock.advance(60_000);
      const root = await addComment(t.ctx, kim.actor, on, { body: `Thread ${i} opens.` });
      roots.push(root);
      for (let k = 1; k < PER_THREAD; k++) {
        clock.advance(60_000);
        await addComment(t.ctx, dana.actor, on, { body: `Thread ${i}, reply ${k}.`, replyTo: root.id });
      }
    }
    member = await signedIn(t.app, kim.email, PASSWORD);
  }, 60_000);
  afterAll(async () => {
    await t?.cleanup();
  });

  describe('a proposal with more comments than a page shows', () => {
    test('the latest threads in full up to the limit, the older ones as one line each', async () => {
      const res = await member.get(`/proposals/${id}`);
      expect(res.status).toBe(200);
      expect(SHOWN_COMMENTS).toBe(50);
      expect(shownComments(res.text)).toHaveLength(16 * PER_THREAD);
      expect(foldedThreads(res.text)).toEqual(roots.slice(0, 4).map((r) => r.id));
      // A folded thread's comments are not rendered, but a link to any of them lands on its line.
      expect(res.text).not.toContain('Thread 0 opens.');
      const threadZero = t.ctx.meta.all('comments').filter((c) => c.id === roots[0].id || c.replyTo === roots[0].id);
      for (const c of threadZero) expect(res.text).toContain(`<span id="comment-${c.id}"></span>`);
      expect(res.text).toContain(`<a href="/proposals/${id}?comments=all#thread-${roots[0].id}">Show this thread`);
      expect(res.text).toContain(`<a href="/proposals/${id}?comments=all">Show every comment</a>`);
    });

    test('?comments=all shows every comment; another value is 400', async () => {
      const all = await member.get(`/proposals/${id}?comments=all`);
      expect(shownComments(all.text)).toHaveLength(THREADS * PER_THREAD);
      expect(foldedThreads(all.text)).toEqual([]);
      expect(all.text).not.toContain('Show every comment');
      const bad = await member.get(`/proposals/${id}?comments=some`);
      expect(bad.status).toBe(400);
    });

    test('a refused reply to a folded thread is shown in it; a reply brings the thread back', async () => {
      const { post } = forms(`/proposals/${id}`);
      const oldest = roots[0].id;
      const long = 'x'.repeat(MAX_COMMENT_BYTES + 1);
      const refused = await post(member, `/proposals/${id}/comments`, {
        body: long,
        replyTo: String(oldest),
      });
      expect(refused.status).toBe(413);
      expect(foldedThreads(refused.text)).not.toContain(oldest);
      expect(textareaOf(refused.text, `reply-${oldest}`)).toBe(long);

      clock.advance(60_000);
      const replied = await post(member, `/proposals/${id}/comments`, {
        body: 'Back to this one.',
        replyTo: String(oldest),
      });
      expect(replied.status).toBe(303);
      const page = await member.get(`/proposals/${id}`);
      expect(foldedThreads(page.text)).not.toContain(oldest);
      expect(page.text).toContain('Back to this one.');
    });
  });
});
