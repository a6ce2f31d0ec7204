/**
 * Turns a validated config into running listeners: builds the backends (resolving DNS names),
 * binds every listener (all or none), and serves each accepted connection in its mode.
 *
 * `reload()` applies a new config without dropping a connection: listeners whose address and
 * mode stay keep their socket and switch to the new routes for their next request; new ones are
 * bound (all or none, else the old config stays); removed ones stop accepting. Backends are
 * rebuilt, taking over every server whose address stays, with its counters and health.
 * `stop()` drains: listeners close at once, idle keep-alive connections are closed, busy ones
 * may finish their exchange within the grace period.
 */
import type { Config, ListenerConfig } from "../config/types.ts";
import { type HttpContext, serveHttpConn } from "../http/serve_conn.ts";
import { AccessLog, errorLog } from "../log/access_log.ts";
import { Router } from "../route/match.ts";
import { type Conn, ConnError, type Listener, runtime } from "../runtime/mod.ts";
import { handleTcpConn } from "../tcp/proxy.ts";
import { Backend } from "../upstream/backend.ts";
import { refuseHttpConn } from "../http/lingering_close.ts";
import { ConnLimits } from "./conn_limits.ts";
import { ConnTracker } from "./conn_tracker.ts";
import { FdBudget } from "./fd_budget.ts";

export interface BoundListener {
  name: string;
  mode: string;
  /** `host:port` as bound (IPv6 in brackets). */
  address: string;
}

export interface RunningServer {
  listeners: BoundListener[];
  /** Applies a new config; throws a ListenError (and keeps the old config) when a new port cannot be bound. */
  reload(config: Config): Promise<void>;
  /** The running config's `shutdown_timeout`, ms: how long `stop()` waits. */
  readonly shutdownTimeout: number;
  /**
   * Stops accepting, then waits up to `shutdownTimeout` for open connections before closing
   * them (and says so in the error log: what is cut must not vanish without a trace).
   */
  stop(): Promise<void>;
}

/** ferry cannot start: a port cannot be bound, or the access log cannot be opened (exit 1). */
export class ListenError extends Error {}

/** A bound socket and what its connections are served with now (swapped by a reload). */
interface Live {
  cfg: ListenerConfig;
  listener: Listener;
  http: HttpContext;
  /** The socket's connection counts; they stay with it across reloads. */
  limits: ConnLimits;
}

export async function startServer(config: Config): Promise<RunningServer> {
  const tracker = new ConnTracker();
  const budget = new FdBudget();
  let accessLog = openAccessLog(config.log.access);
  let shutdownTimeout = config.shutdown_timeout;
  let backends = await buildBackends(config, new Map());
  let live: Live[];
  try {
    live = bindAll(config.listeners, [], backends, accessLog, tracker, budget);
  } catch (e) {
    for (const b of backends.values()) b.stop();
    throw e;
  }
  for (const b of backends.values()) b.activate();

  return {
    get listeners() {
      return live.map(describe);
    },
    get shutdownTimeout() {
      return shutdownTimeout;
    },
    async reload(next: Config) {
      const nextLog = next.log.access === accessLog.target ? accessLog : openAccessLog(next.log.access);
      const nextBackends = await buildBackends(next, backends);
      let nextLive: Live[];
      try {
        nextLive = bindAll(next.listeners, live, nextBackends, nextLog, tracker, budget);
      } catch (e) {
        for (const b of nextBackends.values()) b.stop();
        // The old backends take their servers back.
        for (const b of backends.values()) b.reclaim();
        throw e;
      }
      for (const old of live) if (!nextLive.some((l) => l.listener === old.listener)) old.listener.close();
      for (const b of nextBackends.values()) b.activate();
      for (const b of backends.values()) b.stop(nextBackends.get(b.name));
      if (nextLog !== accessLog) accessLog.flush();
      live = nextLive;
      backends = nextBackends;
      accessLog = nextLog;
      shutdownTimeout = next.shutdown_timeout;
    },
    async stop() {
      for (const l of live) l.listener.close();
      tracker.draining = true;
      tracker.closeIdle();
      await tracker.waitAll(shutdownTimeout);
      const busy = tracker.size;
      if (busy > 0) {
        const them = busy === 1 ? "1 connection" : `${busy} connections`;
        errorLog(`stop: ${them} still busy after shutdown_timeout (${formatMs(shutdownTimeout)}): closing; the requests or tunnels on them are cut`);
        tracker.cutting = true;
        tracker.closeAll();
        // Give the cut exchanges a moment to write their access-log lines before the exit.
        await tracker.waitAll(1_000);
      }
      for (const b of backends.values()) b.stop();
      accessLog.flush();
    },
  };
}

function openAccessLog(target: string): AccessLog {
  try {
    return new AccessLog(target);
  } catch (e) {
    throw new ListenError((e as Error).message);
  }
}

/** New Backend objects for `config`, each taking over the servers of its namesake in `previous`. */
async function buildBackends(config: Config, previous: Map<string, Backend>): Promise<Map<string, Backend>> {
  const backends = new Map<string, Backend>();
  for (const [name, cfg] of config.backends) {
    backends.set(name, new Backend(cfg, { previous: previous.get(name), resolver: config.resolver, log: errorLog }));
  }
  await Promise.all([...backends.values()].map((b) => b.start()));
  return backends;
}

/**
 * The listeners of `configs`: a current socket with the same address and mode is kept (its
 * context updated in place, so open connections see the new routes), others are bound anew.
 * All or none: on a failure, sockets bound here are closed again.
 */
function bindAll(
  configs: ListenerConfig[],
  current: Live[],
  backends: Map<string, Backend>,
  accessLog: AccessLog,
  tracker: ConnTracker,
  budget: FdBudget,
): Live[] {
  const result: Live[] = [];
  const fresh: Listener[] = [];
  const updates: (() => void)[] = [];
  try {
    for (const cfg of configs) {
      const same = current.find((l) => sameSocket(l.cfg, cfg) && !result.includes(l));
      const http = httpContext(cfg, backends, accessLog, tracker);
      if (same) {
        updates.push(() => {
          same.cfg = cfg;
          Object.assign(same.http, http);
        });
        result.push(same);
        continue;
      }
      const entry = { cfg, http } as Live;
      entry.limits = new ConnLimits(budget, (m) => entry.http.report(m));
      entry.listener = bind(cfg, (conn) => serve(entry, conn, tracker));
      fresh.push(entry.listener);
      result.push(entry);
    }
  } catch (e) {
    for (const l of fresh) l.close();
    throw e;
  }
  for (const u of updates) u();
  return result;
}

function serve(live: Live, conn: Conn, tracker: ConnTracker): void {
  const { cfg, http, limits } = live;
  const ip = conn.remoteAddr.hostname;
  const refusal = limits.admit(ip, cfg.limits);
  if (refusal) return refuse(live, conn, refusal.status);
  const served = cfg.mode === "tcp"
    ? handleTcpConn(conn, http.backends.get(cfg.backend!)!, { idleMs: cfg.timeouts.tcp_idle, log: { error: http.report } })
    : serveHttpConn(conn, http);
  tracker.track(conn, served.finally(() => limits.release(ip)));
}

/** A connection over a limit: HTTP clients get an error page (503 or 429), TCP ones a close. */
function refuse({ cfg, limits }: Live, conn: Conn, status: number): void {
  if (cfg.mode === "tcp" || !limits.holdRefused()) return conn.close();
  refuseHttpConn(conn, status).finally(() => limits.releaseRefused());
}

function httpContext(cfg: ListenerConfig, backends: Map<string, Backend>, accessLog: AccessLog, tracker: ConnTracker): HttpContext {
  return {
    listener: cfg,
    router: new Router(cfg.routes),
    backends,
    accessLog,
    proto: "http",
    report: (m: string) => errorLog(`${cfg.name}: ${m}`),
    idle: tracker,
  };
}

function bind(cfg: ListenerConfig, onConn: (conn: Conn) => void): Listener {
  try {
    return runtime.listen({ hostname: cfg.listen.hostname, port: cfg.listen.port }, onConn);
  } catch (e) {
    const why = e instanceof ConnError ? e.message : String(e);
    throw new ListenError(`cannot listen on "${formatAddr(cfg.listen.hostname, cfg.listen.port)}" (listener "${cfg.name}"): ${why}`);
  }
}

/** A socket can be kept across a reload when it listens on the same address in the same mode. */
function sameSocket(a: ListenerConfig, b: ListenerConfig): boolean {
  return a.mode === b.mode && a.listen.port === b.listen.port && a.listen.hostname.toLowerCase() === b.listen.hostname.toLowerCase();
}

function describe({ cfg, listener }: Live): BoundListener {
  return { name: cfg.name, mode: cfg.mode, address: formatAddr(listener.addr.hostname || cfg.listen.hostname, listener.addr.port) };
}

function formatAddr(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

/** `1500` → `1.5s`, `250` → `250ms`: a duration as a config would write it. */
function formatMs(ms: number): string {
  return ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`;
}
