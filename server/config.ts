import { isIP } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** DATA_DIR when unset, relative to the working directory (the project folder under `npm start`). */
export const DEFAULT_DATA_DIR = './data';

/** The project folder (where `npm run` runs): one level above this file, in server/ as in dist/. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const Env = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  DATA_DIR: z.string().min(1).default(DEFAULT_DATA_DIR),
  BASE_URL: z.string().url().optional(),
  SESSION_SECRET: z.string().min(16, 'SESSION_SECRET must be at least 16 characters').optional(),
  SMTP_URL: z.string().optional(),
  MAIL_FROM: z.string().optional(),
  SITE_NAME: z.string().max(100).optional(),
  LIST_ADDRESS: z.string().optional(),
  REPLY_DOMAIN: z
    .string()
    .regex(
      /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i,
      'REPLY_DOMAIN must be a domain name, e.g. reply.example.org (replies go to reply+<token>@that domain)',
    )
    .optional(),
  INBOUND_SMTP_PORT: z.coerce
    .number({ message: 'INBOUND_SMTP_PORT must be a port number (1–65535)' })
    .int('INBOUND_SMTP_PORT must be a port number (1–65535)')
    .min(1, 'INBOUND_SMTP_PORT must be a port number (1–65535)')
    .max(65535, 'INBOUND_SMTP_PORT must be a port number (1–65535)')
    .optional(),
  INBOUND_SMTP_HOST: z
    .string()
    .refine((h) => isIP(h) !== 0 || h === 'localhost', 'INBOUND_SMTP_HOST must be an IP address (or localhost)')
    .default('127.0.0.1'),
  INBOUND_MAILDIR: z.string().min(1).optional(),
  PUBLIC_MIRROR_URL: z
    .string()
    .regex(/^https?:\/\/[^\s]+$/, 'PUBLIC_MIRROR_URL must be an http(s) URL of a git repository')
    .refine(
      (u) => !/^https?:\/\/[^/]*@/.test(u),
      'PUBLIC_MIRROR_URL must not hold credentials: set PUBLIC_MIRROR_USERNAME and PUBLIC_MIRROR_PASSWORD',
    )
    .optional(),
  PUBLIC_MIRROR_USERNAME: z.string().optional(),
  PUBLIC_MIRROR_PASSWORD: z.string().optional(),
  WRITE_LIMIT: z.coerce.number().int().min(0).default(120),
  REMINDER_HOURS: z.coerce
    .number()
    .min(0)
    .max(24 * 30)
    .default(24),
  DIGEST_HOUR: z.coerce.number().int().min(0).max(23).default(7),
  MAIL_RETENTION_DAYS: z.coerce.number().int().min(0).max(36500).default(30),
  PASSWORD_HASH_N: z.coerce
    .number()
    .int()
    .min(2 ** 10)
    .max(2 ** 20)
    .refine((n) => (n & (n - 1)) === 0, 'PASSWORD_HASH_N must be a power of two')
    .default(2 ** 17),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  TRUST_PROXY: z
    .string()
    .default('loopback')
    .transform((text, ctx) => {
      const value = trustProxy(text);
      if (value === null)
        ctx.addIssue({
          code: 'custom',
          message:
            'TRUST_PROXY must be true, false, a number of hops, or a comma-separated list of addresses, CIDR ranges and the names loopback, linklocal, uniquelocal',
        });
      return value ?? false;
    }),
});

/** Settings that only make sense together, checked once each alone is valid. */
const Checked = Env.superRefine((e, ctx) => {
  const inbound = e.INBOUND_SMTP_PORT !== undefined || e.INBOUND_MAILDIR !== undefined;
  if (inbound && !e.REPLY_DOMAIN)
    ctx.addIssue({
      code: 'custom',
      path: ['REPLY_DOMAIN'],
      message:
        'REPLY_DOMAIN must be set when INBOUND_SMTP_PORT or INBOUND_MAILDIR is: replies are addressed to reply+<token>@REPLY_DOMAIN',
    });
  if (e.INBOUND_SMTP_PORT !== undefined && e.INBOUND_SMTP_PORT === e.PORT)
    ctx.addIssue({
      code: 'custom',
      path: ['INBOUND_SMTP_PORT'],
      message: `INBOUND_SMTP_PORT must differ from PORT (${e.PORT}): one port serves the web, the other takes mail`,
    });
});

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * TRUST_PROXY as express's `trust proxy` setting takes it: `true`/`false`, a number of hops, or a
 * list of addresses and ranges (`10.0.0.1, 192.168.0.0/16, loopback`); null when it is none of those.
 */
export function trustProxy(text: string): boolean | number | string | null {
  const t = text.trim();
  if (/^true$/i.test(t)) return true;
  if (/^false$/i.test(t)) return false;
  if (/^\d+$/.test(t)) return Number(t);
  const items = t.split(',').map((i) => i.trim());
  const valid = (item: string) => {
    if (PROXY_NAMES.has(item)) return true;
    const [address, range, ...rest] = item.split('/');
    const family = isIP(address);
    if (!family || rest.length) return false;
    if (range === undefined) return true;
    if (/^\d+$/.test(range)) return Number(range) <= (family === 4 ? 32 : 128);
    return family === 4 && isIP(range) === 4;
  };
  return items.length && items.every(valid) ? items.join(',') : null;
}

export interface Config {
  port: number;
  dataDir: string;
  baseUrl: string;
  sessionSecret?: string;
  smtpUrl?: string;
  mailFrom: string;
  /** SITE_NAME: who the site is (the committee): in the sender's name and in every version's citation. */
  siteName: string;
  listAddress?: string;
  /** REPLY_DOMAIN: notifications carry `Reply-To: reply+<token>@<this>`; unset, they carry none. */
  replyDomain?: string;
  /** Where replies come in: Ratify's own SMTP listener, and/or a maildir folder it reads (both optional). */
  inbound: { smtp: { port: number; host: string } | null; maildir: string | null };
  writeLimit: number;
  reminderHours: number;
  digestHour: number;
  /** Sent messages keep their text and HTML this many days (MAIL_RETENTION_DAYS; 0: forever). */
  mailRetentionDays: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /**
   * The proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (express's `trust proxy`):
   * 'loopback' unless TRUST_PROXY says otherwise.
   */
  trustProxy: boolean | number | string;
  /** scrypt's N for new password hashes (2^17; tests lower it to 2^10). */
  passwordHashN: number;
  /** The folder whose markdown files become version 1 on a fresh data folder. */
  documentsDir: string;
  /** PUBLIC_MIRROR_URL (+ _USERNAME, _PASSWORD): a git repository that gets `main` and the version tags after each publication. */
  publicMirror: { url: string; username?: string; password?: string } | null;
}

/** The environment variables the server reads: its whole configuration (README.md, "Configuration"). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(Env.shape);

/**
 * What the server does with its command-line arguments: it takes none, so `--help` (or `-h`)
 * prints what configures it and anything else is refused, both before any folder is made. (A
 * newcomer's `node dist/main.js --help` started a server and made `./data` in the working
 * directory.) Null: no arguments, start.
 */
export function serverArguments(argv: readonly string[]): { exit: 0 | 2; text: string } | null {
  if (!argv.length) return null;
  const usage = [
    'Ratify: the server (the site, the API, the mail worker) on PORT, its data in DATA_DIR.',
    '',
    '  npm start            the production server (node dist/main.js)',
    '  npm run admin -- …   accounts, backups and the other commands, on the same DATA_DIR',
    '',
    'The server takes no arguments: environment variables configure it (README.md, "Configuration"):',
    ...wrapNames(CONFIG_VARIABLES, 96).map((l) => `  ${l}`),
  ].join('\n');
  if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h')) return { exit: 0, text: usage };
  return { exit: 2, text: `The server takes no arguments (given: ${argv.join(' ')}).\n\n${usage}` };
}

/** `names` joined by commas in lines of at most `width` characters. */
function wrapNames(names: readonly string[], width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const n of names) {
    const next = line ? `${line}, ${n}` : n;
    if (next.length > width && line) {
      lines.push(`${line},`);
      line = n;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines;
}

/** Parse the environment once; throws an Error whose message lists every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, projectRoot = process.cwd()): Readonly<Config> {
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = Checked.safeParse(clean);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const baseUrl = (e.BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  return Object.freeze({
    port: e.PORT,
    dataDir: path.resolve(projectRoot, e.DATA_DIR),
    baseUrl,
    sessionSecret: e.SESSION_SECRET,
    smtpUrl: e.SMTP_URL,
    // A bare address gets a display name: "<SITE_NAME> via Ratify" <address>.
    mailFrom: senderOf(e.MAIL_FROM ?? `ratify@${new URL(baseUrl).hostname}`, e.SITE_NAME ?? new URL(baseUrl).hostname),
    siteName: e.SITE_NAME ?? new URL(baseUrl).hostname,
    listAddress: e.LIST_ADDRESS,
    replyDomain: e.REPLY_DOMAIN?.toLowerCase(),
    inbound: Object.freeze({
      smtp: e.INBOUND_SMTP_PORT !== undefined ? { port: e.INBOUND_SMTP_PORT, host: e.INBOUND_SMTP_HOST } : null,
      maildir: e.INBOUND_MAILDIR !== undefined ? path.resolve(projectRoot, e.INBOUND_MAILDIR) : null,
    }),
    writeLimit: e.WRITE_LIMIT,
    reminderHours: e.REMINDER_HOURS,
    digestHour: e.DIGEST_HOUR,
    mailRetentionDays: e.MAIL_RETENTION_DAYS,
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
    passwordHashN: e.PASSWORD_HASH_N,
    documentsDir: path.resolve(projectRoot, 'documents'),
    publicMirror: e.PUBLIC_MIRROR_URL
      ? Object.freeze({
          url: e.PUBLIC_MIRROR_URL,
          username: e.PUBLIC_MIRROR_USERNAME,
          password: e.PUBLIC_MIRROR_PASSWORD,
        })
      : null,
  });
}

/** `"<site> via Ratify" <address>` for a bare address; an address with its own display name is kept. */
export function senderOf(mailFrom: string, site: string): string {
  if (/[<>]/.test(mailFrom)) return mailFrom;
  return `"${site.replace(/["\\\r\n]/g, '')} via Ratify" <${mailFrom.trim()}>`;
}

/** A word for a POSIX shell: as it is when plain, else in single quotes. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * `npm run admin -- ARGS` as typed in the project folder to act on the data folder `dataDir`:
 * with `DATA_DIR=<absolute path>` in front unless it is the one the CLI finds by default
 * (`./data` of the project folder, where `npm run` runs).
 */
export function adminCommand(dataDir: string, args: string, projectRoot = PROJECT_ROOT): string {
  const own = path.resolve(projectRoot, DEFAULT_DATA_DIR) === path.resolve(dataDir);
  return `${own ? '' : `DATA_DIR=${shellWord(path.resolve(dataDir))} `}npm run admin -- ${args}`;
}

/** The exact command that makes the first secretariat account on `dataDir` (placeholders to replace). */
export function firstAccountCommand(dataDir: string, projectRoot = PROJECT_ROOT): string {
  return `echo 'a long passphrase' | ${adminCommand(dataDir, "user add --email you@example.org --name 'Your Name' --role secretariat --password-stdin", projectRoot)}`;
}

/**
 * Why Ratify cannot run on `platform`, or null. Linux is the platform it is built and tested on;
 * other Unix-likes (macOS, the BSDs) take the lock-file fallback of the data folder's lock.
 * Windows has neither Unix sockets at a path (the admin socket) nor Unix file modes.
 */
export function unsupportedPlatform(platform: NodeJS.Platform = process.platform): string | null {
  return platform === 'win32'
    ? 'Ratify does not run on Windows (win32): its admin socket and the private modes of its data folder are Unix ones. Run it on Linux (on Windows: inside WSL 2) or macOS.'
    : null;
}
