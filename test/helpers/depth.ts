/**
 * How thorough the randomised tests are. `npm test` is the quick pass a developer runs after each
 * change: property tests make a quarter of their runs (at least 10, or all when fewer), with a new seed each time, so
 * runs add up over a day's work. CI sets TEST_DEPTH=full (and CI_LONG=1 implies it): every run.
 * A failure prints its seed and path either way, so it can be replayed.
 */
export const FULL_DEPTH = process.env.TEST_DEPTH === 'full' || process.env.CI_LONG === '1';

/** The runs a property makes: `n` at full depth, a quarter of it otherwise. */
export function depth(n: number): number {
  return FULL_DEPTH ? n : Math.max(Math.min(n, 10), Math.ceil(n / 4));
}

/** fast-check's parameters for `n` runs at full depth. */
export function runs(n: number): { numRuns: number } {
  return { numRuns: depth(n) };
}
