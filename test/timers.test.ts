import { describe, expect, it } from 'vitest';
import { atTime } from '../src/timers.ts';

describe('atTime', () => {
  it('waits for a time past what one Node timer can hold (24.8 days) instead of firing at once', async () => {
    let fired = 0;
    const cancel = atTime(Date.now() + 30 * 24 * 3_600_000, () => fired++);
    await new Promise((resolve) => setTimeout(resolve, 50));
    cancel();
    expect(fired).toBe(0);
  });

  it('fires at a near time, and not after being cancelled', async () => {
    let fired = 0;
    atTime(Date.now() + 20, () => fired++);
    const cancel = atTime(Date.now() + 20, () => fired++);
    cancel();
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(fired).toBe(1);
  });
});
