import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { mkdirPrivate, writeFileDurable } from './fsutil.js';

export interface WriteState {
  ok: boolean;
  /** When not ok: the error code of the last failed write, and when it failed. */
  code?: string;
  since?: string;
}

const PROBE = Buffer.alloc(4096, 0x2e);

/**
 * Whether a store can write: its last write failed and none has succeeded since, or not. While
 * writes fail, `check()` tries a small durable write of its own (one at a time), so that the
 * store is reported writable again as soon as space is freed, even if nobody writes meanwhile.
 */
export class WriteHealth {
  private failure: { code: string; since: string } | null = null;
  private probing: Promise<boolean> | null = null;

  constructor(private readonly probeDir: string) {}

  succeeded(): void {
    this.failure = null;
  }

  failed(e: unknown): void {
    const code = (e as { code?: unknown } | null)?.code;
    this.failure = { code: typeof code === 'string' ? code : 'storage_unavailable', since: new Date().toISOString() };
  }

  get state(): WriteState {
    return this.failure ? { ok: false, ...this.failure } : { ok: true };
  }

  /** True when writes can be made: no failure since the last success, or a probe write succeeds now. */
  async check(): Promise<boolean> {
    if (!this.failure) return true;
    this.probing ??= this.probe().finally(() => (this.probing = null));
    return this.probing;
  }

  private async probe(): Promise<boolean> {
    const file = path.join(this.probeDir, `probe-${process.pid}`);
    try {
      await mkdirPrivate(this.probeDir);
      await writeFileDurable(file, PROBE, this.probeDir);
      await fsp.rm(file, { force: true });
      this.succeeded();
      return true;
    } catch {
      await fsp.rm(file, { force: true }).catch(() => {});
      return false;
    }
  }
}
