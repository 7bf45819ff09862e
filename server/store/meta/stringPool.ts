/**
 * One copy of each short string the records repeat. `JSON.parse` makes a new string for every
 * value it reads, so the 60 copies of one notification (one per recipient) each held their own
 * subject, event, logical message id, thread and timestamps: at one year of activity the
 * messages' records took 54 MB, half of it such duplicates. Records are shared through the pool
 * as they are read (the snapshot, the journal's tail) and as each change is applied.
 *
 * The pool is bounded: two generations of at most `generation` strings each. A string found in
 * the older one moves to the newer; when the newer is full the older is let go. Strings seen
 * once (a message's own id) pass through and are forgotten; those that recur stay.
 */
export class StringPool {
  private young = new Map<string, string>();
  private old = new Map<string, string>();

  constructor(
    private readonly generation = 50_000,
    /** Longer strings (texts, bodies) rarely repeat and are left as they are. */
    private readonly maxLength = 256,
  ) {}

  /** The pool's copy of `s` (`s` itself the first time). */
  string(s: string): string {
    if (s.length > this.maxLength) return s;
    const y = this.young.get(s);
    if (y !== undefined) return y;
    const shared = this.old.get(s) ?? s;
    if (this.young.size >= this.generation) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(shared, shared);
    return shared;
  }

  /**
   * `value` with every short string in it, at any depth, replaced by the pool's copy. Objects and
   * arrays are changed in place (they must be the caller's own, as freshly parsed records are);
   * `value` is returned.
   */
  share<T>(value: T): T {
    return this.walk(value, 0) as T;
  }

  private walk(v: unknown, depth: number): unknown {
    if (typeof v === 'string') return this.string(v);
    if (typeof v !== 'object' || v === null || depth > 16) return v;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = this.walk(v[i], depth + 1);
      return v;
    }
    const o = v as Record<string, unknown>;
    for (const k in o) if (Object.hasOwn(o, k)) o[k] = this.walk(o[k], depth + 1);
    return v;
  }
}
