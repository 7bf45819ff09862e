import { CLI_ACTOR } from '../../server/domain/actor.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { DomainError } from '../../server/domain/errors.js';
import { importHistory } from '../../server/services/importHistory.js';
import { diffVersions, getVersion, listVersions, versionText } from '../../server/services/readDocuments.js';
import { openTestData, tempDir, testClock } from '../helpers/data.js';
import { gitOf, gitTextOf } from '../helpers/stockGit.js';

describe('services/importHistory.integration', () => {
  type TestData = Awaited<ReturnType<typeof openTestData>>;

  const git = gitOf;
  const gitText = gitTextOf;

  /** The ref files of a bare repository under refs/heads/main, refs/tags and packed-refs, with their bytes. */
  async function refFiles(gitDir: string): Promise<string[]> {
    const out: string[] = [];
    const read = async (rel: string) => {
      const full = path.join(gitDir, rel);
      const stat = await fsp.stat(full).catch(() => null);
      if (!stat) return;
      if (stat.isDirectory()) for (const name of await fsp.readdir(full)) await read(`${rel}/${name}`);
      else out.push(`${rel} ${await fsp.readFile(full, 'utf8')}`);
    };
    for (const rel of ['packed-refs', 'refs/heads/main', 'refs/tags']) await read(rel);
    return out.sort();
  }

  /** Everything a refused import must leave untouched. */
  async function snapshot(t: TestData) {
    return {
      // The ref files as they are on disk, byte for byte: main, every tag, and the packed ones.
      // (Read in place rather than by stock git: a run of git from a test worker costs ~60 ms of
      // CPU, and this is read twice per refusal; what stock git reads is checked by the tests below.)
      refs: await refFiles(path.join(t.dataDir, 'git')),
      documents: t.ctx.meta
        .all('documents')
        .map((d) => `${d.slug}@${d.latest}`)
        .sort(),
      versions: t.ctx.meta.all('versions').length,
    };
  }

  async function expectRefused(t: TestData, run: () => Promise<unknown>, code: string, slug: string | null) {
    const before = await snapshot(t);
    expect(before.refs.join('\n')).toMatch(/^(refs\/heads\/main|packed-refs) [0-9a-f]{40}/m);
    let err: unknown = null;
    try {
      await run();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe(code);
    expect(await snapshot(t)).toEqual(before);
    if (slug) expect(t.ctx.meta.get('documents', slug)).toBeUndefined();
  }

  const TEXTS = [
    '# Charter\n\nFirst text.\n',
    '# Charter\n\nFirst text, amended.\n\nA second paragraph — with “quotes” and é.\n',
    '# Charter\r\n\r\nWindows line endings now.\r\n\r\nA second paragraph — with “quotes” and é.\r\n',
    '\uFEFF# Charter\n\nWith a byte order mark, 😀, and no final newline',
    '',
  ];
  const ROWS = [
    ['0001', '2019-03-01T09:15:00+01:00', 'Ada Lovelace', 'First adoption'],
    ['0002', '2019-07-04T17:30:45-05:00', 'Grace Hopper', 'Amend the first paragraph'],
    ['0003', '2020-01-02T00:00:00Z', 'Łukasz Żółw', 'Switch to CRLF'],
    ['0004', '2021-12-31T23:59:59+05:30', 'Ada Lovelace', ''],
    ['0005', '2022-06-15T12:00:00.500-09:30', 'Bob', 'Empty the text'],
  ];
  const HEADER = 'seq\tdate\tauthor\tsubject';
  const tsvOf = (rows: string[][]) => [HEADER, ...rows.map((r) => r.join('\t'))].join('\n') + '\n';

  /** A history folder of `texts` (files 0001.md …) and its TSV beside it. */
  async function history(texts: string[], tsv?: string) {
    const root = await tempDir('ratify-history-');
    cleanups.push(() => fsp.rm(root, { recursive: true, force: true }));
    const dir = path.join(root, 'versions');
    await fsp.mkdir(dir);
    for (let i = 0; i < texts.length; i++)
      await fsp.writeFile(path.join(dir, `${String(i + 1).padStart(4, '0')}.md`), texts[i]);
    let tsvPath: string | undefined;
    if (tsv !== undefined) {
      tsvPath = path.join(root, 'versions.tsv');
      await fsp.writeFile(tsvPath, tsv);
    }
    return { root, dir, tsv: tsvPath };
  }

  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  async function fresh() {
    const t = await openTestData({ clock: testClock('2026-02-01T12:00:00Z') });
    cleanups.push(t.cleanup);
    return t;
  }

  describe('importHistory with a TSV', () => {
    let t: TestData;
    let h: Awaited<ReturnType<typeof history>>;
    const progress: [number, number][] = [];

    beforeAll(async () => {
      t = await fresh();
      h = await history(TEXTS, tsvOf(ROWS));
      const result = await importHistory(
        t.ctx,
        CLI_ACTOR,
        { slug: 'charter', title: '  Imported Charter ', group: 'mag', dir: h.dir, tsv: h.tsv },
        (d, n) => progress.push([d, n]),
      );
      expect(result).toEqual({ slug: 'charter', versions: TEXTS.length });
    });

    test('versions 1..N in file order, reported as progress', () => {
      expect(t.ctx.meta.get('documents', 'charter')).toMatchObject({
        slug: 'charter',
        title: 'Imported Charter',
        group: 'mag',
        latest: TEXTS.length,
      });
      expect(listVersions(t.ctx, 'charter').map((v) => v.number)).toEqual([5, 4, 3, 2, 1]);
      expect(progress).toEqual(TEXTS.map((_, i) => [i + 1, TEXTS.length]));
    });

    test('every version text is byte-identical to its file (store and git)', async () => {
      for (let n = 1; n <= TEXTS.length; n++) {
        const file = await fsp.readFile(path.join(h.dir, `000${n}.md`));
        const v = getVersion(t.ctx, 'charter', n);
        expect(Buffer.compare(Buffer.from(await versionText(t.ctx, v), 'utf8'), file)).toBe(0);
        expect(Buffer.compare(git(t, 'cat-file', 'blob', `charter/v${n}:documents/charter.md`), file)).toBe(0);
        expect(gitText(t, 'rev-parse', `charter/v${n}^{commit}`).trim()).toBe(v.commit);
      }
      // main holds the last version's text.
      expect(Buffer.compare(git(t, 'cat-file', 'blob', 'main:documents/charter.md'), Buffer.from(TEXTS[4]))).toBe(0);
    });

    test('summaries and publication dates come from the TSV', () => {
      const vs = listVersions(t.ctx, 'charter').reverse();
      expect(vs.map((v) => v.summary)).toEqual([
        'First adoption',
        'Amend the first paragraph',
        'Switch to CRLF',
        'Imported from 0004.md',
        'Empty the text',
      ]);
      expect(vs.map((v) => Math.floor(Date.parse(v.publishedAt) / 1000))).toEqual(
        ROWS.map((r) => Math.floor(Date.parse(r[1]) / 1000)),
      );
      for (const v of vs) {
        expect(v.round).toBeNull();
        expect(v.proposals).toEqual([]);
      }
    });

    test('publishedAt is exactly the commit date git records (so a rebuild of the index from git agrees)', () => {
      // Git keeps whole seconds; row 5 has a fractional second (.500).
      const vs = listVersions(t.ctx, 'charter').reverse();
      const gitDates = gitText(t, 'log', '--reverse', '--format=%aI', 'refs/heads/main', '--', 'documents/charter.md')
        .trim()
        .split('\n');
      expect(vs.map((v) => v.publishedAt)).toEqual(gitDates.map((d) => new Date(d).toISOString()));
    });

    test('commits carry the authors, dates and offsets of the TSV; the committer is Ratify, at the time of the import', () => {
      const sep = '\u001f';
      const log = gitText(
        t,
        'log',
        '--reverse',
        '--first-parent',
        `--format=%an${sep}%ae${sep}%aI${sep}%cn${sep}%ce${sep}%cI${sep}%s`,
        'refs/heads/main',
        '--',
        'documents/charter.md',
      )
        .trim()
        .split('\n')
        .map((l) => l.split(sep));
      expect(log).toHaveLength(ROWS.length);
      const expectedDates = [
        '2019-03-01T09:15:00+01:00',
        '2019-07-04T17:30:45-05:00',
        '2020-01-02T00:00:00+00:00',
        '2021-12-31T23:59:59+05:30',
        '2022-06-15T12:00:00-09:30',
      ];
      log.forEach(([an, ae, aI, cn, ce, cI, s], i) => {
        expect(an).toBe(ROWS[i][2]);
        expect(ae).toMatch(/^[a-z0-9.]+@[a-z0-9.-]+\.invalid$/);
        expect(aI).toBe(expectedDates[i]);
        expect(cn).toBe('Ratify');
        expect(ce.endsWith('.invalid')).toBe(true);
        // Recorded at the import (this test's clock), not at the historical date.
        expect(Date.parse(cI)).toBeGreaterThan(Date.parse('2026-01-01T00:00:00Z'));
        expect(s).toBe(ROWS[i][3] || 'Imported from 0004.md');
      });
      // The same author gets the same placeholder address.
      expect(log[0][1]).toBe(log[3][1]);
      expect(log[0][1]).toBe('ada.lovelace@unknown.invalid');
    });

    test("stock `git log --since` the day of the import finds every imported version (their dates are the authors')", () => {
      const since = gitText(
        t,
        'log',
        '--since=2026-02-01T00:00:00Z',
        '--format=%s',
        'refs/heads/main',
        '--',
        'documents/charter.md',
      )
        .trim()
        .split('\n');
      expect(since).toHaveLength(ROWS.length);
      const before = gitText(
        t,
        'log',
        '--until=2025-12-31T00:00:00Z',
        '--format=%s',
        'refs/heads/main',
        '--',
        'documents/charter.md',
      );
      expect(before.trim()).toBe('');
    });

    test('the store records the same author as git', () => {
      const vs = listVersions(t.ctx, 'charter').reverse();
      expect(vs.map((v) => v.author.name)).toEqual(ROWS.map((r) => r[2]));
      vs.forEach((v) => expect(v.author.email.endsWith('.invalid')).toBe(true));
    });

    test('an annotated tag <slug>/v<N> per version, on that version', () => {
      const tags = gitText(t, 'tag', '-l', 'charter/*').trim().split('\n');
      expect(tags.sort()).toEqual(['charter/v1', 'charter/v2', 'charter/v3', 'charter/v4', 'charter/v5']);
      for (let n = 1; n <= 5; n++) {
        expect(gitText(t, 'cat-file', '-t', `refs/tags/charter/v${n}`).trim()).toBe('tag');
        expect(gitText(t, 'rev-parse', `charter/v${n}^{commit}`).trim()).toBe(getVersion(t.ctx, 'charter', n).commit);
      }
    });

    test('the public repository has every imported version (brought up once, at the end) and its provenance is known', async () => {
      const pub = t.ctx.publicRepo!;
      expect((await pub.repo.listTags()).filter((n) => n.startsWith('charter/')).sort()).toEqual([
        'charter/v1',
        'charter/v2',
        'charter/v3',
        'charter/v4',
        'charter/v5',
      ]);
      expect(await pub.repo.resolve('refs/heads/main')).toBe(getVersion(t.ctx, 'charter', 5).commit);
      expect(t.ctx.provenance.get(getVersion(t.ctx, 'charter', 5).commit)).toBeDefined();
    });

    test('history is linear on main, seeded documents untouched', () => {
      const parents = gitText(t, 'rev-list', '--parents', 'refs/heads/main').trim().split('\n');
      expect(parents).toHaveLength(2 + 5);
      parents.forEach((l, i) => expect(l.split(' ')).toHaveLength(i === parents.length - 1 ? 1 : 2));
      expect(gitText(t, 'ls-tree', '--name-only', 'main', 'documents/').trim().split('\n').sort()).toEqual([
        'documents/charter.md',
        'documents/terms-of-reference.md',
        'documents/workshop-process.md',
      ]);
    });

    test('stock git finds the repository sound', () => {
      expect(() => git(t, 'fsck', '--strict', '--no-dangling')).not.toThrow();
    });

    test('the import packed the objects: none is left loose, every one is in a pack', async () => {
      expect(await t.ctx.repo.objectsOnDisk()).toMatchObject({ loose: 0, looseBytes: 0, packs: 1 });
      expect(gitText(t, 'count-objects', '-v')).toMatch(/^count: 0$/m);
    });

    test('the diff law holds between every pair of imported versions', async () => {
      for (let a = 1; a <= 5; a++) {
        for (let b = 1; b <= 5; b++) {
          const d = await diffVersions(t.ctx, 'charter', a, b);
          expect(
            d.changes
              .filter((c) => c.op !== 'insert')
              .map((c) => c.text)
              .join(''),
          ).toBe(TEXTS[a - 1]);
          expect(
            d.changes
              .filter((c) => c.op !== 'delete')
              .map((c) => c.text)
              .join(''),
          ).toBe(TEXTS[b - 1]);
        }
      }
    });
  });

  describe('importHistory without a TSV', () => {
    test('the acting person is the author; summaries name the files', async () => {
      const t = await fresh();
      const h = await history(TEXTS.slice(0, 3));
      await fsp.writeFile(path.join(h.dir, '.hidden.md'), 'ignored');
      await fsp.mkdir(path.join(h.dir, 'sub'));
      await importHistory(
        t.ctx,
        { id: 999, name: 'Sam Secretary', email: 'sam@example.org', roles: ['secretariat'], groups: [] },
        { slug: 'plain', title: 'Plain', group: 'mag', dir: h.dir },
      );
      const vs = listVersions(t.ctx, 'plain').reverse();
      expect(vs.map((v) => v.summary)).toEqual([
        'Imported from 0001.md',
        'Imported from 0002.md',
        'Imported from 0003.md',
      ]);
      expect(vs.map((v) => v.author)).toEqual(vs.map(() => ({ name: 'Sam Secretary', email: 'sam@example.org' })));
      for (let n = 1; n <= 3; n++) expect(await versionText(t.ctx, vs[n - 1])).toBe(TEXTS[n - 1]);
      const committers = gitText(t, 'log', '--format=%cn <%ce>', 'refs/heads/main', '--', 'documents/plain.md')
        .trim()
        .split('\n');
      expect(new Set(committers)).toEqual(new Set(['Ratify <ratify@system.invalid>']));
    });
  });

  describe('importHistory refusals change nothing', () => {
    let t: TestData;
    let good: Awaited<ReturnType<typeof history>>;
    beforeAll(async () => {
      t = await fresh();
      good = await history(TEXTS.slice(0, 3), tsvOf(ROWS.slice(0, 3)));
    });

    const input = (over: Partial<{ slug: string; title: string; group: string; dir: string; tsv: string }> = {}) => ({
      slug: 'newdoc',
      title: 'New',
      group: 'mag',
      dir: good.dir,
      tsv: good.tsv,
      ...over,
    });

    test('slug already used → document_exists', async () => {
      await expectRefused(
        t,
        () => importHistory(t.ctx, CLI_ACTOR, input({ slug: 'terms-of-reference' })),
        'document_exists',
        null,
      );
      expect(t.ctx.meta.get('documents', 'terms-of-reference')?.latest).toBe(1);
    });

    test('unknown group → group_not_found', async () => {
      await expectRefused(
        t,
        () => importHistory(t.ctx, CLI_ACTOR, input({ group: 'no-such-group' })),
        'group_not_found',
        'newdoc',
      );
    });

    test.each(['UPPER', 'a..b', 'a'.repeat(65), '', '-dash', 'a/b', '../x', 'with space'])(
      'bad slug %j → invalid_slug',
      async (slug) => {
        await expectRefused(t, () => importHistory(t.ctx, CLI_ACTOR, input({ slug })), 'invalid_slug', null);
      },
    );

    test('bad title → invalid_title', async () => {
      await expectRefused(t, () => importHistory(t.ctx, CLI_ACTOR, input({ title: '  ' })), 'invalid_title', 'newdoc');
      await expectRefused(
        t,
        () => importHistory(t.ctx, CLI_ACTOR, input({ title: 'two\nlines' })),
        'invalid_title',
        'newdoc',
      );
    });

    test('TSV with fewer or more rows than files → tsv_mismatch', async () => {
      for (const rows of [ROWS.slice(0, 2), ROWS.slice(0, 4), []]) {
        const h = await history(TEXTS.slice(0, 3), tsvOf(rows));
        await expectRefused(
          t,
          () => importHistory(t.ctx, CLI_ACTOR, input({ dir: h.dir, tsv: h.tsv })),
          'tsv_mismatch',
          'newdoc',
        );
      }
    });

    test.each([
      [
        'no header',
        ROWS.slice(0, 3)
          .map((r) => r.join('\t'))
          .join('\n') + '\n',
      ],
      [
        'wrong header',
        'seq\twhen\tauthor\tsubject\n' +
          ROWS.slice(0, 3)
            .map((r) => r.join('\t'))
            .join('\n') +
          '\n',
      ],
      [
        'comma separated',
        'seq,date,author,subject\n' +
          ROWS.slice(0, 3)
            .map((r) => r.join(','))
            .join('\n') +
          '\n',
      ],
      ['empty file', ''],
      ['bad date', tsvOf([ROWS[0], ['0002', 'yesterday', 'Grace Hopper', 'x'], ROWS[2]])],
      ['date without offset', tsvOf([ROWS[0], ['0002', '2019-07-04T17:30:45', 'Grace Hopper', 'x'], ROWS[2]])],
      ['impossible date', tsvOf([ROWS[0], ['0002', '2019-13-45T17:30:45Z', 'Grace Hopper', 'x'], ROWS[2]])],
      ['no author', tsvOf([ROWS[0], ['0002', '2019-07-04T17:30:45Z', ' ', 'x'], ROWS[2]])],
    ])('%s → invalid_tsv', async (_name, tsv) => {
      const h = await history(TEXTS.slice(0, 3), tsv);
      await expectRefused(
        t,
        () => importHistory(t.ctx, CLI_ACTOR, input({ dir: h.dir, tsv: h.tsv })),
        'invalid_tsv',
        'newdoc',
      );
    });

    test('empty folder → empty_dir', async () => {
      const h = await history([]);
      await expectRefused(
        t,
        () => importHistory(t.ctx, CLI_ACTOR, input({ dir: h.dir, tsv: undefined })),
        'empty_dir',
        'newdoc',
      );
      // Only hidden files and folders: still empty.
      await fsp.writeFile(path.join(h.dir, '.DS_Store'), 'x');
      await fsp.mkdir(path.join(h.dir, 'nested'));
      await expectRefused(
        t,
        () => importHistory(t.ctx, CLI_ACTOR, input({ dir: h.dir, tsv: undefined })),
        'empty_dir',
        'newdoc',
      );
    });

    test('a folder that does not exist → invalid_dir', async () => {
      await expectRefused(
        t,
        () => importHistory(t.ctx, CLI_ACTOR, input({ dir: path.join(good.root, 'nope'), tsv: undefined })),
        'invalid_dir',
        'newdoc',
      );
    });

    test('a file with a NUL → invalid_text, nothing written (checked before the first version)', async () => {
      const h = await history([TEXTS[0], TEXTS[1], 'bad\u0000text']);
      await expectRefused(
        t,
        () => importHistory(t.ctx, CLI_ACTOR, input({ dir: h.dir, tsv: undefined })),
        'invalid_text',
        'newdoc',
      );
    });

    test('a file that is not UTF-8 is refused rather than silently altered', async () => {
      const h = await history([TEXTS[0]]);
      // "Café" in Latin-1: 0xE9 is not valid UTF-8; reading it as UTF-8 gives U+FFFD.
      await fsp.writeFile(path.join(h.dir, '0002.md'), Buffer.from([0x43, 0x61, 0x66, 0xe9, 0x0a]));
      const before = await snapshot(t);
      let err: unknown = null;
      try {
        await importHistory(t.ctx, CLI_ACTOR, input({ slug: 'latin1', dir: h.dir, tsv: undefined }));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DomainError);
      expect((err as DomainError).kind).toBe('invalid');
      expect(await snapshot(t)).toEqual(before);
      expect(t.ctx.meta.get('documents', 'latin1')).toBeUndefined();
    });

    test.each([
      ['an author with angle brackets', 'Evil <forged@example.org>', 'hi'],
      ['an author with a NUL', 'A\u0000B', 'hi'],
      ['an author with a control character', 'A\u0001B', 'hi'],
      ['a subject with a NUL', 'Ada', 'sub\u0000ject'],
    ])('%s never makes a malformed commit', async (_name, author, subject) => {
      const t = await fresh(); // its own repository: a bad commit must not spill into other tests
      const h = await history(['one\n'], tsvOf([['0001', '2020-01-01T00:00:00Z', author, subject]]));
      const slug = 'hostile';
      const before = await snapshot(t);
      let err: unknown = null;
      try {
        await importHistory(t.ctx, CLI_ACTOR, input({ slug, dir: h.dir, tsv: h.tsv }));
      } catch (e) {
        err = e;
      }
      if (err) {
        // Refusing is fine, but then as a clean invalid_tsv that changed nothing.
        expect(err).toBeInstanceOf(DomainError);
        expect((err as DomainError).code).toBe('invalid_tsv');
        expect(await snapshot(t)).toEqual(before);
        return;
      }
      // Accepting is fine too, but git must find the commit sound and name the same author as the store.
      expect(() => git(t, 'fsck', '--strict', '--no-dangling')).not.toThrow();
      const v = getVersion(t.ctx, slug, 1);
      const [an, ae] = gitText(t, 'log', '-1', '--format=%an%x1f%ae', v.commit).trim().split('\u001f');
      expect({ name: an, email: ae }).toEqual(v.author);
      expect(ae.endsWith('.invalid')).toBe(true);
    });

    test('after all refusals the good import still works', async () => {
      await importHistory(t.ctx, CLI_ACTOR, input());
      expect(t.ctx.meta.get('documents', 'newdoc')?.latest).toBe(3);
    });
  });

  describe('an interrupted import goes on where it stopped', () => {
    test('the same command again adds the missing versions; another history under the slug is refused', async () => {
      const t = await fresh();
      // The first two files landed before the process died.
      const part = await history(TEXTS.slice(0, 2));
      await importHistory(t.ctx, CLI_ACTOR, { slug: 'resumed', title: 'Resumed', group: 'mag', dir: part.dir });
      expect(t.ctx.meta.get('documents', 'resumed')?.latest).toBe(2);
      const whole = await history(TEXTS);
      const r = await importHistory(t.ctx, CLI_ACTOR, {
        slug: 'resumed',
        title: 'Resumed',
        group: 'mag',
        dir: whole.dir,
      });
      expect(r).toMatchObject({ versions: TEXTS.length, resumedAfter: 2 });
      for (let n = 1; n <= TEXTS.length; n++)
        expect(await t.ctx.repo.readBlobText(t.ctx.meta.get('versions', `resumed/${n}`)!.blob)).toBe(TEXTS[n - 1]);
      // Running it once more, or with other files, changes nothing.
      await expect(
        importHistory(t.ctx, CLI_ACTOR, { slug: 'resumed', title: 'Resumed', group: 'mag', dir: whole.dir }),
      ).rejects.toMatchObject({ code: 'document_exists' });
      const other = await history(['something else\n', ...TEXTS.slice(1)]);
      await expect(
        importHistory(t.ctx, CLI_ACTOR, { slug: 'resumed', title: 'Resumed', group: 'mag', dir: other.dir }),
      ).rejects.toMatchObject({ code: 'document_exists' });
      expect(t.ctx.meta.get('documents', 'resumed')?.latest).toBe(TEXTS.length);
    });
  });
});
