/**
 * Mails say what changed (issue 13, item 4): a proposal's announcement, a revision notice and
 * a consolidation's announcement carry the changed passages as a compact word diff
 * (`[-…-]{+…+}` in text, `<del>`/`<ins>` in HTML, at most about 40 lines, then a link);
 * comment mails quote the passage the comment is anchored to and the comment it answers; the
 * members' markdown (comments, rationales, summaries) is rendered, safely, in the HTML part.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { proposalCommentable } from '../../server/services/proposals/commentable.js';
import { addComment } from '../../server/services/proposals/comments.js';
import { createProposal, reviseProposal, shareProposal } from '../../server/services/proposals/proposals.js';
import { createConsolidation } from '../../server/services/consolidations/consolidations.js';
import type { MailRecord } from '../../server/store/meta/schema.js';
import { testClock, type TestData } from '../helpers/data.js';
import { publishedText, sharedProposal, S1, S2, TOR, openWithCommittee } from '../helpers/people.js';

describe('services/mailBody', () => {
  const opened: TestData[] = [];
  afterEach(async () => {
    for (const t of opened.splice(0)) await t.cleanup().catch(() => {});
  });

  async function setup() {
    const { t, who } = await openWithCommittee({ clock: testClock('2026-03-01T09:00:00Z') });
    opened.push(t);
    return { ctx: t.ctx, who };
  }

  const byEvent = (ctx: TestData['ctx'], event: string) => ctx.meta.all('mails').filter((m) => m.event === event);
  /** The lines of a plain-text part between its first line and the links at its end. */
  const diffLines = (m: MailRecord) => {
    const text = m.text ?? '';
    const from = text.indexOf('[-') >= 0 ? text.indexOf('[-') : text.indexOf('{+');
    const to = text.indexOf('…and more');
    return text.slice(from, to >= 0 ? to : text.indexOf('\n\n', from)).split('\n');
  };

  describe('the changed passages', () => {
    test('a shared proposal: the removed sentence as [-…-] in text and <del> in HTML, without the unchanged paragraphs', async () => {
      const { ctx, who } = await setup();
      const p = await sharedProposal(ctx, who.drafter, 'Open meetings', (x) => x.replace(S1, ''));
      const m = byEvent(ctx, 'proposal.shared')[0];
      expect(m.text).toContain(`[-${S1.trim()}`);
      expect(m.html).toMatch(/<del[^>]*>Closed meetings of the Group are held under the Chatham House Rule\./);
      // Compact: a paragraph the proposal does not touch is not in the mail.
      expect(m.text).not.toContain('The Group is advisory in nature');
      expect(m.text).not.toContain('…and more');
      expect(m.text).toContain(`/proposals/${p.id}?tab=changes`);
    });

    test('an insertion is {+…+} and <ins>', async () => {
      const { ctx, who } = await setup();
      await sharedProposal(ctx, who.drafter, 'Hybrid', (x) =>
        x.replace('The Group is advisory in nature.', 'The Group is advisory in nature and meets in hybrid form.'),
      );
      const m = byEvent(ctx, 'proposal.shared')[0];
      expect(m.text).toContain('The Group is advisory in nature{+ and meets in hybrid form+}.');
      expect(m.html).toMatch(/nature<ins[^>]*> and meets in hybrid form<\/ins>\./);
    });

    test('a long change stops at about 40 lines, then "…and more" with the link to every change', async () => {
      const { ctx, who } = await setup();
      const p = await sharedProposal(ctx, who.drafter, 'Everything', (x) =>
        x
          .split('\n\n')
          .map((para, i) => (i % 2 ? `${para} Changed ${i}.` : para))
          .join('\n\n'),
      );
      const m = byEvent(ctx, 'proposal.shared')[0];
      const link = `${ctx.mail.baseUrl}/proposals/${p.id}?tab=changes`;
      expect(m.text).toContain(`…and more: ${link}`);
      expect(m.html).toContain(`…and more: <a href="${link}">`);
      expect(diffLines(m).length).toBeLessThanOrEqual(40);
      expect(m.text).toContain('## 1. Mandate{+ Changed 1.+}');
      // Unchanged text is kept only near a change.
      expect(m.text).not.toContain('The Multistakeholder Advisory Group (MAG) of the Open Networks Forum');
    });

    test('a revision by someone else: the author sees what that revision changed, not the whole proposal', async () => {
      const { ctx, who } = await setup();
      const p = await sharedProposal(ctx, who.drafter, 'Open meetings', (x) => x.replace(S1, ''));
      const text = (await ctx.repo.readBlobText(ctx.meta.all('revisions').at(-1)!.blob)) ?? '';
      await reviseProposal(ctx, who.chair.actor, p.id, { text: text.replace(S2, ''), head: p.head });
      const m = byEvent(ctx, 'proposal.revised')[0];
      expect(m.text).toContain(`[-${S2.trim()}`);
      expect(m.text).not.toContain('Chatham House');
      expect(m.html).toContain('<del');
    });

    test('a consolidation: what the consolidated text changes in the published one', async () => {
      const { ctx, who } = await setup();
      const p1 = await sharedProposal(ctx, who.drafter, 'Open meetings', (x) => x.replace(S1, ''));
      const p2 = await sharedProposal(ctx, who.drafter, 'Remote participation', (x) => x.replace(S2, ''));
      await createConsolidation(ctx, who.chair.actor, TOR, {
        proposals: [p1.id, p2.id],
        summary: 'Open and *remote* meetings',
      });
      const m = byEvent(ctx, 'consolidation.created')[0];
      expect(m.text).toContain(`[-${S1.trim()}`);
      expect(m.text).toContain(`[-${S2.trim()}`);
      expect((m.html!.match(/<del/g) ?? []).length).toBeGreaterThanOrEqual(2);
      // The summary in the body, its markdown rendered in HTML.
      expect(m.html).toContain('<em>remote</em>');
    });
  });

  describe('comment mails quote', () => {
    test('the passage an anchored comment is on, and the comment a reply answers', async () => {
      const { ctx, who } = await setup();
      const p = await sharedProposal(ctx, who.drafter, 'Open meetings', (x) => x.replace(S1, ''));
      const on = () => proposalCommentable(ctx, ctx.meta.get('proposals', p.id)!);
      const quote = 'Members are required to participate in person';
      const first = await addComment(ctx, who.m1.actor, on(), {
        body: 'Why *in person*?\n\nSecond paragraph.',
        anchor: { quote },
      });
      const toAuthor = byEvent(ctx, 'comment.on-your-proposal').at(-1)!;
      expect(toAuthor.text).toContain(`> ${quote}`);
      expect(toAuthor.html).toMatch(new RegExp(`<blockquote[^>]*>[^]*${quote}[^]*</blockquote>`));
      await addComment(ctx, who.m2.actor, on(), { body: 'Because the rules say so.', replyTo: first.id });
      const reply = byEvent(ctx, 'comment.reply').at(-1)!;
      expect(reply.to).toEqual([who.m1.email]);
      expect(reply.text).toContain('> Why *in person*?\n>\n> Second paragraph.');
      expect(reply.html).toMatch(/<blockquote[^>]*><p>Why <em>in person<\/em>\?<\/p>/);
      expect(reply.text).toContain('Because the rules say so.');
      // Not anchored itself: no passage quoted.
      expect(reply.text).not.toContain(`> ${quote}`);
    });
  });

  describe('a passage selected across formatting', () => {
    test('is quoted as the reader saw it (no ** or link syntax), though stored as the source', async () => {
      const { ctx, who } = await setup();
      const p = await sharedProposal(ctx, who.drafter, 'Remote', (x) =>
        x.replace(S1, 'Members **may take part remotely** as [the rules](https://example.org/r) allow. '),
      );
      const on = () => proposalCommentable(ctx, ctx.meta.get('proposals', p.id)!);
      const c = await addComment(ctx, who.m1.actor, on(), {
        body: 'Good.',
        anchor: { quote: 'Members may take part remotely as the rules allow.' },
      });
      expect(c.anchor!.quote).toContain('**may take part remotely**');
      const m = byEvent(ctx, 'comment.on-your-proposal').at(-1)!;
      expect(m.text).toContain('> Members may take part remotely as the rules allow.');
      expect(m.text).not.toContain('**may');
    });
  });

  describe('markdown in the HTML part', () => {
    test('a rationale and a comment are rendered; raw HTML and script never pass; the text part keeps the markdown', async () => {
      const { ctx, who } = await setup();
      const text = (await publishedText(ctx)).replace(S1, '');
      const draft = await createProposal(ctx, who.drafter.actor, TOR, {
        title: 'Open meetings',
        rationale: 'Please \\*remove\\* the *Chatham House Rule*. <script>alert(1)</script> [x](javascript:alert(1))',
        text,
      });
      const p = await shareProposal(ctx, who.drafter.actor, draft.id);
      const m = byEvent(ctx, 'proposal.shared')[0];
      expect(m.html).toContain('Please *remove* the <em>Chatham House Rule</em>.');
      expect(m.html).not.toMatch(/<script|href="javascript/i);
      expect(m.text).toContain('Please \\*remove\\* the *Chatham House Rule*.');
      const on = proposalCommentable(ctx, ctx.meta.get('proposals', p.id)!);
      await addComment(ctx, who.m1.actor, on, { body: '# Big\n\n**Strong** <img src=x onerror=alert(1)>' });
      const c = byEvent(ctx, 'comment.on-your-proposal').at(-1)!;
      expect(c.html).toContain('<strong>Strong</strong>');
      // Headings sit under the mail's own structure.
      expect(c.html).not.toContain('<h1>');
      expect(c.html).not.toMatch(/<img|<script/i);
    });
  });
});
