import * as path from 'node:path';
import type { Transporter } from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { mkdirPrivate, sharedDirSync, writeFileDurable } from '../fsutil.js';
import type { MailRecord } from '../meta/schema.js';

/** One message as the transport sends it: the queued record's content, plus the sender and the List-Id. */
export type OutgoingMail = Pick<
  MailRecord,
  | 'id'
  | 'messageId'
  | 'to'
  | 'bcc'
  | 'subject'
  | 'text'
  | 'html'
  | 'inReplyTo'
  | 'references'
  | 'listUnsubscribe'
  | 'replyTo'
> &
  // A message is sent whole: a compact record (after its retention) has none of these and is never sent.
  Required<Pick<MailRecord, 'bcc' | 'text' | 'html'>> & {
    from: string;
    listId: string;
  };

export interface MailTransport {
  readonly kind: 'smtp' | 'outbox';
  /** How many messages it takes at once (the worker's lanes); 1 when absent. */
  readonly parallel?: number;
  send(m: OutgoingMail): Promise<void>;
  close(): void;
}

/**
 * nodemailer, loaded at the first message (0.3 MB of code: ~45 ms of every start when it was
 * loaded with the server, which sends its first message after the port is open).
 */
let loaded: Promise<[typeof import('nodemailer'), typeof import('nodemailer/lib/mail-composer/index.js')]> | null =
  null;
const nodemailer = () =>
  (loaded ??= Promise.all([import('nodemailer'), import('nodemailer/lib/mail-composer/index.js')]).catch((e) => {
    loaded = null;
    throw e;
  }));

function options(m: OutgoingMail): Mail.Options {
  return {
    from: m.from,
    to: m.to.length ? m.to : 'undisclosed-recipients:;',
    bcc: m.bcc.length ? m.bcc : undefined,
    // Exactly these recipients at the SMTP level (a Bcc-only message must not also go to the sender).
    envelope: { from: m.from, to: [...m.to, ...m.bcc] },
    subject: m.subject,
    text: m.text,
    html: m.html,
    messageId: m.messageId,
    // A member's copy of a notification they may answer by mail (services/notifications/inbound.ts).
    replyTo: m.replyTo ?? undefined,
    inReplyTo: m.inReplyTo ?? undefined,
    references: m.references.length ? m.references : undefined,
    headers: {
      'List-Id': m.listId,
      ...(m.listUnsubscribe ? { 'List-Unsubscribe': m.listUnsubscribe } : {}),
      // A link that unsubscribes by itself takes one POST from the mail client (RFC 8058).
      ...(m.listUnsubscribe?.includes('/unsubscribe/')
        ? { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' }
        : {}),
      'Auto-Submitted': 'auto-generated',
    },
  };
}

/** How long a send waits for a mail server, in ms (nodemailer's own default is 10 minutes). */
export interface SmtpTimeouts {
  connection: number;
  greeting: number;
  socket: number;
}

export const SMTP_TIMEOUTS: Readonly<SmtpTimeouts> = Object.freeze({
  connection: 15_000,
  greeting: 15_000,
  socket: 30_000,
});

/** SMTP through nodemailer (`SMTP_URL`, e.g. smtp://user:pass@host:587). */
export function smtpTransport(url: string, timeouts: SmtpTimeouts = SMTP_TIMEOUTS): MailTransport {
  // A mail server that stops answering must not hold the queue for nodemailer's default 10 minutes.
  // One connection kept open and reused for message after message: a mail server's greeting
  // (smtp-server waits 100 ms before its banner) and handshake are paid once, not per message.
  // An idle connection is closed by the server's own timeout and opened again when needed.
  let t: Transporter | null = null;
  let closed = false;
  const transporter = async () => {
    const [{ default: mailer }] = await nodemailer();
    if (closed) throw new Error('The SMTP transport is closed');
    return (t ??= mailer.createTransport({
      url,
      pool: true,
      maxConnections: 1,
      maxMessages: 1000,
      connectionTimeout: timeouts.connection,
      greetingTimeout: timeouts.greeting,
      socketTimeout: timeouts.socket,
    }));
  };
  return {
    kind: 'smtp',
    send: async (m) => {
      await (await transporter()).sendMail(options(m));
    },
    close: () => {
      closed = true;
      t?.close();
    },
  };
}

/** Messages written to the outbox at once. */
export const OUTBOX_PARALLEL = 16;

/**
 * The embedded default: each message becomes `DATA_DIR/outbox/<id>.eml`, written durably.
 * Writing the same message again replaces the same file — never a second copy. A write the
 * disk refuses leaves no partial file and fails the send (the queue tries again later).
 */
export function outboxTransport(dir: string): MailTransport {
  let ready: Promise<unknown> | null = null;
  // Messages written at once share the outbox folder's fsync.
  const syncDir = sharedDirSync(dir);
  return {
    kind: 'outbox',
    // Each file is written and fsynced on its own: several at once share the disk's time.
    parallel: OUTBOX_PARALLEL,
    send: async (m) => {
      await (ready ??= mkdirPrivate(path.join(dir, 'tmp')).catch((e) => {
        ready = null;
        throw e;
      }));
      await writeFileDurable(
        path.join(dir, `${String(m.id).padStart(6, '0')}.eml`),
        await composeMessage(m),
        path.join(dir, 'tmp'),
        undefined,
        undefined,
        syncDir,
      );
    },
    close: () => {},
  };
}

/**
 * The message as it travels, built by nodemailer's composer — what its stream transport does,
 * without the transport's plumbing (a third of the CPU): RFC 5322 line ends (CRLF), for any tool
 * that reads .eml; a Bcc header kept, as the stream transport keeps it.
 */
async function composeMessage(m: OutgoingMail): Promise<Buffer> {
  const [, { default: MailComposer }] = await nodemailer();
  const node = new MailComposer({ ...options(m), newline: 'windows' }).compile();
  node.keepBcc = true;
  return node.build();
}
