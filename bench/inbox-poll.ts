/**
 * A shared inbox polled (issue 18): `agents` GraphQL clients, half on each of two igql instances
 * that share one Redis and one simulator (bench/simulator.ts) with Instagram's documented limits
 * on (2 Conversations API reads a second per account), each running the example inbox's own
 * `Inbox` query (schema/operations/inbox.graphql: 20 conversations, newest first, each with its
 * last message) every `pollMs` on bench.shop, while a customer writes to the account every
 * `messageEveryMs`, in turn in `conversations` conversations. Agents poll on their timer whatever
 * igql answers, as a dashboard does: RATE_LIMITED is counted, never waited out.
 *
 * Agents start one after the other over the first poll interval; the first message comes one
 * poll interval later, the last `messageEveryMs` before the polling ends (`seconds` after the
 * first message).
 *
 * Upstream, from after the warm-up to the last answer: every Graph request, as the simulator
 * counts them (sampled every `SAMPLE_MS`: "most in any second" is the most counted between two
 * samples at most 1 s apart); bench.shop's conversation reads (Conversations API calls, igql's
 * reconciliation included), as the slots igql's shared limiter granted them (exact times, from
 * Redis); each endpoint's calls and outcomes, from both instances' `/metrics` (every account).
 * The `Inbox` query reads no conversation or message by id: its `GET /{id}` are the participants'
 * profiles (User Profile API, not among the 2 a second). Instagram's own verdict is `throttled`:
 * calls the simulator, counting each bucket over a sliding second, refused as over a limit.
 *
 * Seen: a message is seen by an agent in its first answer whose conversation of that customer
 * has it as its last message; "after n polls" counts the agent's polls, answered or not, that
 * started after the message was acknowledged (202 from `POST /sandbox/inbound`), up to that one
 * (0: a poll already under way saw it); "after ms" is from the delivery's request to that answer.
 * A message is missed by an agent that never saw it: before its next poll with a list, a newer
 * message in the same conversation took its place, or the run ended.
 *
 * Disappeared: an agent that has seen a message as its conversation's last gets a later answer
 * where that conversation's last message is another (or the conversation is not listed) though
 * nothing newer had been sent to that conversation before the answer came. Counted once per
 * agent and message, and per answer.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { print } from 'graphql';
import { createClient, type RedisClientType } from 'redis';
import { InboxDocument } from '../schema/generated/graphql.ts';
import { signSession } from '../src/auth/jwt.ts';
import { keyspace, rateLimitKey, sandboxPrefix } from '../src/keys.ts';
import { SIGNATURE_HEADER, signControl } from '../src/sandbox/control.ts';
import {
  BENCH_ACCOUNT,
  ms,
  num,
  type ServerProcess,
  type Stats,
  startServer,
  stats,
} from './lib.ts';
import { APP_SECRET, IGQL_ENV, SESSION_SECRET } from './live.ts';
import { type Stack, startStack } from './stack.ts';

export interface InboxPollOptions {
  /** Seconds from the first message to the end of the polling. Default 60. */
  readonly seconds?: number;
  /** Default 20. */
  readonly agents?: number;
  /** Each agent's poll interval. Default 1,000. */
  readonly pollMs?: number;
  /** A customer message this often. Default 5,000. */
  readonly messageEveryMs?: number;
  /** The conversations the messages go to in turn (bench.shop's newest). Default 3. */
  readonly conversations?: number;
}

export const DEFAULT_INBOX_POLL: Required<InboxPollOptions> = {
  seconds: 60,
  agents: 20,
  pollMs: 1000,
  messageEveryMs: 5000,
  conversations: 3,
};

/** p50, p99 and the largest. */
export interface Spread extends Stats {
  readonly max: number;
}

export interface AgentFigures {
  readonly instance: 'A' | 'B';
  readonly polls: number;
  /** Answered with the conversation list and no error. */
  readonly ok: number;
  /** The other polls, by their first error's code (`HTTP <status>`, `FETCH_FAILED`). */
  readonly errors: Readonly<Record<string, number>>;
}

export interface InboxPollResult {
  readonly settings: Required<InboxPollOptions>;
  readonly instances: 2;
  /** Wall time from the first poll to the last answer. */
  readonly seconds: number;
  /** Messages the bench asked the simulator for, and those it acknowledged (202). */
  readonly messages: { readonly sent: number; readonly delivered: number };
  readonly upstream: {
    /** Graph requests the simulator served during the run, every account's. */
    readonly total: number;
    readonly totalMaxPerSecond: number;
    /** bench.shop's Conversations API calls, and the most of them in any second. */
    readonly conversationReads: number;
    readonly conversationReadsMaxPerSecond: number;
    /** Conversation reads per message delivered; `all`: every Graph request per message. */
    readonly perChange: { readonly conversationReads: number; readonly all: number };
    /** Calls the simulator refused as over Instagram's limits. */
    readonly throttled: number;
    /** igql's count of both instances, every account's: `GET /me/conversations ok` → calls. */
    readonly byEndpoint: Readonly<Record<string, number>>;
  };
  readonly polls: {
    readonly total: number;
    readonly ok: number;
    readonly errors: Readonly<Record<string, number>>;
    /** ms from a poll's request to its answer, answered polls only. */
    readonly answerMs: Spread;
  };
  readonly agents: readonly AgentFigures[];
  readonly seen: {
    /** Messages delivered × agents. */
    readonly expected: number;
    readonly seen: number;
    readonly withinOnePoll: number;
    readonly missed: number;
    readonly afterPolls: Spread;
    readonly afterMs: Spread;
  };
  readonly disappeared: {
    /** Agent × message pairs, and answers, where a seen message was gone too early. */
    readonly messages: number;
    readonly answers: number;
  };
}

/** How often the upstream counts are read during a run. */
export const SAMPLE_MS = 100;

/** The example inbox's page, as examples/inbox asks for it. */
const INBOX = JSON.stringify({ query: print(InboxDocument), variables: { first: 20 } });

/** igql's REDIS_PREFIX as the bench runs it: the default. */
const PREFIX = 'igql';

/** The Graph API's rate limit codes (as src/instagram/errors.ts classifies them). */
const THROTTLED = new Set(['4', '17', '32', '613', '80002']);

interface Poll {
  readonly start: number;
  readonly end: number;
  /** 'ok', or the first error's code. */
  readonly outcome: string;
  /** Customer username → the id of their conversation's last message; absent without a list. */
  readonly last?: ReadonlyMap<string, string | undefined>;
}

interface Delivery {
  readonly customer: string;
  readonly sentAt: number;
  /** The message's `Message.id`, and when the 202 came; none when it was not delivered. */
  readonly id?: string;
  readonly ackedAt?: number;
}

interface InboxAnswer {
  errors?: { extensions?: { code?: string } }[];
  data?: {
    viewer?: {
      conversations?: {
        nodes: {
          participants: { username: string | null }[];
          lastMessage: { nodes: { id: string }[] };
        }[];
      } | null;
    } | null;
  } | null;
}

/** One poll of the inbox by an agent, recorded as it came. */
async function poll(base: string, session: string): Promise<Poll> {
  const start = performance.now();
  let outcome: string;
  let last: Map<string, string | undefined> | undefined;
  try {
    const res = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${session}` },
      body: INBOX,
    });
    const text = await res.text();
    let body: InboxAnswer | undefined;
    try {
      body = JSON.parse(text) as InboxAnswer;
    } catch {}
    const nodes = body?.data?.viewer?.conversations?.nodes;
    if (nodes) {
      last = new Map();
      for (const c of nodes) {
        const customer = c.participants.find((p) => p.username !== BENCH_ACCOUNT)?.username;
        if (customer) last.set(customer, c.lastMessage.nodes[0]?.id);
      }
    }
    outcome = body?.errors?.length
      ? (body.errors[0]?.extensions?.code ?? 'UNKNOWN')
      : nodes
        ? 'ok'
        : `HTTP ${res.status}`;
  } catch {
    outcome = 'FETCH_FAILED';
  }
  return { start, end: performance.now(), outcome, ...(last ? { last } : {}) };
}

/** igql's `instagram_upstream_requests_total` of one instance: `GET /me ok` → calls. */
async function upstreamCounts(base: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const counts = new Map<string, number>();
  const line =
    /^instagram_upstream_requests_total\{method="([^"]*)",endpoint="([^"]*)",outcome="([^"]*)"\} (\S+)$/gm;
  for (const [, method, endpoint, outcome, value] of text.matchAll(line)) {
    counts.set(`${method} ${endpoint} ${outcome}`, Number(value));
  }
  return counts;
}

/** Both instances' `upstreamCounts` added. */
async function allUpstreamCounts(
  instances: readonly ServerProcess[],
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const each of await Promise.all(instances.map((i) => upstreamCounts(i.base)))) {
    for (const [key, n] of each) counts.set(key, (counts.get(key) ?? 0) + n);
  }
  return counts;
}

/** The simulator's count of Graph requests at `t` (the bench's clock). */
interface Sample {
  readonly t: number;
  readonly total: number;
}

/** The most counted between two samples at most `windowMs` apart. */
function maxInWindow(samples: readonly Sample[], windowMs = 1000): number {
  let best = 0;
  let i = 0;
  for (const sample of samples) {
    while ((samples[i]?.t ?? sample.t) < sample.t - windowMs) i++;
    best = Math.max(best, sample.total - (samples[i]?.total ?? sample.total));
  }
  return best;
}

/** The most of `times` (ms) in any window of `windowMs`. */
function mostWithin(times: readonly number[], windowMs = 1000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let i = 0;
  sorted.forEach((t, j) => {
    while ((sorted[i] ?? t) <= t - windowMs) i++;
    best = Math.max(best, j - i + 1);
  });
  return best;
}

function spread(samples: readonly number[]): Spread {
  return { ...stats(samples), max: samples.length ? Math.max(...samples) : Number.NaN };
}

const add = (into: Record<string, number>, key: string, n = 1) => {
  into[key] = (into[key] ?? 0) + n;
};

/** The simulator's id and Graph request count, from its control surface (outside its request log). */
async function simulatorState(simulator: ServerProcess): Promise<{ id: string; requests: number }> {
  const res = await fetch(`${simulator.base}/control`, {
    headers: { [SIGNATURE_HEADER]: signControl(APP_SECRET, 'GET', '/control', '') },
  });
  return (await res.json()) as { id: string; requests: number };
}

/** What each agent saw of each delivered message. */
function sightings(deliveries: readonly Delivery[], agentPolls: readonly (readonly Poll[])[]) {
  const afterPolls: number[] = [];
  const afterMs: number[] = [];
  let missed = 0;
  let disappeared = 0;
  let disappearedAnswers = 0;
  for (const polls of agentPolls) {
    const answered = polls.filter((p) => p.last);
    deliveries.forEach((d, k) => {
      const { id, ackedAt } = d;
      if (id === undefined || ackedAt === undefined) return;
      // Until the next message to the same customer is sent, this one is their last.
      const next = deliveries.slice(k + 1).find((n) => n.customer === d.customer);
      const lastUntil = next?.sentAt ?? Number.POSITIVE_INFINITY;
      const first = answered.find((p) => p.last?.get(d.customer) === id);
      if (!first) {
        missed++;
        return;
      }
      afterPolls.push(polls.filter((p) => p.start >= ackedAt && p.start <= first.start).length);
      afterMs.push(first.end - d.sentAt);
      const gone = answered.filter(
        (p) => p.start > first.start && p.end < lastUntil && p.last?.get(d.customer) !== id,
      ).length;
      if (gone > 0) disappeared++;
      disappearedAnswers += gone;
    });
  }
  return { afterPolls, afterMs, missed, disappeared, disappearedAnswers };
}

/** igql B: configured as the stack's own (A), on the same Redis and simulator. */
async function secondInstance(stack: Stack): Promise<ServerProcess> {
  return startServer('igql', {
    ...IGQL_ENV,
    SANDBOX_SIMULATOR_URL: stack.simulator.base,
    SANDBOX_RATE_LIMITS: 'on',
    REDIS_URL: stack.redis?.url ?? '',
  });
}

export async function inboxPoll(options: InboxPollOptions = {}): Promise<InboxPollResult> {
  const s = { ...DEFAULT_INBOX_POLL, ...options };
  const stack = await startStack({ redis: true, rateLimits: true });
  let b: ServerProcess | undefined;
  let probe: RedisClientType | undefined;
  try {
    b = await secondInstance(stack);
    const instances = [stack.igql, b];
    const secret = new TextEncoder().encode(SESSION_SECRET);
    const sessions = await Promise.all(
      Array.from({ length: s.agents }, (_, i) =>
        signSession(secret, { sub: `agent-${i}`, accounts: [stack.bench.igId] }),
      ),
    );
    // Warm-up: each instance answers the page; then its reads' window passes.
    for (const [i, igql] of instances.entries()) {
      const answer = await poll(igql.base, sessions[i % s.agents] ?? '');
      if (answer.outcome !== 'ok') throw new Error(`inbox poll: the warm-up got ${answer.outcome}`);
    }
    await sleep(1200);

    // The account's conversation reads as igql's shared limiter grants them: a sorted set of one
    // member per call, scored with the call's time by Redis's clock, each kept 1.1 s (so sampled
    // every 100 ms, none is missed). Read at the source so that no event-loop lag bunches them.
    probe = createClient({ url: stack.redis?.url ?? '' });
    await probe.connect();
    const { id: simulatorId } = await simulatorState(stack.simulator);
    const ks = keyspace(sandboxPrefix(PREFIX, simulatorId));
    const slotKey = rateLimitKey(ks, stack.bench.igId, 'conversationReads');
    const slots = new Map<string, number>();
    const samples: Sample[] = [];
    const sample = async () => {
      const t = performance.now();
      const [state, granted] = await Promise.all([
        simulatorState(stack.simulator),
        (probe as RedisClientType).zRangeWithScores(slotKey, 0, -1),
      ]);
      samples.push({ t, total: state.requests });
      for (const { value, score } of granted) if (!slots.has(value)) slots.set(value, score);
    };
    const countsBefore = await allUpstreamCounts(instances);
    await sample();
    const warm = new Set(slots.keys());
    const t0 = performance.now();
    const end = t0 + s.pollMs + s.seconds * 1000;
    let running = true;
    const sampler = (async () => {
      while (running) {
        await sleep(SAMPLE_MS);
        await sample();
      }
    })();

    const agents = Array.from({ length: s.agents }, async (_, i) => {
      const base = (instances[i % 2] as ServerProcess).base;
      const polls: Poll[] = [];
      let next = t0 + (i * s.pollMs) / s.agents;
      while (next < end) {
        await sleep(Math.max(0, next - performance.now()));
        polls.push(await poll(base, sessions[i] ?? ''));
        // A slow answer delays the next poll to it, never two at once.
        next = Math.max(next + s.pollMs, performance.now());
      }
      return polls;
    });
    const deliveries: Delivery[] = [];
    const count = Math.floor((s.seconds * 1000) / s.messageEveryMs);
    for (let k = 0; k < count; k++) {
      await sleep(Math.max(0, t0 + s.pollMs + k * s.messageEveryMs - performance.now()));
      const customer = `customer${k % s.conversations}`;
      const sentAt = performance.now();
      const res = await fetch(`${stack.igql.base}/sandbox/inbound`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ accountId: stack.bench.id, from: customer, text: `poll me ${k}` }),
      });
      const body = (await res.json()) as { messageId?: string };
      deliveries.push(
        res.status === 202 && body.messageId
          ? { customer, sentAt, id: body.messageId, ackedAt: performance.now() }
          : { customer, sentAt },
      );
    }
    const agentPolls = await Promise.all(agents);
    const elapsed = performance.now() - t0;
    running = false;
    await sampler;
    await sample();

    const byEndpoint: Record<string, number> = {};
    for (const [key, n] of await allUpstreamCounts(instances)) {
      const diff = n - (countsBefore.get(key) ?? 0);
      if (diff > 0) byEndpoint[key] = diff;
    }
    const readTimes = [...slots].filter(([member]) => !warm.has(member)).map(([, t]) => t);
    const reads = readTimes.length;
    const total = (samples.at(-1)?.total ?? 0) - (samples[0]?.total ?? 0);
    const delivered = deliveries.filter((d) => d.id !== undefined).length;
    const agentFigures = agentPolls.map((polls, i): AgentFigures => {
      const errors: Record<string, number> = {};
      for (const p of polls) if (p.outcome !== 'ok') add(errors, p.outcome);
      return {
        instance: i % 2 === 0 ? 'A' : 'B',
        polls: polls.length,
        ok: polls.filter((p) => p.outcome === 'ok').length,
        errors,
      };
    });
    const allErrors: Record<string, number> = {};
    for (const a of agentFigures)
      for (const [code, n] of Object.entries(a.errors)) add(allErrors, code, n);
    const seen = sightings(deliveries, agentPolls);
    const all = agentPolls.flat();
    return {
      settings: s,
      instances: 2,
      seconds: elapsed / 1000,
      messages: { sent: deliveries.length, delivered },
      upstream: {
        total,
        totalMaxPerSecond: maxInWindow(samples),
        conversationReads: reads,
        conversationReadsMaxPerSecond: mostWithin(readTimes),
        perChange: {
          conversationReads: delivered ? reads / delivered : Number.NaN,
          all: delivered ? total / delivered : Number.NaN,
        },
        throttled: Object.entries(byEndpoint)
          .filter(([key]) => THROTTLED.has(key.split(' ').at(-1) ?? ''))
          .reduce((sum, [, n]) => sum + n, 0),
        byEndpoint,
      },
      polls: {
        total: all.length,
        ok: all.filter((p) => p.outcome === 'ok').length,
        errors: allErrors,
        answerMs: spread(all.filter((p) => p.last).map((p) => p.end - p.start)),
      },
      agents: agentFigures,
      seen: {
        expected: delivered * s.agents,
        seen: seen.afterPolls.length,
        withinOnePoll: seen.afterPolls.filter((n) => n <= 1).length,
        missed: seen.missed,
        afterPolls: spread(seen.afterPolls),
        afterMs: spread(seen.afterMs),
      },
      disappeared: { messages: seen.disappeared, answers: seen.disappearedAnswers },
    };
  } finally {
    await probe?.quit();
    await b?.stop();
    await stack.stop();
  }
}

const pct = (a: number, b: number) => (b > 0 ? `${num((100 * a) / b, 1)} %` : '—');
const codes = (errors: Readonly<Record<string, number>>) =>
  Object.entries(errors)
    .map(([code, n]) => `${code} ${num(n)}`)
    .join(', ') || 'none';

/** The result as Markdown: the figures issue 18 names, then upstream calls by endpoint, then each agent. */
export function renderInboxPoll(r: InboxPollResult): string {
  const s = r.settings;
  const u = r.upstream;
  const seen = r.seen;
  const spreadOf = (x: Spread, unit: (n: number) => string) =>
    `${unit(x.p50)} / ${unit(x.p99)} / ${unit(x.max)}`;
  const lines = [
    `## Shared inbox: ${s.agents} agents polling one inbox, two igql instances`,
    '',
    `${s.agents} agents, half on each of two igql instances sharing one Redis and one simulator with Instagram's limits on (2 Conversations API reads a second per account), each running the example inbox's \`Inbox\` query (20 conversations, each with its last message) every ${num(s.pollMs)} ms; a customer message every ${num(s.messageEveryMs)} ms for ${num(s.seconds)} s, in turn in ${s.conversations} conversations. Agents poll on their timer and never wait out RATE_LIMITED. Graph calls: every account's, as the simulator counts them (most in any second: between two of its counts, read every ${SAMPLE_MS} ms, at most 1 s apart). Conversation reads: bench.shop's Conversations API calls (igql's reconciliation included), timed by the slots igql's shared limiter granted them; refused: calls the simulator turned down as over Instagram's limits (none means never over 2 in any second).`,
    '',
    '| Figure | Value |',
    '| --- | ---: |',
    `| messages delivered | ${num(r.messages.delivered)} of ${num(r.messages.sent)} |`,
    `| upstream Graph calls | ${num(u.total)} (${num(u.total / r.seconds, 1)}/s; most in any second ${num(u.totalMaxPerSecond)}) |`,
    `| conversation reads | ${num(u.conversationReads)} (most in any second ${num(u.conversationReadsMaxPerSecond)}; Instagram allows 2) |`,
    `| calls per change | ${num(u.perChange.conversationReads, 1)} conversation reads, ${num(u.perChange.all, 1)} Graph calls |`,
    `| refused by Instagram as over its limits | ${num(u.throttled)} |`,
    `| polls answered | ${num(r.polls.ok)} of ${num(r.polls.total)} (${pct(r.polls.ok, r.polls.total)}) |`,
    `| polls failed, by code | ${codes(r.polls.errors)} |`,
    `| answer p50 / p99 / max | ${spreadOf(r.polls.answerMs, ms)} |`,
    `| messages seen within one poll (agent × message) | ${num(seen.withinOnePoll)} of ${num(seen.expected)} (${pct(seen.withinOnePoll, seen.expected)}) |`,
    `| never seen | ${num(seen.missed)} |`,
    `| seen after, polls p50 / p99 / max | ${spreadOf(seen.afterPolls, (n) => num(n))} |`,
    `| seen after, ms p50 / p99 / max | ${spreadOf(seen.afterMs, ms)} |`,
    `| seen, then gone too early (agent × message; answers) | ${num(r.disappeared.messages)}; ${num(r.disappeared.answers)} |`,
    '',
    '| Upstream call (both instances) | Outcome | Calls |',
    '| --- | --- | ---: |',
    ...Object.entries(u.byEndpoint).map(([key, n]) => {
      const outcome = key.slice(key.lastIndexOf(' ') + 1);
      return `| ${key.slice(0, key.lastIndexOf(' '))} | ${outcome} | ${num(n)} |`;
    }),
    '',
    '| Agent | Instance | Polls | Answered | Failed, by code |',
    '| ---: | --- | ---: | ---: | --- |',
    ...r.agents.map(
      (a, i) =>
        `| ${i + 1} | ${a.instance} | ${num(a.polls)} | ${num(a.ok)} | ${codes(a.errors)} |`,
    ),
    '',
    `Polled for ${num(r.seconds, 1)} s.`,
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: String(DEFAULT_INBOX_POLL.seconds) },
      agents: { type: 'string', default: String(DEFAULT_INBOX_POLL.agents) },
    },
  });
  const result = await inboxPoll({
    seconds: Number(values.seconds),
    agents: Number(values.agents),
  });
  console.log(renderInboxPoll(result));
  // Undici's keep-alive sockets to the stopped servers should not hold the loop open.
  process.exit(0);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
