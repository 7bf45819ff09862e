import { CLI_ACTOR } from '../../server/domain/actor.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import type { Express } from 'express';
import { addUser, findUserByEmail } from '../../server/services/accounts/users.js';
import { createToken } from '../../server/services/auth/tokens.js';
import type { UserRecord } from '../../server/store/meta/schema.js';
import { openTestApp, testClock } from '../helpers/data.js';

describe('http/adminPages', () => {
  const PASSWORD = 'a long enough password';
  const clock = testClock('2026-01-15T10:00:00Z');
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let app: Express;
  let sec: UserRecord;
  let member: UserRecord;
  let victim: UserRecord;
  let chair: UserRecord;
  let admin: ReturnType<typeof request.agent>;
  let plain: ReturnType<typeof request.agent>;

  const PAGES = [
    '/admin',
    '/admin/users',
    '/admin/users/1',
    '/admin/groups',
    '/admin/stakeholders',
    '/admin/documents',
    '/admin/audit',
    '/admin/security',
    '/admin/rounds',
    '/admin/mail',
  ];

  /** Pages whose path or query a member could get wrong: the refusal of who asks comes first. */
  const MALFORMED_PAGES = ['/admin/users/abc', '/admin/users/999999', '/admin/audit?limit=abc', '/admin/audit?limit=0'];

  /**
   * Every admin form, each with a form that would be accepted from the secretariat and one it
   * would refuse (bad or missing fields): from anyone else both are 403 (401 signed out), and
   * nothing changes. `$member` and `$victim` stand for those accounts' ids.
   */
  const POSTS: [string, Record<string, string | string[]>, Record<string, string | string[]>][] = [
    ['/admin/users', { email: 'post@example.org', name: 'Post' }, { email: 'not an address', name: '' }],
    ['/admin/users/import', { csv: 'email,name\npost@example.org,Post\n' }, { csv: 'no header' }],
    ['/admin/users/$victim', { name: 'Renamed', roles: 'secretariat' }, { name: '', roles: 'emperor' }],
    ['/admin/users/abc', { name: 'Renamed' }, {}],
    ['/admin/users/$victim/disable', {}, { unexpected: 'x' }],
    ['/admin/users/$victim/enable', {}, { unexpected: 'x' }],
    ['/admin/users/$victim/invite', {}, { unexpected: 'x' }],
    ['/admin/users/999999/invite', {}, {}],
    ['/admin/groups', { slug: 'wg-post', name: 'Post' }, { slug: 'Bad Slug', name: '' }],
    ['/admin/stakeholders', { slug: 'post', name: 'Post' }, { slug: 'Bad Slug', name: '' }],
    [
      '/admin/documents',
      { slug: 'post-doc', title: 'Post', group: 'mag', text: '# Post\n' },
      { slug: 'Bad Slug', title: '', group: 'nowhere', text: '' },
    ],
    ['/admin/documents/terms-of-reference', { title: 'Mine now' }, { group: 'nowhere' }],
    ['/admin/documents/no-such-doc', { title: 'Mine now' }, {}],
    ['/admin/security', { requireTotpFor: 'chair' }, { requireTotpFor: 'emperor' }],
    ['/admin/rounds', { defaultRecord: 'unnamed', chairMayRecord: 'yes' }, { defaultRecord: 'secret' }],
    ['/admin/mail/1/retry', {}, {}],
    ['/admin/mail/abc/retry', {}, {}],
  ];

  const COLLECTIONS = [
    'users',
    'groups',
    'stakeholders',
    'documents',
    'versions',
    'settings',
    'tokens',
    'mails',
    'linkTokens',
  ] as const;
  /** Every record an admin form could change, and the audit log's last entry. */
  const everything = async () =>
    JSON.stringify([...COLLECTIONS.map((c) => t.ctx.meta.all(c)), (await t.ctx.meta.auditLog(1))[0]?.seq]);

  /** The `_csrf` value of the first form on the page. */
  function csrfIn(html: string): string {
    const m = /name="_csrf" value="([^"]+)"/.exec(html);
    expect(m).not.toBeNull();
    return m![1];
  }

  /** Sign in through the real form with a fresh agent; returns the agent and where the login sent it. */
  async function signIn(email: string, password = PASSWORD) {
    const agent = request.agent(app);
    const form = await agent.get('/login');
    expect(form.status).toBe(200);
    const res = await agent
      .post('/login')
      .type('form')
      .send({ email, password, _csrf: csrfIn(form.text), next: '/' });
    expect(res.status).toBe(303);
    return { agent, location: res.headers.location as string };
  }

  /** A form's CSRF token for a signed-in agent (the token changes at sign-in). */
  async function csrf(agent: ReturnType<typeof request.agent>, path = '/account'): Promise<string> {
    const res = await agent.get(path);
    expect(res.status).toBe(200);
    return csrfIn(res.text);
  }

  /** Post a form as the secretariat, with a current CSRF token. */
  async function adminPost(path: string, body: Record<string, string | string[]>) {
    return admin
      .post(path)
      .type('form')
      .send({ ...body, _csrf: await csrf(admin, '/admin/audit?limit=1') });
  }

  const alertCode = (html: string) => /role="alert"[^>]*data-code="([^"]*)"/.exec(html)?.[1] ?? null;
  const userCount = () => t.ctx.meta.all('users').length;

  beforeAll(async () => {
    t = await openTestApp({ clock });
    app = t.app;
    [sec, member, victim, chair] = await Promise.all([
      addUser(t.ctx, CLI_ACTOR, {
        email: 'sec@example.org',
        name: 'Sam Sec',
        roles: ['secretariat'],
        password: PASSWORD,
      }),
      addUser(t.ctx, CLI_ACTOR, {
        email: 'mem@example.org',
        name: 'Mia Member',
        roles: ['member'],
        groups: ['mag'],
        password: PASSWORD,
      }),
      addUser(t.ctx, CLI_ACTOR, { email: 'vic@example.org', name: 'Vic Tim', roles: ['member'], password: PASSWORD }),
      addUser(t.ctx, CLI_ACTOR, {
        email: 'chair@example.org',
        name: 'Cara Chair',
        roles: ['chair'],
        password: PASSWORD,
      }),
    ]);
    admin = (await signIn(sec.email)).agent;
    plain = (await signIn(member.email)).agent;
  });

  afterAll(async () => {
    await t?.cleanup();
  });

  describe('who may see the admin pages', () => {
    test.each(PAGES)('%s: 200 for the secretariat', async (path) => {
      const res = await admin.get(path);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.text.match(/<h1[\s>]/g)).toHaveLength(1);
      expect(res.text).toContain('aria-label="Admin"');
    });

    test.each(PAGES)('%s: 403 for a member', async (path) => {
      const res = await plain.get(path);
      expect(res.status).toBe(403);
      expect(res.text).toContain('<code>forbidden</code>');
    });

    test.each(PAGES)('%s: 401 for the public', async (path) => {
      const res = await request(app).get(path);
      expect(res.status).toBe(401);
      // "Sign in to see it", coming back here.
      expect(res.text).toContain(`href="/login?next=${encodeURIComponent(path)}" data-action="sign-in-to-see"`);
    });

    test('a user id that is not a user is 404', async () => {
      for (const id of ['999', 'abc', '0', '01', '-1']) {
        const res = await admin.get(`/admin/users/${id}`);
        expect(res.status).toBe(404);
        expect(res.text).toContain('user_not_found');
      }
    });

    test.each(MALFORMED_PAGES)('%s: 403 for a member, 401 for the public, whatever the path or query', async (path) => {
      const res = await plain.get(path);
      expect(res.status).toBe(403);
      expect(res.text).toContain('<code>forbidden</code>');
      expect((await request(app).get(path)).status).toBe(401);
    });

    test.each(POSTS)(
      'POST %s: 403 for a member with a good or a bad form, 401 for the public; nothing changes',
      async (raw, good, bad) => {
        const path = raw.replace('$victim', String(victim.id)).replace('$member', String(member.id));
        const before = await everything();
        for (const body of [good, bad]) {
          const res = await plain
            .post(path)
            .type('form')
            .send({ ...body, _csrf: await csrf(plain) });
          expect(res.status).toBe(403);
          expect(res.text).toContain('<code>forbidden</code>');
          const anon = await request(app).post(path).type('form').send(body);
          expect(anon.status).toBe(401);
        }
        expect(await everything()).toBe(before);
      },
    );

    test('a member cannot post to the admin forms either', async () => {
      const before = userCount();
      const res = await plain
        .post('/admin/users')
        .type('form')
        .send({ email: 'x@example.org', name: 'X', _csrf: await csrf(plain) });
      expect(res.status).toBe(403);
      expect(userCount()).toBe(before);
    });

    test('every admin form refuses a post without the CSRF token', async () => {
      const before = (await t.ctx.meta.auditLog(1))[0].seq;
      const posts = [
        '/admin/users',
        '/admin/users/import',
        `/admin/users/${member.id}`,
        `/admin/users/${member.id}/disable`,
        `/admin/users/${member.id}/enable`,
        '/admin/groups',
        '/admin/stakeholders',
        '/admin/documents',
        '/admin/documents/terms-of-reference',
        '/admin/security',
      ];
      for (const path of posts) {
        const res = await admin.post(path).type('form').send({
          email: 'nocsrf@example.org',
          name: 'No',
          slug: 'nocsrf',
          title: 'No',
          group: 'mag',
          text: 'x',
          requireTotpFor: 'chair',
        });
        expect(res.status).toBe(403);
        expect(res.text).toContain('invalid_csrf');
      }
      expect((await t.ctx.meta.auditLog(1))[0].seq).toBe(before);
      expect(t.ctx.meta.get('users', member.id)!.disabled).toBe(false);
    });
  });

  describe('users', () => {
    test('the list shows each account with roles as badges', async () => {
      const res = await admin.get('/admin/users');
      expect(res.text).toContain('<th scope="col">Second factor</th>');
      expect(res.text).toContain(`href="/admin/users/${member.id}"`);
      expect(res.text).toContain('<span class="badge role">secretariat</span>');
      expect(res.text).toContain('Multistakeholder Advisory Group');
    });

    test('add a user', async () => {
      const res = await adminPost('/admin/users', {
        email: 'New.Person@Example.org',
        name: 'New Person',
        roles: ['member', 'chair'],
        groups: ['mag', 'wg-wsp'],
        password: '',
      });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/admin/users');
      const u = findUserByEmail(t.ctx, 'new.person@example.org')!;
      expect(u).toMatchObject({
        name: 'New Person',
        roles: ['chair', 'member'],
        groups: ['mag', 'wg-wsp'],
        passwordHash: null,
        disabled: false,
      });
      const page = await admin.get('/admin/users');
      expect(page.text).toContain('role="status"');
      expect(page.text).toContain('new.person@example.org');
      // The notice is shown once.
      expect((await admin.get('/admin/users')).text).not.toContain('role="status"');
    });

    test('add a user with an initial password: they can sign in', async () => {
      const res = await adminPost('/admin/users', { email: 'pw@example.org', name: 'Pat Word', password: PASSWORD });
      expect(res.status).toBe(303);
      expect(findUserByEmail(t.ctx, 'pw@example.org')!.roles).toEqual(['member']);
      const { location } = await signIn('pw@example.org');
      expect(location).toBe('/');
    });

    test('an e-mail already in use is refused with 409 on the same page, nothing changed', async () => {
      const before = userCount();
      const res = await adminPost('/admin/users', {
        email: 'MEM@example.org',
        name: 'Someone Else',
        roles: 'secretariat',
      });
      expect(res.status).toBe(409);
      expect(alertCode(res.text)).toBe('user_exists');
      expect(res.text).toContain('value="Someone Else"'); // the form keeps what was typed
      expect(userCount()).toBe(before);
      expect(t.ctx.meta.get('users', member.id)).toMatchObject({ name: 'Mia Member', roles: ['member'] });
    });

    test('an unknown role or group is refused, nothing changed', async () => {
      const before = userCount();
      const bad = await adminPost('/admin/users', { email: 'r@example.org', name: 'R', roles: 'king' });
      expect(bad.status).toBe(400);
      expect(alertCode(bad.text)).toBe('invalid_role');
      const noGroup = await adminPost('/admin/users', { email: 'r@example.org', name: 'R', groups: 'nope' });
      expect(noGroup.status).toBe(404);
      expect(alertCode(noGroup.text)).toBe('group_not_found');
      const shortPw = await adminPost('/admin/users', { email: 'r@example.org', name: 'R', password: 'short' });
      expect(shortPw.status).toBe(400);
      expect(userCount()).toBe(before);
    });

    test('import two users from CSV', async () => {
      const csv =
        'email,name,roles,groups\r\nimp1@example.org,Imre One,member;chair,mag;wg-oec\r\nimp2@example.org,"Ida Two, Jr.",,\r\n';
      const res = await adminPost('/admin/users/import', { csv });
      expect(res.status).toBe(303);
      expect(findUserByEmail(t.ctx, 'imp1@example.org')).toMatchObject({
        roles: ['chair', 'member'],
        groups: ['mag', 'wg-oec'],
      });
      expect(findUserByEmail(t.ctx, 'imp2@example.org')).toMatchObject({
        name: 'Ida Two, Jr.',
        roles: ['member'],
        groups: [],
      });
      expect((await admin.get('/admin/users')).text).toMatch(/2 accounts were imported/);
    });

    test('a bad CSV line is refused with 400 naming the line; no account is created', async () => {
      const before = userCount();
      const csv = 'email,name,roles,groups\nok3@example.org,Okay Three,member,\nnot-an-email,Broken Four,member,\n';
      const res = await adminPost('/admin/users/import', { csv });
      expect(res.status).toBe(400);
      expect(alertCode(res.text)).toBe('invalid_email');
      expect(res.text).toMatch(/role="alert"[^>]*>Line 3:/);
      expect(res.text).toContain('ok3@example.org'); // the textarea keeps the text
      expect(findUserByEmail(t.ctx, 'ok3@example.org')).toBeUndefined();
      expect(userCount()).toBe(before);

      const dup = await adminPost('/admin/users/import', { csv: 'email,name\nok3@example.org,A\nmem@example.org,B\n' });
      expect(dup.status).toBe(409);
      expect(dup.text).toMatch(/Line 3:/);
      expect(userCount()).toBe(before);
    });

    test('set name, roles and groups', async () => {
      const res = await adminPost(`/admin/users/${member.id}`, {
        name: 'Mia M. Member',
        roles: ['member', 'chair'],
        groups: ['wg-hybrid', 'wg-strategy'],
      });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(`/admin/users/${member.id}`);
      expect(t.ctx.meta.get('users', member.id)).toMatchObject({
        name: 'Mia M. Member',
        roles: ['chair', 'member'],
        groups: ['wg-hybrid', 'wg-strategy'],
      });
      const page = await admin.get(`/admin/users/${member.id}`);
      expect(page.text).toContain('role="status"');
      expect(page.text).toMatch(/id="role-chair"[^>]*checked/);
      expect(page.text).not.toMatch(/id="group-mag"[^>]*checked/);

      // No box ticked: no groups.
      const none = await adminPost(`/admin/users/${member.id}`, { name: 'Mia Member', roles: 'member' });
      expect(none.status).toBe(303);
      expect(t.ctx.meta.get('users', member.id)).toMatchObject({ name: 'Mia Member', roles: ['member'], groups: [] });
    });

    test('a bad name is refused on the user page, nothing changed', async () => {
      const before = t.ctx.meta.get('users', member.id);
      const res = await adminPost(`/admin/users/${member.id}`, { name: '', roles: 'secretariat' });
      expect(res.status).toBe(400);
      expect(alertCode(res.text)).toBe('invalid_name');
      expect(t.ctx.meta.get('users', member.id)).toEqual(before);
    });

    test('disable ends the session and the API token; enable does not bring the old token back', async () => {
      const { agent: victimAgent } = await signIn(victim.email);
      const { token } = await createToken(t.ctx, CLI_ACTOR, t.ctx.meta.get('users', victim.id)!, 'script');
      expect((await victimAgent.get('/account')).status).toBe(200);
      expect((await request(app).get('/api/v1/me').set('Authorization', `Bearer ${token}`)).status).toBe(200);

      const res = await adminPost(`/admin/users/${victim.id}/disable`, {});
      expect(res.status).toBe(303);
      expect(t.ctx.meta.get('users', victim.id)!.disabled).toBe(true);
      expect((await victimAgent.get('/account')).status).toBe(401);
      const api = await request(app).get('/api/v1/me').set('Authorization', `Bearer ${token}`);
      expect(api.status).toBe(401);
      expect(api.body.error.code).toBe('invalid_token');
      const page = await admin.get(`/admin/users/${victim.id}`);
      expect(page.text).toContain('<span class="badge disabled">disabled</span>');
      expect(page.text).toContain(`action="/admin/users/${victim.id}/enable"`);

      const back = await adminPost(`/admin/users/${victim.id}/enable`, {});
      expect(back.status).toBe(303);
      expect(t.ctx.meta.get('users', victim.id)!.disabled).toBe(false);
      // Disabling revoked the token for good: re-enabling the account does not revive it.
      expect((await request(app).get('/api/v1/me').set('Authorization', `Bearer ${token}`)).status).toBe(401);
      // The old session stays ended; signing in again works.
      expect((await victimAgent.get('/account')).status).toBe(401);
      await signIn(victim.email);
    });

    test('the secretariat cannot disable themselves', async () => {
      const res = await adminPost(`/admin/users/${sec.id}/disable`, {});
      expect(res.status).toBe(409);
      expect(alertCode(res.text)).toBe('cannot_disable_self');
      expect(t.ctx.meta.get('users', sec.id)!.disabled).toBe(false);
      expect((await admin.get('/admin')).status).toBe(200);
    });
  });

  describe('groups', () => {
    test('list with members and documents owned', async () => {
      const res = await admin.get('/admin/groups');
      expect(res.text).toMatch(
        /<code>wg-strategy<\/code><\/td><td>Working Group on Strategy<\/td><td>\d+<\/td><td>1<\/td>/,
      );
    });

    test('add a group; a taken slug is 409, a bad slug 400', async () => {
      const res = await adminPost('/admin/groups', { slug: 'wg-finance', name: 'Working Group on Finance' });
      expect(res.status).toBe(303);
      expect(t.ctx.meta.get('groups', 'wg-finance')).toMatchObject({ name: 'Working Group on Finance' });
      expect((await admin.get('/admin/groups')).text).toContain('<code>wg-finance</code>');

      const taken = await adminPost('/admin/groups', { slug: 'wg-finance', name: 'Other' });
      expect(taken.status).toBe(409);
      expect(alertCode(taken.text)).toBe('group_exists');
      expect(t.ctx.meta.get('groups', 'wg-finance')!.name).toBe('Working Group on Finance');

      const bad = await adminPost('/admin/groups', { slug: 'Bad Slug', name: 'Bad' });
      expect(bad.status).toBe(400);
      expect(alertCode(bad.text)).toBe('invalid_slug');
    });
  });

  describe('stakeholder groups', () => {
    test('the list shows the seeded groups with their members; the overview links to it', async () => {
      const res = await admin.get('/admin/stakeholders');
      expect(res.status).toBe(200);
      expect(res.text).toMatch(/<code>civil-society<\/code><\/td><td>Civil society<\/td><td>\d+<\/td>/);
      expect(res.text).toContain('aria-current="page">Stakeholder groups</a>');
      expect((await admin.get('/admin')).text).toContain('href="/admin/stakeholders"');
    });

    test('the add form: labelled fields and the CSRF token like its neighbours', async () => {
      const res = await admin.get('/admin/stakeholders');
      const form = /<form method="post" action="\/admin\/stakeholders"[\s\S]*?<\/form>/.exec(res.text)![0];
      expect(form).toMatch(/<input type="hidden" name="_csrf" value="[^"]+">/);
      for (const id of ['stakeholder-slug', 'stakeholder-name']) {
        expect(form).toContain(`<label for="${id}">`);
        expect(form).toContain(`id="${id}"`);
      }
    });

    test('add one; a taken slug is 409, a bad slug or name 400, and nothing changes', async () => {
      const res = await adminPost('/admin/stakeholders', { slug: 'youth', name: 'Youth' });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/admin/stakeholders');
      expect(t.ctx.meta.get('stakeholders', 'youth')).toMatchObject({ name: 'Youth' });
      const page = await admin.get('/admin/stakeholders');
      expect(page.text).toContain('role="status"');
      expect(page.text).toContain('<code>youth</code>');

      const before = (await t.ctx.meta.auditLog(1))[0].seq;
      const taken = await adminPost('/admin/stakeholders', { slug: 'youth', name: 'Other' });
      expect(taken.status).toBe(409);
      expect(alertCode(taken.text)).toBe('stakeholder_exists');
      expect(taken.text).toContain('value="Other"'); // the form keeps what was typed
      const bad = await adminPost('/admin/stakeholders', { slug: 'Bad Slug', name: 'Bad' });
      expect(bad.status).toBe(400);
      expect(alertCode(bad.text)).toBe('invalid_slug');
      const noName = await adminPost('/admin/stakeholders', { slug: 'fine', name: '' });
      expect(noName.status).toBe(400);
      expect(alertCode(noName.text)).toBe('invalid_name');
      expect(t.ctx.meta.get('stakeholders', 'youth')!.name).toBe('Youth');
      expect(t.ctx.meta.get('stakeholders', 'fine')).toBeUndefined();
      expect((await t.ctx.meta.auditLog(1))[0].seq).toBe(before);
    });

    test('a member cannot add one', async () => {
      const res = await plain
        .post('/admin/stakeholders')
        .type('form')
        .send({ slug: 'sneaky', name: 'Sneaky', _csrf: await csrf(plain) });
      expect(res.status).toBe(403);
      expect(t.ctx.meta.get('stakeholders', 'sneaky')).toBeUndefined();
    });

    test("a user's stakeholder group: the select on the user page, set, kept, cleared", async () => {
      const page = await admin.get(`/admin/users/${chair.id}`);
      expect(page.text).toContain('<label for="stakeholder">Stakeholder group</label>');
      expect(page.text).toMatch(
        /<select id="stakeholder" name="stakeholder">\s*<option value="" selected>None<\/option>/,
      );

      const set = await adminPost(`/admin/users/${chair.id}`, {
        name: 'Cara Chair',
        roles: 'chair',
        stakeholder: 'private-sector',
      });
      expect(set.status).toBe(303);
      expect(t.ctx.meta.get('users', chair.id)!.stakeholder).toBe('private-sector');
      const shown = await admin.get(`/admin/users/${chair.id}`);
      expect(shown.text).toContain('<option value="private-sector" selected>Private sector</option>');
      expect((await admin.get('/admin/users')).text).toMatch(/Cara Chair[\s\S]*?<td>Private sector<\/td>/);
      expect((await admin.get('/admin/stakeholders')).text).toMatch(
        /<code>private-sector<\/code><\/td><td>Private sector<\/td><td>1<\/td>/,
      );

      // A form without the field (an older page) leaves it as it is.
      await adminPost(`/admin/users/${chair.id}`, { name: 'Cara Chair', roles: 'chair' });
      expect(t.ctx.meta.get('users', chair.id)!.stakeholder).toBe('private-sector');

      const cleared = await adminPost(`/admin/users/${chair.id}`, {
        name: 'Cara Chair',
        roles: 'chair',
        stakeholder: '',
      });
      expect(cleared.status).toBe(303);
      expect(t.ctx.meta.get('users', chair.id)!.stakeholder ?? null).toBeNull();
    });

    test('an unknown stakeholder group is refused with 400 on the user page; nothing changed', async () => {
      const before = t.ctx.meta.get('users', chair.id);
      const res = await adminPost(`/admin/users/${chair.id}`, {
        name: 'Cara Renamed',
        roles: 'chair',
        stakeholder: 'atlantis',
      });
      expect(res.status).toBe(400);
      expect(alertCode(res.text)).toBe('unknown_stakeholder');
      expect(res.text).toContain('value="Cara Renamed"');
      expect(t.ctx.meta.get('users', chair.id)).toEqual(before);
    });

    test('add a user with a stakeholder group; an unknown one adds nobody', async () => {
      const form = (await admin.get('/admin/users')).text;
      expect(form).toContain('<label for="add-stakeholder">Stakeholder group</label>');
      const res = await adminPost('/admin/users', {
        email: 'gov@example.org',
        name: 'Gus Gov',
        stakeholder: 'government',
        password: '',
      });
      expect(res.status).toBe(303);
      expect(findUserByEmail(t.ctx, 'gov@example.org')).toMatchObject({ stakeholder: 'government', roles: ['member'] });
      const plainAdd = await adminPost('/admin/users', {
        email: 'nogroup@example.org',
        name: 'No Group',
        stakeholder: '',
        password: '',
      });
      expect(plainAdd.status).toBe(303);
      expect(findUserByEmail(t.ctx, 'nogroup@example.org')!.stakeholder ?? null).toBeNull();

      const before = userCount();
      const bad = await adminPost('/admin/users', {
        email: 'bad@example.org',
        name: 'Bad',
        stakeholder: 'atlantis',
        password: '',
      });
      expect(bad.status).toBe(400);
      expect(alertCode(bad.text)).toBe('unknown_stakeholder');
      expect(userCount()).toBe(before);
    });

    test('the CSV import takes a stakeholder column (slug or name)', async () => {
      const res = await adminPost('/admin/users/import', {
        csv: 'email,name,roles,groups,stakeholder\r\ncs1@example.org,Cee One,member,,Civil Society\r\n',
      });
      expect(res.status).toBe(303);
      expect(findUserByEmail(t.ctx, 'cs1@example.org')!.stakeholder).toBe('civil-society');
    });
  });

  describe('documents', () => {
    test('add a document: published as version 1', async () => {
      const res = await adminPost('/admin/documents', {
        slug: 'code-of-conduct',
        title: 'Code of Conduct',
        group: 'mag',
        summary: '',
        text: '# Code of Conduct\r\n\r\nBe kind.\r\n',
      });
      expect(res.status).toBe(303);
      const api = await request(app).get('/api/v1/documents/code-of-conduct');
      expect(api.status).toBe(200);
      expect(api.body).toMatchObject({
        slug: 'code-of-conduct',
        title: 'Code of Conduct',
        group: 'mag',
        version: { number: 1 },
      });
      expect(api.body.text).toBe('# Code of Conduct\n\nBe kind.\n');
      expect(t.ctx.meta.get('versions', 'code-of-conduct/1')!.author.email).toBe(sec.email);
    });

    test('adding with a taken slug, an unknown group or no title is refused, nothing published', async () => {
      const taken = await adminPost('/admin/documents', {
        slug: 'code-of-conduct',
        title: 'Again',
        group: 'mag',
        text: 'x',
      });
      expect(taken.status).toBe(409);
      expect(alertCode(taken.text)).toBe('document_exists');
      const noGroup = await adminPost('/admin/documents', {
        slug: 'orphan',
        title: 'Orphan',
        group: 'nope',
        text: 'x',
      });
      expect(noGroup.status).toBe(404);
      expect(alertCode(noGroup.text)).toBe('group_not_found');
      const noTitle = await adminPost('/admin/documents', { slug: 'orphan', title: '  ', group: 'mag', text: 'x' });
      expect(noTitle.status).toBe(400);
      expect(alertCode(noTitle.text)).toBe('invalid_title');
      expect(noTitle.text).toContain('value="orphan"');
      expect(t.ctx.meta.get('documents', 'orphan')).toBeUndefined();
      expect(t.ctx.meta.get('documents', 'code-of-conduct')!.latest).toBe(1);
    });

    test('change the title and the owning group', async () => {
      const res = await adminPost('/admin/documents/code-of-conduct', {
        title: 'Code of Conduct for Meetings',
        group: 'wg-hybrid',
      });
      expect(res.status).toBe(303);
      const api = await request(app).get('/api/v1/documents/code-of-conduct');
      expect(api.body).toMatchObject({
        title: 'Code of Conduct for Meetings',
        group: 'wg-hybrid',
        version: { number: 1 },
      });
      expect((await t.ctx.meta.auditLog(1))[0]).toMatchObject({
        action: 'document.updated',
        subject: 'document/code-of-conduct',
        actor: sec.email,
      });

      const page = await admin.get('/admin/documents');
      expect(page.text).toContain('role="status"');
      expect(page.text).toContain('Code of Conduct for Meetings');
    });

    test('a bad title or group is refused on the page, nothing changed', async () => {
      const seq = (await t.ctx.meta.auditLog(1))[0].seq;
      const badTitle = await adminPost('/admin/documents/code-of-conduct', { title: 'Two\nlines', group: 'mag' });
      expect(badTitle.status).toBe(400);
      expect(alertCode(badTitle.text)).toBe('invalid_title');
      expect(badTitle.text).toMatch(/<details open>/);
      const badGroup = await adminPost('/admin/documents/code-of-conduct', { title: 'Fine', group: 'nope' });
      expect(badGroup.status).toBe(404);
      expect(alertCode(badGroup.text)).toBe('group_not_found');
      const noDoc = await adminPost('/admin/documents/no-such-doc', { title: 'Fine' });
      expect(noDoc.status).toBe(404);
      expect(alertCode(noDoc.text)).toBe('document_not_found');
      expect(t.ctx.meta.get('documents', 'code-of-conduct')).toMatchObject({
        title: 'Code of Conduct for Meetings',
        group: 'wg-hybrid',
      });
      expect((await t.ctx.meta.auditLog(1))[0].seq).toBe(seq);
    });

    test('set the label mail subjects carry, refuse a bad one, and clear it back to the default', async () => {
      const form = await admin.get('/admin/documents');
      expect(form.text).toContain('id="label-code-of-conduct"');
      expect(form.text).toContain('placeholder="CoC"');
      const res = await adminPost('/admin/documents/code-of-conduct', { label: 'Conduct' });
      expect(res.status).toBe(303);
      expect(t.ctx.meta.get('documents', 'code-of-conduct')!.label).toBe('Conduct');
      expect((await admin.get('/admin/documents')).text).toMatch(
        /id="label-code-of-conduct" name="label" value="Conduct"/,
      );
      const bad = await adminPost('/admin/documents/code-of-conduct', { label: '[far too long a label]' });
      expect(bad.status).toBe(400);
      expect(alertCode(bad.text)).toBe('invalid_label');
      expect(bad.text).toMatch(/<details open>/);
      expect(t.ctx.meta.get('documents', 'code-of-conduct')!.label).toBe('Conduct');
      expect((await adminPost('/admin/documents/code-of-conduct', { label: '' })).status).toBe(303);
      expect(t.ctx.meta.get('documents', 'code-of-conduct')!.label).toBeUndefined();
    });
  });

  describe('audit log', () => {
    test('lists what happened, newest first', async () => {
      const res = await admin.get('/admin/audit');
      expect(res.status).toBe(200);
      expect(res.text).toContain('<th scope="col">Subject</th>');
      expect(res.text).toContain('<code>user.created</code>');
      expect(res.text).toContain('user/new.person@example.org');
      expect(res.text).toContain('<time datetime="2026-01-15T10:00:00.000Z"');
      const first = res.text.indexOf('document.updated');
      const created = res.text.indexOf('document.created');
      expect(first).toBeGreaterThan(0);
      expect(first).toBeLessThan(created);
    });

    test('rows kept between requests read as they were made; a new entry shows at once, older pages stay whole', async () => {
      const blank = (html: string) => html.replace(/name="_csrf" value="[^"]*"/g, 'name="_csrf" value=""');
      const rows = (html: string) => html.match(/<tr><td><time/g)?.length ?? 0;
      const made = await admin.get('/admin/audit?limit=3');
      const kept = await admin.get('/admin/audit?limit=3');
      expect(blank(kept.text)).toBe(blank(made.text));
      expect(rows(kept.text)).toBe(3);
      const older = /href="\/admin\/audit\?limit=3&amp;before=(\d+)"/.exec(kept.text)![1];
      const olderPage = blank((await admin.get(`/admin/audit?limit=3&before=${older}`)).text);
      await addUser(t.ctx, CLI_ACTOR, { email: 'kept.rows@example.org', name: 'Kept Rows', roles: ['member'] });
      const after = await admin.get('/admin/audit?limit=3');
      expect(after.text).toContain('user/kept.rows@example.org');
      expect(rows(after.text)).toBe(3);
      expect(blank((await admin.get(`/admin/audit?limit=3&before=${older}`)).text)).toBe(olderPage);
    });

    test('?limit= is validated', async () => {
      const one = await admin.get('/admin/audit?limit=1');
      expect(one.status).toBe(200);
      expect(one.text.match(/<tr><td><time/g)).toHaveLength(1);
      for (const bad of ['0', 'abc', '5001', '-3', '1.5']) {
        const res = await admin.get(`/admin/audit?limit=${bad}`);
        expect(res.status).toBe(400);
        expect(res.text).toContain('invalid_limit');
      }
      expect((await admin.get('/admin/audit?limit=5000')).status).toBe(200);
      for (const bad of ['0', 'abc', '-3']) {
        const res = await admin.get(`/admin/audit?before=${bad}`);
        expect(res.status).toBe(400);
        expect(res.text).toContain('invalid_before');
      }
    });

    test('"Older entries" pages back through the whole log, each row once; the last page has no such link', async () => {
      const rows = (html: string) => html.match(/<tr><td><time[\s\S]*?<\/tr>/g) ?? [];
      const whole = rows((await admin.get('/admin/audit?limit=5000')).text);
      expect(whole.length).toBeGreaterThan(6);
      const joined: string[] = [];
      let url = '/admin/audit?limit=4';
      for (let n = 0; n < 200 && url; n++) {
        const res = await admin.get(url);
        expect(res.status).toBe(200);
        joined.push(...rows(res.text));
        const next = /<a href="([^"]+)" rel="next">Older entries<\/a>/.exec(res.text)?.[1];
        url = next ? next.replace(/&amp;/g, '&') : '';
        if (n > 0) expect(res.text).toContain('>Newest entries</a>');
      }
      expect(url).toBe('');
      expect(joined).toEqual(whole);
    });
  });

  describe('security', () => {
    test('requiring a second factor for chairs sends a chair without one to /account/totp', async () => {
      const before = await signIn(chair.email);
      expect(before.location).toBe('/');

      const res = await adminPost('/admin/security', { requireTotpFor: 'chair' });
      expect(res.status).toBe(303);
      expect(t.ctx.meta.get('settings', 'security')).toEqual({ requireTotpFor: ['chair'] });
      expect((await t.ctx.meta.auditLog(1))[0]).toMatchObject({ action: 'settings.updated', actor: sec.email });
      expect((await admin.get('/admin/security')).text).toMatch(/id="totp-chair"[^>]*checked/);

      const after = await signIn(chair.email);
      expect(after.location).toBe('/account/totp');
      const elsewhere = await after.agent.get('/');
      expect(elsewhere.status).toBe(303);
      expect(elsewhere.headers.location).toBe('/account/totp');
      // The secretariat is not affected.
      expect((await admin.get('/admin')).status).toBe(200);
    });

    test('an unknown role is refused, nothing changed; clearing works', async () => {
      const bad = await adminPost('/admin/security', { requireTotpFor: ['chair', 'member'] });
      expect(bad.status).toBe(400);
      expect(alertCode(bad.text)).toBe('invalid_role');
      expect(t.ctx.meta.get('settings', 'security')).toEqual({ requireTotpFor: ['chair'] });

      const clear = await adminPost('/admin/security', {});
      expect(clear.status).toBe(303);
      expect(t.ctx.meta.get('settings', 'security')).toEqual({ requireTotpFor: [] });
      expect((await signIn(chair.email)).location).toBe('/');
    });
  });

  describe('output is escaped', () => {
    test('hostile names show as text', async () => {
      const res = await adminPost('/admin/groups', { slug: 'wg-evil', name: '<img src=x onerror=alert(1)> & "q"' });
      expect(res.status).toBe(303);
      const user = await adminPost('/admin/users', {
        email: 'quote@example.org',
        name: 'Ann "Quote" & Co',
        groups: 'wg-evil',
      });
      expect(user.status).toBe(303);
      for (const path of [
        '/admin/groups',
        '/admin/users',
        `/admin/users/${findUserByEmail(t.ctx, 'quote@example.org')!.id}`,
        '/admin/documents',
      ]) {
        const page = await admin.get(path);
        expect(page.status).toBe(200);
        expect(page.text).not.toContain('<img src=x');
        expect(page.text).toContain('&lt;img src=x onerror=alert(1)&gt; &amp; &#34;q&#34;');
      }
      expect((await admin.get('/admin/users')).text).toContain('Ann &#34;Quote&#34; &amp; Co');
    });
  });

  describe('the mail queue page', () => {
    test('lists compact records (sent, past their retention) beside whole ones', async () => {
      const { compactMail } = await import('../../server/services/notifications/deliver.js');
      const sent = (id: number, to: string[], bcc: string[]) =>
        compactMail(
          {
            id,
            messageId: `<compact-${id}@ratify.test>`,
            event: 'test',
            to,
            bcc,
            subject: `Compact ${id}`,
            text: 'gone',
            html: '<p>gone</p>',
            inReplyTo: null,
            references: [],
            listUnsubscribe: null,
            state: 'sent',
            attempts: 1,
            nextAttemptAt: '2025-11-01T00:00:00.000Z',
            lastError: null,
            createdAt: '2025-11-01T00:00:00.000Z',
            sentAt: '2025-11-01T00:00:01.000Z',
          },
          '2025-12-02T00:00:00.000Z',
        );
      const a = t.ctx.meta.nextId('mails');
      const b = t.ctx.meta.nextId('mails');
      const c = t.ctx.meta.nextId('mails');
      const { bodyDroppedAt: _d, ...waiting } = {
        ...sent(c, ['two@example.org'], []),
        text: 'waiting',
        html: '<p>waiting</p>',
        state: 'pending' as const,
        attempts: 0,
        nextAttemptAt: '2099-01-01T00:00:00.000Z',
        sentAt: null,
      };
      await t.ctx.meta.write({
        actor: null,
        at: clock(),
        events: [],
        puts: {
          mails: {
            [a]: sent(a, ['one@example.org'], []),
            [b]: sent(b, [], ['x@example.org', 'y@example.org']),
            [c]: waiting,
          },
        },
      });
      expect(t.ctx.meta.get('mails', a)).not.toHaveProperty('bcc');
      const res = await admin.get('/admin/mail');
      expect(res.status).toBe(200);
      expect(res.text).toContain(`Compact ${a}`);
      expect(res.text).toContain('one@example.org');
      expect(res.text).toContain('2 members (Bcc)');
      // Each list's scrolling region has a name of its own (landmarks must be told apart).
      const regions = [...res.text.matchAll(/role="region" aria-label="([^"]+)"/g)].map((m) => m[1]);
      expect(regions.length).toBeGreaterThanOrEqual(2);
      expect(new Set(regions).size).toBe(regions.length);
    });
  });
});
