import { RequestDeadlines } from '../../core/clients/request-deadlines';

describe('RequestDeadlines', () => {
  it('expires only the requests past their deadline, oldest first, each once', () => {
    // Prepare
    let now = 1_000;
    const expired: string[] = [];
    const deadlines = new RequestDeadlines<{ id: string }>(
      5_000,
      (r) => expired.push(r.id),
      () => now,
    );
    const a = { id: 'a' };
    const b = { id: 'b' };
    const c = { id: 'c' };
    deadlines.start(a);
    now = 2_000;
    deadlines.start(b);
    deadlines.start(c);
    deadlines.end(c); // answered in time

    // Act
    now = 6_000;
    deadlines.check();
    const atSix = [...expired];
    now = 7_000;
    deadlines.check();
    deadlines.check();

    // Assess
    expect(atSix).toEqual(['a']);
    expect(expired).toEqual(['a', 'b']);
    expect(deadlines.size).toBe(0);
  });

  it('holds no timer while nothing is open, so an idle process can exit', () => {
    const deadlines = new RequestDeadlines<object>(5_000, () => undefined);
    const r = {};
    deadlines.start(r);
    expect((deadlines as unknown as { timer?: unknown }).timer).toBeDefined();
    deadlines.end(r);
    deadlines.end(r);
    expect((deadlines as unknown as { timer?: unknown }).timer).toBeUndefined();
  });
});
