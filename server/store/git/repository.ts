import git from 'isomorphic-git';
import gitHttp from 'isomorphic-git/http/node';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { durableFs, sweepTmp } from './durableFs.js';
import { Mutex } from '../../util/mutex.js';
import { WriteHealth } from '../health.js';
import { DIR_MODE, fsyncDir, storageError, writeFileDurable } from '../fsutil.js';
import {
  checkIndex,
  headerOf,
  idxLists,
  idxObjectIds,
  type ObjectType,
  type PackItem,
  packOrder,
  parseTree,
  writePack,
} from './packfile.js';
import { Lru } from '../../util/lru.js';
import { Pins } from '../pins.js';
import { conflict, DomainError } from '../../domain/errors.js';

/** A person or the system, as git records them. `at` is the moment; `tzOffset` minutes east of UTC. */
export interface Identity {
  name: string;
  email: string;
  at: Date;
  /** Minutes east of UTC (+60 for UTC+1). Converted to isomorphic-git's inverted sign here. */
  tzOffset?: number;
}

export interface CommitInfo {
  oid: string;
  message: string;
  parents: string[];
  tree: string;
  author: { name: string; email: string; at: Date };
  committer: { name: string; email: string; at: Date };
}

export interface TagInfo {
  name: string;
  oid: string;
  object: string;
  message: string;
  tagger: { name: string; email: string; at: Date };
}

/** After this many writes (commits and tags) the repository packs its loose objects, in the background. */
export const PACK_EVERY_WRITES = 500;
/** With this many packs, the next packing takes them all in: one pack again. */
export const MAX_PACKS = 8;
/** A write leaves about this many loose objects (a blob, two trees, a commit): how a backlog found at open counts. */
const OBJECTS_PER_WRITE = 4;
/** Texts read while listing objects are kept for writing the pack up to this many bytes; the rest are read again. */
const PACK_KEEP_BYTES = 16 * 1024 * 1024;
/** While writing a pack, other work gets the event loop at least this often (ms). */
const PACK_SLICE_MS = 10;
/** Loose objects removed per hold of the write lock. */
const PRUNE_BATCH = 64;

/** What one packing did. */
export interface PackReport {
  /** Whether every object (all packs and loose ones) went into one pack, or only the loose ones. */
  full: boolean;
  /** The new pack (`pack-<sha>.pack` in objects/pack), null when there was nothing to pack. */
  pack: string | null;
  objects: number;
  deltas: number;
  packBytes: number;
  /** Loose objects removed (each is in the new pack), and the bytes their files took. */
  looseRemoved: number;
  looseBytes: number;
  /** Loose objects that could not be read: left as they are. */
  looseUnreadable: number;
  /** Older packs removed (their objects are in the new pack). */
  packsRemoved: number;
  /** Refs in packed-refs afterwards, and loose ref files removed (each is in packed-refs). */
  refsPacked: number;
  refsLooseRemoved: number;
  ms: number;
  /** The longest time the repository's write lock was held (writes wait that long at most). */
  longestLockMs: number;
}

export interface RepositoryOptions {
  /** Pack after this many writes (commits and tags); null: never by itself. */
  packEvery?: number | null;
  /** Where background failures (a packing) are reported. */
  log?: (msg: string, err?: unknown) => void;
  /**
   * Called when the set of packs in objects/pack changed: under the write lock once a new pack is
   * in place (old ones still there), and again once old packs are removed.
   */
  onPacksChanged?: () => Promise<void>;
  /**
   * `later`: the loose objects left by earlier runs are counted towards the next packing only
   * when `countBacklog` is called (the server calls it once its start is done: the listing of
   * 256 fan-out folders is work the start need not wait for). Default: counted after the open.
   */
  backlog?: 'after open' | 'later';
}

/** What a reader started in one generation uses: isomorphic-git's cache (pack indexes), and a count of reads in flight. */
class ReadGeneration {
  readonly cache = {};
  readers = 0;
  private idle: (() => void)[] = [];
  enter() {
    this.readers++;
  }
  leave() {
    if (--this.readers === 0) for (const f of this.idle.splice(0)) f();
  }
  /** Resolves when no read of this generation is in flight. */
  drained(): Promise<void> {
    return this.readers === 0 ? Promise.resolve() : new Promise((r) => this.idle.push(r));
  }
}

class PackingStopped extends Error {
  constructor() {
    super('The repository was closed during packing; the loose objects stay as they were.');
  }
}

const inflate = promisify(zlib.inflate);
const LOOSE_DIR = /^[0-9a-f]{2}$/;
const LOOSE_NAME = /^[0-9a-f]{38}$/;
const PACK_NAME = /^pack-[0-9a-f]{40}\.(pack|idx)$/;
/** A SHA-1 object id as git writes it. */
const OBJECT_ID = /^[0-9a-f]{40}$/;
/** A whole ref name read here without isomorphic-git (anything else goes through it). */
const PLAIN_REF = /^(HEAD|refs\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*)$/;
const isPlainRef = (ref: string) =>
  PLAIN_REF.test(ref) && !ref.split('/').some((part) => part === '..' || part === '.');
/** Git sorts packed-refs by the bytes of the names (refs are ASCII here: code-unit order is the same). */
const byteOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** `fn` over `items`, at most `width` at a time. */
async function inBatches<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}

export class RepositoryDamagedError extends Error {
  constructor(readonly problems: string[]) {
    super(`The git repository is damaged: ${problems.join('; ')}`);
  }
}

/** Names and e-mails that would break a commit header (or forge another identity) are refused. */
const sig = (p: Identity) => {
  if (/[<>\n\u0000]/.test(p.name) || /[<>\n\u0000\s]/.test(p.email)) {
    throw new DomainError(
      'invalid',
      'invalid_identity',
      'A name or e-mail contains <, >, a line break or a NUL character.',
    );
  }
  return sigOf(p);
};
const sigOf = (p: Identity) => ({
  name: p.name,
  email: p.email,
  timestamp: Math.floor(p.at.getTime() / 1000),
  timezoneOffset: -(p.tzOffset ?? 0),
});
const unsig = (p: { name: string; email: string; timestamp: number }) => ({
  name: p.name,
  email: p.email,
  at: new Date(p.timestamp * 1000),
});

/**
 * The one bare repository. Writes go blob → tree → commit without a working tree, under one
 * lock, and every ref update is a compare-and-swap against the head the change was based on.
 */
export class GitRepository {
  private readonly lock = new Mutex();
  readonly fs: ReturnType<typeof durableFs>;
  /** Decoded texts by blob id, up to ~64 MB of UTF-16. */
  private readonly texts = new Lru<string>(32 * 1024 * 1024, (s) => s.length);
  /**
   * The blob id of a file in a commit, by `commit:path` (a commit names its tree for good): the
   * round and proposal pages read a text at its commit on every view, and each uncached read
   * walks commit, tree and blob out of the pack again. ~100 bytes an entry.
   */
  private readonly filesAt = new Lru<string>(20_000);
  private readonly tmpDir: string;
  private readonly packDir: string;

  /** Reads in flight and the cache they use; a packing that removes packs starts a new one (see `pack`). */
  private generation = new ReadGeneration();
  /** Packs (file names in objects/pack) being removed: readers no longer see them. */
  private readonly retired = new Set<string>();
  /** Backups copying object files: nothing is removed while one runs. */
  private readonly pins = new Pins();
  /** One packing at a time. */
  private readonly packLock = new Mutex();
  private packing: Promise<unknown> | null = null;
  /** Refs deleted so far (a packing of refs that read them before a deletion reads them again). */
  private refDeletions = 0;
  private writesSincePack = 0;
  /** Commits and tags written since the open (the backlog counted later leaves them out). */
  private writesSinceOpen = 0;
  /** The count of the loose objects found at open, while it runs (`countBacklog`). */
  private counting: Promise<void> | null = null;
  /** What the last packing that finished did (for the bench and the logs). */
  lastPack: PackReport | null = null;
  private closed = false;
  private readonly packEvery: number | null;
  private readonly log: (msg: string, err?: unknown) => void;
  private readonly onPacksChanged: (() => Promise<void>) | null;

  /** Whether the last write to the repository succeeded (for /healthz). */
  readonly health: WriteHealth;

  private constructor(
    readonly gitdir: string,
    opts: RepositoryOptions,
  ) {
    this.tmpDir = path.join(gitdir, 'ratify-tmp');
    this.packDir = path.resolve(gitdir, 'objects', 'pack');
    this.health = new WriteHealth(this.tmpDir);
    const fs = durableFs(this.tmpDir, this.health);
    // A pack being removed is hidden from every listing of objects/pack, so no new read starts on it.
    const readdir = fs.promises.readdir;
    fs.promises.readdir = (async (dir: string, options?: unknown) => {
      const names = await (readdir as (d: string, o?: unknown) => Promise<string[]>)(dir, options);
      if (!this.retired.size || path.resolve(dir) !== this.packDir) return names;
      return names.filter((n) => !this.retired.has(typeof n === 'string' ? n : (n as { name: string }).name));
    }) as typeof readdir;
    this.fs = fs;
    this.packEvery = opts.packEvery === undefined ? PACK_EVERY_WRITES : opts.packEvery;
    this.log = opts.log ?? ((m, e) => console.error(m, e));
    this.onPacksChanged = opts.onPacksChanged ?? null;
  }

  /** Open (creating when absent) the bare repository at `gitdir` and check every ref resolves. */
  static async open(gitdir: string, opts: RepositoryOptions = {}): Promise<GitRepository> {
    const repo = new GitRepository(gitdir, opts);
    const exists = await fsp
      .stat(path.join(gitdir, 'HEAD'))
      .then(() => true)
      .catch(() => false);
    if (!exists) {
      await fsp.mkdir(gitdir, { recursive: true, mode: DIR_MODE });
      await git.init({ fs: repo.fs, gitdir, bare: true, defaultBranch: 'main' });
    }
    await sweepTmp(repo.tmpDir);
    await repo.sweepPacks();
    await repo.verify();
    // Loose objects left by earlier runs count as writes towards the next packing: counted
    // beside what follows the open (a folder listing each of 256 fan-out folders, 11-32 ms of
    // the start at ten years' volume), or when the server's start is done.
    if (opts.backlog !== 'later') repo.countBacklog();
    return repo;
  }

  private backlogCounted = false;

  /**
   * Count the loose objects found at open as writes towards the next packing, in the background,
   * and pack if they are enough; once (later calls do nothing). `packingDone` waits for it.
   */
  countBacklog(): void {
    if (this.backlogCounted || this.closed) return;
    this.backlogCounted = true;
    this.counting = this.countLoose();
  }

  /** A pack without its index is what a packing killed between its two renames leaves: nothing reads it. */
  private async sweepPacks(): Promise<void> {
    const names = await fsp.readdir(this.packDir).catch(() => [] as string[]);
    for (const n of names) {
      if (n.endsWith('.pack') && !names.includes(n.replace(/\.pack$/, '.idx')))
        await fsp.rm(path.join(this.packDir, n), { force: true });
    }
  }

  private async countLoose(): Promise<void> {
    try {
      // Writes made since the open are counted already (`wrote`), and their objects are in the
      // listing: only the rest is the backlog. (Read after the listing, which takes a while.)
      const listed = Math.floor((await this.looseObjects()).length / OBJECTS_PER_WRITE);
      this.writesSincePack += Math.max(0, listed - this.writesSinceOpen);
    } catch {
      // Not counted: the writes to come will reach the next packing on their own.
    }
    this.counting = null;
    this.maybePack();
  }

  /** Resolves when no packing is running (one started in the background included); never rejects. */
  async packingDone(): Promise<void> {
    await this.counting;
    while (this.packing) await this.packing.catch(() => undefined);
  }

  /** Stop: a packing in progress stops at its next step (the repository stays valid), and is awaited. */
  async close(): Promise<void> {
    this.closed = true;
    await this.counting;
    // A packing waiting for a backup's pin goes on to its next step, where it stops.
    this.pins.wake();
    await this.packing?.catch(() => undefined);
  }

  /** Run `fn` as a reader: what it reads stays readable until it is done, whatever a packing removes meanwhile. */
  private async reading<T>(fn: (cache: object) => Promise<T>): Promise<T> {
    const g = this.generation;
    g.enter();
    try {
      return await fn(g.cache);
    } finally {
      g.leave();
    }
  }

  /**
   * Every ref must name an object that exists and is whole; otherwise refuse to start. One pass
   * whatever the history's length: `packed-refs` is read once and the loose refs once each, the
   * packs' indexes once; a ref to a packed object needs nothing more, a ref to a loose object has
   * the object's header inflated (a 0-byte or garbled object file is refused). Measured at 5,000
   * refs: see docs/BENCHMARKS.md (it was one resolve and one whole parse per ref).
   */
  async verify(): Promise<void> {
    const problems: string[] = [];
    const refs = await this.readAllRefs(problems);
    // The packs' indexes, each searched for a ref's object (no set of every packed id: 50,000
    // strings at thirty years' volume, for 15,000 refs).
    const indexes: Buffer[] = [];
    const packFiles = await fsp.readdir(this.packDir).catch(() => [] as string[]);
    for (const n of packFiles) {
      // An index whose pack is gone vouches for nothing.
      if (!n.endsWith('.idx') || !packFiles.includes(n.replace(/\.idx$/, '.pack'))) continue;
      try {
        indexes.push(checkIndex(await fsp.readFile(path.join(this.packDir, n))));
      } catch (e) {
        problems.push(`objects/pack/${n} cannot be read (${(e as Error).message.slice(0, 120)})`);
      }
    }
    // Each loose object once, however many refs name it; 64 reads in flight at a time.
    const checked = new Map<string, Promise<string | null>>();
    await inBatches([...refs], 64, async ([ref, value]) => {
      // A symbolic ref (`ref: refs/…`) stands for what its target holds.
      let oid = value;
      for (let hops = 0; oid.startsWith('ref: ') && hops < 5; hops++) oid = refs.get(oid.slice(5)) ?? '';
      if (!OBJECT_ID.test(oid)) {
        problems.push(`${ref} does not resolve (it holds ${JSON.stringify(oid.slice(0, 60))})`);
        return;
      }
      if (idxLists(indexes, oid)) return;
      if (!checked.has(oid)) checked.set(oid, this.looseObjectProblem(oid));
      const why = await checked.get(oid);
      if (why) problems.push(`${ref} does not resolve (${why})`);
    });
    if (problems.length) throw new RepositoryDamagedError(problems.sort());
  }

  /** Every ref under refs/ with what it holds (an object id or `ref: <target>`): packed-refs, then the loose ones over them. */
  private async readAllRefs(problems: string[]): Promise<Map<string, string>> {
    // A copy of the packed refs kept parsed: what resolves and lists after the open read again.
    const refs = new Map(await this.packedRefs());
    for (const [name, value] of await this.readLooseRefs(problems)) refs.set(name, value);
    return refs;
  }

  /** What a loose ref file holds, trimmed, or null when there is none. */
  private async looseRef(name: string): Promise<string | null> {
    try {
      return (await fsp.readFile(path.join(this.gitdir, name), 'utf8')).trim();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return null;
      throw e;
    }
  }

  /** `packed-refs` as last parsed, under the file's identity then (inode, size, times) and `packedRefsWrites`. */
  private packedRefsRead: { key: string; refs: Promise<ReadonlyMap<string, string>> } | null = null;
  /** Counts this repository's rewrites of packed-refs (a packing, a deletion), each after the file is in place. */
  private packedRefsWrites = 0;

  /**
   * The refs in packed-refs, parsed again only when the file is another (it is only ever
   * replaced whole, by a rename, here or by git). Read after a loose ref was missed: a packing
   * writes packed-refs before it removes the loose files, so a reader that missed the loose one
   * finds the new file.
   */
  private async packedRefs(): Promise<ReadonlyMap<string, string>> {
    const writes = this.packedRefsWrites;
    const st = await fsp.stat(path.join(this.gitdir, 'packed-refs'), { bigint: true }).catch(() => null);
    const key = `${writes}:${st ? `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` : 'none'}`;
    if (this.packedRefsRead?.key === key) return this.packedRefsRead.refs;
    // Kept as it is being read: refs resolved together read the file once, not once each.
    const refs = this.readPackedRefs();
    const read = { key, refs };
    this.packedRefsRead = read;
    refs.catch(() => {
      if (this.packedRefsRead === read) this.packedRefsRead = null;
    });
    return refs;
  }

  /** The refs in packed-refs (none when there is no such file). */
  private async readPackedRefs(): Promise<Map<string, string>> {
    const refs = new Map<string, string>();
    const packedRefs = await fsp.readFile(path.join(this.gitdir, 'packed-refs'), 'utf8').catch(() => '');
    for (const line of packedRefs.split('\n')) {
      const m = /^([0-9a-f]{40}) (refs\/\S+)$/.exec(line);
      if (m) refs.set(m[2], m[1]);
    }
    return refs;
  }

  /** The loose ref files under refs/ and what each holds; one that cannot be read is a problem. */
  private async readLooseRefs(problems: string[]): Promise<Map<string, string>> {
    const refs = new Map<string, string>();
    await inBatches(await this.looseRefNames('refs'), 64, async (name) => {
      try {
        refs.set(name, (await fsp.readFile(path.join(this.gitdir, name), 'utf8')).trim());
      } catch (err) {
        problems.push(`${name} cannot be read (${(err as Error).message.slice(0, 120)})`);
      }
    });
    return refs;
  }

  /** The names of the loose ref files under `prefix` (`refs/tags`), at any depth. */
  private async looseRefNames(prefix: string): Promise<string[]> {
    const names: string[] = [];
    const walk = async (dir: string, under: string): Promise<void> => {
      const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
      await inBatches(entries, 64, async (e) => {
        if (e.isDirectory()) await walk(path.join(dir, e.name), `${under}/${e.name}`);
        else if (e.isFile()) names.push(`${under}/${e.name}`);
      });
    };
    await walk(path.join(this.gitdir, prefix), prefix);
    return names;
  }

  /** Where the loose object `oid` is kept (`objects/ab/cdef…`), whether or not it is there. */
  private loosePath(oid: string): string {
    return path.join(this.gitdir, 'objects', oid.slice(0, 2), oid.slice(2));
  }

  /** Why the loose object `oid` is missing or damaged, or null when its header inflates as a git object's. */
  private async looseObjectProblem(oid: string): Promise<string | null> {
    let head: Buffer;
    try {
      const h = await fsp.open(this.loosePath(oid), 'r');
      try {
        const buf = Buffer.alloc(512);
        const { bytesRead } = await h.read(buf, 0, buf.length, 0);
        head = buf.subarray(0, bytesRead);
      } finally {
        await h.close();
      }
    } catch {
      return `no object ${oid}`;
    }
    if (head.length === 0) return `object ${oid} is an empty file`;
    try {
      const text = zlib.inflateSync(head, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString('latin1', 0, 32);
      if (/^(commit|tree|blob|tag) \d+\0/.test(text)) return null;
    } catch {
      // not zlib data
    }
    return `object ${oid} is not a git object`;
  }

  /** Run `fn` holding the repository's write lock. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.run(fn);
  }

  /**
   * Keep every object file that exists now until `release` is called: a backup that noted the
   * files under the write lock copies them afterwards. A packing removes nothing meanwhile.
   */
  pinObjects(): () => void {
    return this.pins.hold();
  }

  /** A commit or tag was written: every `packEvery` writes, pack in the background. */
  private wrote(): void {
    this.writesSincePack++;
    this.writesSinceOpen++;
    this.maybePack();
  }

  private maybePack(): void {
    if (this.packEvery === null || this.writesSincePack < this.packEvery || this.packing || this.closed) return;
    this.writesSincePack = 0;
    void this.packQuietly();
  }

  /**
   * The write lock, each hold timed: `longestMs()` is the longest so far, to 0.1 ms (what a
   * packing reports as `longestLockMs`: how long writers waited at most).
   */
  private timedLock(): { locked: <T>(fn: () => Promise<T>) => Promise<T>; longestMs: () => number } {
    let longest = 0;
    const locked = <T>(fn: () => Promise<T>) =>
      this.exclusive(async () => {
        const t = performance.now();
        try {
          return await fn();
        } finally {
          longest = Math.max(longest, performance.now() - t);
        }
      });
    return { locked, longestMs: () => Math.round(longest * 10) / 10 };
  }

  /**
   * Put the loose refs into `packed-refs`, as `git pack-refs --all` does: start-up then reads one
   * file instead of one per proposal, consolidation and version (thousands after ten years).
   * Under the write lock, packed-refs is written whole and durably (temporary file, fsync,
   * rename, fsync) with every ref under refs/ that names an object; then the loose files are
   * removed in batches, each batch under the lock and each file only if it still holds what was
   * packed (a ref moved in between stays loose, and the loose file wins, as in git). Symbolic
   * refs stay loose. A kill at any point leaves every ref with its value: loose over packed.
   */
  async packRefs(): Promise<{ packed: number; looseRemoved: number; longestLockMs: number }> {
    const { locked, longestMs } = this.timedLock();
    // The refs are read without the lock (thousands of small files). A ref that moves meanwhile
    // stays loose with its new value, which wins over the packed one, and one created meanwhile
    // is packed next time; only a deletion could come back to life, so one in between means
    // reading again under the lock.
    const read = async () => {
      const problems: string[] = [];
      const packed = await this.readPackedRefs();
      const loose = await this.readLooseRefs(problems);
      return { packed, loose, problems };
    };
    const deletions = this.refDeletions;
    const early = await read();
    const written = await locked(async () => {
      const { packed, loose, problems } = deletions === this.refDeletions ? early : await read();
      // A loose ref that cannot be read is left to start-up's check: nothing is packed over it.
      if (problems.length) return null;
      const all = new Map([...packed, ...[...loose].filter(([, v]) => OBJECT_ID.test(v))]);
      const names = [...all.keys()].sort(byteOrder);
      const text = `# pack-refs with: sorted\n${names.map((n) => `${all.get(n)} ${n}\n`).join('')}`;
      if ([...loose.values()].every((v) => !OBJECT_ID.test(v))) return { count: all.size, loose: [] };
      await fsp.mkdir(this.tmpDir, { recursive: true, mode: DIR_MODE });
      await writeFileDurable(path.join(this.gitdir, 'packed-refs'), text, this.tmpDir);
      this.packedRefsWrites++;
      return { count: names.length, loose: [...loose].filter(([, v]) => OBJECT_ID.test(v)) };
    });
    if (!written) return { packed: 0, looseRemoved: 0, longestLockMs: longestMs() };
    let removed = 0;
    for (let i = 0; i < written.loose.length; i += PRUNE_BATCH) {
      if (this.closed) break;
      await locked(async () => {
        const dirs = new Set<string>();
        for (const [name, value] of written.loose.slice(i, i + PRUNE_BATCH)) {
          const file = path.join(this.gitdir, name);
          const now = (await fsp.readFile(file, 'utf8').catch(() => '')).trim();
          if (now !== value) continue;
          await fsp.rm(file, { force: true });
          dirs.add(path.dirname(file));
          removed++;
        }
        for (const d of dirs) await fsyncDir(d).catch(() => undefined);
      });
    }
    return { packed: written.count, looseRemoved: removed, longestLockMs: longestMs() };
  }

  /** `pack()` whose failure is logged, not thrown (after an import, in the background): the objects stay loose. */
  async packQuietly(): Promise<PackReport | null> {
    try {
      return await this.pack();
    } catch (e) {
      if (!(e instanceof PackingStopped)) this.log('Packing the git objects failed; they stay loose', e);
      return null;
    }
  }

  /**
   * Pack the loose objects into one new pack with its index, then remove them; `full` (or more
   * than MAX_PACKS packs) takes every object of every pack in too, into one. Reads and writes go
   * on meanwhile:
   *
   * 1. Without the lock: list the loose objects (and packs), read them, write the pack (deltas
   *    between versions of a file) and its index in `ratify-tmp/`, fsynced; the index is made by
   *    isomorphic-git from the pack, and must list every object expected, or nothing changes.
   * 2. Under the write lock, briefly: rename the pack, then its index, into objects/pack; fsync the
   *    folder. From then on every object is readable from the pack. Old packs are hidden from new
   *    readers and a new read generation begins.
   * 3. Once the reads of the previous generation are done and no backup is copying, remove the
   *    loose objects (a batch per hold of the lock) and the old packs (index first).
   *
   * A kill at any point leaves a valid repository: temporary files (swept at open), a pack
   * without its index (swept at open), or objects both loose and packed.
   */
  async pack(opts: { full?: boolean } = {}): Promise<PackReport> {
    const run = this.packLock.run(async () => {
      const objects = await this.packOnce(opts.full ?? false);
      const refs = await this.packRefs();
      return {
        ...objects,
        refsPacked: refs.packed,
        refsLooseRemoved: refs.looseRemoved,
        longestLockMs: Math.max(objects.longestLockMs, refs.longestLockMs),
      };
    });
    this.packing = run;
    try {
      this.lastPack = await run;
      return this.lastPack;
    } catch (e) {
      // A full or failing disk is the usual storage error (507/503); nothing was removed.
      throw storageError(e);
    } finally {
      if (this.packing === run) this.packing = null;
    }
  }

  /** How the objects are stored now: loose files and packs, with their sizes in bytes. */
  async objectsOnDisk(): Promise<{ loose: number; looseBytes: number; packs: number; packBytes: number }> {
    const objects = path.join(this.gitdir, 'objects');
    const size = (f: string) =>
      fsp.stat(f).then(
        (s) => s.size,
        () => 0,
      );
    const loose = await this.looseObjects();
    let looseBytes = 0;
    for (const oid of loose) looseBytes += await size(path.join(objects, oid.slice(0, 2), oid.slice(2)));
    const names = (await fsp.readdir(this.packDir).catch(() => [] as string[])).filter((n) => PACK_NAME.test(n));
    let packBytes = 0;
    for (const n of names) packBytes += await size(path.join(this.packDir, n));
    return { loose: loose.length, looseBytes, packs: names.filter((n) => n.endsWith('.idx')).length, packBytes };
  }

  /** The ids of the loose objects. */
  private async looseObjects(): Promise<string[]> {
    const objects = path.join(this.gitdir, 'objects');
    const dirs = (await fsp.readdir(objects).catch(() => [] as string[])).filter((d) => LOOSE_DIR.test(d));
    const oids: string[] = [];
    for (const d of dirs) {
      for (const n of await fsp.readdir(path.join(objects, d)).catch(() => [] as string[]))
        if (LOOSE_NAME.test(n)) oids.push(d + n);
    }
    return oids;
  }

  private async packOnce(fullAsked: boolean): Promise<PackReport> {
    const started = performance.now();
    const { locked, longestMs } = this.timedLock();
    let lastYield = performance.now();
    const pause = async () => {
      if (this.closed) throw new PackingStopped();
      if (performance.now() - lastYield >= PACK_SLICE_MS) {
        await new Promise((r) => setImmediate(r));
        lastYield = performance.now();
        if (this.closed) throw new PackingStopped();
      }
    };
    const report = (over: Partial<PackReport>): PackReport => ({
      full: false,
      pack: null,
      refsPacked: 0,
      refsLooseRemoved: 0,
      objects: 0,
      deltas: 0,
      packBytes: 0,
      looseRemoved: 0,
      looseBytes: 0,
      looseUnreadable: 0,
      packsRemoved: 0,
      ...over,
      ms: Math.round(performance.now() - started),
      longestLockMs: longestMs(),
    });

    await fsp.mkdir(this.packDir, { recursive: true, mode: DIR_MODE });
    // Whatever was written so far goes into this pack: the count towards the next one starts again.
    this.writesSincePack = 0;
    const loose = await this.looseObjects();
    const names = await fsp.readdir(this.packDir);
    // A pack someone marked .keep (stock git's convention) is left as it is.
    const packs = names
      .filter((n) => PACK_NAME.test(n) && n.endsWith('.idx') && !this.retired.has(n))
      .map((n) => n.slice(0, -'.idx'.length))
      .filter((p) => !names.includes(`${p}.keep`));
    const full = fullAsked || packs.length >= MAX_PACKS;
    if (full ? loose.length === 0 && packs.length <= 1 : loose.length === 0) return report({ full });

    // 1. Every object to pack, with its type and size; commits, tags and trees kept to order them.
    const wanted = new Set<string>(loose);
    const packed = new Set<string>();
    if (full)
      for (const p of packs)
        for (const oid of idxObjectIds(await fsp.readFile(path.join(this.packDir, `${p}.idx`)))) {
          wanted.add(oid);
          packed.add(oid);
        }
    const items = new Map<string, PackItem>();
    const kept = new Map<string, Uint8Array>();
    let keptBytes = 0;
    const unreadable = new Set<string>();
    const looseSet = new Set(loose);
    const packCache = {};
    // Loose first (cheaper); a packed copy of a damaged loose object will do as well.
    const read = async (oid: string): Promise<{ type: ObjectType; object: Uint8Array; fileBytes?: number } | null> =>
      (looseSet.has(oid) ? await this.readLoose(oid) : null) ??
      (packed.has(oid) ? await this.readPacked(oid, packCache) : null);
    let looseBytes = 0;
    for (const oid of wanted) {
      await pause();
      const obj = await read(oid);
      if (!obj) {
        // A damaged loose object stays where it is (nothing is removed that is not in the pack).
        unreadable.add(oid);
        continue;
      }
      looseBytes += obj.fileBytes ?? 0;
      items.set(oid, { oid, type: obj.type, size: obj.object.length, recency: Number.MAX_SAFE_INTEGER });
      if (obj.type !== 'blob' || keptBytes + obj.object.length <= PACK_KEEP_BYTES) {
        kept.set(oid, obj.object);
        if (obj.type === 'blob') keptBytes += obj.object.length;
      }
    }
    if (!items.size) return report({ full, looseUnreadable: unreadable.size });
    nameObjects(items, kept);

    // 2. The pack, then its index (made by reading the pack back), both durable in ratify-tmp.
    await fsp.mkdir(this.tmpDir, { recursive: true, mode: DIR_MODE });
    const tmpPack = path.join(this.tmpDir, `packing-${process.pid}-${Date.now()}.pack`);
    let stats;
    let name: string;
    try {
      stats = await writePack(
        tmpPack,
        packOrder([...items.values()]),
        async (item) => {
          const content = kept.get(item.oid) ?? (await read(item.oid))?.object;
          if (!content) throw new Error(`the object ${item.oid} could not be read again`);
          if (item.type === 'blob') kept.delete(item.oid);
          return content;
        },
        pause,
      );
      name = `pack-${stats.sha}`;
      await fsp.rename(tmpPack, path.join(this.tmpDir, `${name}.pack`));
    } finally {
      await fsp.rm(tmpPack, { force: true });
    }
    const tmpFiles = [`${name}.pack`, `${name}.idx`].map((f) => path.join(this.tmpDir, f));
    try {
      await pause();
      const { oids } = await git.indexPack({
        fs: this.fs,
        dir: this.tmpDir,
        gitdir: this.gitdir,
        filepath: `${name}.pack`,
        cache: {},
      });
      const inPack = new Set(oids);
      const missing = [...items.keys()].filter((oid) => !inPack.has(oid));
      if (missing.length || inPack.size !== items.size)
        throw new Error(
          `the new pack does not hold the objects it should (${missing.length} missing); nothing changed`,
        );
      await pause();

      // 3. Into place under the lock: the pack before its index, since readers find packs by their index.
      const old = full ? packs.filter((p) => p !== name) : [];
      let previous: ReadGeneration | null = null;
      await locked(async () => {
        await fsp.rename(tmpFiles[0], path.join(this.packDir, `${name}.pack`));
        await fsp.rename(tmpFiles[1], path.join(this.packDir, `${name}.idx`));
        await fsyncDir(this.packDir);
        await this.onPacksChanged?.();
        if (old.length) {
          for (const p of old) this.retired.add(`${p}.idx`).add(`${p}.pack`);
          // New reads use a fresh cache (no index of a retired pack); the old one goes with its last reader.
          previous = this.generation;
          this.generation = new ReadGeneration();
        }
      });
      // Reads that may have listed the old packs finish before those are removed.
      await (previous as ReadGeneration | null)?.drained();

      // 4. Remove what the pack now holds, in batches, never while a backup copies files.
      const doomed = loose.filter((oid) => items.has(oid) && !unreadable.has(oid)).sort();
      const objectsDir = path.join(this.gitdir, 'objects');
      let removed = 0;
      while (removed < doomed.length) {
        await pause();
        await this.pins.free();
        await locked(async () => {
          if (this.pins.held) return;
          const batch = doomed.slice(removed, removed + PRUNE_BATCH);
          await Promise.all(
            batch.map((oid) => fsp.rm(path.join(objectsDir, oid.slice(0, 2), oid.slice(2)), { force: true })),
          );
          removed += batch.length;
          // Fan-out folders emptied (writers, who would create them again, wait for the lock).
          const next = doomed[removed]?.slice(0, 2);
          for (const d of new Set(batch.map((oid) => oid.slice(0, 2))))
            if (d !== next) await fsp.rmdir(path.join(objectsDir, d)).catch(() => undefined);
        });
      }
      let done = old.length === 0;
      while (!done) {
        await pause();
        await this.pins.free();
        done = await locked(async () => {
          if (this.pins.held) return false;
          for (const p of old) {
            // The index first (a pack without one is ignored, and swept at open), the pack last.
            for (const ext of ['idx', 'rev', 'bitmap', 'mtimes', 'pack'])
              await fsp.rm(path.join(this.packDir, `${p}.${ext}`), { force: true });
            this.retired.delete(`${p}.idx`);
            this.retired.delete(`${p}.pack`);
          }
          await this.onPacksChanged?.();
          return true;
        });
      }
      return report({
        full,
        pack: `${name}.pack`,
        objects: stats.objects,
        deltas: stats.deltas,
        packBytes: stats.bytes,
        looseRemoved: removed,
        looseBytes,
        looseUnreadable: unreadable.size,
        packsRemoved: old.length,
      });
    } finally {
      for (const f of tmpFiles) await fsp.rm(f, { force: true });
    }
  }

  /**
   * A loose object's type and content (zlib off the main thread), or null when it is damaged:
   * unreadable, or its content does not hash to its name. Only a packing removes loose objects,
   * one at a time, so no read generation is needed.
   */
  private async readLoose(oid: string): Promise<{ type: ObjectType; object: Uint8Array; fileBytes: number } | null> {
    try {
      const raw = await fsp.readFile(this.loosePath(oid));
      const wrapped = await inflate(raw);
      if (createHash('sha1').update(wrapped).digest('hex') !== oid) return null;
      const space = wrapped.indexOf(0x20);
      const nul = wrapped.indexOf(0, space);
      const type = wrapped.toString('latin1', 0, space);
      const object = wrapped.subarray(nul + 1);
      if (
        !['commit', 'tree', 'blob', 'tag'].includes(type) ||
        Number(wrapped.toString('latin1', space + 1, nul)) !== object.length
      )
        return null;
      return { type: type as ObjectType, object, fileBytes: raw.length };
    } catch {
      return null;
    }
  }

  /**
   * A packed object's type and content, for the packing: with its own cache (readers' caches
   * stay as they were) and outside the read generations (only a packing removes packs, one at a
   * time, after its own reads).
   */
  private async readPacked(oid: string, cache: object): Promise<{ type: ObjectType; object: Uint8Array }> {
    const r = await git.readObject({ fs: this.fs, gitdir: this.gitdir, oid, format: 'content', cache });
    return { type: r.type as ObjectType, object: r.object as Uint8Array };
  }

  /**
   * The commit a ref points to, or null when the ref does not exist. As git does: the loose ref
   * file if there is one, else `packed-refs` — read once for each version of the file
   * (`packedRefs`), where isomorphic-git parsed all of it on every call (4–5 ms at 5,000 refs, for
   * every commit and ref move under the write lock, and for the version tags at start). A ref that holds something else than an object id or a
   * symbolic ref, or a name outside `PLAIN_REF`, goes to isomorphic-git.
   */
  async resolve(ref: string): Promise<string | null> {
    let name = ref;
    for (let hops = 0; hops < 5 && isPlainRef(name); hops++) {
      const value = (await this.looseRef(name)) ?? (await this.packedRefs()).get(name) ?? null;
      if (value === null) return null;
      if (OBJECT_ID.test(value)) return value;
      if (!value.startsWith('ref: ')) break;
      name = value.slice(5);
    }
    try {
      return await git.resolveRef({ fs: this.fs, gitdir: this.gitdir, ref });
    } catch (e) {
      if ((e as { code?: string }).code === 'NotFoundError') return null;
      throw e;
    }
  }

  async readCommit(oid: string): Promise<CommitInfo> {
    const { commit } = await this.reading((cache) => git.readCommit({ fs: this.fs, gitdir: this.gitdir, oid, cache }));
    return {
      oid,
      message: commit.message,
      parents: commit.parent,
      tree: commit.tree,
      author: unsig(commit.author),
      committer: unsig(commit.committer),
    };
  }

  async readTag(name: string): Promise<TagInfo | null> {
    const oid = await this.resolveTagObject(name);
    if (!oid) return null;
    const { tag } = await this.reading((cache) => git.readTag({ fs: this.fs, gitdir: this.gitdir, oid, cache }));
    return { name, oid, object: tag.object, message: tag.message, tagger: unsig(tag.tagger) };
  }

  /** The object a tag ref holds (an annotated tag's own object, not the commit it names). */
  private async resolveTagObject(name: string): Promise<string | null> {
    return this.resolve(`refs/tags/${name}`);
  }

  /** The tags' names (`tor/v1`), from the refs kept parsed (`listRefs`). */
  async listTags(): Promise<string[]> {
    return (await this.listRefs('refs/tags')).map((r) => r.slice('refs/tags/'.length));
  }

  /** The branches' names that begin with `prefix`, likewise. */
  async listBranches(prefix = ''): Promise<string[]> {
    return (await this.listRefs('refs/heads'))
      .map((r) => r.slice('refs/heads/'.length))
      .filter((b) => b.startsWith(prefix));
  }

  /**
   * Push `refs` (full names) to the repository at `url` (git's smart HTTP protocol), each only
   * where the remote's differs; never forced, so a remote that moved on its own refuses rather
   * than loses commits. Returns the refs pushed. Errors (network, refusal, credentials) are thrown.
   */
  async pushTo(url: string, refs: string[], auth?: { username: string; password: string }): Promise<string[]> {
    const onAuth = auth ? () => auth : undefined;
    const remote = new Map(
      (await git.listServerRefs({ http: gitHttp, url, onAuth, protocolVersion: 1 })).map((r) => [r.ref, r.oid]),
    );
    const pushed: string[] = [];
    for (const ref of refs) {
      const oid = await this.resolve(ref);
      if (!oid || remote.get(ref) === oid) continue;
      const r = await this.reading((cache) =>
        git.push({ fs: this.fs, http: gitHttp, gitdir: this.gitdir, url, ref, remoteRef: ref, onAuth, cache }),
      );
      if (!r.ok) throw new Error(`The mirror refused ${ref}: ${r.error ?? JSON.stringify(r.refs)}`);
      pushed.push(ref);
    }
    // isomorphic-git records what it pushed as a remote-tracking ref; this repository has no remotes.
    for (const tracking of await this.listRefs('refs/remotes').catch(() => [] as string[])) {
      const oid = await this.resolve(tracking);
      if (oid) await this.deleteRef(tracking, oid);
    }
    return pushed;
  }

  /**
   * Every ref under `prefix` (e.g. `refs/heads/proposals`), as full names: those of the
   * packed-refs kept parsed (`packedRefs`) and the loose files under the prefix's folder.
   * isomorphic-git's `listRefs` parsed the whole packed-refs on each call (5,000 refs at ten
   * years: the start's move of old draft refs listed two prefixes, 12-17 ms).
   */
  async listRefs(prefix: string): Promise<string[]> {
    const names = new Set(await this.looseRefNames(prefix));
    for (const name of (await this.packedRefs()).keys()) if (name.startsWith(`${prefix}/`)) names.add(name);
    return [...names].sort();
  }

  /**
   * Whether the object `oid` is in the repository (loose or packed). A loose object's file is
   * only looked up, not read (isomorphic-git reads it whole: ~1.5 ms an object, where the start
   * looks up the commit of each version tag); otherwise the packs are searched. An object packed
   * meanwhile is found in its pack.
   */
  async hasObject(oid: string): Promise<boolean> {
    if (OBJECT_ID.test(oid)) {
      const found = await fsp
        .stat(this.loosePath(oid))
        .then((st) => st.isFile())
        .catch(() => false);
      if (found) return true;
    }
    try {
      await this.reading((cache) =>
        git.readObject({ fs: this.fs, gitdir: this.gitdir, oid, format: 'deflated', cache }),
      );
      return true;
    } catch (e) {
      if ((e as { code?: string }).code === 'NotFoundError') return false;
      throw e;
    }
  }

  /** An object's type and content exactly as stored (hashing them again gives `oid`). */
  async readRaw(oid: string): Promise<{ type: ObjectType; object: Uint8Array }> {
    const r = await this.reading((cache) =>
      git.readObject({ fs: this.fs, gitdir: this.gitdir, oid, format: 'content', cache }),
    );
    return { type: r.type as ObjectType, object: r.object as Uint8Array };
  }

  /** Store an object read from another repository (`readRaw`), unchanged: same content, same id. */
  async writeRaw(type: ObjectType, object: Uint8Array): Promise<string> {
    const oid = await git.writeObject({ fs: this.fs, gitdir: this.gitdir, type, object, format: 'content' });
    if (type === 'commit' || type === 'tag') this.wrote();
    return oid;
  }

  /** Point `ref` at `value` only if it still points at `expected` (null: absent); `Conflict` otherwise. Holds the lock. */
  async moveRef(ref: string, expected: string | null, value: string): Promise<void> {
    return this.exclusive(async () => {
      const current = await this.resolve(ref);
      if (current !== expected)
        throw conflict('stale_head', `${ref} moved (now at ${current ?? 'nothing'}).`, { current });
      await this.setRef(ref, value);
    });
  }

  /** Remove `ref` if it still points at `expected` (a ref already gone is no error). Holds the lock. */
  async deleteRef(ref: string, expected: string): Promise<void> {
    return this.exclusive(async () => {
      const current = await this.resolve(ref);
      if (current === null) return;
      if (current !== expected) throw conflict('stale_head', `${ref} moved (now at ${current}).`, { current });
      this.refDeletions++;
      await git.deleteRef({ fs: this.fs, gitdir: this.gitdir, ref });
      this.packedRefsWrites++;
      // A ref only in packed-refs has no folder of its own (packed-refs is written durably).
      await fsyncDir(path.dirname(path.join(this.gitdir, ref))).catch(() => undefined);
    });
  }

  /** Bytes of a blob as UTF-8 text (cached: a blob id names its content forever). */
  async readBlobText(oid: string): Promise<string> {
    return this.texts.through(oid, async () => {
      const { blob } = await this.reading((cache) => git.readBlob({ fs: this.fs, gitdir: this.gitdir, oid, cache }));
      return Buffer.from(blob).toString('utf8');
    });
  }

  /** The blob id and text of `filepath` in `commit` (an object id), or null when the file is absent. */
  async readFile(commit: string, filepath: string): Promise<{ oid: string; text: string } | null> {
    // Only an object id names one tree for good (a ref name moves).
    const key = OBJECT_ID.test(commit) ? `${commit}:${filepath}` : null;
    const known = key ? this.filesAt.get(key) : undefined;
    if (known) return { oid: known, text: await this.readBlobText(known) };
    try {
      const { oid, blob } = await this.reading((cache) =>
        git.readBlob({ fs: this.fs, gitdir: this.gitdir, oid: commit, filepath, cache }),
      );
      const text = Buffer.from(blob).toString('utf8');
      if (key) {
        this.filesAt.set(key, oid);
        this.texts.set(oid, text);
      }
      return { oid, text };
    } catch (e) {
      if ((e as { code?: string }).code === 'NotFoundError') return null;
      throw e;
    }
  }

  /** Write `text` as a blob (idempotent: same text, same id). The text is kept for readBlobText: a new text is usually read soon, and inflating a large one blocks. */
  async writeBlob(text: string): Promise<string> {
    const bytes = Buffer.from(text, 'utf8');
    const oid = await git.writeBlob({ fs: this.fs, gitdir: this.gitdir, blob: bytes });
    // What a read would give (a lone surrogate becomes U+FFFD in UTF-8).
    this.texts.set(oid, bytes.toString('utf8'));
    return oid;
  }

  /** A tree equal to `baseTree` (or empty) with `filepath` set to `blobOid`; nested folders kept. */
  private async treeWith(baseTree: string | null, parts: string[], blobOid: string): Promise<string> {
    const entries = baseTree
      ? (await this.reading((cache) => git.readTree({ fs: this.fs, gitdir: this.gitdir, oid: baseTree, cache }))).tree
      : [];
    const [head, ...rest] = parts;
    const existing = entries.find((e) => e.path === head);
    const others = entries.filter((e) => e.path !== head);
    const entry = rest.length
      ? {
          mode: '040000',
          path: head,
          type: 'tree' as const,
          oid: await this.treeWith(existing?.type === 'tree' ? existing.oid : null, rest, blobOid),
        }
      : { mode: '100644', path: head, type: 'blob' as const, oid: blobOid };
    return git.writeTree({ fs: this.fs, gitdir: this.gitdir, tree: [...others, entry] });
  }

  /**
   * Commit `text` at `filepath` on top of `parent` (or as a root commit) and move `ref` to it —
   * only if `ref` still points at `expected` (null: the ref must not exist). Holds the lock.
   */
  async commitFile(args: {
    ref: string;
    expected: string | null;
    parent: string | null;
    filepath: string;
    text: string;
    message: string;
    author: Identity;
    committer?: Identity;
  }): Promise<{ commit: string; blob: string }> {
    return this.exclusive(async () => {
      const current = await this.resolve(args.ref);
      if (current !== args.expected) {
        throw conflict(
          'stale_head',
          `The text changed since you loaded it (now at ${current ?? 'nothing'}). Reload and apply your change again.`,
          {
            current,
          },
        );
      }
      const blob = await this.writeBlob(args.text);
      const baseTree = args.parent ? (await this.readCommit(args.parent)).tree : null;
      const tree = await this.treeWith(baseTree, args.filepath.split('/'), blob);
      const commit = await this.reading((cache) =>
        git.commit({
          fs: this.fs,
          gitdir: this.gitdir,
          message: args.message,
          tree,
          parent: args.parent ? [args.parent] : [],
          author: sig(args.author),
          committer: sig(args.committer ?? args.author),
          noUpdateBranch: true,
          cache,
        }),
      );
      await this.setRef(args.ref, commit);
      this.wrote();
      return { commit, blob };
    });
  }

  /** Move an existing ref or create a new one; callers hold the lock and did the compare. */
  private async setRef(ref: string, value: string): Promise<void> {
    await git.writeRef({ fs: this.fs, gitdir: this.gitdir, ref, value, force: true });
  }

  /** Point a new branch at an existing commit (refused when the branch exists). */
  async createBranch(ref: string, commit: string): Promise<void> {
    return this.exclusive(async () => {
      if ((await this.resolve(ref)) !== null) throw conflict('ref_exists', `${ref} already exists.`);
      await this.setRef(ref, commit);
    });
  }

  /** An annotated tag `name` on `object`; refused (Conflict) when the tag exists. */
  async createTag(args: { name: string; object: string; message: string; tagger: Identity }): Promise<string> {
    return this.exclusive(async () => {
      if ((await this.resolveTagObject(args.name)) !== null) {
        throw conflict('tag_exists', `The tag ${args.name} already exists.`);
      }
      const oid = await git.writeTag({
        fs: this.fs,
        gitdir: this.gitdir,
        tag: {
          object: args.object,
          type: 'commit',
          tag: args.name,
          tagger: sig(args.tagger),
          message: args.message.endsWith('\n') ? args.message : `${args.message}\n`,
        },
      });
      await this.setRef(`refs/tags/${args.name}`, oid);
      this.wrote();
      return oid;
    });
  }

  /** First-parent history of `from`, newest first, stopping before `until` (exclusive). */
  async *firstParents(from: string, until: string | null): AsyncGenerator<CommitInfo> {
    let oid: string | undefined = from;
    while (oid && oid !== until) {
      const c = await this.readCommit(oid);
      yield c;
      oid = c.parents[0];
    }
  }
}

/**
 * Give trees and blobs the path they were last seen at and an order from newest to oldest, by
 * walking the trees of the commits (newest first) among `items`; commits and tags get their age.
 */
function nameObjects(items: Map<string, PackItem>, content: Map<string, Uint8Array>): void {
  const dated = [...items.values()]
    .filter((i) => i.type === 'commit' || i.type === 'tag')
    .map((i) => ({ item: i, ...headerOf(content.get(i.oid)!) }))
    .sort((a, b) => b.time - a.time || (a.item.oid < b.item.oid ? -1 : 1));
  let order = 0;
  const walk = (oid: string, at: string) => {
    const tree = items.get(oid);
    if (tree?.type !== 'tree' || tree.path !== undefined) return;
    tree.path = at;
    tree.recency = order++;
    for (const e of parseTree(content.get(oid)!)) {
      if (e.mode === '40000' || e.mode === '040000') walk(e.oid, `${at}${e.name}/`);
      else {
        const blob = items.get(e.oid);
        if (blob && blob.type === 'blob' && blob.path === undefined) {
          blob.path = at + e.name;
          blob.recency = order++;
        }
      }
    }
  };
  for (const d of dated) {
    d.item.recency = order++;
    if (d.tree) walk(d.tree, '');
  }
}

export const isConflict = (e: unknown) => e instanceof DomainError && e.kind === 'conflict';
