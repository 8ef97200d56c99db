import { INTERIM_AUDIENCE_MAX, InterimAudience } from '../../core/pipeline/interim-audience';

describe('InterimAudience', () => {
  it('keeps a read for the lifetime given and no longer', () => {
    let now = 0;
    const audience = new InterimAudience<string[]>(1_000, () => now);
    audience.set('m', { subscribers: ['c1'], keywords: ['budget'] });
    now = 999;
    expect(audience.get('m')).toEqual(expect.objectContaining({ subscribers: ['c1'], keywords: ['budget'] }));
    now = 1_000;
    expect(audience.get('m')).toBeUndefined();
    expect(audience.size).toBe(0);
  });

  it('keeps at most INTERIM_AUDIENCE_MAX meetings, dropping the one read longest ago', () => {
    const audience = new InterimAudience<string[]>(60_000, () => 0);
    for (let i = 0; i <= INTERIM_AUDIENCE_MAX; i++) audience.set(`m${i}`, { subscribers: [], keywords: [] });
    expect(audience.size).toBe(INTERIM_AUDIENCE_MAX);
    expect(audience.get('m0')).toBeUndefined();
    expect(audience.get(`m${INTERIM_AUDIENCE_MAX}`)).toBeDefined();
  });
});
