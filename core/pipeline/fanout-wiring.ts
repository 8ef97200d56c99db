/**
 * What the fan-out Lambda (lambdas/fanout/handler.ts) builds besides its repositories: the
 * metric hooks of core/pipeline/transcript-fanout.ts and the rolling briefings. Kept here so the
 * handler stays thin and builds nothing costly at cold start: metric names are fixed once, and
 * the briefing engine (the OpenAI client, or the embedded engine) is built, and its modules
 * loaded, on the first briefing that is due (core/briefing/engines.ts).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { loadBriefingConfig } from '../briefing/config';
import { briefingEngineFactory } from '../briefing/engines';
import { RollingBriefings } from '../briefing/rolling-briefings';
import { RollingBriefingRepository } from '../briefing/rolling-repository';
import type { MeetingRepository } from '../meetings/repository';
import { FANOUT_METRICS } from '../resources';
import type { SegmentRepository } from '../transcript/segment-repository';
import type { SegmentTiming } from './events';
import { type Hops, hops } from './segment-timing';

/** `HopLatency<Hop>` of each hop the fan-out reports (FANOUT_METRICS in core/resources.ts). */
export const HOP_METRICS: Readonly<Partial<Record<keyof Hops, string>>> = {
  speechMs: `${FANOUT_METRICS.hopLatencyPrefix}Speech`,
  gatewayMs: `${FANOUT_METRICS.hopLatencyPrefix}Gateway`,
  queueMs: `${FANOUT_METRICS.hopLatencyPrefix}Queue`,
  fanoutMs: `${FANOUT_METRICS.hopLatencyPrefix}Fanout`,
  totalMs: `${FANOUT_METRICS.hopLatencyPrefix}Total`,
};

export interface FanoutMetricHooks {
  count: (metric: string) => void;
  /** A subscriber that kept failing was closed. */
  onEvicted: () => void;
  /** Per-hop latency (audio end → speech result → published → taken → sent) of each transcript event. */
  onTiming: (timing: SegmentTiming) => void;
  /** The dashboard's golden signals: finals/s and produced → delivered latency. */
  onFinal: (latencyMs: number) => void;
}

/** What the hooks need of Powertools' `Metrics`. */
export interface MetricSink {
  addMetric(name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number): unknown;
}

export function fanoutMetricHooks(metrics: MetricSink): FanoutMetricHooks {
  const count = (metric: string) => metrics.addMetric(metric, MetricUnit.Count, 1);
  return {
    count,
    onEvicted: () => count('EvictedSubscribers'),
    onTiming: (timing) => {
      for (const [hop, value] of Object.entries(hops(timing)) as [keyof Hops, number][]) {
        const name = HOP_METRICS[hop];
        if (name) metrics.addMetric(name, MetricUnit.Milliseconds, value);
      }
    },
    onFinal: (latencyMs) => {
      count(FANOUT_METRICS.finals);
      metrics.addMetric(FANOUT_METRICS.finalLatency, MetricUnit.Milliseconds, latencyMs);
    },
  };
}

/** The longest the fan-out holds back the metrics of invocations that handled no final. */
export const METRICS_HOLD_MS = 60_000;

/**
 * When the fan-out writes its stored metrics (one CloudWatch embedded-metric log record, ~400 B
 * with the hop latencies): after every invocation that handled a final, else at most once a
 * `METRICS_HOLD_MS` — the values of interim-only invocations (their event count and hop
 * latencies) wait in the container and go out in its next record. So most interims cost no log
 * record of their own, only Lambda's START/END/REPORT lines (docs/operations.md). A container
 * that is reclaimed while holding values loses at most a minute of interims' samples.
 */
export class MetricsRelease {
  private lastAt = Number.NEGATIVE_INFINITY;
  private finals = 0;

  constructor(
    private readonly metrics: { publishStoredMetrics(): void },
    private readonly holdMs = METRICS_HOLD_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** A final was handled in this invocation. */
  sawFinal(): void {
    this.finals++;
  }

  /** At the end of an invocation: writes the stored metrics when due. */
  afterInvocation(): void {
    const now = this.now();
    const due = this.finals > 0 || now - this.lastAt >= this.holdMs;
    this.finals = 0;
    if (!due) return;
    this.metrics.publishStoredMetrics();
    this.lastAt = now;
  }
}

/** The rolling briefings of the fan-out, with the engine chosen and built on first use. */
export function fanoutRollingBriefings(deps: {
  segments: Pick<SegmentRepository, 'all'>;
  meetings: Pick<MeetingRepository, 'get'>;
  logger: Logger;
}): RollingBriefings {
  return new RollingBriefings({
    repo: new RollingBriefingRepository(),
    segments: deps.segments,
    meetings: deps.meetings,
    engine: briefingEngineFactory(loadBriefingConfig(), deps.logger),
    logger: deps.logger,
  });
}
