import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Header, list, Pack, ReadEntry, extract } from 'tar';
import { conflict, invalid } from '../domain/errors.js';
import { fsyncDir } from './fsutil.js';
import type { GitRepository } from './git/repository.js';
import type { MetaStore } from './meta/metaStore.js';

/** The first entry of every archive: what it is and which moment it holds. */
export interface BackupManifest {
  format: 'ratify-backup';
  version: 1;
  createdAt: string;
  /** The seq of the last journal line in the archive: the moment the archive corresponds to. */
  journalSeq: number;
  /** Where `main` pointed at that moment (null in a repository without a version). */
  mainCommit: string | null;
  /** The top-level folders of DATA_DIR in the archive. */
  contents: string[];
  /** Files and bytes after the manifest (directories not counted): a restore checks both. */
  files: number;
  bytes: number;
}

export const MANIFEST_NAME = 'ratify-backup.json';
/** What a backup holds: the repository and the metadata store. Sessions, the outbox and the session secret are left out. */
export const BACKUP_CONTENTS = ['git', 'meta'] as const;
/** Temporary folders of the stores: never needed, never in an archive. */
const SKIP = new Set(['git/ratify-tmp', 'meta/tmp']);
/**
 * Images of the cold tables (`meta/coldState.ts`): replaced whole (a copy taken after the hold
 * could be of a newer one) and derived; the first start from the archive reads the tables and
 * writes them again.
 */
const DERIVED = /^meta\/cold\/[^/]+\.image$/;
/** Messages' body files (removed only while no backup is copying: `MetaStore.pinBodies`). */
const BODY_FILES = /^meta\/bodies\//;
/**
 * Files that only grow (journal segments, the store's cold records: cut back at start only to the
 * snapshot's mark, which is never past what was written) or never change once written (git objects, messages'
 * body files): copied after the hold, up to the size seen under it.
 */
const GROWS_OR_FIXED = [/^git\/objects\//, /^meta\/journal\//, /^meta\/cold\//, BODY_FILES];

type Item = { name: string; dir: true } | { name: string; data: Buffer } | { name: string; file: string; size: number };

/**
 * Write one consistent archive (tar, gzip) of the repository and the metadata store while the
 * server goes on. For a few milliseconds the repository's write lock and the store's hold are
 * taken together: no ref moves and no journal line is written. In that moment the small files
 * that change in place (refs, packed-refs, HEAD, config, the snapshot) are read into memory,
 * and the names and sizes of journal segments and git objects are noted. Both are safe to copy
 * later: a segment only grows (its first `size` bytes stay as they are) and an object never
 * changes. So the archive is the state at journal seq N with exactly the refs of that moment,
 * as if the server had stopped there. The file is written beside `out` and linked into place
 * (an existing file is never overwritten), mode 0600: it holds password and token hashes.
 */
export async function createBackup(args: {
  repo: GitRepository;
  meta: MetaStore;
  dataDir: string;
  out: string;
  now: () => Date;
  progress?: (m: string) => void;
}): Promise<BackupManifest & { heldMs: number; out: string }> {
  const { repo, meta, dataDir, out } = args;
  await fsp
    .stat(out)
    .then(() => {
      throw conflict('file_exists', `${out} already exists; choose another name (backups never overwrite a file).`);
    })
    .catch((e) => {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    });
  let heldMs = 0;
  // The object files noted here are copied after the hold: a packing must not remove them meanwhile.
  let unpin = () => {};
  const { items, journalSeq, mainCommit } = await repo
    .exclusive(() =>
      meta.hold(async (seq) => {
        const started = performance.now();
        const unpinObjects = repo.pinObjects();
        const unpinBodies = meta.pinBodies();
        unpin = () => {
          unpinObjects();
          unpinBodies();
        };
        const mainCommit = await repo.resolve('refs/heads/main');
        const items: Item[] = [];
        for (const top of BACKUP_CONTENTS) await collect(dataDir, top, items);
        heldMs = performance.now() - started;
        return { items, journalSeq: seq, mainCommit };
      }),
    )
    .catch((e) => {
      unpin();
      throw e;
    });
  args.progress?.(
    `writes held for ${heldMs.toFixed(0)} ms at journal seq ${journalSeq}; copying ${items.length} entries`,
  );
  const files = items.filter((i) => !('dir' in i));
  const manifest: BackupManifest = {
    format: 'ratify-backup',
    version: 1,
    createdAt: args.now().toISOString(),
    journalSeq,
    mainCommit,
    contents: [...BACKUP_CONTENTS],
    files: files.length,
    bytes: files.reduce((n, i) => n + ('data' in i ? i.data.length : 'size' in i ? i.size : 0), 0),
  };

  const dir = path.dirname(out);
  const tmp = path.join(dir, `.${path.basename(out)}.${randomBytes(6).toString('hex')}.partial`);
  try {
    const pack = new Pack({ gzip: true, portable: true });
    const written = pipeline(pack, createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
    const mtime = new Date(manifest.createdAt);
    await addEntry(pack, MANIFEST_NAME, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), mtime);
    for (const item of items) {
      if ('dir' in item) await addEntry(pack, `${item.name}/`, null, mtime);
      else if ('data' in item) await addEntry(pack, item.name, item.data, mtime);
      else await addEntry(pack, item.name, await readPrefix(item.file, item.size), mtime);
    }
    pack.end();
    await written;
    const h = await fsp.open(tmp, 'r');
    await h.sync().finally(() => h.close());
    // link refuses an existing name: a backup never replaces a file, even one made meanwhile.
    await fsp.link(tmp, out).catch((e) => {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST')
        throw conflict('file_exists', `${out} already exists; choose another name.`);
      throw e;
    });
    await fsyncDir(dir);
  } finally {
    unpin();
    await fsp.rm(tmp, { force: true });
  }
  return { ...manifest, heldMs: Math.round(heldMs), out };
}

/** Note every entry under `rel` (relative to `root`): small mutable files read now, the rest by name and size. */
async function collect(root: string, rel: string, items: Item[]): Promise<void> {
  const abs = path.join(root, rel);
  const entries = await fsp.readdir(abs, { withFileTypes: true }).catch((e) => {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  });
  if (!entries) return;
  items.push({ name: rel, dir: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const name = `${rel}/${e.name}`;
    if (SKIP.has(name) || DERIVED.test(name)) continue;
    if (e.isDirectory()) await collect(root, name, items);
    else if (e.isFile()) {
      const file = path.join(root, name);
      if (GROWS_OR_FIXED.some((re) => re.test(name))) items.push({ name, file, size: (await fsp.stat(file)).size });
      else items.push({ name, data: await fsp.readFile(file) });
    }
  }
}

/** The first `size` bytes of a file (a journal segment may have grown since; those bytes are later changes). */
async function readPrefix(file: string, size: number): Promise<Buffer> {
  const h = await fsp.open(file, 'r');
  try {
    const buf = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      const { bytesRead } = await h.read(buf, got, size - got, got);
      if (bytesRead === 0) throw new Error(`${file} became shorter during the backup`);
      got += bytesRead;
    }
    return buf;
  } finally {
    await h.close();
  }
}

/** One entry from memory (`null`: a directory); resolves once the archive has taken it. */
async function addEntry(pack: Pack, name: string, data: Buffer | null, mtime: Date): Promise<void> {
  const header = new Header({
    path: name,
    type: data ? 'File' : 'Directory',
    mode: data ? 0o600 : 0o700,
    size: data ? data.length : 0,
    mtime,
  });
  const entry = new ReadEntry(header);
  const done = once(entry, 'end');
  pack.write(entry);
  if (data?.length) entry.write(data);
  entry.end();
  await done;
}

/** A name an archive may hold: the manifest, or a path below one of BACKUP_CONTENTS, with no `..` or absolute part. */
function allowedName(name: string): boolean {
  const clean = name.replace(/\/+$/, '');
  if (clean === MANIFEST_NAME) return true;
  const parts = clean.split('/');
  if (!(BACKUP_CONTENTS as readonly string[]).includes(parts[0])) return false;
  return parts.every((p) => p !== '' && p !== '.' && p !== '..' && !p.includes('\\') && !p.includes('\0'));
}

const unreadable = (file: string, why: string) =>
  invalid('invalid_backup', `${file} is not a complete Ratify backup (${why}); nothing was restored.`);

/**
 * Check an archive from end to end (gzip checksum, tar structure, the manifest, the file count
 * and byte total) without writing anything, and return its manifest.
 */
export async function verifyBackup(file: string): Promise<BackupManifest> {
  let manifest: BackupManifest | null = null;
  let manifestText = '';
  let files = 0;
  let bytes = 0;
  let bad: string | null = null;
  try {
    await fsp.access(file);
  } catch {
    throw invalid('unreadable_file', `Cannot read the file ${file}.`);
  }
  try {
    let first = true;
    await list({
      file,
      strict: true,
      onReadEntry: (entry) => {
        const isFirst = first;
        first = false;
        if (!allowedName(entry.path) || (entry.type !== 'File' && entry.type !== 'Directory')) {
          bad ??= `unexpected entry ${JSON.stringify(entry.path).slice(0, 80)}`;
          return;
        }
        if (entry.path === MANIFEST_NAME) {
          if (!isFirst) bad ??= 'the manifest is not the first entry';
          entry.on('data', (c: Buffer) => (manifestText += c.toString('utf8')));
          entry.on('end', () => {
            try {
              manifest = JSON.parse(manifestText) as BackupManifest;
            } catch {
              bad ??= 'the manifest is not JSON';
            }
          });
          return;
        }
        if (entry.type === 'File') {
          files++;
          bytes += entry.size ?? 0;
        }
      },
    });
  } catch (e) {
    throw unreadable(file, (e as Error).message);
  }
  if (bad) throw unreadable(file, bad);
  const m = manifest as BackupManifest | null;
  if (m?.format !== 'ratify-backup') throw unreadable(file, 'no Ratify manifest');
  if (m.version !== 1) throw unreadable(file, `format version ${String(m.version)} is not known to this Ratify`);
  if (m.files !== files || m.bytes !== bytes)
    throw unreadable(
      file,
      `the manifest lists ${m.files} files and ${m.bytes} bytes, the archive holds ${files} and ${bytes}`,
    );
  return m;
}

/**
 * Restore an archive into `dataDir`, which must be empty or absent (a non-empty folder is
 * refused: a restore never mixes with existing data). The archive is checked end to end
 * first; if anything fails during extraction the folder is emptied again. Folders become
 * 0700 and files 0600. The normal start-up then opens the result (replaying the journal and
 * repairing the version index from `main`, as after a crash at that moment).
 */
export async function restoreBackup(file: string, dataDir: string): Promise<BackupManifest> {
  const existing = await fsp.readdir(dataDir).catch((e) => {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR')
      throw invalid('data_dir_not_empty', `${dataDir} is a file, not a folder.`);
    throw e;
  });
  if (existing?.length)
    throw conflict('data_dir_not_empty', `${dataDir} is not empty; restore only into an empty or absent folder.`);
  const manifest = await verifyBackup(file);
  await fsp.mkdir(dataDir, { recursive: true, mode: 0o700 });
  await fsp.chmod(dataDir, 0o700);
  try {
    await extract({ file, cwd: dataDir, strict: true, filter: (p) => allowedName(p) && p !== MANIFEST_NAME });
    await tighten(dataDir);
  } catch (e) {
    await empty(dataDir);
    throw unreadable(file, (e as Error).message);
  }
  return manifest;
}

/** Folders 0700, files 0600, everything fsynced: the restored data is private and on disk before the command says so. */
async function tighten(dir: string): Promise<void> {
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      await fsp.chmod(p, 0o700);
      await tighten(p);
    } else {
      await fsp.chmod(p, 0o600);
      const h = await fsp.open(p, 'r');
      await h.sync().finally(() => h.close());
    }
  }
  await fsyncDir(dir);
}

async function empty(dir: string): Promise<void> {
  for (const name of await fsp.readdir(dir).catch(() => [] as string[]))
    await fsp.rm(path.join(dir, name), { recursive: true, force: true });
}
