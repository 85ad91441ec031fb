/**
 * A run's figures as Markdown tables, as README copies them. Each latency is its own percentile
 * of its own samples; the only difference printed is of two medians, labelled as such.
 */

import { renderInboxPoll } from './inbox-poll.ts';
import type { Offered } from './ingest.ts';
import { ms, num } from './lib.ts';
import { CLUSTER } from './live.ts';
import type { PathFigures } from './read-path.ts';
import type { BenchResult } from './run.ts';
import { renderSizing } from './sizing.ts';

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const ratio = (a: number, b: number) => (b > 0 && Number.isFinite(a) ? `${num(a / b, 2)} ×` : '—');
const pct = (a: number, b: number) => (b > 0 ? `${num((100 * a) / b, 1)} %` : '—');
const mib = (bytes: number) => `${num(bytes / 2 ** 20, 1)} MiB`;
const yes = (ok: boolean) => (ok ? 'yes' : '**no**');

/** The read path's three paths, in the order the tables print them. */
const READ_PATHS = ['direct', 'igql', 'floor'] as const;
const READ_LABELS = {
  direct: 'Graph API directly (simulator)',
  igql: 'through igql',
  floor: 'a bare Node proxy (the floor of any Node gateway)',
} as const;

/** The ingestion floor's label in the ingestion table. */
const INGEST_FLOOR = 'bare Node server (floor)';

/** The ingestion goal's throughput and latency: ≥ 5,000 events/s acknowledged, p99 ≤ 20 ms. */
const ingestFast = (i: Offered) => i.acceptedPerSecond >= 5000 && i.ack.p99 <= 20;

/** A path's gateway CPU ms/request: igql's or the floor's; none on the direct path. */
function gatewayCpu(f: PathFigures): string {
  const cpu = f.cpuPerRequest.igql ?? f.cpuPerRequest.floor;
  return cpu === undefined ? '—' : num(cpu, 2);
}

export function render(r: BenchResult): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(
    `Machine: ${m.cpu}, ${m.cores} cores, ${num(m.memoryGiB, 1)} GiB; Node ${m.node}; ${m.date}; commit ${m.commit.slice(0, 12)}${m.dirty ? ' (with uncommitted changes)' : ''}`,
  );

  // 1. Fan-out.
  const f = r.settings.fanout;
  const floor = r.fanout.find((s) => s.server === 'floor');
  const cluster = f.cluster ?? CLUSTER;
  out.push(
    `\n## Live fan-out: webhook (or publish) → every subscriber\n\n${f.events} events per level, one at a time, each timed until the last subscriber has it. Each server in its own process, one at a time; the subscribers in another process (bench/subscribers.ts) over real websockets on loopback. p99 of ${f.events} events is the slowest of them. "× floor": the same percentile of the bare \`ws\` server at the same level in this run. CPU ms per event (warm-ups included): of the server the subscribers are on, and of the subscribers' process. Cross-instance (webhook to igql A, subscribers on igql B): through one Redis, and through a Redis Cluster of ${cluster.primaries} primaries with ${cluster.replicasPerPrimary} replica each (sharded pub/sub; a webhook's 200 waits for a replica to hold its events, their publish does not).\n`,
  );
  const rows: string[][] = [];
  for (const level of f.levels) {
    const base = floor?.levels.find((l) => l.subscribers === level)?.latency;
    for (const s of r.fanout) {
      const l = s.levels.find((x) => x.subscribers === level) ?? s.levels[f.levels.indexOf(level)];
      if (!l) continue;
      rows.push([
        num(l.subscribers),
        s.label,
        ms(l.latency.p50),
        ms(l.latency.p99),
        s.server === 'floor' ? '1 ×' : ratio(l.latency.p50, base?.p50 ?? Number.NaN),
        s.server === 'floor' ? '1 ×' : ratio(l.latency.p99, base?.p99 ?? Number.NaN),
        `${pct(l.delivered, l.expected)}${l.duplicates ? `, ${l.duplicates} twice` : ''}${l.lost ? `, ${l.lost} lost` : ''}`,
        `${num(l.cpuPerEvent.server, 1)} / ${num(l.cpuPerEvent.subscribers, 1)}`,
      ]);
    }
  }
  out.push(
    table(
      [
        'subscribers',
        'server',
        'p50',
        'p99',
        'p50 × floor',
        'p99 × floor',
        'delivered',
        'CPU ms/event: server / subscribers',
      ],
      rows,
    ),
  );
  for (const s of r.fanout) {
    const problems = [
      s.failedToOpen ? `${s.failedToOpen} subscribers failed to open (${s.firstOpenError})` : '',
      ...s.levels.map((l) => (l.firstError ? `at ${num(l.subscribers)}: ${l.firstError}` : '')),
    ].filter(Boolean);
    if (problems.length) out.push(`\n${s.label}: ${problems.join('; ')}`);
  }

  // 2. Memory.
  out.push(
    "\n## Memory per idle subscriber\n\nThe server process's resident set after two full GCs, with the first level's subscribers (after their events) and with the last level's (connected and subscribed, idle): the difference over the subscribers added.\n",
  );
  out.push(
    table(
      ['server', 'RSS, from', 'RSS, to', 'per subscriber'],
      r.fanout.map((s) => [
        s.label,
        `${mib(s.memory.rssFromBytes)} (${num(s.memory.fromSubscribers)})`,
        `${mib(s.memory.rssToBytes)} (${num(s.memory.toSubscribers)})`,
        Number.isFinite(s.memory.perSubscriberKB) ? `${num(s.memory.perSubscriberKB, 1)} KB` : '—',
      ]),
    ),
  );

  // 3. Ingestion.
  out.push(
    `\n## Ingestion: signed webhooks to one igql instance with Redis\n\nOffered open-loop for ${num(r.settings.ingest.seconds, 1)} s (each request sent on schedule, answered or not); acknowledgement = a request's send to the server's 200. Stored = events found in the per-account logs in Redis afterwards. The floor (bench/server.ts \`ingest-floor\`, in its own process) is a bare \`node:http\` server that reads each body, checks its signature and answers 200, without parsing or Redis; it is offered the same deliveries by the same load generator right after igql: what any Node server acknowledges at least on this machine.\n`,
  );
  const acked = (i: Offered) =>
    `${num(i.acceptedPerSecond)}/s (${num(i.acknowledged)} of ${num(i.events)}${Object.keys(i.refused).length ? `; refused ${JSON.stringify(i.refused)}` : ''})`;
  out.push(
    table(
      [
        'events per delivery',
        'server',
        'offered',
        'acknowledged',
        'ack p50',
        'ack p99',
        'stored',
        'CPU ms/event: server / Redis / load',
      ],
      r.ingest.flatMap((i) => [
        [
          String(i.perDelivery),
          'igql',
          `${num(i.offeredPerSecond)}/s`,
          acked(i),
          ms(i.ack.p50),
          ms(i.ack.p99),
          `${num(i.stored)} (${pct(i.stored, i.acknowledged)})`,
          [i.cpuPerEvent.igql, i.cpuPerEvent.redis, i.cpuPerEvent.client]
            .map((c) => num(c, 3))
            .join(' / '),
        ],
        [
          String(i.perDelivery),
          INGEST_FLOOR,
          `${num(i.floor.offeredPerSecond)}/s`,
          acked(i.floor),
          ms(i.floor.ack.p50),
          ms(i.floor.ack.p99),
          '—',
          `${num(i.floor.cpuPerEvent.server, 3)} / — / ${num(i.floor.cpuPerEvent.client, 3)}`,
        ],
      ]),
    ),
  );

  // 4. Read path.
  const rp = r.readPath;
  out.push(
    `\n## Read path: the inbox page (25 conversations × 20 messages)\n\nThe simulator in its own process; ${rp.clients} concurrent clients, each sending its next request when the last answer was read; the three paths take turns (${rp.rounds} turns of ${num(rp.seconds, 1)} s each). The bare Node proxy (bench/read-floor.ts, in its own process) makes the same one Graph call as igql and shapes the same answer by hand, without GraphQL or auth: what any Node gateway costs at least on this machine.\n`,
  );
  out.push(
    table(
      ['query', 'upstream requests, igql', 'a naive resolver tree', 'saved'],
      rp.rows.map(([query, igql, naive]) => [
        query,
        String(igql),
        String(naive),
        pct(naive - igql, naive),
      ]),
    ),
  );
  const t = rp.throughput;
  out.push('\nThroughput, simulator latency 0 ms:\n');
  out.push(
    table(
      ['path', 'requests/s', 'of direct', 'p50', 'p99', 'CPU ms/request: gateway', 'simulator'],
      READ_PATHS.map((p) => [
        READ_LABELS[p],
        num(t[p].perSecond),
        pct(t[p].perSecond, t.direct.perSecond),
        ms(t[p].latency.p50),
        ms(t[p].latency.p99),
        gatewayCpu(t[p]),
        num(t[p].cpuPerRequest.simulator, 2),
      ]),
    ),
  );
  const l = rp.latency;
  out.push(`\nLatency, simulator latency ${l.latencyMs} ms (each figure its own percentile):\n`);
  out.push(
    table(
      ['path', 'p50', 'p99', 'requests/s', 'of direct', 'CPU ms/request: gateway', 'simulator'],
      READ_PATHS.map((p) => [
        READ_LABELS[p],
        ms(l[p].latency.p50),
        ms(l[p].latency.p99),
        num(l[p].perSecond),
        pct(l[p].perSecond, l.direct.perSecond),
        gatewayCpu(l[p]),
        num(l[p].cpuPerRequest.simulator, 2),
      ]),
    ),
  );
  const addedP50 = l.igql.latency.p50 - l.direct.latency.p50;
  out.push(
    `\nadded at p50 = igql p50 − direct p50 = ${ms(addedP50)}; floor p50 − direct p50 = ${ms(l.floor.latency.p50 - l.direct.latency.p50)} (differences of two medians, not percentiles of differences)`,
  );

  // 5. Sends.
  const sd = r.sends;
  out.push(
    `\n## Sends: sendTextMessage with idempotency keys and rate limiting, vs the Send API directly\n\nOne account, the simulator limiting sends to Instagram's 100 a second; ${sd.clients} clients for ${num(sd.seconds, 1)} s each, refusals counted and not retried. igql waits up to 250 ms for a slot before refusing.\n`,
  );
  out.push(
    table(
      ['path', 'sent/s', 'sent', 'attempts', 'rate limited', 'other'],
      sd.rows.map((row) => [
        row.path === 'igql' ? 'through igql' : 'Send API directly (simulator)',
        num(row.sentPerSecond, 1),
        num(row.sent),
        num(row.attempts),
        num(row.rateLimited),
        Object.keys(row.failed).length ? JSON.stringify(row.failed) : '0',
      ]),
    ),
  );

  // 6. Redis memory.
  out.push(`\n${renderSizing(r.sizing)}`);
  out.push(`\n${renderInboxPoll(r.inboxPoll)}`);

  // Goals of issue 13.
  const top = f.levels.at(-1) ?? 0;
  const igqlTop = r.fanout
    .find((s) => s.server === 'igql')
    ?.levels.find((x) => x.subscribers === top);
  const floorTop = floor?.levels.find((x) => x.subscribers === top);
  const igqlMemory =
    r.fanout.find((s) => s.server === 'igql')?.memory.perSubscriberKB ?? Number.NaN;
  const tens = r.ingest.find((i) => i.perDelivery === 10);
  const ones = r.ingest.find((i) => i.perDelivery === 1);
  /** [goal, this run, met, the floor's figure (read path and ingestion), the floor meets it]. */
  const goals: string[][] = [];
  if (igqlTop && floorTop) {
    goals.push([
      `${num(top)} subscribers on one instance: 100 % delivered`,
      pct(igqlTop.delivered, igqlTop.expected),
      yes(igqlTop.delivered === igqlTop.expected && igqlTop.expected > 0),
    ]);
    goals.push([
      `${num(top)} subscribers: p99 ≤ 1.5 × the floor's p99 (${ms(floorTop.latency.p99)})`,
      `${ms(igqlTop.latency.p99)} (${ratio(igqlTop.latency.p99, floorTop.latency.p99)})`,
      yes(igqlTop.latency.p99 <= 1.5 * floorTop.latency.p99),
    ]);
  }
  goals.push([
    'memory per idle subscriber ≤ 15 KB',
    `${num(igqlMemory, 1)} KB`,
    yes(igqlMemory <= 15),
  ]);
  for (const i of [tens, ones]) {
    if (!i) continue;
    goals.push([
      `ingestion, ${i.perDelivery} per delivery: ≥ 5,000 events/s acknowledged, p99 ≤ 20 ms, all stored`,
      `${num(i.acceptedPerSecond)}/s, p99 ${ms(i.ack.p99)}, ${pct(i.stored, i.events)} stored`,
      yes(ingestFast(i) && i.stored === i.events),
      // The floor stores nothing: its column is the rate and the p99 alone.
      `${num(i.floor.acceptedPerSecond)}/s, p99 ${ms(i.floor.ack.p99)}`,
      yes(ingestFast(i.floor)),
    ]);
  }
  // Each read-path goal, for igql and for the floor: whether any Node gateway could meet it here.
  const readGoals = [
    [
      'read path at 0 ms: igql throughput ≥ 50 % of direct',
      (g: 'igql' | 'floor') => pct(t[g].perSecond, t.direct.perSecond),
      (g: 'igql' | 'floor') => t[g].perSecond >= 0.5 * t.direct.perSecond,
    ],
    [
      `read path at ${l.latencyMs} ms: igql p50 ≤ direct p50 + 1 ms`,
      (g: 'igql' | 'floor') => `${ms(l[g].latency.p50)} vs ${ms(l.direct.latency.p50)}`,
      (g: 'igql' | 'floor') => l[g].latency.p50 <= l.direct.latency.p50 + 1,
    ],
    [
      `read path at ${l.latencyMs} ms: igql p99 ≤ direct p99 + 5 ms`,
      (g: 'igql' | 'floor') => `${ms(l[g].latency.p99)} vs ${ms(l.direct.latency.p99)}`,
      (g: 'igql' | 'floor') => l[g].latency.p99 <= l.direct.latency.p99 + 5,
    ],
  ] as const;
  for (const [goal, figure, met] of readGoals) {
    goals.push([goal, figure('igql'), yes(met('igql')), figure('floor'), yes(met('floor'))]);
  }
  out.push('\n## Goals (issue 13)\n');
  out.push(
    table(
      ['goal', 'this run', 'met', 'floor (bare Node server), this run', 'floor meets it'],
      goals.map((g) => (g.length === 3 ? [...g, '—', '—'] : g)),
    ),
  );
  out.push(
    '\nThe floor columns: the same goal measured in this run on a bare Node server doing the least the path needs: for the read path, the bare Node proxy making the same Graph call (in the same rounds); for ingestion, the bare `node:http` server that checks each signature and answers 200 (the same deliveries, right after igql; it stores nothing, so its figure is the rate and the p99 alone). Where the floor does not meet a goal, no Node server doing that work can be expected to on this machine.',
  );
  out.push(`\nRun time: ${num(r.seconds, 0)} s`);
  return out.join('\n');
}
