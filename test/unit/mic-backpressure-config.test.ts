import { MIC_LIMITS } from '../../core/audio/chunk-protocol';
import { loadMicBackpressure } from '../../core/audio/live-audio';

describe('the microphone backpressure configuration', () => {
  it('defaults to the documented hold and resume thresholds', () => {
    expect(loadMicBackpressure({})).toEqual({
      holdAtMs: MIC_LIMITS.holdAtMs,
      resumeAtMs: MIC_LIMITS.resumeAtMs,
    });
  });

  it('takes MIC_HOLD_AT_MS and MIC_RESUME_AT_MS, and a resume below a lowered hold by default', () => {
    expect(loadMicBackpressure({ MIC_HOLD_AT_MS: '4000', MIC_RESUME_AT_MS: '1000' })).toEqual({
      holdAtMs: 4_000,
      resumeAtMs: 1_000,
    });
    expect(loadMicBackpressure({ MIC_HOLD_AT_MS: '4000' })).toEqual({ holdAtMs: 4_000, resumeAtMs: 2_000 });
  });

  it('refuses a resume at or above the hold, and a hold outside 1 s … the 4429 limit, naming the variable', () => {
    expect(() => loadMicBackpressure({ MIC_HOLD_AT_MS: '4000', MIC_RESUME_AT_MS: '4000' })).toThrow(
      /MIC_RESUME_AT_MS environment variable must be below MIC_HOLD_AT_MS/,
    );
    expect(() => loadMicBackpressure({ MIC_HOLD_AT_MS: '500' })).toThrow(/MIC_HOLD_AT_MS/);
    expect(() => loadMicBackpressure({ MIC_HOLD_AT_MS: String(MIC_LIMITS.maxPendingMs) })).toThrow(
      /MIC_HOLD_AT_MS/,
    );
    expect(() => loadMicBackpressure({ MIC_HOLD_AT_MS: 'soon' })).toThrow(/non-negative integer/);
  });
});
