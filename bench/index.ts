/** `npm run bench`: every benchmark, printed as tables. Figures are ratios within one run. */
import { live } from './live.ts';
import { readPath } from './read-path.ts';

const ms = (n: number) => `${n.toFixed(2)} ms`;

const read = await readPath();
console.log('\nUpstream requests per query (igql vs a naive resolver tree)');
console.table(
  read.rows.map(([query, igql, naive]) => ({
    query,
    igql,
    naive,
    saved: `${(100 * (1 - igql / naive)).toFixed(1)} %`,
  })),
);
const { igql, gzip, direct } = read.latency;
console.log(`\nInbox page latency over ${process.env.BENCH_ROUNDS ?? 300} sequential requests`);
console.table([
  { path: 'Graph API directly (simulator)', p50: ms(direct.p50), p99: ms(direct.p99) },
  { path: 'through igql', p50: ms(igql.p50), p99: ms(igql.p99) },
  { path: 'through igql, answer gzipped (browsers ask)', p50: ms(gzip.p50), p99: ms(gzip.p99) },
]);
console.log(`igql/direct p50 ratio: ${(igql.p50 / direct.p50).toFixed(2)}`);

const events = await live();
console.log('\nWebhook to subscriber: posted to instance A, subscriber on instance B, one Redis');
console.table([
  { measure: 'one subscriber', p50: ms(events.latency.p50), p99: ms(events.latency.p99) },
  {
    measure: `every one of ${events.fanout.subscribers} subscribers`,
    p50: ms(events.fanout.p50),
    p99: ms(events.fanout.p99),
  },
]);
console.log(
  `Instance B memory: ${events.rssBeforeMiB.toFixed(0)} MiB → ${events.rssAfterMiB.toFixed(0)} MiB with ${events.fanout.subscribers - 1} more websocket subscribers (${events.rssPerSubscriberKiB.toFixed(1)} KiB each)`,
);
