/**
 * The real admin CLI (dist/admin.js, what `npm run admin` runs) as a child process
 * on a temporary DATA_DIR: help, the user and token commands, JSON out / JSON errors with a
 * non-zero exit, passwords from stdin, no data folder made but by init, going through a running
 * server's admin socket, and stale or live locks.
 */
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import request from 'supertest';
import { openData } from '../../server/bootstrap.js';
import { checkCredentials } from '../../server/services/auth/authenticate.js';
import { LoginThrottle } from '../../server/services/auth/throttle.js';
import { openTestApp, projectRoot, tempDir, TEST_HASH_ENV } from '../helpers/data.js';
import { bin, childEnv } from '../helpers/bin.js';
import { freePort } from '../helpers/random.js';
import { fsckProblems } from '../store/gitHelpers.js';

// scrypt (~300 ms a hash, two at a time) and child processes are slow on a busy machine.
jest.setTimeout(120_000);

let dataDir: string;
let work: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI with DATA_DIR, cwd the project root, optional stdin. */
function cli(args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const [node, argv] = bin.admin;
    const child = spawn(node, [...argv, ...args], {
      cwd: projectRoot,
      env: childEnv({ DATA_DIR: dataDir, ...TEST_HASH_ENV, ...opts.env }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.stdin ?? '');
  });
}

/** The JSON error a failed command printed on stderr. */
function errorOf(r: Run): string {
  expect(r.code).not.toBe(0);
  expect(r.stdout).toBe('');
  const line = r.stderr.trim().split('\n').pop()!;
  const body = JSON.parse(line) as { error: { code: string; message: string } };
  expect(typeof body.error.message).toBe('string');
  return body.error.code;
}

const ok = (r: Run) => {
  expect([r.code, r.stderr]).toEqual([0, expect.any(String)]);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
};

/** The PID of a process that has already exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid!;
  await new Promise((r) => child.on('exit', r));
  return pid;
}

const SEC_PW = 'secretariat from stdin';
const MEM_PW = 'member password crlf';
let server: ChildProcess | null = null;

beforeAll(async () => {
  dataDir = await tempDir('ratify-cli-');
  work = await tempDir('ratify-cli-work-');
});

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server!.once('exit', r));
    server.kill('SIGKILL');
    await exited;
  }
  await fsp.rm(dataDir, { recursive: true, force: true });
  await fsp.rm(work, { recursive: true, force: true });
});

describe('no silent data folders: only init makes one', () => {
  /** The error a refused command printed: its code and message. */
  const refusal = (r: Run) => {
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    return (JSON.parse(r.stderr.trim().split('\n').pop()!) as { error: { code: string; message: string } }).error;
  };

  test('a missing DATA_DIR: refused, naming the absolute path and init; nothing is created', async () => {
    const nowhere = path.join(work, 'nowhere');
    const e = refusal(await cli(['user', 'list'], { env: { DATA_DIR: nowhere } }));
    expect(e.code).toBe('no_data_folder');
    expect(e.message).toContain(nowhere);
    expect(e.message).toContain(`DATA_DIR=${nowhere} npm run admin -- init`);
    await expect(fsp.stat(nowhere)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('a relative DATA_DIR is named as the absolute path it resolves to', async () => {
    const relative = path.relative(projectRoot, path.join(work, 'relative-nowhere'));
    expect(path.isAbsolute(relative)).toBe(false);
    const e = refusal(await cli(['user', 'list'], { env: { DATA_DIR: relative } }));
    expect(e.message).toContain(path.join(work, 'relative-nowhere'));
    expect(e.message).toContain(`DATA_DIR=${relative}`);
    await expect(fsp.stat(path.join(work, 'relative-nowhere'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('an empty DATA_DIR: refused (a write command too), and it stays empty', async () => {
    const e = refusal(
      await cli(['user', 'add', '--email', 'early@example.org', '--name', 'Too Early', '--password-stdin'], {
        stdin: 'a fine password\n',
      }),
    );
    expect(e.code).toBe('no_data_folder');
    expect(e.message).toContain(dataDir);
    expect(await fsp.readdir(dataDir)).toEqual([]);
    expect(refusal(await cli(['backup', '--out', path.join(work, 'early.tar.gz')])).code).toBe('no_data_folder');
    expect(await fsp.readdir(dataDir)).toEqual([]);
  });

  test('a folder holding something else is no data folder: refused, and init refuses it too', async () => {
    const other = path.join(work, 'other');
    await fsp.mkdir(other);
    await fsp.writeFile(path.join(other, 'notes.txt'), 'mine\n');
    for (const args of [['user', 'list'], ['init']]) {
      const e = refusal(await cli(args, { env: { DATA_DIR: other } }));
      expect(e.code).toBe('not_a_data_folder');
      expect(e.message).toContain(other);
    }
    expect(await fsp.readdir(other)).toEqual(['notes.txt']);
  });

  test('init makes and seeds the data folder, and says how to make the first account; again: nothing new', async () => {
    const made = ok(await cli(['init']));
    expect(made).toEqual({
      dataDir,
      created: true,
      documents: expect.arrayContaining(['terms-of-reference']),
      accounts: 0,
      next: `echo 'a long passphrase' | DATA_DIR=${dataDir} npm run admin -- user add --email you@example.org --name 'Your Name' --role secretariat --password-stdin`,
    });
    expect((await fsp.stat(dataDir)).mode & 0o777).toBe(0o700);
    const again = ok(await cli(['init']));
    expect(again).toMatchObject({ dataDir, created: false, documents: made.documents });
    // The seeded groups are there for the commands that follow.
    expect((ok(await cli(['stakeholder', 'list'])) as unknown[]).length).toBeGreaterThan(0);
  });

  test('init on an absent folder creates it (0700)', async () => {
    const fresh = path.join(work, 'fresh', 'data');
    expect(ok(await cli(['init'], { env: { DATA_DIR: fresh } }))).toMatchObject({ dataDir: fresh, created: true });
    expect((await fsp.stat(fresh)).mode & 0o777).toBe(0o700);
    expect((ok(await cli(['user', 'list'], { env: { DATA_DIR: fresh } })) as unknown[]).length).toBe(0);
  });
});

describe('the admin CLI on a data folder it owns', () => {
  test('--help lists the commands', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    for (const c of ['init', 'user', 'group', 'stakeholder', 'document', 'token', 'backup', 'gc', 'export', 'restore'])
      expect(top.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
    const user = await cli(['user', '--help']);
    expect(user.code).toBe(0);
    for (const c of ['add', 'set', 'import', 'list', 'disable'])
      expect(user.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
    const token = await cli(['token', '--help']);
    expect(token.stdout).toMatch(/^\s+create\b/m);
  }, 90_000);

  test('user add --password-stdin: JSON with the user, no password or hash anywhere in the output', async () => {
    const r = await cli(
      ['user', 'add', '--email', 'Sec@Example.org', '--name', 'Sam Sec', '--role', 'secretariat', '--password-stdin'],
      { stdin: `${SEC_PW}\n` },
    );
    const u = ok(r);
    expect(u).toMatchObject({
      email: 'sec@example.org',
      name: 'Sam Sec',
      roles: ['secretariat'],
      groups: [],
      disabled: false,
      hasPassword: true,
    });
    for (const out of [r.stdout, r.stderr]) {
      expect(out).not.toContain(SEC_PW);
      expect(out).not.toContain('scrypt$');
      expect(out).not.toMatch(/passwordHash|"hash"|"secret"|recovery/);
    }
  }, 90_000);

  test('user add with several roles and groups; a CRLF line end is stripped too', async () => {
    const u = ok(
      await cli(
        [
          'user',
          'add',
          '--email',
          'mem@example.org',
          '--name',
          'Mia Member',
          '--role',
          'member',
          '--role',
          'chair',
          '--group',
          'wg-strategy',
          '--group',
          'mag',
          '--password-stdin',
        ],
        { stdin: `${MEM_PW}\r\n` },
      ),
    );
    expect(u).toMatchObject({ email: 'mem@example.org', roles: ['chair', 'member'], groups: ['mag', 'wg-strategy'] });
  }, 90_000);

  test('user list: every account, no hashes', async () => {
    const r = await cli(['user', 'list']);
    const list = ok(r) as { email: string }[];
    expect(list.map((u) => u.email)).toEqual(['mem@example.org', 'sec@example.org']); // by name: Mia, Sam
    expect(r.stdout).not.toContain('scrypt$');
  }, 90_000);

  test('user set replaces roles and groups', async () => {
    const u = ok(await cli(['user', 'set', '--email', 'MEM@example.org', '--role', 'member', '--group', 'wg-hybrid']));
    expect(u).toMatchObject({ roles: ['member'], groups: ['wg-hybrid'] });
  }, 90_000);

  test('user import --csv', async () => {
    const file = path.join(work, 'people.csv');
    await fsp.writeFile(
      file,
      'email,name,roles,groups\nimp1@example.org,Imp One,member;chair,wg-strategy\nimp2@example.org,Imp Two,,\n',
    );
    const users = ok(await cli(['user', 'import', '--csv', file])) as {
      email: string;
      roles: string[];
      hasPassword: boolean;
    }[];
    expect(users.map((u) => [u.email, u.roles, u.hasPassword])).toEqual([
      ['imp1@example.org', ['chair', 'member'], false],
      ['imp2@example.org', ['member'], false],
    ]);
  }, 90_000);

  test('user disable', async () => {
    expect(ok(await cli(['user', 'disable', '--email', 'imp2@example.org']))).toMatchObject({
      email: 'imp2@example.org',
      disabled: true,
    });
  }, 90_000);

  test('the compiled CLI refuses a common password: it reads the list the build wrote beside it', async () => {
    expect(fs.existsSync(path.join(projectRoot, 'dist', 'common-passwords.txt'))).toBe(true);
    await cli(['init']); // (made already when the story runs in order; this test also runs alone)
    for (const pw of ['password123', 'Iloveyou12345']) {
      const r = await cli(['user', 'add', '--email', 'common@example.org', '--name', 'Common', '--password-stdin'], {
        stdin: `${pw}\n`,
      });
      expect(errorOf(r)).toBe('password_too_common');
    }
  }, 90_000);

  test('errors: JSON {error:{code}} on stderr, non-zero exit, nothing on stdout', async () => {
    const csv = path.join(work, 'bad.csv');
    await fsp.writeFile(csv, 'email,name,roles,groups\nfine@example.org,Fine,member,\nnot-an-email,Bad,member,\n');
    const cases: [string[], string?][] = [
      [['user', 'add', '--email', 'SEC@example.org', '--name', 'Again', '--password-stdin'], 'some other password\n'],
      [['user', 'add', '--email', 'short@example.org', '--name', 'Short', '--password-stdin'], 'short\n'],
      [['user', 'set', '--email', 'mem@example.org', '--role', 'king']],
      [['user', 'set', '--email', 'mem@example.org', '--group', 'wg-nowhere']],
      [['user', 'disable', '--email', 'nobody@example.org']],
      [['token', 'create', '--email', 'nobody@example.org']],
      [['user', 'import', '--csv', csv]],
      [['user', 'import', '--csv', path.join(work, 'missing.csv')]],
    ];
    const codes: string[] = [];
    for (const [args, stdin] of cases) codes.push(errorOf(await cli(args, { stdin })));
    expect(codes).toEqual([
      'user_exists',
      'password_too_short',
      'invalid_role',
      'group_not_found',
      'user_not_found',
      'user_not_found',
      'invalid_email',
      'unreadable_file',
    ]);
    // The failed import created nobody.
    const list = ok(await cli(['user', 'list'])) as { email: string }[];
    expect(list.map((u) => u.email)).not.toContain('fine@example.org');
  }, 180_000);

  test('a missing required option or an unknown command: non-zero exit', async () => {
    const a = await cli(['user', 'add', '--name', 'No Email', '--password-stdin'], { stdin: 'whatever password\n' });
    expect(a.code).not.toBe(0);
    const b = await cli(['frobnicate']);
    expect(b.code).not.toBe(0);
  }, 90_000);

  test('token create for a disabled account is refused', async () => {
    expect(errorOf(await cli(['token', 'create', '--email', 'imp2@example.org']))).toBe('user_disabled');
  }, 90_000);

  test('token create → {token} that works against the API; the stdin password works without its newline', async () => {
    const r = await cli(['token', 'create', '--email', 'sec@example.org']);
    const { token } = ok(r) as { token: string };
    expect(Object.keys(ok(r))).toEqual(['token']);
    expect(token).toMatch(/^rat_/);
    const t = await openTestApp({ dataDir, seed: false });
    try {
      const me = await request(t.app).get('/api/v1/me').set('Authorization', `Bearer ${token}`);
      expect(me.status).toBe(200);
      expect(me.body).toEqual({ email: 'sec@example.org', name: 'Sam Sec', roles: ['secretariat'], groups: [] });
      const throttle = new LoginThrottle(t.ctx.clock);
      const u = await checkCredentials(t.ctx, throttle, {
        email: 'sec@example.org',
        password: SEC_PW,
        ip: '127.0.0.1',
        via: 'api',
      });
      expect(u.email).toBe('sec@example.org');
      await expect(
        checkCredentials(t.ctx, throttle, {
          email: 'sec@example.org',
          password: `${SEC_PW}\n`,
          ip: '127.0.0.1',
          via: 'api',
        }),
      ).rejects.toMatchObject({ code: 'bad_credentials' });
      await expect(
        checkCredentials(t.ctx, throttle, { email: 'mem@example.org', password: MEM_PW, ip: '127.0.0.1', via: 'api' }),
      ).resolves.toMatchObject({ email: 'mem@example.org' });
      // The CLI's token is audited.
      expect(
        (await t.ctx.meta.auditLog(50)).some(
          (e) => e.action === 'token.created' && e.subject === 'user/sec@example.org',
        ),
      ).toBe(true);
    } finally {
      await t.close();
    }
  }, 180_000);

  test('stakeholder list: the seeded groups, by name; stakeholder add; refusals by code', async () => {
    const seeded = ok(await cli(['stakeholder', 'list'])) as { slug: string; name: string }[];
    expect(seeded.map((s) => s.slug)).toEqual(['civil-society', 'government', 'private-sector', 'technical']);
    const added = ok(await cli(['stakeholder', 'add', '--slug', 'youth', '--name', 'Youth']));
    expect(added).toMatchObject({ slug: 'youth', name: 'Youth' });
    const codes: string[] = [];
    for (const args of [
      ['stakeholder', 'add', '--slug', 'youth', '--name', 'Youth again'],
      ['stakeholder', 'add', '--slug', 'Not A Slug', '--name', 'Bad'],
    ]) {
      codes.push(errorOf(await cli(args)));
    }
    expect(codes).toEqual(['stakeholder_exists', 'invalid_slug']);
    const after = ok(await cli(['stakeholder', 'list'])) as { slug: string; name: string }[];
    expect(after.map((s) => s.slug)).toEqual(['civil-society', 'government', 'private-sector', 'technical', 'youth']);
    expect(after.find((s) => s.slug === 'youth')!.name).toBe('Youth');
  }, 180_000);

  test('user set --stakeholder by slug or name; none clears it; an unknown one changes nothing', async () => {
    expect(
      ok(await cli(['user', 'set', '--email', 'mem@example.org', '--stakeholder', 'civil-society'])),
    ).toMatchObject({ stakeholder: 'civil-society', roles: ['member'] });
    expect(
      ok(await cli(['user', 'set', '--email', 'mem@example.org', '--stakeholder', 'Private Sector'])),
    ).toMatchObject({ stakeholder: 'private-sector' });
    expect(
      errorOf(
        await cli(['user', 'set', '--email', 'mem@example.org', '--name', 'Renamed', '--stakeholder', 'atlantis']),
      ),
    ).toBe('unknown_stakeholder');
    const list = ok(await cli(['user', 'list'])) as { email: string; name: string; stakeholder: string | null }[];
    expect(list.find((u) => u.email === 'mem@example.org')).toMatchObject({
      name: 'Mia Member',
      stakeholder: 'private-sector',
    });
    expect(ok(await cli(['user', 'set', '--email', 'mem@example.org', '--stakeholder', 'none']))).toMatchObject({
      stakeholder: null,
    });
  }, 180_000);

  test('user add --stakeholder', async () => {
    const u = ok(
      await cli(
        [
          'user',
          'add',
          '--email',
          'tech@example.org',
          '--name',
          'Tia Tech',
          '--stakeholder',
          'technical',
          '--password-stdin',
        ],
        { stdin: 'tech password here\n' },
      ),
    );
    expect(u).toMatchObject({ email: 'tech@example.org', stakeholder: 'technical' });
    expect(
      errorOf(
        await cli(
          [
            'user',
            'add',
            '--email',
            'nowhere@example.org',
            '--name',
            'No Where',
            '--stakeholder',
            'atlantis',
            '--password-stdin',
          ],
          { stdin: 'nowhere password\n' },
        ),
      ),
    ).toBe('unknown_stakeholder');
    const list = ok(await cli(['user', 'list'])) as { email: string }[];
    expect(list.map((u) => u.email)).not.toContain('nowhere@example.org');
  }, 180_000);
});

describe('gc', () => {
  test('packs every object into one pack: nothing loose, stock git fscks it clean; again, nothing to do', async () => {
    const r = await cli(['gc']);
    const report = ok(r);
    expect(report.before.loose).toBeGreaterThan(0);
    expect(report).toMatchObject({
      full: true,
      pack: expect.stringMatching(/^pack-[0-9a-f]{40}\.pack$/),
      objects: report.before.loose,
      looseRemoved: report.before.loose,
      after: { loose: 0, looseBytes: 0, packs: 1 },
    });
    expect(r.stderr).toMatch(/^packed \d+ objects in \d+ ms; writes waited at most [\d.]+ ms at a time$/m);
    expect(await fsckProblems(path.join(dataDir, 'git'))).toEqual([]);
    expect(ok(await cli(['gc']))).toMatchObject({ pack: null, after: { loose: 0, packs: 1 } });
  }, 90_000);
});

describe('export', () => {
  test('the compiled CLI writes the static site (the web app loaded for this command alone)', async () => {
    const out = path.join(path.dirname(dataDir), `export-${process.pid}`);
    const report = ok(await cli(['export', '--out', out, '--base-url', 'https://record.example.org']));
    expect(report.pages).toBeGreaterThan(3);
    expect(fs.existsSync(path.join(out, 'index.html'))).toBe(true);
    expect(fs.existsSync(path.join(out, 'git', 'public.git', 'HEAD'))).toBe(true);
    expect(errorOf(await cli(['export', '--out', out, '--base-url', 'ftp://x']))).toBe('invalid_base_url');
    await fsp.rm(out, { recursive: true, force: true });
  }, 60_000);
});

describe('locks', () => {
  const lockFile = () => path.join(dataDir, 'ratify.lock');

  test('a stale lock naming a dead PID does not block the CLI', async () => {
    const pid = await deadPid();
    await fsp.writeFile(
      lockFile(),
      JSON.stringify({ pid, role: 'server', socket: path.join(work, 'gone.sock'), since: new Date().toISOString() }),
    );
    const list = ok(await cli(['user', 'list'])) as unknown[];
    expect(list.length).toBeGreaterThan(0);
    await expect(fsp.stat(lockFile())).rejects.toMatchObject({ code: 'ENOENT' });
  }, 90_000);

  test('a live CLI holder: data_dir_busy, and nothing is written', async () => {
    // This process holds the data folder, as an admin command would.
    const held = await openData({ dataDir, documentsDir: path.join(projectRoot, 'documents') }, 'cli', { seed: false });
    try {
      expect(
        errorOf(
          await cli(['user', 'add', '--email', 'busy@example.org', '--name', 'Busy', '--password-stdin'], {
            stdin: 'a fine password\n',
          }),
        ),
      ).toBe('data_dir_busy');
    } finally {
      await held.close();
    }
    const list = ok(await cli(['user', 'list'])) as { email: string }[];
    expect(list.map((u) => u.email)).not.toContain('busy@example.org');
  }, 90_000);

  test('a live server that does not answer on its socket: server_unreachable, and the CLI does not write beside it', async () => {
    const held = await openData({ dataDir, documentsDir: path.join(projectRoot, 'documents') }, 'server', {
      seed: false,
    });
    await held.setSocket(path.join(work, 'nobody-listens.sock'));
    try {
      expect(
        errorOf(
          await cli(['user', 'add', '--email', 'beside@example.org', '--name', 'Beside', '--password-stdin'], {
            stdin: 'a fine password\n',
          }),
        ),
      ).toBe('server_unreachable');
    } finally {
      await held.close();
    }
    const list = ok(await cli(['user', 'list'])) as { email: string }[];
    expect(list.map((u) => u.email)).not.toContain('beside@example.org');
  }, 90_000);
});

describe('while a server holds the data folder', () => {
  let port: number;
  let base: string;
  let serverOut = '';

  beforeAll(async () => {
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = spawn(bin.server[0], [...bin.server[1]], {
      cwd: projectRoot,
      env: childEnv({ DATA_DIR: dataDir, PORT: String(port), BASE_URL: '', SESSION_SECRET: '', ...TEST_HASH_ENV }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.setEncoding('utf8').on('data', (c: string) => (serverOut += c));
    server.stderr!.setEncoding('utf8').on('data', (c: string) => (serverOut += c));
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (server.exitCode !== null) throw new Error(`server exited: ${serverOut}`);
      try {
        const res = await fetch(`${base}/healthz`);
        if (res.ok) break;
      } catch {
        // not yet
      }
      if (Date.now() > deadline) throw new Error(`server did not start: ${serverOut}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 120_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise<number | null>((r) => server!.once('exit', (code) => r(code)));
      server.kill('SIGTERM'); // our own child, by its PID
      expect(await exited).toBe(0);
    }
    await expect(fsp.stat(path.join(dataDir, 'ratify.lock'))).rejects.toMatchObject({ code: 'ENOENT' });
  }, 15_000);

  test('the lock names the server and its admin socket', async () => {
    const lock = JSON.parse(await fsp.readFile(path.join(dataDir, 'ratify.lock'), 'utf8'));
    expect(lock).toMatchObject({ pid: server!.pid, role: 'server' });
    expect(typeof lock.socket).toBe('string');
  });

  test('user add goes through the server, and the new user can get a token from that server at once', async () => {
    const u = ok(
      await cli(
        [
          'user',
          'add',
          '--email',
          'live@example.org',
          '--name',
          'Liv Live',
          '--group',
          'wg-strategy',
          '--password-stdin',
        ],
        { stdin: 'added while running\n' },
      ),
    );
    expect(u).toMatchObject({ email: 'live@example.org', roles: ['member'], groups: ['wg-strategy'] });
    const tok = await fetch(`${base}/api/v1/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'live@example.org', password: 'added while running' }),
    });
    expect(tok.status).toBe(201);
    const { token } = (await tok.json()) as { token: string };
    const me = await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(await me.json()).toEqual({
      email: 'live@example.org',
      name: 'Liv Live',
      roles: ['member'],
      groups: ['wg-strategy'],
    });
    expect(serverOut).not.toContain('added while running');
  }, 90_000);

  test('errors come back through the socket with their codes', async () => {
    expect(
      errorOf(
        await cli(['user', 'add', '--email', 'live@example.org', '--name', 'Twice', '--password-stdin'], {
          stdin: 'added while running\n',
        }),
      ),
    ).toBe('user_exists');
  }, 90_000);

  test('user list, token create and user disable through the server; the disabled token is refused at once', async () => {
    expect((ok(await cli(['user', 'list'])) as { email: string }[]).map((u) => u.email)).toContain('live@example.org');
    const { token } = ok(await cli(['token', 'create', '--email', 'live@example.org'])) as { token: string };
    expect((await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    ok(await cli(['user', 'disable', '--email', 'live@example.org']));
    expect((await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
  }, 90_000);

  test('init while the server runs: nothing to make, and the server is named', async () => {
    expect(ok(await cli(['init']))).toEqual({
      dataDir,
      created: false,
      heldBy: { role: 'server', pid: server!.pid },
    });
  });

  test('gc goes through the server, which serves every page meanwhile', async () => {
    const file = path.join(work, 'packed.md');
    const text = `# Packed\n\n${'A paragraph that stays the same.\n'.repeat(200)}`;
    await fsp.writeFile(file, text);
    ok(
      await cli(['document', 'add', '--slug', 'packed', '--title', 'Packed', '--group', 'wg-strategy', '--file', file]),
    );
    let serving = true;
    const statuses: number[] = [];
    const reader = (async () => {
      while (serving) statuses.push((await fetch(`${base}/documents/packed/versions/1.md`)).status);
    })();
    const report = ok(await cli(['gc']));
    serving = false;
    await reader;
    expect(report).toMatchObject({ full: true, after: { loose: 0, packs: 1 } });
    expect(report.before.loose).toBeGreaterThan(0);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(await (await fetch(`${base}/documents/packed/versions/1.md`)).text()).toBe(text);
    expect(await fsckProblems(path.join(dataDir, 'git'))).toEqual([]);
  }, 90_000);

  test('backup goes through the server: the server writes the archive while it serves', async () => {
    const out = path.join(work, 'through-server.tar.gz');
    const made = ok(await cli(['backup', '--out', out])) as { format: string; journalSeq: number; out: string };
    expect(made).toMatchObject({ format: 'ratify-backup', out });
    expect(made.journalSeq).toBeGreaterThan(0);
    expect((await fsp.stat(out)).mode & 0o777).toBe(0o600);
    expect(errorOf(await cli(['backup', '--out', out]))).toBe('file_exists');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  }, 90_000);
});
