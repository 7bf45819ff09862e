import * as fsp from 'node:fs/promises';
import type * as http from 'node:http';
import * as path from 'node:path';
import { createApp } from './app.js';
import { createLogger } from './http/log.js';
import { WorkPool } from './http/offload/pool.js';
import { Renderer } from './http/render/renderer.js';
import { firstAccountCommand, loadConfig, serverArguments, unsupportedPlatform } from './config.js';
import { openData } from './bootstrap.js';
import { listenAdminSocket, socketPathFor } from './cli/adminSocket.js';
import { sweepRounds } from './services/rounds/rounds.js';
import { MailWorker, pruneMailBodies } from './services/notifications/deliver.js';
import { composeDigests } from './services/notifications/digest.js';
import { outboxTransport, smtpTransport } from './store/mail/transport.js';
import { DIR_MODE, warnIfShared } from './store/fsutil.js';
import { commonPasswords } from './store/commonPasswords.js';
import type { Inbound } from './inbound.js';
import { sitePagesFor } from './sitePages.js';
import { applyServerTimeouts } from './http/serverTimeouts.js';
import { createAppServer } from './http/appServer.js';
import { MirrorWorker } from './services/publicMirror.js';
import { LoopDelay } from './http/loopDelay.js';
import { settleStartMemory } from './startMemory.js';
import { loadMarkdown } from './util/markdown.js';

/** Read config, open the stores (seeding a fresh data folder), listen, close cleanly on SIGTERM. */
async function main() {
  // Before anything is made on disk: `--help` answers, any other argument is refused.
  const args = serverArguments(process.argv.slice(2));
  if (args) {
    (args.exit ? console.error : console.log)(args.text);
    process.exit(args.exit);
  }
  // Everything Ratify creates (data folder, git objects, mails with live links) is private to its user.
  const platform = unsupportedPlatform();
  if (platform) {
    console.error(platform);
    process.exit(1);
  }
  process.umask(0o077);
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
  await fsp.mkdir(config.dataDir, { recursive: true, mode: DIR_MODE });
  await warnIfShared(config.dataDir);
  let data;
  try {
    data = await openData(config, 'server', { backlogLater: true });
  } catch (e) {
    console.error(`Ratify cannot start: ${(e as Error).message}`);
    process.exit(1);
  }
  // A journal write that failed and could not be undone: memory and disk may differ. Exit so
  // that the supervisor restarts the server, which then reads the journal again.
  data.ctx.meta.onFatal((e) => {
    console.error('The journal cannot be written or repaired; exiting so that the server is restarted.', e);
    process.exit(70);
  });
  const log = createLogger(config.logLevel);
  // Markdown and diffs that may take long run in a bounded, time-limited worker pool.
  const renderer = new Renderer(new WorkPool(), {}, (msg, err) => log.error({ err }, msg));
  // The event loop's delay, minute by minute, on /healthz?verbose.
  const loopDelay = new LoopDelay();
  // After each publication the public repository goes to PUBLIC_MIRROR_URL too (never blocking it).
  const mirror = config.publicMirror
    ? new MirrorWorker(data.ctx, config.publicMirror, (msg, err) => log.warn({ err }, msg))
    : null;
  const app = createApp({
    ctx: data.ctx,
    config,
    sessions: data.sessions,
    log,
    renderer,
    mirrorStatus: mirror ? () => mirror.status() : undefined,
    loopDelay: () => loopDelay.report(),
  });
  // Idle keep-alive connections outlive a reverse proxy's own idle timeout (http/serverTimeouts.ts).
  // A signal that comes while the server is still starting (it answers as soon as it listens)
  // is kept, and acted on once the shutdown below is in place: never the default, a kill.
  let earlySignal: string | null = null;
  const early = (signal: string) => (earlySignal ??= signal);
  process.on('SIGTERM', early);
  process.on('SIGINT', early);
  // Once stopping, every answer closes its connection: a keep-alive client cannot hold the
  // shutdown open by sending more requests on it.
  let stopping = false;
  const server = applyServerTimeouts(
    createAppServer(app, (req, res) => {
      if (stopping) res.setHeader('Connection', 'close');
      app(req, res);
    }),
  );
  const socket = socketPathFor(config.dataDir);
  let admin: http.Server;
  try {
    admin = await listenAdminSocket(data.ctx, socket, {
      sitePages: sitePagesFor(config, renderer),
      baseUrl: config.baseUrl,
    });
    await data.setSocket(socket);
  } catch (e) {
    console.error(`Ratify cannot start: the admin socket ${socket} cannot be opened: ${(e as Error).message}`);
    await fsp.rm(socket, { force: true }).catch(() => {});
    await data.close().catch(() => {});
    process.exit(1);
  }
  // The port last: once /healthz answers, the lock names the admin socket too (a command line
  // run at that moment goes through the server). A port already taken (or not ours to take)
  // ends the start here: the socket is removed and the data folder's lock released.
  try {
    await listen(server, config.port);
  } catch (e) {
    console.error(`Ratify cannot start: ${listenFailure(e, config.port)}`);
    admin.close();
    await fsp.rm(socket, { force: true }).catch(() => {});
    await data.close().catch(() => {});
    process.exit(1);
  }
  // The open's garbage goes first, in a turn of the event loop of its own, before the waiting
  // messages are read (startMemory.ts): then V8 sizes its heap from what the open left live.
  await new Promise((resolve) => setImmediate(resolve));
  const startGc = settleStartMemory();
  // The markdown renderer's packages, left out of the start (util/markdown.ts): requests other
  // than /healthz wait for them (app.ts).
  loadMarkdown().catch((err) => log.error({ err }, 'The markdown renderer could not be loaded'));
  // The waiting messages' records, left for now by the store's open, are read in slices beside
  // the requests; a request that wants them first reads the rest at once. The mail worker and
  // the sweeps (which queue mail) begin once they are read.
  let mailRead = false;
  const readingMail = data.ctx.meta
    .readLater()
    .then(async () => {
      mailRead = true;
      log.info({ readLater: data.ctx.meta.readLaterReport, startGc }, 'Start-up done: the waiting messages are read');
      // The loose objects earlier runs left, counted towards the next packing now (bootstrap.ts).
      data.ctx.repo.countBacklog();
      data.ctx.publicRepo?.repo.countBacklog();
    })
    .catch((err) => {
      // A damaged snapshot: what the start refused before it listened, for the other records.
      console.error(`Ratify cannot start: the snapshot's messages cannot be read: ${(err as Error).message}`);
      process.exit(1);
    });
  // Replies by mail: Ratify's own SMTP listener and/or a maildir, when configured.
  let inbound: Inbound;
  try {
    // Its parsers (mailparser, smtp-server: a quarter of a second to load) load only when configured.
    inbound =
      config.inbound.smtp || config.inbound.maildir
        ? await (await import('./inbound.js')).startInbound(data.ctx, config, log)
        : { smtpPort: null, maildir: null, close: async () => {} };
  } catch (e) {
    console.error(`Ratify cannot start: ${(e as Error).message}`);
    admin.close();
    server.close();
    await fsp.rm(socket, { force: true }).catch(() => {});
    await data.close().catch(() => {});
    process.exit(1);
  }
  if (inbound.smtpPort !== null)
    log.info(
      { inboundSmtp: `${config.inbound.smtp!.host}:${inbound.smtpPort}`, replyDomain: config.replyDomain },
      `Replies by mail to reply+…@${config.replyDomain} are taken on ${config.inbound.smtp!.host}:${inbound.smtpPort}`,
    );
  if (inbound.maildir)
    log.info({ inboundMaildir: config.inbound.maildir }, 'Replies by mail are read from the maildir');
  // A clean shutdown leaves nothing to repair: say so when a start had to.
  const { journalTornBytes, versionsFromMain } = data.repairs;
  if (journalTornBytes || versionsFromMain)
    log.warn(
      { repairs: data.repairs },
      `Start-up repaired what the last run left: ${journalTornBytes} bytes of a torn journal tail cut, ${versionsFromMain} versions restored from main`,
    );
  // How each collection's cold records were found at open: from their image, or by reading their table.
  const coldOpen = data.ctx.meta.coldOpened();
  log.info(
    { port: config.port, baseUrl: config.baseUrl, dataDir: config.dataDir, coldOpen },
    `Ratify serves ${config.baseUrl} (port ${config.port}, data in ${config.dataDir})`,
  );
  // Nobody can sign in until the first account exists: say how to make it, for this data folder.
  if (data.ctx.meta.all('users').length === 0) {
    const command = firstAccountCommand(config.dataDir);
    log.warn(
      { firstAccount: command },
      `No account yet. Make the first secretariat account from the project folder (it works while the server runs): ${command}`,
    );
  }
  // The common-password list (~0.2 s to read) is loaded now, not inside the first password form's request.
  setImmediate(() => commonPasswords());
  // Rounds close by themselves within about a second of their deadline: a periodic sweep, not
  // one timer per deadline (timers longer than 24.8 days fire at once).
  // Mail goes out from a durable queue: SMTP when SMTP_URL is set, else .eml files in DATA_DIR/outbox.
  const transport = config.smtpUrl
    ? smtpTransport(config.smtpUrl)
    : outboxTransport(path.join(config.dataDir, 'outbox'));
  const mailer = new MailWorker(data.ctx, transport, config.mailFrom);
  let sweeping: Promise<void> | null = null;
  const sweep = setInterval(() => {
    if (!mailRead) return;
    sweeping ??= sweepRounds(data.ctx)
      .then(async () => void (await composeDigests(data.ctx)))
      .catch((err) => log.error({ err }, 'The periodic sweep failed'))
      .finally(() => (sweeping = null));
  }, 1000);
  // Delivery on its own beat: a slow mail server never delays closing rounds.
  const delivery = setInterval(
    () => void (mailRead && mailer.tick().catch((err) => log.error({ err }, 'Mail delivery failed'))),
    1000,
  );
  // Sent messages' bodies go after MAIL_RETENTION_DAYS (their record stays), a batch at a time, hourly.
  let pruningNow: Promise<void> | null = null;
  const pruneMail = () =>
    (pruningNow ??= (async () => {
      if (!config.mailRetentionDays) return;
      while (!stopping && (await pruneMailBodies(data.ctx, config.mailRetentionDays)) > 0)
        await new Promise((resolve) => setImmediate(resolve));
    })().finally(() => (pruningNow = null)));
  const pruning = setInterval(
    () => void pruneMail().catch((err) => log.error({ err }, 'Dropping old mail bodies failed')),
    3_600_000,
  );
  setTimeout(
    () => void pruneMail().catch((err) => log.error({ err }, 'Dropping old mail bodies failed')),
    60_000,
  ).unref();
  const mirroring = mirror
    ? setInterval(() => void mirror.tick().catch((err) => log.error({ err }, 'The public mirror failed')), 5000)
    : null;
  // SIGTERM: stop accepting, finish the requests in flight and the background work under way
  // (the mail worker's messages in flight, a sweep, a retention batch), flush the journal,
  // exit. No closing snapshot (MetaStore.close): the journal is the truth, so this takes the
  // same time whatever the size of the state.
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: finishing requests in flight`);
    const force = setTimeout(() => {
      log.warn('Requests still open after 4 s; closing anyway.');
      server.closeAllConnections();
    }, 4000);
    force.unref();
    server.closeIdleConnections();
    clearInterval(sweep);
    clearInterval(delivery);
    clearInterval(pruning);
    if (mirroring) clearInterval(mirroring);
    admin.close();
    await inbound.close().catch((err) => log.error({ err }, 'The reply mail listener did not close cleanly'));
    // A keep-alive connection whose request was under way at the signal goes idle once it is
    // answered: close such connections as they come to rest, not when the 4 s are up.
    const resting = setInterval(() => server.closeIdleConnections(), 50);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    clearInterval(resting);
    // Messages in flight finish and are recorded; a mail server that hangs is not waited for
    // (its message is sent again, with the same Message-ID, after the restart).
    await Promise.race([mailer.stop(), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    transport.close();
    await sweeping;
    await pruningNow?.catch(() => {});
    await readingMail;
    await renderer.pool.close();
    await data.close();
    await fsp.rm(socket, { force: true });
    process.exit(0);
  };
  process.off('SIGTERM', early);
  process.off('SIGINT', early);
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  if (earlySignal) void stop(earlySignal);
}

/** Resolve once the server listens on `port`; reject with the listen error (EADDRINUSE, EACCES…). */
function listen(server: http.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (e: Error) => reject(e);
    server.once('error', failed);
    server.listen(port, () => {
      server.off('error', failed);
      resolve();
    });
  });
}

/** The listen error in words an operator can act on. */
function listenFailure(e: unknown, port: number): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'EADDRINUSE')
    return `port ${port} is already in use (EADDRINUSE). Stop what listens there or set PORT to a free port.`;
  if (code === 'EACCES')
    return `this user may not listen on port ${port} (EACCES). Use a port above 1023 or a reverse proxy.`;
  return `cannot listen on port ${port}: ${(e as Error)?.message ?? String(e)}`;
}

void main();
