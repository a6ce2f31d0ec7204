/**
 * Turns a validated config into running listeners: binds every listener (all or none), builds
 * the backends and routers, and serves each accepted connection in its mode. `stop()` drains:
 * listeners close at once, idle keep-alive connections are closed, busy ones may finish their
 * exchange within the grace period.
 */
import type { Config, ListenerConfig } from "../config/types.ts";
import { serveHttpConn, type HttpContext } from "../http/serve_conn.ts";
import { AccessLog, errorLog } from "../log/access_log.ts";
import { Router } from "../route/match.ts";
import { type Conn, ConnError, type Listener, runtime } from "../runtime/mod.ts";
import { handleTcpConn } from "../tcp/proxy.ts";
import { Backend } from "../upstream/backend.ts";
import { ConnTracker } from "./conn_tracker.ts";

export interface BoundListener {
  name: string;
  mode: string;
  /** `host:port` as bound (IPv6 in brackets). */
  address: string;
}

export interface RunningServer {
  listeners: BoundListener[];
  /** Stops accepting, then waits up to `graceMs` for open connections before closing them. */
  stop(graceMs: number): Promise<void>;
}

/** ferry cannot start: a port cannot be bound, or the access log cannot be opened (exit 1). */
export class ListenError extends Error {}

export function startServer(config: Config): RunningServer {
  let accessLog: AccessLog;
  try {
    accessLog = new AccessLog(config.log.access);
  } catch (e) {
    throw new ListenError((e as Error).message);
  }
  const backends = new Map<string, Backend>();
  for (const [name, cfg] of config.backends) backends.set(name, new Backend(cfg));
  const tracker = new ConnTracker();
  const bound: { cfg: ListenerConfig; listener: Listener }[] = [];

  for (const cfg of config.listeners) {
    const onConn = connHandler(cfg, backends, accessLog, tracker);
    try {
      bound.push({ cfg, listener: runtime.listen({ hostname: cfg.listen.hostname, port: cfg.listen.port }, onConn) });
    } catch (e) {
      for (const b of bound) b.listener.close();
      const why = e instanceof ConnError ? e.message : String(e);
      throw new ListenError(`cannot listen on "${formatAddr(cfg.listen.hostname, cfg.listen.port)}" (listener "${cfg.name}"): ${why}`);
    }
  }

  return {
    listeners: bound.map(({ cfg, listener }) => ({
      name: cfg.name,
      mode: cfg.mode,
      address: formatAddr(listener.addr.hostname || cfg.listen.hostname, listener.addr.port),
    })),
    async stop(graceMs: number) {
      for (const b of bound) b.listener.close();
      tracker.draining = true;
      tracker.closeIdle();
      await tracker.waitAll(graceMs);
      tracker.closeAll();
      for (const b of backends.values()) b.close();
      accessLog.flush();
    },
  };
}

function connHandler(cfg: ListenerConfig, backends: Map<string, Backend>, accessLog: AccessLog, tracker: ConnTracker) {
  const report = (m: string) => errorLog(`${cfg.name}: ${m}`);
  if (cfg.mode === "tcp") {
    const backend = backends.get(cfg.backend!)!;
    return (conn: Conn) => {
      tracker.track(conn, handleTcpConn(conn, backend, { idleMs: cfg.timeouts.tcp_idle, log: { error: report } }));
    };
  }
  const ctx: HttpContext = {
    listener: cfg,
    router: new Router(cfg.routes),
    backends,
    accessLog,
    proto: "http",
    report,
    idle: tracker,
  };
  return (conn: Conn) => {
    tracker.track(conn, serveHttpConn(conn, ctx));
  };
}

function formatAddr(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}
