import { body, msgId, utc, type Composed, type RoundInfo, type Site } from './mail.js';

/**
 * The answer to a member who replied by mail to their ballot invitation, reminder or receipt:
 * votes are not taken by mail (a From line is easy to forge), so it says where to vote. One a
 * day per member and round at most (`day` is in its Message-ID, which the queue counts).
 */
export function voteByMail(site: Site, r: RoundInfo, name: string, day: string): Composed {
  const references = [...r.thread, msgId(site, `round-${r.id}.ballot`)];
  return {
    subject: `Votes are not taken by mail: ${r.what}`,
    ...body(
      [
        `Dear ${name},`,
        `your reply about the approval round on ${r.what} ("${r.documentTitle}") was not counted as a ballot, and it was not posted as a comment: Ratify does not take votes by mail, because the sender of a mail is easy to forge.`,
        `To vote, sign in and cast your ballot on the round's page before ${utc(r.closesAt)}. To comment, answer a notification about the text itself, or write on its page.`,
      ],
      [['Vote', `${site.baseUrl}/rounds/${r.id}`]],
    ),
    messageId: msgId(site, `round-${r.id}.vote-by-mail-${day}`),
    inReplyTo: references.at(-1)!,
    references,
  };
}
