/**
 * Clients for balancing tests, which send hundreds of requests and need them cheap: a keep-alive
 * connection that sends one request after the other (reconnecting when ferry closed it), a
 * one-shot request from a chosen 127.0.0.x source address (for `ip_hash`), and a runner that
 * spreads a list of requests over a few parallel keep-alive connections and keeps their order.
 */
import net from "node:net";
import { Buffer } from "node:buffer";
import { header, readResponse, type Response, SocketReader } from "./raw_http.ts";

export interface PolicyRequest {
  path: string;
  headers?: Record<string, string>;
}

function requestBytes(req: PolicyRequest, close: boolean): Buffer {
  let head = `GET ${req.path} HTTP/1.1\r\nHost: ferry.test\r\n`;
  if (close) head += "Connection: close\r\n";
  for (const [k, v] of Object.entries(req.headers ?? {})) head += `${k}: ${v}\r\n`;
  return Buffer.from(head + "\r\n", "latin1");
}

function open(port: number, localAddress?: string): Promise<{ socket: net.Socket; reader: SocketReader }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1", localAddress, allowHalfOpen: true });
    const reader = new SocketReader(socket);
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.off("error", reject);
      socket.on("error", () => {/* seen by the reader */});
      socket.setNoDelay(true);
      resolve({ socket, reader });
    });
  });
}

/** One keep-alive connection to ferry; requests go one at a time. */
export class KeepAliveClient {
  #conn: { socket: net.Socket; reader: SocketReader } | null = null;

  constructor(readonly port: number, readonly localAddress?: string) {}

  async get(req: PolicyRequest): Promise<Response> {
    if (!this.#conn || this.#conn.reader.ended || this.#conn.socket.destroyed) {
      this.#conn?.socket.destroy();
      this.#conn = await open(this.port, this.localAddress);
    }
    const { socket, reader } = this.#conn;
    await new Promise<void>((resolve, reject) => socket.write(requestBytes(req, false), (e) => (e ? reject(e) : resolve())));
    const res = await readResponse(reader);
    if (/\bclose\b/i.test(header(res.headers, "connection") ?? "")) this.close();
    return res;
  }

  close(): void {
    this.#conn?.socket.destroy();
    this.#conn = null;
  }
}

/** One request on a fresh connection from `localAddress` (a 127.0.0.x address), with `Connection: close`. */
export async function requestFrom(port: number, localAddress: string, req: PolicyRequest): Promise<Response> {
  const { socket, reader } = await open(port, localAddress);
  try {
    socket.write(requestBytes(req, true));
    return await readResponse(reader);
  } finally {
    socket.destroy();
  }
}

/**
 * Sends every request in `reqs` over `lanes` keep-alive connections (request i on lane i mod
 * lanes, each lane sequential) and returns the responses in the order of `reqs`.
 */
export async function sendAll(port: number, reqs: PolicyRequest[], lanes = 4): Promise<Response[]> {
  const out: Response[] = new Array(reqs.length);
  const clients = Array.from({ length: Math.min(lanes, reqs.length) }, () => new KeepAliveClient(port));
  try {
    await Promise.all(clients.map(async (client, lane) => {
      for (let i = lane; i < reqs.length; i += clients.length) out[i] = await client.get(reqs[i]);
    }));
  } finally {
    for (const c of clients) c.close();
  }
  return out;
}

/** Resolves once `pred()` holds, checked every few ms; rejects after `timeoutMs` with `what`. */
export async function waitFor(pred: () => boolean, what: string | (() => string), timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}`);
    await new Promise<void>((resolve) => setTimeout(resolve, 5));
  }
}

/** How often each string occurs. */
export function tally(items: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of items) out[s] = (out[s] ?? 0) + 1;
  return out;
}
