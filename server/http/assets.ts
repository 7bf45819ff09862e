import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { RequestHandler } from 'express';

/** `/<name>.<10 hex>.<ext>`: a file of public/ named by a fingerprint of its content. */
const FINGERPRINTED = /^\/([\w-]+)\.([0-9a-f]{10})(\.[a-z0-9]+)$/;

export interface Assets {
  /** The URL pages link to: `/assets/ratify.<hash>.css` for `ratify.css` (a name not in public/: the plain URL). */
  url: (name: string) => string;
  /**
   * Mounted at `/assets` before the static files: `/<name>.<any hash>.<ext>` is served as
   * `/<name>.<ext>`, so a page cached before a deploy still finds its stylesheet (caching.ts
   * marks it immutable only when the hash is the current one).
   */
  rewrite: RequestHandler;
  /** Whether a path under `/assets` names a file by its current fingerprint. */
  isCurrent: (pathUnderAssets: string) => boolean;
}

/**
 * The files of public/ with their fingerprints, computed once when the app is made (SHA-256 of
 * the content, first 10 hex digits): a changed file gets a new URL, so the old one can be cached
 * for a year. The plain URLs (`/assets/ratify.css`) keep working, revalidated on each use.
 */
export function fingerprintAssets(dir: string): Assets {
  const hashes = new Map<string, string>();
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (!statSync(file).isFile()) continue;
    hashes.set(name, createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 10));
  }
  const plainOf = (p: string) => {
    const m = FINGERPRINTED.exec(p);
    return m && hashes.has(m[1] + m[3]) ? { name: m[1] + m[3], hash: m[2] } : null;
  };
  return {
    url: (name) => {
      const hash = hashes.get(name);
      const ext = path.extname(name);
      return hash ? `/assets/${name.slice(0, -ext.length)}.${hash}${ext}` : `/assets/${name}`;
    },
    rewrite: (req, _res, next) => {
      const plain = plainOf(req.path);
      if (plain) req.url = `/${plain.name}`;
      next();
    },
    isCurrent: (p) => {
      const plain = plainOf(p);
      return !!plain && hashes.get(plain.name) === plain.hash;
    },
  };
}
