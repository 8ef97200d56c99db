import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { loadBriefingConfig } from '../../core/briefing/config';
import { briefingEngineFactory } from '../../core/briefing/engines';
import { EMBEDDED_BRIEF_ENGINE } from '../../core/briefing/model';
import { fanoutMetricHooks, HOP_METRICS, MetricsRelease } from '../../core/pipeline/fanout-wiring';
import { FANOUT_METRICS } from '../../core/resources';

const logger = new Logger({ logLevel: 'ERROR' });

function recorder() {
  const added: [string, string, number][] = [];
  return {
    added,
    metrics: {
      addMetric: (name: string, unit: string, value: number) => {
        added.push([name, unit, value]);
      },
    },
  };
}

describe('fan-out metric hooks', () => {
  it('names each hop HopLatency<Hop> and reports only hops whose two ends are known', () => {
    // Prepare
    const { added, metrics } = recorder();
    const { onTiming } = fanoutMetricHooks(metrics);
    // Act
    onTiming({ audioEndAt: 1_000, resultAt: 1_300, publishedAt: 1_305, fanoutAt: 1_340 });
    // Assess
    expect(added).toEqual([
      [`${FANOUT_METRICS.hopLatencyPrefix}Speech`, 'Milliseconds', 300],
      [`${FANOUT_METRICS.hopLatencyPrefix}Gateway`, 'Milliseconds', 5],
      [`${FANOUT_METRICS.hopLatencyPrefix}Queue`, 'Milliseconds', 35],
    ]);
    expect(Object.values(HOP_METRICS)).toEqual([
      'HopLatencySpeech',
      'HopLatencyGateway',
      'HopLatencyQueue',
      'HopLatencyFanout',
      'HopLatencyTotal',
    ]);
  });

  it('counts a final and records its latency, and counts evicted subscribers', () => {
    const { added, metrics } = recorder();
    const hooks = fanoutMetricHooks(metrics);
    hooks.onFinal(42);
    hooks.onEvicted();
    expect(added).toEqual([
      [FANOUT_METRICS.finals, 'Count', 1],
      [FANOUT_METRICS.finalLatency, 'Milliseconds', 42],
      ['EvictedSubscribers', 'Count', 1],
    ]);
  });
});

describe('metrics release', () => {
  it('writes a record after each invocation with a final, holds interim-only ones up to a minute, and loses no value', () => {
    // Prepare: Powertools' Metrics as the handler builds it, its records caught on stdout.
    const records: Record<string, unknown>[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      const text = String(chunk).trim();
      if (text.startsWith('{"_aws"')) records.push(JSON.parse(text) as Record<string, unknown>);
      return true;
    });
    let now = 0;
    const metrics = new Metrics({ namespace: FANOUT_METRICS.namespace, serviceName: FANOUT_METRICS.service });
    const release = new MetricsRelease(metrics, 60_000, () => now);
    const invocation = (final: boolean) => {
      metrics.addMetric('Events', MetricUnit.Count, 1);
      if (final) release.sawFinal();
      release.afterInvocation();
      now += 1_000;
    };
    const events = () => records.map((r) => r.Events);

    try {
      // Act + Assess: the container's first invocation writes (nothing written for a minute).
      invocation(false);
      expect(events()).toEqual([1]);
      // Interim-only invocations are held…
      invocation(false);
      invocation(false);
      expect(records).toHaveLength(1);
      // …and go out with the next final's record, every value kept.
      invocation(true);
      expect(events()).toEqual([1, [1, 1, 1]]);
      // Without a final, a minute after the last record at the latest.
      for (let i = 0; i < 60; i++) invocation(false);
      expect(records).toHaveLength(3);
      expect(records.flatMap((r) => r.Events as number | number[])).toHaveLength(1 + 3 + 60);
    } finally {
      write.mockRestore();
    }
  });
});

describe('briefing engine factory', () => {
  it('builds the engine once, on first use, and the embedded one without an OpenAI key', async () => {
    const config = loadBriefingConfig({});
    const saved = process.env.OPENAI_API_KEY;
    delete process.env.OPENAI_API_KEY;
    try {
      const engine = briefingEngineFactory(config, logger);
      const first = await engine();
      expect(first.briefEngine).toBe(EMBEDDED_BRIEF_ENGINE);
      expect(await engine()).toBe(first);
    } finally {
      if (saved !== undefined) process.env.OPENAI_API_KEY = saved;
    }
  });

  it('builds an OpenAI engine when a key is set', async () => {
    const saved = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = 'sk-test-not-used';
    try {
      const engine = await briefingEngineFactory(loadBriefingConfig({}), logger)();
      expect(engine.briefEngine).not.toBe(EMBEDDED_BRIEF_ENGINE);
      expect(engine.constructor.name).toBe('OpenAiEngine');
    } finally {
      if (saved === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = saved;
    }
  });
});
