/**
 * One copy of each short string the records repeat. `JSON.parse` makes a new string for every
 * value it reads, so the 60 copies of one notification (one per recipient) each held their own
 * subject, event, logical message id, thread and timestamps: at one year of activity the
 * messages' records took 54 MB, half of it such duplicates. Records are shared through the pool
 * as they are read (the snapshot, the journal's tail) and as each change is applied.
 *
 * Short lists of strings are shared too, frozen: a message's one recipient (`to`), its
 * references, an empty Bcc, a member's roles. Records are never changed in place (a write
 * replaces a record), so a shared list is safe, and frozen, a change in place would throw
 * rather than change other records. At ten years such arrays were ~90 bytes of each of 1.5
 * million messages.
 *
 * The pool is bounded: two generations of at most `generation` strings (and lists) each. One
 * found in the older generation moves to the newer; when the newer is full the older is let go.
 * Strings seen once (a message's own id) pass through and are forgotten; those that recur stay.
 */
const EMPTY: readonly never[] = Object.freeze([]);
/** Lists of at most this many strings are shared. */
const SHARED_LIST = 4;

/** Two generations of at most `size` entries: one found in the older moves to the newer; when the newer is full the older goes. */
class Generations<V> {
  private young = new Map<string, V>();
  private old = new Map<string, V>();

  constructor(private readonly size: number) {}

  /** What `key` holds, or `make()` kept under it. */
  get(key: string, make: () => V): V {
    const y = this.young.get(key);
    if (y !== undefined) return y;
    const shared = this.old.get(key) ?? make();
    if (this.young.size >= this.size) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, shared);
    return shared;
  }

  get entries(): number {
    return this.young.size + this.old.size;
  }

  has(key: string): boolean {
    return this.young.has(key) || this.old.has(key);
  }
}

/**
 * The kinds whose records go through the pool: a notification's copies, one per recipient, share
 * their subject, event, thread, timestamps and recipient lists. The other kinds' strings are
 * their own (commit and blob ids, titles, rationales, times): at ten years' volume pooling the
 * 11,000 records of the other kinds at start cost ~65 ms of a ~140 ms read for 0.6 MB of heap
 * (alternated in-process reads of one snapshot), and JSON.parse already keeps one copy of
 * the shortest strings (a state, a type).
 */
export const POOLED_KINDS: ReadonlySet<string> = new Set(['mails']);

export class StringPool {
  private readonly strings: Generations<string>;
  /** Lists of one string, by that string (no key to build: most lists are a message's one recipient). */
  private readonly singles: Generations<readonly string[]>;
  private readonly lists: Generations<readonly string[]>;

  constructor(
    generation = 50_000,
    /** Longer strings (texts, bodies) rarely repeat and are left as they are. */
    private readonly maxLength = 256,
  ) {
    this.strings = new Generations(generation);
    this.singles = new Generations(generation);
    this.lists = new Generations(generation);
  }

  /** How many strings the pool holds (both generations). */
  get size(): number {
    return this.strings.entries;
  }

  /** Whether the pool holds `s`. */
  holds(s: string): boolean {
    return this.strings.has(s);
  }

  /** The pool's copy of `s` (`s` itself the first time). */
  string(s: string): string {
    return s.length > this.maxLength ? s : this.strings.get(s, () => s);
  }

  /**
   * `value` with every short string in it, at any depth, replaced by the pool's copy. Objects and
   * arrays are changed in place (they must be the caller's own, as freshly parsed records are);
   * `value` is returned.
   */
  share<T>(value: T): T {
    return this.walk(value, 0) as T;
  }

  /** A record of `kind` shared (`share`) when the kind is one of `POOLED_KINDS`, else as it is. */
  record<T>(kind: string, value: T): T {
    return POOLED_KINDS.has(kind) ? this.share(value) : value;
  }

  /** The pool's frozen copy of a short list of (already shared) strings. */
  private list(v: string[]): readonly string[] {
    if (!v.length) return EMPTY;
    if (v.some((x) => x.length > this.maxLength)) return v;
    if (v.length === 1) return this.singles.get(v[0], () => Object.freeze(v));
    return this.lists.get(JSON.stringify(v), () => Object.freeze(v));
  }

  private walk(v: unknown, depth: number): unknown {
    if (typeof v === 'string') return this.string(v);
    if (typeof v !== 'object' || v === null || depth > 16) return v;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = this.walk(v[i], depth + 1);
      return v.length <= SHARED_LIST && v.every((x) => typeof x === 'string') ? this.list(v as string[]) : v;
    }
    const o = v as Record<string, unknown>;
    for (const k in o) if (Object.hasOwn(o, k)) o[k] = this.walk(o[k], depth + 1);
    return v;
  }
}
