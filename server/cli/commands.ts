import * as path from 'node:path';
import { z } from 'zod';
import { CLI_ACTOR } from '../domain/actor.js';
import { DomainError, invalid } from '../domain/errors.js';
import type { Ctx } from '../services/context.js';
import { addDocument } from '../services/addDocument.js';
import { addGroup } from '../services/addGroup.js';
import { importHistory } from '../services/importHistory.js';
import * as fsp from 'node:fs/promises';
import {
  addUser,
  disableUser,
  listUsers,
  publicUser,
  requireUserByEmail,
  setUser,
} from '../services/accounts/users.js';
import { importUsers } from '../services/accounts/importUsers.js';
import { createToken } from '../services/auth/tokens.js';
import { inviteUser } from '../services/accounts/links.js';
import { exportSite, type OpenSitePages } from './exportSite.js';
import { addStakeholder, listStakeholders, stakeholderFromText } from '../services/stakeholders.js';

/** An admin command as the CLI parsed it: the same shape whether run here or sent to the server. */
export interface AdminCommand {
  name: string;
  args: Record<string, unknown>;
  /** Absolute paths are resolved by the CLI against its working directory before sending. */
  cwd: string;
}

export type Progress = (message: string) => void;

const GroupAdd = z.object({ slug: z.string(), name: z.string() });
const StakeholderAdd = z.object({ slug: z.string(), name: z.string() });
const DocumentAdd = z.object({ slug: z.string(), title: z.string(), group: z.string(), file: z.string() });
const DocumentImport = z.object({
  slug: z.string(),
  title: z.string(),
  group: z.string(),
  dir: z.string(),
  tsv: z.string().optional(),
});

const list = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]));
const UserAdd = z.object({
  email: z.string(),
  name: z.string(),
  role: list,
  group: list,
  stakeholder: z.string().optional(),
  password: z.string().optional(),
});
const UserSet = z.object({
  email: z.string(),
  role: list,
  group: list,
  stakeholder: z.string().optional(),
  name: z.string().optional(),
  enable: z.boolean().optional(),
  newEmail: z.string().optional(),
});
const UserEmail = z.object({ email: z.string() });
const UserImport = z.object({ csv: z.string(), invite: z.boolean().optional() });
const Backup = z.object({ out: z.string().min(1) });
const Gc = z.object({});
const Export = z.object({ out: z.string().min(1), baseUrl: z.string().url().optional() });

/** What a command may need from above the command line's layer (given by the entry that runs it: server/admin.ts, server/main.ts). */
export interface AdminDeps {
  /** The public pages as a reader gets them, for `export`. */
  sitePages?: OpenSitePages;
  /** The running site's address (BASE_URL), for `export`. */
  baseUrl?: string;
}

type Handler = (
  ctx: Ctx,
  args: Record<string, unknown>,
  cwd: string,
  progress: Progress,
  deps: AdminDeps,
) => Promise<unknown>;

const parseArgs = <T>(schema: z.ZodType<T>, args: unknown): T => {
  const r = schema.safeParse(args);
  if (!r.success)
    throw invalid('invalid_arguments', r.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; '));
  return r.data;
};

const readText = async (file: string) => {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch {
    throw invalid('unreadable_file', `Cannot read the file ${file}.`);
  }
};

/** Every admin command, calling the same services as the API and the pages. */
const HANDLERS: Record<string, Handler> = {
  'group add': async (ctx, args) => addGroup(ctx, CLI_ACTOR, parseArgs(GroupAdd, args)),
  'stakeholder add': async (ctx, args) => addStakeholder(ctx, CLI_ACTOR, parseArgs(StakeholderAdd, args)),
  'stakeholder list': async (ctx) => listStakeholders(ctx),
  'document add': async (ctx, args, cwd) => {
    const a = parseArgs(DocumentAdd, args);
    const v = await addDocument(ctx, CLI_ACTOR, { ...a, text: await readText(path.resolve(cwd, a.file)) });
    return { slug: a.slug, version: { number: v.number, commit: v.commit, publishedAt: v.publishedAt } };
  },
  'document import': async (ctx, args, cwd, progress) => {
    const a = parseArgs(DocumentImport, args);
    const started = Date.now();
    const r = await importHistory(
      ctx,
      CLI_ACTOR,
      { ...a, dir: path.resolve(cwd, a.dir), tsv: a.tsv ? path.resolve(cwd, a.tsv) : undefined },
      (done, total) => {
        if (done === total || done % 10 === 0 || done === 1) progress(`imported ${done}/${total} versions`);
      },
    );
    return { ...r, seconds: Math.round((Date.now() - started) / 100) / 10 };
  },
};

Object.assign(HANDLERS, {
  'user add': async (ctx, args) => {
    const a = parseArgs(UserAdd, args);
    if (a.password === undefined)
      throw invalid('password_required', 'Give the password on standard input (--password-stdin).');
    const stakeholder = a.stakeholder === undefined ? null : stakeholderFromText(ctx, a.stakeholder);
    return publicUser(
      await addUser(ctx, CLI_ACTOR, {
        email: a.email,
        name: a.name,
        roles: a.role,
        groups: a.group,
        stakeholder,
        password: a.password,
      }),
    );
  },
  'user set': async (ctx, args) => {
    const a = parseArgs(UserSet, args);
    // --stakeholder names a group by slug or name; "none" clears it; left out, it stays as it is.
    const stakeholder = a.stakeholder === undefined ? undefined : stakeholderFromText(ctx, a.stakeholder);
    return publicUser(
      await setUser(ctx, CLI_ACTOR, a.email, {
        roles: a.role,
        groups: a.group,
        stakeholder,
        name: a.name,
        enable: a.enable,
        email: a.newEmail,
      }),
    );
  },
  'user import': async (ctx, args, cwd) => {
    const a = parseArgs(UserImport, args);
    // Each imported member gets an invitation to set a password (unless --no-invite).
    const users = await importUsers(ctx, CLI_ACTOR, await readText(path.resolve(cwd, a.csv)), {
      invite: a.invite !== false,
    });
    return users.map(publicUser);
  },
  'user list': async (ctx) => listUsers(ctx, CLI_ACTOR).map(publicUser),
  'user invite': async (ctx, args) => {
    const u = requireUserByEmail(ctx, parseArgs(UserEmail, args).email);
    await inviteUser(ctx, CLI_ACTOR, u.id);
    return { invited: u.email };
  },
  'user disable': async (ctx, args) => publicUser(await disableUser(ctx, CLI_ACTOR, parseArgs(UserEmail, args).email)),
  'token create': async (ctx, args) => {
    const user = requireUserByEmail(ctx, parseArgs(UserEmail, args).email);
    if (user.disabled) throw invalid('user_disabled', `The account ${user.email} is disabled.`);
    const { token } = await createToken(ctx, CLI_ACTOR, user, 'made with the admin CLI');
    return { token };
  },
} satisfies Record<string, Handler>);

Object.assign(HANDLERS, {
  // The repository lives in DATA_DIR/git, so its parent is DATA_DIR (the store folder beside it).
  // tar loads with the first backup, not with every server.
  backup: async (ctx, args, cwd, progress) =>
    (await import('../store/backup.js')).createBackup({
      repo: ctx.repo,
      meta: ctx.meta,
      dataDir: path.dirname(ctx.repo.gitdir),
      out: path.resolve(cwd, parseArgs(Backup, args).out),
      now: ctx.clock,
      progress,
    }),
  // Packs every object into one pack while the server goes on (see server/store/README.md).
  gc: async (ctx, args, _cwd, progress) => {
    parseArgs(Gc, args);
    const before = await ctx.repo.objectsOnDisk();
    const report = await ctx.repo.pack({ full: true });
    const after = await ctx.repo.objectsOnDisk();
    progress(
      `packed ${report.objects} objects in ${report.ms} ms; writes waited at most ${report.longestLockMs} ms at a time`,
    );
    return { ...report, before, after };
  },
  // The public side as static files (cli/exportSite.ts).
  export: async (ctx, args, cwd, progress, deps) => {
    const { out, baseUrl } = parseArgs(Export, args);
    if (!deps.sitePages || !deps.baseUrl) throw invalid('unavailable', 'This process cannot render pages.');
    return exportSite(
      ctx,
      deps.sitePages,
      { out: path.resolve(cwd, out), baseUrl: baseUrl ?? deps.baseUrl, liveUrl: deps.baseUrl },
      progress,
    );
  },
} satisfies Record<string, Handler>);

export const COMMAND_NAMES = Object.keys(HANDLERS);

/** Run one admin command; refusals are DomainErrors with a code, as in the API. */
export async function runAdminCommand(
  ctx: Ctx,
  cmd: AdminCommand,
  progress: Progress = () => {},
  deps: AdminDeps = {},
): Promise<unknown> {
  const handler = HANDLERS[cmd.name];
  if (!handler) throw invalid('unknown_command', `Unknown admin command "${cmd.name}".`);
  return handler(ctx, cmd.args, cmd.cwd, progress, deps);
}

/** The error as the CLI prints it (JSON on stderr), with the same codes as the API. */
export function errorBody(e: unknown): { error: { code: string; message: string } } {
  if (e instanceof DomainError) return { error: { code: e.code, message: e.message } };
  return { error: { code: 'internal', message: (e as Error)?.message ?? String(e) } };
}
