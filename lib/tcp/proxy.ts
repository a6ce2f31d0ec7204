/**
 * TCP mode (layer 4): each accepted client connection becomes a byte tunnel to one server of the
 * listener's backend. Nothing is parsed, so the only decisions are which server, and when to
 * give up: when no server accepts the connection, when either side fails, or when the tunnel
 * has been silent for `idleMs` (HAProxy's `timeout tunnel`, nginx's `proxy_timeout`).
 */
import { ProxyError } from "../errors.ts";
import { tunnel } from "../net/pipe.ts";
import { type Conn, ConnError } from "../runtime/mod.ts";
import type { Backend } from "../upstream/backend.ts";
import type { UpstreamServer } from "../upstream/server.ts";

/** Where the TCP proxy reports failures; the real logger is wired in by the listener. */
export interface TcpLogger {
  error(msg: string): void;
}

export interface TcpProxyOptions {
  /** Close both sides after this many ms without a byte in either direction (`tcp_idle`). */
  idleMs: number;
  log: TcpLogger;
  /** Called once with the outcome, when both connections are closed (access log, tests). */
  onEnd?: (session: TcpSession) => void;
}

/** What happened to one client connection, for the access log and the tests. */
export interface TcpSession {
  /** The server the client was tunnelled to (`host:port` as configured), or null if none. */
  server: string | null;
  /** Bytes delivered from the client to the server, and back. */
  clientToServer: number;
  serverToClient: number;
  /** How it ended: both sides finished, silence for idleMs, a side failed, or no server. */
  outcome: "done" | "idle_timeout" | "aborted" | "connect_failed" | "no_server";
  /** The connect failure (a ProxyError) or the error that aborted the tunnel. */
  error?: unknown;
}

/**
 * Tunnels `client` to a server of `backend` until both directions have finished (each side's
 * FIN is passed on as a half-close, RFC 9293 §3.6), either side fails, or the tunnel idles out.
 * Never rejects; both connections are closed when it resolves.
 */
export async function handleTcpConn(client: Conn, backend: Backend, opts: TcpProxyOptions): Promise<void> {
  const session = await runSession(client, backend, opts);
  try {
    opts.onEnd?.(session);
  } catch (e) {
    opts.log.error(`tcp session report failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function runSession(client: Conn, backend: Backend, opts: TcpProxyOptions): Promise<TcpSession> {
  const dial = await connectWithRetries(client, backend).catch((e: unknown) => ({
    error: new ProxyError("internal", `cannot connect to backend "${backend.name}": ${String(e)}`),
  }));
  if ("error" in dial) {
    client.close();
    opts.log.error(dial.error.message);
    const outcome = dial.error.kind === "connect_failed" ? "connect_failed" : "no_server";
    return { server: null, clientToServer: 0, serverToClient: 0, outcome, error: dial.error };
  }

  const { server, conn: upstream } = dial;
  try {
    const r = await tunnel(client, upstream, { idleMs: opts.idleMs });
    return {
      server: server.address,
      clientToServer: r.aToB,
      serverToClient: r.bToA,
      outcome: r.idledOut ? "idle_timeout" : r.error === undefined ? "done" : "aborted",
      error: r.error,
    };
  } finally {
    backend.release(server);
    client.close();
    upstream.close();
  }
}

/**
 * A server and a connection to it, counted in flight. Nothing has been sent when a connect
 * fails, so the next server is always safe to try, up to the backend's `retries` and within
 * `retry_timeout`. Errors read `cannot connect to upstream "127.0.0.1:9001": connection refused`,
 * one such part per server tried; `no_server` when nothing could even be tried.
 */
async function connectWithRetries(client: Conn, backend: Backend): Promise<{ server: UpstreamServer; conn: Conn } | { error: ProxyError }> {
  const started = Date.now();
  const tried = new Set<UpstreamServer>();
  const failures: string[] = [];
  for (;;) {
    const server = await backend.acquire({ clientAddr: client.remoteAddr.hostname }, tried);
    if (typeof server === "string") {
      if (failures.length) return { error: new ProxyError("connect_failed", failures.join("; ")) };
      if (server === "queue_timeout") {
        return { error: new ProxyError("queue_timeout", `every server of backend "${backend.name}" stayed at max_conns for ${backend.config.queue_timeout} ms`) };
      }
      return { error: new ProxyError("no_server", `no server available in backend "${backend.name}"`) };
    }
    tried.add(server);
    try {
      return { server, conn: await backend.dial(server) };
    } catch (e) {
      const message = `cannot connect to upstream "${server.address}": ${e instanceof ConnError ? e.message : String(e)}`;
      failures.push(message);
      backend.reportFailure(server, message);
      backend.release(server);
      if (tried.size >= backend.maxAttempts || Date.now() - started >= backend.config.retry_timeout) {
        return { error: new ProxyError("connect_failed", failures.join("; ")) };
      }
    }
  }
}
