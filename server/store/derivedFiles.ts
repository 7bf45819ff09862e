import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { FILE_MODE, mkdirPrivate } from './fsutil.js';

/**
 * Values computed from immutable data (a published version's paragraph provenance, named by its
 * commit), kept as small JSON files under `DATA_DIR/cache/<kind>/` so that a restart does not
 * recompute them. Nothing here is the truth: a missing, unreadable or damaged file is computed
 * again, a write that fails (a full disk) is dropped, and the folder may be deleted at any time.
 * Backups leave it out.
 */
export class DerivedFiles {
  constructor(private readonly dir: string) {}

  private file(kind: string, key: string): string {
    if (!/^[a-z]+$/.test(kind) || !/^[A-Za-z0-9_-]{1,128}$/.test(key)) throw new Error('bad cache key');
    return path.join(this.dir, kind, `${key}.json`);
  }

  async read<T>(kind: string, key: string): Promise<T | undefined> {
    try {
      return JSON.parse(await fsp.readFile(this.file(kind, key), 'utf8')) as T;
    } catch {
      return undefined;
    }
  }

  /** Written whole or not at all (temporary file, then rename); no fsync: a crash only loses a cache entry. */
  async write(kind: string, key: string, value: unknown): Promise<boolean> {
    const file = this.file(kind, key);
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await mkdirPrivate(path.dirname(file));
      await fsp.writeFile(tmp, JSON.stringify(value), { mode: FILE_MODE });
      await fsp.rename(tmp, file);
      return true;
    } catch {
      await fsp.rm(tmp, { force: true }).catch(() => {});
      return false;
    }
  }
}
