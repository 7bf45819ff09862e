import { DomainError } from '../../domain/errors.js';

/**
 * Failed password checks, counted per account+IP and per IP (in memory: a restart forgets
 * them, which only ever helps the real user). Ten consecutive failures for one account from
 * one address lock that pair for 15 minutes — the 11th attempt gets 429 with Retry-After, the
 * right password included — and a success clears the count. An address is also capped at
 * 100 failures a day over all accounts, so guessing across many accounts stops too.
 */
export class LoginThrottle {
  private pairs = new Map<string, { failures: number; until: number }>();
  private ips = new Map<string, { failures: number; since: number }>();

  constructor(
    private readonly clock: () => Date,
    private readonly opts = { perPair: 10, lockMs: 15 * 60_000, perIpDay: 100 },
  ) {}

  private key = (email: string, ip: string) => `${email.toLowerCase()}|${ip}`;

  /** Refuse (429) when this pair or this address is locked. */
  check(email: string, ip: string): void {
    const now = this.clock().getTime();
    const p = this.pairs.get(this.key(email, ip));
    if (p && p.failures >= this.opts.perPair && p.until > now) this.refuse(p.until - now);
    const i = this.ips.get(ip);
    if (i && now - i.since < 86_400_000 && i.failures >= this.opts.perIpDay) this.refuse(i.since + 86_400_000 - now);
  }

  private refuse(ms: number): never {
    const retryAfter = Math.max(1, Math.ceil(ms / 1000));
    throw new DomainError('throttled', 'too_many_attempts', `Too many failed sign-in attempts. Try again in ${Math.ceil(retryAfter / 60)} minute(s).`, { retryAfter });
  }

  failed(email: string, ip: string): void {
    const now = this.clock().getTime();
    const k = this.key(email, ip);
    const p = this.pairs.get(k);
    const failures = p && p.until > now - this.opts.lockMs ? p.failures + 1 : 1;
    this.pairs.set(k, { failures, until: now + this.opts.lockMs });
    const i = this.ips.get(ip);
    if (!i || now - i.since >= 86_400_000) this.ips.set(ip, { failures: 1, since: now });
    else i.failures++;
    if (this.pairs.size + this.ips.size > 100_000) this.prune(now);
  }

  succeeded(email: string, ip: string): void {
    this.pairs.delete(this.key(email, ip));
  }

  private prune(now: number) {
    for (const [k, v] of this.pairs) if (v.until < now) this.pairs.delete(k);
    for (const [k, v] of this.ips) if (now - v.since >= 86_400_000) this.ips.delete(k);
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
      throw new DomainError('throttled', 'write_limit', `You are making changes faster than ${this.perMinute} a minute; wait ${retryAfter} s.`, { retryAfter });
    }
    w.count++;
  }
}
