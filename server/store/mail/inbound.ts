import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { simpleParser, type AddressObject, type HeaderValue } from 'mailparser';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';
import { isReplyAddress } from '../../domain/replyAddress.js';

/**
 * Replies coming in by mail (issue 13), as the services take them: Ratify's own SMTP listener
 * (`INBOUND_SMTP_PORT`, the `smtp-server` package) and a maildir folder another mail server
 * delivers into (`INBOUND_MAILDIR`). Both parse with mailparser into an `InboundMail` and hand
 * it to one handler (services/notifications/inbound.ts decides what it becomes). Neither ever
 * sends a bounce: a refusal is the handler's log line and audit entry.
 */
export interface InboundMail {
  /** The envelope sender: SMTP MAIL FROM, or the Return-Path a delivering server wrote; '' for the null sender `<>`, null when unknown. */
  envelopeFrom: string | null;
  /** Where it was delivered: the SMTP RCPT TO addresses, then To, Cc, Delivered-To and X-Original-To. */
  recipients: string[];
  /** The address in the From header, or null. */
  from: string | null;
  /** The plain text (mailparser makes it from the HTML part when there is no plain one). */
  text: string;
  /** The whole message's size in bytes. */
  size: number;
  /** Sent by a machine (RFC 3834 Auto-Submitted other than `no`, or Precedence bulk, junk or list). */
  automatic: boolean;
  /** Its Message-ID, for the log. */
  messageId: string | null;
}

/** What becomes of one message; a throw means "not now" (SMTP 451, or the maildir file stays for the next pass). */
export type InboundHandler = (mail: InboundMail) => Promise<void>;

const addressesOf = (v: AddressObject | AddressObject[] | undefined) =>
  (Array.isArray(v) ? v : v ? [v] : []).flatMap((a) => a.value.map((x) => x.address ?? '')).filter(Boolean);

/** The addresses in a header mailparser left as text or parsed as addresses (Delivered-To, Return-Path). */
function headerAddresses(v: HeaderValue | undefined): string[] {
  if (v === undefined) return [];
  if (typeof v === 'string') return [...v.matchAll(/[^\s<>,;"]+@[^\s<>,;"]+/g)].map((m) => m[0]);
  if (Array.isArray(v)) return v.flatMap((x) => headerAddresses(x as HeaderValue));
  if (typeof v === 'object' && 'value' in v) {
    const inner = (v as { value: unknown }).value;
    if (Array.isArray(inner)) return inner.map((x: { address?: string }) => x.address ?? '').filter(Boolean);
    if (typeof inner === 'string') return headerAddresses(inner);
  }
  return [];
}

/** Parse a raw message (RFC 5322) with the envelope when there is one (SMTP), else from its own headers (maildir). */
export async function parseInbound(
  raw: Buffer,
  size: number,
  envelope?: { from: string; to: string[] },
): Promise<InboundMail> {
  const p = await simpleParser(raw, { skipHtmlToText: false, skipTextToHtml: true, skipImageLinks: true });
  const h = p.headers;
  const auto = String(h.get('auto-submitted') ?? 'no')
    .trim()
    .toLowerCase();
  const precedence = String(h.get('precedence') ?? '')
    .trim()
    .toLowerCase();
  // A delivering server writes the envelope sender as Return-Path (`<>` for a bounce).
  const returnPath = p.headerLines
    .find((l) => l.key === 'return-path')
    ?.line.replace(/^[^:]*:/, '')
    .trim();
  const envelopeFrom =
    envelope?.from ?? (returnPath === undefined ? null : (/<([^<>]*)>/.exec(returnPath)?.[1] ?? returnPath).trim());
  return {
    envelopeFrom,
    recipients: [
      ...(envelope?.to ?? []),
      ...addressesOf(p.to),
      ...addressesOf(p.cc),
      ...headerAddresses(h.get('delivered-to')),
      ...headerAddresses(h.get('x-original-to')),
    ],
    from: addressesOf(p.from)[0] ?? null,
    text: p.text ?? '',
    size,
    automatic: (auto !== '' && !auto.startsWith('no')) || ['bulk', 'junk', 'list'].includes(precedence),
    messageId: p.messageId ?? null,
  };
}

function smtpError(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

export interface InboundSmtp {
  /** The port it listens on (the one asked for, or the one the system chose for 0). */
  port: number;
  close(): Promise<void>;
}

/**
 * Listen for replies on `host:port`. Only `reply+…@<domain>` is accepted at RCPT TO (550
 * otherwise: this is no relay); a message over `maxBytes` is refused with 552 (after the handler
 * saw its start, so the refusal is audited); the handler's own refusals are accepted with 250 —
 * no bounce, nothing learned by the sender; a handler that throws (the store cannot write) gets
 * a 451, so the sending server tries again later. The answer comes once the handler is done, so
 * a 250 means the comment is on disk.
 */
export async function listenInboundSmtp(opts: {
  port: number;
  host: string;
  domain: string;
  maxBytes: number;
  handle: InboundHandler;
}): Promise<InboundSmtp> {
  const server = new SMTPServer({
    banner: 'Ratify reply mailbox',
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    hideSTARTTLS: true,
    logger: false,
    // The client's host name is never used: no reverse DNS lookup (a slow resolver would hold every connection).
    disableReverseLookup: true,
    size: opts.maxBytes,
    maxClients: 20,
    socketTimeout: 60_000,
    closeTimeout: 1_000,
    onRcptTo: (a: SMTPServerAddress, _s: SMTPServerSession, cb: (err?: Error | null) => void) =>
      isReplyAddress(a.address, opts.domain) ? cb() : cb(smtpError(550, '5.1.1 No such mailbox here')),
    onData: (stream, session, cb) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      let size = 0;
      stream.on('data', (c: Buffer) => {
        size += c.length;
        // Keep the start of an oversized message (its headers name the member to audit), not all of it.
        if (kept <= opts.maxBytes) {
          chunks.push(c);
          kept += c.length;
        }
      });
      stream.on('error', (e) => cb(e));
      stream.on('end', () => {
        const envelope = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
        };
        const tooLarge = stream.sizeExceeded || size > opts.maxBytes;
        parseInbound(Buffer.concat(chunks), size, envelope)
          .then((mail) => opts.handle(mail))
          .then(
            () => (tooLarge ? cb(smtpError(552, '5.3.4 Message too big for a reply')) : cb()),
            () => cb(smtpError(451, '4.3.0 Cannot take the message now, try again later')),
          );
      });
    },
  });
  server.on('error', () => {}); // a client that drops its connection is not the server's failure
  await new Promise<void>((resolve, reject) => {
    const failed = (e: Error) => reject(e);
    server.server.once('error', failed);
    server.listen(opts.port, opts.host, () => {
      server.server.off('error', failed);
      resolve();
    });
  });
  return {
    port: (server.server.address() as { port: number }).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * A maildir another mail server delivers replies into (`new/`, `cur/`, `tmp/`): each file in
 * `new/` is handed over once and moved to `cur/` (flag S, seen), as a mail client would. A file
 * whose handling throws (the store cannot write) stays in `new/` for the next pass. Files over
 * `maxBytes` are read only that far (their headers are what the handler needs to refuse them).
 */
export class MaildirReader {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(
    readonly dir: string,
    private readonly handle: InboundHandler,
    private readonly maxBytes: number,
    private readonly onError: (e: unknown, file: string) => void = () => {},
  ) {}

  /** Check that `new/` and `cur/` can be read and written (a clear error at start, not at the first poll). */
  async check(): Promise<void> {
    for (const sub of ['new', 'cur']) {
      const st = await fsp.stat(path.join(this.dir, sub)).catch(() => null);
      if (!st?.isDirectory())
        throw new Error(`${path.join(this.dir, sub)} is not a folder (a maildir has new/, cur/ and tmp/)`);
      await fsp.access(path.join(this.dir, sub), fsp.constants.R_OK | fsp.constants.W_OK);
    }
  }

  /** Poll every `ms` until `stop`. */
  start(ms: number): void {
    this.timer ??= setInterval(() => void this.poll().catch((e) => this.onError(e, this.dir)), ms);
  }

  /** One pass over `new/` unless one is running; resolves with how many files were handled. */
  poll(): Promise<number> {
    return (this.running ??= this.pass().finally(() => (this.running = null)));
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
  }

  private async pass(): Promise<number> {
    const fresh = path.join(this.dir, 'new');
    const names = (await fsp.readdir(fresh)).filter((n) => !n.startsWith('.')).sort();
    let done = 0;
    for (const name of names) {
      const file = path.join(fresh, name);
      let mail: InboundMail;
      try {
        mail = await this.read(file);
      } catch (e) {
        // Gone meanwhile (another reader took it) or unreadable: nothing to hand over.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        this.onError(e, file);
        await this.moveToCur(name).catch(() => {});
        continue;
      }
      // The store cannot write now: stop here, this file and the rest wait for the next pass.
      await this.handle(mail);
      await this.moveToCur(name);
      done++;
    }
    return done;
  }

  private async read(file: string): Promise<InboundMail> {
    const fh = await fsp.open(file, 'r');
    try {
      const { size } = await fh.stat();
      const buf = Buffer.alloc(Math.min(size, this.maxBytes + 1));
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      return await parseInbound(buf.subarray(0, bytesRead), size);
    } finally {
      await fh.close();
    }
  }

  /** new/<name> → cur/<name>:2,S (the maildir way of saying "seen"). */
  private moveToCur(name: string): Promise<void> {
    const base = name.includes(':2,') ? name : `${name}:2,S`;
    return fsp.rename(path.join(this.dir, 'new', name), path.join(this.dir, 'cur', base));
  }
}
