import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { createRedis, type Redis, type SingleClient } from '../../src/redis.ts';
import { freePort } from './net.ts';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty (nothing is saved). */
  restart(): Promise<void>;
}

async function launch(port: number, dir: string): Promise<ChildProcess> {
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    'redis-server',
    // Its working directory is a fresh temporary one: a test that turns persistence on writes
    // there, never into the repository.
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`redis-server did not start:\n${output}`)),
      10_000,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${output}`));
    });
    child.once('error', reject);
  });
  child.stdout?.resume();
  return child;
}

/** A real `redis-server` of the test's own on a free port, never the shared one on 6379. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'igql-redis-'));
  let child = await launch(port, dir);
  const halt = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  };
  const stop = async () => {
    await halt();
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    async restart() {
      await halt();
      child = await launch(port, dir);
    },
  };
}

export interface RedisForTests {
  /** The server, once the file's tests run. */
  server(): RedisServer;
  /** A new client, connected and ready, closed after the test that made it. */
  connect(): Promise<SingleClient>;
}

/**
 * A `redis-server` of the test file's own: started before its tests, stopped after them; the
 * clients `connect()` makes are closed after each test.
 */
export function useRedisServer(): RedisForTests {
  let server: RedisServer | undefined;
  const connections: Redis[] = [];
  beforeAll(async () => {
    server = await startRedis();
  });
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((redis) => redis.close()));
  });
  afterAll(async () => {
    await server?.stop();
  });
  const running = () => {
    if (!server) throw new Error('useRedisServer: the server starts in beforeAll');
    return server;
  };
  return {
    server: running,
    async connect() {
      const redis = createRedis(running().url, createLogger('silent'));
      connections.push(redis);
      await redis.client.connect();
      return redis.client;
    },
  };
}
