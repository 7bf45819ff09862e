import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { DIR_MODE, fsyncDir, isStorageError, storageError, writeFileDurable } from '../fsutil.js';
import type { WriteHealth } from '../health.js';

/**
 * The `fs` isomorphic-git writes through. isomorphic-git writes objects and refs in place
 * without fsync, so a kill -9 can leave empty refs and 0-byte objects (measured: 6 of 70
 * repos). Here every write goes to a temporary file outside `refs/`, is fsynced, renamed into
 * place, and the folder is fsynced; new folders are fsynced into their parent. A write the
 * disk refuses (full, failing) leaves no partial object or ref: the temporary file is removed
 * and the caller gets the storage error (507/503). Files are 0600, folders 0700.
 */
export function durableFs(tmpDir: string, health?: WriteHealth) {
  let tmpReady: Promise<unknown> | null = null;
  const refused = (e: unknown) => {
    const err = storageError(e);
    if (isStorageError(err)) health?.failed(err);
    return err;
  };

  async function writeFile(file: string, data: string | Uint8Array, options?: unknown): Promise<void> {
    try {
      await (tmpReady ??= fsp.mkdir(tmpDir, { recursive: true, mode: DIR_MODE }));
    } catch (e) {
      tmpReady = null;
      throw refused(e);
    }
    const encoding = typeof options === 'string' ? options : (options as { encoding?: string } | undefined)?.encoding;
    // A missing folder makes the rename fail with ENOENT; isomorphic-git then creates it and retries.
    try {
      await writeFileDurable(file, data, tmpDir, encoding as BufferEncoding | undefined);
    } catch (e) {
      throw refused(e);
    }
    health?.succeeded();
  }

  // isomorphic-git checks that the fs it is given returns promises by calling readFile() with no
  // arguments, twice for each git call it serves; node's readFile then makes an error with a
  // stack trace for the missing path. The check gets a settled promise instead, with no error.
  function readFile(...args: unknown[]): Promise<unknown> {
    return args.length === 0 ? PROBE : (fsp.readFile as (...a: unknown[]) => Promise<unknown>)(...args);
  }

  async function mkdir(dir: string, options?: unknown): Promise<void> {
    try {
      await fsp.mkdir(dir, { ...(typeof options === 'object' ? options : {}), mode: DIR_MODE });
      await fsyncDir(path.dirname(dir));
    } catch (e) {
      throw refused(e);
    }
  }

  return {
    promises: {
      readFile,
      writeFile,
      unlink: fsp.unlink,
      readdir: fsp.readdir,
      mkdir,
      rmdir: fsp.rmdir,
      stat: fsp.stat,
      lstat: fsp.lstat,
      readlink: fsp.readlink,
      symlink: fsp.symlink,
      chmod: fsp.chmod,
    },
  };
}

/** What readFile() answers to isomorphic-git's check that it returns promises (see durableFs). */
const PROBE: Promise<undefined> = Promise.resolve(undefined);

/** Remove temporary files a killed process left behind (nothing ever refers to them). */
export async function sweepTmp(tmpDir: string): Promise<void> {
  const names = await fsp.readdir(tmpDir).catch(() => [] as string[]);
  await Promise.all(names.map((n) => fsp.rm(path.join(tmpDir, n), { force: true })));
}
