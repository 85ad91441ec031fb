import { describe, expect, it } from 'vitest';
import { isoTime } from '../../src/schema/iso-time.ts';

describe('isoTime', () => {
  it('writes what toISOString writes, at the edges of days, months, leap years and its range', () => {
    const edges = [
      0,
      1,
      999,
      86_399_999,
      Date.UTC(2000, 1, 29, 23, 59, 59, 999),
      Date.UTC(2000, 2, 1),
      Date.UTC(2100, 1, 28, 12),
      Date.UTC(2100, 2, 1),
      Date.UTC(2024, 11, 31, 23, 59, 59, 9),
      Date.UTC(2026, 10, 25, 8, 30, 0, 0),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    ];
    for (const ms of edges) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    expect(isoTime(Date.UTC(2026, 10, 25, 8, 30))).toBe('2026-11-25T08:30:00.000Z');
  });

  it('agrees with toISOString on 100,000 times spread over 1970 to 9999', () => {
    let seed = 42;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    for (let i = 0; i < 100_000; i++) {
      const ms = Math.floor(next() * 253_402_300_800_000);
      expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    }
  });

  it('hands times outside 1970 to 9999 to toISOString, and refuses an invalid time as it does', () => {
    for (const ms of [-1, Date.UTC(1969, 6, 20, 20, 17), Date.UTC(10000, 0, 1), 8.64e15]) {
      expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    }
    expect(isoTime(Date.UTC(1969, 6, 20, 20, 17))).toBe('1969-07-20T20:17:00.000Z');
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
  });
});
