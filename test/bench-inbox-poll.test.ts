/**
 * bench/inbox-poll.ts at a tiny size (3 agents for 3 s, a message every second): it runs end to
 * end on two igql instances and counts what it can know exactly. Its timings, and how many polls
 * Instagram's limit lets through, are never asserted.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type InboxPollResult, inboxPoll, renderInboxPoll } from '../bench/inbox-poll.ts';

const TINY = { seconds: 3, agents: 3, pollMs: 1000, messageEveryMs: 1000, conversations: 2 };

describe('bench/inbox-poll.ts', () => {
  let r: InboxPollResult;
  beforeAll(async () => {
    r = await inboxPoll(TINY);
  }, 60_000);

  it('delivers every message it sends, and has every agent poll on its instance', () => {
    expect(r.settings).toEqual(TINY);
    expect(r.instances).toBe(2);
    expect(r.messages).toEqual({ sent: 3, delivered: 3 });
    expect(r.agents.map((a) => a.instance)).toEqual(['A', 'B', 'A']);
    for (const a of r.agents) {
      // A poll every second for 4 s (one before the first message, then 3), never two at once.
      expect(a.polls).toBeGreaterThanOrEqual(1);
      expect(a.polls).toBeLessThanOrEqual(4);
      expect(a.ok + Object.values(a.errors).reduce((x, y) => x + y, 0)).toBe(a.polls);
    }
    expect(r.polls.total).toBe(r.agents.reduce((n, a) => n + a.polls, 0));
    expect(r.polls.ok).toBe(r.agents.reduce((n, a) => n + a.ok, 0));
  });

  it('accounts for every message and agent once, and never shows a message gone', () => {
    expect(r.seen.expected).toBe(9);
    expect(r.seen.seen + r.seen.missed).toBe(9);
    expect(r.seen.afterPolls.n).toBe(r.seen.seen);
    expect(r.seen.afterMs.n).toBe(r.seen.seen);
    expect(r.seen.withinOnePoll).toBeLessThanOrEqual(r.seen.seen);
    expect(r.disappeared).toEqual({ messages: 0, answers: 0 });
  });

  it('counts upstream calls, and igql keeps under Instagram’s limits', () => {
    expect(r.upstream.throttled).toBe(0);
    expect(r.upstream.total).toBeGreaterThan(0);
    expect(r.upstream.conversationReads).toBeGreaterThan(0);
    expect(r.upstream.perChange.conversationReads).toBe(r.upstream.conversationReads / 3);
    // bench.shop's reads are all conversation lists; other accounts' may add to the endpoint's.
    expect(r.upstream.byEndpoint['GET /me/conversations ok']).toBeGreaterThanOrEqual(
      r.upstream.conversationReads,
    );
  });

  it('renders every figure as Markdown', () => {
    const md = renderInboxPoll(r);
    expect(md).toContain('## Shared inbox: 3 agents polling one inbox, two igql instances');
    expect(md).toContain('| messages delivered | 3 of 3 |');
    expect(md).toContain('| refused by Instagram as over its limits | 0 |');
    expect(md.match(/^\| \d+ \| [AB] \|/gm)).toHaveLength(3);
  });
});
