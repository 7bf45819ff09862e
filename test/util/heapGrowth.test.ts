/**
 * The server's heap growth (server/heapGrowth.ts): set to 1.5× unless the operator gave their
 * own on the command line or in NODE_OPTIONS, in either spelling V8 reads.
 */
import { expect, test } from '@jest/globals';
import { HEAP_GROWING_PERCENT, heapGrowthFlag } from '../../server/heapGrowth.js';

test('the flag is set when none is given, and an operator’s own wins', () => {
  const ours = `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
  expect(heapGrowthFlag([])).toBe(ours);
  expect(heapGrowthFlag(['--enable-source-maps'], '--max-old-space-size=512')).toBe(ours);
  // Another flag that merely begins alike is not theirs.
  expect(heapGrowthFlag(['--heap-growing-percentage=9'])).toBe(ours);
  expect(heapGrowthFlag(['--heap-growing-percent=20'])).toBeNull();
  expect(heapGrowthFlag([], '--enable-source-maps --heap_growing_percent=100')).toBeNull();
  expect(heapGrowthFlag(['--heap-growing-percent', '20'])).toBeNull();
});
