import type { Ctx } from './context.js';

/**
 * The public mirror (PUBLIC_MIRROR_URL): another git host that holds a copy of the public
 * repository — `main` and the version tags, nothing else — pushed after each publication.
 *
 * What must reach the mirror is not kept as a list: it is whatever the public repository has that
 * the mirror's refs (asked for at every attempt) do not. So nothing is lost by a crash, a restart
 * or a mirror that is down for a week: the next attempt pushes all that is missing. A push never
 * blocks or fails a publication; failures are retried with a growing pause (30 s doubling to an
 * hour) and are visible in `status()` (on `/healthz?verbose`).
 */
export interface MirrorSettings {
  url: string;
  username?: string;
  password?: string;
}

export interface MirrorStatus {
  url: string;
  /** The commit of `main` the mirror was last brought to (null until the first success). */
  pushedMain: string | null;
  lastSuccessAt: string | null;
  failures: number;
  lastError: string | null;
  nextAttemptAt: string | null;
}

const FIRST_PAUSE_MS = 30_000;
const LONGEST_PAUSE_MS = 60 * 60_000;

/** Push whatever the mirror lacks (tags first, then `main`); returns the refs pushed. */
export async function pushPublicMirror(ctx: Ctx, mirror: MirrorSettings): Promise<string[]> {
  if (!ctx.publicRepo) return [];
  const repo = ctx.publicRepo.repo;
  const tags = (await repo.listTags()).map((t) => `refs/tags/${t}`);
  const auth =
    mirror.username || mirror.password
      ? { username: mirror.username ?? '', password: mirror.password ?? '' }
      : undefined;
  return repo.pushTo(mirror.url, [...tags, 'refs/heads/main'], auth);
}

export class MirrorWorker {
  private pushedMain: string | null = null;
  private lastSuccessAt: string | null = null;
  private failures = 0;
  private lastError: string | null = null;
  private nextAt = 0;
  private running: Promise<void> | null = null;

  constructor(
    private readonly ctx: Ctx,
    private readonly mirror: MirrorSettings,
    private readonly onError: (message: string, err: unknown) => void = () => {},
  ) {}

  /** One attempt when one is due: the public `main` differs from what was pushed, and no pause is running. */
  tick(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.attempt().finally(() => (this.running = null));
    return this.running;
  }

  private async attempt(): Promise<void> {
    const now = this.ctx.clock().getTime();
    if (now < this.nextAt || !this.ctx.publicRepo) return;
    const main = await this.ctx.publicRepo.repo.resolve('refs/heads/main');
    if (!main || main === this.pushedMain) return;
    try {
      await pushPublicMirror(this.ctx, this.mirror);
      this.pushedMain = main;
      this.lastSuccessAt = new Date(now).toISOString();
      this.failures = 0;
      this.lastError = null;
      this.nextAt = 0;
    } catch (e) {
      this.failures++;
      this.lastError = (e as Error).message ?? String(e);
      this.nextAt = now + Math.min(FIRST_PAUSE_MS * 2 ** (this.failures - 1), LONGEST_PAUSE_MS);
      this.onError(
        `Pushing to the public mirror failed (${this.failures} in a row); next attempt in ${Math.round((this.nextAt - now) / 1000)} s`,
        e,
      );
    }
  }

  status(): MirrorStatus {
    return {
      url: this.mirror.url,
      pushedMain: this.pushedMain,
      lastSuccessAt: this.lastSuccessAt,
      failures: this.failures,
      lastError: this.lastError,
      nextAttemptAt: this.nextAt ? new Date(this.nextAt).toISOString() : null,
    };
  }
}
