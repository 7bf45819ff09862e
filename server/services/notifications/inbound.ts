import type { WriteLimiter } from '../auth/throttle.js';
import EmailReplyParser from 'email-reply-parser';
import { isDomainError } from '../../domain/errors.js';
import { MAX_REPLY_BYTES } from '../../domain/limits.js';
import { parseReplyAddress, type ReplyTarget } from '../../domain/replyAddress.js';
import type { InboundMail } from '../../store/mail/inbound.js';
import type { CommentRecord, UserRecord } from '../../store/meta/schema.js';
import { actorOf, normaliseEmail } from '../accounts/users.js';
import { mustEnrolTotp } from '../auth/totp.js';
import { consolidationCommentable } from '../consolidations/commentable.js';
import { loadConsolidation } from '../consolidations/consolidations.js';
import type { Ctx } from '../context.js';
import { loadProposal } from '../proposals/access.js';
import { proposalCommentable } from '../proposals/commentable.js';
import { addComment } from '../proposals/comments.js';
import { voteByMailMails } from './events.js';
import { readReplyAddress } from './replyToken.js';

/**
 * Reply by mail (issue 13): a member answers a notification, and the answer — without the
 * quoted message and the signature — becomes their comment in the thread the Reply-To token
 * names, through the same loaders and `addComment` as the comment form, so the same rules
 * apply. Anything else is refused: nothing is posted, no bounce is sent, and the refusal is an
 * audit entry (`mail.reply_refused`, subject `<what>#<code>`) and the caller's log line.
 */
export type ReplyOutcome =
  | { status: 'posted'; code: 'posted'; comment: CommentRecord; member: string }
  | { status: 'refused'; code: string; member: string | null; target: string | null };

/** Our own refusals; the others are the codes of the comment form's refusals (`proposal_not_found`, `closed_for_comments`, `forbidden`…). */
export const REPLY_REFUSALS = [
  'unknown_token',
  'auto_reply',
  'sender_mismatch',
  'account_disabled',
  'totp_required',
  'too_large',
  'vote_by_mail',
  'empty_reply',
] as const;

const where = (t: ReplyTarget) => `${t.subject.type}/${t.subject.id}`;

/** The visible text of a reply: what the member wrote, without what they quote or sign with. */
export function replyText(text: string): string {
  const visible = new EmailReplyParser().read(text.replace(/\r\n?/g, '\n')).getVisibleText();
  return visible.replace(/[ \t]+$/gm, '').trim();
}

/** Handle one message that came in (SMTP listener or maildir). Throws only when the store cannot write (try again later). */
export async function receiveReply(
  ctx: Ctx,
  mail: InboundMail,
  opts: { limiter?: WriteLimiter } = {},
): Promise<ReplyOutcome> {
  const domain = ctx.mail.replyDomain;
  // The first address that is one of ours names the thread; it must also carry a valid MAC.
  const address = domain ? mail.recipients.find((a) => parseReplyAddress(a, domain)) : undefined;
  const read = address ? readReplyAddress(ctx, address) : null;
  if (!read) return refuse(ctx, 'unknown_token', null, null);
  const { user, target } = read;
  const refused = (code: string) => refuse(ctx, code, user, where(target));
  // An out-of-office or a bounce answering a notification must never become a comment (nor loop).
  if (mail.automatic || mail.envelopeFrom === '') return refused('auto_reply');
  // The token is the member's; the mail must come from them too (From, and the envelope when known).
  const senders = [mail.from, mail.envelopeFrom].filter((s): s is string => s !== null);
  if (!mail.from || senders.some((s) => normaliseEmail(s) !== user.email)) return refused('sender_mismatch');
  // As a session or an API token would be refused.
  if (user.disabled) return refused('account_disabled');
  if (mustEnrolTotp(ctx, user)) return refused('totp_required');
  if (mail.size > MAX_REPLY_BYTES) return refused('too_large');
  if (target.kind === 'vote') return voteByMail(ctx, user, target);
  const body = replyText(mail.text);
  if (!body) return refused('empty_reply');
  const actor = actorOf(user);
  // Delivered again (the sender did not see our 250, or the maildir file was not moved): the comment is already there.
  const seen = mail.messageId ? ctx.meta.by('comments', 'viaMail', mail.messageId)[0] : undefined;
  if (seen) return { status: 'posted', code: 'posted', comment: seen, member: user.email };
  // The same budget as writes on the site (WRITE_LIMIT a minute); beyond it the caller answers "later" (451).
  opts.limiter?.take(user.id);
  try {
    // The comment form's own path: load what the member may see (404 otherwise), then addComment checks the rest.
    const on =
      target.subject.type === 'proposal'
        ? proposalCommentable(ctx, loadProposal(ctx, actor, target.subject.id))
        : consolidationCommentable(ctx, loadConsolidation(ctx, actor, target.subject.id));
    const comment = await addComment(ctx, actor, on, {
      body,
      replyTo: target.kind === 'thread' ? target.root : undefined,
      viaMail: mail.messageId,
    });
    return { status: 'posted', code: 'posted', comment, member: user.email };
  } catch (e) {
    // A refusal the page would show; storage trouble and a full queue propagate (try again later).
    if (
      isDomainError(e) &&
      ['invalid', 'unauthenticated', 'forbidden', 'not_found', 'conflict', 'too_large'].includes(e.kind)
    )
      return refused(e.code);
    throw e;
  }
}

/** Votes are not taken by mail: tell the member where to vote (at most once a day per round). */
async function voteByMail(ctx: Ctx, user: UserRecord, target: ReplyTarget & { kind: 'vote' }): Promise<ReplyOutcome> {
  const round = ctx.meta.get('rounds', target.round);
  const answer = round ? voteByMailMails(ctx, round, user) : {};
  return refuse(ctx, 'vote_by_mail', user, where(target), answer);
}

async function refuse(
  ctx: Ctx,
  code: string,
  user: UserRecord | null,
  target: string | null,
  puts: NonNullable<Parameters<Ctx['meta']['write']>[0]['puts']> = {},
): Promise<ReplyOutcome> {
  await ctx.meta.write({
    actor: user?.email ?? null,
    at: ctx.clock(),
    events: [{ action: 'mail.reply_refused', subject: `${target ?? 'reply'}#${code}` }],
    puts,
  });
  return { status: 'refused', code, member: user?.email ?? null, target };
}
