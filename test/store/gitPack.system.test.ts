/**
 * Packing the repository's objects (GitRepository.pack): deltas stock git and isomorphic-git
 * read, packing by itself every N writes, reads and writes going on during a packing, and a
 * backup's files kept until it has copied them.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { applyDelta, createDelta, DeltaIndex } from '../../server/store/git/delta.js';
import { GitRepository, MAX_PACKS, PACK_EVERY_WRITES } from '../../server/store/git/repository.js';
import { fsckProblems, git, tmp } from './gitHelpers.js';
import { prng } from '../helpers/random.js';

const MAIN = 'refs/heads/main';

let dir: string;
let gitdir: string;
const open: GitRepository[] = [];
beforeEach(async () => {
  dir = await tmp('ratify-gitpack-');
  gitdir = path.join(dir, 'git');
});
afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

async function openRepo(opts: Parameters<typeof GitRepository.open>[1] = { packEvery: null }) {
  const repo = await GitRepository.open(gitdir, opts);
  open.push(repo);
  return repo;
}

/** A text of about 20 KB; version `n` differs from `n - 1` in a few lines. */
function textAt(n: number, doc = 'charter'): string {
  const lines: string[] = [];
  for (let i = 0; i < 400; i++) lines.push(`${doc} line ${i}: the committee shall review clause ${i % 37}.`);
  for (let k = 1; k <= n; k++) {
    const random = prng(k * 7919 + doc.length);
    lines[Math.floor(random() * 400)] = `amended in version ${k} (${random()})`;
  }
  return `${lines.join('\n')}\n`;
}

async function commitOnMain(repo: GitRepository, n: number, doc = 'charter') {
  const head = await repo.resolve(MAIN);
  return repo.commitFile({
    ref: MAIN,
    expected: head,
    parent: head,
    filepath: `documents/${doc}.md`,
    text: textAt(n, doc),
    message: `${doc} version ${n}`,
    author: { name: 'Alice', email: 'alice@example.org', at: new Date(Date.UTC(2026, 0, 1, 0, n)) },
  });
}

async function looseCount(): Promise<number> {
  const objects = path.join(gitdir, 'objects');
  let n = 0;
  for (const d of await fsp.readdir(objects))
    if (/^[0-9a-f]{2}$/.test(d)) n += (await fsp.readdir(path.join(objects, d))).length;
  return n;
}

const packFiles = async () => (await fsp.readdir(path.join(gitdir, 'objects', 'pack'))).sort();

/** Stock git agrees on everything: fsck, log, every ref, a clone. */
async function expectSound(commits: number) {
  expect(await fsckProblems(gitdir)).toEqual([]);
  const log = await git(gitdir, ['log', '--format=%s', 'main']);
  expect(log.code).toBe(0);
  expect(log.stdout.trim().split('\n')).toHaveLength(commits);
  const refs = await git(gitdir, ['for-each-ref', '--format=%(refname)']);
  for (const ref of refs.stdout.trim().split('\n').filter(Boolean))
    expect((await git(gitdir, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])).code).toBe(0);
  const clone = path.join(dir, `clone-${Date.now()}`);
  const cloned = await git(gitdir, ['clone', '--quiet', '--no-local', gitdir, clone]);
  expect(cloned).toMatchObject({ code: 0 });
  const cloneLog = await git(path.join(clone, '.git'), ['rev-list', '--count', 'HEAD']);
  expect(cloneLog.stdout.trim()).toBe(String(commits));
}

describe('deltas', () => {
  test('apply(base, create(base, target)) is the target, for any bytes (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.array(fc.tuple(fc.nat(3000), fc.nat(200), fc.uint8Array({ maxLength: 100 })), { maxLength: 8 }),
        (base, edits) => {
          // The target is the base with a few splices: what versions of a text look like.
          let target = Buffer.from(base);
          for (const [at, del, ins] of edits) {
            const p = Math.min(at, target.length);
            target = Buffer.concat([target.subarray(0, p), ins, target.subarray(Math.min(target.length, p + del))]);
          }
          const delta = createDelta(new DeltaIndex(base), target, target.length + 64);
          expect(delta).not.toBeNull();
          expect(Buffer.from(applyDelta(base, delta!)).equals(target)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a small change makes a small delta; a delta over the limit is refused', () => {
    const a = Buffer.from(textAt(10));
    const b = Buffer.from(textAt(11));
    const delta = createDelta(new DeltaIndex(a), b, b.length)!;
    expect(delta.length).toBeLessThan(300);
    expect(createDelta(new DeltaIndex(Buffer.from('unrelated '.repeat(500))), b, 1000)).toBeNull();
  });
});

describe('pack', () => {
  test('packs every loose object into one pack stock git reads; every version reads back the same', async () => {
    const repo = await openRepo();
    const written: { commit: string; blob: string; n: number }[] = [];
    for (let n = 1; n <= 40; n++) written.push({ ...(await commitOnMain(repo, n)), n });
    await repo.createTag({
      name: 'charter/v40',
      object: written.at(-1)!.commit,
      message: 'version 40',
      tagger: { name: 'Alice', email: 'alice@example.org', at: new Date() },
    });
    const before = await repo.objectsOnDisk();
    expect(before.loose).toBe(await looseCount());

    const report = await repo.pack();
    expect(report).toMatchObject({
      pack: expect.stringMatching(/^pack-[0-9a-f]{40}\.pack$/),
      looseRemoved: before.loose,
    });
    expect(report.objects).toBe(before.loose);
    expect(report.deltas).toBeGreaterThan(30);
    expect(await looseCount()).toBe(0);
    // Only the pack and its index; no empty fan-out folders left behind.
    expect(await packFiles()).toEqual([report.pack!.replace('.pack', '.idx'), report.pack].sort());
    expect((await fsp.readdir(path.join(gitdir, 'objects'))).sort()).toEqual(['info', 'pack']);
    for (const f of await packFiles())
      expect((await fsp.stat(path.join(gitdir, 'objects', 'pack', f))).mode & 0o777).toBe(0o600);
    const after = await repo.objectsOnDisk();
    expect(after.packBytes * 3).toBeLessThan(before.looseBytes);

    await expectSound(40);
    for (const w of written) {
      expect((await repo.readFile(w.commit, 'documents/charter.md'))?.text).toBe(textAt(w.n));
      expect((await git(gitdir, ['cat-file', 'blob', w.blob])).stdout).toBe(textAt(w.n));
    }
    // A fresh process (no cache) reads the same.
    const again = await GitRepository.open(gitdir, { packEvery: null });
    open.push(again);
    expect((await again.readFile(written[0].commit, 'documents/charter.md'))?.text).toBe(textAt(1));
    expect((await again.readTag('charter/v40'))?.object).toBe(written.at(-1)!.commit);
  });

  test('nothing to pack: no new pack; a full pack of one pack and nothing loose does nothing', async () => {
    const repo = await openRepo();
    expect(await repo.pack()).toMatchObject({ pack: null, objects: 0 });
    await commitOnMain(repo, 1);
    const first = await repo.pack();
    expect(first.pack).not.toBeNull();
    expect(await repo.pack()).toMatchObject({ pack: null });
    expect(await repo.pack({ full: true })).toMatchObject({ pack: null });
    expect(await packFiles()).toHaveLength(2);
  });

  test(`after ${MAX_PACKS} packs the next packing takes them all in; a full packing makes one pack`, async () => {
    const repo = await openRepo();
    let n = 0;
    for (let p = 0; p < MAX_PACKS; p++) {
      for (let k = 0; k < 3; k++) await commitOnMain(repo, ++n);
      expect((await repo.pack()).full).toBe(false);
    }
    expect((await packFiles()).filter((f) => f.endsWith('.idx'))).toHaveLength(MAX_PACKS);
    await commitOnMain(repo, ++n);
    const merged = await repo.pack();
    expect(merged).toMatchObject({ full: true, packsRemoved: MAX_PACKS });
    expect((await packFiles()).filter((f) => f.endsWith('.idx'))).toHaveLength(1);
    await commitOnMain(repo, ++n);
    await repo.pack();
    expect(await repo.pack({ full: true })).toMatchObject({ full: true, packsRemoved: 2, looseRemoved: 0 });
    expect(await packFiles()).toHaveLength(2);
    await expectSound(n);
    let k = n;
    for await (const c of repo.firstParents((await repo.resolve(MAIN))!, null))
      expect((await repo.readFile(c.oid, 'documents/charter.md'))?.text).toBe(textAt(k--));
    expect(k).toBe(0);
  });

  test(`packs by itself every N writes (${PACK_EVERY_WRITES} by default), in the background`, async () => {
    const repo = await openRepo({ packEvery: 25 });
    for (let n = 1; n <= 24; n++) await commitOnMain(repo, n);
    await repo.packingDone();
    expect(await packFiles()).toEqual([]);
    await commitOnMain(repo, 25);
    await repo.packingDone();
    expect(await packFiles()).toHaveLength(2);
    expect(await looseCount()).toBe(0);
    await expectSound(25);
  });

  /** `writes` commits on main by a repository that never packs: the loose objects the next open finds. */
  async function leaveBacklog(writes: number) {
    const first = await openRepo();
    for (let n = 1; n <= writes; n++) await commitOnMain(first, n);
  }

  test('a backlog of loose objects found at open is packed soon after', async () => {
    await leaveBacklog(12);
    // 12 writes left 48 loose objects: 12 writes' worth, more than packEvery 10.
    const repo = await openRepo({ packEvery: 10 });
    await repo.packingDone();
    expect(await looseCount()).toBe(0);
    await expectSound(12);
  });

  test("with backlog 'later' (the server's start) the backlog is counted and packed only when asked", async () => {
    await leaveBacklog(12);
    const repo = await openRepo({ packEvery: 10, backlog: 'later' });
    await repo.packingDone();
    expect(await looseCount()).toBe(48);
    repo.countBacklog();
    await repo.packingDone();
    expect(await looseCount()).toBe(0);
    await expectSound(12);
  });

  test('writes made between the open and the count of the backlog are counted once', async () => {
    await leaveBacklog(12);
    const repo = await openRepo({ packEvery: 15, backlog: 'later' });
    // Two writes after the open: 12 + 2 writes' worth in all, under 15 (counted twice, 16).
    await commitOnMain(repo, 13);
    await commitOnMain(repo, 14);
    repo.countBacklog();
    await repo.packingDone();
    expect(await looseCount()).toBe(56);
    await commitOnMain(repo, 15);
    await repo.packingDone();
    expect(await looseCount()).toBe(0);
    await expectSound(15);
  });

  test('a pack without its index (a kill between the two renames) is removed at open', async () => {
    const repo = await openRepo();
    await commitOnMain(repo, 1);
    const { pack } = await repo.pack();
    await commitOnMain(repo, 2);
    const orphan = path.join(gitdir, 'objects', 'pack', 'pack-0123456789012345678901234567890123456789.pack');
    await fsp.copyFile(path.join(gitdir, 'objects', 'pack', pack!), orphan);
    await fsp.writeFile(path.join(gitdir, 'ratify-tmp', 'packing-1-2.pack'), 'half a pack');
    await openRepo();
    await expect(fsp.stat(orphan)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await fsp.readdir(path.join(gitdir, 'ratify-tmp'))).toEqual([]);
    await expectSound(2);
  });

  test('a damaged loose object is left where it is; everything else is packed', async () => {
    const repo = await openRepo();
    await commitOnMain(repo, 1);
    const bogus = path.join(gitdir, 'objects', 'ab', 'cdef'.padEnd(38, '0'));
    await fsp.mkdir(path.dirname(bogus), { recursive: true });
    await fsp.writeFile(bogus, 'not zlib');
    const report = await repo.pack();
    expect(report).toMatchObject({ looseUnreadable: 1 });
    expect(report.looseRemoved).toBe(report.objects);
    expect(await looseCount()).toBe(1);
  });
});

describe('while a packing runs', () => {
  test('reads never miss an object, writes go on, and the objects written meanwhile stay loose', async () => {
    const repo = await openRepo();
    const versions: { commit: string; n: number }[] = [];
    // More versions and packings in CI's long mode; an ordinary run keeps to one incremental and one full packing.
    const LONG = process.env.CI_LONG === '1';
    const VERSIONS = LONG ? 60 : 30;
    for (let n = 1; n <= VERSIONS; n++) versions.push({ ...(await commitOnMain(repo, n)), n });
    let stop = false;
    let reads = 0;
    const failures: string[] = [];
    // Readers: every version, over and over, through the repository (no text cache: readFile walks commit, trees, blob).
    const reader = async (offset: number) => {
      for (let i = offset; !stop; i++) {
        const v = versions[i % versions.length];
        try {
          const got = await repo.readFile(v.commit, 'documents/charter.md');
          if (got?.text !== textAt(v.n)) failures.push(`version ${v.n} read wrong`);
          await repo.readCommit(v.commit);
        } catch (e) {
          failures.push(`version ${v.n}: ${(e as Error).message}`);
        }
        reads++;
        await new Promise((r) => setImmediate(r));
      }
    };
    const readers = [reader(0), reader(17), reader(33)];
    // A writer, committing another document while the packings run.
    let written = 0;
    const writer = (async () => {
      while (!stop) {
        await commitOnMain(repo, ++written, 'terms');
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const reports = [];
    // Incremental then full packings, several times: full ones remove the previous packs under the readers.
    for (let round = 0; round < (LONG ? 4 : 2); round++) reports.push(await repo.pack({ full: round % 2 === 1 }));
    stop = true;
    await Promise.all([...readers, writer]);
    expect(failures).toEqual([]);
    expect(reads).toBeGreaterThan(50);
    expect(written).toBeGreaterThan(0);
    expect(reports.filter((r) => r.packsRemoved > 0).length).toBeGreaterThan(0);
    // Writes waited for the lock only briefly at a time.
    for (const r of reports) expect(r.longestLockMs).toBeLessThan(2000);
    await expectSound(VERSIONS + written);
    // Every commit of both documents reads back.
    const last = await repo.pack({ full: true });
    expect(last.full).toBe(true);
    expect(await looseCount()).toBe(0);
    for (const v of versions) expect((await repo.readFile(v.commit, 'documents/charter.md'))?.text).toBe(textAt(v.n));
    const head = await repo.resolve(MAIN);
    expect((await repo.readFile(head!, 'documents/terms.md'))?.text).toBe(textAt(written, 'terms'));
  }, 120_000);

  test('a pack is removed only after the reads that may have listed it are done; new reads no longer see it', async () => {
    const first = await openRepo();
    const versions: string[] = [];
    for (let n = 1; n <= 10; n++) {
      versions.push((await commitOnMain(first, n)).commit);
      if (n % 5 === 0) await first.pack();
    }
    const [packA, packB] = (await packFiles()).filter((f) => f.endsWith('.idx'));
    // A fresh repository whose next read of a pack file or index (for an old version, in the first pack) waits at a gate.
    const repo = await openRepo();
    const readFile = repo.fs.promises.readFile;
    let openGate = () => {};
    const gate = new Promise<void>((r) => (openGate = r));
    let held = false;
    repo.fs.promises.readFile = (async (file: string, ...rest: unknown[]) => {
      if (!held && /\.(idx|pack)$/.test(file)) {
        held = true;
        await gate;
      }
      return (readFile as (f: string, ...r: unknown[]) => Promise<Buffer>)(file, ...rest);
    }) as typeof readFile;
    const slowRead = repo.readFile(versions[2], 'documents/charter.md');
    for (let i = 0; i < 500 && !held; i++) await new Promise((r) => setTimeout(r, 5));
    expect(held).toBe(true);

    const packing = repo.pack({ full: true });
    // The new pack is in place, the old ones are hidden from new reads but still on disk.
    const packDir = path.join(gitdir, 'objects', 'pack');
    for (let i = 0; i < 1000 && (await packFiles()).filter((f) => f.endsWith('.idx')).length < 3; i++)
      await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 100));
    expect(await packFiles()).toEqual(expect.arrayContaining([packA, packB]));
    const listed = (await repo.fs.promises.readdir(packDir)) as string[];
    expect(listed).not.toContain(packA);
    expect(listed).not.toContain(packB);
    expect(listed.filter((f) => f.endsWith('.idx'))).toHaveLength(1);
    expect((await repo.readFile(versions[7], 'documents/charter.md'))?.text).toBe(textAt(8));

    openGate();
    expect((await slowRead)?.text).toBe(textAt(3));
    expect(await packing).toMatchObject({ full: true, packsRemoved: 2 });
    expect(await packFiles()).not.toEqual(expect.arrayContaining([packA]));
    expect((await repo.readFile(versions[0], 'documents/charter.md'))?.text).toBe(textAt(1));
    await expectSound(10);
  });

  test('a backup holding the object files: nothing is removed until it lets go', async () => {
    const repo = await openRepo();
    for (let n = 1; n <= 10; n++) await commitOnMain(repo, n);
    const loose = await looseCount();
    const release = await repo.exclusive(async () => repo.pinObjects());
    const packing = repo.pack();
    // The new pack appears, but the loose files stay while the pin is held.
    for (let i = 0; i < 200 && (await packFiles()).length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    expect(await packFiles()).toHaveLength(2);
    expect(await looseCount()).toBe(loose);
    release();
    const report = await packing;
    expect(report.looseRemoved).toBe(loose);
    expect(await looseCount()).toBe(0);
  });

  test('close() stops a packing at its next step; the repository stays sound', async () => {
    const repo = await GitRepository.open(gitdir, { packEvery: null });
    for (let n = 1; n <= 30; n++) await commitOnMain(repo, n);
    const packing = repo.pack().catch((e: Error) => e);
    await repo.close();
    const outcome = await packing;
    expect(outcome).toBeInstanceOf(Error);
    await openRepo();
    expect(await fsp.readdir(path.join(gitdir, 'ratify-tmp'))).toEqual([]);
    await expectSound(30);
  });
});
