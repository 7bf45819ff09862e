/**
 * A real SMTP server for tests (the npm `smtp-server` package) on 127.0.0.1 with a random
 * port: no authentication needed, no STARTTLS offered, every accepted message kept raw and
 * parsed with mailparser's `simpleParser` (which decodes quoted-printable, so URLs are whole).
 *
 * It can refuse (421 at connect, or 451 at MAIL FROM) to play a server that is down, and it
 * can stop listening and listen again on the same port (connection refused in between).
 */
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

// smtp-server holds every new connection 100 ms before its greeting, to catch clients that talk
// too soon. The test server (and only it: Ratify's own inbound server keeps the wait) greets at
// once: a test that connects 48 times (the backoff) would otherwise wait 4.8 s for nothing, and
// what a client does after the greeting is unchanged.
const GREET_AT_ONCE = Symbol('greet at once');
type Connection = { _server: object; _setListeners(ready: () => void): void; connectionReady(): void };
const proto = SMTPConnection.prototype as unknown as { init(this: Connection): void };
const init = proto.init;
proto.init = function initConnection(this: Connection) {
  if (GREET_AT_ONCE in this._server) this._setListeners(() => this.connectionReady());
  else init.call(this);
};

export interface ReceivedMail {
  /** The SMTP envelope: MAIL FROM and every RCPT TO, as given. */
  envelope: { from: string; to: string[] };
  raw: Buffer;
  parsed: ParsedMail;
  /** The Message-ID header (with its angle brackets), or ''. */
  messageId: string;
}

export type Refusal = { at: 'connect'; code: 421 | 554 } | { at: 'mail'; code: 451 | 421 | 550 };

/** An SMTP error with a reply code, as smtp-server expects it from a handler. */
function smtpError(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

export class TestSmtp {
  readonly messages: ReceivedMail[] = [];
  /** Attempts that were refused (connect or MAIL FROM), for checks that a retry happened. */
  refusedAttempts = 0;
  private refusal: Refusal | null = null;
  /** While set, a message's data is read but never answered (a server that hangs). */
  private stalled = false;
  private server: SMTPServer | null = null;
  private waiters: { n: number; resolve: () => void }[] = [];

  private constructor(public port: number) {}

  /** Start on 127.0.0.1 with a random free port (or the one given). */
  static async start(port = 0): Promise<TestSmtp> {
    const s = new TestSmtp(port);
    await s.listen();
    return s;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  get listening(): boolean {
    return this.server !== null;
  }

  private make(): SMTPServer {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      hideSTARTTLS: true,
      logger: false,
      banner: 'ratify test smtp',
      closeTimeout: 200,
      disableReverseLookup: true,
      size: 10 * 1024 * 1024,
      onConnect: (_session: SMTPServerSession, cb: (err?: Error | null) => void) => {
        if (this.refusal?.at === 'connect') {
          this.refusedAttempts++;
          return cb(smtpError(this.refusal.code, 'Service not available, try again later'));
        }
        cb();
      },
      onMailFrom: (_a: SMTPServerAddress, _session: SMTPServerSession, cb: (err?: Error | null) => void) => {
        if (this.refusal?.at === 'mail') {
          this.refusedAttempts++;
          return cb(smtpError(this.refusal.code, 'Requested action aborted: local error, try again later'));
        }
        cb();
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('error', (e) => cb(e));
        stream.on('end', () => {
          if (this.stalled) return; // never answer: the client waits until its own timeout
          const raw = Buffer.concat(chunks);
          const envelope = {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
          };
          simpleParser(raw)
            .then((parsed) => {
              this.messages.push({ envelope, raw, parsed, messageId: parsed.messageId ?? '' });
              this.wake();
              cb();
            })
            .catch((e: Error) => cb(e));
        });
      },
    });
    return Object.assign(server, { [GREET_AT_ONCE]: true });
  }

  /** Listen (again) on this.port — the same port after a stop. */
  async listen(): Promise<void> {
    if (this.server) return;
    const server = this.make();
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      server.server.once('error', onError);
      server.listen(this.port, '127.0.0.1', () => {
        server.server.off('error', onError);
        resolve();
      });
    });
    server.on('error', () => {}); // a client dropping the connection is not a test failure
    this.port = (server.server.address() as { port: number }).port;
    this.server = server;
  }

  /** Stop listening (connections are refused by the OS) but keep the port and what arrived. */
  async stopListening(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Answer every connection (421) or every MAIL FROM (451) with a temporary failure. */
  refuse(refusal: Refusal = { at: 'connect', code: 421 }): void {
    this.refusal = refusal;
  }

  /** Take each message's data but never answer it (until `accept` or a stop). */
  stall(): void {
    this.stalled = true;
  }

  /** Accept mail again (no refusal, no stall). */
  accept(): void {
    this.refusal = null;
    this.stalled = false;
  }

  /** Forget what arrived so far. */
  clear(): void {
    this.messages.length = 0;
    this.refusedAttempts = 0;
  }

  /** The messages whose envelope names `address` as a recipient. */
  to(address: string): ReceivedMail[] {
    return this.messages.filter((m) => m.envelope.to.map((a) => a.toLowerCase()).includes(address.toLowerCase()));
  }

  /** How many copies of each Message-ID arrived. */
  messageIdCounts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const m of this.messages) out.set(m.messageId, (out.get(m.messageId) ?? 0) + 1);
    return out;
  }

  /** Resolve once at least `n` messages arrived in total; reject after `ms`. */
  waitFor(n: number, ms = 5000): Promise<void> {
    if (this.messages.length >= n) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w = { n, resolve: () => {} };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`Only ${this.messages.length} of ${n} messages arrived within ${ms} ms`));
      }, ms);
      w.resolve = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(w);
    });
  }

  private wake(): void {
    const ready = this.waiters.filter((w) => this.messages.length >= w.n);
    this.waiters = this.waiters.filter((w) => this.messages.length < w.n);
    for (const w of ready) w.resolve();
  }

  /** Stop for good. */
  async stop(): Promise<void> {
    await this.stopListening();
  }
}

/** Start a test SMTP server. */
export const startSmtp = (port = 0) => TestSmtp.start(port);

// ------------------------------------------------------------------ reading what arrived

/**
 * A header's raw value, unfolded ('' when absent). mailparser folds the List-* headers into one
 * structured `list` entry, so this reads the header lines as they arrived.
 */
export function header(m: ReceivedMail | ParsedMail, name: string): string {
  const parsed = 'parsed' in m ? m.parsed : m;
  const line = parsed.headerLines.find((h) => h.key === name.toLowerCase());
  if (!line) return '';
  return line.line
    .slice(line.line.indexOf(':') + 1)
    .replace(/\r?\n[ \t]+/g, ' ')
    .trim();
}

/** How many times a header occurs. */
export function headerCount(m: ReceivedMail | ParsedMail, name: string): number {
  const parsed = 'parsed' in m ? m.parsed : m;
  return parsed.headerLines.filter((h) => h.key === name.toLowerCase()).length;
}

/** References as a list of Message-IDs. */
export function references(m: ReceivedMail): string[] {
  const r = m.parsed.references;
  return r === undefined ? [] : Array.isArray(r) ? r : r.split(/\s+/).filter(Boolean);
}

/** Every http(s) URL in the plain-text part. */
export function textLinks(m: ReceivedMail): string[] {
  return [...(m.parsed.text ?? '').matchAll(/https?:\/\/[^\s<>"]+/g)].map((x) => x[0]);
}

/** Every href in the HTML part (entities for & decoded). */
export function htmlLinks(m: ReceivedMail): string[] {
  const html = typeof m.parsed.html === 'string' ? m.parsed.html : '';
  return [...html.matchAll(/href="([^"]*)"/g)].map((x) => x[1].replace(/&amp;/g, '&'));
}

/** The addresses of an address header (To, Cc, Bcc) of a parsed message. */
export function addresses(m: ReceivedMail | ParsedMail, which: 'to' | 'cc' | 'bcc' | 'from'): string[] {
  const parsed = 'parsed' in m ? m.parsed : m;
  const v = parsed[which];
  if (!v) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.flatMap((a) => a.value.map((x) => (x.address ?? '').toLowerCase()));
}
