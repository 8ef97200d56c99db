import type { Hops } from '../../../core/pipeline/segment-timing';
import type { LatencyReading } from '../meeting-store';

const HOPS: readonly [keyof Hops, string][] = [
  ['speechMs', 'Speech'],
  ['gatewayMs', 'Gateway'],
  ['queueMs', 'Queue'],
  ['fanoutMs', 'Fan-out'],
  ['deliveryMs', 'To you'],
];

/** Live per-hop latency of the newest transcript line (docs/protocol.md "Latency"). */
export function LatencyMeter({ latency }: { latency: LatencyReading | undefined }) {
  const total =
    latency?.hops.totalMs !== undefined && latency.hops.deliveryMs !== undefined
      ? latency.hops.totalMs + latency.hops.deliveryMs
      : undefined;
  return (
    <section class="panel latency" aria-labelledby="latency-heading">
      <h2 id="latency-heading">Latency</h2>
      {latency === undefined ? (
        <p>No live line yet.</p>
      ) : (
        <>
          <dl class="latency-hops" aria-label="Per-hop latency of the newest line">
            {HOPS.filter(([hop]) => latency.hops[hop] !== undefined).map(([hop, label]) => (
              <div key={hop}>
                <dt>{label}</dt>
                <dd>{Math.max(0, latency.hops[hop] as number)} ms</dd>
              </div>
            ))}
          </dl>
          {total !== undefined && (
            <p class="meta">
              Spoken → shown: <strong>{total} ms</strong> ({latency.isFinal ? 'final' : 'interim'})
            </p>
          )}
        </>
      )}
    </section>
  );
}
