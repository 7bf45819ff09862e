import { ROLES, type Actor, type Role } from '../../domain/actor.js';
import { absent, checkEach, conflict, invalid } from '../../domain/errors.js';
import { authorize } from '../../domain/policy.js';
import { checkPassword } from '../../domain/passwordRules.js';
import { commonPasswords } from '../../store/commonPasswords.js';
import { isSlug } from '../../domain/slug.js';
import type { UserRecord } from '../../store/meta/schema.js';
import type { Ctx } from '../context.js';
import { checkStakeholder } from '../stakeholders.js';
import { randomBytes } from 'node:crypto';
import * as mail from '../../domain/mail.js';
import { mailSite, mergePuts, toPerson } from '../notifications/queue.js';

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

export const normaliseEmail = (email: string) => email.trim().toLowerCase();

export function findUserByEmail(ctx: Ctx, email: string): UserRecord | undefined {
  return ctx.meta.by('users', 'email', normaliseEmail(email))[0];
}

/** Every account holding the member role and not disabled, by id. */
export function activeMembers(ctx: Ctx): UserRecord[] {
  return ctx.meta.by('users', 'activeMember', 'yes');
}

export function getUser(ctx: Ctx, id: number): UserRecord {
  const u = ctx.meta.get('users', id);
  if (!u) throw absent('user');
  return u;
}

/**
 * The name shown for an account wherever a person acted (an author, a voter, who recorded a
 * ballot): its name, or `unknown` ("user 12" unless given) when there is no such account. Never
 * the address.
 */
export function userName(ctx: Ctx, id: number, unknown = `user ${id}`): string {
  return ctx.meta.get('users', id)?.name ?? unknown;
}

/** One account as the secretariat manages it (Admin › Users): 401 / 403 first, then 404 if there is none (any id that is not a positive whole number included). */
export function loadUser(ctx: Ctx, actor: Actor | null, id: number): UserRecord {
  authorize(actor, 'user.manage');
  const u = Number.isInteger(id) && id > 0 ? ctx.meta.get('users', id) : undefined;
  if (!u) throw absent('user');
  return u;
}

export function requireUserByEmail(ctx: Ctx, email: string): UserRecord {
  const u = findUserByEmail(ctx, email);
  if (!u) throw absent('user');
  return u;
}

/** The rules' view of a user. */
export const actorOf = (u: UserRecord): Actor => ({
  id: u.id,
  email: u.email,
  name: u.name,
  roles: u.roles,
  groups: u.groups,
});

/** What may be shown about a user (never the hash or the second-factor secret). */
export const publicUser = (u: UserRecord) => ({
  id: u.id,
  email: u.email,
  name: u.name,
  roles: u.roles,
  groups: u.groups,
  stakeholder: u.stakeholder ?? null,
  disabled: u.disabled,
  hasPassword: !!u.passwordHash,
  totp: !!u.totp?.enabled,
  createdAt: u.createdAt,
});

export function checkRoles(roles: readonly string[]): Role[] {
  for (const r of roles) {
    if (!ROLES.includes(r as Role))
      throw invalid('invalid_role', `Unknown role "${r}"; roles are ${ROLES.join(', ')}.`);
  }
  return [...new Set(roles as Role[])].sort();
}

export function checkGroups(ctx: Ctx, groups: readonly string[]): string[] {
  for (const g of groups) {
    if (!isSlug(g) || !ctx.meta.get('groups', g)) throw absent('group');
  }
  return [...new Set(groups)].sort();
}

export function checkEmail(email: string): string {
  if (!EMAIL.test(email.trim())) throw invalid('invalid_email', 'Give a valid e-mail address.');
  return normaliseEmail(email);
}

export function checkName(name: string): string {
  if (!name.trim() || name.length > 200 || /[\r\n\u0000<>]/.test(name))
    throw invalid('invalid_name', 'A name is one line of 1–200 characters, without < or >.');
  return name.trim();
}

export interface NewUser {
  email: string;
  name: string;
  roles?: string[];
  groups?: string[];
  /** The slug of the person's stakeholder group; absent or null: none. */
  stakeholder?: string | null;
  password?: string;
}

/** A new user as `prepareUser` checked it (the password, if any, still in clear: hash it before writing). */
export type PreparedUser = ReturnType<typeof prepareUser>;

/** Validate a new user fully (before any hashing or writing). */
export function prepareUser(ctx: Ctx, input: NewUser, taken = new Set<string>()) {
  // Every field's problem at once (a form lists them all); then whether the address is free.
  const u = checkEach('invalid_user', {
    email: () => checkEmail(input.email),
    name: () => checkName(input.name),
    roles: () => checkRoles(input.roles?.length ? input.roles : ['member']),
    groups: () => checkGroups(ctx, input.groups ?? []),
    stakeholder: () => checkStakeholder(ctx, input.stakeholder ?? null),
    password: () => (input.password === undefined ? undefined : checkPassword(input.password, commonPasswords())),
  });
  if (findUserByEmail(ctx, u.email) || taken.has(u.email))
    throw conflict('user_exists', `There is already an account for ${u.email}.`);
  return u;
}

/**
 * The record of a new account from a prepared (validated) user, with the next free id. `now`
 * is passed when several accounts are made in one write, so that they share one creation time.
 */
export function newUserRecord(
  ctx: Ctx,
  u: PreparedUser,
  passwordHash: string | null,
  now = ctx.clock().toISOString(),
): UserRecord {
  return {
    id: ctx.meta.nextId('users'),
    email: u.email,
    name: u.name,
    roles: u.roles,
    groups: u.groups,
    ...(u.stakeholder ? { stakeholder: u.stakeholder } : {}),
    disabled: false,
    passwordHash,
    sessionEpoch: 0,
    totp: null,
    createdAt: now,
    updatedAt: now,
  };
}

/** Create one account. Without a password the person cannot sign in until invited. */
export async function addUser(ctx: Ctx, by: Actor | null, input: NewUser): Promise<UserRecord> {
  authorize(by, 'user.manage');
  const u = prepareUser(ctx, input);
  const passwordHash = u.password ? await ctx.passwords.hash(u.password) : null;
  return ctx.accounts.run(async () => {
    // Check again: another request may have taken the address while we hashed.
    if (findUserByEmail(ctx, u.email)) throw conflict('user_exists', `There is already an account for ${u.email}.`);
    const user = newUserRecord(ctx, u, passwordHash);
    await ctx.meta.write({
      actor: by?.email ?? null,
      at: ctx.clock(),
      events: [{ action: 'user.created', subject: `user/${user.email}` }],
      puts: { users: { [user.id]: user } },
    });
    return user;
  });
}

/** Refuse a change that would leave no enabled secretariat (nobody could then manage accounts from the pages). */
function keepsASecretariat(ctx: Ctx, changed: UserRecord): void {
  // Whole-table: an account change reads every account (a committee's few hundred at most).
  const left = ctx.meta.all('users').some((u) => {
    const x = u.id === changed.id ? changed : u;
    return !x.disabled && x.roles.includes('secretariat');
  });
  const hadOne = ctx.meta.all('users').some((u) => !u.disabled && u.roles.includes('secretariat'));
  if (hadOne && !left)
    throw conflict(
      'last_secretariat',
      'This would leave no active secretariat account. Give another account the secretariat role first.',
    );
}

/** What `setUser` changes: each field given replaces the current one; `stakeholder: null` clears it. */
export interface UserChanges {
  roles?: string[];
  groups?: string[];
  name?: string;
  /** A stakeholder group's slug, or null for none. */
  stakeholder?: string | null;
  enable?: boolean;
  /** A new e-mail address (a correction): both addresses are told by mail. */
  email?: string;
}

/** Replace roles, groups and/or the stakeholder group; `enable` re-enables a disabled account. */
export function setUser(ctx: Ctx, by: Actor | null, email: string, input: UserChanges): Promise<UserRecord> {
  authorize(by, 'user.manage');
  return ctx.accounts.run(() => setUserNow(ctx, by, email, input));
}

async function setUserNow(ctx: Ctx, by: Actor | null, email: string, input: UserChanges): Promise<UserRecord> {
  const u = requireUserByEmail(ctx, email);
  const newEmail = input.email !== undefined ? checkEmail(input.email) : u.email;
  if (newEmail !== u.email && findUserByEmail(ctx, newEmail))
    throw conflict('user_exists', `There is already an account for ${newEmail}.`);
  const next: UserRecord = {
    ...u,
    email: newEmail,
    name: input.name !== undefined ? checkName(input.name) : u.name,
    roles: input.roles !== undefined ? checkRoles(input.roles) : u.roles,
    groups: input.groups !== undefined ? checkGroups(ctx, input.groups) : u.groups,
    ...(input.stakeholder !== undefined ? { stakeholder: checkStakeholder(ctx, input.stakeholder) } : {}),
    disabled: input.enable ? false : u.disabled,
    updatedAt: ctx.clock().toISOString(),
  };
  keepsASecretariat(ctx, next);
  const events = [{ action: 'user.updated', subject: `user/${u.email}` }];
  if (input.enable && u.disabled) events.push({ action: 'user.enabled', subject: `user/${u.email}` });
  let mails = {};
  if (newEmail !== u.email) {
    events.push({ action: 'user.email_changed', subject: `user/${newEmail}` });
    const nonce = randomBytes(6).toString('hex');
    const tell = (who: UserRecord, told: 'new' | 'old') =>
      toPerson(
        ctx,
        who,
        mail.emailChanged(mailSite(ctx), u.name, u.email, newEmail, told, nonce),
        'user.email_changed',
        `${ctx.mail.baseUrl}/login`,
        true,
      );
    mails = mergePuts(tell(next, 'new'), tell(u, 'old'));
  }
  await ctx.meta.write({
    actor: by?.email ?? null,
    at: ctx.clock(),
    events,
    puts: mergePuts({ users: { [u.id]: next } }, mails),
  });
  return next;
}

/** Disable an account: from now on its sessions and tokens are refused. */
export function disableUser(ctx: Ctx, by: Actor | null, email: string): Promise<UserRecord> {
  authorize(by, 'user.manage');
  return ctx.accounts.run(() => disableUserNow(ctx, by, email));
}

async function disableUserNow(ctx: Ctx, by: Actor | null, email: string): Promise<UserRecord> {
  const u = requireUserByEmail(ctx, email);
  if (by && by.id === u.id) throw conflict('cannot_disable_self', 'You cannot disable your own account.');
  const now = ctx.clock().toISOString();
  const next: UserRecord = { ...u, disabled: true, sessionEpoch: u.sessionEpoch + 1, updatedAt: now };
  keepsASecretariat(ctx, next);
  // Its tokens end for good: re-enabling the account later does not bring them back.
  const tokens = Object.fromEntries(
    ctx.meta
      .by('tokens', 'user', String(u.id))
      .filter((t) => !t.revokedAt)
      .map((t) => [t.hash, { ...t, revokedAt: now }]),
  );
  await ctx.meta.write({
    actor: by?.email ?? null,
    at: ctx.clock(),
    events: [{ action: 'user.disabled', subject: `user/${u.email}` }],
    puts: { users: { [u.id]: next }, tokens },
  });
  return next;
}

/** How many accounts are enabled and how many disabled (the admin overview). */
export function accountCounts(ctx: Ctx, actor: Actor | null): { users: number; disabled: number } {
  authorize(actor, 'user.manage');
  // Whole-table: every account is counted (a committee's few hundred at most).
  const users = ctx.meta.all('users');
  const disabled = users.filter((u) => u.disabled).length;
  return { users: users.length - disabled, disabled };
}

/** Every account, by name, for who may manage accounts (Admin › Users, the CLI's `user list`). */
export function listUsers(ctx: Ctx, actor: Actor | null): UserRecord[] {
  authorize(actor, 'user.manage');
  // Whole-table: the list of every account (Admin › Users, the CLI).
  return ctx.meta.all('users').sort((a, b) => a.name.localeCompare(b.name));
}
