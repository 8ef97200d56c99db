import { parseListenParams } from '../../local/speech-server';

describe('the local speech server’s listen parameters', () => {
  it('keeps every Deepgram tag of a stream, so a file job’s `job-<id>` tag picks the throughput decoder', () => {
    const parsed = parseListenParams(new URLSearchParams('model=nova-3&tag=job-42&tag=other&tag='));
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(parsed.params.tags).toEqual(['job-42', 'other']);
  });

  it('has no tags when none are given', () => {
    const parsed = parseListenParams(new URLSearchParams('model=nova-3'));
    expect(parsed.ok && parsed.params.tags).toEqual([]);
  });
});
