import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
let cached: ReadonlySet<string> | null = null;

/**
 * The most common passwords, lower-cased, for the password rules: the union of the list in
 * `@zxcvbn-ts/language-common` (~49,000, from leaked-password frequency lists) and
 * `popular-passwords` (~41,600 of at least 8 characters) — 76,968 distinct entries. Read from
 * node_modules once (~0.2 s) and kept; the server reads it just after it starts listening.
 */
export function commonPasswords(): ReadonlySet<string> {
  if (cached) return cached;
  // The compiled server reads the list the build wrote beside it (scripts/build.mjs): one small
  // file, not the packages' dictionaries (~14 MB resident). From the sources (tsx, the tests), the
  // same file in dist/ when `npm run build` wrote it; otherwise the packages.
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const built of [path.join(here, 'common-passwords.txt'), path.join(here, '../../dist/common-passwords.txt')]) {
    if (existsSync(built)) {
      cached = new Set(readFileSync(built, 'utf8').split('\n'));
      return cached;
    }
  }
  const zxcvbn = require('@zxcvbn-ts/language-common') as { dictionary: { 'passwords-common': string[] } };
  const popular = JSON.parse(readFileSync(require.resolve('popular-passwords'), 'utf8')) as string[];
  const set = new Set<string>();
  for (const list of [zxcvbn.dictionary['passwords-common'], popular])
    for (const p of list) if (typeof p === 'string') set.add(p.toLowerCase());
  cached = set;
  return set;
}
