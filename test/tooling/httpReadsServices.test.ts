/**
 * server/http reads and writes through the services (issue 11): no route, page, presenter or
 * middleware touches the stores on the context (`ctx.meta`, `ctx.repo`), so what an answer
 * reveals is always what a service chose to return, and every check lives in one layer. The
 * layer rule `http-no-store-values` (.dependency-cruiser.cjs) keeps http from importing the
 * store; this keeps it from reaching the store through `ctx`.
 */
import { describe, expect, test } from '@jest/globals';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../helpers/data.js';

describe('tooling/httpReadsServices', () => {
  const HTTP = path.join(projectRoot, 'server/http');

  /** `ctx.meta` / `ctx.repo` (also `ctx?.meta`, `ctx['meta']`), or either taken out of `ctx` by destructuring. */
  const STORE_USE = [
    /\bctx\s*\??\.\s*(meta|repo)\b/,
    /\bctx\s*\[\s*['"`](meta|repo)['"`]\s*\]/,
    /\{[^{}]*\b(meta|repo)\b[^{}]*\}\s*=\s*ctx\b/,
  ];

  const files = fs
    .readdirSync(HTTP, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .sort();

  /** Every line of `text` that reaches the store through the context, as `line: text`. */
  function storeUses(text: string): string[] {
    return text
      .split('\n')
      .map((line, i) => ({ line, n: i + 1 }))
      .filter(({ line }) => STORE_USE.some((re) => re.test(line)))
      .map(({ line, n }) => `${n}: ${line.trim()}`);
  }

  describe('server/http never reads or writes the stores on ctx', () => {
    test('there are http modules to check', () => {
      expect(files.length).toBeGreaterThan(40);
    });

    test('the check finds what it looks for', () => {
      expect(storeUses("const u = ctx.meta.get('users', 1);\nok();\nawait ctx.repo.readFile(c, p);")).toEqual([
        "1: const u = ctx.meta.get('users', 1);",
        '3: await ctx.repo.readFile(c, p);',
      ]);
      expect(storeUses('const { meta } = ctx;')).toHaveLength(1);
      expect(storeUses("ctx['meta'].all('users')")).toHaveLength(1);
      expect(storeUses('ctx.mail.baseUrl; entry.meta?.ip; ctx.clock()')).toEqual([]);
    });

    test.each(files)('server/http/%s', (file) => {
      expect(storeUses(fs.readFileSync(path.join(HTTP, file), 'utf8'))).toEqual([]);
    });
  });
});
