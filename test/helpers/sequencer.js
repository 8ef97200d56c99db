// Longest test files first, also on a fresh clone. Jest orders files by the durations it cached
// in the last run on this machine; without that cache (CI's fresh clone) it ran them in an order
// that could start file-jobs (3+ minutes) last, with the other worker idle while it ran. Files
// jest has no time for get the estimate below (seconds, measured on the 2-core machine in full
// parallel runs; only their order matters; from suite3's full run, 3 Dec 2026), others count as
// 1 s. Failed files still go first.
const Sequencer = require('@jest/test-sequencer').default;
const path = require('node:path');

/** Path under test/ → estimated seconds. Keep the heavy ones; a missing file only runs later. */
const ESTIMATES = {
  'e2e/file-jobs.test.ts': 182,
  'e2e/gateway-fault-matrix.test.ts': 95,
  'e2e/web-console.test.ts': 85,
  'integration/speech-encoding.test.ts': 50,
  'e2e/web-jobs.test.ts': 47,
  'e2e/gateway-crash-recovery.test.ts': 37,
  'e2e/meeting-intelligence.test.ts': 36,
  'e2e/microphone.test.ts': 35,
  'e2e/web-microphone-hold.test.ts': 29,
  'e2e/audio-gateway-resilience.test.ts': 27,
  'e2e/web-microphone.test.ts': 27,
  'e2e/recall-fuzz.test.ts': 26,
  'integration/rest-api.test.ts': 26,
  'integration/sqs-event-source.test.ts': 25,
  'integration/opus-gateway.test.ts': 23,
  'e2e/live-meeting.test.ts': 23,
  'integration/local-recordings.test.ts': 22,
  'unit/cdk-stack.test.ts': 21,
  'e2e/file-jobs-multipart.test.ts': 21,
  'unit/lambda-bundles.test.ts': 20,
  'e2e/fuzz.test.ts': 20,
  'integration/file-worker.test.ts': 19,
  'integration/speech-server.test.ts': 18,
  'unit/cost.test.ts': 16,
  'e2e/realtime-robustness.test.ts': 15,
  'unit/cdk-variants.test.ts': 14,
  'e2e/web-long-meeting.test.ts': 13,
  'integration/local-sqs-receive.test.ts': 13,
  'e2e/fanout-faults.test.ts': 10,
  'integration/rest-ai.test.ts': 10,
  'integration/rolling-briefing-push.test.ts': 9,
  'integration/local-stack.test.ts': 8,
  'integration/audio-gateway-faults.test.ts': 6,
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
