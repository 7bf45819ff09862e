import git from 'isomorphic-git';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { durableFs, sweepTmp } from './durableFs.js';
import { Mutex } from '../../util/mutex.js';
import { WriteHealth } from '../health.js';
import { DIR_MODE } from '../fsutil.js';
import { Lru } from '../../util/lru.js';
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
  private readonly cache = {};
  /** Decoded texts by blob id, up to ~64 MB of UTF-16. */
  private readonly texts = new Lru<string>(32 * 1024 * 1024, (s) => s.length);

  /** Whether the last write to the repository succeeded (for /healthz). */
  readonly health: WriteHealth;

  private constructor(readonly gitdir: string) {
    this.health = new WriteHealth(path.join(gitdir, 'ratify-tmp'));
    this.fs = durableFs(path.join(gitdir, 'ratify-tmp'), this.health);
  }

  /** Open (creating when absent) the bare repository at `gitdir` and check every ref resolves. */
  static async open(gitdir: string): Promise<GitRepository> {
    const repo = new GitRepository(gitdir);
    const exists = await fsp
      .stat(path.join(gitdir, 'HEAD'))
      .then(() => true)
      .catch(() => false);
    if (!exists) {
      await fsp.mkdir(gitdir, { recursive: true, mode: DIR_MODE });
      await git.init({ fs: repo.fs, gitdir, bare: true, defaultBranch: 'main' });
    }
    await sweepTmp(path.join(gitdir, 'ratify-tmp'));
    await repo.verify();
    return repo;
  }

  /** Every ref must name an object that exists and parses; otherwise refuse to start. */
  async verify(): Promise<void> {
    const problems: string[] = [];
    const refs = await git.listRefs({ fs: this.fs, gitdir: this.gitdir, filepath: 'refs' });
    for (const ref of refs) {
      const full = `refs/${ref}`;
      try {
        const oid = await git.resolveRef({ fs: this.fs, gitdir: this.gitdir, ref: full });
        await git.readObject({ fs: this.fs, gitdir: this.gitdir, oid, format: 'parsed', cache: this.cache });
      } catch (e) {
        problems.push(`${full} does not resolve (${(e as Error).message.slice(0, 120)})`);
      }
    }
    if (problems.length) throw new RepositoryDamagedError(problems);
  }

  /** Run `fn` holding the repository's write lock. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.run(fn);
  }

  /** The commit a ref points to, or null when the ref does not exist. */
  async resolve(ref: string): Promise<string | null> {
    try {
      return await git.resolveRef({ fs: this.fs, gitdir: this.gitdir, ref });
    } catch (e) {
      if ((e as { code?: string }).code === 'NotFoundError') return null;
      throw e;
    }
  }

  async readCommit(oid: string): Promise<CommitInfo> {
    const { commit } = await git.readCommit({ fs: this.fs, gitdir: this.gitdir, oid, cache: this.cache });
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
    const { tag } = await git.readTag({ fs: this.fs, gitdir: this.gitdir, oid, cache: this.cache });
    return { name, oid, object: tag.object, message: tag.message, tagger: unsig(tag.tagger) };
  }

  private async resolveTagObject(name: string): Promise<string | null> {
    try {
      return await git.resolveRef({ fs: this.fs, gitdir: this.gitdir, ref: `refs/tags/${name}`, depth: 2 });
    } catch (e) {
      if ((e as { code?: string }).code === 'NotFoundError') return null;
      throw e;
    }
  }

  async listTags(): Promise<string[]> {
    return git.listTags({ fs: this.fs, gitdir: this.gitdir });
  }

  async listBranches(prefix = ''): Promise<string[]> {
    const all = await git.listBranches({ fs: this.fs, gitdir: this.gitdir });
    return all.filter((b) => b.startsWith(prefix));
  }

  /** Bytes of a blob as UTF-8 text (cached: a blob id names its content forever). */
  async readBlobText(oid: string): Promise<string> {
    return this.texts.through(oid, async () => {
      const { blob } = await git.readBlob({ fs: this.fs, gitdir: this.gitdir, oid, cache: this.cache });
      return Buffer.from(blob).toString('utf8');
    });
  }

  /** The blob id and text of `filepath` in `commit`, or null when the file is absent. */
  async readFile(commit: string, filepath: string): Promise<{ oid: string; text: string } | null> {
    try {
      const { oid, blob } = await git.readBlob({
        fs: this.fs,
        gitdir: this.gitdir,
        oid: commit,
        filepath,
        cache: this.cache,
      });
      return { oid, text: Buffer.from(blob).toString('utf8') };
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
      ? (await git.readTree({ fs: this.fs, gitdir: this.gitdir, oid: baseTree, cache: this.cache })).tree
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
      const commit = await git.commit({
        fs: this.fs,
        gitdir: this.gitdir,
        message: args.message,
        tree,
        parent: args.parent ? [args.parent] : [],
        author: sig(args.author),
        committer: sig(args.committer ?? args.author),
        noUpdateBranch: true,
        cache: this.cache,
      });
      await this.setRef(args.ref, commit);
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

export const isConflict = (e: unknown) => e instanceof DomainError && e.kind === 'conflict';
