import { describe, expect, it } from 'vitest';
import { startServer } from '../bench/lib.ts';
import { SERVER_LABELS } from '../bench/live.ts';
import { render } from '../bench/report.ts';
import { type BenchSettings, runBench, settings } from '../bench/run.ts';
import { signatureHeaders } from '../src/sandbox/webhooks.ts';

/** `npm run bench` with tiny counts: the code runs end to end; its timings are never asserted. */
const TINY: BenchSettings = {
  fanout: { levels: [1, 3], events: 2, timeoutMs: 10_000 },
  ingest: { rate: 200, seconds: 0.1, perDelivery: [10, 1] },
  readPath: { clients: 2, seconds: 0.2, rounds: 1, latencyMs: 5 },
  sends: { seconds: 0.2, clients: 2 },
  sizing: { accounts: 2, eventAccounts: 1, eventsPerAccount: 3, sends: 1, fullLog: false },
  inboxPoll: { seconds: 2, agents: 2, messageEveryMs: 1000 },
};

describe('npm run bench', () => {
  it('sizes a default run at 1, 1,000 and 10,000 subscribers, 20 events each, on a cluster of 3 primaries with a replica each, 5,250 events/s offered', () => {
    const s = settings(1, {});
    expect(s.fanout.levels).toEqual([1, 1000, 10_000]);
    expect(s.fanout.events).toBe(20);
    expect(s.fanout.cluster).toEqual({ primaries: 3, replicasPerPrimary: 1 });
    expect(s.ingest).toEqual({ rate: 5250, seconds: 6, perDelivery: [10, 1] });
    expect(s.readPath.clients).toBe(10);
    expect(s.readPath.latencyMs).toBe(50);
  });

  it('has the ingestion floor acknowledge a signed delivery and refuse a forged one', async () => {
    const floor = await startServer('ingest-floor', { INGEST_FLOOR_SECRET: 'floor-secret' });
    try {
      const body = '{"object":"instagram","entry":[]}';
      const post = (headers: Record<string, string>) =>
        fetch(`${floor.base}/webhooks/instagram`, { method: 'POST', headers, body });
      const signed = await post(signatureHeaders(body, 'floor-secret'));
      expect([signed.status, await signed.text()]).toEqual([200, 'EVENT_RECEIVED']);
      const forged = await post(signatureHeaders(body, 'another-secret'));
      expect([forged.status, await forged.text()]).toEqual([401, 'bad signature']);
      const unsigned = await post({});
      expect(unsigned.status).toBe(401);
      await unsigned.text();
    } finally {
      await floor.stop();
    }
  });

  it('runs every benchmark with tiny counts and reports every figure', {
    timeout: 120_000,
  }, async () => {
    const result = await runBench(TINY);

    expect(result.machine.cores).toBeGreaterThan(0);
    expect(result.machine.node).toBe(process.version);
    expect(result.machine.commit).toMatch(/^[0-9a-f]{40}$|^unknown$/);

    expect(result.fanout.map((s) => s.server)).toEqual([
      'floor',
      'yoga',
      'igql',
      'igql-redis',
      'igql-cluster',
    ]);
    for (const server of result.fanout) {
      expect(server.failedToOpen).toBe(0);
      expect(server.levels.map((l) => l.subscribers)).toEqual([1, 3]);
      for (const level of server.levels) {
        // Every subscriber had every event, once.
        expect(level.events).toBe(2);
        expect(level.delivered).toBe(level.expected);
        expect(level.expected).toBe(2 * level.subscribers);
        expect(level.duplicates).toBe(0);
        expect(level.lost).toBe(0);
        expect(level.latency.n).toBe(2);
        expect(level.cpuPerEvent).toEqual({
          server: expect.any(Number),
          subscribers: expect.any(Number),
        });
      }
      expect(server.memory).toMatchObject({ fromSubscribers: 1, toSubscribers: 3 });
      expect(server.memory.rssToBytes).toBeGreaterThan(0);
    }

    expect(result.ingest.map((i) => i.perDelivery)).toEqual([10, 1]);
    for (const i of result.ingest) {
      expect(i.events).toBe(20);
      expect(i.acknowledged).toBe(20);
      expect(i.stored).toBe(20);
      expect(i.refused).toEqual({});
      // The ingestion floor was offered the same deliveries and acknowledged every one.
      expect(i.floor.events).toBe(20);
      expect(i.floor.acknowledged).toBe(20);
      expect(i.floor.refused).toEqual({});
      expect(i.floor.ack.n).toBe(i.perDelivery === 10 ? 2 : 20);
      expect(i.floor.cpuPerEvent).toEqual({
        server: expect.any(Number),
        client: expect.any(Number),
      });
    }

    expect(result.readPath.rows).toEqual([
      ['inbox: 25 conversations × 20 messages', 1, 526],
      ['conversation page: 20 messages', 1, 21],
    ]);
    for (const figures of [result.readPath.throughput, result.readPath.latency]) {
      expect(figures.igql.requests).toBeGreaterThan(0);
      expect(figures.direct.requests).toBeGreaterThan(0);
      expect(figures.floor.requests).toBeGreaterThan(0);
      // Each path's CPU: the simulator's, and its gateway's (none on the direct path).
      expect(Object.keys(figures.direct.cpuPerRequest)).toEqual(['simulator']);
      expect(figures.igql.cpuPerRequest).toEqual({
        simulator: expect.any(Number),
        igql: expect.any(Number),
      });
      expect(figures.floor.cpuPerRequest).toEqual({
        simulator: expect.any(Number),
        floor: expect.any(Number),
      });
    }

    expect(result.sends.rows.map((r) => r.path)).toEqual(['direct', 'igql']);
    for (const row of result.sends.rows) {
      expect(row.sent).toBeGreaterThan(0);
      expect(row.failed).toEqual({});
    }

    expect(result.sizing.account.count).toBe(2);
    expect(result.sizing.event.count).toBe(3);
    expect(result.sizing.idempotencyRecord.count).toBe(1);
    // Two agents for 2 s, a message a second: the first one poll interval in, the last before
    // the polling ends.
    expect(result.inboxPoll.messages).toEqual({ sent: 2, delivered: 2 });

    const printed = render(result);
    for (const heading of [
      '## Live fan-out',
      '## Memory per idle subscriber',
      '## Ingestion',
      '## Read path',
      '## Sends',
      '## Redis memory',
      '## Shared inbox',
      '## Goals (issue 13)',
      'added at p50 = igql p50 − direct p50',
      'floor p50 − direct p50',
    ]) {
      expect(printed).toContain(heading);
    }
    // Each level's rows in one table, the cluster's right after the single Redis's.
    const fanoutRows = (printed.split('## Live fan-out')[1]?.split('## Memory')[0] ?? '')
      .split('\n')
      .filter((line) => /^\| \d/.test(line))
      .map((line) =>
        line
          .split('|')
          .slice(1, 3)
          .map((cell) => cell.trim()),
      );
    const labels = Object.values(SERVER_LABELS);
    expect(fanoutRows).toEqual([
      ...labels.map((label) => ['1', label]),
      ...labels.map((label) => ['3', label]),
    ]);
    expect(labels.slice(-2)).toEqual([
      'igql, webhook to A, subscribers on B (Redis)',
      'igql, webhook to A, subscribers on B (Redis Cluster)',
    ]);
    const memory = printed.split('## Memory per idle subscriber')[1]?.split('## Ingestion')[0];
    expect(memory).toContain('| igql, webhook to A, subscribers on B (Redis Cluster) |');
    // The floor takes its turn in both read-path tables, and has a column in the goals table.
    const floorRows = printed
      .split('\n')
      .filter((line) => line.startsWith('| a bare Node proxy (the floor of any Node gateway)'));
    expect(floorRows).toHaveLength(2);
    expect(printed).toContain('| floor (bare Node server), this run | floor meets it |');
    // A floor row beside igql's for each number of events per delivery.
    const ingestRows = (printed.split('## Ingestion')[1]?.split('## Read path')[0] ?? '')
      .split('\n')
      .filter((line) => /^\| (10|1) +\|/.test(line))
      .map((line) =>
        line
          .split('|')
          .slice(1, 3)
          .map((cell) => cell.trim()),
      );
    expect(ingestRows).toEqual([
      ['10', 'igql'],
      ['10', 'bare Node server (floor)'],
      ['1', 'igql'],
      ['1', 'bare Node server (floor)'],
    ]);
    const goalRows = printed.split('## Goals (issue 13)')[1]?.split('\n') ?? [];
    const withFloor = goalRows.filter(
      (row) => row.startsWith('| read path at') || row.startsWith('| ingestion,'),
    );
    expect(withFloor.filter((line) => line.startsWith('| read path at'))).toHaveLength(3);
    expect(withFloor.filter((line) => line.startsWith('| ingestion,'))).toHaveLength(2);
    for (const line of withFloor) {
      // goal, this run, met, the floor's figure, the floor meets it: none of them empty.
      const cells = line.split('|').slice(1, -1);
      expect(cells).toHaveLength(5);
      expect(cells[3]?.trim()).not.toBe('—');
      expect(cells[4]?.trim()).toMatch(/^(yes|\*\*no\*\*)$/);
    }
  });
});
