import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { fsyncDir, writeFileDurable } from '../fsutil.js';

/**
 * The `fs` isomorphic-git writes through. isomorphic-git writes objects and refs in place
 * without fsync, so a kill -9 can leave empty refs and 0-byte objects (measured: 6 of 70
 * repos). Here every write goes to a temporary file outside `refs/`, is fsynced, renamed into
 * place, and the folder is fsynced; new folders are fsynced into their parent.
 */
export function durableFs(tmpDir: string) {
  let tmpReady: Promise<unknown> | null = null;

  async function writeFile(file: string, data: string | Uint8Array, options?: unknown): Promise<void> {
    await (tmpReady ??= fsp.mkdir(tmpDir, { recursive: true }));
    const encoding = typeof options === 'string' ? options : (options as { encoding?: string } | undefined)?.encoding;
    // A missing folder makes the rename fail with ENOENT; isomorphic-git then creates it and retries.
    await writeFileDurable(file, data, tmpDir, encoding as BufferEncoding | undefined);
  }

  async function mkdir(dir: string, options?: unknown): Promise<void> {
    await fsp.mkdir(dir, options as never);
    await fsyncDir(path.dirname(dir));
  }

  return {
    promises: {
      readFile: fsp.readFile,
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

/** Remove temporary files a killed process left behind (nothing ever refers to them). */
export async function sweepTmp(tmpDir: string): Promise<void> {
  const names = await fsp.readdir(tmpDir).catch(() => [] as string[]);
  await Promise.all(names.map((n) => fsp.rm(path.join(tmpDir, n), { force: true })));
}
