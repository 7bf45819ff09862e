/**
 * TRUST_PROXY and the one rule for https: an answer counts as served over https when BASE_URL
 * is https, or when a proxy the app trusts says so (X-Forwarded-Proto: https from a trusted
 * hop). Then, and only then, HSTS, the CSP's upgrade-insecure-requests and Secure cookies. A
 * client that is no trusted proxy cannot turn them on by sending the header itself.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as path from 'node:path';
import request from 'supertest';
import { createApp } from '../../server/app.js';
import { loadConfig, trustProxy } from '../../server/config.js';
import { trustProxySetting } from '../../server/http/scheme.js';
import proxyaddr from 'proxy-addr';
import { FileSessionStore } from '../../server/store/sessions/fileSessionStore.js';
import { csrfFrom, makeUser, setCookies } from '../helpers/auth.js';
import { openTestApp, testClock } from '../helpers/data.js';

describe('http/trustProxy', () => {
  const clock = testClock(new Date().toISOString());
  const PW = 'behind the proxy at last';
  let t: Awaited<ReturnType<typeof openTestApp>>;
  const stores: FileSessionStore[] = [];

  beforeAll(async () => {
    t = await openTestApp({ clock });
    await makeUser(t.ctx, { email: 'pat@example.org', name: 'Pat Proxy', password: PW });
  });

  afterAll(async () => {
    for (const s of stores) s.close();
    await t.cleanup();
  });

  /** An app over the test data with this BASE_URL and TRUST_PROXY (each with its own session store). */
  async function app(baseUrl: string, trust?: boolean | number | string) {
    const store = await FileSessionStore.open(path.join(t.dataDir, `sessions-${stores.length}`), clock);
    stores.push(store);
    return createApp({
      ctx: t.ctx,
      config: { baseUrl, writeLimit: 0, ...(trust === undefined ? {} : { trustProxy: trust }) },
      sessions: { secret: t.sessions.secret, store },
    });
  }

  /** What a GET /login and a sign-in through the form answered, as seen by the https rule. */
  async function signIn(a: Awaited<ReturnType<typeof app>>, headers: Record<string, string>) {
    const form = await request(a).get('/login').set(headers);
    expect(form.status).toBe(200);
    const csrfLine = setCookies(form).find((c) => /^(__Host-)?ratify\.csrf=/.test(c))!;
    const res = await request(a)
      .post('/login')
      .set(headers)
      .set('Cookie', csrfLine.split(';')[0])
      .type('form')
      .send({ _csrf: csrfFrom(form.text), email: 'pat@example.org', password: PW });
    expect(res.status).toBe(303);
    const sidLine = setCookies(res).find((c) => /^(__Host-)?ratify\.sid=/.test(c))!;
    expect(sidLine).toBeTruthy();
    const csp = String(form.headers['content-security-policy']);
    return {
      hsts: form.headers['strict-transport-security'] !== undefined,
      upgrade: csp.includes('upgrade-insecure-requests'),
      secureCsrf: /;\s*Secure/i.test(csrfLine),
      secureSid: /;\s*Secure/i.test(sidLine),
      names: [csrfLine.split('=')[0], sidLine.split('=')[0]],
    };
  }

  const HTTPS = { hsts: true, upgrade: true, secureCsrf: true, secureSid: true };
  const HTTP = { hsts: false, upgrade: false, secureCsrf: false, secureSid: false };
  const PLAIN_NAMES = ['ratify.csrf', 'ratify.sid'];
  const FORWARDED_HTTPS = { 'X-Forwarded-Proto': 'https' };

  describe('BASE_URL http behind a proxy (the default TRUST_PROXY: loopback; supertest connects from 127.0.0.1)', () => {
    test('X-Forwarded-Proto: https from the loopback proxy: HSTS, upgrade-insecure-requests, Secure cookies', async () => {
      const a = await app('http://ratify.lan:3000');
      expect(await signIn(a, FORWARDED_HTTPS)).toEqual({ ...HTTPS, names: PLAIN_NAMES });
    });

    test('no X-Forwarded-Proto (plain HTTP on a LAN name): none of them', async () => {
      const a = await app('http://ratify.lan:3000');
      expect(await signIn(a, {})).toEqual({ ...HTTP, names: PLAIN_NAMES });
      expect(await signIn(a, { 'X-Forwarded-Proto': 'http' })).toEqual({ ...HTTP, names: PLAIN_NAMES });
    });

    test('TRUST_PROXY=1 (one hop: the loopback client is the proxy): https as the proxy says', async () => {
      const a = await app('http://ratify.lan:3000', 1);
      expect(await signIn(a, FORWARDED_HTTPS)).toEqual({ ...HTTPS, names: PLAIN_NAMES });
    });
  });

  describe('a client that is no trusted proxy cannot turn https on', () => {
    test.each([
      ['a list naming another proxy', '10.1.2.3, 192.168.7.0/24'],
      ['false (no proxy at all)', false],
      ['0 hops', 0],
    ])('TRUST_PROXY = %s: X-Forwarded-Proto: https from 127.0.0.1 is ignored', async (_name, trust) => {
      const a = await app('http://ratify.lan:3000', trust);
      expect(await signIn(a, FORWARDED_HTTPS)).toEqual({ ...HTTP, names: PLAIN_NAMES });
    });

    test('the address it claims in X-Forwarded-For is not believed either', async () => {
      const a = await app('http://ratify.lan:3000', '10.1.2.3');
      const res = await request(a).get('/login').set({ 'X-Forwarded-For': '10.1.2.3', 'X-Forwarded-Proto': 'https' });
      expect(res.headers['strict-transport-security']).toBeUndefined();
    });
  });

  describe('BASE_URL https', () => {
    test('every answer counts as https, whatever the proxy says; the cookies carry __Host-', async () => {
      const a = await app('https://ratify.example', false);
      const form = await request(a).get('/login');
      expect(form.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect(String(form.headers['content-security-policy'])).toContain('upgrade-insecure-requests');
      const csrf = setCookies(form).find((c) => c.startsWith('__Host-ratify.csrf='));
      expect(csrf).toMatch(/;\s*Secure/i);
    });
  });

  describe('TRUST_PROXY in the configuration', () => {
    const parse = (value?: string) => loadConfig(value === undefined ? {} : { TRUST_PROXY: value }, '/srv').trustProxy;

    test('default: loopback only', () => {
      expect(parse()).toBe('loopback');
      expect(parse('')).toBe('loopback');
    });

    test('what express accepts: true/false, a number of hops, addresses, CIDR ranges and names', () => {
      expect(parse('true')).toBe(true);
      expect(parse('FALSE')).toBe(false);
      expect(parse('2')).toBe(2);
      expect(parse('10.0.0.1, 192.168.0.0/16,loopback')).toBe('10.0.0.1,192.168.0.0/16,loopback');
      expect(parse('fd00::/8, ::1')).toBe('fd00::/8,::1');
      expect(parse('10.0.0.0/255.0.0.0')).toBe('10.0.0.0/255.0.0.0');
      expect(parse('uniquelocal, linklocal')).toBe('uniquelocal,linklocal');
    });

    test.each(['nginx', '10.0.0.1/33', '1.2.3', '10.0.0.1,', 'loopback; 10.0.0.1', '-1', '::1/129'])(
      '%s is refused at start, naming TRUST_PROXY',
      (value) => {
        expect(trustProxy(value)).toBeNull();
        expect(() => parse(value)).toThrow(/TRUST_PROXY/);
      },
    );
  });

  describe('the trust proxy setting express is given', () => {
    test('a list answers as proxy-addr compiles it, address by address, asked once or many times', () => {
      const lists = ['loopback', '10.0.0.1,192.168.0.0/16', 'fd00::/8,::1', 'uniquelocal,linklocal'];
      const addresses = [
        '127.0.0.1',
        '::ffff:127.0.0.1',
        '::1',
        '10.0.0.1',
        '10.0.0.2',
        '192.168.4.4',
        'fd12::1',
        'fe80::1',
        '8.8.8.8',
        'junk',
      ];
      for (const list of lists) {
        const kept = trustProxySetting(list) as (addr: string) => boolean;
        const plain = proxyaddr.compile(list.split(','));
        for (let round = 0; round < 2; round++)
          for (const a of addresses) expect([list, a, kept(a)]).toEqual([list, a, plain(a, 0)]);
      }
      // More addresses than are kept: still the same answers.
      const kept = trustProxySetting('10.0.0.0/8') as (addr: string) => boolean;
      for (let i = 0; i < 3000; i++) expect(kept(`10.0.${i >> 8}.${i & 255}`)).toBe(true);
      expect(kept('11.0.0.1')).toBe(false);
    });

    test('true, false and a number of hops go to express as they are', () => {
      expect(trustProxySetting(true)).toBe(true);
      expect(trustProxySetting(false)).toBe(false);
      expect(trustProxySetting(2)).toBe(2);
    });
  });
});
