import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import session from 'express-session';
import { mkdirPrivate, writeFileDurable } from '../fsutil.js';

type Data = session.SessionData;
type Cb<T = void> = (err?: unknown, v?: T) => void;

/**
 * Sessions under DATA_DIR, one small file each (named by the SHA-256 of the id, so the folder
 * listing reveals no usable id), so they survive a restart. Kept in memory too: reads never
 * touch the disk. Expired sessions are swept on start and hourly.
 */
export class FileSessionStore extends session.Store {
  private cache = new Map<string, { data: Data; expires: number; onDisk: number }>();
  private timer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly dir: string,
    private readonly clock: () => Date,
  ) {
    super();
  }

  static async open(dir: string, clock: () => Date = () => new Date()): Promise<FileSessionStore> {
    await mkdirPrivate(path.join(dir, 'tmp'));
    const s = new FileSessionStore(dir, clock);
    for (const name of await fsp.readdir(dir)) {
      if (!name.endsWith('.json')) continue;
      try {
        const rec = JSON.parse(await fsp.readFile(path.join(dir, name), 'utf8')) as {
          sid: string;
          data: Data;
          expires: number;
        };
        if (rec.expires > clock().getTime())
          s.cache.set(rec.sid, { data: rec.data, expires: rec.expires, onDisk: rec.expires });
        else await fsp.rm(path.join(dir, name), { force: true });
      } catch {
        await fsp.rm(path.join(dir, name), { force: true });
      }
    }
    s.timer = setInterval(() => void s.sweep(), 3_600_000);
    s.timer.unref();
    return s;
  }

  private file(sid: string) {
    return path.join(this.dir, `${createHash('sha256').update(sid).digest('hex')}.json`);
  }

  private expiry(data: Data): number {
    const e = data.cookie?.expires ? new Date(data.cookie.expires).getTime() : NaN;
    return Number.isFinite(e) ? e : this.clock().getTime() + 24 * 3_600_000;
  }

  override get(sid: string, cb: Cb<Data | null>): void {
    const hit = this.cache.get(sid);
    if (!hit || hit.expires <= this.clock().getTime()) return cb(undefined, null);
    cb(undefined, structuredClone(hit.data));
  }

  override set(sid: string, data: Data, cb: Cb = () => {}): void {
    const expires = this.expiry(data);
    const copy = JSON.parse(JSON.stringify(data)) as Data;
    const before = this.cache.get(sid);
    const now = { data: copy, expires, onDisk: expires };
    this.cache.set(sid, now);
    writeFileDurable(this.file(sid), JSON.stringify({ sid, data: copy, expires }), path.join(this.dir, 'tmp')).then(
      () => cb(),
      (e) => {
        // The disk refused it (the temporary file is gone): memory goes back to what is on disk.
        if (this.cache.get(sid) === now) {
          if (before) this.cache.set(sid, before);
          else this.cache.delete(sid);
        }
        cb(e);
      },
    );
  }

  override touch(sid: string, data: Data, cb: Cb = () => {}): void {
    const hit = this.cache.get(sid);
    if (!hit) return cb();
    const expires = this.expiry(data);
    hit.expires = expires;
    hit.data.cookie = data.cookie;
    // Rewrite the file at most once a minute per session: after a restart an idle timeout may
    // come up to a minute early, never late.
    if (expires - hit.onDisk < 60_000) return cb();
    this.set(sid, { ...hit.data, cookie: data.cookie }, cb);
  }

  override destroy(sid: string, cb: Cb = () => {}): void {
    this.cache.delete(sid);
    fsp.rm(this.file(sid), { force: true }).then(() => cb(), cb);
  }

  /** How many sessions are held (expired ones included until the next sweep). */
  get size(): number {
    return this.cache.size;
  }

  /** Remove expired sessions. */
  async sweep(): Promise<void> {
    const now = this.clock().getTime();
    for (const [sid, v] of this.cache) if (v.expires <= now) await new Promise((r) => this.destroy(sid, r));
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
