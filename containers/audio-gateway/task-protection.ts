/**
 * The audio gateway's two conversations with ECS, both no-ops outside ECS (local mode):
 *
 * 1. Scale-in protection. While the task holds meetings it asks the ECS agent
 *    (`PUT $ECS_AGENT_URI/task-protection/v1/state`) to protect it, so autoscaling scales in an
 *    idle task instead of one that holds meetings. Protection is asked for PROTECTION_MINUTES and
 *    renewed every RENEW_EVERY_MS while sessions remain; it is dropped as soon as the task is
 *    idle. Protection also holds back deployments, so a busy task lets it lapse after
 *    MAX_CONTINUOUS_PROTECTION_MS for one renewal period: a waiting deployment or scale-in can
 *    then take the task, whose meetings are handed over (docs/operations.md). The agent calls
 *    the ECS API with the task role's credentials: the role has ecs:UpdateTaskProtection and
 *    ecs:GetTaskProtection on the cluster's tasks (lib/constructs/audio-gateway.ts).
 *
 * 2. Stopping. ECS sends SIGTERM only after the load balancer's deregistration delay, and the
 *    load balancer cuts the remaining sockets when that delay ends, so a graceful handover must
 *    start before SIGTERM. `watchTaskStopping` polls the task metadata endpoint
 *    (`$ECS_CONTAINER_METADATA_URI_V4/task`) and reports when the task's desired status becomes
 *    STOPPED, at the start of draining.
 */
import type { Logger } from '@aws-lambda-powertools/logger';

/** How long one protection request protects (the agent accepts 1 to 2,880 minutes). */
export const PROTECTION_MINUTES = 15;
/** Renewal period while the task holds meetings; well inside PROTECTION_MINUTES. */
export const RENEW_EVERY_MS = 5 * 60_000;
/** Longest continuous protection before one lapse (bounds how long a deployment waits). */
export const MAX_CONTINUOUS_PROTECTION_MS = 45 * 60_000;
/** Metadata poll period while watching for a stop. */
export const STOP_POLL_MS = 5_000;
/** One request to the agent or the metadata endpoint gives up after this long. */
const REQUEST_TIMEOUT_MS = 3_000;

export type TaskProtectionErrorCode = 'TASK_PROTECTION_REFUSED' | 'TASK_PROTECTION_UNAVAILABLE';

export class TaskProtectionError extends Error {
  override name = 'TaskProtectionError';
  constructor(
    readonly code: TaskProtectionErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ProtectionState {
  protectionEnabled: boolean;
  expirationDate?: string;
}

export interface TaskProtectionOptions {
  /** `ECS_AGENT_URI`; undefined turns every call into a no-op. */
  agentUri: string | undefined;
  sessionCount: () => number;
  logger: Pick<Logger, 'info' | 'warn'>;
  now?: () => number;
  renewEveryMs?: number;
  maxContinuousProtectionMs?: number;
  protectionMinutes?: number;
}

/** Keeps the ECS task protected exactly while it holds meetings (see the file comment). */
export class TaskProtection {
  readonly enabled: boolean;
  private protectedSince: number | undefined;
  private lastRequestAt = 0;
  private lapseUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: TaskProtectionOptions) {
    this.enabled = opts.agentUri !== undefined && opts.agentUri !== '';
    this.now = opts.now ?? Date.now;
  }

  static fromEnv(
    env: Record<string, string | undefined>,
    opts: Omit<TaskProtectionOptions, 'agentUri'>,
  ): TaskProtection {
    return new TaskProtection({ ...opts, agentUri: env.ECS_AGENT_URI });
  }

  /** Whether this process last asked for protection (and has not let it go). */
  get isProtected(): boolean {
    return this.protectedSince !== undefined;
  }

  /** Checks every `renewEveryMs / 5` (at least every minute); unref'd. */
  start(): void {
    if (!this.enabled || this.timer) return;
    const every = Math.min(60_000, Math.floor((this.opts.renewEveryMs ?? RENEW_EVERY_MS) / 5));
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
    void this.tick();
  }

  /** Stops checking and lets protection go (a stopping task must not hold anything up). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    if (this.isProtected) await this.apply(false);
  }

  /** One decision: protect, renew, unprotect or nothing. Never throws (failures are logged). */
  tick(): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    this.running ??= this.decide().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async decide(): Promise<void> {
    const now = this.now();
    const busy = this.opts.sessionCount() > 0;
    const cap = this.opts.maxContinuousProtectionMs ?? MAX_CONTINUOUS_PROTECTION_MS;
    const renewEvery = this.opts.renewEveryMs ?? RENEW_EVERY_MS;
    if (!busy || now < this.lapseUntil) {
      if (this.isProtected) await this.apply(false);
      return;
    }
    if (this.protectedSince !== undefined && now - this.protectedSince >= cap) {
      this.opts.logger.info('letting scale-in protection lapse once, so a waiting deployment can proceed', {
        protectedForMs: now - this.protectedSince,
      });
      this.lapseUntil = now + renewEvery;
      await this.apply(false);
      return;
    }
    if (!this.isProtected || now - this.lastRequestAt >= renewEvery) await this.apply(true);
  }

  private async apply(enabled: boolean): Promise<void> {
    try {
      const state = await this.request(enabled);
      this.lastRequestAt = this.now();
      if (enabled) this.protectedSince ??= this.lastRequestAt;
      else this.protectedSince = undefined;
      this.opts.logger.info(enabled ? 'task protected from scale-in' : 'task protection released', {
        expirationDate: state.expirationDate,
      });
    } catch (error) {
      // The task keeps serving; at worst autoscaling may pick it and its meetings move.
      this.opts.logger.warn('task scale-in protection request failed', {
        enabled,
        code: (error as TaskProtectionError).code,
        error: String(error),
      });
    }
  }

  /** `PUT /task-protection/v1/state` with the agent's request and response shapes. */
  async request(enabled: boolean): Promise<ProtectionState> {
    const body = enabled
      ? { ProtectionEnabled: true, ExpiresInMinutes: this.opts.protectionMinutes ?? PROTECTION_MINUTES }
      : { ProtectionEnabled: false };
    const json = await requestJson(`${this.opts.agentUri}/task-protection/v1/state`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return parseProtectionResponse(json);
  }
}

/** The agent answers `{ protection }`, `{ failure: { Reason, Detail } }` or `{ error: { Code, Message } }`. */
export function parseProtectionResponse(json: unknown): ProtectionState {
  const body = (json ?? {}) as {
    protection?: { ProtectionEnabled?: unknown; ExpirationDate?: unknown };
    failure?: { Reason?: unknown; Detail?: unknown };
    error?: { Code?: unknown; Message?: unknown };
  };
  if (body.protection && typeof body.protection.ProtectionEnabled === 'boolean') {
    return {
      protectionEnabled: body.protection.ProtectionEnabled,
      expirationDate:
        typeof body.protection.ExpirationDate === 'string' ? body.protection.ExpirationDate : undefined,
    };
  }
  if (body.failure) {
    throw new TaskProtectionError(
      'TASK_PROTECTION_REFUSED',
      `ECS refused task protection: ${String(body.failure.Reason)}${body.failure.Detail ? ` (${String(body.failure.Detail)})` : ''}`,
    );
  }
  if (body.error) {
    throw new TaskProtectionError(
      'TASK_PROTECTION_REFUSED',
      `ECS task protection error ${String(body.error.Code)}: ${String(body.error.Message)}`,
    );
  }
  throw new TaskProtectionError(
    'TASK_PROTECTION_UNAVAILABLE',
    'The ECS agent answered without a protection state',
  );
}

async function requestJson(url: string, init: RequestInit): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (error) {
    throw new TaskProtectionError('TASK_PROTECTION_UNAVAILABLE', `${url} unreachable: ${String(error)}`);
  }
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new TaskProtectionError(
      'TASK_PROTECTION_UNAVAILABLE',
      `${url} answered ${response.status} with a body that is not JSON`,
    );
  }
}

/**
 * Calls `onStopping` once when ECS starts stopping this task (desired status STOPPED in the
 * task metadata), or never outside ECS (`ECS_CONTAINER_METADATA_URI_V4` unset). Returns a
 * function that stops watching.
 */
export function watchTaskStopping(
  env: Record<string, string | undefined>,
  logger: Pick<Logger, 'info' | 'warn'>,
  onStopping: () => void,
  pollMs = STOP_POLL_MS,
): () => void {
  const metadataUri = env.ECS_CONTAINER_METADATA_URI_V4;
  if (!metadataUri) return () => undefined;
  let done = false;
  let failures = 0;
  const timer = setInterval(async () => {
    if (done) return;
    try {
      const task = (await requestJson(`${metadataUri}/task`, { method: 'GET' })) as {
        DesiredStatus?: unknown;
      };
      if (task.DesiredStatus === 'STOPPED' && !done) {
        done = true;
        clearInterval(timer);
        logger.info('ECS is stopping this task: handing meetings over before the load balancer drains');
        onStopping();
      }
    } catch (error) {
      // Logged once every 60 failures: SIGTERM remains the fallback.
      if (failures++ % 60 === 0) logger.warn('task metadata unavailable', { error: String(error) });
    }
  }, pollMs);
  timer.unref();
  return () => {
    done = true;
    clearInterval(timer);
  };
}
