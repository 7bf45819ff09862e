import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { DomainError } from '../../domain/errors.js';

export interface HasherOptions {
  /** scrypt cost parameters for new hashes (a stored hash records its own, so old hashes keep verifying). */
  N: number;
  r: number;
  p: number;
  /** Hashes computed at once (each takes a thread of libuv's pool and 128·N·r bytes). */
  maxConcurrent: number;
  /** Hashes allowed to wait for a slot; one more is refused with 503 `busy`. */
  maxQueued: number;
}

/**
 * OWASP's cost (N=2^17, r=8, p=1): ~270 ms and 128 MiB per hash. Tests pass a small N; a
 * stored hash says which N it was made with, so verification never depends on these.
 */
export const PRODUCTION_HASHING: Readonly<HasherOptions> = Object.freeze({
  N: 2 ** 17,
  r: 8,
  p: 1,
  maxConcurrent: 2,
  maxQueued: 16,
});

const KEYLEN = 32;
/** The largest N a stored hash may ask for (a damaged or hostile record must not allocate gigabytes). */
const MAX_N = 2 ** 20;

const isPowerOfTwo = (n: number) => Number.isInteger(n) && n > 1 && (n & (n - 1)) === 0;

/**
 * Password hashing, owned by the app's context (`ctx.passwords`): scrypt runs async in libuv's
 * pool, at most `maxConcurrent` at a time, so a burst of logins queues instead of stalling the
 * server or exhausting memory; beyond `maxQueued` waiting, a request is refused at once with
 * 503 `busy` and Retry-After rather than piling up.
 */
export class Hasher {
  readonly options: HasherOptions;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** How many hashes were computed (tests use it to prove a guess was never evaluated). */
  evaluated = 0;
  /** About how long one hash takes here (a moving average), to answer without one in the same time. */
  typicalMs: number;
  private dummy: Promise<string> | null = null;

  constructor(options: Partial<HasherOptions> = {}) {
    this.options = { ...PRODUCTION_HASHING, ...options };
    if (!isPowerOfTwo(this.options.N)) throw new Error('scrypt N must be a power of two');
    this.typicalMs = Math.max(1, Math.round((270 * this.options.N * this.options.r) / (2 ** 17 * 8)));
  }

  /** Hashes waiting for a slot right now. */
  get queued(): number {
    return this.waiting.length;
  }

  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.options.maxConcurrent) {
      if (this.waiting.length >= this.options.maxQueued) {
        throw new DomainError(
          'busy',
          'busy',
          'The server is checking many passwords right now; try again in a few seconds.',
          { retryAfter: 5 },
        );
      }
      await new Promise<void>((r) => this.waiting.push(r));
    }
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  private derive(
    password: string,
    salt: Buffer,
    opts: ScryptOptions & { N: number; r: number; p: number },
    keylen: number,
  ): Promise<Buffer> {
    // scrypt needs 128·N·r bytes; leave room for its other buffers.
    const maxmem = 256 * opts.N * opts.r + 32 * 1024 * 1024;
    return this.limited(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          this.evaluated++;
          const started = performance.now();
          scrypt(password.normalize('NFKC'), salt, keylen, { ...opts, maxmem }, (err, key) => {
            if (err) return reject(err);
            this.typicalMs = Math.max(1, Math.round(0.8 * this.typicalMs + 0.2 * (performance.now() - started)));
            resolve(key);
          });
        }),
    );
  }

  /** `scrypt$N$r$p$salt$hash` (base64). */
  async hash(password: string): Promise<string> {
    const { N, r, p } = this.options;
    const salt = randomBytes(16);
    const key = await this.derive(password, salt, { N, r, p }, KEYLEN);
    return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
  }

  /** Constant-time comparison against a stored hash (made with any cost); false for a malformed hash. */
  async verify(password: string, stored: string): Promise<boolean> {
    const [alg, n, r, p, saltB64, keyB64] = stored.split('$');
    const N = Number(n);
    const R = Number(r);
    const P = Number(p);
    if (alg !== 'scrypt' || !keyB64 || !isPowerOfTwo(N) || N > MAX_N || !(R >= 1 && R <= 32) || !(P >= 1 && P <= 16))
      return false;
    const expected = Buffer.from(keyB64, 'base64');
    if (expected.length < 16) return false;
    const key = await this.derive(password, Buffer.from(saltB64, 'base64'), { N, r: R, p: P }, expected.length);
    return key.length === expected.length && timingSafeEqual(key, expected);
  }

  /** A check against a hash of nothing in particular, so an unknown e-mail costs what a wrong password costs. */
  async burnTime(password: string): Promise<void> {
    await this.verify(password, await (this.dummy ??= this.hash(randomBytes(12).toString('hex'))));
  }
}
