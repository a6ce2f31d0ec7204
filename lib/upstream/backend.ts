/**
 * A backend: its servers, the policy that picks among them, and dialing with fail-over.
 */
import type { BackendConfig } from "../config/types.ts";
import { createPolicy, type PickContext, type Policy } from "../balance/mod.ts";
import { type Conn, ConnError, runtime } from "../runtime/mod.ts";
import { UpstreamServer } from "./server.ts";

export class Backend {
  readonly name: string;
  readonly config: BackendConfig;
  readonly servers: UpstreamServer[];
  readonly policy: Policy<UpstreamServer>;

  constructor(cfg: BackendConfig) {
    this.name = cfg.name;
    this.config = cfg;
    this.policy = createPolicy<UpstreamServer>(cfg.balance);
    this.servers = cfg.servers.map((s) =>
      new UpstreamServer(s, { maxIdle: cfg.max_idle_conns, idleMs: cfg.timeouts.idle })
    );
  }

  pick(ctx: PickContext, exclude?: ReadonlySet<UpstreamServer>): UpstreamServer | null {
    return this.policy.pick(this.servers, ctx, exclude);
  }

  /** Opens a new connection to `server` within the backend's connect timeout. */
  dial(server: UpstreamServer): Promise<Conn> {
    return runtime.connect({
      hostname: server.hostname,
      port: server.port,
      timeoutMs: this.config.timeouts.connect,
    });
  }

  close(): void {
    for (const s of this.servers) s.pool.closeAll();
  }
}

export interface DialResult {
  server: UpstreamServer;
  conn: Conn;
  /** True when the connection came from the idle pool (a stale one may fail at first use). */
  reused: boolean;
}

/** One failed connection attempt, for the error message and the error log. */
export interface DialFailure {
  server: UpstreamServer;
  error: ConnError;
}

/**
 * Picks a server and connects, trying every other available server once when a connect fails
 * (refused, timeout): nothing was sent yet, so moving on is always safe.
 */
export async function connectAny(
  backend: Backend,
  ctx: PickContext,
  opts: { usePool: boolean },
): Promise<DialResult | { failures: DialFailure[] }> {
  const tried = new Set<UpstreamServer>();
  const failures: DialFailure[] = [];
  for (;;) {
    const server = backend.pick(ctx, tried);
    if (!server) return { failures };
    tried.add(server);
    if (opts.usePool) {
      const conn = server.pool.take();
      if (conn) return { server, conn, reused: true };
    }
    try {
      return { server, conn: await backend.dial(server), reused: false };
    } catch (e) {
      failures.push({ server, error: e instanceof ConnError ? e : new ConnError("other", String(e)) });
    }
  }
}
