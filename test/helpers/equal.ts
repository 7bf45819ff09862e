/**
 * `expect(got).toEqual(want)` for checks made thousands of times in one test (a property's model
 * compared after every step): node's `isDeepStrictEqual` first, which is stricter than `toEqual`
 * and many times cheaper; only when it finds a difference does jest's `toEqual` judge (it ignores
 * properties set to `undefined`, say) and, if it fails, print its diff. The verdict is `toEqual`'s.
 */
import { expect } from '@jest/globals';
import { isDeepStrictEqual } from 'node:util';

export function expectEqual(got: unknown, want: unknown): void {
  if (!isDeepStrictEqual(got, want)) expect(got).toEqual(want);
}
