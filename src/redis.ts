import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import type { Logger } from './logger.ts';

const newClient = (url: string) =>
  createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: 2000, reconnectStrategy: reconnectDelay },
  });

export type RedisClient = ReturnType<typeof newClient>;

export interface Redis {
  readonly client: RedisClient;
  /** Connects in the background, retrying with backoff; never rejects. */
  connect(): void;
  /** Resolves once connected, or after `timeoutMs` (never rejects: callers then see it offline). */
  ready(timeoutMs: number): Promise<void>;
  /** True when Redis answered PING within a second. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Reconnect delay: node-redis's default curve, min(2^n × 50, 2000) ms, plus up to 100 ms of jitter. */
export const reconnectDelay = (retries: number): number =>
  Math.min(2 ** retries * 50, 2000) + Math.floor(Math.random() * 100);

/**
 * A node-redis client for request-path commands: commands fail at once while disconnected
 * (`disableOfflineQueue`) instead of queueing behind an outage.
 */
export function createRedis(url: string, logger: Logger): Redis {
  const client = newClient(url);
  watchConnection(client, logger, 'redis');
  return {
    client,
    connect() {
      client.connect().catch((err: unknown) => logger.warn({ err }, 'redis connect failed'));
    },
    async ready(timeoutMs) {
      if (client.isReady) return;
      await Promise.race([
        new Promise<void>((resolve) => client.once('ready', () => resolve())),
        sleep(timeoutMs),
      ]);
    },
    async ping() {
      if (!client.isReady) return false;
      const answer = await Promise.race([client.ping().catch(() => ''), sleep(1000, '')]);
      return answer === 'PONG';
    },
    close: () => closeClient(client),
  };
}

/** Logs each new connection error once, and the reconnection after it. */
export function watchConnection(client: RedisClient, logger: Logger, label: string): void {
  let lastError = '';
  client.on('error', (err: Error) => {
    if (err.message !== lastError) logger.warn({ err }, `${label} connection error`);
    lastError = err.message;
  });
  client.on('ready', () => {
    if (lastError) logger.info(`${label} connection restored`);
    lastError = '';
  });
}

/** Closes a client: gracefully when connected, at once while it is still trying to connect. */
export async function closeClient(client: RedisClient): Promise<void> {
  if (!client.isOpen) return;
  if (client.isReady) await client.close();
  else client.destroy();
}
