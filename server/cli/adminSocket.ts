import * as crypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Ctx } from '../services/context.js';
import { errorBody, runAdminCommand, type AdminCommand, type AdminDeps } from './commands.js';

/** Where the server listens for admin commands: in DATA_DIR, or in the temp folder when that path is too long for a socket. */
export function socketPathFor(dataDir: string): string {
  const p = path.join(dataDir, 'admin.sock');
  if (p.length < 100) return p;
  return path.join(
    os.tmpdir(),
    `ratify-${crypto.createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}.sock`,
  );
}

/**
 * While the server runs it owns DATA_DIR, so the admin CLI sends its commands here instead of
 * writing beside it. A Unix socket readable only by the server's own OS user: whoever may read
 * DATA_DIR may already do everything the CLI does. Answers are JSON lines: progress, then the
 * result or the error.
 */
export async function listenAdminSocket(ctx: Ctx, socketPath: string, deps: AdminDeps = {}): Promise<http.Server> {
  await fsp.rm(socketPath, { force: true });
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/command') {
      res.writeHead(404).end();
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const send = (o: unknown) => res.write(`${JSON.stringify(o)}\n`);
      try {
        const cmd = JSON.parse(body) as AdminCommand;
        const result = await runAdminCommand(ctx, cmd, (message) => send({ progress: message }), deps);
        send({ result });
      } catch (e) {
        send(errorBody(e));
      }
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  await fsp.chmod(socketPath, 0o600);
  return server;
}

/** Send a command to the running server; progress lines go to `progress`. */
export function sendAdminCommand(
  socketPath: string,
  cmd: AdminCommand,
  progress: (m: string) => void,
): Promise<{ result?: unknown; error?: { code: string; message: string } }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath, path: '/command', method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        let buf = '';
        let last: { result?: unknown; error?: { code: string; message: string } } = {};
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          buf += c;
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = JSON.parse(buf.slice(0, i));
            buf = buf.slice(i + 1);
            if ('progress' in line) progress(line.progress);
            else last = line;
          }
        });
        res.on('end', () => resolve(last));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(cmd));
  });
}
