import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GitRepository } from '../../server/store/git/repository.js';
import { MetaStore } from '../../server/store/meta/metaStore.js';
import { fsckProblems, git, tmp } from './gitHelpers.js';
import { bin, childEnv } from '../helpers/bin.js';
import { prng } from '../helpers/random.js';

/**
 * kill -9 a writer at random moments, 30 times on the same repository: the repository must
 * open, fsck clean, every ref must resolve, `main` must only grow, and every write the child
 * acknowledged (printed) must still be there.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const projectRoot = path.resolve(here, '../..');
const gitChild = 'commitLoop';
const metaChild = 'metaLoop';
const packChild = 'packLoop';
// Kills per test in an ordinary run (each run draws a new seed); more in CI's long mode or as CRASH_RUNS says.
const RUNS = Number(process.env.CRASH_RUNS ?? (process.env.CI_LONG === '1' ? 30 : 12));
const META_RUNS = Math.max(4, Math.round((RUNS * 15) / 30));

interface RunResult {
  commits: string[];
  tags: string[];
  acks: string[];
  /** Every line the child printed. */
  lines: string[];
  delay: number;
}

/** Start a writer, wait for its first acknowledged write, SIGKILL it `delay` ms later; resolve with what it acknowledged. */
function runAndKill(child: string, target: string, run: number, delay: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const [node, argv] = bin.fixture(child);
    const p = spawn(node, [...argv, target, String(run)], {
      cwd: projectRoot,
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const commits: string[] = [];
    const tags: string[] = [];
    const acks: string[] = [];
    const lines: string[] = [];
    let buf = '';
    let stderr = '';
    let killed = false;
    const guard = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`run ${run}: no commit within 20 s; stderr: ${stderr}`));
    }, 20_000);
    p.stdout.setEncoding('utf8');
    p.stderr.setEncoding('utf8');
    p.stderr.on('data', (d: string) => (stderr += d));
    p.stdout.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        const [kind, value] = line.split(' ');
        if (kind === 'commit') commits.push(value);
        if (kind === 'tag') tags.push(value);
        if (kind === 'ack') acks.push(value);
        if ((kind === 'commit' || kind === 'ack') && !killed) {
          killed = true;
          clearTimeout(guard);
          setTimeout(() => p.kill('SIGKILL'), delay);
        }
      }
    });
    p.on('error', reject);
    p.on('close', (code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL')
        reject(new Error(`run ${run}: writer exited by itself (code ${code}); stderr: ${stderr}`));
      else resolve({ commits, tags, acks, lines, delay });
    });
  });
}

let dir: string;
beforeAll(async () => {
  dir = await tmp('ratify-crash-');
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('kill -9 during commits and tags', () => {
  test(`${RUNS} kills in a row leave a repository that opens, fscks clean and only grows`, async () => {
    const started = Date.now();
    const gitdir = path.join(dir, 'git');
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
    const random = prng(seed);
    const context = (run: number) => `(run ${run}, seed ${seed}; replay with CRASH_SEED=${seed})`;
    let prevHead: string | null = null;
    const acknowledgedTags: string[] = [];
    let totalCommits = 0;
    let leftovers = 0;

    for (let run = 0; run < RUNS; run++) {
      const delay = 10 + Math.floor(random() * 291);
      const result = await runAndKill(gitChild, gitdir, run, delay);
      expect(result.commits.length).toBeGreaterThan(0);
      totalCommits += result.commits.length;
      acknowledgedTags.push(...result.tags);
      leftovers += (await fsp.readdir(path.join(gitdir, 'ratify-tmp')).catch(() => [])).length;

      // Opens (every ref resolves to a parseable object) — no RepositoryDamagedError.
      const repo = await GitRepository.open(gitdir).catch((e: Error) => {
        throw new Error(`${e.message} ${context(run)}`);
      });

      // Stock git agrees: fsck clean but for dangling objects.
      expect({ run: context(run), problems: await fsckProblems(gitdir) }).toEqual({ run: context(run), problems: [] });

      // Every ref resolves: heads to commits, tags to tag objects that peel to commits.
      const refs = await git(gitdir, ['for-each-ref', '--format=%(refname) %(objecttype) %(*objecttype)']);
      expect(refs.code).toBe(0);
      const refLines = refs.stdout.trim().split('\n');
      for (const line of refLines) {
        const [name, type, peeled] = line.split(' ');
        if (name.startsWith('refs/heads/')) expect({ line, type }).toEqual({ line, type: 'commit' });
        else expect({ line, type, peeled }).toEqual({ line, type: 'tag', peeled: 'commit' });
      }
      expect((await git(gitdir, ['rev-list', '--all', '--objects'])).code).toBe(0);

      // Every acknowledged tag is there.
      const tagNames = new Set(refLines.map((l) => l.split(' ')[0]));
      for (const t of acknowledgedTags)
        expect({ tag: t, present: tagNames.has(`refs/tags/${t}`) }).toEqual({ tag: t, present: true });

      // main only grows: its first-parent chain holds the previous head and the last acknowledged commit.
      const head = await repo.resolve('refs/heads/main');
      expect(head).not.toBeNull();
      const chain = new Set((await git(gitdir, ['rev-list', '--first-parent', 'main'])).stdout.trim().split('\n'));
      if (prevHead)
        expect({ run: context(run), prevHeadKept: chain.has(prevHead) }).toEqual({
          run: context(run),
          prevHeadKept: true,
        });
      const lastAck = result.commits.at(-1)!;
      expect({ run: context(run), lastAckKept: chain.has(lastAck) }).toEqual({ run: context(run), lastAckKept: true });
      // Each acknowledged commit of this run is on the chain.
      for (const c of result.commits) expect(chain.has(c)).toBe(true);
      prevHead = head;
    }

    const count = Number((await git(gitdir, ['rev-list', '--count', 'main'])).stdout.trim());
    expect(count).toBeGreaterThanOrEqual(totalCommits);
    // Informational: how long it took and how often a kill interrupted a write in flight.
    console.info(
      `crash test: ${RUNS} kills, ${count} commits on main (${totalCommits} acknowledged), ${acknowledgedTags.length} tags acknowledged, ` +
        `${leftovers} temp files left by kills, seed ${seed}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  }, 180_000);
});

describe('kill -9 while the repository packs its objects', () => {
  test('12 kills during packings and commits: opens, fscks clean, nothing left over, every acknowledged commit there', async () => {
    const started = Date.now();
    const gitdir = path.join(dir, 'packed-git');
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
    const random = prng(seed + 2);
    const acknowledged: string[] = [];
    let killedWhilePacking = 0;
    let packings = 0;
    for (let run = 0; run < 12; run++) {
      const delay = 20 + Math.floor(random() * 600);
      const result = await runAndKill(packChild, gitdir, run, delay);
      acknowledged.push(...result.commits);
      const begun = result.lines.filter((l) => l.startsWith('packing ')).length;
      const ended = result.lines.filter((l) => l.startsWith('packed ')).length;
      packings += ended;
      if (begun > ended) killedWhilePacking++;

      const repo = await GitRepository.open(gitdir, { packEvery: null });
      try {
        const where = `(run ${run}, seed ${seed}, killed after ${delay} ms)`;
        expect({ where, problems: await fsckProblems(gitdir) }).toEqual({ where, problems: [] });
        // Opening swept what a kill left: temporary files, a pack without its index.
        expect({ where, tmp: await fsp.readdir(path.join(gitdir, 'ratify-tmp')) }).toEqual({ where, tmp: [] });
        const packFiles = await fsp.readdir(path.join(gitdir, 'objects', 'pack'));
        const orphans = packFiles.filter((f) => f.endsWith('.pack') && !packFiles.includes(f.replace(/pack$/, 'idx')));
        expect({ where, orphans }).toEqual({ where, orphans: [] });
        const chain = new Set((await git(gitdir, ['rev-list', 'main'])).stdout.trim().split('\n'));
        const missing = acknowledged.filter((c) => !chain.has(c));
        expect({ where, missing }).toEqual({ where, missing: [] });
        // Every commit's text reads back through Ratify too.
        const head = await repo.resolve('refs/heads/main');
        for await (const c of repo.firstParents(head!, null)) await repo.readFile(c.oid, 'documents/charter.md');
      } finally {
        await repo.close();
      }
    }
    // Kills landed during packings (the child packs all the time), not only between them.
    expect(killedWhilePacking).toBeGreaterThan(0);
    console.info(
      `pack crash test: 12 kills, ${killedWhilePacking} during a packing, ${packings} packings completed, ` +
        `${acknowledged.length} commits acknowledged, seed ${seed}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  }, 240_000);
});

describe('kill -9 during metadata writes', () => {
  test(`${META_RUNS} kills of four concurrent writers with frequent snapshots: every acknowledged change is there, whole`, async () => {
    const started = Date.now();
    const metaDir = path.join(dir, 'meta');
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
    const random = prng(seed + 1);
    const acknowledged: string[] = [];
    let before = 0;
    // Stores the parent leaves open (as a crash would), closed only when the test is over.
    const leftOpen: MetaStore[] = [];
    for (let run = 0; run < META_RUNS; run++) {
      const delay = 10 + Math.floor(random() * 291);
      const result = await runAndKill(metaChild, metaDir, run, delay);
      acknowledged.push(...result.acks);
      const store = await MetaStore.open(metaDir, { snapshotEvery: 20 });
      try {
        const groups = store.all('groups');
        // Every acknowledged change is there …
        const missing = acknowledged.filter((id) => !store.get('groups', id));
        expect({ run, seed, missing }).toEqual({ run, seed, missing: [] });
        // … and every change is whole: its two records and its message (cold, on disk) landed together.
        const mailOf = (slug: string) => {
          const [r, w, n] = /^r(\d+)-w(\d+)-(\d+)$/.exec(slug)!.slice(1).map(Number);
          return store.get('mails', r * 1_000_000 + w * 100_000 + n + 1);
        };
        const torn = groups.filter((g) => !store.get('documents', g.slug) || mailOf(g.slug)?.key !== g.slug);
        expect({ run, seed, torn: torn.map((g) => g.slug) }).toEqual({ run, seed, torn: [] });
        expect(store.all('documents')).toHaveLength(groups.length);
        expect(store.count('mails')).toBe(groups.length);
        // The thread index lists the cold messages too: each writer's, in order.
        for (const w of [0, 1, 2, 3]) {
          const listed = store.by('mails', 'thread', `w${w}@example.org <w${w}@x>`).map((m) => m.key);
          expect(listed).toEqual(groups.filter((g) => g.slug.includes(`-w${w}-`)).map((g) => mailOf(g.slug)!.key));
        }
        // Nothing shrinks; the audit has one event per change, seqs distinct.
        expect(groups.length).toBeGreaterThanOrEqual(before);
        before = groups.length;
        const audit = await store.auditLog(1_000_000);
        expect(audit).toHaveLength(groups.length);
        expect(new Set(audit.map((e) => e.seq)).size).toBe(audit.length);
      } finally {
        // Alternate between a clean close (snapshot) and leaving it as a crash would.
        if (run % 2) await store.close();
        else leftOpen.push(store);
      }
    }
    await Promise.allSettled(leftOpen.map((s) => s.close()));
    console.info(
      `meta crash test: ${META_RUNS} kills, ${before} changes, ${acknowledged.length} acknowledged, seed ${seed}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  }, 120_000);
});
