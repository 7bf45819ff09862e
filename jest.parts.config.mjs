/** `npm test`: the test files in parts (scripts/testParts.mjs), and those that run alone. */
import base from './jest.config.js';
import { ALONE } from './scripts/testParts.mjs';

export default {
  ...base,
  testMatch: ['<rootDir>/test/suites/part-*.mjs', ...[...ALONE.keys()].map((f) => `<rootDir>/${f}`)],
};
