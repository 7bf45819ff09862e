import { randomUUID } from 'node:crypto';
import { encodeParts, KeptBytes } from './keptBytes.js';

export { KeptBytes };

/**
 * Makes one piece of a page, or gives the one kept under `key` (null: never kept). `make` gets the
 * form token to write into its forms; a kept piece gets the reader's own token on the way out.
 * Pieces nest: a piece made inside another's `make` is kept on its own and also as part of it.
 */
export type Fragment = (key: string | null, make: (formToken: string) => string) => string;

/** What one page may take from the cache: pieces of HTML, and the values they are made from. */
export interface PageParts {
  fragment: Fragment;
  /**
   * `fragment`, for a large piece written into the page where the page's template puts it (not
   * inside an include, which would make it a string again): kept as bytes, sent as `KeptBytes`.
   * `make` may give the piece as a template's pieces (`piecesOf` in the views: never one string).
   */
  large(key: string | null, make: (formToken: string) => string | readonly unknown[]): string | KeptBytes;
  /**
   * The value kept under `key` at this page's version, or `make`'s (kept when nothing was written
   * while it was made). A kept value is shared by every page that asks: never change it.
   */
  value<T>(key: string, make: () => Promise<T>): Promise<T>;
  /**
   * `make`'s text as UTF-8 bytes, kept under `key` (no form token in it): an answer made of many
   * kept pieces is then sent as their bytes put together, never encoded again (encoding a
   * 130 KB answer that holds one character beyond Latin-1 took ~0.5 ms).
   */
  bytes(key: string, make: () => string): Buffer;
}

/**
 * Pieces of the pages made for someone signed in, kept between requests: the HTML of a comment
 * thread, the heaviest part of a long discussion's page, is the same for every reader with the
 * same rights until something is written. A piece is kept under its key (what it is and the
 * reader's rights that change it: presenters decide) and the version of what it was made from
 * (a page says which: one proposal's page is of that proposal's version, which a comment on
 * another leaves as it is); a piece of another version is never given, and ages out. The
 * reader's form token is the one personal thing in a piece: it is made with `slot` (random per cache, so no text a user writes can hold it) in
 * the token's place, and the reader's token is put there each time it is given. Sized in
 * characters (bytes for bytes), least recently used first out. The values pieces are made from (a page's view
 * model, the same for every reader) can be kept beside them, a few at a time.
 */
export class FragmentCache {
  /** What stands for the reader's form token in a kept piece. */
  readonly slot = `\u0000${randomUUID()}\u0000`;
  private readonly kept = new Map<string, string[] | Buffer[] | Buffer>();
  private readonly values = new Map<string, unknown>();
  /** Values being made, by version and key. */
  private readonly making = new Map<string, Promise<unknown>>();
  private size = 0;
  private hits = 0;
  private misses = 0;

  constructor(
    private readonly maxChars = 8 * 1024 * 1024,
    private readonly maxValues = 16,
  ) {}

  /**
   * The fragment maker for one page. `version` is read now, before the request reads what its
   * page is made from, and again when the page is rendered (a synchronous pass: nothing is
   * written during it); if a write came in between, the page may mix two states, so it neither
   * keeps nor uses a kept piece.
   */
  forPage(version: () => string, formToken: string): PageParts {
    const asked = version();
    let same: boolean | null = null;
    /** Whether pieces may be kept and used: nothing was written since the page began. */
    const current = () => (same ??= version() === asked);
    /** What a piece is kept under: its key at this page's version. */
    const at = (key: string) => `${asked}${VERSIONED}${key}`;
    // What goes where the token stands: the reader's, or the slot while a piece that holds this one is made.
    let token = formToken;
    /** `make`'s piece made with the slot for the token (pieces made during it put the slot in their token's place). */
    const withSlot = <T>(make: (formToken: string) => T): T => {
      const outer = token;
      token = this.slot;
      try {
        return make(this.slot);
      } finally {
        token = outer;
      }
    };
    const fragment: Fragment = (key, make) => {
      if (key === null || !current()) return make(token);
      let kept = this.hit(at(key)) as string[] | undefined;
      if (kept === undefined) {
        this.misses++;
        this.keep(at(key), (kept = withSlot(make).split(this.slot)));
      }
      return kept.length === 1 ? kept[0] : kept.join(token);
    };
    const large = (key: string | null, make: (formToken: string) => string | readonly unknown[]) => {
      if (key === null || !current()) {
        const made = make(token);
        return typeof made === 'string' ? made : new KeptBytes(encodeParts(made, null), token);
      }
      const where = `${LARGE}${at(key)}`;
      let kept = this.hit(where) as Buffer[] | undefined;
      if (kept === undefined) {
        this.misses++;
        const made = withSlot(make);
        this.keep(where, (kept = encodeParts(typeof made === 'string' ? [made] : made, this.slot)));
      }
      return new KeptBytes(kept, token);
    };
    const value = async <T>(key: string, make: () => Promise<T>): Promise<T> => {
      const where = at(key);
      // Only for a page during which nothing was written (yet): it is then of the kept value's version.
      if (this.values.has(where) && version() === asked) {
        const v = this.values.get(where) as T;
        this.values.delete(where);
        this.values.set(where, v);
        return v;
      }
      // Being made for another page of the same version: that one (after a write, the readers
      // who come at once would each make it; made once, it is also shared sooner).
      const making = this.making.get(where);
      if (making) return (await making) as T;
      const made = make();
      this.making.set(where, made);
      let v: T;
      try {
        v = await made;
      } finally {
        if (this.making.get(where) === made) this.making.delete(where);
      }
      if (version() === asked) {
        this.values.set(where, v);
        if (this.values.size > this.maxValues) this.values.delete(this.values.keys().next().value as string);
      }
      return v;
    };
    const bytes = (key: string, make: () => string): Buffer => {
      const ok = version() === asked;
      const hit = ok ? (this.hit(at(key)) as Buffer | undefined) : undefined;
      if (hit !== undefined) return hit;
      const made = Buffer.from(make(), 'utf8');
      if (ok) {
        this.misses++;
        this.keep(at(key), made);
      }
      return made;
    };
    return { fragment, large, value, bytes };
  }

  /** The piece kept under `key`, made the most recently used; undefined when none is. */
  private hit(key: string): string[] | Buffer[] | Buffer | undefined {
    const kept = this.kept.get(key);
    if (kept === undefined) return undefined;
    this.hits++;
    this.kept.delete(key);
    this.kept.set(key, kept);
    return kept;
  }

  private keep(key: string, parts: string[] | Buffer[] | Buffer) {
    const size = sizeOf(parts);
    if (size > this.maxChars / 16) return;
    this.kept.set(key, parts);
    this.size += size;
    for (const [k, v] of this.kept) {
      if (this.size <= this.maxChars) break;
      this.kept.delete(k);
      this.size -= sizeOf(v);
    }
  }

  stats(): { hits: number; misses: number; pieces: number; chars: number } {
    return { hits: this.hits, misses: this.misses, pieces: this.kept.size, chars: this.size };
  }
}

/** A kept piece's size: characters, or bytes. */
const sizeOf = (v: string[] | Buffer[] | Buffer) =>
  Buffer.isBuffer(v) ? v.length : (v as { length: number }[]).reduce((n, p) => n + p.length, 0);

/** What a large piece's key is kept under (apart from the same key's string piece). */
const LARGE = '\u0001';
/** Between a piece's version and its key. */
const VERSIONED = '\u0002';
