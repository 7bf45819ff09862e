import type { Snapshot } from './snapshotFile.js';
import { isArrayIndex } from './secondaryIndexes.js';

/**
 * The ids of each collection, known without listing its keys: the largest numeric id and how
 * many there are, and the other ids (slugs, hashes) in the order first stored. A snapshot walks
 * numeric ids by counting up to the largest — no list of 1.5 million keys made at once
 * (`Object.entries` of the messages at ten years held the event loop 1.5 s).
 */
export class CollectionIds {
  private readonly byKind = new Map<string, { maxIndex: number; indexes: number; others: Set<string> }>();

  private of(kind: string) {
    let k = this.byKind.get(kind);
    if (!k) this.byKind.set(kind, (k = { maxIndex: -1, indexes: 0, others: new Set() }));
    return k;
  }

  /** A record stored under a new id. */
  add(kind: string, id: string): void {
    const k = this.of(kind);
    if (isArrayIndex(id)) {
      k.indexes++;
      k.maxIndex = Math.max(k.maxIndex, Number(id));
    } else k.others.add(id);
  }

  /** A record's id deleted. */
  del(kind: string, id: string): void {
    const k = this.of(kind);
    if (isArrayIndex(id)) k.indexes--;
    else k.others.delete(id);
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
   * How to walk each collection's ids as they are now: numeric ids by counting up to the largest
   * (or, when they are sparse, a list of them), then the others, copied.
   */
  plan(
    collections: Snapshot['collections'],
  ): { kind: string; upTo: number; numeric: string[] | null; others: string[] }[] {
    return [...this.byKind].map(([kind, k]) => {
      const sparse = k.maxIndex + 1 > 2 * k.indexes + 1024;
      return {
        kind,
        upTo: sparse ? -1 : k.maxIndex,
        numeric: sparse ? Object.keys(collections[kind] ?? {}).filter(isArrayIndex) : null,
        others: [...k.others],
      };
    });
  }
}
