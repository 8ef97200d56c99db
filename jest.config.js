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
  // Two test files at a time on CI's 2 cores. The end-to-end files run whole local stacks whose
  // embedded speech engine then gets about one core: they wait for conditions (a lagging engine
  // makes them slower, never wrong), and the speech flush at a meeting's end waits while the
  // engine is still catching up (core/audio/meeting-session.ts SPEECH_FLUSH_*).
  maxWorkers: 2,
  // A stray handle (a socket or child process a failed test left) must not hold CI until its time
  // limit: exit once every test file has finished.
  forceExit: true,
  reporters: ['default', '<rootDir>/test/helpers/summary-reporter.js'],
  // Longest files first even without jest's cache of last run's durations (a fresh CI clone).
  testSequencer: '<rootDir>/test/helpers/sequencer.js',
};
