import { WriteLimiter } from './services/auth/throttle.js';
import type { Config } from './config.js';
import { MAX_REPLY_BYTES } from './domain/limits.js';
import type { Ctx } from './services/context.js';
import { receiveReply, type ReplyOutcome } from './services/notifications/inbound.js';
import { listenInboundSmtp, MaildirReader, type InboundMail } from './store/mail/inbound.js';

/** The few logger calls this needs (pino's Logger has them). */
export interface InboundLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface Inbound {
  /** The SMTP listener's port, or null without one. */
  smtpPort: number | null;
  /** The maildir reader, or null without one (tests call its `poll`). */
  maildir: MaildirReader | null;
  close(): Promise<void>;
}

/** How often the maildir's `new/` is read. */
export const MAILDIR_POLL_MS = 5_000;

/**
 * Start taking replies by mail, as configured: the SMTP listener and/or the maildir reader,
 * both handing each message to `receiveReply`. Every message gets one log line (posted, or the
 * refusal's code). Throws when the listener cannot listen or the maildir cannot be read, with a
 * message an operator can act on.
 */
export async function startInbound(
  ctx: Ctx,
  config: Pick<Config, 'inbound'> & Partial<Pick<Config, 'writeLimit'>>,
  log: InboundLog,
  opts: { pollMs?: number; onOutcome?: (o: ReplyOutcome) => void } = {},
): Promise<Inbound> {
  const domain = ctx.mail.replyDomain;
  const { smtp, maildir } = config.inbound;
  if (!domain || (!smtp && !maildir)) return { smtpPort: null, maildir: null, close: async () => {} };
  // Replies by mail share the write budget of the site's forms: per member, WRITE_LIMIT a minute.
  const limiter = new WriteLimiter(ctx.clock, config.writeLimit ?? 0);
  const handle = async (mail: InboundMail) => {
    const started = performance.now();
    const out = await receiveReply(ctx, mail, { limiter });
    const fields = {
      code: out.code,
      member: out.member,
      messageId: mail.messageId,
      ms: Math.round((performance.now() - started) * 10) / 10,
    };
    if (out.status === 'posted')
      log.info(
        { ...fields, comment: out.comment.id, on: `${out.comment.subject.type}/${out.comment.subject.id}` },
        'Reply by mail posted as a comment',
      );
    else
      log.warn(
        { ...fields, target: out.target, from: mail.from },
        `Reply by mail refused (${out.code}); nothing posted, no bounce sent`,
      );
    opts.onOutcome?.(out);
  };
  let reader: MaildirReader | null = null;
  if (maildir) {
    reader = new MaildirReader(maildir, handle, MAX_REPLY_BYTES, (err, file) =>
      log.error({ err, file }, 'A mail in the reply maildir could not be read'),
    );
    try {
      await reader.check();
    } catch (e) {
      throw new Error(`INBOUND_MAILDIR ${maildir} cannot be used: ${(e as Error).message}`);
    }
  }
  let listener: Awaited<ReturnType<typeof listenInboundSmtp>> | null = null;
  if (smtp) {
    try {
      listener = await listenInboundSmtp({ ...smtp, domain, maxBytes: MAX_REPLY_BYTES, handle });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why =
        code === 'EADDRINUSE'
          ? 'it is already in use (EADDRINUSE): set INBOUND_SMTP_PORT to a free port'
          : code === 'EACCES'
            ? 'this user may not listen on it (EACCES): use a port above 1023 and let the mail server forward to it'
            : (e as Error).message;
      throw new Error(`the reply mail listener cannot listen on ${smtp.host}:${smtp.port}: ${why}`);
    }
  }
  reader?.start(opts.pollMs ?? MAILDIR_POLL_MS);
  return {
    smtpPort: listener?.port ?? null,
    maildir: reader,
    close: async () => {
      await reader?.stop();
      await listener?.close();
    },
  };
}
