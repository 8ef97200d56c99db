/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  // jose ships ESM only; let swc turn it into CommonJS for jest.
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  setupFiles: ['<rootDir>/test/helpers/env.ts'],
  testTimeout: 60_000,
  // One test file at a time: the end-to-end files each run a whole local stack whose embedded
  // speech engine must keep up with meetings played faster than real time; two at once on a
  // 2-core machine starve each other (docs/local-mode-speech.md).
  maxWorkers: 1,
  // A stray handle (a socket or child process a failed test left) must not hold CI until its time
  // limit: exit once every test file has finished.
  forceExit: true,
  reporters: ['default', '<rootDir>/test/helpers/summary-reporter.js'],
};
