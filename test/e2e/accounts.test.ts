/**
 * Accounts through the pages, in Chromium (issue 3): a member signs in through the form, sees
 * their name, opens My account, mistypes a password, signs out; the secretariat walks the
 * admin pages (adds a user, gives them a group, reads the audit log, security, mail queue);
 * a member turns on the second factor and signs in with a one-time code computed from the
 * key on the page and the server's clock. axe (WCAG 2.1 AA) on every page and state reached;
 * screenshots in test-output/screenshots/accounts-*.png.
 */
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { generate } from 'otplib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { testClock } from '../helpers/data.js';
import { addUser } from '../../server/services/accounts/users.js';
import {
  DESKTOP,
  PHONE,
  expectNoAxeViolations,
  launchBrowser,
  newReader,
  serveApp,
  shot,
  signInAs,
  submitLogin,
} from './helpers.js';

const PASSWORD = 'a long enough password';

const PEOPLE = {
  mia: { email: 'mia@example.org', name: 'Mia Member', roles: ['member'], groups: [] },
  sam: { email: 'sam@example.org', name: 'Sam Secretariat', roles: ['secretariat'], groups: [] },
  tove: { email: 'tove@example.org', name: 'Tove Twofactor', roles: ['member'], groups: ['wg-strategy'] },
} as const;
type Who = keyof typeof PEOPLE;

const NEW_USER = { email: 'nina@example.org', name: 'Nina Newcomer' };

const clock = testClock('2026-01-15T10:00:00Z');
let server: Awaited<ReturnType<typeof serveApp>>;
let browser: Browser;
let base: string;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  const launching = launchBrowser();
  server = await serveApp({ clock });
  base = server.baseUrl;
  for (const p of Object.values(PEOPLE)) {
    await addUser(server.t.ctx, CLI_ACTOR, {
      email: p.email,
      name: p.name,
      roles: [...p.roles],
      groups: [...p.groups],
      password: PASSWORD,
    });
  }
  browser = await launching;
}, 120_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await server?.close();
});

async function newPage(viewport = DESKTOP, isMobile = false): Promise<Page> {
  const context = await newReader(browser, viewport, { isMobile });
  contexts.push(context);
  return context.newPage();
}

/** Go to a page and expect its status. */
async function visit(page: Page, url: string, status = 200): Promise<void> {
  const res = await page.goto(base + url);
  expect(res?.status()).toBe(status);
}

/** Sign in through the form and insist it worked: the name is in the top bar. */
async function signIn(page: Page, who: Who): Promise<void> {
  await signInAs(page, base, PEOPLE[who], PASSWORD);
}

/** Press "Sign out" in the top bar; the front page comes back with "Sign in" instead of a name. */
async function signOut(page: Page, who: Who): Promise<void> {
  await page.locator('.topbar').getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(`${base}/`);
  expect((await page.locator('.topbar .who').textContent())?.trim()).toBe('Sign in');
  expect(await page.locator('.topbar').innerText()).not.toContain(PEOPLE[who].name);
}

/** Nothing sticks out sideways: the page scrolls only vertically. */
async function expectNoSidewaysScroll(page: Page): Promise<void> {
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
  expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
}

/** The current TOTP code for a key, at the server's (test) clock. */
const codeNow = (secret: string) => generate({ secret, epoch: Math.floor(clock().getTime() / 1000) });

const auditActions = async () => (await server.t.ctx.meta.auditLog(5000)).map((e) => e.action);

describe('a member signs in, looks at their account and signs out (desktop)', () => {
  let page: Page;
  beforeAll(async () => {
    page = await newPage();
  });

  test('the sign-in page: labelled fields, no name in the top bar', async () => {
    await visit(page, '/login');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in');
    expect(await page.getByLabel('E-mail').getAttribute('autocomplete')).toBe('username');
    expect(await page.getByLabel('Password').getAttribute('type')).toBe('password');
    expect((await page.locator('.topbar .who').textContent())?.trim()).toBe('Sign in');
    await shot(page, 'accounts-01-login');
    await expectNoAxeViolations(page);
  });

  test('a wrong password: the form comes back with the error as an alert, the address kept, the password not', async () => {
    const answered = page.waitForResponse((r) => r.url() === `${base}/login` && r.request().method() === 'POST');
    await submitLogin(page, PEOPLE.mia.email, 'not the password at all');
    expect((await answered).status()).toBe(401);
    const alert = page.getByRole('alert');
    expect(await alert.textContent()).toBe('That e-mail and password do not match an active account.');
    expect(await page.getByLabel('E-mail').inputValue()).toBe(PEOPLE.mia.email);
    expect(await page.getByLabel('E-mail').getAttribute('aria-describedby')).toBe(await alert.getAttribute('id'));
    expect(await page.getByLabel('Password').inputValue()).toBe('');
    expect(await page.content()).not.toContain('not the password at all');
    expect((await page.locator('.topbar .who').textContent())?.trim()).toBe('Sign in');
    await shot(page, 'accounts-02-login-error');
    await expectNoAxeViolations(page);
  });

  test('the right password signs in: the name is in the top bar', async () => {
    await submitLogin(page, PEOPLE.mia.email, PASSWORD);
    await page.waitForURL(`${base}/`);
    const topbar = page.locator('.topbar');
    expect(await topbar.locator('.who').textContent()).toBe(PEOPLE.mia.name);
    expect(await topbar.getByRole('link', { name: 'My drafts' }).isVisible()).toBe(true);
    expect(await topbar.getByRole('link', { name: 'Rounds' }).isVisible()).toBe(true);
    // A member is not the secretariat: no Admin link.
    expect(await topbar.getByRole('link', { name: 'Admin' }).count()).toBe(0);
    expect(await auditActions()).toEqual(expect.arrayContaining(['login.failed', 'login']));
  });

  test('the name leads to My account, which shows who is signed in', async () => {
    await page.locator('.topbar').getByRole('link', { name: PEOPLE.mia.name }).click();
    await page.waitForURL(`${base}/account`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('My account');
    const facts = await page.locator('dl.facts').innerText();
    expect(facts).toContain(PEOPLE.mia.name);
    expect(facts).toContain(PEOPLE.mia.email);
    expect(facts).toMatch(/Second factor\s+off/);
    expect(await page.getByRole('heading', { level: 2 }).allTextContents()).toEqual([
      'E-mail',
      'Change password',
      'API tokens',
    ]);
    expect(await page.getByRole('radio', { name: 'as it happens' }).isChecked()).toBe(true);
    await shot(page, 'accounts-03-account');
    await expectNoAxeViolations(page);
  });

  test('a wrong current password on My account is refused with an alert, and nothing changes', async () => {
    const before = server.t.ctx.meta.all('users').find((u) => u.email === PEOPLE.mia.email)!.passwordHash;
    await page.getByLabel('Current password').fill('this is not my password');
    await page.getByLabel(/^New password \(at least/).fill('another long password');
    await page.getByLabel('New password again').fill('another long password');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.waitForURL(`${base}/account/password`);
    expect(await page.getByRole('alert').textContent()).toBe('Your current password is not right.');
    expect(await page.getByRole('status').count()).toBe(0);
    expect(server.t.ctx.meta.all('users').find((u) => u.email === PEOPLE.mia.email)!.passwordHash).toBe(before);
    await shot(page, 'accounts-04-account-wrong-password');
    await expectNoAxeViolations(page);
  });

  test('"Sign out" ends the session: the name is gone and My account asks to sign in', async () => {
    await signOut(page, 'mia');
    await visit(page, '/account', 401);
    expect(await page.getByRole('link', { name: 'Sign in to see it', exact: true }).getAttribute('href')).toBe(
      '/login?next=%2Faccount',
    );
    expect(await auditActions()).toContain('logout');
  });

  test('"Forgot your password?" asks for the address and answers the same for any address', async () => {
    await visit(page, '/login');
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.waitForURL(`${base}/password/forgot`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Forgot your password?');
    await shot(page, 'accounts-05-forgot');
    await expectNoAxeViolations(page);
    await page.getByLabel('E-mail').fill('nobody@example.org');
    await page.getByRole('button', { name: 'Send the link' }).click();
    await page.waitForURL(`${base}/password/forgot`);
    expect(await page.getByRole('status').innerText()).toContain('If nobody@example.org belongs to an active account');
    await expectNoAxeViolations(page);
  });
});

describe('sign in and My account at phone width (390×844)', () => {
  let page: Page;
  beforeAll(async () => {
    page = await newPage(PHONE, true);
  });

  test('the sign-in page fits the screen', async () => {
    await visit(page, '/login');
    await expectNoSidewaysScroll(page);
    await shot(page, 'accounts-phone-01-login');
    await expectNoAxeViolations(page);
  });

  test('My account fits the screen', async () => {
    await submitLogin(page, PEOPLE.mia.email, PASSWORD);
    await page.waitForURL(`${base}/`);
    await visit(page, '/account');
    expect(await page.locator('.topbar .who').textContent()).toBe(PEOPLE.mia.name);
    await expectNoSidewaysScroll(page);
    await shot(page, 'accounts-phone-02-account');
    await expectNoAxeViolations(page);
  });
});

describe('the secretariat manages accounts through the admin pages', () => {
  let page: Page;
  let newUserUrl: string;
  beforeAll(async () => {
    page = await newPage();
  });
  const adminNav = () => page.getByRole('navigation', { name: 'Admin' });

  test('signs in and opens Admin from the top bar', async () => {
    await signIn(page, 'sam');
    await page.locator('.topbar').getByRole('link', { name: 'Admin' }).click();
    await page.waitForURL(`${base}/admin`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Admin');
    expect(await adminNav().getByRole('link', { name: 'Overview' }).getAttribute('aria-current')).toBe('page');
    expect(await page.locator('.admin-cards').innerText()).toContain('3 active');
    await shot(page, 'accounts-10-admin');
    await expectNoAxeViolations(page);
  });

  test('Users lists the accounts', async () => {
    await adminNav().getByRole('link', { name: 'Users' }).click();
    await page.waitForURL(`${base}/admin/users`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Users');
    const names = await page
      .getByRole('table', { name: 'Accounts' })
      .locator('tbody tr td:first-child')
      .allTextContents();
    expect(names).toEqual(expect.arrayContaining(Object.values(PEOPLE).map((p) => p.name)));
    await shot(page, 'accounts-11-admin-users');
    await expectNoAxeViolations(page);
  });

  test('adds a user through the form', async () => {
    const form = page.getByRole('region', { name: 'Add a user' });
    await form.getByLabel('E-mail').fill(NEW_USER.email);
    await form.getByLabel('Name', { exact: true }).fill(NEW_USER.name);
    await form.getByLabel('member', { exact: true }).check();
    await form.getByRole('button', { name: 'Add user' }).click();
    await page.waitForURL(`${base}/admin/users`);
    expect(await page.getByRole('status').textContent()).toBe(`${NEW_USER.name} (${NEW_USER.email}) was added.`);
    const row = page
      .getByRole('table', { name: 'Accounts' })
      .locator('tbody tr', { has: page.getByRole('link', { name: NEW_USER.name }) });
    // Groups: none; stakeholder group: none.
    expect(await row.innerText()).toMatch(/nina@example\.org\s+member\s+none\s+none\s+active\s+not set\s+off/);
    // The form is empty again.
    expect(await form.getByLabel('E-mail').inputValue()).toBe('');
    await expectNoAxeViolations(page);
  });

  test('opens the new user and puts them in a working group', async () => {
    await page.getByRole('link', { name: NEW_USER.name }).click();
    await page.waitForURL(/\/admin\/users\/\d+$/);
    newUserUrl = page.url();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(NEW_USER.name);
    expect(await page.locator('dl.facts').innerText()).toMatch(/Password\s+not set/);
    await expectNoAxeViolations(page);
    const group = page.getByRole('group', { name: 'Groups' }).getByLabel('Working Group on Strategy');
    expect(await group.isChecked()).toBe(false);
    await group.check();
    await page.getByRole('region', { name: 'Name, roles and groups' }).getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(newUserUrl);
    expect(await page.getByRole('status').textContent()).toBe('The changes were saved.');
    expect(await page.getByRole('group', { name: 'Groups' }).getByLabel('Working Group on Strategy').isChecked()).toBe(
      true,
    );
    const nina = server.t.ctx.meta.all('users').find((u) => u.email === NEW_USER.email)!;
    expect(nina.groups).toEqual(['wg-strategy']);
    await shot(page, 'accounts-12-admin-user-saved');
    await expectNoAxeViolations(page);
  });

  test('sends the new user an invitation: it waits in the mail queue', async () => {
    await page.getByRole('button', { name: `Send an invitation to ${NEW_USER.email}` }).click();
    await page.waitForURL(newUserUrl);
    expect(await page.getByRole('status').textContent()).toBe(`An invitation is on its way to ${NEW_USER.email}.`);
    await adminNav().getByRole('link', { name: 'Mail queue' }).click();
    await page.waitForURL(`${base}/admin/mail`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Mail queue');
    const rows = await page.locator('table.list tbody tr').allInnerTexts();
    expect(rows.some((r) => r.includes(NEW_USER.email))).toBe(true);
    await shot(page, 'accounts-13-admin-mail');
    await expectNoAxeViolations(page);
  });

  test('Groups shows the working group with its new member', async () => {
    await adminNav().getByRole('link', { name: 'Groups', exact: true }).click();
    await page.waitForURL(`${base}/admin/groups`);
    const row = page.locator('table.list tbody tr', { hasText: 'wg-strategy' });
    // Tove and now Nina.
    expect(await row.locator('td').nth(2).textContent()).toBe('2');
    await shot(page, 'accounts-14-admin-groups');
    await expectNoAxeViolations(page);
  });

  test('puts the new user in a stakeholder group with the select; Stakeholder groups counts them', async () => {
    await page.goto(newUserUrl);
    const select = page.getByLabel('Stakeholder group');
    expect(await select.inputValue()).toBe('');
    await select.selectOption({ label: 'Civil society' });
    await page.getByRole('region', { name: 'Name, roles and groups' }).getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(newUserUrl);
    expect(await page.getByLabel('Stakeholder group').inputValue()).toBe('civil-society');
    expect(server.t.ctx.meta.all('users').find((u) => u.email === NEW_USER.email)!.stakeholder).toBe('civil-society');
    await adminNav().getByRole('link', { name: 'Stakeholder groups' }).click();
    await page.waitForURL(`${base}/admin/stakeholders`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Stakeholder groups');
    const row = page.locator('table.list tbody tr', { hasText: 'civil-society' });
    expect(await row.locator('td').nth(2).textContent()).toBe('1');
    await shot(page, 'accounts-14b-admin-stakeholders');
    await expectNoAxeViolations(page);
  });

  test('Documents lists the published documents with their owning group', async () => {
    await adminNav().getByRole('link', { name: 'Documents' }).click();
    await page.waitForURL(`${base}/admin/documents`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Documents');
    const row = page.locator('table.list tbody tr', { hasText: 'terms-of-reference' });
    expect(await row.innerText()).toContain('Working Group on Strategy');
    await shot(page, 'accounts-15-admin-documents');
    await expectNoAxeViolations(page);
  });

  test('the audit log shows the sign-ins and the new account', async () => {
    await adminNav().getByRole('link', { name: 'Audit log' }).click();
    await page.waitForURL(`${base}/admin/audit`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Audit log');
    const rows = page.locator('table.audit tbody tr');
    const actions = await rows.locator('td:nth-child(3)').allTextContents();
    expect(actions).toEqual(
      expect.arrayContaining(['login', 'user.created', 'user.updated', 'login.failed', 'logout']),
    );
    const created = await rows
      .filter({ has: page.locator('code', { hasText: /^user\.created$/ }) })
      .filter({ hasText: NEW_USER.email })
      .innerText();
    expect(created).toContain(PEOPLE.sam.email);
    const login = await rows
      .filter({ has: page.locator('code', { hasText: /^login$/ }) })
      .filter({ hasText: `user/${PEOPLE.sam.email}` })
      .first()
      .innerText();
    expect(login).toContain(PEOPLE.sam.email);
    await shot(page, 'accounts-16-admin-audit');
    await expectNoAxeViolations(page);
  });

  test('Security shows whom a second factor is required for', async () => {
    await adminNav().getByRole('link', { name: 'Security' }).click();
    await page.waitForURL(`${base}/admin/security`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Security');
    expect(
      await page.getByRole('group', { name: 'Require a second factor for' }).getByRole('checkbox').count(),
    ).toBeGreaterThan(0);
    await shot(page, 'accounts-17-admin-security');
    await expectNoAxeViolations(page);
  });

  test('a member cannot open the admin pages', async () => {
    const member = await newPage();
    await signIn(member, 'mia');
    await visit(member, '/admin/users', 403);
    expect(await member.getByRole('heading', { level: 1 }).textContent()).not.toBe('Users');
  });
});

describe('a member turns on the second factor and signs in with a code', () => {
  let page: Page;
  let secret: string;
  beforeAll(async () => {
    page = await newPage();
  });

  test('My account leads to the second-factor page', async () => {
    await signIn(page, 'tove');
    await visit(page, '/account');
    await page.getByRole('link', { name: 'set up' }).click();
    await page.waitForURL(`${base}/account/totp`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Second factor');
    await shot(page, 'accounts-20-totp-start');
    await expectNoAxeViolations(page);
  });

  test('"Set up a second factor" shows a QR code and the key', async () => {
    await page.getByRole('button', { name: 'Set up a second factor' }).click();
    await page.waitForURL(`${base}/account/totp`);
    expect(await page.getByRole('img', { name: 'QR code for your authenticator app' }).isVisible()).toBe(true);
    secret = ((await page.locator('ol.steps code.token').textContent()) ?? '').trim();
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    await shot(page, 'accounts-21-totp-key');
    await expectNoAxeViolations(page);
  });

  test('a wrong code is refused with an alert and the key stays', async () => {
    const right = await codeNow(secret);
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
    await page.getByLabel('Code from the app').fill(wrong);
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.waitForURL(`${base}/account/totp/confirm`);
    expect(await page.getByRole('alert').textContent()).toBe(
      'That code is not right; check the time on your device and try again.',
    );
    expect(((await page.locator('ol.steps code.token').textContent()) ?? '').trim()).toBe(secret);
    await shot(page, 'accounts-22-totp-wrong-code');
    await expectNoAxeViolations(page);
  });

  test('the right code turns it on and shows ten recovery codes once', async () => {
    await page.getByLabel('Code from the app').fill(await codeNow(secret));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.waitForURL(`${base}/account/totp/confirm`);
    expect(await page.getByRole('status').innerText()).toContain('The second factor is on.');
    const codes = await page.locator('ul.codes li code').allTextContents();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    await shot(page, 'accounts-23-totp-recovery-codes');
    await expectNoAxeViolations(page);
    // Shown only once: the page afterwards says it is on, with the count left, not the codes.
    await visit(page, '/account/totp');
    expect(await page.locator('main').innerText()).toContain('You have 10 recovery codes left.');
    expect(await page.locator('ul.codes').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Turn the second factor off' }).isVisible()).toBe(true);
    await shot(page, 'accounts-24-totp-on');
    await expectNoAxeViolations(page);
    await visit(page, '/account');
    expect(await page.locator('dl.facts').innerText()).toMatch(/Second factor\s+on/);
  });

  test('signing in again asks for the code after the password', async () => {
    await signOut(page, 'tove');
    // The code used to turn it on may not be used again: wait for the app's next code.
    clock.advance(30_000);
    await visit(page, '/login');
    await submitLogin(page, PEOPLE.tove.email, PASSWORD);
    await page.waitForURL(`${base}/login/code`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('One-time code');
    // Not signed in yet.
    expect((await page.locator('.topbar .who').textContent())?.trim()).toBe('Sign in');
    await shot(page, 'accounts-25-login-code');
    await expectNoAxeViolations(page);
  });

  test('a wrong code is refused with an alert', async () => {
    const right = await codeNow(secret);
    await page.getByLabel('Code').fill(String((Number(right) + 1) % 1_000_000).padStart(6, '0'));
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${base}/login/code`);
    expect(await page.getByRole('alert').textContent()).toBe(
      'That code is not right. Use the current code from your app, or one of your recovery codes.',
    );
    expect((await page.locator('.topbar .who').textContent())?.trim()).toBe('Sign in');
    await shot(page, 'accounts-26-login-code-wrong');
    await expectNoAxeViolations(page);
  });

  test('the current code signs in', async () => {
    await page.getByLabel('Code').fill(await codeNow(secret));
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${base}/`);
    expect(await page.locator('.topbar .who').textContent()).toBe(PEOPLE.tove.name);
    expect(await auditActions()).toEqual(expect.arrayContaining(['totp.started', 'totp.enabled', 'login.totp']));
  });
});
