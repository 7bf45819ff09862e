import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** What the password rules ask of the list (domain/passwordRules.ts `CommonPasswords`), and its length. */
export interface PasswordList {
  has(word: string): boolean;
  readonly size: number;
}

/**
 * Lines sorted in UTF-16 code-unit order (`Array.prototype.sort`'s), searched in place: a binary
 * search over the text's offsets, reading the line around each probe. Reading the list is one
 * string of ~680 KB (~5 ms); a Set of its 77,000 lines cost ~60 ms and ~5 MB to build, in every
 * process that checks a password.
 */
export class SortedLines implements PasswordList {
  readonly size: number;

  constructor(private readonly text: string) {
    let n = text.length > 0 ? 1 : 0;
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
    this.size = n;
  }

  has(word: string): boolean {
    const { text } = this;
    let lo = 0;
    let hi = text.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const start = text.lastIndexOf('\n', mid - 1) + 1;
      const next = text.indexOf('\n', start);
      const end = next === -1 ? text.length : next;
      const line = text.slice(start, end);
      if (line === word) return true;
      if (line < word) lo = end + 1;
      else hi = start;
    }
    return false;
  }
}

let cached: PasswordList | null = null;

/**
 * The most common passwords, lower-cased, for the password rules: the union of the list in
 * `@zxcvbn-ts/language-common` (~49,000, from leaked-password frequency lists) and
 * `popular-passwords` (~41,600 of at least 8 characters) — 76,968 distinct entries. Read once
 * and kept; the server reads it just after it starts listening.
 */
export function commonPasswords(): PasswordList {
  if (cached) return cached;
  // The compiled server reads the list the build wrote beside it (scripts/build.mjs: sorted,
  // one a line), searched in place. From the sources (tsx, the tests), the same file in dist/
  // when `npm run build` wrote it; otherwise a Set made from the packages.
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const built of [path.join(here, 'common-passwords.txt'), path.join(here, '../../dist/common-passwords.txt')]) {
    if (existsSync(built)) {
      cached = new SortedLines(readFileSync(built, 'utf8'));
      return cached;
    }
  }
  cached = fromPackages();
  return cached;
}

/** The same union, made from the packages' dictionaries (~14 MB resident while they load). */
export function fromPackages(): ReadonlySet<string> {
  const zxcvbn = require('@zxcvbn-ts/language-common') as { dictionary: { 'passwords-common': string[] } };
  const popular = JSON.parse(readFileSync(require.resolve('popular-passwords'), 'utf8')) as string[];
  const set = new Set<string>();
  for (const list of [zxcvbn.dictionary['passwords-common'], popular])
    for (const p of list) if (typeof p === 'string') set.add(p.toLowerCase());
  return set;
}
