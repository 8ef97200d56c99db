/**
 * `GET /health`: can this deployment reach what every request needs? One cheap call per
 * dependency (a GetItem of a key that never exists; GetQueueAttributes), each with its own
 * timeout. Errors are reported by name only, never with endpoints or account details.
 */
import type { Health } from './schemas';

export const HEALTH_TIMEOUT_MS = 2_000;

export interface HealthDeps {
  /** One cheap call per dependency (core/clients/probes.ts). */
  probes: { dynamodb: (signal: AbortSignal) => Promise<void>; sqs: (signal: AbortSignal) => Promise<void> };
  timeoutMs?: number;
}

type Check = Health['checks'][string];

async function timed(timeoutMs: number, run: (signal: AbortSignal) => Promise<unknown>): Promise<Check> {
  const started = performance.now();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    await run(controller.signal);
    return { status: 'ok', latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    const name = controller.signal.aborted ? 'Timeout' : ((error as Error)?.name ?? 'Error');
    return { status: 'error', latencyMs: Math.round(performance.now() - started), error: name };
  } finally {
    clearTimeout(timer);
  }
}

export async function checkHealth(deps: HealthDeps): Promise<{ healthy: boolean; body: Health }> {
  const timeoutMs = deps.timeoutMs ?? HEALTH_TIMEOUT_MS;
  const [dynamodb, sqs] = await Promise.all([
    timed(timeoutMs, deps.probes.dynamodb),
    timed(timeoutMs, deps.probes.sqs),
  ]);
  const checks = { dynamodb, sqs };
  const healthy = Object.values(checks).every((check) => check.status === 'ok');
  return {
    healthy,
    body: { status: healthy ? 'ok' : 'unavailable', checks, time: new Date().toISOString() },
  };
}
