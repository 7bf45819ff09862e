import { Command } from 'commander';
import { adminCommand, DEFAULT_DATA_DIR, firstAccountCommand, loadConfig, unsupportedPlatform } from '../config.js';
import { openData, type OpenData } from '../bootstrap.js';
import { dataFolderState, NoDataFolderError } from '../store/dataFolder.js';
import { DataDirBusyError, liveHolder } from '../store/processLock.js';
import { sendAdminCommand } from './adminSocket.js';
import { errorBody, runAdminCommand, type AdminCommand, type AdminDeps } from './commands.js';

/** Set by `runCli`. */
let deps: Omit<AdminDeps, 'baseUrl'> = {};
import * as path from 'node:path';
import { restoreBackup } from '../store/backup.js';

/**
 * The admin command line. Every command prints JSON on stdout, errors as JSON on stderr with a
 * non-zero exit. It never writes beside a running server: when the server holds DATA_DIR the
 * command is sent to it over its admin socket; otherwise the CLI opens DATA_DIR itself. It never
 * creates a data folder (only `init` does): a missing or empty DATA_DIR is refused, naming the
 * absolute path it looked at.
 */
async function execute(cmd: AdminCommand): Promise<void> {
  const config = loadConfig();
  const progress = (m: string) => process.stderr.write(`${m}\n`);
  const holder = await liveHolder(config.dataDir);
  let outcome: { result?: unknown; error?: { code: string; message: string } };
  if (holder?.role === 'server' && holder.socket) {
    outcome = await sendAdminCommand(holder.socket, cmd, progress).catch((e) => ({
      error: {
        code: 'server_unreachable',
        message: `The server (PID ${holder.pid}) holds this data folder but does not answer on ${holder.socket}: ${(e as Error).message}`,
      },
    }));
  } else {
    let data;
    try {
      data = await openData(config, 'cli', { create: false });
    } catch (e) {
      return finish(openFailure(e));
    }
    try {
      outcome = { result: await runAdminCommand(data.ctx, cmd, progress, { ...deps, baseUrl: config.baseUrl }) };
    } catch (e) {
      outcome = errorBody(e);
    } finally {
      await data.close();
    }
  }
  finish(outcome);
}

/** Why DATA_DIR could not be opened, as the CLI's JSON error. */
function openFailure(e: unknown): { error: { code: string; message: string } } {
  if (e instanceof NoDataFolderError) return { error: { code: e.code, message: noDataFolder(e) } };
  const message =
    e instanceof DataDirBusyError
      ? `${e.message} Try again when it has finished.`
      : `Cannot open the data folder: ${(e as Error).message}`;
  return { error: { code: 'data_dir_busy', message } };
}

/** The refusal of a DATA_DIR that is no data folder: the absolute path looked at, and what to do. */
function noDataFolder(e: NoDataFolderError): string {
  const given = process.env.DATA_DIR
    ? `DATA_DIR=${process.env.DATA_DIR}`
    : `DATA_DIR is not set: ${DEFAULT_DATA_DIR} of the project folder`;
  const fresh =
    e.code === 'no_data_folder'
      ? ` To start a new site with its own data there instead, run: ${adminCommand(e.dir, 'init')}`
      : '';
  return (
    `${e.message.replace(/\.$/, '')} (${given}). Admin commands never create a data folder. Run them with the DATA_DIR ` +
    `the server uses (it prints its data folder when it starts), e.g. ` +
    `DATA_DIR=/srv/ratify/data npm run admin -- user list.${fresh}`
  );
}

function finish(outcome: { result?: unknown; error?: { code: string; message: string } }): void {
  if (outcome.error) {
    process.stderr.write(`${JSON.stringify(outcome)}\n`);
    process.exitCode = 1;
  } else {
    process.stdout.write(`${JSON.stringify(outcome.result ?? null, null, 2)}\n`);
  }
}

/**
 * `init`: make and seed a data folder where there is none (as the server does at its first start);
 * on an existing one, only say what is there. Anything else at DATA_DIR is refused.
 */
async function init(): Promise<void> {
  const config = loadConfig();
  const state = await dataFolderState(config.dataDir);
  if (state === 'file' || state === 'other') return finish(openFailure(new NoDataFolderError(config.dataDir, state)));
  const holder = await liveHolder(config.dataDir);
  if (holder)
    return finish({
      result: { dataDir: config.dataDir, created: false, heldBy: { role: holder.role, pid: holder.pid } },
    });
  const created = state !== 'data';
  let data: OpenData;
  try {
    data = await openData(config, 'cli', { create: created });
  } catch (e) {
    return finish(openFailure(e));
  }
  try {
    const accounts = data.ctx.meta.all('users').length;
    finish({
      result: {
        dataDir: config.dataDir,
        created,
        documents: data.ctx.meta.all('documents').map((d) => d.slug),
        accounts,
        ...(accounts ? {} : { next: firstAccountCommand(config.dataDir) }),
      },
    });
  } finally {
    await data.close();
  }
}

const run = (name: string) => (opts: Record<string, unknown>) => execute({ name, args: opts, cwd: process.cwd() });

/** The password from standard input, without its trailing newline (never from argv: it would show in `ps`). */
async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Password: ');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}
const collect = (v: string, prev: string[] = []) => [...prev, v];

const program = new Command('ratify-admin')
  .description('Administer a Ratify data folder (DATA_DIR). Prints JSON; errors go to stderr with a non-zero exit.')
  .showHelpAfterError();

program
  .command('init')
  .description(
    'make a new data folder at DATA_DIR (absent or empty): the documents of documents/ become version 1; no other command creates one',
  )
  .action(init);

const group = program.command('group').description('working groups and the plenary');
group
  .command('add')
  .description('add a group')
  .requiredOption('--slug <slug>', 'short name, e.g. wg-strategy')
  .requiredOption('--name <name>', 'full name')
  .action(run('group add'));

const stakeholder = program
  .command('stakeholder')
  .description('stakeholder groups (each member belongs to at most one)');
stakeholder
  .command('add')
  .description('add a stakeholder group')
  .requiredOption('--slug <slug>', 'short name, e.g. civil-society')
  .requiredOption('--name <name>', 'full name')
  .action(run('stakeholder add'));
stakeholder.command('list').description('list the stakeholder groups, by name').action(run('stakeholder list'));

const document = program.command('document').description('governed documents');
document
  .command('add')
  .description('add a document; the file becomes version 1')
  .requiredOption('--slug <slug>')
  .requiredOption('--title <title>')
  .requiredOption('--group <group>', 'owning group')
  .requiredOption('--file <path>', 'markdown file')
  .action(run('document add'));
document
  .command('import')
  .description('import an existing history: the files of DIR in name order become versions 1…N')
  .requiredOption('--slug <slug>')
  .requiredOption('--title <title>')
  .requiredOption('--group <group>', 'owning group')
  .requiredOption('--dir <dir>', 'folder of version files')
  .option('--tsv <file>', 'versions.tsv with header "seq date author subject", one row per file')
  .action(run('document import'));

const user = program.command('user').description('accounts');
user
  .command('add')
  .description('add an account (no --role: member)')
  .requiredOption('--email <email>')
  .requiredOption('--name <name>')
  .option('--role <role>', 'member, chair or secretariat (repeatable)', collect)
  .option('--group <group>', 'working group (repeatable)', collect)
  .option('--stakeholder <group>', 'stakeholder group, by slug or name')
  .requiredOption('--password-stdin', 'read the password from standard input')
  .action(async (opts: Record<string, unknown>) => {
    const password = await readStdin();
    await execute({ name: 'user add', args: { ...opts, passwordStdin: undefined, password }, cwd: process.cwd() });
  });
user
  .command('set')
  .description(
    'replace roles, groups, the stakeholder group, the name or the e-mail address; --enable re-enables a disabled account',
  )
  .requiredOption('--email <email>')
  .option('--role <role>', 'role (repeatable; replaces all roles)', collect)
  .option('--group <group>', 'group (repeatable; replaces all groups)', collect)
  .option('--stakeholder <group>', 'stakeholder group, by slug or name; "none" for none')
  .option('--name <name>')
  .option('--new-email <email>', 'correct the address (the new and the old address are told by mail)')
  .option('--enable', 're-enable the account')
  .action(run('user set'));
user
  .command('import')
  .description(
    'add accounts from a CSV: email,name,roles,groups[,stakeholder] (lists separated by ;); each gets an invitation by mail',
  )
  .requiredOption('--csv <file>')
  .option('--no-invite', 'do not send invitations')
  .action(run('user import'));
user
  .command('invite')
  .description('send (again) an invitation to set a password')
  .requiredOption('--email <email>')
  .action(run('user invite'));
user.command('list').description('list accounts').action(run('user list'));
user
  .command('disable')
  .description('disable an account: its sessions and tokens stop working')
  .requiredOption('--email <email>')
  .action(run('user disable'));

program
  .command('token')
  .description('API tokens')
  .command('create')
  .description('make a personal API token for an account (printed once)')
  .requiredOption('--email <email>')
  .action(run('token create'));

program
  .command('backup')
  .description(
    'write one consistent archive (tar.gz) of the repository and the metadata store; works while the server runs',
  )
  .requiredOption('--out <file>', 'the archive to write (never overwritten)')
  .action(run('backup'));

program
  .command('gc')
  .description('pack every git object into one pack (deltas between versions); works while the server runs')
  .action(run('gc'));

program
  .command('export')
  .description(
    'write the public side as static files (pages, raw texts, feeds, the public git repository) for any web host; again, only what changed',
  )
  .requiredOption('--out <dir>', 'the folder to write (made if absent; an earlier export there is brought up to date)')
  .option('--base-url <url>', 'where the copy will be served, named in citations and feeds (default: BASE_URL)')
  .action(run('export'));

program
  .command('restore')
  .description('unpack a backup into DATA_DIR, which must be empty or absent; then start the server as usual')
  .requiredOption('--from <file>', 'an archive made by backup')
  .action(async (opts: { from: string }) => {
    // Never through a server: a server's DATA_DIR is not empty, and a restore opens nothing.
    const config = loadConfig();
    try {
      finish({
        result: {
          restored: config.dataDir,
          ...(await restoreBackup(path.resolve(process.cwd(), opts.from), config.dataDir)),
        },
      });
    } catch (e) {
      finish(errorBody(e));
    }
  });

/**
 * Run the command line. `deps` come from the entry (server/admin.ts): what commands need from
 * above this layer (the public pages, for `export`).
 */
export async function runCli(given: Omit<AdminDeps, 'baseUrl'>): Promise<void> {
  deps = given;
  const platform = unsupportedPlatform();
  if (platform) {
    finish({ error: { code: 'unsupported_platform', message: platform } });
    process.exit(1);
  }
  // What the CLI creates in DATA_DIR (a fresh data folder, git objects, mails) is private to its user.
  process.umask(0o077);
  await program.parseAsync(process.argv);
}
