import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { Mutex } from '../../util/mutex.js';
import { DIR_MODE, writeFileDurable } from '../fsutil.js';
import { GitRepository, type RepositoryOptions } from './repository.js';
import { parseTree, type ObjectType } from './packfile.js';

/** What one catch-up did. */
export interface PublicSyncReport {
  /** Objects copied from the private repository. */
  objects: number;
  /** Refs created, moved or removed. */
  refs: number;
}

const PACK = /^pack-[0-9a-f]{40}\.pack$/;
const MAIN = 'refs/heads/main';

/** The ids an object names: a commit its tree and parents, a tree its entries (not submodules), a tag its object. */
function children(type: ObjectType, object: Uint8Array): string[] {
  if (type === 'blob') return [];
  if (type === 'tree')
    return parseTree(object)
      .filter((e) => e.mode !== '160000')
      .map((e) => e.oid);
  const text = Buffer.from(object.buffer, object.byteOffset, object.length).toString('utf8');
  const head = text.split('\n\n', 1)[0];
  const re = type === 'commit' ? /^(?:tree|parent) ([0-9a-f]{40})$/gm : /^object ([0-9a-f]{40})$/gm;
  return [...head.matchAll(re)].map((m) => m[1]);
}

/**
 * What each of `refs` names in `repo`, in the order given (those that name nothing left out),
 * looked up together: a start reads every version tag of both repositories (45 at ten years'
 * volume, each a file), where one after the other took 50-60 ms.
 */
async function resolved(repo: GitRepository, refs: string[]): Promise<Map<string, string>> {
  const oids = await Promise.all(refs.map((ref) => repo.resolve(ref)));
  const out = new Map<string, string>();
  refs.forEach((ref, i) => {
    const oid = oids[i];
    if (oid) out.set(ref, oid);
  });
  return out;
}

/**
 * `DATA_DIR/public.git`: a second bare repository holding `main` and the version tags only, and
 * so only objects reachable from a published version (drafts, proposals and consolidations stay
 * in the private repository). It is brought up to the private one after each publication and at
 * start (`syncFrom`), and carries what git's "dumb" HTTP protocol reads (`info/refs`,
 * `objects/info/packs`: what `git update-server-info` writes), so any static file server can
 * serve the folder for `git clone`.
 */
export class PublicRepository {
  /** info/refs and objects/info/packs are computed and written by one caller at a time (the last one sees the newest state). */
  private readonly infoLock = new Mutex();
  /** The commit each annotated tag object names (an object never changes), for `info/refs`. */
  private readonly peeled = new Map<string, string | null>();

  private constructor(readonly repo: GitRepository) {}

  get gitdir(): string {
    return this.repo.gitdir;
  }

  /** Open (creating when absent) the public repository; it packs its own objects every `packEvery` commits and tags (100 by default). */
  static async open(gitdir: string, opts: RepositoryOptions = {}): Promise<PublicRepository> {
    let self: PublicRepository | null = null;
    const repo = await GitRepository.open(gitdir, {
      packEvery: 100,
      ...opts,
      // A new pack is listed before the loose objects it holds are removed, and old packs are unlisted after.
      onPacksChanged: async () => {
        if (self) await self.writeServerInfo();
      },
    });
    self = new PublicRepository(repo);
    await self.peeledFromInfo();
    return self;
  }

  /**
   * What the `info/refs` written before says of the objects its refs name, so that a start with
   * nothing new to publish reads no object (at ten years' volume peeling 45 tags again took
   * 80-90 ms of every start): a tag and the commit it names (`<tag> ref`, then `<commit> ref^{}`;
   * objects never change), and that a branch names a commit. Believed only when every line is
   * what `writeServerInfo` writes and each commit it names is here; otherwise nothing is taken
   * from it and the tags are read.
   */
  private async peeledFromInfo(): Promise<void> {
    const text = await fsp.readFile(path.join(this.gitdir, 'info', 'refs'), 'utf8').catch(() => '');
    const lines = text.split('\n');
    if (lines.pop() !== '') return;
    const rows = lines.map((l) => /^([0-9a-f]{40})\t([^\t]+)$/.exec(l));
    if (rows.some((r) => !r)) return;
    const found = new Map<string, string | null>();
    for (let i = 0; i < rows.length; i++) {
      const [, oid, ref] = rows[i]!;
      const next = rows[i + 1];
      if (ref.endsWith('^{}')) return; // a peeled line after no line of its ref
      if (next && next[2] === `${ref}^{}`) {
        found.set(oid, next[1]);
        i++;
      } else if (ref.startsWith('refs/heads/')) found.set(oid, null);
    }
    // A commit named by a peeled line must be here: a damaged line that still looks right (a
    // digit changed) is not believed, and the tags are read again.
    const here = await Promise.all([...found.values()].map((target) => !target || this.repo.hasObject(target)));
    if (!here.every(Boolean)) return;
    for (const [oid, target] of found) this.peeled.set(oid, target);
  }

  close(): Promise<void> {
    return this.repo.close();
  }

  /**
   * Bring this repository up to `source`: copy every object reachable from its `main` and the
   * tags `isPublicTag` accepts that is not here yet (an object's children before it, so an
   * object present here is always complete), then move the refs (tags, then `main`; tags not
   * public any more are removed), then write the server info. Idempotent: a crash at any point
   * is repaired by the next call.
   */
  async syncFrom(source: GitRepository, isPublicTag: (name: string) => boolean): Promise<PublicSyncReport> {
    const [main, tags, ours] = await Promise.all([
      source.resolve(MAIN),
      source.listTags(),
      Promise.all([this.repo.listRefs('refs/heads'), this.repo.listRefs('refs/tags')]),
    ]);
    const want = await resolved(
      source,
      tags.filter(isPublicTag).map((name) => `refs/tags/${name}`),
    );
    const have = await resolved(this.repo, ours.flat());
    let objects = 0;
    const seen = new Set<string>();
    const copy = async (oid: string): Promise<void> => {
      if (seen.has(oid)) return;
      seen.add(oid);
      if (await this.repo.hasObject(oid)) return;
      const { type, object } = await source.readRaw(oid);
      for (const child of children(type, object)) await copy(child);
      await this.repo.writeRaw(type, object);
      objects++;
    };
    // A tag already here names a complete object: only new or moved tags are walked.
    for (const [ref, oid] of want) if (have.get(ref) !== oid) await copy(oid);
    if (main) await copy(main);

    let refs = 0;
    for (const [ref, oid] of want) {
      if (have.get(ref) === oid) continue;
      await this.repo.moveRef(ref, have.get(ref) ?? null, oid);
      refs++;
    }
    for (const [ref, oid] of have) {
      if (ref === MAIN || want.has(ref)) continue;
      await this.repo.deleteRef(ref, oid);
      refs++;
    }
    if (main && have.get(MAIN) !== main) {
      await this.repo.moveRef(MAIN, have.get(MAIN) ?? null, main);
      refs++;
    }
    await this.writeServerInfo();
    return { objects, refs };
  }

  /**
   * What `git update-server-info` writes, each file replaced atomically: `info/refs` (every
   * branch and tag, an annotated tag followed by `<name>^{}` and the commit it names) and
   * `objects/info/packs` (one `P <pack>` line a pack). Unchanged files are not rewritten.
   */
  async writeServerInfo(): Promise<void> {
    await this.infoLock.run(async () => {
      const lines: string[] = [];
      const refs = [...(await this.repo.listRefs('refs/heads')), ...(await this.repo.listRefs('refs/tags'))].sort();
      for (const [ref, oid] of await resolved(this.repo, refs)) {
        lines.push(`${oid}\t${ref}\n`);
        let target = this.peeled.get(oid);
        if (target === undefined) {
          const { type, object } = await this.repo.readRaw(oid);
          target = type === 'tag' ? children(type, object)[0] : null;
          this.peeled.set(oid, target);
        }
        if (target) lines.push(`${target}\t${ref}^{}\n`);
      }
      const packDir = path.join(this.gitdir, 'objects', 'pack');
      const names = await fsp.readdir(packDir).catch(() => [] as string[]);
      const packs = names.filter((n) => PACK.test(n) && names.includes(n.replace(/\.pack$/, '.idx'))).sort();
      await this.replace(path.join(this.gitdir, 'info', 'refs'), lines.join(''));
      await this.replace(
        path.join(this.gitdir, 'objects', 'info', 'packs'),
        packs.map((p) => `P ${p}\n`).join('') + '\n',
      );
    });
  }

  private async replace(file: string, text: string): Promise<void> {
    const now = await fsp.readFile(file, 'utf8').catch(() => null);
    if (now === text) return;
    const tmp = path.join(this.gitdir, 'ratify-tmp');
    await fsp.mkdir(tmp, { recursive: true, mode: DIR_MODE });
    await fsp.mkdir(path.dirname(file), { recursive: true, mode: DIR_MODE });
    await writeFileDurable(file, text, tmp);
  }
}
