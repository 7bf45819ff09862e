import { diffArrays } from 'diff';

/**
 * Provenance of prose ("blame" for paragraphs): for each paragraph of a version, the version
 * that last changed it. A paragraph is named by a key of its exact text; from one version to
 * the next, a paragraph the diff keeps keeps its origin, and one it adds (new or reworded) takes
 * the new version's number. Version 1's paragraphs all come from version 1.
 */
export interface Provenance {
  /** The key of each numbered paragraph, in order (paragraph N is index N−1). */
  keys: string[];
  /** The version that last changed each paragraph. */
  origins: number[];
}

/** The provenance of `version` (paragraph keys `keys`) from that of the version before it (or none: the first). */
export function carryOrigins(before: Provenance | null, keys: string[], version: number): Provenance {
  if (!before) return { keys, origins: keys.map(() => version) };
  const origins: number[] = [];
  let i = 0;
  for (const part of diffArrays(before.keys, keys)) {
    if (part.removed) {
      i += part.value.length;
      continue;
    }
    for (let k = 0; k < part.value.length; k++) origins.push(part.added ? version : before.origins[i++]);
  }
  return { keys, origins };
}
