/**
 * How many meetings one audio gateway process takes, from its measured capacity
 * (`npm run bench:gateway`, docs/benchmarks.md "Audio gateway"). The container's MAX_SESSIONS
 * default and the CDK stack's task size, session limit and scaling target all come from here, so
 * a new measurement changes them in one place.
 */

/**
 * Concurrent Recall streams one core has been measured to carry with the bench's delay target
 * met (wire-to-wire p99 added delay ≤ 20 ms, nothing lost) on the development machine (one x86
 * AMD EPYC core, quiet machine): 200, at under half of the core. The rest of the core is the room
 * for what the bench leaves out (publishing events to SQS, polling DynamoDB, writing recordings
 * to S3 and assembling them with ffmpeg, the speech engine's fuller results). Issue #15 asks for
 * 400; the runs that would show it were made on an overloaded machine and could not judge delay.
 */
export const MEASURED_STREAMS_PER_CORE = 200;

/** Sessions a process with `vcpu` CPUs should take at most (MAX_SESSIONS). */
export function gatewayMaxSessions(vcpu: number): number {
  return Math.max(1, Math.floor(MEASURED_STREAMS_PER_CORE * vcpu));
}

/** MAX_SESSIONS when it is not set: a process with one core to itself. */
export const DEFAULT_MAX_SESSIONS = gatewayMaxSessions(1);

/**
 * Autoscaling tracks sessions per task at this share of MAX_SESSIONS: a new task takes a minute
 * or two to start, and the meetings that join meanwhile land on the running ones.
 */
export const SESSIONS_TARGET_SHARE = 0.6;

/**
 * The Fargate task the CDK stack runs the gateway in (ARM64): CPU units (1024 = one vCPU) and
 * memory. Its MAX_SESSIONS is gatewayMaxSessions(cpu / 1024) = 50. A quarter vCPU keeps the
 * always-on task cheapest ($7 a month) at the same cost per meeting-hour as a larger task (the
 * price and the session limit both scale with the vCPU); 512 MB holds 50 sessions (≈ 0.25 MB
 * each in the bench, ≈ 0.85 MB each with the recording archive's open chunks nearly full) beside
 * the ~110 MB idle process.
 */
export const GATEWAY_TASK = { cpu: 256, memoryMiB: 512 } as const;
