import type { Request } from 'express';
import proxyaddr from 'proxy-addr';

/**
 * Whether an answer goes out over https: the one rule for everything that depends on it — the
 * HSTS header, the CSP's `upgrade-insecure-requests`, the cookies' Secure flag.
 *
 * A request is served over https when BASE_URL is https, or when it came over https according
 * to a proxy this app trusts: express's `req.secure`, which reads `X-Forwarded-Proto` only from
 * a hop that the `trust proxy` setting (TRUST_PROXY) trusts. A client that is no trusted proxy
 * cannot turn it on by sending the header itself.
 */
export interface Scheme {
  /** BASE_URL is https: every answer counts as https, and the cookies carry the `__Host-` prefix. */
  readonly httpsSite: boolean;
  /** This request is served over https (BASE_URL https, or a trusted proxy says so). */
  secure(req: Request): boolean;
}

export function schemeOf(baseUrl: string): Scheme {
  const httpsSite = baseUrl.startsWith('https:');
  // Asked several times a request (headers, each cookie); `req.secure` parses the client's
  // address against `trust proxy` each time (~25 µs of a small page's ~1 ms): once a request.
  const known = new WeakMap<Request, boolean>();
  const secure = (req: Request) => {
    let s = known.get(req);
    if (s === undefined) known.set(req, (s = req.secure));
    return s;
  };
  return { httpsSite, secure: (req) => httpsSite || secure(req) };
}

/**
 * The `trust proxy` setting for express: `setting` as TRUST_PROXY gives it, with a list of
 * addresses and ranges compiled once and each address's answer kept. proxy-addr's compiled list
 * parses the address at every call (ipaddr.js: ~50 µs for `::ffff:127.0.0.1`, on every request
 * that asks whether it came over https or from where); a list's answer depends on the address
 * alone. At most 1,024 addresses are kept (then the memo starts again).
 */
export function trustProxySetting(setting: boolean | number | string): boolean | number | ((addr: string) => boolean) {
  if (typeof setting !== 'string') return setting;
  const trusted = proxyaddr.compile(setting.split(',').map((s) => s.trim()));
  const known = new Map<string, boolean>();
  return (addr) => {
    let t = known.get(addr);
    if (t === undefined) {
      if (known.size >= 1024) known.clear();
      known.set(addr, (t = trusted(addr, 0)));
    }
    return t;
  };
}
