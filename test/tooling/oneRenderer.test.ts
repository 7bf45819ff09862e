/**
 * One markdown renderer (issue 13): the pages and the mails render what members wrote through
 * `server/util/markdown.ts`, so both have the same safe settings. No other module of server/
 * imports markdown-it or sanitize-html.
 */
import { describe, expect, test } from '@jest/globals';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../helpers/data.js';

describe('tooling/oneRenderer', () => {
  const SERVER = path.join(projectRoot, 'server');

  test('only server/util/markdown.ts imports markdown-it or sanitize-html', () => {
    const importers = fs
      .readdirSync(SERVER, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .filter((f) =>
        /\bfrom\s+['"](markdown-it|sanitize-html)['"]|import\(\s*['"](markdown-it|sanitize-html)['"]/.test(
          fs.readFileSync(path.join(SERVER, f), 'utf8'),
        ),
      )
      .map((f) => f.split(path.sep).join('/'));
    expect(importers).toEqual(['util/markdown.ts']);
  });
});
