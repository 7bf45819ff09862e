import * as fsp from 'node:fs/promises';
import { mkdirPrivate, writeFileDurable } from '../fsutil.js';

/**
 * One JSON file, read whole and written durably (`writeFileDurable`: a temporary file, fsynced,
 * renamed over the old one, the folder fsynced): the metadata store's snapshot.
 */
export class FsyncJsonFile<T> {
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
