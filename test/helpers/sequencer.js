// Longest test files first, also on a fresh clone. Jest orders files by the durations it cached
// in the last run on this machine; without that cache (CI's fresh clone) it ran them in an order
// that could start file-jobs (3+ minutes) last, with the other worker idle while it ran. Files
// jest has no time for get the estimate below (seconds, measured on the 2-core machine in full
// parallel runs; only their order matters), others count as 1 s. Failed files still go first.
const Sequencer = require('@jest/test-sequencer').default;
const path = require('node:path');

/** Path under test/ → estimated seconds. Keep the heavy ones; a missing file only runs later. */
const ESTIMATES = {
  'e2e/file-jobs.test.ts': 190,
  'e2e/gateway-fault-matrix.test.ts': 107,
  'e2e/web-console.test.ts': 90,
  'e2e/web-jobs.test.ts': 62,
  'integration/speech-encoding.test.ts': 50,
  'e2e/audio-gateway-resilience.test.ts': 43,
  'e2e/meeting-intelligence.test.ts': 42,
  'e2e/microphone.test.ts': 40,
  'e2e/gateway-crash-recovery.test.ts': 38,
  'integration/opus-gateway.test.ts': 35,
  'e2e/web-microphone-hold.test.ts': 34,
  'unit/lambda-bundles.test.ts': 32,
  'e2e/live-meeting.test.ts': 30,
  'integration/sqs-event-source.test.ts': 26,
  'e2e/web-microphone.test.ts': 26,
  'e2e/recall-fuzz.test.ts': 26,
  'e2e/fuzz.test.ts': 24,
  'integration/rest-api.test.ts': 23,
  'integration/local-sqs-receive.test.ts': 22,
  'e2e/realtime-robustness.test.ts': 21,
  'integration/local-recordings.test.ts': 21,
  'e2e/file-jobs-multipart.test.ts': 21,
  'integration/file-worker.test.ts': 20,
  'integration/speech-server.test.ts': 19,
  'unit/cdk-stack.test.ts': 16,
  'unit/cost.test.ts': 13,
  'unit/cdk-variants.test.ts': 12,
  'e2e/web-long-meeting.test.ts': 12,
  'integration/audio-gateway-faults.test.ts': 9,
  'e2e/fanout-faults.test.ts': 9,
  'integration/local-stack.test.ts': 9,
};

class LongestFirst extends Sequencer {
  sort(tests) {
    const ms = (test) => {
      const cached = this.time(test);
      if (cached != null) return cached;
      const under = path
        .relative(path.join(test.context.config.rootDir, 'test'), test.path)
        .split(path.sep)
        .join('/');
      return (ESTIMATES[under] ?? 1) * 1000;
    };
    const keyed = tests.map((test) => ({ test, failed: this.hasFailed(test), ms: ms(test) }));
    keyed.sort((a, b) => (a.failed !== b.failed ? (a.failed ? -1 : 1) : b.ms - a.ms));
    return keyed.map((k) => k.test);
  }
}

module.exports = LongestFirst;
