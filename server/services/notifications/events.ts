import { projectMarkdown } from '../../domain/anchor.js';
import type { Change } from '../../domain/diff.js';
import * as mail from '../../domain/mail.js';
import { voteByMail } from '../../domain/replyMail.js';
import { bpToQuorum, conditionWords, fullTally } from '../../domain/round.js';
import type {
  UserRecord,
  BallotRecord,
  CommentRecord,
  ConsolidationRecord,
  ProposalRecord,
  RecusalEntry,
  RoundRecord,
  VersionRecord,
} from '../../store/meta/schema.js';
import { receiptOf } from '../rounds/decision.js';
import type { Ctx } from '../context.js';
import { subjectKey } from '../../store/meta/indexes.js';
import { mailSite as site, mergePuts, toList, toPerson, wasSent, type Puts } from './queue.js';
import type { ReplyTarget } from '../../domain/replyAddress.js';

/**
 * Which mails each event queues (in the same store write as the event). Composing is
 * synchronous, inside that write: what needs git (the diff a mail shows) is read by the
 * service before and passed in.
 */

/**
 * What a member's answer by mail becomes (services/notifications/inbound.ts): a new comment on
 * the subject; a reply in a comment thread; or, to anything about their ballot in a round, a
 * note on how to vote (votes are not taken by mail, and a public comment could give a secret
 * ballot away).
 */
const answerOn = (subject: RoundRecord['subject']): ReplyTarget => ({ kind: 'notice', subject });
const answerInThread = (c: CommentRecord): ReplyTarget => ({
  kind: 'thread',
  subject: c.subject,
  root: c.replyTo ?? c.id,
});
const answerOnRound = (r: RoundRecord): ReplyTarget => ({ kind: 'vote', subject: r.subject, round: r.id });

const docTitle = (ctx: Ctx, slug: string) => ctx.meta.get('documents', slug)?.title ?? slug;
/** A document's label in subjects (its own, or the default from its slug). */
const docLabel = (ctx: Ctx, slug: string) => mail.documentLabel(ctx.meta.get('documents', slug) ?? { slug });
const userName = (ctx: Ctx, id: number) => ctx.meta.get('users', id)?.name ?? `user ${id}`;

/** The subject every message of a proposal's or consolidation's thread carries. */
function threadSubject(ctx: Ctx, subject: { type: 'proposal' | 'consolidation'; id: number }): string {
  if (subject.type === 'proposal') {
    const p = ctx.meta.get('proposals', subject.id);
    return mail.proposalThreadSubject(docLabel(ctx, p?.document ?? ''), subject.id, p?.title ?? '');
  }
  const c = ctx.meta.get('consolidations', subject.id);
  return mail.consolidationThreadSubject(docLabel(ctx, c?.document ?? ''), subject.id, c?.summary ?? '');
}
/** A message in the thread of a round's subject. */
const inRoundThread = (ctx: Ctx, r: RoundRecord, m: mail.Composed) => mail.inThread(m, threadSubject(ctx, r.subject));

/** The announcement of a shared proposal; `changes`: its text against the published text it started from. */
export function proposalSharedMails(ctx: Ctx, p: ProposalRecord, changes: Change[]): Puts {
  const shared = mail.proposalShared(site(ctx), {
    id: p.id,
    title: p.title,
    documentTitle: docTitle(ctx, p.document),
    slug: p.document,
    author: userName(ctx, p.authorId),
    rationale: p.rationale,
    changes,
  });
  const m = mail.inThread(shared, mail.proposalThreadSubject(docLabel(ctx, p.document), p.id, p.title), true);
  // The author too: the announcement is the root of the proposal's thread, which their later notices answer.
  return toList(
    ctx,
    m,
    'proposal.shared',
    `${ctx.mail.baseUrl}/proposals/${p.id}`,
    answerOn({ type: 'proposal', id: p.id }),
  );
}

/** The announcement of a consolidation; `changes`: its text against the published text. */
export function consolidationCreatedMails(
  ctx: Ctx,
  c: ConsolidationRecord,
  conflicts: number,
  changes: Change[],
): Puts {
  const created = mail.consolidationCreated(site(ctx), {
    id: c.id,
    documentTitle: docTitle(ctx, c.document),
    summary: c.summary,
    proposals: c.proposals.map((id) => ({ id, title: ctx.meta.get('proposals', id)?.title ?? `proposal ${id}` })),
    conflicts,
    changes,
  });
  const m = mail.inThread(created, mail.consolidationThreadSubject(docLabel(ctx, c.document), c.id, c.summary), true);
  return toList(
    ctx,
    m,
    'consolidation.created',
    `${ctx.mail.baseUrl}/consolidations/${c.id}`,
    answerOn({ type: 'consolidation', id: c.id }),
  );
}

/** The thread a subject's messages belong to: a proposal is one thread; a consolidation starts its own (its body names its proposals). */
function threadOf(ctx: Ctx, subject: { type: 'proposal' | 'consolidation'; id: number }): string[] {
  return [
    subject.type === 'proposal'
      ? mail.proposalRoot(site(ctx), subject.id)
      : mail.consolidationRoot(site(ctx), subject.id),
  ];
}

function roundInfo(ctx: Ctx, r: RoundRecord): mail.RoundInfo {
  const what =
    r.subject.type === 'proposal'
      ? `proposal #${r.subject.id} "${ctx.meta.get('proposals', r.subject.id)?.title ?? ''}"`
      : `the consolidated text #${r.subject.id}${ctx.meta.get('consolidations', r.subject.id)?.summary ? ` "${ctx.meta.get('consolidations', r.subject.id)!.summary}"` : ''}`;
  return {
    id: r.id,
    what,
    documentTitle: docTitle(ctx, r.document),
    rule: r.rule,
    quorumPercent: `${+(bpToQuorum(r.quorumBp) * 100).toFixed(2)}%`,
    closesAt: r.closesAt,
    thread: threadOf(ctx, r.subject),
  };
}

export function roundOpenedMails(ctx: Ctx, r: RoundRecord): Puts {
  const info = roundInfo(ctx, r);
  const link = `${ctx.mail.baseUrl}/rounds/${r.id}`;
  const personal = r.electorate.map((id) => {
    const u = ctx.meta.get('users', id);
    return u
      ? toPerson(
          ctx,
          u,
          inRoundThread(ctx, r, mail.ballotInvitation(site(ctx), info, u.name)),
          'round.ballot',
          link,
          true,
          answerOnRound(r),
        )
      : {};
  });
  // The electors get their personal invitation; with no list address the group message would duplicate it.
  const group = ctx.mail.listAddress
    ? toList(ctx, inRoundThread(ctx, r, mail.roundOpened(site(ctx), info)), 'round.opened', link)
    : {};
  return mergePuts(group, ...personal);
}

export function roundClosedMails(ctx: Ctx, r: RoundRecord): Puts {
  if (!r.result || !r.tally) return {};
  const m = inRoundThread(
    ctx,
    r,
    mail.roundClosed(site(ctx), roundInfo(ctx, r), {
      result: r.result,
      tally: fullTally(r.tally),
      electorate: r.electorate.length,
      failedCondition: r.failedCondition
        ? conditionWords(r.failedCondition, stakeholderName(ctx, r.failedCondition.group))
        : null,
      groupNames: Object.fromEntries(Object.keys(r.tally.groups ?? {}).map((g) => [g, stakeholderName(ctx, g)])),
    }),
  );
  return toList(ctx, m, 'round.closed', `${ctx.mail.baseUrl}/rounds/${r.id}`, answerOn(r.subject));
}

const stakeholderName = (ctx: Ctx, slug: string) => ctx.meta.get('stakeholders', slug)?.name ?? slug;

/** The receipt of a ballot a member cast themselves (always sent). */
export function ballotReceiptMails(ctx: Ctx, r: RoundRecord, b: BallotRecord): Puts {
  const u = ctx.meta.get('users', b.voterId);
  if (!u) return {};
  const m = inRoundThread(
    ctx,
    r,
    mail.ballotReceipt(site(ctx), roundInfo(ctx, r), {
      id: b.id,
      name: u.name,
      position: b.position,
      reason: b.reason,
      receipt: receiptOf(r, u.id),
      unnamed: r.record === 'unnamed',
      named: !!b.named,
    }),
  );
  return toPerson(ctx, u, m, 'round.ballot_receipt', `${ctx.mail.baseUrl}/rounds/${r.id}`, true, answerOnRound(r));
}

/** The notice of a recusal recorded or withdrawn, to the member concerned (always sent). */
export function recusalMails(ctx: Ctx, r: RoundRecord, x: RecusalEntry, kind: 'recorded' | 'withdrawn'): Puts {
  const u = ctx.meta.get('users', x.voterId);
  if (!u) return {};
  const seq = `${kind === 'recorded' ? 'r' : 'w'}${Date.parse(x.at)}${kind === 'withdrawn' ? `-${ctx.clock().getTime()}` : ''}`;
  const m = inRoundThread(
    ctx,
    r,
    mail.recusalNotice(site(ctx), roundInfo(ctx, r), {
      name: u.name,
      reason: x.reason,
      kind,
      recordedBy: x.recordedBy !== null ? userName(ctx, x.recordedBy) : null,
      note: x.note ?? '',
      seq,
    }),
  );
  return toPerson(ctx, u, m, `round.recusal_${kind}`, `${ctx.mail.baseUrl}/rounds/${r.id}`, true, answerOnRound(r));
}

/** A cancelled round: every elector who was asked to vote is told, with the reason. */
export function roundCancelledMails(ctx: Ctx, r: RoundRecord): Puts {
  const info = roundInfo(ctx, r);
  const parts = r.electorate.map((id) => {
    const u = ctx.meta.get('users', id);
    return u
      ? toPerson(
          ctx,
          u,
          inRoundThread(ctx, r, mail.roundCancelled(site(ctx), info, r.cancelReason ?? '', u.name)),
          'round.cancelled',
          `${ctx.mail.baseUrl}/rounds/${r.id}`,
          true,
          answerOnRound(r),
        )
      : {};
  });
  return mergePuts(...parts);
}

/**
 * To a member who answered a mail about their ballot by mail: votes are not taken so, here is
 * where to vote. At most one a day per member and round (nothing when one went out today), so a
 * mail loop or a member replying again and again gets one answer.
 */
export function voteByMailMails(ctx: Ctx, r: RoundRecord, u: UserRecord): Puts {
  const day = ctx.clock().toISOString().slice(0, 10);
  const m = inRoundThread(ctx, r, voteByMail(site(ctx), roundInfo(ctx, r), u.name, day));
  if (wasSent(ctx, u.email, m.references[0] ?? m.messageId, m.messageId)) return {};
  return toPerson(ctx, u, m, 'reply.vote_by_mail', `${ctx.mail.baseUrl}/rounds/${r.id}`, true);
}

/** The personal notice to a member whose ballot was recorded on their behalf (always sent). */
export function ballotRecordedMails(ctx: Ctx, r: RoundRecord, b: BallotRecord): Puts {
  const u = ctx.meta.get('users', b.voterId);
  if (!u || b.recordedBy === null) return {};
  const m = inRoundThread(
    ctx,
    r,
    mail.ballotRecorded(site(ctx), roundInfo(ctx, r), {
      id: b.id,
      name: u.name,
      position: b.position,
      reason: b.reason,
      note: b.note ?? '',
      recordedBy: userName(ctx, b.recordedBy),
    }),
  );
  return toPerson(ctx, u, m, 'round.ballot_recorded', `${ctx.mail.baseUrl}/rounds/${r.id}`, true, answerOnRound(r));
}

/** The reminder to electors who have not voted yet. */
export function reminderMails(ctx: Ctx, r: RoundRecord, voted: Set<number>): Puts {
  const info = roundInfo(ctx, r);
  const parts = r.electorate
    .filter((id) => !voted.has(id))
    .map((id) => {
      const u = ctx.meta.get('users', id);
      return u
        ? toPerson(
            ctx,
            u,
            inRoundThread(ctx, r, mail.roundReminder(site(ctx), info, u.name)),
            'round.reminder',
            `${ctx.mail.baseUrl}/rounds/${r.id}`,
            true,
            answerOnRound(r),
          )
        : {};
    });
  return mergePuts(...parts);
}

export function versionPublishedMails(ctx: Ctx, v: VersionRecord): Puts {
  // A version made from a consolidation threads under it; a version without one starts a thread.
  const thread = v.consolidation ? [mail.consolidationRoot(site(ctx), v.consolidation)] : [];
  const published = mail.versionPublished(site(ctx), {
    slug: v.document,
    label: docLabel(ctx, v.document),
    documentTitle: docTitle(ctx, v.document),
    number: v.number,
    summary: v.summary,
    thread,
  });
  const m = v.consolidation
    ? mail.inThread(published, threadSubject(ctx, { type: 'consolidation', id: v.consolidation }))
    : published;
  return toList(
    ctx,
    m,
    'version.published',
    `${ctx.mail.baseUrl}/documents/${v.document}/versions/${v.number}`,
    // An answer to a version made from a consolidation is a comment on it; other versions have no thread to answer in.
    v.consolidation ? answerOn({ type: 'consolidation', id: v.consolidation }) : undefined,
  );
}

/**
 * Personal notices of a new comment: to those it replies to, and to the proposal's author.
 * They quote the passage it is anchored to and the comment it answers (`answered`, the one the
 * member replied to; by default the thread's first).
 */
export function commentMails(ctx: Ctx, c: CommentRecord, answered?: CommentRecord): Puts {
  const site_ = site(ctx);
  const isProposal = c.subject.type === 'proposal';
  const p = isProposal ? ctx.meta.get('proposals', c.subject.id) : undefined;
  const on = isProposal ? `#${c.subject.id} "${p?.title ?? ''}"` : `the consolidated text #${c.subject.id}`;
  const url = `${ctx.mail.baseUrl}/${isProposal ? 'proposals' : 'consolidations'}/${c.subject.id}#comment-${c.id}`;
  const thread = isProposal ? [mail.proposalRoot(site_, c.subject.id)] : threadOf(ctx, c.subject);
  const recipients = new Map<number, 'reply' | 'on-your-proposal'>();
  if (c.replyTo) {
    // A reply is on the same text as the comment it answers (addComment checks).
    for (const other of ctx.meta.by('comments', 'subject', subjectKey(c.subject))) {
      if ((other.id === c.replyTo || other.replyTo === c.replyTo) && other.authorId !== c.authorId)
        recipients.set(other.authorId, 'reply');
    }
  }
  if (p && p.authorId !== c.authorId && !recipients.has(p.authorId)) recipients.set(p.authorId, 'on-your-proposal');
  const parentRecord = c.replyTo ? (answered ?? ctx.meta.get('comments', c.replyTo)) : undefined;
  const parent = parentRecord ? { author: userName(ctx, parentRecord.authorId), body: parentRecord.body } : null;
  const parts = [...recipients].map(([uid, kind]) => {
    const u = ctx.meta.get('users', uid);
    if (!u) return {};
    const m = mail.inThread(
      mail.commentNotice(site_, {
        id: c.id,
        kind,
        author: userName(ctx, c.authorId),
        on,
        url,
        body: c.body,
        // As a reader sees it on the page (no `**`, no link syntax): the stored quote is the source's.
        passage: c.anchor ? projectMarkdown(c.anchor.quote).text.trim() || c.anchor.quote : null,
        parent,
        suggestion: c.suggestion ?? null,
        thread,
      }),
      threadSubject(ctx, c.subject),
    );
    return toPerson(ctx, u, m, `comment.${kind}`, url, false, answerInThread(c));
  });
  return mergePuts(...parts);
}

/** The author of a proposal someone else revised (follows the author's preference); `changes`: that revision against the one before. */
export function proposalRevisedMails(
  ctx: Ctx,
  p: ProposalRecord,
  by: { name: string },
  revision: number,
  changes: Change[],
): Puts {
  const u = ctx.meta.get('users', p.authorId);
  if (!u) return {};
  const m = mail.inThread(
    mail.proposalRevised(site(ctx), {
      id: p.id,
      title: p.title,
      documentTitle: docTitle(ctx, p.document),
      by: by.name,
      revision,
      name: u.name,
      changes,
    }),
    threadSubject(ctx, { type: 'proposal', id: p.id }),
  );
  return toPerson(
    ctx,
    u,
    m,
    'proposal.revised',
    `${ctx.mail.baseUrl}/proposals/${p.id}`,
    false,
    answerOn({ type: 'proposal', id: p.id }),
  );
}

/** The starter of a comment thread someone else resolved (follows their preference). */
export function commentResolvedMails(ctx: Ctx, root: CommentRecord, by: { name: string }): Puts {
  const u = ctx.meta.get('users', root.authorId);
  if (!u) return {};
  const isProposal = root.subject.type === 'proposal';
  const p = isProposal ? ctx.meta.get('proposals', root.subject.id) : undefined;
  const on = isProposal ? `#${root.subject.id} "${p?.title ?? ''}"` : `the consolidated text #${root.subject.id}`;
  const url = `${ctx.mail.baseUrl}/${isProposal ? 'proposals' : 'consolidations'}/${root.subject.id}#comment-${root.id}`;
  const m = mail.inThread(
    mail.threadResolved(site(ctx), {
      id: root.id,
      by: by.name,
      on,
      url,
      name: u.name,
      at: ctx.clock().toISOString(),
      thread: threadOf(ctx, root.subject),
    }),
    threadSubject(ctx, root.subject),
  );
  return toPerson(ctx, u, m, 'comment.resolved', url, false, answerInThread(root));
}
