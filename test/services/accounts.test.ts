/**
 * The account services without HTTP: users (unique e-mail, roles, groups, disable/enable),
 * password rules and hashing, password change, CSV import (all or nothing), API tokens, and
 * the two throttles with an injected clock.
 */
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { DomainError } from '../../server/domain/errors.js';
import { checkPassword as checkPasswordWith, MAX_PASSWORD, MIN_PASSWORD } from '../../server/domain/passwordRules.js';
import fc from 'fast-check';
import { commonPasswords, fromPackages, SortedLines } from '../../server/store/commonPasswords.js';
import { runs } from '../helpers/depth.js';
import { changePassword } from '../../server/services/accounts/password.js';
import { importUsers } from '../../server/services/accounts/importUsers.js';
import {
  actorOf,
  addUser,
  disableUser,
  findUserByEmail,
  getUser,
  listUsers,
  setUser,
} from '../../server/services/accounts/users.js';
import { checkCredentials } from '../../server/services/auth/authenticate.js';
import { Hasher } from '../../server/services/auth/passwords.js';
import { LoginThrottle, WriteLimiter } from '../../server/services/auth/throttle.js';
import { createToken, hashToken, listTokens, revokeToken, userForToken } from '../../server/services/auth/tokens.js';
import { openTestData, testClock } from '../helpers/data.js';

describe('services/accounts', () => {
  const clock = testClock('2026-01-15T10:00:00Z');
  let t: Awaited<ReturnType<typeof openTestData>>;

  /** The code of the DomainError `fn` throws (or 'no error'). */
  async function codeOf(fn: () => unknown): Promise<string> {
    try {
      await fn();
    } catch (e) {
      if (e instanceof DomainError) return e.code;
      throw e;
    }
    return 'no error';
  }
  const syncCode = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      if (e instanceof DomainError) return e.code;
      throw e;
    }
    return 'no error';
  };
  const auditLength = async () => (await t.ctx.meta.auditLog(1_000_000)).length;

  beforeAll(async () => {
    t = await openTestData({ clock });
  });
  afterAll(async () => {
    await t.cleanup();
  });

  describe('addUser', () => {
    test('e-mail is unique case-insensitively (A@X.org vs a@x.org → user_exists), stored lower-case', async () => {
      const u = await addUser(t.ctx, CLI_ACTOR, { email: ' A@X.org ', name: 'Ann' });
      expect(u.email).toBe('a@x.org');
      expect(u.roles).toEqual(['member']); // no role: member
      expect(u.passwordHash).toBeNull();
      expect(await codeOf(() => addUser(t.ctx, CLI_ACTOR, { email: 'a@x.org', name: 'Ann Again' }))).toBe(
        'user_exists',
      );
      expect(await codeOf(() => addUser(t.ctx, CLI_ACTOR, { email: 'A@X.ORG', name: 'Ann Again' }))).toBe(
        'user_exists',
      );
      expect(findUserByEmail(t.ctx, 'A@x.Org')?.id).toBe(u.id);
      expect((await t.ctx.meta.auditLog(1))[0]).toMatchObject({ action: 'user.created', subject: 'user/a@x.org' });
    });

    test('invalid input is refused before anything is written', async () => {
      const n = await auditLength();
      expect(await codeOf(() => addUser(t.ctx, CLI_ACTOR, { email: 'not-an-email', name: 'X' }))).toBe('invalid_email');
      expect(await codeOf(() => addUser(t.ctx, CLI_ACTOR, { email: 'x1@x.org', name: '' }))).toBe('invalid_name');
      expect(await codeOf(() => addUser(t.ctx, CLI_ACTOR, { email: 'x1@x.org', name: 'Two\nLines' }))).toBe(
        'invalid_name',
      );
      expect(await codeOf(() => addUser(t.ctx, CLI_ACTOR, { email: 'x1@x.org', name: 'X', roles: ['king'] }))).toBe(
        'invalid_role',
      );
      expect(
        await codeOf(() => addUser(t.ctx, CLI_ACTOR, { email: 'x1@x.org', name: 'X', groups: ['wg-nothing'] })),
      ).toBe('group_not_found');
      expect(await codeOf(() => addUser(t.ctx, CLI_ACTOR, { email: 'x1@x.org', name: 'X', password: 'short' }))).toBe(
        'password_too_short',
      );
      expect(
        await codeOf(() => addUser(t.ctx, CLI_ACTOR, { email: 'x1@x.org', name: 'X', password: 'Password123' })),
      ).toBe('password_too_common');
      expect(findUserByEmail(t.ctx, 'x1@x.org')).toBeUndefined();
      expect(await auditLength()).toBe(n);
    });

    test('roles and groups are deduplicated and sorted; several roles at once', async () => {
      const u = await addUser(t.ctx, CLI_ACTOR, {
        email: 'multi@x.org',
        name: 'Multi',
        roles: ['secretariat', 'member', 'member'],
        groups: ['wg-strategy', 'mag', 'wg-strategy'],
      });
      expect(u.roles).toEqual(['member', 'secretariat']);
      expect(u.groups).toEqual(['mag', 'wg-strategy']);
    });
  });

  describe('password rules (checkPassword)', () => {
    const checkPassword = (pw: unknown) => checkPasswordWith(pw, commonPasswords());
    test.each([
      ['7 characters', 'password_too_short', 'abcdefg'],
      ['8 characters', 'no error', 'abcdefgh'],
      ['64 characters', 'no error', 'x'.repeat(64)],
      ['256 characters', 'no error', 'y'.repeat(256)],
      ['257 characters', 'password_too_long', 'z'.repeat(257)],
      ['password123', 'password_too_common', 'password123'],
      ['PASSWORD123 (any case)', 'password_too_common', 'PASSWORD123'],
      ['12345678', 'password_too_common', '12345678'],
      // Accepted before the big list and the base rule:
      ['Passw0rd! (a listed base plus a sign)', 'password_too_common', 'Passw0rd!'],
      ['qwerty1234', 'password_too_common', 'qwerty1234'],
      ['iloveyou1', 'password_too_common', 'iloveyou1'],
      ['letmein123', 'password_too_common', 'letmein123'],
      ['LetMeIn2026!? (any case, digits and signs added)', 'password_too_common', 'LetMeIn2026!?'],
      ['sunshine (from the lists)', 'password_too_common', 'SunShine'],
      ['a listed word with a short base is judged whole: bob!98765432', 'no error', 'bob!98765432'],
      ['a passphrase', 'no error', 'correct horse battery staple'],
      ['digits inside, not only at the end', 'no error', 'let4me9in7now2'],
      ['no composition rules: all lower-case letters', 'no error', 'correcthorsebattery'],
      ['spaces allowed', 'no error', 'a b c d e f g h'],
      ['not a string', 'invalid_password', 12345678],
    ])('%s → %s', (_what, code, pw) => {
      expect(syncCode(() => checkPassword(pw))).toBe(code);
    });

    test('the limits are as documented: at least 8, and at least 64 allowed', () => {
      expect(MIN_PASSWORD).toBe(8);
      expect(MAX_PASSWORD).toBeGreaterThanOrEqual(64);
    });

    test('lengths count characters, not UTF-16 code units, at both ends', () => {
      // 4 emoji are 8 code units but 4 characters: too short (the minimum counts characters)…
      expect(syncCode(() => checkPassword('😀😀😀😀'))).toBe('password_too_short');
      // …so the maximum must count characters too: 200 emoji are 200 characters (≤ 256).
      expect(syncCode(() => checkPassword('😀'.repeat(200)))).toBe('no error');
    });
  });

  describe('hashing (scrypt)', () => {
    let h1: string;
    let h2: string;
    const hasher = new Hasher({ N: 2 ** 10 });
    const hashPassword = (pw: string) => hasher.hash(pw);
    const verifyPassword = (pw: string, h: string) => hasher.verify(pw, h);
    beforeAll(async () => {
      [h1, h2] = await Promise.all([hashPassword('same old password'), hashPassword('same old password')]);
    });

    test('production cost by default: scrypt$131072$8$1$salt$hash (OWASP)', async () => {
      const prod = new Hasher();
      expect(prod.options).toMatchObject({ N: 131072, r: 8, p: 1, maxConcurrent: 2, maxQueued: 16 });
      const h = await prod.hash('same old password');
      expect(h).toMatch(/^scrypt\$131072\$8\$1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
      expect(h).not.toContain('same old password');
      // A hash records its cost: a cheap hasher verifies a production hash and the other way round.
      expect(await hasher.verify('same old password', h)).toBe(true);
      expect(await prod.verify('same old password', h1)).toBe(true);
    });

    test("the tests' hashes have the same format at N=1024", () => {
      expect(h1).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
      expect(t.ctx.passwords.options.N).toBe(1024);
    });

    test('a stored hash asking for an absurd cost is refused, not computed', async () => {
      const [, , , , salt, key] = h1.split('$');
      expect(await verifyPassword('same old password', `scrypt$${2 ** 24}$8$1$${salt}$${key}`)).toBe(false);
      expect(await verifyPassword('same old password', `scrypt$1000$8$1$${salt}$${key}`)).toBe(false);
    });

    test('beyond maxQueued waiting hashes the next is refused at once: 503 busy with Retry-After', async () => {
      const small = new Hasher({ N: 2 ** 10, maxConcurrent: 1, maxQueued: 2 });
      const results = await Promise.allSettled(Array.from({ length: 6 }, () => small.hash('queued password')));
      const refused = results
        .filter((r) => r.status === 'rejected')
        .map((r) => (r as PromiseRejectedResult).reason as DomainError);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
      expect(refused.map((e) => [e.kind, e.code, e.data.retryAfter])).toEqual(Array(3).fill(['busy', 'busy', 5]));
      expect(small.evaluated).toBe(3);
    });

    test('two hashes of the same password differ (salted)', () => {
      expect(h1).not.toBe(h2);
    });

    test('verifyPassword: true for the password, false otherwise, false for a malformed hash', async () => {
      expect(await verifyPassword('same old password', h1)).toBe(true);
      expect(await verifyPassword('same old password', h2)).toBe(true);
      expect(await verifyPassword('same old passworD', h1)).toBe(false);
      expect(await verifyPassword('', h1)).toBe(false);
      expect(await verifyPassword('same old password', 'plain')).toBe(false);
      expect(await verifyPassword('same old password', 'bcrypt$1$2$3$4$5')).toBe(false);
    });

    test('Unicode is normalised (NFKC): a composed and a decomposed é are the same password', async () => {
      const h = await hashPassword('caf\u00e9 au lait!');
      expect(await verifyPassword('cafe\u0301 au lait!', h)).toBe(true);
    });
  });

  describe('changePassword', () => {
    let pat: Awaited<ReturnType<typeof addUser>>;
    beforeAll(async () => {
      pat = await addUser(t.ctx, CLI_ACTOR, { email: 'pat@x.org', name: 'Pat', password: 'pat first password' });
    });

    test('requires the current password (bad_password), changes nothing then', async () => {
      const before = getUser(t.ctx, pat.id);
      expect(
        await codeOf(() => changePassword(t.ctx, actorOf(pat), 'not the current one', 'pat second password')),
      ).toBe('bad_password');
      expect(getUser(t.ctx, pat.id)).toEqual(before);
    });

    test('the new password must follow the rules and differ', async () => {
      expect(await codeOf(() => changePassword(t.ctx, actorOf(pat), 'pat first password', 'short'))).toBe(
        'password_too_short',
      );
      expect(await codeOf(() => changePassword(t.ctx, actorOf(pat), 'pat first password', 'pat first password'))).toBe(
        'password_unchanged',
      );
    });

    test('with the current one: new hash, sessionEpoch bumped, audit password.changed, the old password no longer works', async () => {
      const before = getUser(t.ctx, pat.id);
      const epoch = await changePassword(t.ctx, actorOf(pat), 'pat first password', 'pat second password');
      const after = getUser(t.ctx, pat.id);
      expect(epoch).toBe(before.sessionEpoch + 1);
      expect(after.sessionEpoch).toBe(epoch);
      expect(await t.ctx.passwords.verify('pat second password', after.passwordHash!)).toBe(true);
      expect(await t.ctx.passwords.verify('pat first password', after.passwordHash!)).toBe(false);
      expect((await t.ctx.meta.auditLog(1))[0]).toMatchObject({
        action: 'password.changed',
        actor: 'pat@x.org',
        subject: 'user/pat@x.org',
      });
    });
  });

  describe('importUsers (CSV)', () => {
    test('creates every account (roles/groups as ;-lists, no passwords), one audit line each', async () => {
      const n = await auditLength();
      const csv =
        '\ufeffEmail,Name,Roles,Groups\nimp1@x.org,Imp One,member;chair,wg-strategy;mag\nIMP2@x.org,"Imp, Two",,\n';
      const users = await importUsers(t.ctx, CLI_ACTOR, csv);
      expect(users.map((u) => [u.email, u.name, u.roles, u.groups, u.passwordHash])).toEqual([
        ['imp1@x.org', 'Imp One', ['chair', 'member'], ['mag', 'wg-strategy'], null],
        ['imp2@x.org', 'Imp, Two', ['member'], [], null],
      ]);
      expect(await auditLength()).toBe(n + 2);
    });

    test.each([
      [
        'a bad e-mail on line 3',
        'invalid_email',
        'email,name,roles,groups\nok1@x.org,OK,member,\nbad-email,Bad,member,\n',
      ],
      [
        'an unknown role on line 3',
        'invalid_role',
        'email,name,roles,groups\nok1@x.org,OK,member,\nok2@x.org,OK2,emperor,\n',
      ],
      [
        'an unknown group on line 3',
        'group_not_found',
        'email,name,roles,groups\nok1@x.org,OK,member,\nok2@x.org,OK2,member,wg-none\n',
      ],
      [
        'duplicate e-mails inside the CSV (not "an account exists": nothing was made)',
        'duplicate_email',
        'email,name,roles,groups\nok1@x.org,OK,member,\nOK1@x.org,Again,member,\n',
      ],
      [
        'an e-mail that already has an account',
        'user_exists',
        'email,name,roles,groups\nok1@x.org,OK,member,\na@x.org,Ann,member,\n',
      ],
      ['no header', 'invalid_csv', 'ok1@x.org,OK,member,\n'],
      ['nothing but a header', 'invalid_csv', 'email,name,roles,groups\n'],
      ['an unbalanced quote', 'invalid_csv', 'email,name\n"ok1@x.org,OK\n'],
    ])('%s → %s, and nothing is created', async (_what, code, csv) => {
      // The account the CSV collides with (made here too, so that the test runs on its own with -t).
      if (!findUserByEmail(t.ctx, 'a@x.org'))
        await addUser(t.ctx, CLI_ACTOR, { email: 'a@x.org', name: 'Ann', roles: ['member'] });
      const users = t.ctx.meta.all('users').length;
      const n = await auditLength();
      expect(await codeOf(() => importUsers(t.ctx, CLI_ACTOR, csv))).toBe(code);
      expect(t.ctx.meta.all('users').length).toBe(users);
      expect(findUserByEmail(t.ctx, 'ok1@x.org')).toBeUndefined();
      expect(await auditLength()).toBe(n);
    });

    test('the refusal names the line', async () => {
      try {
        await importUsers(t.ctx, CLI_ACTOR, 'email,name,roles,groups\nok1@x.org,OK,member,\nbad-email,Bad,member,\n');
        throw new Error('no refusal');
      } catch (e) {
        expect((e as DomainError).message).toMatch(/\b3\b/);
      }
    });

    test('a file as Excel writes it in much of Europe: `;` between fields, `,` in lists, groups by name, header in capitals', async () => {
      const csv =
        'EMAIL;NAME;ROLES;GROUPS\neu1@x.org;Eu One;member,chair;Working Group on Strategy,mag\neu2@x.org;"Eu; Two";;\n';
      const users = await importUsers(t.ctx, CLI_ACTOR, csv);
      expect(users.map((u) => [u.email, u.name, u.roles, u.groups])).toEqual([
        ['eu1@x.org', 'Eu One', ['chair', 'member'], ['mag', 'wg-strategy']],
        ['eu2@x.org', 'Eu; Two', ['member'], []],
      ]);
    });

    test('every bad line is reported at once, each with its line and code; nothing is created', async () => {
      const users = t.ctx.meta.all('users').length;
      const csv =
        'email,name,roles,groups\nok9@x.org,OK,member,\nbad-email,Bad,member,\nok8@x.org,OK,emperor,\nok7@x.org,OK,member,wg-none\n';
      let err: DomainError | null = null;
      try {
        await importUsers(t.ctx, CLI_ACTOR, csv);
      } catch (e) {
        err = e as DomainError;
      }
      expect(err?.code).toBe('invalid_csv');
      expect(((err?.data.fields ?? []) as { path: string; code: string }[]).map((f) => [f.path, f.code])).toEqual([
        ['line 3', 'invalid_email'],
        ['line 4', 'invalid_role'],
        ['line 5', 'group_not_found'],
      ]);
      expect(t.ctx.meta.all('users').length).toBe(users);
    });
  });

  describe('changing an e-mail address', () => {
    test('the secretariat corrects an address: the member signs in with the new one; both addresses are told; a taken or bad one is refused', async () => {
      await addUser(t.ctx, CLI_ACTOR, {
        email: 'typo@exmaple.org',
        name: 'Tina Typo',
        roles: ['member'],
        password: 'a long enough password',
      });
      await addUser(t.ctx, CLI_ACTOR, { email: 'taken@x.org', name: 'Taken', roles: ['member'] });
      const mails = t.ctx.meta.all('mails').length;
      expect(await codeOf(() => setUser(t.ctx, CLI_ACTOR, 'typo@exmaple.org', { email: 'TAKEN@x.org' }))).toBe(
        'user_exists',
      );
      expect(await codeOf(() => setUser(t.ctx, CLI_ACTOR, 'typo@exmaple.org', { email: 'not an address' }))).toBe(
        'invalid_email',
      );
      expect(t.ctx.meta.all('mails').length).toBe(mails);
      const u = await setUser(t.ctx, CLI_ACTOR, 'typo@exmaple.org', { email: 'Tina@Example.org' });
      expect(u.email).toBe('tina@example.org');
      expect(findUserByEmail(t.ctx, 'typo@exmaple.org')).toBeUndefined();
      expect(findUserByEmail(t.ctx, 'tina@example.org')?.id).toBe(u.id);
      const sent = t.ctx.meta.all('mails').slice(mails);
      expect(sent.map((m) => [m.to[0], m.event]).sort()).toEqual([
        ['tina@example.org', 'user.email_changed'],
        ['typo@exmaple.org', 'user.email_changed'],
      ]);
      expect((await t.ctx.meta.auditLog(1))[0]).toMatchObject({
        action: 'user.email_changed',
        subject: 'user/tina@example.org',
      });
      const throttle = new LoginThrottle(t.ctx.clock);
      const who = await checkCredentials(t.ctx, throttle, {
        email: 'tina@example.org',
        password: 'a long enough password',
        ip: '1.2.3.4',
        via: 'api',
      });
      expect(who.id).toBe(u.id);
    });
  });

  describe('setUser, disableUser', () => {
    let sue: Awaited<ReturnType<typeof addUser>>;
    beforeAll(async () => {
      sue = await addUser(t.ctx, CLI_ACTOR, {
        email: 'sue@x.org',
        name: 'Sue',
        roles: ['member', 'chair'],
        groups: ['mag', 'wg-strategy'],
      });
    });

    test('replaces roles and groups (not merges); leaves out what is not given', async () => {
      let u = await setUser(t.ctx, CLI_ACTOR, 'SUE@x.org', { roles: ['secretariat'], groups: ['wg-hybrid'] });
      expect([u.roles, u.groups]).toEqual([['secretariat'], ['wg-hybrid']]);
      u = await setUser(t.ctx, CLI_ACTOR, 'sue@x.org', { groups: [] });
      expect([u.roles, u.groups]).toEqual([['secretariat'], []]);
      expect(getUser(t.ctx, sue.id).roles).toEqual(['secretariat']);
      expect((await t.ctx.meta.auditLog(1))[0]).toMatchObject({ action: 'user.updated', subject: 'user/sue@x.org' });
    });

    test('unknown role → invalid_role, unknown group → group_not_found, unknown user → user_not_found; nothing changes', async () => {
      const before = getUser(t.ctx, sue.id);
      expect(await codeOf(() => setUser(t.ctx, CLI_ACTOR, 'sue@x.org', { roles: ['member', 'pope'] }))).toBe(
        'invalid_role',
      );
      expect(
        await codeOf(() => setUser(t.ctx, CLI_ACTOR, 'sue@x.org', { roles: ['member'], groups: ['wg-nope'] })),
      ).toBe('group_not_found');
      expect(await codeOf(() => setUser(t.ctx, CLI_ACTOR, 'nobody@x.org', { roles: ['member'] }))).toBe(
        'user_not_found',
      );
      expect(getUser(t.ctx, sue.id)).toEqual(before);
    });

    test('disable: flag set, sessionEpoch bumped, audit user.disabled; enable again with setUser', async () => {
      const before = getUser(t.ctx, sue.id);
      const d = await disableUser(t.ctx, CLI_ACTOR, 'sue@x.org');
      expect(d.disabled).toBe(true);
      expect(d.sessionEpoch).toBe(before.sessionEpoch + 1);
      expect((await t.ctx.meta.auditLog(1))[0]).toMatchObject({ action: 'user.disabled', subject: 'user/sue@x.org' });
      const e = await setUser(t.ctx, CLI_ACTOR, 'sue@x.org', { enable: true });
      expect(e.disabled).toBe(false);
      expect((await t.ctx.meta.auditLog(2)).map((x) => x.action).sort()).toEqual(['user.enabled', 'user.updated']);
    });

    test('one cannot disable oneself', async () => {
      const u = getUser(t.ctx, sue.id);
      expect(await codeOf(() => disableUser(t.ctx, actorOf(u), 'sue@x.org'))).toBe('cannot_disable_self');
      expect(getUser(t.ctx, sue.id).disabled).toBe(false);
    });

    test('listUsers lists everyone by name', () => {
      const names = listUsers(t.ctx, CLI_ACTOR).map((u) => u.name);
      expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)));
      expect(names).toContain('Sue');
    });
  });

  describe('checkCredentials', () => {
    let cc: Awaited<ReturnType<typeof addUser>>;
    beforeAll(async () => {
      cc = await addUser(t.ctx, CLI_ACTOR, { email: 'cc@x.org', name: 'Cee', password: 'credentials checked' });
    });

    test('right → the user; wrong, unknown, without password, disabled → bad_credentials', async () => {
      const throttle = new LoginThrottle(clock);
      const ok = await checkCredentials(t.ctx, throttle, {
        email: ' CC@x.org',
        password: 'credentials checked',
        ip: '1.1.1.1',
        via: 'api',
      });
      expect(ok.id).toBe(cc.id);
      expect(
        await codeOf(() =>
          checkCredentials(t.ctx, throttle, {
            email: 'cc@x.org',
            password: 'credentials checkeD',
            ip: '1.1.1.1',
            via: 'api',
          }),
        ),
      ).toBe('bad_credentials');
      expect(
        await codeOf(() =>
          checkCredentials(t.ctx, throttle, {
            email: 'a@x.org',
            password: 'whatever it is',
            ip: '1.1.1.1',
            via: 'api',
          }),
        ),
      ).toBe('bad_credentials'); // no password set
      expect(
        await codeOf(() =>
          checkCredentials(t.ctx, throttle, {
            email: 'ghost@x.org',
            password: 'whatever it is',
            ip: '1.1.1.1',
            via: 'api',
          }),
        ),
      ).toBe('bad_credentials');
      expect(
        await codeOf(() => checkCredentials(t.ctx, throttle, { email: '', password: '', ip: '1.1.1.1', via: 'api' })),
      ).toBe('bad_credentials');
      await disableUser(t.ctx, CLI_ACTOR, 'cc@x.org');
      expect(
        await codeOf(() =>
          checkCredentials(t.ctx, throttle, {
            email: 'cc@x.org',
            password: 'credentials checked',
            ip: '1.1.1.1',
            via: 'api',
          }),
        ),
      ).toBe('bad_credentials');
      await setUser(t.ctx, CLI_ACTOR, 'cc@x.org', { enable: true });
    }, 120_000);
  });

  describe('API tokens', () => {
    let tim: Awaited<ReturnType<typeof addUser>>;
    let other: Awaited<ReturnType<typeof addUser>>;
    beforeAll(async () => {
      tim = await addUser(t.ctx, CLI_ACTOR, { email: 'tim@x.org', name: 'Tim' });
      other = await addUser(t.ctx, CLI_ACTOR, { email: 'other@x.org', name: 'Other' });
    });

    test('the token is returned once; the stored record holds only its SHA-256', async () => {
      const { token, record } = await createToken(t.ctx, CLI_ACTOR, tim, 'ci');
      expect(token).toMatch(/^rat_[A-Za-z0-9_-]{43}$/);
      expect(record.hash).toBe(createHash('sha256').update(token).digest('hex'));
      expect(record.hash).toBe(hashToken(token));
      const stored = t.ctx.meta.get('tokens', record.hash)!;
      expect(Object.keys(stored).sort()).toEqual(['createdAt', 'hash', 'id', 'label', 'revokedAt', 'userId']);
      expect(JSON.stringify(t.ctx.meta.all('tokens'))).not.toContain(token);
      expect(JSON.stringify(t.ctx.meta.all('tokens'))).not.toContain(token.slice(4));
      expect(userForToken(t.ctx, token)?.id).toBe(tim.id);
      expect((await t.ctx.meta.auditLog(1))[0]).toMatchObject({ action: 'token.created', subject: 'user/tim@x.org' });
    });

    test('tokens are random: two differ', async () => {
      const [a, b] = await Promise.all([createToken(t.ctx, CLI_ACTOR, tim), createToken(t.ctx, CLI_ACTOR, tim)]);
      expect(a.token).not.toBe(b.token);
      expect(a.record.id).not.toBe(b.record.id);
    });

    test('unknown, malformed, over-long tokens → null', () => {
      expect(userForToken(t.ctx, 'rat_doesnotexist')).toBeNull();
      expect(userForToken(t.ctx, 'nope')).toBeNull();
      expect(userForToken(t.ctx, `rat_${'a'.repeat(500)}`)).toBeNull();
    });

    test('revokeToken: the owner revokes; then it is refused and unlisted; twice → token_not_found; not someone else’s', async () => {
      const { token, record } = await createToken(t.ctx, CLI_ACTOR, tim, 'to revoke');
      expect(await codeOf(() => revokeToken(t.ctx, actorOf(other), record.id))).toBe('token_not_found');
      expect(userForToken(t.ctx, token)?.id).toBe(tim.id);
      await revokeToken(t.ctx, actorOf(tim), record.id);
      expect(userForToken(t.ctx, token)).toBeNull();
      expect(listTokens(t.ctx, tim.id).map((x) => x.id)).not.toContain(record.id);
      expect((await t.ctx.meta.auditLog(1))[0]).toMatchObject({ action: 'token.revoked', subject: 'user/tim@x.org' });
      expect(await codeOf(() => revokeToken(t.ctx, actorOf(tim), record.id))).toBe('token_not_found');
      expect(await codeOf(() => revokeToken(t.ctx, actorOf(tim), Number.NaN))).toBe('invalid_token_id');
    });

    test('a disabled user’s tokens are refused', async () => {
      const u = await addUser(t.ctx, CLI_ACTOR, { email: 'gone@x.org', name: 'Gone' });
      const { token } = await createToken(t.ctx, CLI_ACTOR, u);
      await disableUser(t.ctx, CLI_ACTOR, 'gone@x.org');
      expect(userForToken(t.ctx, token)).toBeNull();
    });

    test('disabling ends tokens for good: re-enabling the account does not revive them', async () => {
      const u = await addUser(t.ctx, CLI_ACTOR, { email: 'back@x.org', name: 'Back' });
      const { token } = await createToken(t.ctx, CLI_ACTOR, u);
      await disableUser(t.ctx, CLI_ACTOR, 'back@x.org');
      await setUser(t.ctx, CLI_ACTOR, 'back@x.org', { enable: true });
      // Sessions of the disabled period stay ended (the epoch moved); tokens must too.
      expect(userForToken(t.ctx, token)).toBeNull();
    });
  });

  describe('LoginThrottle (injected clock)', () => {
    const c = testClock('2026-03-01T00:00:00Z');
    const code = (fn: () => void) => syncCode(fn);
    const retryAfter = (fn: () => void): number | undefined => {
      try {
        fn();
      } catch (e) {
        return (e as DomainError).data.retryAfter as number;
      }
      return undefined;
    };
    const fail = (th: LoginThrottle, email: string, ip: string, userId: number | null = 7) =>
      th.beginPassword(email, ip, userId).failed();

    test('ten guesses per account in any 15 minutes, whatever the address; reserved before the answer is known', () => {
      const th = new LoginThrottle(c);
      // Ten reservations held at once (as ten parallel requests would): the eleventh is refused.
      const held = Array.from({ length: 10 }, (_, i) => th.beginPassword('u@x.org', `1.2.3.${i}`, 7));
      expect(code(() => th.beginPassword('u@x.org', '9.9.9.9', 7))).toBe('too_many_attempts');
      expect(code(() => th.beginPassword('U@X.org', '1.2.3.4', 7))).toBe('too_many_attempts'); // case-insensitive
      expect(retryAfter(() => th.beginPassword('u@x.org', '1.2.3.4', 7))).toBe(900);
      for (const g of held) g.failed();
      expect(code(() => th.beginPassword('v@x.org', '1.2.3.4', 8).failed())).toBe('no error'); // another account
      c.advance(10 * 60_000);
      expect(retryAfter(() => th.beginPassword('u@x.org', '1.2.3.4', 7))).toBe(300);
      c.advance(5 * 60_000);
      expect(code(() => fail(th, 'u@x.org', '1.2.3.4'))).toBe('no error');
    });

    test('a success gives its reservation back; so does a cancelled (busy) one', () => {
      const th = new LoginThrottle(c);
      for (let i = 0; i < 9; i++) fail(th, 'w@x.org', '9.9.9.9');
      th.beginPassword('w@x.org', '9.9.9.9', 9).cancelled();
      th.beginPassword('w@x.org', '9.9.9.9', 9).succeeded();
      expect(code(() => fail(th, 'w@x.org', '9.9.9.9'))).toBe('no error'); // the tenth
      expect(code(() => fail(th, 'w@x.org', '9.9.9.9'))).toBe('too_many_attempts');
    });

    test("an address the account signed in from keeps its own budget when a stranger spent the account's", () => {
      const th = new LoginThrottle(c);
      th.beginPassword('real@x.org', '10.0.0.1', 3).succeeded(); // the real person, at home
      for (let i = 0; i < 10; i++) fail(th, 'real@x.org', '66.6.6.6', 3); // a stranger
      expect(code(() => th.beginPassword('real@x.org', '66.6.6.7', 3))).toBe('too_many_attempts');
      expect(th.isKnownAddress(3, '10.0.0.1')).toBe(true);
      expect(code(() => th.beginPassword('real@x.org', '10.0.0.1', 3).succeeded())).toBe('no error');
      // The known address has ten guesses of its own, not more.
      for (let i = 0; i < 10; i++) fail(th, 'real@x.org', '10.0.0.1', 3);
      expect(code(() => th.beginPassword('real@x.org', '10.0.0.1', 3))).toBe('too_many_attempts');
    });

    test('failures far apart do not add up', () => {
      const th = new LoginThrottle(c);
      for (let i = 0; i < 20; i++) {
        fail(th, 'slow@x.org', '8.8.8.8');
        c.advance(2 * 60_000);
      }
      expect(code(() => fail(th, 'slow@x.org', '8.8.8.8'))).toBe('no error');
    });

    test('an address is capped at 100 guesses a day over existing accounts; unknown e-mails do not count but are refused alike', () => {
      const th = new LoginThrottle(c);
      for (let i = 0; i < 300; i++) fail(th, `ghost${i}@x.org`, '6.6.6.6', null); // unknown: not counted
      expect(code(() => fail(th, 'fresh@x.org', '6.6.6.6', 500))).toBe('no error');
      for (let i = 1; i < 100; i++) fail(th, `spray${i}@x.org`, '6.6.6.6', 1000 + i);
      expect(code(() => th.beginPassword('fresh2@x.org', '6.6.6.6', 501))).toBe('too_many_attempts');
      expect(code(() => th.beginPassword('ghost@x.org', '6.6.6.6', null))).toBe('too_many_attempts');
      expect(code(() => th.beginPassword('fresh2@x.org', '6.6.6.7', 501).failed())).toBe('no error');
      c.advance(86_400_000);
      expect(code(() => fail(th, 'fresh2@x.org', '6.6.6.6', 501))).toBe('no error');
    });

    test('password-reset requests have their own budget and never refuse a sign-in', () => {
      const th = new LoginThrottle(c);
      for (let i = 0; i < 50; i++) th.takeReset(`random${i}@x.org`, '5.5.5.5');
      expect(code(() => th.takeReset('another@x.org', '5.5.5.5'))).toBe('too_many_attempts');
      expect(code(() => th.beginPassword('user@x.org', '5.5.5.5', 42).succeeded())).toBe('no error');
      for (let i = 0; i < 5; i++) th.takeReset('one@x.org', '5.5.5.6');
      expect(code(() => th.takeReset('one@x.org', '5.5.5.6'))).toBe('too_many_attempts');
    });

    test('second-factor codes: ten per account, reserved first', () => {
      const th = new LoginThrottle(c);
      const held = Array.from({ length: 10 }, () => th.beginAccountCheck('code', 5));
      expect(code(() => th.beginAccountCheck('code', 5))).toBe('too_many_attempts');
      expect(code(() => th.beginAccountCheck('password', 5).failed())).toBe('no error'); // a separate budget
      held[0].succeeded();
      expect(code(() => th.beginAccountCheck('code', 5).failed())).toBe('no error');
    });
  });

  describe('WriteLimiter (injected clock)', () => {
    const c = testClock('2026-03-01T00:00:00Z');

    test('N writes a minute per account; the next is 429 write_limit with Retry-After; a minute later it passes', () => {
      const w = new WriteLimiter(c, 3);
      for (let i = 0; i < 3; i++) expect(syncCode(() => w.take(1))).toBe('no error');
      c.advance(20_000);
      let err: DomainError | null = null;
      try {
        w.take(1);
      } catch (e) {
        err = e as DomainError;
      }
      expect(err).toBeInstanceOf(DomainError);
      expect([err!.kind, err!.code, err!.data.retryAfter]).toEqual(['throttled', 'write_limit', 40]);
      expect(syncCode(() => w.take(2))).toBe('no error'); // another account
      c.advance(40_000);
      expect(syncCode(() => w.take(1))).toBe('no error');
    });

    test('0 turns it off', () => {
      const w = new WriteLimiter(c, 0);
      for (let i = 0; i < 1000; i++) w.take(1);
      expect(syncCode(() => w.take(1))).toBe('no error');
    });
  });

  describe('the list of common passwords', () => {
    test('the union of both packages: about 77,000 distinct lower-cased entries, loaded once', () => {
      const list = commonPasswords();
      expect(list.size).toBeGreaterThan(75_000);
      expect(commonPasswords()).toBe(list);
      for (const p of ['password', 'qwerty', 'iloveyou', 'letmein', 'passw0rd']) expect(list.has(p)).toBe(true);
    });

    test("the list the build writes, searched in place, answers as the packages' union does", () => {
      const union = fromPackages();
      const built = commonPasswords();
      expect(built).toBeInstanceOf(SortedLines); // jest's global setup has just built dist/
      expect(built.size).toBe([...union].filter((p) => !p.includes('\n')).length);
      expect([...union].every((p) => p === p.toLowerCase())).toBe(true);
      const wrong = [...union].filter((p) => !p.includes('\n') && !built.has(p));
      // Near misses: each entry with a character added, dropped or changed, and random strings.
      const probes = [...union].slice(0, 3000).flatMap((p) => [p + 'a', p.slice(1), p.slice(0, -1) + '~', ` ${p}`]);
      probes.push('', '\n', 'password\n', '\uffff', ...fc.sample(fc.string({ maxLength: 12 }), runs(2000).numRuns));
      const disagree = probes.filter((p) => built.has(p) !== union.has(p));
      expect({ wrong, disagree }).toEqual({ wrong: [], disagree: [] });
    });

    test('searched in place: every line is found, nothing else is', () => {
      const word = fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }).filter((w) => !w.includes('\n'));
      fc.assert(
        fc.property(
          fc.uniqueArray(word, { maxLength: 60 }),
          fc.array(fc.string({ unit: 'binary', maxLength: 7 })),
          (words, others) => {
            const lines = new SortedLines([...words].sort().join('\n'));
            const set = new Set(words);
            return lines.size === words.length && [...words, ...others].every((w) => lines.has(w) === set.has(w));
          },
        ),
        runs(300),
      );
    });

    test('a new account with one of the four passwords accepted before is refused', async () => {
      for (const pw of ['Passw0rd!', 'qwerty1234', 'iloveyou1', 'letmein123']) {
        expect(
          await codeOf(() =>
            addUser(t.ctx, CLI_ACTOR, {
              email: `weak-${pw.length}-${pw.charCodeAt(0)}@x.org`,
              name: 'Weak',
              password: pw,
            }),
          ),
        ).toBe('password_too_common');
      }
    });
  });
});
