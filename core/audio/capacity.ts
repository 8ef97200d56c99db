/**
 * How many meetings one audio gateway process takes, from its measured capacity
 * (`npm run bench:gateway`, docs/benchmarks.md "Audio gateway ingest"). The container's
 * MAX_SESSIONS default and the CDK stack's task size, session limit and scaling target all come
 * from here, so a new measurement changes them in one place.
 */

/**
 * Concurrent Recall streams one core carries with the bench's targets met (wire-to-wire p99
 * added delay ≤ 20 ms, nothing lost), on the development machine (x86, one AMD EPYC core).
 */
export const MEASURED_STREAMS_PER_CORE = 400;

/**
 * Share of the measured capacity a task is given. The bench leaves out work a real task does:
 * publishing events to SQS, polling DynamoDB for commands, writing recordings to S3 and
 * assembling them with ffmpeg at each meeting's end (a child process in the same task), and the
 * speech engine's fuller results; and a Fargate vCPU is not the bench's core.
 */
export const PRODUCTION_SHARE = 0.5;

/** Sessions a process with `vcpu` CPUs should take at most (MAX_SESSIONS). */
export function gatewayMaxSessions(vcpu: number): number {
  return Math.max(1, Math.floor(MEASURED_STREAMS_PER_CORE * PRODUCTION_SHARE * vcpu));
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
 * memory. Its MAX_SESSIONS is gatewayMaxSessions(cpu / 1024).
 */
export const GATEWAY_TASK = { cpu: 256, memoryMiB: 512 } as const;
