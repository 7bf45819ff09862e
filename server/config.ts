import * as path from 'node:path';
import { z } from 'zod';

const Env = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  DATA_DIR: z.string().min(1).default('./data'),
  BASE_URL: z.string().url().optional(),
  SESSION_SECRET: z.string().min(16, 'SESSION_SECRET must be at least 16 characters').optional(),
  SMTP_URL: z.string().optional(),
  MAIL_FROM: z.string().optional(),
  SITE_NAME: z.string().max(100).optional(),
  LIST_ADDRESS: z.string().optional(),
  WRITE_LIMIT: z.coerce.number().int().min(0).default(120),
  REMINDER_HOURS: z.coerce
    .number()
    .min(0)
    .max(24 * 30)
    .default(24),
  DIGEST_HOUR: z.coerce.number().int().min(0).max(23).default(7),
  PASSWORD_HASH_N: z.coerce
    .number()
    .int()
    .min(2 ** 10)
    .max(2 ** 20)
    .refine((n) => (n & (n - 1)) === 0, 'PASSWORD_HASH_N must be a power of two')
    .default(2 ** 17),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
});

export interface Config {
  port: number;
  dataDir: string;
  baseUrl: string;
  sessionSecret?: string;
  smtpUrl?: string;
  mailFrom: string;
  listAddress?: string;
  writeLimit: number;
  reminderHours: number;
  digestHour: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** scrypt's N for new password hashes (2^17; tests lower it to 2^10). */
  passwordHashN: number;
  /** The folder whose markdown files become version 1 on a fresh data folder. */
  documentsDir: string;
}

/** Parse the environment once; throws an Error whose message lists every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, projectRoot = process.cwd()): Readonly<Config> {
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = Env.safeParse(clean);
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
    listAddress: e.LIST_ADDRESS,
    writeLimit: e.WRITE_LIMIT,
    reminderHours: e.REMINDER_HOURS,
    digestHour: e.DIGEST_HOUR,
    logLevel: e.LOG_LEVEL,
    passwordHashN: e.PASSWORD_HASH_N,
    documentsDir: path.resolve(projectRoot, 'documents'),
  });
}

/** `"<site> via Ratify" <address>` for a bare address; an address with its own display name is kept. */
export function senderOf(mailFrom: string, site: string): string {
  if (/[<>]/.test(mailFrom)) return mailFrom;
  return `"${site.replace(/["\\\r\n]/g, '')} via Ratify" <${mailFrom.trim()}>`;
}
