import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { mkdirPrivate, storageError, writeFileDurable } from '../fsutil.js';

/** The large text fields of one collection's records that are kept in files, not in memory. */
export interface DetachSpec {
  kind: string;
  fields: readonly string[];
}

/** The record's field that names the file holding its detached fields. */
export const BODY_REF = 'body';

/** One file's content: record id → its detached fields. */
export type Bodies = Record<string, Record<string, string>>;

const NAME = /^[0-9a-z]+-[0-9a-f]{12}\.json$/;
/** Files kept parsed after a read (the mail worker reads each file's messages one after another). */
const KEPT_FILES = 16;

/**
 * Large text fields (a message's text and HTML) kept out of memory, the snapshot and the journal:
 * the fields of the records one change puts go into one file, written durably before the change
 * is (so an acknowledged record never names a file that is not there), and the records keep only
 * the file's name. A file no record names any more is removed; one a crash left behind before
 * its change was written is removed at the next start.
 */
export class DetachedBodies {
  private readonly kept = new Map<string, Promise<Bodies | null>>();

  private constructor(
    private readonly dir: string,
    private readonly tmpDir: string,
  ) {}

  static async open(dir: string, tmpDir: string): Promise<DetachedBodies> {
    await mkdirPrivate(dir);
    await mkdirPrivate(tmpDir);
    return new DetachedBodies(dir, tmpDir);
  }

  /** A new file name: its time (for a person looking at the folder) and 48 random bits. */
  newName(): string {
    return `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}.json`;
  }

  /** Write the file `name` durably (temporary file, fsync, rename, fsync of the folder). */
  async write(name: string, bodies: Bodies): Promise<void> {
    await writeFileDurable(path.join(this.dir, name), JSON.stringify(bodies), this.tmpDir);
  }

  /** The fields of record `id` in file `name`, or null when the file or the record is not there. */
  async read(name: string, id: string): Promise<Record<string, string> | null> {
    if (!NAME.test(name)) return null;
    let file = this.kept.get(name);
    if (file) {
      // Most recently used last: the first in the map is the one to let go.
      this.kept.delete(name);
    } else {
      file = fsp.readFile(path.join(this.dir, name), 'utf8').then(
        (text) => JSON.parse(text) as Bodies,
        (e) => {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
          throw storageError(e);
        },
      );
    }
    this.kept.set(name, file);
    while (this.kept.size > KEPT_FILES) this.kept.delete(this.kept.keys().next().value!);
    try {
      return (await file)?.[id] ?? null;
    } catch (e) {
      this.kept.delete(name);
      throw e;
    }
  }

  /** Remove the file `name` (gone already is fine). */
  async remove(name: string): Promise<void> {
    this.kept.delete(name);
    if (NAME.test(name)) await fsp.rm(path.join(this.dir, name), { force: true });
  }

  /** The names of the files there. */
  async list(): Promise<string[]> {
    return (await fsp.readdir(this.dir)).filter((n) => NAME.test(n));
  }
}
