/** Jest 30 + @swc/jest, ESM (see STACK.md). */
export default {
  roots: ['<rootDir>/test'],
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } },
    ],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testTimeout: 30000,
  // Three workers on two cores: most suites wait on disk, child processes or scrypt, not the CPU
  // (two workers left a third of the CPU idle: 1.5 cores busy over the run).
  maxWorkers: 3,
  globalSetup: '<rootDir>/test/setup/build.mjs',
};
