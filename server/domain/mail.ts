/**
 * What Ratify says by e-mail, as pure functions: subjects, plain-text and HTML bodies, and
 * the threading headers, as logical ids (`<proposal-1@host>`). Everything about one proposal
 * threads under the proposal's root; a consolidation starts its own thread, under which its
 * rounds, their results and the version it becomes thread. The queue makes each recipient's
 * copy: its own Message-ID, and only the ancestors that recipient was sent (notifications/queue.ts).
 */
import type { MailKind } from './records.js';
import type { Change } from './diff.js';
import { changedPassages, esc, paragraph, passage, prose, quoted, type Markdown, type Part } from './mailParts.js';

export interface Site {
  baseUrl: string;
  /** The host used in Message-IDs and List-Id. */
  host: string;
  /** What members wrote (markdown) as safe HTML, for the HTML part: the pages' renderer. */
  markdown: Markdown;
}

export interface Composed {
  subject: string;
  text: string;
  html: string;
  messageId: string;
  inReplyTo: string | null;
  references: string[];
}

export const msgId = (site: Site, local: string) => `<${local}@${site.host}>`;
export const proposalRoot = (site: Site, id: number) => msgId(site, `proposal-${id}`);
export const consolidationRoot = (site: Site, id: number) => msgId(site, `consolidation-${id}`);
/**
 * A document's default short label for subjects, from its slug: the initials of a long slug
 * (`terms-of-reference` → `ToR`, `workshop-process` → `WP`), a short slug in capitals (`eip-1` → `EIP-1`).
 */
export function docLabel(slug: string): string {
  const SMALL = new Set(['of', 'and', 'the', 'for', 'on', 'in', 'to', 'a']);
  const words = slug.split('-').filter(Boolean);
  if (slug.length <= 12 && !words.some((w) => SMALL.has(w))) return slug.toUpperCase();
  return words.map((w) => (SMALL.has(w) ? w[0] : w[0].toUpperCase())).join('');
}

/** The label of a document in subjects: the one the secretariat set, else the default from its slug. */
export const documentLabel = (doc: { slug: string; label?: string }) => doc.label || docLabel(doc.slug);

/** The subject of a proposal's thread, and of a consolidation's (`label`: `documentLabel`): every message in it carries it. */
export const proposalThreadSubject = (label: string, id: number, title: string) =>
  `[${label}] Proposal ${id}: ${oneLine(title)}`;
export const consolidationThreadSubject = (label: string, id: number, summary: string) =>
  `[${label}] Consolidation ${id}${summary ? `: ${oneLine(summary)}` : ''}`;

/**
 * A message in a thread: the thread's subject (`Re: ` after the root), so every client groups
 * it; what happened moves to the first line of the body.
 */
/** The HTML part is a whole document: its title is the message's subject. */
export const titled = (m: Composed): Composed => ({
  ...m,
  html: m.html.replace('<title></title>', `<title>${esc(m.subject)}</title>`),
});

export function inThread(m: Composed, base: string, root = false): Composed {
  if (root) return { ...m, subject: base };
  return {
    ...m,
    subject: `Re: ${base}`,
    text: `${m.subject}\n\n${m.text}`,
    html: m.html.replace(/<body[^>]*>/, (tag) => `${tag}<p><strong>${esc(m.subject)}</strong></p>`),
  };
}

export const listId = (site: Omit<Site, 'markdown'>) => `Ratify <ratify.${site.host}>`;
const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

/** "1 Mar 2027, 17:00 UTC" */
export function utc(iso: string): string {
  const d = new Date(iso);
  const m = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  return `${d.getUTCDate()} ${m} ${d.getUTCFullYear()}, ${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')} UTC`;
}

const RULE_WORDS: Record<string, string> = {
  consensus: 'consensus (silence procedure): it passes if the quorum is met and nobody objects',
  majority: 'majority: it passes if the quorum is met and more approve than object',
  'two-thirds':
    'two-thirds: it passes if the quorum is met and at least two thirds of those approving or objecting approve',
};
export const ruleWords = (rule: string) => RULE_WORDS[rule] ?? rule;

/**
 * A message from paragraphs and links; the HTML part says the same. A paragraph is plain text
 * (escaped into the HTML part) or a part with both forms (mailParts.ts: markdown, quotes, diffs).
 */
export function body(
  paragraphs: (Part | null)[],
  links: [label: string, url: string][],
): { text: string; html: string } {
  const parts = paragraphs.filter((p): p is Part => p !== null && p !== '');
  const text =
    [...parts.map((p) => (typeof p === 'string' ? p : p.text)), ...links.map(([l, u]) => `${l}:\n${u}`)].join('\n\n') +
    '\n\n-- \nRatify\n';
  const html =
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title></title></head><body style="font-family:system-ui,sans-serif;font-size:16px;line-height:1.5;max-width:40em">` +
    parts.map((p) => (typeof p === 'string' ? paragraph(p) : p.html)).join('') +
    links.map(([l, u]) => `<p><a href="${esc(u)}">${esc(l)}</a></p>`).join('') +
    `<p style="color:#555">— Ratify</p></body></html>`;
  return { text, html };
}

export interface ProposalInfo {
  id: number;
  title: string;
  documentTitle: string;
  slug: string;
  author: string;
  rationale: string;
  /** The proposal's text against the published text it started from. */
  changes: Change[];
}

export function proposalShared(site: Site, p: ProposalInfo): Composed {
  const url = `${site.baseUrl}/proposals/${p.id}`;
  const rationale = p.rationale.trim() ? prose(site.markdown, p.rationale) : null;
  return {
    subject: `[${p.documentTitle}] Proposal shared: ${oneLine(p.title)}`,
    ...body(
      [
        `${p.author} shared a proposed change to "${p.documentTitle}" with all members: ${p.title}.`,
        rationale && { text: `Rationale:\n${rationale.text}`, html: `${paragraph('Rationale:')}${rationale.html}` },
        changedPassages(p.changes, 'What it changes in the published text:', `${url}?tab=changes`),
      ],
      [['Read the proposal and what it changes', `${url}?tab=changes`]],
    ),
    messageId: proposalRoot(site, p.id),
    inReplyTo: null,
    references: [],
  };
}

export interface ConsolidationInfo {
  id: number;
  documentTitle: string;
  summary: string;
  proposals: { id: number; title: string }[];
  conflicts: number;
  /** The consolidated text against the published text. */
  changes: Change[];
}

export function consolidationCreated(site: Site, c: ConsolidationInfo): Composed {
  const url = `${site.baseUrl}/consolidations/${c.id}`;
  return {
    subject: `[${c.documentTitle}] Consolidated text prepared${c.summary ? `: ${oneLine(c.summary)}` : ''}`,
    ...body(
      [
        `The chair prepared a consolidated text of "${c.documentTitle}" with these proposals:\n${c.proposals.map((p) => `- #${p.id} ${p.title}`).join('\n')}`,
        c.summary.trim() ? summaryPart(site, c.summary) : null,
        c.conflicts
          ? `It has ${c.conflicts} conflict(s) to resolve before it can be put to a vote.`
          : 'It merged without conflicts.',
        changedPassages(c.changes, 'What it changes in the published text:', url),
      ],
      [['Read the consolidated text', url]],
    ),
    // A consolidation starts its own thread; its body names the proposals it merges.
    messageId: consolidationRoot(site, c.id),
    inReplyTo: null,
    references: [],
  };
}

/** A summary (markdown) under its heading line. */
function summaryPart(site: Site, summary: string): Part {
  const s = prose(site.markdown, summary);
  return { text: `Summary:\n${s.text}`, html: `${paragraph('Summary:')}${s.html}` };
}

export interface RoundInfo {
  id: number;
  what: string;
  documentTitle: string;
  rule: string;
  quorumPercent: string;
  closesAt: string;
  /** The logical ids this round's messages thread under, oldest first (a proposal's root, or a consolidation's). */
  thread: string[];
}

const roundThread = (r: RoundInfo) => ({ inReplyTo: r.thread.at(-1) ?? null, references: r.thread });
/** A personal message about a round an elector was invited to: under their invitation, in the subject's thread. */
const roundReply = (site: Site, r: RoundInfo) => {
  const references = [...r.thread, msgId(site, `round-${r.id}.ballot`)];
  return { inReplyTo: references.at(-1)!, references };
};

export function roundOpened(site: Site, r: RoundInfo): Composed {
  return {
    subject: `[${r.documentTitle}] Vote open until ${utc(r.closesAt)}: ${oneLine(r.what)}`,
    ...body(
      [
        `An approval round is open on ${r.what}.`,
        `Rule: ${ruleWords(r.rule)}. Quorum: ${r.quorumPercent} of the members must cast a ballot.`,
        `Deadline: ${utc(r.closesAt)}.`,
      ],
      [['Read the text and vote', `${site.baseUrl}/rounds/${r.id}`]],
    ),
    messageId: msgId(site, `round-${r.id}.opened`),
    ...roundThread(r),
  };
}

/** The personal ballot invitation to one elector (always sent). */
export function ballotInvitation(site: Site, r: RoundInfo, name: string): Composed {
  return {
    subject: `Your ballot: ${oneLine(r.what)} — by ${utc(r.closesAt)}`,
    ...body(
      [
        `Dear ${name},`,
        `you are in the electorate of an approval round on ${r.what} ("${r.documentTitle}").`,
        `Rule: ${ruleWords(r.rule)}. Quorum: ${r.quorumPercent}. Deadline: ${utc(r.closesAt)}.`,
        'You may approve, object (with a reason) or abstain, and change your ballot until the round closes.',
      ],
      [['Vote', `${site.baseUrl}/rounds/${r.id}`]],
    ),
    messageId: msgId(site, `round-${r.id}.ballot`),
    ...roundThread(r),
  };
}

/** To a member whose ballot someone recorded on their behalf: what was recorded, and how to correct it. */
export function ballotRecorded(
  site: Site,
  r: RoundInfo,
  b: { id: number; name: string; position: string; reason: string; note: string; recordedBy: string },
): Composed {
  return {
    subject: `A ballot was recorded on your behalf: ${oneLine(r.what)}`,
    ...body(
      [
        `Dear ${b.name},`,
        `${b.recordedBy} recorded a ballot on your behalf in the approval round on ${r.what} ("${r.documentTitle}"): ${b.position}${b.reason ? ` — "${oneLine(b.reason)}"` : ''}.`,
        `How it was given: ${oneLine(b.note)}.`,
        `If this is wrong, cast your own ballot before ${utc(r.closesAt)}: your own ballot replaces the recorded one.`,
      ],
      [['See the round and cast your own ballot', `${site.baseUrl}/rounds/${r.id}`]],
    ),
    messageId: msgId(site, `round-${r.id}.recorded.b${b.id}`),
    ...roundReply(site, r),
  };
}

export function roundReminder(site: Site, r: RoundInfo, name: string): Composed {
  return {
    subject: `Reminder: you have not voted — ${oneLine(r.what)} closes ${utc(r.closesAt)}`,
    ...body(
      [
        `Dear ${name},`,
        `the round on ${r.what} ("${r.documentTitle}") closes on ${utc(r.closesAt)} and you have not cast a ballot yet.`,
      ],
      [['Vote', `${site.baseUrl}/rounds/${r.id}`]],
    ),
    messageId: msgId(site, `round-${r.id}.reminder`),
    ...roundReply(site, r),
  };
}

export interface Outcome {
  result: string;
  tally: {
    approve: number;
    object: number;
    abstain: number;
    notVoted: number;
    recused: number;
    groups: Record<string, { approve: number; object: number; abstain: number; notVoted: number; recused: number }>;
  };
  electorate: number;
  /** The condition that failed, in words (e.g. "the civil society group did not take part"). */
  failedCondition: string | null;
  /** Stakeholder group names by slug, for the per-group lines. */
  groupNames: Record<string, string>;
}

const counts = (t: { approve: number; object: number; abstain: number; notVoted: number; recused: number }) =>
  `approve ${t.approve}, object ${t.object}, abstain ${t.abstain}, not voted ${t.notVoted}${t.recused ? `, recused ${t.recused}` : ''}`;

export function roundClosed(site: Site, r: RoundInfo, outcome: Outcome): Composed {
  const t = outcome.tally;
  const words = outcome.result === 'no-quorum' ? 'did not reach its quorum' : outcome.result;
  const groups = Object.entries(t.groups).map(([slug, g]) => `${outcome.groupNames[slug] ?? slug}: ${counts(g)}.`);
  return {
    subject: `[${r.documentTitle}] Round ${words}: ${oneLine(r.what)}`,
    ...body(
      [
        `The approval round on ${r.what} closed: it ${words}${outcome.failedCondition ? ` because ${outcome.failedCondition}` : ''}.`,
        `${counts(t).replace(/^a/, 'A')} (electorate ${outcome.electorate}).`,
        ...(groups.length ? [`By stakeholder group:\n${groups.join('\n')}`] : []),
      ],
      [['See every ballot', `${site.baseUrl}/rounds/${r.id}`]],
    ),
    messageId: msgId(site, `round-${r.id}.closed`),
    // Under the round's opening: the list's message, or each elector's own invitation (a
    // recipient's copy keeps only the one they were sent).
    inReplyTo: msgId(site, `round-${r.id}.ballot`),
    references: [...r.thread, msgId(site, `round-${r.id}.opened`), msgId(site, `round-${r.id}.ballot`)],
  };
}

/** To a voter, each time they cast a ballot: what was counted, and the receipt the public record lists it under. */
export function ballotReceipt(
  site: Site,
  r: RoundInfo,
  b: { id: number; name: string; position: string; reason: string; receipt: string; unnamed: boolean; named: boolean },
): Composed {
  return {
    subject: `Your ballot was received: ${oneLine(r.what)}`,
    ...body(
      [
        `Dear ${b.name},`,
        `your ballot in the approval round on ${r.what} ("${r.documentTitle}") was received: ${b.position}${b.reason ? ` — "${oneLine(b.reason)}"` : ''}.`,
        `Your receipt: ${b.receipt}`,
        b.unnamed
          ? `The public record of this round lists ballots by receipt${b.named ? ' (and, as you asked, with your name)' : ', without names'}: look for ${b.receipt} to check that your ballot was counted as cast.`
          : `The record of this round names every voter; your receipt lets you find your ballot in it.`,
        `You may change your ballot until ${utc(r.closesAt)}.`,
      ],
      [['See the round', `${site.baseUrl}/rounds/${r.id}`]],
    ),
    messageId: msgId(site, `round-${r.id}.receipt.b${b.id}`),
    ...roundReply(site, r),
  };
}

/** To a member whose recusal was recorded or withdrawn (by them or on their behalf). */
export function recusalNotice(
  site: Site,
  r: RoundInfo,
  x: {
    name: string;
    reason: string;
    kind: 'recorded' | 'withdrawn';
    recordedBy: string | null;
    note: string;
    seq: string;
  },
): Composed {
  const recorded = x.kind === 'recorded';
  return {
    subject: `${recorded ? 'Recusal recorded' : 'Recusal withdrawn'}: ${oneLine(r.what)}`,
    ...body(
      [
        `Dear ${x.name},`,
        recorded
          ? `${x.recordedBy ? `${x.recordedBy} recorded that you stand aside` : 'You stand aside'} from the approval round on ${r.what} ("${r.documentTitle}"): "${oneLine(x.reason)}".${x.note ? ` How it was given: ${oneLine(x.note)}.` : ''}`
          : `Your recusal from the approval round on ${r.what} ("${r.documentTitle}") was withdrawn: you are in the electorate again.`,
        recorded
          ? `You cannot vote in this round and a ballot you cast does not count. Recusals are named in the public record with their reason. You may withdraw it before ${utc(r.closesAt)}.`
          : `You may vote until ${utc(r.closesAt)}; a ballot you had cast counts again.`,
      ],
      [['See the round', `${site.baseUrl}/rounds/${r.id}`]],
    ),
    messageId: msgId(site, `round-${r.id}.recusal.${x.seq}`),
    ...roundReply(site, r),
  };
}

/** To every elector of a round that was cancelled: no ballot is needed any more, and why. */
export function roundCancelled(site: Site, r: RoundInfo, reason: string, name: string): Composed {
  return {
    subject: `Vote cancelled: ${oneLine(r.what)}`,
    ...body(
      [
        `Dear ${name},`,
        `the approval round on ${r.what} ("${r.documentTitle}"), which was to close on ${utc(r.closesAt)}, was cancelled. It decides nothing, and no ballot is needed any more.`,
        `Reason: ${oneLine(reason)}`,
      ],
      [['See the round', `${site.baseUrl}/rounds/${r.id}`]],
    ),
    messageId: msgId(site, `round-${r.id}.cancelled`),
    ...roundReply(site, r),
  };
}

export function versionPublished(
  site: Site,
  v: { slug: string; label: string; documentTitle: string; number: number; summary: string; thread: string[] },
): Composed {
  const diff =
    v.number > 1
      ? `${site.baseUrl}/documents/${v.slug}/compare?from=${v.number - 1}&to=${v.number}`
      : `${site.baseUrl}/documents/${v.slug}`;
  return {
    subject: `[${v.label}] Version ${v.number} published${v.summary ? `: ${oneLine(v.summary)}` : ''}`,
    ...body(
      [
        `Version ${v.number} of "${v.documentTitle}" is published.`,
        v.summary.trim() ? prose(site.markdown, v.summary) : null,
      ],
      [
        ['What changed', diff],
        ['The decision record', `${site.baseUrl}/documents/${v.slug}/versions/${v.number}`],
      ],
    ),
    messageId: msgId(site, `${v.slug}-v${v.number}`),
    inReplyTo: v.thread.at(-1) ?? null,
    references: v.thread,
  };
}

export function commentNotice(
  site: Site,
  c: {
    id: number;
    kind: 'reply' | 'on-your-proposal';
    author: string;
    on: string;
    url: string;
    body: string;
    /** The passage of the text the comment is anchored to, if it is. */
    passage: string | null;
    /** The comment it answers, if it is a reply. */
    parent: { author: string; body: string } | null;
    /** The words it suggests for the passage ('' deletes it), or null. */
    suggestion?: string | null;
    thread: string[];
  },
): Composed {
  const said = prose(site.markdown, c.body);
  const suggestion = c.suggestion ?? null;
  return {
    subject:
      c.kind === 'reply'
        ? `${c.author} replied to your comment on ${oneLine(c.on)}`
        : `${c.author} commented on your proposal ${oneLine(c.on)}`,
    // `on` reads "#3 "Title"" for a proposal, "the consolidated text #2" otherwise.
    ...body(
      [
        c.passage ? quoted('On the passage:', passage(c.passage)) : null,
        c.parent ? quoted(`In reply to ${c.parent.author}:`, prose(site.markdown, c.parent.body)) : null,
        suggestion === null
          ? null
          : suggestion.trim()
            ? quoted(`${c.author} suggests replacing it with:`, passage(suggestion))
            : `${c.author} suggests deleting it.`,
        // A suggestion may come without a word of comment.
        suggestion !== null && !c.body.trim()
          ? null
          : { text: `${c.author} wrote:\n${said.text}`, html: `${paragraph(`${c.author} wrote:`)}${said.html}` },
      ],
      [['Read and reply', c.url]],
    ),
    messageId: msgId(site, `comment-${c.id}`),
    inReplyTo: c.thread.at(-1) ?? null,
    references: c.thread,
  };
}

/** To a proposal's author: someone else saved a revision of it. */
export function proposalRevised(
  site: Site,
  p: {
    id: number;
    title: string;
    documentTitle: string;
    by: string;
    revision: number;
    name: string;
    /** The new revision's text against the one before. */
    changes: Change[];
  },
): Composed {
  const url = `${site.baseUrl}/proposals/${p.id}`;
  return {
    subject: `${p.by} revised your proposal`,
    ...body(
      [
        `Dear ${p.name},`,
        `${p.by} saved revision ${p.revision} of your proposal #${p.id} "${p.title}" to "${p.documentTitle}".`,
        changedPassages(
          p.changes,
          `What revision ${p.revision} changes:`,
          `${url}?tab=changes&from=${p.revision - 1}&to=${p.revision}`,
        ),
      ],
      [['See what changed', `${url}?tab=changes`]],
    ),
    messageId: msgId(site, `proposal-${p.id}.rev-${p.revision}`),
    inReplyTo: proposalRoot(site, p.id),
    references: [proposalRoot(site, p.id)],
  };
}

/** To whoever started a comment thread: someone else resolved it. */
export function threadResolved(
  site: Site,
  c: { id: number; by: string; on: string; url: string; name: string; at: string; thread: string[] },
): Composed {
  return {
    subject: `${c.by} resolved your comment thread`,
    ...body(
      [`Dear ${c.name},`, `${c.by} marked your comment thread on ${c.on} as resolved.`],
      [['See the thread', c.url]],
    ),
    messageId: msgId(site, `comment-${c.id}.resolved-${Date.parse(c.at)}`),
    inReplyTo: c.thread.at(-1) ?? null,
    references: c.thread,
  };
}

export function invitation(site: Site, name: string, link: string, expiresAt: string, nonce: string): Composed {
  return {
    subject: 'Your Ratify account: set your password',
    ...body(
      [
        `Dear ${name},`,
        'the secretariat created an account for you on Ratify, where the group drafts, discusses and approves its texts.',
        `Set your password with this link (it works once, until ${utc(expiresAt)}):`,
      ],
      [['Set your password', link]],
    ),
    messageId: msgId(site, `invite-${nonce}`),
    inReplyTo: null,
    references: [],
  };
}

/**
 * The account's address was changed by the secretariat: told to the new address (this is now
 * where Ratify writes, and how to sign in) and to the old one (in case it was not asked for).
 */
export function emailChanged(
  site: Site,
  name: string,
  from: string,
  to: string,
  told: 'new' | 'old',
  nonce: string,
): Composed {
  return {
    subject: 'Ratify: the e-mail address of your account was changed',
    ...body(
      told === 'new'
        ? [
            `Hello ${name}, the secretariat changed the e-mail address of your Ratify account from ${from} to this one, ${to}.`,
            'From now on you sign in with this address, and Ratify writes to it. If you did not expect this, tell the secretariat.',
          ]
        : [
            `Hello ${name}, the secretariat changed the e-mail address of your Ratify account from this one, ${from}, to ${to}.`,
            'Ratify will not write to this address again. If you did not ask for this, tell the secretariat at once.',
          ],
      [['Sign in', `${site.baseUrl}/login`]],
    ),
    messageId: msgId(site, `email-${nonce}-${told}`),
    inReplyTo: null,
    references: [],
  };
}

export function passwordReset(site: Site, link: string, expiresAt: string, nonce: string): Composed {
  return {
    subject: 'Ratify: reset your password',
    ...body(
      [
        'Someone (hopefully you) asked to reset the password of this Ratify account.',
        `The link works once, until ${utc(expiresAt)}. If it was not you, ignore this message.`,
      ],
      [['Choose a new password', link]],
    ),
    messageId: msgId(site, `reset-${nonce}`),
    inReplyTo: null,
    references: [],
  };
}

export function digest(
  site: Site,
  name: string,
  items: { subject: string; text: string; link: string }[],
  day: string,
): Composed {
  return {
    subject: `Ratify daily digest: ${items.length} update${items.length === 1 ? '' : 's'}`,
    ...body(
      [`Dear ${name},`, 'what happened since the last digest:'],
      [
        ...items.map((i) => [i.subject, i.link] as [string, string]),
        ['Your notification settings', `${site.baseUrl}/account#notifications`],
      ],
    ),
    messageId: msgId(site, `digest-${day}`),
    inReplyTo: null,
    references: [],
  };
}

/** What each kind of mail is about, for the account page and the unsubscribe page. */
export const MAIL_KIND_WORDS: Record<MailKind, string> = {
  proposals: 'proposals and consolidations: shared, revised, built',
  comments: 'comments: replies to you and on your texts, threads resolved',
  rounds: 'rounds: opened, results, cancellations',
  versions: 'new published versions',
};

/** The kind of mail a notification event is, or null for mail outside the kinds (account mail, ballots). */
export function mailKindOf(event: string): MailKind | null {
  const area = event.split('.')[0];
  if (area === 'proposal' || area === 'consolidation') return 'proposals';
  if (area === 'comment') return 'comments';
  if (area === 'round') return 'rounds';
  if (area === 'version') return 'versions';
  return null;
}
