/**
 * `npm run bench`: every benchmark in one run, side by side, printed as Markdown tables and
 * written to bench/results/latest.json with the machine that ran it. Sizes: BENCH_SCALE
 * (default 1: 1, 1,000 and 10,000 subscribers, 3 s per measure), BENCH_EVENTS (20),
 * BENCH_INGEST_RATE (5,000 events/s). About 6 minutes on 2 cores at the default sizes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, scale } from './lib.ts';
import { render } from './report.ts';
import { runBench, settings } from './run.ts';

const result = await runBench(settings(scale()), (what) => console.error(`bench: ${what}…`));
const dir = join(ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(render(result));
console.log('\nWritten to bench/results/latest.json');
// Undici's pools and the children's pipes are closed; nothing else should hold the loop open.
process.exit(0);
