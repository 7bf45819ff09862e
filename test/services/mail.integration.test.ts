/**
 * Mail notifications end to end (issue 6, PRODUCT.md "Notifications"): each event queues its
 * messages in the store (through the services, on a real data folder with an injected clock),
 * the MailWorker delivers them over SMTP (server/store/mail/transport.ts) to a real SMTP server
 * (test/helpers/smtp.ts), and what arrives is checked there: recipients (envelope and headers),
 * subject, List-Id, Message-ID, threading, both parts, absolute links; reminders; comment
 * notices; preferences and digests; invitations (queued in the same journal line as the
 * accounts) and password reset links.
 */
import type { Ctx } from '../../server/services/context.js';
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import request from 'supertest';
import { createApp } from '../../server/app.js';
import { importUsers } from '../../server/services/accounts/importUsers.js';
import {
  requestPasswordReset,
  setNotify,
  setPasswordByLink,
  usableLink,
} from '../../server/services/accounts/links.js';
import { addUser } from '../../server/services/accounts/users.js';
import { publishConsolidation } from '../../server/services/consolidations/publish.js';
import { MailWorker } from '../../server/services/notifications/deliver.js';
import { composeDigests } from '../../server/services/notifications/digest.js';
import { proposalCommentable } from '../../server/services/proposals/commentable.js';
import { addComment } from '../../server/services/proposals/comments.js';
import { extendRound, openRound, sweepRounds } from '../../server/services/rounds/rounds.js';
import { castBallot } from '../../server/services/rounds/ballots.js';
import { smtpTransport } from '../../server/store/mail/transport.js';
import type { MailRecord } from '../../server/store/meta/schema.js';
import { testClock } from '../helpers/data.js';
import {
  type committee,
  DAY,
  refusal,
  S1,
  sharedProposal,
  twoProposalConsolidation,
  type Person,
  openWithCommittee,
} from '../helpers/people.js';
import {
  addresses,
  header,
  htmlLinks,
  references,
  startSmtp,
  textLinks,
  type ReceivedMail,
  type TestSmtp,
} from '../helpers/smtp.js';
import type { Rule } from '../../server/domain/round.js';

describe('services/mail.integration', () => {
  const FROM = 'ratify@ratify.test';
  const LIST = 'members@lists.example.org';
  const BASE = 'http://ratify.test';
  const HOUR = 3_600_000;
  const LIST_ID = 'Ratify <ratify.ratify.test>';
  const root = (id: number) => `<proposal-${id}@ratify.test>`;
  const consolidationRoot = (id: number) => `<consolidation-${id}@ratify.test>`;
  /** Any recipient's copy of a logical message: `<proposal-1.u5.k7q2m9@ratify.test>` (or `.list.` for the list's). */
  /** What happened, as a message of a thread says it: its body's first line (its subject is the thread's). */
  const event = (m: { parsed: { text?: string } }) => (m.parsed.text ?? '').split('\n')[0];
  /** The subject of every message of a thread: `[ToR] Proposal 1: Title`, then `Re: ` that. */
  const THREAD_SUBJECT = /^(Re: )?\[ToR\] (Proposal|Consolidation) \d+(: .+)?$/;
  const copyOf = (logical: string) =>
    new RegExp(
      `^<${logical.slice(1, logical.indexOf('@')).replace(/[.]/g, '\\.')}\\.(u\\d+|list)\\.[0-9a-z]{6}@ratify\\.test>$`,
    );
  /** One recipient's copy (`tag`: `u<id>` or `list`) in this installation. */
  const copyFor = (ctx: Ctx, logical: string, tag: string) =>
    logical.replace(/^<([^@>]+)@/, `<$1.${tag}.${ctx.meta.get('system', 'install')!.installId}@`);

  let smtp: TestSmtp;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    smtp = await startSmtp();
  });
  afterAll(async () => {
    await smtp?.stop();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
    smtp.accept();
    smtp.clear();
  });

  type Cast = Awaited<ReturnType<typeof committee>>;

  /** Fresh data with the usual committee, and a worker that delivers to the test SMTP server. */
  async function setup(
    opts: { listAddress?: string; reminderHours?: number; digestHour?: number; start?: string } = {},
  ) {
    const clock = testClock(opts.start ?? '2026-03-01T09:00:00Z');
    const { t, who } = await openWithCommittee({
      clock,
      listAddress: opts.listAddress,
      reminderHours: opts.reminderHours,
      digestHour: opts.digestHour,
    });
    const transport = smtpTransport(smtp.url);
    cleanups.push(async () => {
      transport.close();
      await t.cleanup();
    });
    const ctx = t.ctx;
    const worker = new MailWorker(ctx, transport, FROM);
    const mails = () => ctx.meta.all('mails').sort((a, b) => a.id - b.id);
    /** Deliver everything due; returns what arrived at the SMTP server during the pass. */
    const deliver = async (): Promise<ReceivedMail[]> => {
      const before = smtp.messages.length;
      const sent = await worker.tick();
      const arrived = smtp.messages.slice(before);
      expect(arrived).toHaveLength(sent);
      expect(mails().filter((m) => m.state !== 'sent')).toEqual([]);
      return arrived;
    };
    return { t, ctx, clock, who, worker, mails, deliver };
  }

  /** The committee's electorate (everyone with the member role; the secretariat is not). */
  const electors = (who: Cast): Person[] => [who.drafter, who.chair, who.m1, who.m2, who.m3];

  /** The envelope recipients other than the sender's own address. */
  const envelopeTo = (m: ReceivedMail) => m.envelope.to.map((a) => a.toLowerCase()).sort();

  /** Both parts are there, and every link in them is absolute under BASE_URL. */
  function expectWellFormed(m: ReceivedMail, opts: { htmlLinksAll?: boolean } = {}) {
    expect(m.parsed.text?.length).toBeGreaterThan(20);
    expect(typeof m.parsed.html).toBe('string');
    expect((m.parsed.html as string).length).toBeGreaterThan(20);
    expect(m.parsed.from?.value[0].address).toBe(FROM);
    expect(header(m, 'list-id')).toBe(LIST_ID);
    expect(m.messageId).toMatch(/^<[^<>@\s]+@ratify\.test>$/);
    const text = textLinks(m);
    const html = htmlLinks(m);
    expect(text.length).toBeGreaterThan(0);
    for (const l of [...text, ...html]) expect(l.startsWith(`${BASE}/`)).toBe(true);
    // The HTML part links to the same pages as the text part.
    if (opts.htmlLinksAll !== false) expect([...new Set(html)].sort()).toEqual([...new Set(text)].sort());
  }

  /** Open a round on a subject, closing at a round hour a week ahead. */
  const open = (
    ctx: Awaited<ReturnType<typeof setup>>['ctx'],
    chair: Person,
    subject: { type: 'proposal' | 'consolidation'; id: number },
    closesAt = '2026-03-08T17:00:00Z',
    rule: Rule = 'majority',
  ) => openRound(ctx, chair.actor, { subject, rule, quorum: 0.5, closesAt });

  describe('proposal shared → the list', () => {
    test('with LIST_ADDRESS: one message to the list, with subject, List-Id, Message-ID, both parts, absolute links', async () => {
      const { ctx, who, deliver } = await setup({ listAddress: LIST });
      const p = await sharedProposal(ctx, who.drafter, 'Open meetings', (t) => t.replace(S1, ''));
      const got = await deliver();
      expect(got).toHaveLength(1);
      const m = got[0];
      expect(m.envelope.from).toBe(FROM);
      expect(envelopeTo(m)).toEqual([LIST]);
      expect(addresses(m, 'to')).toEqual([LIST]);
      expect(addresses(m, 'bcc')).toEqual([]);
      expect(m.parsed.subject).toMatch(THREAD_SUBJECT);
      expect(m.parsed.subject).toBe(`[ToR] Proposal ${p.id}: Open meetings`);
      expect(event(m)).toMatch(/shared a proposed change/);
      expect(m.parsed.subject).toContain('Open meetings');
      expect(m.messageId).toMatch(copyOf(root(p.id)));
      expect(m.parsed.inReplyTo).toBeUndefined();
      expectWellFormed(m);
      expect(textLinks(m)).toContain(`${BASE}/proposals/${p.id}?tab=changes`);
      // The text says who shared it and why.
      expect(m.parsed.text).toContain(who.drafter.name);
      expect(m.parsed.text).toContain('Why: Open meetings');
    });

    test('without LIST_ADDRESS: one copy per active member (the author too, as the root of the thread; not the secretariat), each to that member alone, no Bcc', async () => {
      const { ctx, who, deliver } = await setup();
      const p = await sharedProposal(ctx, who.drafter, 'Open meetings', (t) => t.replace(S1, ''));
      const got = await deliver();
      const members = electors(who)
        .map((u) => u.email)
        .sort();
      expect(got.map((m) => envelopeTo(m)[0]).sort()).toEqual(members);
      for (const m of got) {
        // Each copy is that member's own: addressed to them, with a Message-ID of its own.
        expect(addresses(m, 'to')).toEqual(envelopeTo(m));
        expect(m.messageId).toMatch(copyOf(root(p.id)));
        expect(addresses(m, 'bcc')).toEqual([]);
        expect(m.raw.toString('utf8')).not.toMatch(/^Bcc:/im);
        expectWellFormed(m);
      }
      expect(new Set(got.map((m) => m.messageId)).size).toBe(got.length);
    });

    // Regression (was a bug): the Bcc-only message also goes to MAIL_FROM (nodemailer puts the header To: — set to
    // the sender's own address — into the envelope). Every group message then lands in (or bounces
    // from) the sender's mailbox.
    test('without LIST_ADDRESS: the envelope names exactly the members (not the sender address too)', async () => {
      const { ctx, who, deliver } = await setup();
      await sharedProposal(ctx, who.drafter, 'Open meetings', (t) => t.replace(S1, ''));
      const got = await deliver();
      expect(got.flatMap((m) => envelopeTo(m)).sort()).toEqual(
        electors(who)
          .map((u) => u.email)
          .sort(),
      );
    });
  });

  describe('consolidation created → the list', () => {
    test('starts a thread of its own (a reply to one proposal would nest the other under it) and names its proposals', async () => {
      const { ctx, who, deliver } = await setup({ listAddress: LIST });
      const { p1, p2, c } = await twoProposalConsolidation(ctx, who, 'Open and remote meetings');
      const got = await deliver();
      expect(got.map((m) => m.messageId)).toEqual([
        copyFor(ctx, root(p1.id), 'list'),
        copyFor(ctx, root(p2.id), 'list'),
        copyFor(ctx, consolidationRoot(c.id), 'list'),
      ]);
      const m = got[2];
      expect(envelopeTo(m)).toEqual([LIST]);
      expect(m.parsed.subject).toBe(`[ToR] Consolidation ${c.id}: Open and remote meetings`);
      expect(event(m)).toMatch(/prepared a consolidated text/i);
      expect(m.parsed.subject).toContain('Open and remote meetings');
      expect(references(m)).toEqual([]);
      expect(m.parsed.inReplyTo).toBeUndefined();
      expectWellFormed(m);
      expect(textLinks(m)).toContain(`${BASE}/consolidations/${c.id}`);
      expect(m.parsed.text).toContain('Open meetings');
      expect(m.parsed.text).toContain('Remote participation');
    });
  });

  describe('round opened → the list and a ballot invitation to each elector', () => {
    test('with LIST_ADDRESS: one list message and one personal invitation per elector, deadline in UTC, the rule in words', async () => {
      const { ctx, who, deliver } = await setup({ listAddress: LIST });
      const { p1, p2, c } = await twoProposalConsolidation(ctx, who);
      await deliver();
      const r = await open(ctx, who.chair, { type: 'consolidation', id: c.id });
      const got = await deliver();
      expect(got).toHaveLength(1 + 5);
      const list = got.filter((m) => envelopeTo(m).includes(LIST));
      expect(list).toHaveLength(1);
      expect(envelopeTo(list[0])).toEqual([LIST]);
      expect(list[0].messageId).toBe(copyFor(ctx, `<round-${r.id}.opened@ratify.test>`, 'list'));
      expect(event(list[0])).toMatch(/Vote open/i);
      expect(list[0].parsed.text).toContain('8 Mar 2026, 17:00 UTC');
      expectWellFormed(list[0]);
      // One invitation to each elector, addressed to them alone, not to the secretariat.
      for (const e of electors(who)) {
        const mine = smtp.to(e.email).filter((m) => got.includes(m));
        expect(mine).toHaveLength(1);
        const m = mine[0];
        expect(envelopeTo(m)).toEqual([e.email]);
        expect(addresses(m, 'to')).toEqual([e.email]);
        expect(event(m)).toMatch(/ballot/i);
        expect(m.parsed.text).toContain(e.name);
        expect(m.parsed.text).toContain('8 Mar 2026, 17:00 UTC');
        expect(m.parsed.text).toMatch(/majority/i);
        expect(m.parsed.text).toMatch(/more approve than object/i);
        expect(m.parsed.text).toMatch(/quorum/i);
        expect(m.parsed.text).toContain('50%');
        expect(textLinks(m)).toContain(`${BASE}/rounds/${r.id}`);
        expect(header(m, 'list-unsubscribe')).toMatch(/^<http:\/\/ratify\.test\/[^>]*>$/);
        // The list, not the elector, was sent the thread so far: the invitation names no parent it did not get.
        expect(references(m)).toEqual([]);
        void p1;
        void p2;
        expectWellFormed(m);
      }
      expect(smtp.to(who.sec.email)).toEqual([]);
      expect(new Set(got.map((m) => m.messageId)).size).toBe(got.length);
    });

    test('the rule in words for consensus and two-thirds too; the invitation threads under the proposal the member was sent', async () => {
      const { ctx, who, deliver } = await setup();
      const p = await sharedProposal(ctx, who.drafter, 'Open meetings', (t) => t.replace(S1, ''));
      await open(ctx, who.chair, { type: 'proposal', id: p.id }, '2026-03-08T17:00:00Z', 'consensus');
      const got = await deliver();
      const ballot = got.find((m) => envelopeTo(m).includes(who.m1.email) && /ballot/i.test(event(m)))!;
      expect(ballot.parsed.text).toMatch(/consensus/i);
      expect(ballot.parsed.text).toMatch(/nobody objects/i);
      expect(references(ballot)).toEqual([copyFor(ctx, root(p.id), `u${who.m1.id}`)]);
    });

    test('without LIST_ADDRESS: the electors get their invitation (no duplicate group message)', async () => {
      const { ctx, who, deliver } = await setup();
      const p = await sharedProposal(ctx, who.drafter, 'Open meetings', (t) => t.replace(S1, ''));
      await deliver();
      await open(ctx, who.chair, { type: 'proposal', id: p.id });
      const got = await deliver();
      expect(got).toHaveLength(5);
      expect(got.map((m) => envelopeTo(m)).sort()).toEqual(
        electors(who)
          .map((u) => [u.email])
          .sort(),
      );
    });
  });

  describe('reminder before the deadline', () => {
    test('24 h before: only to electors who have not voted, exactly once, with List-Unsubscribe', async () => {
      const { ctx, clock, who, mails, deliver } = await setup({ listAddress: LIST, reminderHours: 24 });
      const { p1, c } = await twoProposalConsolidation(ctx, who);
      const r = await open(ctx, who.chair, { type: 'consolidation', id: c.id });
      await castBallot(ctx, who.m1.actor, r.id, { position: 'approve' });
      await castBallot(ctx, who.m2.actor, r.id, { position: 'object', reason: 'Not yet' });
      await deliver();
      const deadline = Date.parse(r.closesAt);
      // 25 h before: nothing yet.
      clock.set(new Date(deadline - 25 * HOUR).toISOString());
      const before = mails().length;
      await sweepRounds(ctx);
      expect(mails().length).toBe(before);
      // 23 h before: one reminder to each elector who has not voted.
      clock.set(new Date(deadline - 23 * HOUR).toISOString());
      await sweepRounds(ctx);
      const queued = mails().slice(before);
      expect(queued.map((m) => m.event)).toEqual(['round.reminder', 'round.reminder', 'round.reminder']);
      expect(queued.flatMap((m) => m.to).sort()).toEqual([who.drafter.email, who.chair.email, who.m3.email].sort());
      // A second sweep queues nothing more.
      await sweepRounds(ctx);
      clock.advance(HOUR);
      await sweepRounds(ctx);
      expect(mails().length).toBe(before + 3);
      const got = await deliver();
      expect(got).toHaveLength(3);
      for (const m of got) {
        expect(envelopeTo(m)).toHaveLength(1);
        expect(event(m)).toMatch(/Reminder/);
        expect(m.parsed.text).toContain('8 Mar 2026, 17:00 UTC');
        expect(header(m, 'list-unsubscribe')).toMatch(/^<http:\/\/ratify\.test\/[^>]*>$/);
        // Under the elector's own invitation (the list, not the elector, was sent the rest of the thread).
        const to = electors(who).find((u) => u.email === envelopeTo(m)[0])!;
        expect(references(m)).toEqual([copyFor(ctx, `<round-${r.id}.ballot@ratify.test>`, `u${to.id}`)]);
        void p1;
        expect(textLinks(m)).toContain(`${BASE}/rounds/${r.id}`);
        expectWellFormed(m);
      }
      expect(smtp.to(who.m1.email).filter((m) => got.includes(m))).toEqual([]);
      expect(smtp.to(who.m2.email).filter((m) => got.includes(m))).toEqual([]);
    });

    test('the time before the deadline is configurable (REMINDER_HOURS 2)', async () => {
      const { ctx, clock, who, mails } = await setup({ reminderHours: 2 });
      const p = await sharedProposal(ctx, who.drafter, 'Open meetings', (t) => t.replace(S1, ''));
      const r = await open(ctx, who.chair, { type: 'proposal', id: p.id });
      const deadline = Date.parse(r.closesAt);
      const before = mails().length;
      clock.set(new Date(deadline - 23 * HOUR).toISOString());
      await sweepRounds(ctx);
      expect(mails().length).toBe(before);
      clock.set(new Date(deadline - 2 * HOUR + 1000).toISOString());
      await sweepRounds(ctx);
      expect(
        mails()
          .slice(before)
          .filter((m) => m.event === 'round.reminder'),
      ).toHaveLength(5);
    });

    // Regression (was a bug): `remindedAt` survives extendRound, so after an extension nobody is reminded before the
    // new deadline (and the reminder already sent named the old one).
    test('after the deadline is extended, the reminder comes again before the new deadline', async () => {
      const { ctx, clock, who, mails } = await setup({ reminderHours: 24 });
      const p = await sharedProposal(ctx, who.drafter, 'Open meetings', (t) => t.replace(S1, ''));
      const r = await open(ctx, who.chair, { type: 'proposal', id: p.id });
      clock.set(new Date(Date.parse(r.closesAt) - 23 * HOUR).toISOString());
      await sweepRounds(ctx);
      const first = mails().filter((m) => m.event === 'round.reminder').length;
      expect(first).toBe(5);
      const extended = await extendRound(ctx, who.chair.actor, r.id, { closesAt: '2026-03-15T17:00:00Z' });
      clock.set(new Date(Date.parse(extended.closesAt) - 23 * HOUR).toISOString());
      await sweepRounds(ctx);
      const again = mails()
        .filter((m) => m.event === 'round.reminder')
        .slice(first);
      expect(again).toHaveLength(5);
      expect(again[0].text).toContain('15 Mar 2026, 17:00 UTC');
    });
  });

  describe('the whole way: result, publication and threading', () => {
    test('round closed (result and tally), version published (summary, link to the diff), every message threads, every link opens', async () => {
      const { t, ctx, clock, who, deliver } = await setup({ listAddress: LIST, reminderHours: 24 });
      const all: ReceivedMail[] = [];
      const { p1, p2, c } = await twoProposalConsolidation(ctx, who, 'Open and remote meetings');
      all.push(...(await deliver()));
      // A comment on p1 (a personal notice to its author) threads too.
      await addComment(ctx, who.m1.actor, proposalCommentable(ctx, ctx.meta.get('proposals', p1.id)!), {
        body: 'Good idea.',
      });
      all.push(...(await deliver()));
      const r = await open(ctx, who.chair, { type: 'consolidation', id: c.id });
      all.push(...(await deliver()));
      await castBallot(ctx, who.drafter.actor, r.id, { position: 'approve' });
      clock.set(new Date(Date.parse(r.closesAt) - 23 * HOUR).toISOString());
      await sweepRounds(ctx);
      all.push(...(await deliver()));
      await castBallot(ctx, who.chair.actor, r.id, { position: 'approve' });
      await castBallot(ctx, who.m1.actor, r.id, { position: 'approve' });
      await castBallot(ctx, who.m2.actor, r.id, { position: 'object', reason: 'Too soon' });
      // Each voter gets their receipt, personally, in the round's thread.
      const receipts = await deliver();
      all.push(...receipts);
      expect(receipts.map((m) => m.messageId)).toEqual(
        expect.arrayContaining([expect.stringMatching(/^<round-\d+\.receipt\./)]),
      );
      expect(receipts.every((m) => envelopeTo(m).length === 1)).toBe(true);
      clock.set(new Date(Date.parse(r.closesAt) + 1000).toISOString());
      await sweepRounds(ctx);
      const closedMsgs = await deliver();
      all.push(...closedMsgs);
      expect(closedMsgs).toHaveLength(1);
      const closed = closedMsgs[0];
      expect(envelopeTo(closed)).toEqual([LIST]);
      expect(event(closed)).toMatch(/passed/);
      expect(closed.parsed.text).toMatch(/passed/);
      expect(closed.parsed.text).toMatch(/Approve 3, object 1, abstain 0, not voted 1 \(electorate 5\)/);
      expect(closed.messageId).toBe(copyFor(ctx, `<round-${r.id}.closed@ratify.test>`, 'list'));
      // The list was sent the round's opening: the result answers it, in the consolidation's thread.
      expect(closed.parsed.inReplyTo).toBe(copyFor(ctx, `<round-${r.id}.opened@ratify.test>`, 'list'));
      expect(references(closed)).toEqual([
        copyFor(ctx, consolidationRoot(c.id), 'list'),
        copyFor(ctx, `<round-${r.id}.opened@ratify.test>`, 'list'),
      ]);
      expectWellFormed(closed);

      const v = await publishConsolidation(ctx, who.chair.actor, c.id, {
        summary: 'Open meetings and remote participation',
      });
      const pubMsgs = await deliver();
      all.push(...pubMsgs);
      expect(pubMsgs).toHaveLength(1);
      const pub = pubMsgs[0];
      expect(envelopeTo(pub)).toEqual([LIST]);
      expect(event(pub)).toMatch(new RegExp(`Version ${v.number} published`));
      // In the consolidation's thread: its subject is the consolidation's, the version's summary is in the body.
      expect(pub.parsed.subject).toBe(`Re: [ToR] Consolidation ${c.id}: Open and remote meetings`);
      expect(pub.parsed.text).toContain('Open meetings and remote participation');
      const diffLink = `${BASE}/documents/terms-of-reference/compare?from=${v.number - 1}&to=${v.number}`;
      expect(textLinks(pub)).toContain(diffLink);
      expect(htmlLinks(pub)).toContain(diffLink);
      expectWellFormed(pub);

      // The threading law, per recipient (RFC 5322 §3.6.4): every parent a message names is a
      // message that recipient was sent earlier; References is oldest first and ends with
      // In-Reply-To; Message-IDs are unique.
      expect(new Set(all.map((m) => m.messageId)).size).toBe(all.length);
      const sentTo = new Map<string, Set<string>>();
      for (const m of all) {
        for (const to of envelopeTo(m)) {
          const had = sentTo.get(to) ?? new Set<string>();
          for (const ref of references(m))
            expect({ to, ref, sentBefore: had.has(ref) }).toEqual({ to, ref, sentBefore: true });
          if (references(m).length) expect(m.parsed.inReplyTo).toBe(references(m).at(-1));
          else expect(m.parsed.inReplyTo).toBeUndefined();
          had.add(m.messageId);
          sentTo.set(to, had);
        }
      }
      // The publication threads under its consolidation, which stands on its own.
      expect(pub.parsed.inReplyTo).toBe(copyFor(ctx, consolidationRoot(c.id), 'list'));
      void p2;

      // Every link opens a page for a member (the compare page and decision record for anyone).
      const app = createApp({ ctx, config: { baseUrl: BASE, writeLimit: 0 }, sessions: t.sessions });
      const reader = await addUser(ctx, CLI_ACTOR, {
        email: 'reader@example.org',
        name: 'Rea Reader',
        roles: ['member'],
        password: 'a long enough password',
      });
      const agent = request.agent(app);
      const form = await agent.get('/login');
      const csrf = /name="_csrf" value="([^"]+)"/.exec(form.text)![1];
      const login = await agent
        .post('/login')
        .type('form')
        .send({ email: reader.email, password: 'a long enough password', _csrf: csrf });
      expect(login.status).toBe(303);
      const links = [...new Set(all.flatMap((m) => textLinks(m)))];
      for (const l of links) {
        const res = await agent.get(l.slice(BASE.length).split('#')[0]);
        expect({ link: l, status: res.status }).toEqual({ link: l, status: 200 });
      }
      expect((await request(app).get(diffLink.slice(BASE.length))).status).toBe(200);
    });
  });

  describe('comment notices go to the right people only', () => {
    test('a comment on your proposal → its author; a reply to your comment → you; never to the writer or bystanders', async () => {
      const { ctx, who, mails, deliver } = await setup({ listAddress: LIST });
      const p = await sharedProposal(ctx, who.drafter, 'Open meetings', (t) => t.replace(S1, ''));
      await deliver();
      const on = () => proposalCommentable(ctx, ctx.meta.get('proposals', p.id)!);

      // m1 comments on Wanda's proposal → Wanda only.
      const c1 = await addComment(ctx, who.m1.actor, on(), { body: 'Why now?' });
      let got = await deliver();
      expect(got.map((m) => envelopeTo(m))).toEqual([[who.drafter.email]]);
      expect(event(got[0])).toMatch(/commented on your proposal/);
      expect(got[0].parsed.text).toContain('Why now?');
      // The author was not sent the proposal's announcement (they made it): the notice names no parent.
      expect(got[0].parsed.inReplyTo).toBeUndefined();
      expect(textLinks(got[0])).toContain(`${BASE}/proposals/${p.id}#comment-${c1.id}`);
      // Not essential: one click unsubscribes from comment mail (RFC 8058).
      expect(header(got[0], 'list-unsubscribe')).toMatch(
        /^<http:\/\/ratify\.test\/unsubscribe\/\d+\.comments\.[A-Za-z0-9_-]{22}>$/,
      );
      expect(header(got[0], 'list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
      expectWellFormed(got[0]);

      // m2 replies to m1 → m1 (reply) and Wanda (on her proposal); not m2, not the others.
      await addComment(ctx, who.m2.actor, on(), { body: 'Because of the review.', replyTo: c1.id });
      got = await deliver();
      expect(got.map((m) => envelopeTo(m)[0]).sort()).toEqual([who.drafter.email, who.m1.email].sort());
      expect(event(got.find((m) => envelopeTo(m)[0] === who.m1.email)!)).toMatch(/replied to your comment/);
      expect(event(got.find((m) => envelopeTo(m)[0] === who.drafter.email)!)).toMatch(/commented on your proposal/);

      // Wanda comments on her own proposal → nobody; m3 replies to her → Wanda once (not twice).
      const c3 = await addComment(ctx, who.drafter.actor, on(), { body: 'More to come.' });
      expect(await deliver()).toEqual([]);
      await addComment(ctx, who.m3.actor, on(), { body: 'Looking forward.', replyTo: c3.id });
      got = await deliver();
      expect(got.map((m) => envelopeTo(m))).toEqual([[who.drafter.email]]);

      // Nothing went to the chair or the secretariat; comments never go to the list.
      const personal = mails().filter((m) => m.event.startsWith('comment.'));
      expect(personal.flatMap((m) => [...m.to, ...(m.bcc ?? [])])).not.toContain(who.chair.email);
      expect(personal.flatMap((m) => [...m.to, ...(m.bcc ?? [])])).not.toContain(who.sec.email);
      expect(personal.flatMap((m) => [...m.to, ...(m.bcc ?? [])])).not.toContain(LIST);
    });
  });

  describe('preferences: immediate, daily digest, none', () => {
    test('digest: no immediate message but a digest item; one digest per person at the digest hour; none: nothing; ballots and reminders always go', async () => {
      const { ctx, clock, who, mails, deliver } = await setup({
        digestHour: 7,
        reminderHours: 24,
        start: '2026-03-01T05:00:00Z',
      });
      await setNotify(ctx, who.m1.actor, 'digest');
      await setNotify(ctx, who.m2.actor, 'none');
      const p1 = await sharedProposal(ctx, who.drafter, 'Open meetings', (t) => t.replace(S1, ''));
      // A comment by m1 and a reply by the drafter: m1 (digest) gets the reply as a digest item.
      const c = await addComment(ctx, who.m1.actor, proposalCommentable(ctx, ctx.meta.get('proposals', p1.id)!), {
        body: 'Why?',
      });
      await addComment(ctx, who.drafter.actor, proposalCommentable(ctx, ctx.meta.get('proposals', p1.id)!), {
        body: 'Because.',
        replyTo: c.id,
      });
      let got = await deliver();
      const shared = got.filter((m) => copyOf(root(p1.id)).test(m.messageId)).flatMap((m) => envelopeTo(m));
      expect(shared).toEqual(expect.arrayContaining([who.chair.email, who.m3.email]));
      expect(shared).not.toContain(who.m1.email);
      expect(shared).not.toContain(who.m2.email);
      expect(smtp.to(who.m1.email)).toEqual([]);
      expect(smtp.to(who.m2.email)).toEqual([]);
      const items = ctx.meta.all('digestItems');
      expect(items.map((i) => i.userId)).toEqual([who.m1.id, who.m1.id]);
      expect(items.every((i) => i.link.startsWith(`${BASE}/`))).toBe(true);

      // Ballot invitations and reminders go to everyone, whatever they chose.
      const r = await open(ctx, who.chair, { type: 'proposal', id: p1.id });
      got = await deliver();
      expect(got.map((m) => envelopeTo(m)[0]).sort()).toEqual(
        electors(who)
          .map((u) => u.email)
          .sort(),
      );
      clock.set(new Date(Date.parse(r.closesAt) - 23 * HOUR).toISOString());
      await sweepRounds(ctx);
      got = await deliver();
      expect(got.map((m) => envelopeTo(m)[0]).sort()).toEqual(
        electors(who)
          .map((u) => u.email)
          .sort(),
      );

      // The digest: nothing before the hour, one per person at the hour, items gone, not twice a day.
      clock.set('2026-03-08T06:59:00Z');
      expect(await composeDigests(ctx)).toBe(0);
      expect(ctx.meta.all('digestItems')).toHaveLength(2);
      clock.set('2026-03-08T07:00:00Z');
      const before = mails().length;
      expect(await composeDigests(ctx)).toBe(1);
      expect(ctx.meta.all('digestItems')).toEqual([]);
      const digests = mails().slice(before);
      expect(digests.map((m) => [m.event, m.to])).toEqual([['digest', [who.m1.email]]]);
      got = await deliver();
      expect(got).toHaveLength(1);
      expect(got[0].parsed.subject).toMatch(/digest/i);
      expect(got[0].parsed.subject).toMatch(/2 updates/);
      expect(got[0].parsed.text).toContain('Open meetings');
      expect(got[0].parsed.text).toContain(`${BASE}/proposals/${p1.id}`);
      expectWellFormed(got[0], { htmlLinksAll: false }); // see the next test
      // Later the same day, even with new items: no second digest.
      await addComment(ctx, who.drafter.actor, proposalCommentable(ctx, ctx.meta.get('proposals', p1.id)!), {
        body: 'Again.',
        replyTo: c.id,
      });
      clock.set('2026-03-08T20:00:00Z');
      expect(await composeDigests(ctx)).toBe(0);
      expect(mails().length).toBe(before + 1);
      // The next day at the hour: the waiting item goes.
      clock.set('2026-03-09T07:00:05Z');
      expect(await composeDigests(ctx)).toBe(1);
      expect(await composeDigests(ctx)).toBe(0);
      // m2 ("none") never got anything but ballots and reminders.
      expect(
        mails()
          .filter((m) => [...m.to, ...(m.bcc ?? [])].includes(who.m2.email))
          .map((m) => m.event)
          .sort(),
      ).toEqual(['round.ballot', 'round.reminder']);
    });
  });

  // Regression (was a bug): the digest's HTML part shows each item's address as plain text, not as a link (the
  // item links only reach the plain-text part).
  describe('the digest in HTML', () => {
    test('links every item, as the text part does', async () => {
      const { ctx, clock, who, deliver } = await setup({ digestHour: 7, start: '2026-03-01T05:00:00Z' });
      await setNotify(ctx, who.m1.actor, 'digest');
      const p = await sharedProposal(ctx, who.drafter, 'Open meetings', (t) => t.replace(S1, ''));
      await deliver();
      clock.set('2026-03-01T07:00:00Z');
      expect(await composeDigests(ctx)).toBe(1);
      const [m] = await deliver();
      expect(textLinks(m)).toContain(`${BASE}/proposals/${p.id}`);
      expect(htmlLinks(m)).toContain(`${BASE}/proposals/${p.id}`);
    });
  });

  describe('invitations', () => {
    test('importUsers with invite: one invitation per new user in the same journal line; the link works once and not after expiry', async () => {
      const { t, ctx, clock, mails, deliver } = await setup();
      const before = mails().length;
      const csv =
        'email,name,roles,groups\nada@example.org,Ada Lovelace,member,\nbob@example.org,Bob Builder,member;chair,\n';
      const users = await importUsers(ctx, CLI_ACTOR, csv, { invite: true });
      expect(users.map((u) => u.email)).toEqual(['ada@example.org', 'bob@example.org']);
      const queued = mails().slice(before);
      expect(queued.map((m) => [m.event, m.to])).toEqual([
        ['user.invited', ['ada@example.org']],
        ['user.invited', ['bob@example.org']],
      ]);

      // One journal line holds the accounts and their invitations.
      const dir = path.join(t.dataDir, 'meta', 'journal');
      const lines: { changes: { put?: string; id: string; value?: unknown }[] }[] = [];
      for (const f of (await fsp.readdir(dir)).filter((f) => f.endsWith('.jsonl')).sort()) {
        for (const l of (await fsp.readFile(path.join(dir, f), 'utf8')).split('\n').filter(Boolean))
          lines.push(JSON.parse(l));
      }
      const mailIds = queued.map((m) => String(m.id));
      const withMails = lines.filter((l) => l.changes.some((c) => c.put === 'mails' && mailIds.includes(c.id)));
      expect(withMails).toHaveLength(1);
      const line = withMails[0];
      expect(
        line.changes
          .filter((c) => c.put === 'users')
          .map((c) => (c.value as { email: string }).email)
          .sort(),
      ).toEqual(['ada@example.org', 'bob@example.org']);
      expect(
        line.changes
          .filter((c) => c.put === 'mails')
          .map((c) => c.id)
          .sort(),
      ).toEqual([...mailIds].sort());
      expect(line.changes.filter((c) => c.put === 'linkTokens')).toHaveLength(2);

      // Delivered; the link sets a password once.
      const got = await deliver();
      expect(got.map((m) => envelopeTo(m))).toEqual([['ada@example.org'], ['bob@example.org']]);
      const tokenOf = (m: ReceivedMail) => {
        const l = textLinks(m).find((x) => x.startsWith(`${BASE}/password/set?token=`));
        expect(l).toBeDefined();
        return new URL(l!).searchParams.get('token')!;
      };
      for (const m of got) {
        expect(m.parsed.subject).toMatch(/password/i);
        expectWellFormed(m);
        expect(m.parsed.text).toMatch(/UTC/);
      }
      const adaToken = tokenOf(got[0]);
      const bobToken = tokenOf(got[1]);
      const ada = await setPasswordByLink(ctx, adaToken, 'a long enough password');
      expect(ada.passwordHash).toBeTruthy();
      expect(await refusal(setPasswordByLink(ctx, adaToken, 'another long password'))).toEqual({
        kind: 'invalid',
        code: 'link_invalid',
      });
      // After 8 days Bob's link no longer works.
      clock.advance(8 * DAY);
      expect(usableLink(ctx, bobToken)).toBeNull();
      expect(await refusal(setPasswordByLink(ctx, bobToken, 'a long enough password'))).toEqual({
        kind: 'invalid',
        code: 'link_invalid',
      });
      expect(ctx.meta.all('users').find((u) => u.email === 'bob@example.org')!.passwordHash).toBeNull();
    });

    test('import without invite queues nothing', async () => {
      const { ctx, mails } = await setup();
      const before = mails().length;
      await importUsers(ctx, CLI_ACTOR, 'email,name\ncy@example.org,Cy Clist\n', { invite: false });
      expect(mails().length).toBe(before);
    });
  });

  describe('password reset', () => {
    test('unknown address: nothing queued; known: one message; the link works before 2 h and not after', async () => {
      const { ctx, clock, who, mails, deliver } = await setup();
      const before = mails().length;
      const tokensBefore = ctx.meta.all('linkTokens').length;
      await requestPasswordReset(ctx, 'nobody@example.org');
      await requestPasswordReset(ctx, '');
      expect(mails().length).toBe(before);
      expect(ctx.meta.all('linkTokens').length).toBe(tokensBefore);

      await requestPasswordReset(ctx, who.m1.email);
      const queued: MailRecord[] = mails().slice(before);
      expect(queued.map((m) => [m.event, m.to])).toEqual([['password.reset', [who.m1.email]]]);
      const got = await deliver();
      expect(got).toHaveLength(1);
      expect(envelopeTo(got[0])).toEqual([who.m1.email]);
      expect(got[0].parsed.subject).toMatch(/reset/i);
      expectWellFormed(got[0]);
      const link = textLinks(got[0]).find((l) => l.startsWith(`${BASE}/password/set?token=`))!;
      const token = new URL(link).searchParams.get('token')!;
      clock.advance(2 * HOUR - 1000);
      expect(usableLink(ctx, token)).not.toBeNull();
      clock.advance(1000);
      expect(usableLink(ctx, token)).toBeNull();
      expect(await refusal(setPasswordByLink(ctx, token, 'a long enough password'))).toEqual({
        kind: 'invalid',
        code: 'link_invalid',
      });
    });

    test('a reset link works once', async () => {
      const { ctx, who, deliver } = await setup();
      await requestPasswordReset(ctx, who.m3.email);
      const [m] = await deliver();
      const token = new URL(textLinks(m).find((l) => l.includes('/password/set?token='))!).searchParams.get('token')!;
      await setPasswordByLink(ctx, token, 'a long enough password');
      expect(await refusal(setPasswordByLink(ctx, token, 'another long password'))).toEqual({
        kind: 'invalid',
        code: 'link_invalid',
      });
    });
  });
});
