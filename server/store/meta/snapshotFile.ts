import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { FILE_MODE, fsyncDir, mkdirPrivate, shortWrite, storageError } from '../fsutil.js';
import type { StringPool } from './stringPool.js';

/**
 * The metadata store's snapshot, one record a line (issue 18: never one string, never a stall).
 *
 *     {"format":2,"seq":1234}
 *     ["users","1",{…}]
 *     ["proposals","7",{…}]
 *
 * Written from a list of the records taken at once (their objects are never changed in place:
 * a write replaces a record), each serialised on its own and written in batches of about a
 * megabyte, so the event loop is never held for long and no string grows with the state; then
 * fsynced and renamed over the old one, the folder fsynced (a crash leaves the old or the new).
 * Read a line at a time. A snapshot in the first format (one JSON document) is still read.
 */
export interface Snapshot {
  seq: number;
  collections: Record<string, Record<string, unknown>>;
}

/** Every record of the state, by kind, as `SnapshotFile.take` lists them. */
export type Taken = ReadonlyArray<readonly [string, [string, unknown][]]>;

const FORMAT = 2;
/**
 * Characters gathered before each write (and each turn of the event loop). A 1 MB batch of mail
 * records took ~100 ms to serialise on a loaded 2-core machine (profiled during bench part 8's
 * mail drain); a quarter of that is a quarter of the time the loop is held.
 */
const BATCH = 1 << 18;

export class SnapshotFile {
  constructor(
    private readonly file: string,
    private readonly tmpDir: string,
  ) {}

  /** The snapshot, or null when there is none; each record's strings shared through `pool` as it is read. */
  async read(pool?: StringPool): Promise<Snapshot | null> {
    let head: string;
    try {
      const h = await fsp.open(this.file, 'r');
      try {
        const buf = Buffer.alloc(64);
        const { bytesRead } = await h.read(buf, 0, 64, 0);
        head = buf.subarray(0, bytesRead).toString('utf8');
      } finally {
        await h.close();
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    if (!head.startsWith(`{"format":${FORMAT},`)) {
      const whole = JSON.parse(await fsp.readFile(this.file, 'utf8')) as Snapshot;
      return pool ? pool.share(whole) : whole;
    }
    const lines = createInterface({ input: createReadStream(this.file, 'utf8'), crlfDelay: Infinity });
    let seq = -1;
    const collections: Snapshot['collections'] = {};
    for await (const line of lines) {
      if (!line) continue;
      if (seq < 0) {
        seq = (JSON.parse(line) as { seq: number }).seq;
        continue;
      }
      const [kind, id, value] = JSON.parse(line) as [string, string, unknown];
      (collections[kind] ??= {})[id] = pool ? pool.share(value) : value;
    }
    return { seq, collections };
  }

  /** The records as they are now, by kind (one pass over the state, no copy of any record). */
  static take(collections: Snapshot['collections']): Taken {
    return Object.entries(collections).map(([kind, col]) => [kind, Object.entries(col)] as const);
  }

  /**
   * Write a snapshot at `seq` of the records `take` listed: taken when the snapshot's `seq` was,
   * so later writes to the store cannot slip into it.
   */
  /** Returns the snapshot's size in bytes. */
  async write(seq: number, records: Taken): Promise<number> {
    await mkdirPrivate(this.tmpDir);
    const tmp = path.join(this.tmpDir, `${process.pid}-${randomBytes(8).toString('hex')}.tmp`);
    let placed = false;
    let size = 0;
    try {
      const h = await fsp.open(tmp, 'w', FILE_MODE);
      try {
        const put = async (text: string) => {
          const bytes = Buffer.from(text, 'utf8');
          size += bytes.byteLength;
          for (let off = 0; off < bytes.byteLength; ) {
            const { bytesWritten } = await h.write(bytes, off, bytes.byteLength - off);
            if (bytesWritten <= 0) throw shortWrite();
            off += bytesWritten;
          }
        };
        let batch = `${JSON.stringify({ format: FORMAT, seq })}\n`;
        for (const [kind, entries] of records)
          for (const [id, value] of entries) {
            batch += `${JSON.stringify([kind, id, value])}\n`;
            if (batch.length >= BATCH) {
              await put(batch);
              batch = '';
            }
          }
        await put(batch);
        await h.sync();
      } finally {
        await h.close();
      }
      await fsp.rename(tmp, this.file);
      placed = true;
      await fsyncDir(path.dirname(this.file));
    } catch (e) {
      if (!placed) await fsp.rm(tmp, { force: true }).catch(() => {});
      throw storageError(e);
    }
    return size;
  }

  /** The snapshot's size in bytes (0 when there is none). */
  async size(): Promise<number> {
    try {
      return (await fsp.stat(this.file)).size;
    } catch {
      return 0;
    }
  }
}
