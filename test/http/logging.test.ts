/**
 * Logging and the audit trail: one structured (JSON) log line per request with its request id,
 * method, URL, status and time; a line for every refusal (403 and CSRF at "warn", 404 at
 * "info") with the actor's id and the error code; no credential in any log line; the audit
 * log records the IP address and user agent of sign-in events, and `cli` for admin commands.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import type { Express } from 'express';
import { createApp } from '../../server/app.js';
import { runAdminCommand } from '../../server/cli/commands.js';
import express from 'express';
import * as http from 'node:http';
import * as v8 from 'node:v8';
import type { AddressInfo } from 'node:net';
import { createAppServer } from '../../server/http/appServer.js';
import { createLogger, requestLogger } from '../../server/http/log.js';
import { openTestData, projectRoot } from '../helpers/data.js';
import { makeUser, signedIn } from '../helpers/auth.js';
import { person, type Person } from '../helpers/people.js';

describe('http/logging', () => {
  type Line = Record<string, unknown> & { level: number; msg: string };

  let t: Awaited<ReturnType<typeof openTestData>>;
  let app: Express;
  const lines: Line[] = [];
  const raw: string[] = [];
  let member: Person;
  let sec: Person;
  const PASSWORD = 'a long sign-in passphrase';

  beforeAll(async () => {
    t = await openTestData();
    const log = createLogger('debug', {
      write: (s: string) => {
        raw.push(s);
        lines.push(JSON.parse(s) as Line);
      },
    });
    app = createApp({
      ctx: t.ctx,
      config: { baseUrl: 'http://ratify.test', writeLimit: 0 },
      sessions: t.sessions,
      log,
    });
    member = await person(t.ctx, { email: 'mia@example.org', name: 'Mia Member' });
    sec = await person(t.ctx, { email: 'sam@example.org', name: 'Sam Secretariat', roles: ['secretariat'] });
    await makeUser(t.ctx, {
      email: 'ann@example.org',
      name: 'Ann Signin',
      roles: ['member'],
      groups: [],
      password: PASSWORD,
    });
  });
  afterAll(async () => t.cleanup());

  /** The request-completed line of the request with id `id`. */
  const requestLine = (id: string) =>
    lines.find((l) => (l.req as { id?: string } | undefined)?.id === id && 'responseTime' in l);
  const refusals = (id: string) =>
    lines.filter((l) => (l.req as { id?: string } | undefined)?.id === id && 'refusal' in l);

  describe('the request line, on its own', () => {
    const own: Line[] = [];
    const small = express();
    small.use(requestLogger(createLogger('info', { write: (s: string) => void own.push(JSON.parse(s) as Line) })));
    small.get('/ok', (req, res) => {
      req.log?.warn({ note: 1 }, 'from the route');
      res.send('ok');
    });
    small.get('/fails', (_req, res) => void res.status(503).send('down'));
    small.get('/cut', (req, res) => {
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 5);
    });
    const byId = (id: string) => own.filter((l) => (l.req as { id?: string }).id === id);

    test('completed at info, failed at error with the error, cut off as aborted; req.log names the request', async () => {
      const ok = await request(small).get('/ok?token=secret').expect(200);
      const okLines = byId(ok.headers['x-request-id']);
      expect(okLines).toEqual([
        expect.objectContaining({
          level: 40,
          msg: 'from the route',
          note: 1,
          req: expect.objectContaining({ method: 'GET' }),
        }),
        expect.objectContaining({
          level: 30,
          msg: 'request completed',
          req: { id: ok.headers['x-request-id'], method: 'GET', url: '/ok?token=[redacted]' },
          res: { statusCode: 200 },
          responseTime: expect.any(Number),
          actor: null,
        }),
      ]);
      const failed = await request(small).get('/fails').expect(503);
      expect(byId(failed.headers['x-request-id'])).toEqual([
        expect.objectContaining({
          level: 50,
          msg: 'request errored',
          res: { statusCode: 503 },
          err: expect.objectContaining({ message: 'failed with status code 503' }),
        }),
      ]);
      const server = small.listen(0);
      try {
        const port = (server.address() as { port: number }).port;
        const id = 'cut-1';
        await new Promise<void>((resolve) => {
          http
            .get({ port, path: '/cut', headers: { 'X-Request-Id': id } }, (res) => {
              res.on('data', () => {});
              res.on('error', () => resolve());
              res.on('close', () => resolve());
            })
            .on('error', () => resolve());
        });
        for (let i = 0; i < 50 && !byId(id).length; i++) await new Promise((r) => setTimeout(r, 10));
        expect(byId(id)).toEqual([expect.objectContaining({ level: 30, msg: 'request aborted' })]);
      } finally {
        server.close();
      }
    });

    test('each request has its own req.log, and keeps its properties in a hidden class', async () => {
      // V8's own check, without starting node with the flag: functions compiled after this line may use it.
      v8.setFlagsFromString('--allow-natives-syntax');
      const fast = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;
      const mine: Line[] = [];
      const app3 = express();
      app3.use(requestLogger(createLogger('info', { write: (s: string) => void mine.push(JSON.parse(s) as Line) })));
      const seen: boolean[] = [];
      app3.get('/n/:n', (req, res) => {
        req.log?.info({ n: req.params.n }, 'from the route');
        req.log?.info({ n: req.params.n }, 'again');
        seen.push(fast(req));
        res.send('ok');
      });
      // As the server makes them (http/appServer.ts), one after another on one connection.
      const server = createAppServer(app3);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const ids: string[] = [];
      try {
        const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        for (const n of [1, 2, 3]) {
          const res = await fetch(`${base}/n/${n}`);
          expect(await res.text()).toBe('ok');
          ids.push(res.headers.get('x-request-id')!);
        }
      } finally {
        await new Promise((r) => server.close(r));
      }
      expect(seen).toEqual([true, true, true]);
      for (const [i, id] of ids.entries())
        expect(mine.filter((l) => l.msg !== 'request completed' && (l.req as { id?: string }).id === id)).toEqual([
          expect.objectContaining({ msg: 'from the route', n: String(i + 1) }),
          expect.objectContaining({ msg: 'again', n: String(i + 1) }),
        ]);
    });

    test('below its level no line is made', async () => {
      const quiet: string[] = [];
      const app2 = express();
      app2.use(requestLogger(createLogger('warn', { write: (s: string) => void quiet.push(s) })));
      app2.get('/ok', (_req, res) => void res.send('ok'));
      app2.get('/fails', (_req, res) => void res.status(500).send('no'));
      await request(app2).get('/ok').expect(200);
      expect(quiet).toEqual([]);
      await request(app2).get('/fails').expect(500);
      expect(quiet.map((l) => (JSON.parse(l) as Line).msg)).toEqual(['request errored']);
    });
  });

  describe('request log', () => {
    test('every request has a line with its id, method, url, status and time; the id is echoed', async () => {
      const res = await request(app).get('/').set('X-Request-Id', 'trace-42.a').expect(200);
      expect(res.headers['x-request-id']).toBe('trace-42.a');
      expect(requestLine('trace-42.a')).toMatchObject({
        level: 30,
        req: { id: 'trace-42.a', method: 'GET', url: '/' },
        res: { statusCode: 200 },
        responseTime: expect.any(Number),
        actor: null,
      });
    });

    test('without a usable X-Request-Id a new id is made and set on the response', async () => {
      const a = await request(app).get('/healthz').expect(200);
      const b = await request(app).get('/healthz').set('X-Request-Id', 'bad id {"forged":1}').expect(200);
      for (const res of [a, b]) {
        expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
        expect(requestLine(res.headers['x-request-id'])).toMatchObject({ res: { statusCode: 200 } });
      }
      expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
    });

    test('the line of an API request names the actor', async () => {
      const res = await request(app).get('/api/v1/me').set(member.auth).expect(200);
      expect(requestLine(res.headers['x-request-id'])).toMatchObject({ actor: member.id });
    });
  });

  describe('refusals are logged with the actor and the code', () => {
    test('403 of a signed-in member at warn', async () => {
      const res = await request(app).get('/api/v1/audit').set(member.auth).expect(403);
      expect(refusals(res.headers['x-request-id'])).toEqual([
        expect.objectContaining({ level: 40, actor: member.id, refusal: { status: 403, code: res.body.error.code } }),
      ]);
    });

    test('404 of a signed-in member at info', async () => {
      const res = await request(app).get('/api/v1/proposals/99999').set(member.auth).expect(404);
      expect(refusals(res.headers['x-request-id'])).toEqual([
        expect.objectContaining({ level: 30, actor: member.id, refusal: { status: 404, code: res.body.error.code } }),
      ]);
    });

    test('401 of a bad token at warn', async () => {
      const res = await request(app).get('/api/v1/me').set('Authorization', 'Bearer rat_not-a-token').expect(401);
      expect(refusals(res.headers['x-request-id'])).toEqual([
        expect.objectContaining({ level: 40, refusal: { status: 401, code: 'invalid_token' } }),
      ]);
    });

    test('a CSRF refusal of a signed-in user at warn', async () => {
      const agent = await signedIn(app, 'ann@example.org', PASSWORD);
      const res = await agent.post('/logout').type('form').send({ _csrf: 'forged' }).expect(403);
      const id = res.headers['x-request-id'];
      const ann = t.ctx.meta.all('users').find((u) => u.email === 'ann@example.org')!;
      expect(refusals(id)).toEqual([
        expect.objectContaining({ level: 40, actor: ann.id, refusal: { status: 403, code: 'invalid_csrf' } }),
      ]);
    });
  });

  describe('no credential reaches the log', () => {
    test('bearer tokens, cookies, passwords and reset tokens in URLs are not written', async () => {
      await request(app).get('/api/v1/me').set(member.auth).expect(200);
      const agent = await signedIn(app, 'ann@example.org', PASSWORD);
      await agent.get('/account').expect(200);
      await request(app).get('/password/set?token=reset-secret-value&x=1');
      await request(app)
        .post('/api/v1/tokens')
        .send({ email: 'ann@example.org', password: 'wrong but secret words' })
        .expect(401);
      const all = raw.join('');
      expect(all).not.toContain(member.token);
      expect(all).not.toContain(PASSWORD);
      expect(all).not.toContain('wrong but secret words');
      expect(all).not.toContain('reset-secret-value');
      expect(all).not.toMatch(/ratify\.sid=/);
      expect(all).not.toMatch(/"cookie"|"authorization"/i);
      expect(all).toContain('/password/set?token=[redacted]&x=1');
    });
  });

  describe('the audit log', () => {
    const UA = 'AuditAgent/1.0 (test)';
    test('sign-in events carry the IP address and user agent, in the API and on /admin/audit', async () => {
      await request(app)
        .post('/api/v1/tokens')
        .set('User-Agent', UA)
        .set('X-Forwarded-For', '203.0.113.9')
        .send({ email: 'ann@example.org', password: 'wrong' })
        .expect(401);
      await request(app)
        .post('/api/v1/tokens')
        .set('User-Agent', UA)
        .set('X-Forwarded-For', '203.0.113.9')
        .send({ email: 'ann@example.org', password: PASSWORD })
        .expect(201);
      const agent = request.agent(app);
      await signedIn(app, 'ann@example.org', PASSWORD, { agent, ip: '198.51.100.7' });
      const audit = (await request(app).get('/api/v1/audit?limit=10').set(sec.auth).expect(200)).body as {
        action: string;
        meta?: { ip: string; ua: string };
      }[];
      expect(audit.find((e) => e.action === 'login.failed')?.meta).toEqual({ ip: '203.0.113.9', ua: UA });
      expect(audit.find((e) => e.action === 'token.created')?.meta).toEqual({ ip: '203.0.113.9', ua: UA });
      expect(audit.find((e) => e.action === 'login')?.meta).toEqual({ ip: '198.51.100.7', ua: expect.any(String) });
      const sam = await makeUser(t.ctx, {
        email: 'sec2@example.org',
        name: 'Sec Two',
        roles: ['secretariat'],
        groups: [],
        password: PASSWORD,
      });
      const secAgent = await signedIn(app, sam.email, PASSWORD);
      const page = await secAgent.get('/admin/audit').expect(200);
      expect(page.text).toContain('203.0.113.9');
      expect(page.text).toContain('AuditAgent/1.0 (test)');
    });

    test('admin commands are recorded with `cli` as the actor', async () => {
      await runAdminCommand(t.ctx, {
        name: 'group add',
        args: { slug: 'wg-cli', name: 'Made by the CLI' },
        cwd: projectRoot,
      });
      await runAdminCommand(t.ctx, { name: 'token create', args: { email: 'mia@example.org' }, cwd: projectRoot });
      const audit = (await request(app).get('/api/v1/audit?limit=5').set(sec.auth).expect(200)).body as {
        actor: string | null;
        action: string;
        subject: string;
      }[];
      expect(audit.slice(0, 2)).toEqual([
        expect.objectContaining({ actor: 'cli', action: 'token.created', subject: 'user/mia@example.org' }),
        expect.objectContaining({ actor: 'cli', action: 'group.created', subject: 'group/wg-cli' }),
      ]);
    });
  });
});
