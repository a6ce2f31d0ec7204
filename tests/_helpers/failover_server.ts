/**
 * A test HTTP server that can fail the ways real backends fail: crash (listener and every open
 * socket gone at once) and come back on the same port, answer nothing, hang up after reading a
 * request. It records every request (with the exact bytes) and the connections it accepted,
 * including how many were open at once, so tests can tell health probes from real traffic and
 * see whether probes pile up.
 *
 * node:net only, so it runs under both test runners.
 */
import net from "node:net";
import { Buffer } from "node:buffer";
import { type HeaderList, header, readRequest, type Request, serializeResponse, SocketReader, Watch } from "./raw_http.ts";

/** The User-Agent of ferry's `type: http` health checks (lib/health/probe_http.ts). */
export const PROBE_USER_AGENT = "ferry-health-check";

export interface ServedRequest extends Request {
  /** Index of the connection that carried it (in `FailoverServer.connections`). */
  conn: number;
  /** Sent by ferry's health checker rather than on behalf of a client. */
  probe: boolean;
  /** `performance.now()` when the whole request had arrived. */
  at: number;
}

/** What the handler wants done with a request. */
export type Action =
  | { status?: number; headers?: HeaderList | Record<string, string>; body?: string | Buffer }
  /** Keep the connection open and never answer. */
  | { hang: true }
  /** Close the connection without a byte of response (the request was read whole). */
  | { hangUp: true };

export interface AcceptedConn {
  id: number;
  socket: net.Socket;
  /** Accepted at (`performance.now()`). */
  at: number;
  /** The peer closed (or the socket was destroyed). */
  closed: boolean;
}

export class FailoverServer {
  readonly requests: ServedRequest[] = [];
  readonly connections: AcceptedConn[] = [];
  readonly watch = new Watch();
  /** Most connections open at the same time so far. */
  maxOpen = 0;
  port = 0;
  #open = 0;
  #server: net.Server | null = null;
  #handler: (req: ServedRequest) => Action | Promise<Action>;

  private constructor(handler: (req: ServedRequest) => Action | Promise<Action>) {
    this.#handler = handler;
  }

  /** Starts listening on 127.0.0.1 (a free port unless `port` is given). */
  static async start(handler: (req: ServedRequest) => Action | Promise<Action>, port = 0): Promise<FailoverServer> {
    const s = new FailoverServer(handler);
    await s.#listen(port);
    return s;
  }

  /** `127.0.0.1:PORT`, as written in a config. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Connections open right now. */
  get open(): number {
    return this.#open;
  }

  /** True while the listener is up. */
  get listening(): boolean {
    return this.#server !== null;
  }

  /** Requests sent on behalf of clients (not health probes). */
  traffic(filter: (r: ServedRequest) => boolean = () => true): ServedRequest[] {
    return this.requests.filter((r) => !r.probe && filter(r));
  }

  probes(): ServedRequest[] {
    return this.requests.filter((r) => r.probe);
  }

  /** Resolves when `pred()` holds, re-checked on every server event; rejects after `timeoutMs`. */
  until(pred: () => boolean, what: string | (() => string), timeoutMs = 5_000): Promise<void> {
    return this.watch.until(pred, timeoutMs, what);
  }

  /**
   * A crash: the listener goes and every open socket is destroyed in the same turn, so
   * requests in flight get no answer and new connections are refused.
   */
  async crash(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = null;
    for (const c of this.connections) if (!c.closed) c.socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens again on the same port after a crash. */
  async restart(): Promise<void> {
    if (this.#server) return;
    await this.#listen(this.port);
  }

  close(): Promise<void> {
    return this.crash();
  }

  async #listen(port: number): Promise<void> {
    // allowHalfOpen false: when ferry closes a connection, this side closes too.
    const server = net.createServer({ allowHalfOpen: false }, (socket) => this.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ port, host: "127.0.0.1" }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  #accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    const rec: AcceptedConn = { id: this.connections.length, socket, at: performance.now(), closed: false };
    this.connections.push(rec);
    this.#open++;
    this.maxOpen = Math.max(this.maxOpen, this.#open);
    const gone = () => {
      if (rec.closed) return;
      rec.closed = true;
      this.#open--;
      this.watch.notify();
    };
    socket.on("end", gone);
    socket.on("close", gone);
    socket.on("error", gone);
    this.watch.notify();
    void this.#serve(rec).catch(() => socket.destroy());
  }

  async #serve(rec: AcceptedConn): Promise<void> {
    const socket = rec.socket;
    const reader = new SocketReader(socket, 60_000);
    for (;;) {
      const req = await readRequest(reader);
      if (!req) return;
      const served: ServedRequest = {
        ...req,
        conn: rec.id,
        probe: header(req.headers, "user-agent") === PROBE_USER_AGENT,
        at: performance.now(),
      };
      this.requests.push(served);
      this.watch.notify();
      const action = await this.#handler(served);
      if ("hang" in action) return;
      if ("hangUp" in action) {
        socket.destroy();
        return;
      }
      if (socket.destroyed) return;
      socket.write(serializeResponse(action.status ?? 200, action.headers ?? [], action.body ?? ""));
      if (/\bclose\b/i.test(header(req.headers, "connection") ?? "")) {
        socket.end();
        return;
      }
    }
  }
}

/** A server that answers every request 200 with its own name as the body (and `X-Backend`). */
export function namedServer(name: string, port = 0): Promise<FailoverServer> {
  return FailoverServer.start(() => ({ status: 200, headers: { "Content-Type": "text/plain", "X-Backend": name }, body: name }), port);
}
