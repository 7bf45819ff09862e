/**
 * Reply by mail (issue 13), the service: a member's copy of a notification carries
 * `Reply-To: reply+<token>@<REPLY_DOMAIN>`; a reply to it becomes their comment in the thread the
 * token names, without quoted text or signature, through the comment form's own checks. Every
 * other message is refused — nothing posted, an audit entry `mail.reply_refused` naming the
 * code — and a reply about a ballot gets one note a day on how to vote.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { MAX_REPLY_BYTES } from '../../server/domain/limits.js';
import { disableUser, setUser } from '../../server/services/accounts/users.js';
import { receiveReply, replyText } from '../../server/services/notifications/inbound.js';
import { proposalCommentable } from '../../server/services/proposals/commentable.js';
import { addComment } from '../../server/services/proposals/comments.js';
import { withdrawProposal } from '../../server/services/proposals/proposals.js';
import { openRound } from '../../server/services/rounds/rounds.js';
import { setSecuritySettings } from '../../server/services/settings/securitySettings.js';
import type { InboundMail } from '../../server/store/mail/inbound.js';
import type { Ctx } from '../../server/services/context.js';
import { testClock, type TestData } from '../helpers/data.js';
import { after, DAY, sharedProposal, S1, type Person, openWithCommittee } from '../helpers/people.js';

describe('services/inboundReplies', () => {
  const DOMAIN = 'reply.ratify.test';
  const opened: TestData[] = [];
  afterEach(async () => {
    for (const t of opened.splice(0)) await t.cleanup().catch(() => {});
  });

  async function setup(opts: { listAddress?: string; replyDomain?: string | null } = {}) {
    const clock = testClock('2026-03-01T09:00:00Z');
    const { t, who } = await openWithCommittee({
      clock,
      replyDomain: opts.replyDomain === null ? undefined : (opts.replyDomain ?? DOMAIN),
      listAddress: opts.listAddress,
    });
    opened.push(t);
    const ctx = t.ctx;
    const p = await sharedProposal(ctx, who.drafter, 'Open meetings', (x) => x.replace(S1, ''));
    const on = () => proposalCommentable(ctx, ctx.meta.get('proposals', p.id)!);
    // m2 starts a thread on the drafter's proposal; the chair replies in it (m2 is told).
    const root = await addComment(ctx, who.m2.actor, on(), { body: 'Should this apply to working groups too?' });
    const answer = await addComment(ctx, who.chair.actor, on(), { body: 'I think so.', replyTo: root.id });
    return { t, ctx, clock, who, p, root, answer, on };
  }

  /** The Reply-To of the mail `event` queued for `to` (the latest). */
  const replyToOf = (ctx: Ctx, to: Person, event: string) =>
    ctx.meta
      .all('mails')
      .filter((m) => m.to[0] === to.email && m.event === event)
      .at(-1)?.replyTo ?? null;

  const QUOTED_AND_SIGNED = [
    'Yes, but only for plenary meetings.',
    '',
    'Working groups should keep the rule.',
    '',
    '-- ',
    'Noor Member',
    'Civil Society Network',
    '',
    'On Sun, 1 Mar 2026 at 10:00, Ratify <ratify@ratify.test> wrote:',
    '> Chair Chen wrote:',
    '> I think so.',
    '',
  ].join('\n');

  function reply(
    from: Person,
    replyTo: string,
    text = QUOTED_AND_SIGNED,
    over: Partial<InboundMail> = {},
  ): InboundMail {
    return {
      envelopeFrom: from.email,
      recipients: [replyTo],
      from: from.email,
      text,
      size: Buffer.byteLength(text),
      automatic: false,
      messageId: '<r1@mail.example.org>',
      ...over,
    };
  }

  const comments = (ctx: Ctx) => ctx.meta.all('comments');
  const lastAudit = async (ctx: Ctx) => (await ctx.meta.auditLog(1))[0];

  describe('Reply-To on what members are sent', () => {
    test('each member copy of a notification carries its own reply address; account mail and lists carry none', async () => {
      const { ctx, who, p } = await setup();
      const shared = [who.m1, who.m2, who.chair].map((u) => replyToOf(ctx, u, 'proposal.shared'));
      for (const a of shared) expect(a).toMatch(new RegExp(`^reply\\+[0-9a-z-]+@${DOMAIN.replace(/\./g, '\\.')}$`));
      expect(new Set(shared).size).toBe(3);
      expect(replyToOf(ctx, who.m2, 'comment.reply')).toMatch(/^reply\+/);
      expect(replyToOf(ctx, who.drafter, 'comment.on-your-proposal')).toMatch(/^reply\+/);
      await openRound(ctx, who.chair.actor, {
        subject: { type: 'proposal', id: p.id },
        rule: 'majority',
        quorum: 0.5,
        closesAt: after(ctx.clock, 7 * DAY),
      });
      expect(replyToOf(ctx, who.m1, 'round.ballot')).toMatch(/^reply\+/);
      // The invitations the committee helper's accounts got (no password) carry none.
      expect(ctx.meta.all('mails').filter((m) => m.event === 'user.invited' && m.replyTo)).toEqual([]);
    });

    test('a list copy carries none, and without REPLY_DOMAIN nothing does', async () => {
      const list = await setup({ listAddress: 'members@lists.example.org' });
      expect(list.ctx.meta.all('mails').filter((m) => m.to[0] === 'members@lists.example.org' && m.replyTo)).toEqual(
        [],
      );
      const plain = await setup({ replyDomain: null });
      expect(plain.ctx.meta.all('mails').filter((m) => m.replyTo)).toEqual([]);
    });
  });

  describe('a reply becomes a comment', () => {
    test('to a comment notice: a reply in that thread, only the new text, as the member', async () => {
      const { ctx, who, p, root } = await setup();
      const out = await receiveReply(ctx, reply(who.m2, replyToOf(ctx, who.m2, 'comment.reply')!));
      expect(out.status).toBe('posted');
      const c = comments(ctx).at(-1)!;
      expect(c).toMatchObject({ subject: { type: 'proposal', id: p.id }, authorId: who.m2.id, replyTo: root.id });
      expect(c.body).toBe('Yes, but only for plenary meetings.\n\nWorking groups should keep the rule.');
      expect(await lastAudit(ctx)).toMatchObject({ action: 'comment.created', actor: who.m2.email });
      // The thread's other people are told, as for a comment made on the page.
      expect(
        ctx.meta.all('mails').filter((m) => m.event === 'comment.reply' && m.to[0] === who.chair.email),
      ).toHaveLength(1);
    });

    test('to any other notice on the proposal: a new top-level comment', async () => {
      const { ctx, who, p } = await setup();
      const out = await receiveReply(ctx, reply(who.m1, replyToOf(ctx, who.m1, 'proposal.shared')!, 'Fine by me.'));
      expect(out.status).toBe('posted');
      expect(comments(ctx).at(-1)).toMatchObject({
        subject: { type: 'proposal', id: p.id },
        authorId: who.m1.id,
        replyTo: null,
        body: 'Fine by me.',
      });
    });

    test('the address may come back in another case, and the From in another case', async () => {
      const { ctx, who } = await setup();
      const a = replyToOf(ctx, who.m1, 'proposal.shared')!.toUpperCase();
      const out = await receiveReply(ctx, reply(who.m1, a, 'Agreed.', { from: who.m1.email.toUpperCase() }));
      expect(out.status).toBe('posted');
    });
  });

  describe('refused: nothing posted, an audit entry, no bounce', () => {
    async function refusedWith(ctx: Ctx, mail: InboundMail, code: string, subject: RegExp) {
      const before = comments(ctx).length;
      const mailsBefore = ctx.meta.all('mails').length;
      const out = await receiveReply(ctx, mail);
      expect({ status: out.status, code: out.code }).toEqual({ status: 'refused', code });
      expect(comments(ctx)).toHaveLength(before);
      expect((await lastAudit(ctx)).action).toBe('mail.reply_refused');
      expect((await lastAudit(ctx)).subject).toMatch(subject);
      expect((await lastAudit(ctx)).subject.endsWith(`#${code}`)).toBe(true);
      // Nothing mailed back to whoever sent it.
      expect(ctx.meta.all('mails')).toHaveLength(mailsBefore);
    }

    test('an unknown, forged or altered token', async () => {
      const { ctx, who } = await setup();
      const real = replyToOf(ctx, who.m1, 'proposal.shared')!;
      const mine = real.replace(/^reply\+\d+-/, `reply+${who.m2.id}-`);
      for (const to of [
        mine,
        `reply+${who.m1.id}-p1-n-${'a'.repeat(24)}@${DOMAIN}`,
        `someone@${DOMAIN}`,
        'x@example.org',
      ]) {
        await refusedWith(ctx, reply(who.m2, to), 'unknown_token', /^reply#/);
      }
      // No recipient at all.
      await refusedWith(ctx, { ...reply(who.m1, real), recipients: [] }, 'unknown_token', /^reply#/);
    });

    test("a sender that is not the token's member (From or envelope)", async () => {
      const { ctx, who, p } = await setup();
      const a = replyToOf(ctx, who.m1, 'proposal.shared')!;
      const proposal = new RegExp(`^proposal/${p.id}#`);
      await refusedWith(ctx, reply(who.m2, a), 'sender_mismatch', proposal);
      await refusedWith(
        ctx,
        reply(who.m1, a, 'Hi', { envelopeFrom: 'attacker@example.net' }),
        'sender_mismatch',
        proposal,
      );
      await refusedWith(ctx, reply(who.m1, a, 'Hi', { from: null }), 'sender_mismatch', proposal);
      expect((await lastAudit(ctx)).actor).toBe(who.m1.email);
    });

    test('an automatic answer (out of office, a bounce) is never posted', async () => {
      const { ctx, who } = await setup();
      const a = replyToOf(ctx, who.m1, 'proposal.shared')!;
      await refusedWith(ctx, reply(who.m1, a, 'I am away until Monday.', { automatic: true }), 'auto_reply', /#/);
      await refusedWith(ctx, reply(who.m1, a, 'Delivery failed', { envelopeFrom: '' }), 'auto_reply', /#/);
    });

    test('a thread the member may no longer see', async () => {
      const { ctx, who } = await setup();
      const a = replyToOf(ctx, who.m1, 'proposal.shared')!;
      // No longer a member: a shared proposal is for members only.
      await setUser(ctx, CLI_ACTOR, who.m1.email, { roles: [] });
      await refusedWith(ctx, reply(who.m1, a, 'Still here?'), 'proposal_not_found', /^proposal\//);
    });

    test('a closed (withdrawn) proposal', async () => {
      const { ctx, who, p } = await setup();
      const a = replyToOf(ctx, who.m2, 'comment.reply')!;
      await withdrawProposal(ctx, who.drafter.actor, p.id);
      await refusedWith(ctx, reply(who.m2, a), 'closed_for_comments', /^proposal\//);
    });

    test('a deactivated member, and one whose role needs a second factor not set up', async () => {
      const { ctx, who } = await setup();
      await disableUser(ctx, CLI_ACTOR, who.m1.email);
      await refusedWith(ctx, reply(who.m1, replyToOf(ctx, who.m1, 'proposal.shared')!), 'account_disabled', /#/);
      await setSecuritySettings(ctx, CLI_ACTOR, { requireTotpFor: ['chair'] });
      await refusedWith(ctx, reply(who.chair, replyToOf(ctx, who.chair, 'proposal.shared')!), 'totp_required', /#/);
    });

    test('a message over 256 KB', async () => {
      const { ctx, who } = await setup();
      const a = replyToOf(ctx, who.m1, 'proposal.shared')!;
      await refusedWith(ctx, reply(who.m1, a, 'Big attachment', { size: MAX_REPLY_BYTES + 1 }), 'too_large', /#/);
    });

    test('nothing left once quoted text and signature are stripped', async () => {
      const { ctx, who } = await setup();
      const a = replyToOf(ctx, who.m2, 'comment.reply')!;
      const onlyQuote = '\n-- \nNoor\n\nOn Sun, 1 Mar 2026, Ratify wrote:\n> I think so.\n';
      await refusedWith(ctx, reply(who.m2, a, onlyQuote), 'empty_reply', /#/);
      await refusedWith(ctx, reply(who.m2, a, '   \n'), 'empty_reply', /#/);
    });

    test('a reply to a ballot invitation posts nothing and gets one note a day on how to vote', async () => {
      const { ctx, clock, who, p } = await setup();
      const round = await openRound(ctx, who.chair.actor, {
        subject: { type: 'proposal', id: p.id },
        rule: 'majority',
        quorum: 0.5,
        closesAt: after(ctx.clock, 7 * DAY),
      });
      const a = replyToOf(ctx, who.m1, 'round.ballot')!;
      const notes = () => ctx.meta.all('mails').filter((m) => m.event === 'reply.vote_by_mail');
      const before = comments(ctx).length;
      for (let i = 0; i < 3; i++) {
        const out = await receiveReply(ctx, reply(who.m1, a, 'I approve.'));
        expect(out.code).toBe('vote_by_mail');
        expect(await lastAudit(ctx)).toMatchObject({
          action: 'mail.reply_refused',
          subject: `proposal/${p.id}#vote_by_mail`,
        });
      }
      expect(comments(ctx)).toHaveLength(before);
      expect(ctx.meta.all('ballots').filter((b) => b.round === round.id)).toEqual([]);
      expect(notes().map((m) => m.to)).toEqual([[who.m1.email]]);
      expect(notes()[0].text).toContain(`/rounds/${round.id}`);
      // It answers in the member's thread, under their invitation, and takes no reply itself.
      const invitation = ctx.meta.all('mails').find((m) => m.event === 'round.ballot' && m.to[0] === who.m1.email)!;
      expect(notes()[0].references).toContain(invitation.messageId);
      expect(notes()[0].replyTo ?? null).toBeNull();
      clock.advance(DAY);
      await receiveReply(ctx, reply(who.m1, a, 'I approve.'));
      expect(notes()).toHaveLength(2);
    });
  });

  test('replyText keeps what the member wrote and drops the quote and the signature', () => {
    expect(replyText(QUOTED_AND_SIGNED.replace(/\n/g, '\r\n'))).toBe(
      'Yes, but only for plenary meetings.\n\nWorking groups should keep the rule.',
    );
    expect(replyText('Thanks!\n\nSent from my iPhone\n')).toBe('Thanks!');
  });

  describe('a reply delivered twice, and a flood of replies', () => {
    test('the same Message-ID again (a retry after a crash before the 250): one comment, the first', async () => {
      const { ctx, who } = await setup();
      const mail = reply(who.m1, replyToOf(ctx, who.m1, 'proposal.shared')!, 'Fine by me.', {
        messageId: '<once@mail.example.org>',
      });
      const first = await receiveReply(ctx, mail);
      const before = comments(ctx).length;
      const again = await receiveReply(ctx, mail);
      expect(first.status).toBe('posted');
      expect(again.status).toBe('posted');
      if (first.status === 'posted' && again.status === 'posted') expect(again.comment.id).toBe(first.comment.id);
      expect(comments(ctx).length).toBe(before);
    });

    test('beyond the write limit a minute, a reply is refused for now (thrown: the SMTP listener answers 451) and nothing is posted', async () => {
      const { ctx, who } = await setup();
      const { WriteLimiter } = await import('../../server/services/auth/throttle.js');
      const limiter = new WriteLimiter(ctx.clock, 3);
      const to = replyToOf(ctx, who.m1, 'proposal.shared')!;
      for (let i = 0; i < 3; i++) {
        const out = await receiveReply(ctx, reply(who.m1, to, `Point ${i}.`, { messageId: `<p${i}@x>` }), { limiter });
        expect(out.status).toBe('posted');
      }
      const before = comments(ctx).length;
      await expect(
        receiveReply(ctx, reply(who.m1, to, 'One more.', { messageId: '<p3@x>' }), { limiter }),
      ).rejects.toMatchObject({
        kind: 'throttled',
        code: 'write_limit',
      });
      expect(comments(ctx).length).toBe(before);
    });
  });
});
