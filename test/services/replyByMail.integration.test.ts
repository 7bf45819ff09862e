/**
 * Reply by mail end to end (issue 13): a notification goes out over real SMTP with its Reply-To;
 * a member answers it with nodemailer to Ratify's own SMTP listener (on an ephemeral port),
 * quoting the notification and signing; the comment appears in the right thread with only the
 * new text, once the listener has said 250. A forged token is accepted (250: no bounce, nothing
 * learned) and posts nothing; an address that is not a reply address is refused at RCPT (550);
 * a message over 256 KB gets 552. The maildir alternative takes the same message from `new/`.
 * And the configuration refuses what cannot work, with the variable's name.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import nodemailer from 'nodemailer';
import { loadConfig } from '../../server/config.js';
import { startInbound, type Inbound } from '../../server/inbound.js';
import { MailWorker } from '../../server/services/notifications/deliver.js';
import { proposalCommentable } from '../../server/services/proposals/commentable.js';
import { addComment } from '../../server/services/proposals/comments.js';
import { parseInbound } from '../../server/store/mail/inbound.js';
import { smtpTransport } from '../../server/store/mail/transport.js';
import { openTestData, tempDir, testClock, type TestData } from '../helpers/data.js';
import { committee, sharedProposal, S1 } from '../helpers/people.js';
import { header, startSmtp, type ReceivedMail, type TestSmtp } from '../helpers/smtp.js';

describe('services/replyByMail.integration', () => {
  const DOMAIN = 'reply.ratify.test';
  const silent = { info: () => {}, warn: () => {}, error: () => {} };

  let t: TestData;
  let who: Awaited<ReturnType<typeof committee>>;
  let outgoing: TestSmtp;
  let inbound: Inbound;
  let maildir: string;
  let proposalId: number;
  let rootId: number;
  /** The comment notice m2 received, as it arrived over SMTP. */
  let notice: ReceivedMail;

  beforeAll(async () => {
    t = await openTestData({ clock: testClock('2026-03-01T09:00:00Z'), replyDomain: DOMAIN });
    who = await committee(t.ctx);
    const p = await sharedProposal(t.ctx, who.drafter, 'Open meetings', (x) => x.replace(S1, ''));
    proposalId = p.id;
    const on = proposalCommentable(t.ctx, t.ctx.meta.get('proposals', p.id)!);
    const root = await addComment(t.ctx, who.m2.actor, on, { body: 'Should this apply to working groups too?' });
    rootId = root.id;
    await addComment(t.ctx, who.chair.actor, on, { body: 'I think so.', replyTo: root.id });
    // Deliver everything queued over real SMTP, as the server does.
    outgoing = await startSmtp();
    const transport = smtpTransport(outgoing.url);
    const worker = new MailWorker(t.ctx, transport, '"Ratify" <ratify@ratify.test>');
    while ((await worker.tick()) > 0);
    transport.close();
    notice = outgoing.to(who.m2.email).find((m) => m.parsed.subject?.startsWith('Re: [ToR] Proposal'))!;
    maildir = await tempDir('ratify-maildir-');
    for (const sub of ['new', 'cur', 'tmp']) await fsp.mkdir(path.join(maildir, sub));
    inbound = await startInbound(t.ctx, { inbound: { smtp: { port: 0, host: '127.0.0.1' }, maildir } }, silent, {
      pollMs: 3_600_000,
    });
  });

  afterAll(async () => {
    await inbound?.close();
    await outgoing?.stop();
    await t?.cleanup();
    if (maildir) await fsp.rm(maildir, { recursive: true, force: true });
  });

  /** A member's reply the way a mail client writes one: new text, signature, the quoted notice. */
  function replyMessage(to: string, from: string, text: string) {
    const quoted = (notice.parsed.text ?? '')
      .split('\n')
      .map((l) => `> ${l}`)
      .join('\n');
    return {
      from: `"Noor Member" <${from}>`,
      to,
      subject: `Re: ${notice.parsed.subject}`,
      inReplyTo: notice.messageId,
      references: [notice.messageId],
      text: `${text}\n\n-- \nNoor Member\nCivil Society Network\n\nOn Sun, 1 Mar 2026 at 10:00, Ratify <ratify@ratify.test> wrote:\n${quoted}\n`,
      html: `<p>${text}</p><blockquote>${notice.parsed.html || ''}</blockquote>`,
    };
  }

  const sender = () =>
    nodemailer.createTransport({ host: '127.0.0.1', port: inbound.smtpPort!, secure: false, ignoreTLS: true });
  const comments = () => t.ctx.meta.all('comments');

  describe('the SMTP listener', () => {
    test('the notice arrived with its own Reply-To', () => {
      expect(header(notice, 'Reply-To')).toMatch(new RegExp(`^reply\\+[0-9a-z-]+@${DOMAIN.replace(/\./g, '\\.')}$`));
    });

    test('a reply sent with nodemailer is a comment in the thread, with only the new text, when the 250 comes', async () => {
      const before = comments().length;
      const started = performance.now();
      const info = await sender().sendMail(
        replyMessage(header(notice, 'Reply-To'), who.m2.email, 'Yes, but only for plenary meetings.'),
      );
      const ms = performance.now() - started;
      expect(info.accepted).toEqual([header(notice, 'Reply-To')]);
      expect(comments()).toHaveLength(before + 1);
      expect(comments().at(-1)).toMatchObject({
        subject: { type: 'proposal', id: proposalId },
        authorId: who.m2.id,
        replyTo: rootId,
        body: 'Yes, but only for plenary meetings.',
      });
      // From DATA to the comment on disk, on a loaded 2-core machine: well under a second.
      expect(ms).toBeLessThan(2000);
    });

    test('a forged token is taken (no bounce) and posts nothing; the refusal is audited', async () => {
      const before = comments().length;
      const real = header(notice, 'Reply-To');
      const forged = real.replace(/^reply\+\d+-/, `reply+${who.m1.id}-`);
      const info = await sender().sendMail(replyMessage(forged, who.m1.email, 'Let me in.'));
      expect(info.accepted).toEqual([forged]);
      expect(comments()).toHaveLength(before);
      expect((await t.ctx.meta.auditLog(1))[0]).toMatchObject({
        action: 'mail.reply_refused',
        subject: 'reply#unknown_token',
      });
      // The right token from the wrong sender: the same.
      await sender().sendMail(replyMessage(real, who.m1.email, 'I am Noor, honestly.'));
      expect(comments()).toHaveLength(before);
      expect((await t.ctx.meta.auditLog(1))[0].subject).toBe(`proposal/${proposalId}#sender_mismatch`);
    });

    test('an address that is not a reply address is refused at RCPT TO (this is no relay)', async () => {
      const e = (await sender()
        .sendMail(replyMessage('someone@example.org', who.m2.email, 'Relay this'))
        .catch((x: unknown) => x)) as { responseCode?: number };
      expect(e.responseCode).toBe(550);
    });

    test('a message over 256 KB is refused with 552 and posts nothing', async () => {
      const before = comments().length;
      const big = replyMessage(header(notice, 'Reply-To'), who.m2.email, `Long. ${'x'.repeat(300 * 1024)}`);
      const e = (await sender()
        .sendMail(big)
        .catch((x: unknown) => x)) as { responseCode?: number };
      expect(e.responseCode).toBe(552);
      expect(comments()).toHaveLength(before);
      expect((await t.ctx.meta.auditLog(1))[0].subject).toBe(`proposal/${proposalId}#too_large`);
    });
  });

  describe('the maildir', () => {
    /** The raw message nodemailer would send, as a delivering server writes it into new/. */
    async function deliver(name: string, message: ReturnType<typeof replyMessage>) {
      const build = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
      const { message: raw } = (await build.sendMail(message)) as unknown as { message: Buffer };
      const returnPath = `Return-Path: <${/<([^>]+)>/.exec(message.from)![1]}>\nDelivered-To: ${message.to}\n`;
      await fsp.writeFile(path.join(maildir, 'tmp', name), Buffer.concat([Buffer.from(returnPath), raw]));
      await fsp.rename(path.join(maildir, 'tmp', name), path.join(maildir, 'new', name));
    }

    test('new/ is read, each reply handled once and moved to cur/', async () => {
      const before = comments().length;
      const real = header(notice, 'Reply-To');
      await deliver('1700000000.1.host', replyMessage(real, who.m2.email, 'And from the maildir.'));
      await deliver(
        '1700000000.2.host',
        replyMessage(real.replace(/-[0-9a-z]{24}@/, `-${'b'.repeat(24)}@`), who.m2.email, 'Forged.'),
      );
      expect(await inbound.maildir!.poll()).toBe(2);
      expect(comments()).toHaveLength(before + 1);
      expect(comments().at(-1)).toMatchObject({ authorId: who.m2.id, replyTo: rootId, body: 'And from the maildir.' });
      expect(await fsp.readdir(path.join(maildir, 'new'))).toEqual([]);
      expect((await fsp.readdir(path.join(maildir, 'cur'))).sort()).toEqual([
        '1700000000.1.host:2,S',
        '1700000000.2.host:2,S',
      ]);
      // Read again: nothing new, nothing posted twice.
      expect(await inbound.maildir!.poll()).toBe(0);
      expect(comments()).toHaveLength(before + 1);
    });
  });

  describe('parsing what arrives', () => {
    const raw = (headers: string, body: string) => Buffer.from(`${headers}\n\n${body}\n`.replace(/\n/g, '\r\n'));

    test('an HTML-only reply gives its text, the quote marked as such, and its recipients from the headers', async () => {
      const m = await parseInbound(
        raw(
          'From: Noor <noor@example.org>\nTo: reply+1-p1-n-x@r.test\nDelivered-To: other@r.test\nReturn-Path: <noor@example.org>\nContent-Type: text/html; charset=utf-8\nSubject: Re: x',
          '<p>Agreed.</p><blockquote><p>The notice</p></blockquote>',
        ),
        200,
      );
      expect(m).toMatchObject({
        from: 'noor@example.org',
        envelopeFrom: 'noor@example.org',
        automatic: false,
        size: 200,
      });
      expect(m.recipients).toEqual(['reply+1-p1-n-x@r.test', 'other@r.test']);
      expect(m.text).toContain('Agreed.');
      expect(m.text).toMatch(/^> The notice/m);
    });

    test('an out-of-office or a bounce is marked as sent by a machine', async () => {
      const away = await parseInbound(raw('From: a@b.c\nTo: x@r.test\nAuto-Submitted: auto-replied', 'Away'), 10);
      expect(away.automatic).toBe(true);
      const bulk = await parseInbound(raw('From: a@b.c\nTo: x@r.test\nPrecedence: bulk', 'News'), 10);
      expect(bulk.automatic).toBe(true);
      const bounce = await parseInbound(raw('Return-Path: <>\nFrom: MAILER-DAEMON@b.c\nTo: x@r.test', 'Failed'), 10);
      expect(bounce.envelopeFrom).toBe('');
      const human = await parseInbound(raw('From: a@b.c\nTo: x@r.test\nAuto-Submitted: no', 'Hi'), 10);
      expect(human).toMatchObject({ automatic: false, envelopeFrom: null });
    });
  });

  describe('configuration', () => {
    test('bad inbound settings stop the start with the variable named', () => {
      const bad = (env: Record<string, string>) => {
        try {
          loadConfig(env, '/srv');
          return '';
        } catch (e) {
          return (e as Error).message;
        }
      };
      expect(bad({ INBOUND_SMTP_PORT: 'twenty-five', REPLY_DOMAIN: DOMAIN })).toMatch(
        /INBOUND_SMTP_PORT: .*port number/,
      );
      expect(bad({ INBOUND_SMTP_PORT: '70000', REPLY_DOMAIN: DOMAIN })).toMatch(/INBOUND_SMTP_PORT/);
      expect(bad({ INBOUND_SMTP_PORT: '2525' })).toMatch(/REPLY_DOMAIN: /);
      expect(bad({ INBOUND_MAILDIR: 'mail' })).toMatch(/REPLY_DOMAIN: /);
      expect(bad({ INBOUND_SMTP_PORT: '3000', REPLY_DOMAIN: DOMAIN })).toMatch(/INBOUND_SMTP_PORT: .*PORT/);
      expect(bad({ REPLY_DOMAIN: 'not a domain' })).toMatch(/REPLY_DOMAIN: /);
      expect(bad({ INBOUND_SMTP_HOST: 'everywhere', INBOUND_SMTP_PORT: '2525', REPLY_DOMAIN: DOMAIN })).toMatch(
        /INBOUND_SMTP_HOST/,
      );
      const ok = loadConfig(
        { INBOUND_SMTP_PORT: '2525', REPLY_DOMAIN: 'Reply.Example.org', INBOUND_MAILDIR: 'mail' },
        '/srv',
      );
      expect(ok.replyDomain).toBe('reply.example.org');
      expect(ok.inbound).toEqual({ smtp: { port: 2525, host: '127.0.0.1' }, maildir: '/srv/mail' });
      expect(loadConfig({}, '/srv').inbound).toEqual({ smtp: null, maildir: null });
    });

    test('a port already taken, or a folder that is no maildir, is a clear start-up error', async () => {
      const taken = inbound.smtpPort!;
      const start = (inb: Parameters<typeof startInbound>[1]['inbound']) =>
        startInbound(t.ctx, { inbound: inb }, silent).then(
          async (i) => {
            await i.close();
            return '';
          },
          (e: Error) => e.message,
        );
      expect(await start({ smtp: { port: taken, host: '127.0.0.1' }, maildir: null })).toMatch(/EADDRINUSE/);
      expect(await start({ smtp: null, maildir: path.join(maildir, 'nothing') })).toMatch(/INBOUND_MAILDIR .*new/);
    });
  });
});
