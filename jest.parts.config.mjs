/** `npm test` (and `test:quick`, TEST_TIER=quick): the test files in parts (scripts/testParts.mjs), and those that run alone. */
import base from './jest.config.js';
import { aloneFiles } from './scripts/testParts.mjs';

export default {
  ...base,
  testMatch: ['<rootDir>/test/suites/part-*.mjs', ...aloneFiles().map((f) => `<rootDir>/${f}`)],
};
