/**
 * `npm run simulator` (src/sandbox/main.ts) with one more account for the read path: `bench.shop`,
 * 30 conversations of 30 messages each, so that the inbox page (25 × 20) is full. Everything else
 * is the same: demo data, the control surface igql links to with SANDBOX_SIMULATOR_URL, and
 * SANDBOX_LATENCY_MS / SANDBOX_RATE_LIMITS. Run by bench/server.ts (`simulator`); prints
 * `simulator listening on <base URL>`.
 */
import { loadConfig } from '../src/config.ts';
import { controlRoutes } from '../src/sandbox/control.ts';
import { demoSimulator, localLink } from '../src/sandbox/link.ts';
import { BENCH_ACCOUNT, PAGE } from './lib.ts';

const config = loadConfig(process.env);
let callback: string | undefined;
const { simulator, demo } = demoSimulator(config, () => callback);
const bench = simulator.addAccount({ username: BENCH_ACCOUNT });
const now = Date.now();
for (let i = 0; i < PAGE.conversations + 5; i++) {
  const user = simulator.store.addUser(bench.account.igId, { username: `customer${i}` });
  for (let n = 0; n < PAGE.messages + 10; n++) {
    simulator.store.addMessage(bench.account.igId, user.igsid, {
      fromId: n % 2 === 0 ? user.igsid : bench.account.igId,
      text: `message ${n} of conversation ${i}`,
      // The newest a minute ago: every conversation inside the 24-hour reply window.
      createdTime: now - i * 60_000 - (PAGE.messages + 10 - n) * 1_000,
    });
  }
}
const listed = [...demo, bench];
simulator.serve(
  controlRoutes(
    localLink(
      simulator,
      () => listed,
      (url) => {
        callback = url;
      },
    ),
    config.instagram.appSecret,
  ),
);
const url = await simulator.start(0);
process.once('SIGTERM', async () => {
  await simulator.stop();
  process.exit(0);
});
console.log(`simulator listening on ${url}`);
