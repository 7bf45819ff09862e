import type { SubjectRef } from './records.js';

/**
 * Reply by mail (issue 13): a notification's Reply-To is `reply+<token>@<REPLY_DOMAIN>`, and the
 * token names who may answer and to what. This module is the token's shape, as pure string
 * work: its fields in a fixed order and its MAC (made and checked under the installation's mail
 * secret by services/notifications/replyToken.ts). Everything is lower-case letters, digits and
 * dashes, because mail systems on the way may lower-case the local part of an address.
 *
 *   <user>-<p|c><subject>-<n | t<root comment> | v<round>>-<mac>     e.g. 5-p12-t34-k7q2…
 */

/** What a reply answers: the subject's thread (a new comment), one comment thread (a reply in it), or a round (no comment: votes are not taken by mail). */
export type ReplyTarget =
  | { kind: 'notice'; subject: SubjectRef }
  | { kind: 'thread'; subject: SubjectRef; root: number }
  | { kind: 'vote'; subject: SubjectRef; round: number };

export interface ReplyToken {
  userId: number;
  target: ReplyTarget;
  /** The MAC as written in the address (checked by the service, never here). */
  mac: string;
}

/** The MAC's length in characters of base 32 (5 bits each: 120 bits). */
export const REPLY_MAC_CHARS = 24;

/** The local part's prefix before the token. */
export const REPLY_PREFIX = 'reply+';

const ID = '([1-9][0-9]{0,8})';
const TOKEN = new RegExp(`^${ID}-([pc])${ID}-(n|t${ID}|v${ID})-([0-9a-z]{${REPLY_MAC_CHARS}})$`);

/** The part of the token the MAC covers: who, which subject, and what kind of answer. */
export function replyPayload(userId: number, t: ReplyTarget): string {
  const what = t.kind === 'notice' ? 'n' : t.kind === 'thread' ? `t${t.root}` : `v${t.round}`;
  return `${userId}-${t.subject.type === 'proposal' ? 'p' : 'c'}${t.subject.id}-${what}`;
}

/** The full address for a payload and its MAC. */
export const replyAddressOf = (domain: string, payload: string, mac: string) =>
  `${REPLY_PREFIX}${payload}-${mac}@${domain}`;

/**
 * The token of `address` if it is one of this site's reply addresses (`reply+…@domain`, any
 * case), or null. Says nothing about whether the MAC is right.
 */
export function parseReplyAddress(address: string, domain: string): ReplyToken | null {
  const a = address.trim().toLowerCase();
  const at = a.lastIndexOf('@');
  if (at < 0 || a.slice(at + 1) !== domain.toLowerCase() || !a.startsWith(REPLY_PREFIX)) return null;
  const m = TOKEN.exec(a.slice(REPLY_PREFIX.length, at));
  if (!m) return null;
  const subject: SubjectRef = { type: m[2] === 'p' ? 'proposal' : 'consolidation', id: Number(m[3]) };
  const target: ReplyTarget =
    m[4] === 'n'
      ? { kind: 'notice', subject }
      : m[5]
        ? { kind: 'thread', subject, root: Number(m[5]) }
        : { kind: 'vote', subject, round: Number(m[6]) };
  return { userId: Number(m[1]), target, mac: m[7] };
}

/** Whether an address is addressed to this site's reply mailbox at all (what the SMTP listener accepts at RCPT TO). */
export const isReplyAddress = (address: string, domain: string) => {
  const a = address.trim().toLowerCase();
  return a.startsWith(REPLY_PREFIX) && a.endsWith(`@${domain.toLowerCase()}`);
};
