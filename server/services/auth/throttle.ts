import { DomainError } from '../../domain/errors.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * At most `limit` reservations per key in any `windowMs` (a sliding window of timestamps). A
 * reservation is taken before the work it guards and given back when that work turned out not
 * to count (a success, a refusal for another reason), so concurrency never lets more through.
 */
class SlidingBudget {
  private entries = new Map<string, number[]>();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  private live(key: string, now: number): number[] {
    const list = this.entries.get(key);
    if (!list) return [];
    while (list.length && list[0] + this.windowMs <= now) list.shift();
    if (!list.length) this.entries.delete(key);
    return list;
  }

  /** Milliseconds until a slot frees (0: one is free now). */
  wait(key: string, now: number): number {
    const list = this.live(key, now);
    return list.length < this.limit ? 0 : list[list.length - this.limit] + this.windowMs - now;
  }

  take(key: string, now: number): void {
    const list = this.live(key, now);
    list.push(now);
    this.entries.set(key, list);
  }

  giveBack(key: string, at: number): void {
    const list = this.entries.get(key);
    const i = list ? list.lastIndexOf(at) : -1;
    if (i >= 0) list!.splice(i, 1);
  }

  get size(): number {
    return this.entries.size;
  }

  prune(now: number): void {
    for (const key of [...this.entries.keys()]) this.live(key, now);
  }
}

export interface ThrottleOptions {
  /** Password guesses per account in `accountWindowMs` from addresses it has not signed in from. */
  perAccount: number;
  accountWindowMs: number;
  /** Password guesses per account from one address it signed in from before (its own budget). */
  perTrustedAddress: number;
  /** How long a successful sign-in makes its address known to the account. */
  trustMs: number;
  /** Password guesses on existing accounts per address per day (known addresses excepted). */
  perIpDay: number;
  /** Second-factor codes, or password re-checks of a signed-in account, per account in `accountWindowMs`. */
  perAccountCheck: number;
  /** Sign-in attempts for addresses without an account that get a decoy hash, per address per hour. */
  decoysPerIpHour: number;
  /** Password-reset requests per e-mail and address per hour, and per address per hour. */
  resetsPerEmailHour: number;
  resetsPerIpHour: number;
}

export const DEFAULT_THROTTLE: Readonly<ThrottleOptions> = Object.freeze({
  perAccount: 10,
  accountWindowMs: 15 * MINUTE,
  perTrustedAddress: 10,
  trustMs: 30 * DAY,
  perIpDay: 100,
  perAccountCheck: 10,
  decoysPerIpHour: 100,
  resetsPerEmailHour: 5,
  resetsPerIpHour: 50,
});

/** A reservation held while a guess is evaluated: `failed` keeps it counted, `succeeded` and `cancelled` give it back. */
export interface Guess {
  failed(): void;
  succeeded(): void;
  cancelled(): void;
}

/**
 * Sign-in throttles (in memory: a restart forgets them). Every guess is reserved BEFORE its
 * hash is computed, so no number of parallel requests gets more guesses evaluated than the
 * budget, and a success gives its reservation back. See docs/SECURITY.md ("Throttling").
 *
 * - Password guesses are counted per account (by e-mail, whether or not it exists, so the answer
 *   never tells): 10 in any 15 minutes. An address from which the account signed in during the
 *   last 30 days has its own budget of 10, so a stranger who spends the account's budget does
 *   not lock the real person out where they usually sign in.
 * - Per address, 100 guesses a day on existing accounts (known addresses excepted); attempts
 *   for addresses without an account do not count there (they guess nothing), but are refused
 *   alike while the address is capped.
 * - Second-factor codes and password re-checks: 10 per account in any 15 minutes (the password
 *   is already known there, so no stranger can spend this budget).
 * - Requests that cost no guess have their own budgets, which never refuse a sign-in: reset
 *   requests (per e-mail+address and per address, an hour), and the decoy hashes spent on
 *   unknown e-mails (beyond the budget the answer is the same, without the hash).
 */
export class LoginThrottle {
  readonly opts: ThrottleOptions;
  private readonly accounts: SlidingBudget;
  private readonly trustedPairs: SlidingBudget;
  private readonly ips: SlidingBudget;
  private readonly checks: SlidingBudget;
  private readonly decoys: SlidingBudget;
  private readonly resetPairs: SlidingBudget;
  private readonly resetIps: SlidingBudget;
  /** userId → address → when it last signed in from there. */
  private readonly known = new Map<number, Map<string, number>>();

  constructor(
    private readonly clock: () => Date,
    opts: Partial<ThrottleOptions> = {},
  ) {
    this.opts = { ...DEFAULT_THROTTLE, ...opts };
    const o = this.opts;
    this.accounts = new SlidingBudget(o.perAccount, o.accountWindowMs);
    this.trustedPairs = new SlidingBudget(o.perTrustedAddress, o.accountWindowMs);
    this.ips = new SlidingBudget(o.perIpDay, DAY);
    this.checks = new SlidingBudget(o.perAccountCheck, o.accountWindowMs);
    this.decoys = new SlidingBudget(o.decoysPerIpHour, HOUR);
    this.resetPairs = new SlidingBudget(o.resetsPerEmailHour, HOUR);
    this.resetIps = new SlidingBudget(o.resetsPerIpHour, HOUR);
  }

  private now = () => this.clock().getTime();

  private refuse(ms: number, what = 'sign-in attempts'): never {
    const retryAfter = Math.max(1, Math.ceil(ms / 1000));
    throw new DomainError(
      'throttled',
      'too_many_attempts',
      `Too many ${what}. Try again in ${Math.ceil(retryAfter / 60)} minute(s).`,
      { retryAfter },
    );
  }

  /** Take one slot from each budget, or none (429 with the longest wait). */
  private reserve(slots: [SlidingBudget, string][], what?: string): Guess {
    const now = this.now();
    const wait = Math.max(0, ...slots.map(([b, k]) => b.wait(k, now)));
    if (wait > 0) this.refuse(wait, what);
    for (const [b, k] of slots) b.take(k, now);
    this.pruneIfLarge(now);
    let open = true;
    const giveBack = () => {
      if (!open) return;
      open = false;
      for (const [b, k] of slots) b.giveBack(k, now);
    };
    return {
      failed: () => {
        open = false;
      },
      succeeded: giveBack,
      cancelled: giveBack,
    };
  }

  /** Whether `userId` signed in from `ip` within the trust period. */
  isKnownAddress(userId: number, ip: string): boolean {
    const at = this.known.get(userId)?.get(ip);
    return at !== undefined && at + this.opts.trustMs > this.now();
  }

  /**
   * Reserve one password guess for `email` from `ip` before the hash is computed (429 when no
   * budget is left). `userId` is the account's id, or null when the address has none.
   */
  beginPassword(email: string, ip: string, userId: number | null): Guess {
    const e = email.toLowerCase();
    const now = this.now();
    if (userId !== null && this.isKnownAddress(userId, ip)) {
      const g = this.reserve([[this.trustedPairs, `${userId}|${ip}`]]);
      return {
        ...g,
        succeeded: () => {
          g.succeeded();
          this.remember(userId, ip);
        },
      };
    }
    // An address at its daily cap is refused for every account alike, so the cap tells nothing.
    const ipWait = this.ips.wait(ip, now);
    if (ipWait > 0) this.refuse(ipWait);
    const g = this.reserve(
      userId === null
        ? [[this.accounts, e]]
        : [
            [this.accounts, e],
            [this.ips, ip],
          ],
    );
    return userId === null
      ? g
      : {
          ...g,
          succeeded: () => {
            g.succeeded();
            this.remember(userId, ip);
          },
        };
  }

  /** Whether an attempt for an unknown e-mail may spend a decoy hash (false: answer without one). */
  takeDecoy(ip: string): boolean {
    const now = this.now();
    if (this.decoys.wait(ip, now) > 0) return false;
    this.decoys.take(ip, now);
    return true;
  }

  /** Reserve one second-factor code or password re-check for a known account (`kind` keeps the two apart). */
  beginAccountCheck(kind: 'code' | 'password', userId: number): Guess {
    return this.reserve([[this.checks, `${kind}:${userId}`]], kind === 'code' ? 'wrong codes' : 'wrong passwords');
  }

  /** Count one password-reset request (429 beyond its own budget; sign-in is never affected). */
  takeReset(email: string, ip: string): void {
    this.reserve(
      [
        [this.resetPairs, `${email.toLowerCase()}|${ip}`],
        [this.resetIps, ip],
      ],
      'password-reset requests',
    ).failed();
  }

  private remember(userId: number, ip: string): void {
    const m = this.known.get(userId) ?? new Map<string, number>();
    m.delete(ip);
    m.set(ip, this.now());
    // The five most recent addresses per account are enough for a person's devices.
    while (m.size > 5) m.delete(m.keys().next().value!);
    this.known.set(userId, m);
  }

  private pruneIfLarge(now: number): void {
    const all = [this.accounts, this.trustedPairs, this.ips, this.checks, this.decoys, this.resetPairs, this.resetIps];
    if (all.reduce((n, b) => n + b.size, 0) > 100_000) for (const b of all) b.prune(now);
  }
}

/**
 * Writes per account per minute (WRITE_LIMIT; 0 turns it off): a fixed one-minute window,
 * in memory. Reads are never limited.
 */
export class WriteLimiter {
  private windows = new Map<number, { start: number; count: number }>();

  constructor(
    private readonly clock: () => Date,
    private readonly perMinute: number,
  ) {}

  take(userId: number): void {
    if (this.perMinute <= 0) return;
    const now = this.clock().getTime();
    const w = this.windows.get(userId);
    if (!w || now - w.start >= 60_000) {
      this.windows.set(userId, { start: now, count: 1 });
      return;
    }
    if (w.count >= this.perMinute) {
      const retryAfter = Math.max(1, Math.ceil((w.start + 60_000 - now) / 1000));
      throw new DomainError(
        'throttled',
        'write_limit',
        `You are making changes faster than ${this.perMinute} a minute; wait ${retryAfter} s.`,
        { retryAfter },
      );
    }
    w.count++;
  }
}
