import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

/** One HTTP/1.1 answer read off a raw connection. */
export interface RawResponse {
  readonly status: number;
  /** Lower-case names. */
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * One TCP connection spoken to by hand, so that a test controls keep-alive, framing and pace:
 * `write` sends bytes as they are, `response()` resolves with the next whole answer (Content-Length,
 * chunked, or up to the end of the connection), `closed` once the server closed it.
 */
export interface RawConnection {
  readonly socket: Socket;
  /** Everything the server sent so far, as text. */
  readonly received: () => string;
  /** Resolves once the connection is closed, by either side. */
  readonly closed: Promise<void>;
  write(data: string | Buffer): void;
  response(): Promise<RawResponse>;
  /** Sends a request with these headers (`host` added) and body (Content-Length added). */
  request(
    method: string,
    path: string,
    headers?: Record<string, string>,
    body?: string,
  ): Promise<RawResponse>;
}

export async function openRaw(port: number): Promise<RawConnection> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  let buffer = Buffer.alloc(0);
  let ended = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of waiters) w();
  };
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    wake();
  });
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      ended = true;
      wake();
      resolve();
    }),
  );
  let all = '';
  socket.on('data', (chunk: Buffer) => {
    all += chunk.toString('latin1');
  });

  /** The next answer in `buffer`, taken out of it; undefined while incomplete. */
  const take = (): RawResponse | undefined => {
    const end = buffer.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const [statusLine = '', ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const at = line.indexOf(':');
      headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
    }
    const status = Number(statusLine.split(' ')[1]);
    let rest = buffer.subarray(end + 4);
    let body: Buffer;
    if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (rest.length < length) return undefined;
      body = rest.subarray(0, length);
      rest = rest.subarray(length);
    } else if (headers['transfer-encoding'] === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        const line = rest.indexOf('\r\n');
        if (line < 0) return undefined;
        const size = Number.parseInt(rest.subarray(0, line).toString(), 16);
        if (rest.length < line + 2 + size + 2) return undefined;
        parts.push(rest.subarray(line + 2, line + 2 + size));
        rest = rest.subarray(line + 2 + size + 2);
        if (size === 0) break;
      }
      body = Buffer.concat(parts);
    } else {
      if (!ended) return undefined;
      body = rest;
      rest = Buffer.alloc(0);
    }
    buffer = rest;
    return { status, headers, body: body.toString() };
  };

  const response = () =>
    new Promise<RawResponse>((resolve, reject) => {
      const check = () => {
        const answer = take();
        if (answer) {
          waiters.delete(check);
          resolve(answer);
        } else if (ended) {
          waiters.delete(check);
          reject(new Error(`connection closed before a whole answer; received:\n${all}`));
        }
      };
      waiters.add(check);
      check();
    });

  const write = (data: string | Buffer) => {
    socket.write(data);
  };
  return {
    socket,
    received: () => all,
    closed,
    write,
    response,
    request(method, path, headers = {}, body) {
      const lines = [`${method} ${path} HTTP/1.1`, 'host: 127.0.0.1'];
      for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
      if (body !== undefined) lines.push(`content-length: ${Buffer.byteLength(body)}`);
      write(`${lines.join('\r\n')}\r\n\r\n${body ?? ''}`);
      return response();
    },
  };
}
