import { DEFAULT_SPEECH_ENCODING, type SpeechEncoding } from './speech-encoding';

/**
 * How many meetings one audio gateway process takes, from its measured capacity
 * (`npm run bench:gateway`, docs/benchmarks.md "Audio gateway"). The container's MAX_SESSIONS
 * default and the CDK stack's task size, session limit and scaling target all come from here, so
 * a new measurement changes them in one place.
 */

/**
 * Concurrent Recall streams one core carries with the bench's targets met and under half of the
 * core used by the bench's gateway, on the development machine (one x86 core, quiet, gateway run
 * from its esbuild bundle as the container is): 300. Measured (docs/benchmarks.md "Audio gateway",
 * issue #15.1 third pass): at 400 streams wire-to-wire p99 4.3 ms, 1.43 ms CPU per stream-second
 * (1.18× the relay floor), 231 KB RSS per stream, i.e. 57 % of the core; 300 streams use ~43 %.
 * The rest of the core is the room for what the bench leaves out: publishing events to SQS,
 * polling DynamoDB, the recording archive (+0.5–0.6 ms per stream-second measured, chunk uploads
 * to S3) and ffmpeg assembling ended meetings' recordings.
 */
export const MEASURED_STREAMS_PER_CORE = 300;

/**
 * The same rule with DEEPGRAM_ENCODING=opus. With libopus's SILK encoder (VoIP application,
 * complexity 0) the gateway measured 6.49 ms of CPU per stream-second at 100 streams against 1.88
 * with linear16 in the same run (quiet machine, 2 Dec 2026): 60 streams a core. The encoder is
 * now CELT only (restricted low delay, complexity 3, 16 kb/s: DEFAULT_OPUS), about a third of
 * SILK's CPU (`npm run bench:encoding`), and the gateway with it measured 0.60× the SILK gateway's
 * CPU at 60 streams and 1.96× linear16's (`npm run bench:gateway -- --bundle --encoding opus
 * --compare HEAD --before-env DEEPGRAM_ENCODING=linear16`, 2 Dec 2026 20:30 UTC, a loaded
 * machine: ratios only): ≈ 3.8 ms per stream-second on the quiet machine's scale. 100 streams use
 * ≈ 38 % of the core (≈ 44 % with the recording archive), the margin PCM's 300 keep
 * (docs/benchmarks.md "Issue #15.5: the Opus encoder's CPU").
 */
export const MEASURED_OPUS_STREAMS_PER_CORE = 100;

/** Streams a core carries under the rule above, with the given encoding to Deepgram. */
export function streamsPerCore(encoding: SpeechEncoding = DEFAULT_SPEECH_ENCODING): number {
  return encoding === 'opus' ? MEASURED_OPUS_STREAMS_PER_CORE : MEASURED_STREAMS_PER_CORE;
}

/** Sessions a process with `vcpu` CPUs should take at most (MAX_SESSIONS). */
export function gatewayMaxSessions(vcpu: number, encoding: SpeechEncoding = DEFAULT_SPEECH_ENCODING): number {
  return Math.max(1, Math.floor(streamsPerCore(encoding) * vcpu));
}

/** MAX_SESSIONS when it is not set: a process with one core to itself, the default encoding. */
export const DEFAULT_MAX_SESSIONS = gatewayMaxSessions(1);

/**
 * Autoscaling tracks sessions per task at this share of MAX_SESSIONS: a new task takes a minute
 * or two to start, and the meetings that join meanwhile land on the running ones.
 */
export const SESSIONS_TARGET_SHARE = 0.6;

/**
 * The Fargate task the CDK stack runs the gateway in (ARM64): CPU units (1024 = one vCPU) and
 * memory. Its MAX_SESSIONS is gatewayMaxSessions(cpu / 1024) with the CDK's DEEPGRAM_ENCODING
 * (Opus): 25, and autoscaling tracks 15 sessions per task (with linear16 it was 75 and 45). A
 * quarter vCPU keeps the always-on task cheapest ($7 a month) at the same cost per meeting-hour as
 * a larger task (the price and the session limit both scale with the vCPU, bar the task's public
 * IPv4 address). 25 sessions cost ≈ 110 ms of CPU a second (≈ 3.8 ms per stream-second with
 * Opus, + ≈ 0.55 ms for the recording archive), 44 % of the quarter vCPU's quota. 512 MB holds them with
 * room to spare (≈ 0.7 MB each with the archive's open chunks, a few KB of WebAssembly memory for
 * each encoder, beside the ~70–110 MB idle process and one ffmpeg at a time).
 */
export const GATEWAY_TASK = { cpu: 256, memoryMiB: 512 } as const;
