/**
 * One backend server and its live state. Policies read `available()`, `weight` and `inflight`;
 * nothing else about a server is their business (Caddy's selection-policy habit).
 */
import type { ServerConfig } from "../config/types.ts";
import { ConnPool } from "./pool.ts";

export class UpstreamServer {
  readonly address: string;
  readonly hostname: string;
  readonly port: number;
  readonly weight: number;
  /** Requests (HTTP) or tunnels (TCP) currently using this server. */
  inflight = 0;
  /** Set by health checking; a server that is down receives no new requests. */
  healthy = true;
  /** Idle keep-alive connections to this server. */
  readonly pool: ConnPool;

  constructor(cfg: ServerConfig, pool: { maxIdle: number; idleMs: number }) {
    this.address = cfg.address;
    this.hostname = cfg.hostname;
    this.port = cfg.port;
    this.weight = cfg.weight;
    this.pool = new ConnPool(pool.maxIdle, pool.idleMs);
  }

  available(): boolean {
    return this.healthy;
  }
}
