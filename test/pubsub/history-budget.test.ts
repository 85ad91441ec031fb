import { describe, expect, it } from 'vitest';
import { HistoryBudget, RESUME_HISTORY_TOTAL_BYTES } from '../../src/pubsub/groups.ts';

/** A group's kept results as `Group` keeps them: oldest first, dropped from the front. */
function group(budget: HistoryBudget, name: string) {
  const kept: { cursor: string; payload: string; result: null; dropped: boolean }[] = [];
  const drop = () => {
    const oldest = kept.shift();
    if (oldest) budget.release(oldest);
  };
  return {
    kept,
    drop,
    remember(n: number, bytes: number) {
      const entry = {
        cursor: `${name}${n}`,
        payload: 'x'.repeat(bytes),
        result: null,
        dropped: false,
      };
      kept.push(entry);
      budget.add(entry, drop);
    },
    cursors: () => kept.map((k) => k.cursor),
  };
}

describe('HistoryBudget: what all groups keep for resuming subscribers', () => {
  it('is 16 MiB by default', () => {
    expect(RESUME_HISTORY_TOTAL_BYTES).toBe(16 * 1024 * 1024);
    expect(new HistoryBudget().bytes).toBe(0);
  });

  it('takes back the oldest results of any group once past its bound', () => {
    const budget = new HistoryBudget(10);
    const a = group(budget, 'a');
    const b = group(budget, 'b');
    a.remember(1, 4);
    b.remember(1, 4);
    expect(budget.bytes).toBe(8);
    a.remember(2, 4);
    // a1 was the oldest of all.
    expect([a.cursors(), b.cursors(), budget.bytes]).toEqual([['a2'], ['b1'], 8]);
    b.remember(2, 4);
    expect([a.cursors(), b.cursors(), budget.bytes]).toEqual([['a2'], ['b2'], 8]);
  });

  it('counts a result once: one its group dropped itself (or closed) is not taken back again', () => {
    const budget = new HistoryBudget(10);
    const a = group(budget, 'a');
    const b = group(budget, 'b');
    a.remember(1, 4);
    a.remember(2, 4);
    a.drop(); // a's own bound, or its close
    expect(budget.bytes).toBe(4);
    b.remember(1, 4);
    b.remember(2, 4);
    // 12 > 10: a1 is already gone, so a2 (the oldest still counted) goes.
    expect([a.cursors(), b.cursors(), budget.bytes]).toEqual([[], ['b1', 'b2'], 8]);
  });

  it('stays bounded through many groups and results', () => {
    const budget = new HistoryBudget(1000);
    const groups = Array.from({ length: 50 }, (_, i) => group(budget, `g${i}-`));
    for (let n = 0; n < 200; n++) for (const g of groups) g.remember(n, 7);
    expect(budget.bytes).toBeLessThanOrEqual(1000);
    const kept = groups.reduce((sum, g) => sum + g.kept.length, 0);
    expect(kept * 7).toBe(budget.bytes);
    expect(kept).toBe(142);
  });
});
