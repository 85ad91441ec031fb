/**
 * bench/sizing.ts with tiny counts: it stores what it says, with igql's own key families, and
 * its figures are of the right order (a few hundred bytes to a few kilobytes an item). Redis's
 * allocations are not asserted exactly: they depend on its version and allocator.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { renderSizing, type SizingResult, sizing } from '../bench/sizing.ts';

const TINY = { accounts: 20, eventAccounts: 4, eventsPerAccount: 25, sends: 10, fullLog: true };

/** True when `bytes` is more than half of `length` and less than ten times it. */
const about = (bytes: number | undefined, length: number) =>
  bytes !== undefined && bytes > length / 2 && bytes < 10 * length;

describe('bench/sizing.ts', () => {
  let r: SizingResult;
  beforeAll(async () => {
    r = await sizing(TINY);
  }, 60_000);

  it('stores each item once, under its own key family', () => {
    expect(r.options).toEqual(TINY);
    expect(r.account.count).toBe(20);
    expect(r.event.count).toBe(100);
    expect(r.idempotencyRecord.count).toBe(10);
    // The full log's account is measured apart, after the families are counted.
    expect(r.families).toEqual({
      account: { keys: 20, bytes: expect.any(Number) },
      accounts: { keys: 1, bytes: expect.any(Number) },
      events: { keys: 4, bytes: expect.any(Number) },
      dedupe: { keys: 100, bytes: expect.any(Number) },
      idempotency: { keys: 10, bytes: expect.any(Number) },
    });
  });

  it('gives each item a cost of the order of what it holds', () => {
    // An account holds its sealed token (longer than the token) and a few short fields.
    expect(about(r.account.usedMemory, r.lengths.token * 2)).toBe(true);
    expect(about(r.account.memoryUsage, r.lengths.token * 2)).toBe(true);
    for (const figure of [r.event, r.streamEntry]) {
      expect(about(figure.usedMemory, r.lengths.event)).toBe(true);
      expect(about(figure.memoryUsage, r.lengths.event)).toBe(true);
    }
    // A dedupe key is its name (a SHA-256 in hex) and `done`, whatever the event.
    expect(about(r.dedupeKey.memoryUsage, 64)).toBe(true);
    expect(about(r.idempotencyRecord.usedMemory, r.lengths.record)).toBe(true);
    expect(about(r.idempotencyRecord.memoryUsage, r.lengths.record)).toBe(true);
  });

  it("fills one account's log to its length, trimmed by whole nodes", () => {
    const full = r.fullLog;
    expect(full?.maxLen).toBe(10_000);
    expect(full?.count).toBeGreaterThanOrEqual(10_000);
    expect(full?.count).toBeLessThan(10_100);
    expect(about(full?.usedMemory, r.lengths.event)).toBe(true);
    expect(r.streamEntry.usedMemory).toBe(full?.usedMemory);
    expect(r.worstCasePerAccount?.kept).toBeGreaterThan(10_000 * (r.lengths.event / 2));
    expect(r.worstCasePerAccount?.withDedupe).toBeGreaterThan(r.worstCasePerAccount?.kept ?? 0);
  });

  it('prints a Markdown table with a row per item', () => {
    const rows = renderSizing(r)
      .split('\n')
      .filter((line) => line.startsWith('| '))
      .map((line) => line.split('|')[1]?.trim());
    expect(rows).toEqual([
      'Item',
      '---',
      'account (hash + accounts set member)',
      'event (stream entry + dedupe key)',
      '… its stream entry',
      '… its dedupe key',
      'idempotency record (a completed send)',
      "one account's full log, per entry",
    ]);
  });
});
