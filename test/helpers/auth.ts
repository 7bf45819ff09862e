/**
 * Helpers for tests that need people: make an account with a password (through the same
 * service the CLI uses), and sign in through the real form (GET /login for the CSRF token,
 * then POST /login) with a cookie-keeping supertest agent.
 */
import { CLI_ACTOR } from '../../server/domain/actor.js';
import type { Express } from 'express';
import request from 'supertest';
import type { Actor } from '../../server/domain/actor.js';
import type { Ctx } from '../../server/services/context.js';
import { actorOf, addUser, type NewUser } from '../../server/services/accounts/users.js';
import type { UserRecord } from '../../server/store/meta/schema.js';

export type Agent = ReturnType<typeof request.agent>;

/** A user with a password (one scrypt hash, cheap at the tests' cost). */
export async function makeUser(
  ctx: Ctx,
  input: NewUser & { password: string },
): Promise<UserRecord & { password: string; actor: Actor }> {
  const u = await addUser(ctx, CLI_ACTOR, input);
  return { ...u, password: input.password, actor: actorOf(u) };
}

/** The `_csrf` value of the first form on a page. */
export function csrfFrom(html: string): string {
  const m = /name="_csrf" value="([^"]*)"/.exec(html);
  if (!m?.[1]) throw new Error(`No _csrf field in the page:\n${html.slice(0, 500)}`);
  return m[1];
}

/** The Set-Cookie lines of a response. */
export function setCookies(res: request.Response): string[] {
  const raw = res.headers['set-cookie'] as unknown as string[] | string | undefined;
  return raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
}

/** The whole Set-Cookie line for the session cookie (ratify.sid, or __Host-ratify.sid on https), if any. */
export function sidCookieLine(res: request.Response): string | undefined {
  return setCookies(res).find((x) => /^(__Host-)?ratify\.sid=/.test(x));
}

/** The value of the session cookie a response sets, if any. */
export function sidCookie(res: request.Response): string | undefined {
  return sidCookieLine(res)
    ?.replace(/^[^=]*=/, '')
    .split(';')[0];
}

export interface SignInOptions {
  agent?: Agent;
  /** Sent as X-Forwarded-For (the app trusts loopback proxies), to act from another address. */
  ip?: string;
  next?: string;
}

/**
 * Sign in through the form. Returns the agent (holding the session cookie), the POST's
 * response, and the ratify.sid values before (from GET /login: none, anonymous visitors have no
 * session) and after.
 */
export async function signIn(app: Express, email: string, password: string, opts: SignInOptions = {}) {
  const agent = opts.agent ?? request.agent(app);
  const withIp = <T extends { set: (k: string, v: string) => T }>(r: T): T =>
    opts.ip ? r.set('X-Forwarded-For', opts.ip) : r;
  const form = await withIp(agent.get('/login'));
  if (form.status !== 200) throw new Error(`GET /login answered ${form.status}`);
  const before = sidCookie(form);
  const body: Record<string, string> = { _csrf: csrfFrom(form.text), email, password };
  if (opts.next !== undefined) body.next = opts.next;
  const res = await withIp(agent.post('/login').type('form')).send(body);
  return { agent, res, before, after: sidCookie(res) };
}

/** Sign in and insist that it worked (303 away from the login page). */
export async function signedIn(
  app: Express,
  email: string,
  password: string,
  opts: SignInOptions = {},
): Promise<Agent> {
  const { agent, res } = await signIn(app, email, password, opts);
  if (res.status !== 303 || res.headers.location?.startsWith('/login'))
    throw new Error(`Sign-in of ${email} failed: ${res.status} ${res.headers.location ?? ''}`);
  return agent;
}

/** A fresh CSRF token for a signed-in agent (from the page's sign-out form). */
export async function csrfOf(agent: Agent, page = '/account'): Promise<string> {
  const res = await agent.get(page);
  return csrfFrom(res.text);
}
