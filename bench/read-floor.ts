/**
 * The floor of any gateway in Node on the read path: a bare `node:http` server that, for each
 * request, reads it, makes the one Graph call igql makes for the inbox page (the same `fields=`,
 * through undici), parses it, shapes the answer igql gives in plain code and writes it as JSON.
 * No GraphQL, no auth, no limits. Used by bench/read-path.ts (through bench/server.ts
 * `read-floor`) and bench/read-probe.ts (`--variant floor=floor`).
 */
import { createServer, type Server } from 'node:http';
import { Pool } from 'undici';
import { PAGE } from './lib.ts';

/** What igql asks the simulator for the inbox query (its `fields=`). */
export const DIRECT_FIELDS = `id,participants,messages.limit(${PAGE.messages}){id,created_time,from,message}`;

/** The Graph call igql makes for the inbox page, made directly. */
export const DIRECT_PATH = `/v25.0/me/conversations?platform=instagram&limit=${PAGE.conversations}&fields=${encodeURIComponent(DIRECT_FIELDS)}`;

interface User {
  username?: string;
}

interface Page {
  data: {
    participants?: { data: User[] };
    messages?: { data: { message?: string; from?: User; created_time?: string }[] };
  }[];
}

/**
 * The floor server, not yet listening: every request, whatever its path or body, is answered with
 * the inbox page from the Graph API at `upstream.url` (its origin), read with `upstream.token`
 * over up to `connections` connections; 502 when that call fails.
 */
export function readFloor(
  upstream: { readonly url: string; readonly token: string },
  connections: number,
): Server {
  const pool = new Pool(new URL(upstream.url).origin, { connections });
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      try {
        const answer = await pool.request({
          method: 'GET',
          path: DIRECT_PATH,
          headers: { authorization: `Bearer ${upstream.token}` },
        });
        if (answer.statusCode !== 200) {
          await answer.body.dump();
          throw new Error(`Graph API: HTTP ${answer.statusCode}`);
        }
        const page = (await answer.body.json()) as Page;
        const nodes = page.data.map((c) => ({
          participants: (c.participants?.data ?? []).map((u) => ({ username: u.username ?? null })),
          messages: {
            nodes: (c.messages?.data ?? []).map((m) => ({
              text: m.message ?? null,
              from: m.from ? { username: m.from.username ?? null } : null,
              createdTime: new Date(Date.parse(m.created_time ?? '')).toISOString(),
            })),
          },
        }));
        const body = JSON.stringify({ data: { viewer: { conversations: { nodes } } } });
        res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      } catch (error) {
        res.writeHead(502, { 'content-type': 'text/plain' }).end(String(error));
      }
    });
  });
  server.on('close', () => void pool.close());
  return server;
}
