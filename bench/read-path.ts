/**
 * Read path: upstream requests per query (igql against a naive resolver tree), and the latency
 * igql adds over calling the Graph API directly for the same data. Runs against the simulator.
 */
import { performance } from 'node:perf_hooks';
import { createApp } from '../src/app.ts';
import { signSession } from '../src/auth/jwt.ts';
import { loadConfig } from '../src/config.ts';
import { startSandbox } from '../src/sandbox/index.ts';
import { Simulator } from '../src/sandbox/simulator.ts';

const CONVERSATIONS = 25;
const MESSAGES = 20;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 300);

const INBOX = `{ viewer { conversations(first: ${CONVERSATIONS}) { nodes { participants { username } messages(first: ${MESSAGES}) { nodes { text from { username } createdTime } } } } } }`;
const PAGE = `query($id: ID!) { node(id: $id) { ... on Conversation { messages(first: ${MESSAGES}) { nodes { text from { username } createdTime } } } } }`;

export interface ReadPathResult {
  readonly rows: readonly (readonly [string, number, number])[];
  /** Through igql (uncompressed, and gzipped as browsers ask) and straight from the simulator. */
  readonly latency: { igql: Stats; gzip: Stats; direct: Stats };
}

interface Stats {
  readonly p50: number;
  readonly p99: number;
}

const stats = (samples: number[]): Stats => {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99) };
};

export async function readPath(): Promise<ReadPathResult> {
  const sim = new Simulator({ appSecret: 'bench-secret', rateLimits: false });
  const { account, token } = sim.addAccount({ username: 'bench.shop' });
  for (let i = 0; i < CONVERSATIONS + 5; i++) {
    const user = sim.store.addUser(account.igId, { username: `customer${i}` });
    for (let n = 0; n < MESSAGES + 10; n++) {
      sim.store.addMessage(account.igId, user.igsid, {
        fromId: n % 2 === 0 ? user.igsid : account.igId,
        text: `message ${n} of conversation ${i}`,
        createdTime: Date.now() - i * 3_600_000 - (40 - n) * 60_000,
      });
    }
  }
  await sim.start();
  const config = loadConfig({
    PORT: '0',
    LOG_LEVEL: 'silent',
    INSTAGRAM_APP_SECRET: 'bench-secret',
  });
  const app = createApp({
    config,
    sandbox: await startSandbox({ config, simulator: sim }),
    instagram: { paceReads: false },
  });
  const url = await app.start();
  const session = await signSession(
    config.sessionSecret,
    { sub: 'bench', accounts: [account.igId] },
    3600,
  );
  // Uncompressed by default, as the direct path: a like-for-like measure of what igql adds.
  // Compression (what browsers ask for) is measured apart: on loopback it only costs.
  const post = async (query: string, variables = {}, encoding = 'identity') => {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'accept-encoding': encoding,
        authorization: `Bearer ${session}`,
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body;
  };
  const calls = async (run: () => Promise<unknown>) => {
    const before = sim.count();
    await run();
    return sim.count() - before;
  };

  const conversation = [...sim.store.conversations.values()][0];
  const id = Buffer.from(`Conversation:${account.igId}:${conversation?.id}`).toString('base64');
  const rows: [string, number, number][] = [
    // Naive: the list, then each conversation's messages, then each message's sender.
    [
      `inbox: ${CONVERSATIONS} conversations × ${MESSAGES} messages`,
      await calls(() => post(INBOX)),
      1 + CONVERSATIONS + CONVERSATIONS * MESSAGES,
    ],
    [
      `conversation page: ${MESSAGES} messages`,
      await calls(() => post(PAGE, { id })),
      1 + MESSAGES,
    ],
  ];

  const fields = `id,participants,messages.limit(${MESSAGES}){id,created_time,from,message}`;
  const direct = `${sim.url}/v25.0/me/conversations?platform=instagram&limit=${CONVERSATIONS}&fields=${encodeURIComponent(fields)}`;
  const paths = {
    direct: async () =>
      (await fetch(direct, { headers: { authorization: `Bearer ${token.token}` } })).json(),
    igql: () => post(INBOX),
    gzip: () => post(INBOX, {}, 'gzip'),
  };
  /** Each round runs every path once, in turn: the machine's drift falls on all of them alike. */
  const measure = async (rounds: number) => {
    const samples = { direct: [] as number[], igql: [] as number[], gzip: [] as number[] };
    for (let i = 0; i < rounds; i++) {
      for (const [name, run] of Object.entries(paths) as [
        keyof typeof paths,
        () => Promise<unknown>,
      ][]) {
        const start = performance.now();
        await run();
        samples[name].push(performance.now() - start);
      }
    }
    return samples;
  };
  await measure(Math.ceil(ROUNDS / 3)); // warm every path
  const samples = await measure(ROUNDS);
  const [directStats, igqlStats, gzipStats] = [samples.direct, samples.igql, samples.gzip].map(
    stats,
  ) as [Stats, Stats, Stats];
  await app.stop();
  await sim.stop();
  return { rows, latency: { igql: igqlStats, gzip: gzipStats, direct: directStats } };
}
