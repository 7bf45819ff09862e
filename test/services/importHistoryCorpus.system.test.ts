/**
 * Importing a real history (the EIP-1 corpus, 123 versions) byte-identically, with its authors
 * and dates as stock git reads them, and the diff law on 50 random pairs of its versions.
 * A system test (npm run test:system): it needs ../shared/corpus, and without it the suite is
 * skipped, saying so.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { CLI_ACTOR } from '../../server/domain/actor.js';
import { importHistory } from '../../server/services/importHistory.js';
import { diffVersions, getVersion, listVersions, versionText } from '../../server/services/readDocuments.js';
import { corpusDir, openTestData, testClock } from '../helpers/data.js';
import { gitOf, gitTextOf } from '../helpers/stockGit.js';

const git = gitOf;
const gitText = gitTextOf;

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function fresh() {
  const t = await openTestData({ clock: testClock('2026-02-01T12:00:00Z') });
  cleanups.push(t.cleanup);
  return t;
}

// Chosen at load: without ../shared/corpus this suite shows as skipped, never as passed.
const eipSource = path.join(corpusDir, 'eip-1');
const haveEip = fs.existsSync(path.join(eipSource, 'versions')) && fs.existsSync(path.join(eipSource, 'versions.tsv'));
if (!haveEip) console.warn(`EIP-1 corpus tests skipped: ${eipSource} is absent`);

(haveEip ? describe : describe.skip)('EIP-1 corpus', () => {
  test('imports 123 versions byte-identically; the diff law holds on 50 random pairs', async () => {
    const src = eipSource;
    const t = await fresh();
    const dir = path.join(src, 'versions');
    const files = (await fsp.readdir(dir)).filter((f) => !f.startsWith('.')).sort();
    expect(files).toHaveLength(123);

    await importHistory(t.ctx, CLI_ACTOR, {
      slug: 'eip-1',
      title: 'EIP Purpose and Guidelines',
      group: 'mag',
      dir,
      tsv: path.join(src, 'versions.tsv'),
    });

    const versions = listVersions(t.ctx, 'eip-1');
    expect(versions.map((v) => v.number)).toEqual(files.map((_, i) => files.length - i));
    const texts: string[] = [''];
    for (let n = 1; n <= files.length; n++) {
      const file = await fsp.readFile(path.join(dir, files[n - 1]));
      const text = await versionText(t.ctx, getVersion(t.ctx, 'eip-1', n));
      expect(Buffer.compare(Buffer.from(text, 'utf8'), file)).toBe(0);
      texts.push(text);
    }

    // Authors and dates as in the TSV, checked against stock git.
    const rows = (await fsp.readFile(path.join(src, 'versions.tsv'), 'utf8'))
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split('\t'));
    const log = gitText(t, 'log', '--reverse', '--format=%an\t%aI\t%cn', 'refs/heads/main', '--', 'documents/eip-1.md')
      .trim()
      .split('\n');
    expect(log).toHaveLength(rows.length);
    log.forEach((line, i) => {
      const [an, aI, cn] = line.split('\t');
      expect(an).toBe(rows[i][2].trim());
      expect(Date.parse(aI)).toBe(Date.parse(rows[i][1]));
      expect(aI.slice(19)).toBe(rows[i][1].trim().slice(19).replace(/^Z$/, '+00:00'));
      expect(cn).toBe('Ratify');
    });
    expect(gitText(t, 'tag', '-l', 'eip-1/*').trim().split('\n')).toHaveLength(123);
    expect(() => git(t, 'fsck', '--strict', '--no-dangling')).not.toThrow();

    // 50 random pairs (fixed-seed LCG), both directions possible, including equal pairs.
    let seed = 20260115;
    const next = (k: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return 1 + ((seed >>> 8) % k);
    };
    for (let i = 0; i < 50; i++) {
      const a = next(123);
      const b = i % 10 === 0 ? a : next(123);
      const d = await diffVersions(t.ctx, 'eip-1', a, b);
      expect(
        d.changes
          .filter((c) => c.op !== 'insert')
          .map((c) => c.text)
          .join(''),
      ).toBe(texts[a]);
      expect(
        d.changes
          .filter((c) => c.op !== 'delete')
          .map((c) => c.text)
          .join(''),
      ).toBe(texts[b]);
      d.changes.forEach((c) => expect(c.text).not.toBe(''));
    }
  }, 120_000);
});
