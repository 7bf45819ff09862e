import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

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
 * Replace `file` with `data` so that a crash leaves either the old or the new bytes: write a
 * temporary file in `tmpDir` (same file system, outside any folder git scans), fsync it, rename
 * it into place, fsync the folder.
 */
export async function writeFileDurable(file: string, data: string | Uint8Array, tmpDir: string, encoding?: BufferEncoding, mode = 0o644): Promise<void> {
  const tmp = path.join(tmpDir, `${process.pid}-${randomBytes(8).toString('hex')}.tmp`);
  const h = await fsp.open(tmp, 'w', mode);
  try {
    await h.writeFile(data, encoding ? { encoding } : undefined);
    await h.sync();
  } finally {
    await h.close();
  }
  try {
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(path.dirname(file));
}

/** Whether `target` lies inside `base` (checked with path.relative: a sibling `base-x` is outside). */
export function isInside(base: string, target: string): boolean {
  const rel = path.relative(path.resolve(base), path.resolve(target));
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}
