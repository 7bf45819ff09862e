import * as fsp from 'node:fs/promises';
import type { Adapter } from 'lowdb';
import { mkdirPrivate, writeFileDurable } from '../fsutil.js';

/**
 * A lowdb adapter that reads and writes one JSON file durably. lowdb's own file adapter
 * renames without fsync; this one fsyncs the file and its folder (STACK.md).
 */
export class FsyncJsonFile<T> implements Adapter<T> {
  constructor(
    private readonly file: string,
    private readonly tmpDir: string,
  ) {}

  async read(): Promise<T | null> {
    try {
      return JSON.parse(await fsp.readFile(this.file, 'utf8')) as T;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async write(data: T): Promise<void> {
    await mkdirPrivate(this.tmpDir);
    await writeFileDurable(this.file, JSON.stringify(data), this.tmpDir);
  }
}
