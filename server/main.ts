import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { createApp } from './app.js';
import { WorkPool } from './http/offload/pool.js';
import { Renderer } from './http/render/renderer.js';
import { loadConfig } from './config.js';
import { openData } from './bootstrap.js';
import { listenAdminSocket, socketPathFor } from './cli/adminSocket.js';
import { sweepRounds } from './services/rounds/rounds.js';
import { MailWorker } from './services/notifications/deliver.js';
import { composeDigests } from './services/notifications/digest.js';
import { outboxTransport, smtpTransport } from './store/mail/transport.js';

/** Read config, open the stores (seeding a fresh data folder), listen, close cleanly on SIGTERM. */
async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
  await fsp.mkdir(config.dataDir, { recursive: true });
  let data;
  try {
    data = await openData(config, 'server');
  } catch (e) {
    console.error(`Ratify cannot start: ${(e as Error).message}`);
    process.exit(1);
  }
  const socket = socketPathFor(config.dataDir);
  const admin = await listenAdminSocket(data.ctx, socket);
  await data.setSocket(socket);
  const renderer = new Renderer(new WorkPool(), {}, (msg, err) => console.error(msg, err));
  const app = createApp({ ctx: data.ctx, config, sessions: data.sessions, renderer });
  const server = app.listen(config.port, () => {
    console.log(`Ratify serves ${config.baseUrl} (port ${config.port}, data in ${path.relative(process.cwd(), config.dataDir) || '.'})`);
  });
  // Rounds close by themselves within about a second of their deadline: a periodic sweep, not
  // one timer per deadline (timers longer than 24.8 days fire at once).
  // Mail goes out from a durable queue: SMTP when SMTP_URL is set, else .eml files in DATA_DIR/outbox.
  const transport = config.smtpUrl ? smtpTransport(config.smtpUrl) : outboxTransport(path.join(config.dataDir, 'outbox'));
  const mailer = new MailWorker(data.ctx, transport, config.mailFrom);
  let sweeping = false;
  const sweep = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    sweepRounds(data.ctx)
      .then(() => composeDigests(data.ctx))
      .catch((e) => console.error('The periodic sweep failed', e))
      .finally(() => (sweeping = false));
  }, 1000);
  // Delivery on its own beat: a slow mail server never delays closing rounds.
  const delivery = setInterval(() => void mailer.tick().catch((e) => console.error('Mail delivery failed', e)), 1000);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: finishing requests in flight`);
    const force = setTimeout(() => {
      console.error('Requests still open after 4 s; closing anyway.');
      server.closeAllConnections();
    }, 4000);
    force.unref();
    server.closeIdleConnections();
    clearInterval(sweep);
    clearInterval(delivery);
    admin.close();
    transport.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await renderer.pool.close();
    await data.close();
    await fsp.rm(socket, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

void main();
