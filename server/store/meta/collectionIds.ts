import type { Snapshot } from './snapshotFile.js';
import { isArrayIndex } from './secondaryIndexes.js';

/** Numeric ids below this are kept as bits (`IdBits`: 32 MB at most); a kind with one above is listed at a snapshot. */
export const BITS_UP_TO = 2 ** 28;

/** Which numeric ids a collection holds, a bit each. */
class IdBits {
  private bits = new Uint8Array(0);

  set(id: number, on: boolean): void {
    const byte = id >>> 3;
    if (byte >= this.bits.length) {
      if (!on) return;
      const grown = new Uint8Array(Math.max(byte + 1, this.bits.length * 2, 1024));
      grown.set(this.bits);
      this.bits = grown;
    }
    if (on) this.bits[byte] |= 1 << (id & 7);
    else this.bits[byte] &= ~(1 << (id & 7));
  }

  /** A copy of the bits of the ids up to `upTo`. */
  copy(upTo: number): Uint8Array {
    return this.bits.slice(0, (upTo >>> 3) + 1);
  }
}

/** The ids whose bits are set, ascending. */
export function* idsIn(bits: Uint8Array): Generator<string> {
  for (let byte = 0; byte < bits.length; byte++) {
    const b = bits[byte];
    if (b) for (let i = 0; i < 8; i++) if (b & (1 << i)) yield String(byte * 8 + i);
  }
}

/**
 * The ids of each collection, known without listing its keys: the numeric ids as bits, the
 * largest, and the other ids (slugs, hashes) in the order first stored. A snapshot walks the
 * numeric ids along a copy of the bits taken when it begins — no list of keys made at once
 * (`Object.entries` of the messages at ten years held the event loop 1.5 s; at thirty years the
 * list of the 104,000 messages left in memory after the drain, most ids being of cold ones, held
 * it 72 ms at each snapshot).
 */
export class CollectionIds {
  private readonly byKind = new Map<string, { maxIndex: number; bits: IdBits; beyond: boolean; others: Set<string> }>();

  private of(kind: string) {
    let k = this.byKind.get(kind);
    if (!k) this.byKind.set(kind, (k = { maxIndex: -1, bits: new IdBits(), beyond: false, others: new Set() }));
    return k;
  }

  /** A record stored under a new id. */
  add(kind: string, id: string): void {
    const k = this.of(kind);
    if (isArrayIndex(id)) {
      const n = Number(id);
      k.maxIndex = Math.max(k.maxIndex, n);
      if (n < BITS_UP_TO) k.bits.set(n, true);
      else k.beyond = true;
    } else k.others.add(id);
  }

  /** A record's id deleted. */
  del(kind: string, id: string): void {
    const k = this.of(kind);
    if (isArrayIndex(id)) {
      const n = Number(id);
      if (n < BITS_UP_TO) k.bits.set(n, false);
    } else k.others.delete(id);
  }

  /** The largest numeric id a record of `kind` has had (-1 for none). */
  maxIndexOf(kind: string): number {
    return this.byKind.get(kind)?.maxIndex ?? -1;
  }

  /** The ids of `kind` that are not numeric, in the order first stored. */
  othersOf(kind: string): ReadonlySet<string> {
    return this.byKind.get(kind)?.others ?? new Set();
  }

  /**
   * How to walk each collection's ids as they are now: the numeric ids, as a copy of their bits
   * (a list of them for a kind with an id beyond `BITS_UP_TO`), then the others, copied.
   */
  plan(collections: Snapshot['collections']): { kind: string; numeric: Uint8Array | string[]; others: string[] }[] {
    return [...this.byKind].map(([kind, k]) => ({
      kind,
      numeric: k.beyond ? Object.keys(collections[kind] ?? {}).filter(isArrayIndex) : k.bits.copy(k.maxIndex),
      others: [...k.others],
    }));
  }
}
