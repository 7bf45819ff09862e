import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { storageFull, storageUnavailable, type DomainError } from '../domain/errors.js';

/** Every file Ratify writes is private to the service user; every folder too. */
export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

const FULL = new Set(['ENOSPC', 'EDQUOT']);
const FAILING = new Set(['EIO', 'EROFS', 'EFBIG', 'ENXIO', 'ESHORTWRITE']);

/**
 * The disk's refusal as the product's error: a full disk or quota is `storage_full` (507),
 * another I/O failure `storage_unavailable` (503). Anything else (ENOENT, EEXIST…) is returned
 * as it was, so that callers which react to those codes still can. Already converted errors pass.
 */
export function storageError(e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (code === 'storage_full' || code === 'storage_unavailable') return e;
  if (code && FULL.has(code)) return storageFull();
  if (code && FAILING.has(code)) return storageUnavailable();
  return e;
}

/** Whether `e` is the disk refusing a write (as converted by `storageError`). */
export function isStorageError(e: unknown): e is DomainError {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'storage_full' || code === 'storage_unavailable';
}

/** A write that put fewer bytes on disk than asked, with no error from the system (the disk filled up). */
export function shortWrite(): NodeJS.ErrnoException {
  return Object.assign(new Error('The disk accepted only part of a write.'), { code: 'ENOSPC' });
}

/** Create a folder (and missing parents) private to the service user, whatever the umask. */
export async function mkdirPrivate(dir: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true, mode: DIR_MODE });
}

/** fsync a directory so that a rename or a new entry in it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const h = await fsp.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/**
 * fsyncs of one folder shared by whoever asks at about the same time (a group commit, as the
 * journal does for its lines): a call resolves once an fsync that began after the call is done,
 * so every rename made before the call is durable. Many files written at once into one folder
 * (the outbox) then cost one folder fsync between them, not one each.
 */
export function sharedDirSync(dir: string): () => Promise<void> {
  let running: Promise<void> | null = null;
  let next: Promise<void> | null = null;
  const start = (): Promise<void> => {
    const p = fsyncDir(dir).finally(() => {
      if (running === p) running = null;
    });
    running = p;
    return p;
  };
  return () => {
    if (!running) return start();
    // An fsync under way may have begun before this caller's rename: join the one after it.
    next ??= running
      .catch(() => {})
      .then(() => {
        next = null;
        return start();
      });
    return next;
  };
}

/**
 * Replace `file` with `data` so that a crash leaves either the old or the new bytes: write a
 * temporary file in `tmpDir` (same file system, outside any folder git scans), fsync it, rename
 * it into place, fsync the folder. If any step fails (a full disk fails the write or the fsync)
 * the temporary file is removed and `file` is untouched; disk refusals arrive as `storageError`.
 */
export async function writeFileDurable(
  file: string,
  /** The bytes, or the parts to write one after the other (written as they are, not joined first). */
  data: string | Uint8Array | readonly Uint8Array[],
  tmpDir: string,
  encoding?: BufferEncoding,
  mode = FILE_MODE,
  /** How the folder is fsynced after the rename (e.g. a `sharedDirSync`). */
  syncDir: () => Promise<void> = () => fsyncDir(path.dirname(file)),
): Promise<void> {
  const tmp = path.join(tmpDir, `${process.pid}-${randomBytes(8).toString('hex')}.tmp`);
  const parts =
    typeof data === 'string' ? [Buffer.from(data, encoding ?? 'utf8')] : data instanceof Uint8Array ? [data] : data;
  let placed = false;
  try {
    const h = await fsp.open(tmp, 'w', mode);
    try {
      for (const bytes of parts)
        for (let off = 0; off < bytes.byteLength; ) {
          const { bytesWritten } = await h.write(bytes, off, bytes.byteLength - off);
          if (bytesWritten <= 0) throw shortWrite();
          off += bytesWritten;
        }
      await h.sync();
    } finally {
      await h.close();
    }
    await fsp.rename(tmp, file);
    placed = true;
    await syncDir();
  } catch (e) {
    if (!placed) await fsp.rm(tmp, { force: true }).catch(() => {});
    throw storageError(e);
  }
}

/** Whether `target` lies inside `base` (checked with path.relative: a sibling `base-x` is outside). */
export function isInside(base: string, target: string): boolean {
  const rel = path.relative(path.resolve(base), path.resolve(target));
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/** Warn (on stderr) when `dir` can be read or entered by other users: it holds drafts, mails and secrets. */
export async function warnIfShared(
  dir: string,
  warn: (msg: string) => void = (m) => console.warn(m),
): Promise<boolean> {
  const st = await fsp.stat(dir);
  if ((st.mode & 0o077) === 0) return false;
  warn(
    `Warning: the data folder ${dir} has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}; other users of this machine may read it. ` +
      `Run: chmod 700 ${dir}`,
  );
  return true;
}
