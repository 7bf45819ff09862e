/**
 * Every mail's HTML part is a whole, valid document (issue 13, item 4): one of each kind of
 * mail Ratify sends is made through the services — with markdown, quotes and diffs in it —
 * and its HTML part is read with a real HTML parser (test/helpers/htmlCheck.ts): whole
 * document, titled with the subject, every element closed where it was opened and where
 * HTML allows it, nothing unsafe.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { inviteUser, requestPasswordReset, setNotify } from '../../server/services/accounts/links.js';
import { publishConsolidation } from '../../server/services/consolidations/publish.js';
import { composeDigests } from '../../server/services/notifications/digest.js';
import { voteByMailMails } from '../../server/services/notifications/events.js';
import { proposalCommentable } from '../../server/services/proposals/commentable.js';
import { addComment, setResolved } from '../../server/services/proposals/comments.js';
import { reviseProposal } from '../../server/services/proposals/proposals.js';
import { castBallot, recuse, withdrawRecusal } from '../../server/services/rounds/ballots.js';
import { cancelRound, closeRound, openRound, sweepRounds } from '../../server/services/rounds/rounds.js';
import { testClock, type TestData } from '../helpers/data.js';
import { HtmlValidate, StaticConfigLoader } from 'html-validate';
import { htmlProblems, htmlTitle } from '../helpers/htmlCheck.js';
import { person, sharedProposal, twoProposalConsolidation, S1, openWithCommittee } from '../helpers/people.js';

describe('services/mailHtml', () => {
  const opened: TestData[] = [];
  afterEach(async () => {
    for (const t of opened.splice(0)) await t.cleanup().catch(() => {});
  });

  /** Every kind of mail, by its event name. */
  const KINDS = [
    'proposal.shared',
    'proposal.revised',
    'consolidation.created',
    'comment.on-your-proposal',
    'comment.reply',
    'comment.resolved',
    'round.opened',
    'round.ballot',
    'round.ballot_receipt',
    'round.ballot_recorded',
    'round.recusal_recorded',
    'round.recusal_withdrawn',
    'round.reminder',
    'round.closed',
    'round.cancelled',
    'reply.vote_by_mail',
    'version.published',
    'user.invited',
    'password.reset',
    'digest',
  ];

  /** One amendment that sends every kind of mail, with markdown and awkward characters in what members wrote. */
  async function everyKind() {
    const clock = testClock('2026-03-01T09:00:00Z');
    const { t, who } = await openWithCommittee({ clock, listAddress: 'list@ratify.test' });
    opened.push(t);
    const ctx = t.ctx;
    await setNotify(ctx, who.m3.actor, 'digest');
    const { p1, c } = await twoProposalConsolidation(ctx, who, 'Open & *remote* meetings <for all>');
    const p3 = await sharedProposal(ctx, who.drafter, 'Tom & "Jerry" <b>', (x) =>
      x.replace(S1, 'A & B < C.\n\n- one\n- two\n'),
    );
    await reviseProposal(ctx, who.chair.actor, p3.id, {
      text: (await ctx.repo.readBlobText(ctx.meta.all('revisions').at(-1)!.blob)).replace('A & B', 'A &amp; B'),
      head: p3.head,
    });
    const on = (id: number) => proposalCommentable(ctx, ctx.meta.get('proposals', id)!);
    const first = await addComment(ctx, who.m1.actor, on(p1.id), {
      body: '# Why?\n\n> quoted\n\n- a *list* & <tags>\n\n```\ncode <x>\n```\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n\n[link](https://example.org/?a=1&b=2)',
      anchor: { quote: 'Members are required to participate in person' },
    });
    await addComment(ctx, who.m2.actor, on(p1.id), { body: 'Because **the rules** say so.', replyTo: first.id });
    const started = await addComment(ctx, who.m3.actor, on(p1.id), { body: 'A thread of mine.' });
    await addComment(ctx, who.m1.actor, on(p1.id), { body: 'An answer for the digest.', replyTo: started.id });
    await setResolved(ctx, who.drafter.actor, on(p1.id), first.id, true);
    const r = await openRound(ctx, who.chair.actor, {
      subject: { type: 'consolidation', id: c.id },
      rule: 'majority',
      quorum: 0.5,
      closesAt: '2026-03-08T17:00:00Z',
    });
    await castBallot(ctx, who.m1.actor, r.id, { position: 'object', reason: 'Not <yet> & never' });
    await castBallot(ctx, who.sec.actor, r.id, { position: 'approve', voter: who.m2.email, note: 'at the meeting' });
    await recuse(ctx, who.m3.actor, r.id, { reason: 'Conflict of interest.' });
    // The answer to a member who tried to vote by replying (what services/notifications/inbound.ts queues).
    await ctx.meta.write({ actor: null, at: ctx.clock(), events: [], puts: voteByMailMails(ctx, r, who.m2) });
    await withdrawRecusal(ctx, who.m3.actor, r.id, {});
    clock.set('2026-03-07T20:00:00Z');
    await sweepRounds(ctx);
    await castBallot(ctx, who.drafter.actor, r.id, { position: 'approve' });
    await castBallot(ctx, who.chair.actor, r.id, { position: 'approve' });
    clock.set('2026-03-08T17:00:01Z');
    await closeRound(ctx, who.chair.actor, r.id);
    await publishConsolidation(ctx, who.chair.actor, c.id, { summary: 'Open *and* remote <meetings>' });
    const other = await openRound(ctx, who.chair.actor, {
      subject: { type: 'proposal', id: p3.id },
      rule: 'consensus',
      quorum: 0.5,
      closesAt: '2026-03-20T17:00:00Z',
    });
    await cancelRound(ctx, who.chair.actor, other.id, { reason: 'Wrong text & <date>' });
    const newcomer = await person(ctx, { email: 'new@example.org', name: 'New Member & Co' });
    await inviteUser(ctx, CLI_ACTOR, newcomer.id);
    await requestPasswordReset(ctx, who.m1.email);
    clock.set('2026-03-09T08:00:00Z');
    await composeDigests(ctx);
    return ctx.meta.all('mails');
  }

  /** The mails of `everyKind`, made once for the tests that read them (a whole workflow each time). */
  let everyKindMade: ReturnType<typeof everyKind> | null = null;
  const everyKindOnce = () => (everyKindMade ??= everyKind());

  /**
   * html-validate's static loader resolves its configuration (the HTML element tables merged with
   * the preset) again for every document: ~90 % of validating a mail. One configuration serves all.
   */
  class OnceResolved extends StaticConfigLoader {
    private resolved: ReturnType<StaticConfigLoader['getConfigFor']> | null = null;
    override getConfigFor(handle: string, override?: Parameters<StaticConfigLoader['getConfigFor']>[1]) {
      if (override) return super.getConfigFor(handle, override);
      return (this.resolved ??= super.getConfigFor(handle));
    }
  }
  describe('the HTML part of every mail', () => {
    test('of every kind: a whole, valid document titled with its subject', async () => {
      const mails = await everyKindOnce();
      expect([...new Set(mails.map((m) => m.event))].sort()).toEqual([...KINDS].sort());
      for (const m of mails) {
        expect({ event: m.event, problems: htmlProblems(m.html!) }).toEqual({ event: m.event, problems: [] });
        expect(htmlTitle(m.html!)).toBe(m.subject);
      }
    });

    test('every HTML part passes html-validate (its standard rules; mail keeps its styles inline)', async () => {
      const mails = await everyKindOnce();
      const validator = new HtmlValidate(
        new OnceResolved({
          extends: ['html-validate:standard'],
          // Mail clients drop <style> and stylesheets: styles in mail are inline by necessity.
          rules: { 'no-inline-style': 'off' },
        }),
      );
      expect([...new Set(mails.map((m) => m.event))].sort()).toEqual([...KINDS].sort());
      for (const m of mails) {
        const report = await validator.validateString(m.html!);
        const messages = report.results.flatMap((r) => r.messages.map((x) => `${x.ruleId}: ${x.message}`));
        expect({ event: m.event, messages }).toEqual({ event: m.event, messages: [] });
      }
    });

    test.each([
      ['a block in a paragraph', '<p>a<div>b</div></p>'],
      ['an unclosed phrase', '<p><em>a</p>'],
      ['an end tag without its start', '<p>a</em></p>'],
      ['a stray </p>', '<p>a</p></p>'],
      ['an event handler', '<p><img src="https://x.test/i.png" alt="" onerror="alert(1)"></p>'],
      ['a javascript: link', '<p><a href="javascript:alert(1)">x</a></p>'],
      ['a bare ampersand', '<p>A & B</p>'],
      ['a list item outside a list', '<li>x</li>'],
      ['an unknown element', '<p><blink>x</blink></p>'],
    ])('the check finds %s', (_what, body) => {
      const doc = (b: string, title = 'T') =>
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body>${b}</body></html>`;
      expect(htmlProblems(doc('<p>fine</p>'))).toEqual([]);
      expect(htmlProblems(doc(body)).length).toBeGreaterThan(0);
      expect(htmlProblems(doc('<p>x</p>', ''))).toContain('an empty <title>');
      expect(htmlProblems('<html lang="en"><head><title>x</title></head><body></body></html>').length).toBeGreaterThan(
        1,
      );
    });
  });
});
