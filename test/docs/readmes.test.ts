/**
 * The folder READMEs and the documents in docs/ stay true to the code: every file they name (in
 * backquotes, e.g. `services/repairFromMain.ts` or `policy.ts`) exists, relative to the
 * document's folder, its parent folders up to the project root, or the root itself.
 */
import { describe, expect, test } from '@jest/globals';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../helpers/data.js';
import { CONFIG_VARIABLES } from '../../server/config.js';

describe('docs/readmes', () => {
  const SKIP = new Set(['node_modules', '.git', 'dist', 'test-output', 'data']);

  function readmes(dir: string): string[] {
    const out: string[] = [];
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (SKIP.has(e.name) || e.name.startsWith('.')) continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) out.push(...readmes(p));
      else if (e.name === 'README.md') out.push(p);
    }
    return out;
  }

  /** A file name in backquotes: letters, digits, dots, dashes, slashes, with a code or doc extension. */
  const NAMED = /`([A-Za-z0-9_./-]+\.(?:ts|mjs|js|ejs|md|json|css))`/g;

  /** Files the server writes into its data folder, a backup or an export, not files of the project. */
  const DATA_FILES = new Set(['ratify-backup.json', 'meta/snapshot.json', '.ratify-export.json']);

  const docs = fs
    .readdirSync(path.join(projectRoot, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join(projectRoot, 'docs', f));
  const all = [...readmes(projectRoot), ...docs];

  describe('every file a README or a document in docs/ names exists', () => {
    test('there are folder READMEs and documents to check', () => {
      expect(all.length).toBeGreaterThan(5);
      expect(docs.length).toBeGreaterThan(3);
    });

    test.each(all.map((f) => path.relative(projectRoot, f)))('%s', (rel) => {
      const file = path.join(projectRoot, rel);
      const text = fs.readFileSync(file, 'utf8');
      const missing: string[] = [];
      for (const [, name] of text.matchAll(NAMED)) {
        if (name.startsWith('../shared/') || name.startsWith('/') || DATA_FILES.has(name)) continue;
        const candidates: string[] = [];
        for (let d = path.dirname(file); d.startsWith(projectRoot); d = path.dirname(d))
          candidates.push(path.join(d, name));
        // Names written as `server/…` or `test/…` are from the root; bare names may live one folder down (`meta/journal.ts`).
        const found =
          candidates.some((c) => fs.existsSync(c)) ||
          fs
            .readdirSync(path.dirname(file), { withFileTypes: true })
            .some((e) => e.isDirectory() && fs.existsSync(path.join(path.dirname(file), e.name, name)));
        if (!found) missing.push(name);
      }
      expect(missing).toEqual([]);
    });
  });

  describe('the README\'s "Configuration" names every variable the server reads', () => {
    const readme = fs.readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
    const section = readme.slice(
      readme.indexOf('\n## Configuration'),
      readme.indexOf('\n## ', readme.indexOf('\n## Configuration') + 1),
    );
    test.each(CONFIG_VARIABLES.map((v) => [v]))('%s', (name) => {
      expect(section).toContain(`\`${name}\``);
    });
  });
});
