/**
 * One backend server and its live state: requests in flight, active and passive health,
 * draining, slow start, counters. Policies read only `available()`, `weight` and `inflight`
 * (Caddy's selection-policy habit); the rest is for the backend, the health checker and logs.
 *
 * A server object outlives a config reload while its backend keeps its address, so that its
 * counters and health carry over (design.md: "per-server counters survive a reload").
 */
import type { PassiveHealthConfig } from "../config/types.ts";
import { HealthState } from "../health/health_state.ts";
import { PassiveHealth } from "../health/passive_health.ts";
import { type Conn, ConnError, runtime } from "../runtime/mod.ts";
import { ConnPool } from "./pool.ts";

export interface ServerSettings {
  /** Relative share, 1..1000. */
  weight: number;
  /** Most requests in flight at once; 0 = no limit. */
  maxConns: number;
  /** Idle keep-alive connections kept, and for how long (ms). */
  maxIdle: number;
  idleMs: number;
  /** Ramp-up time after the server comes (back) up, ms; 0 = off. */
  slowStartMs: number;
  passive: PassiveHealthConfig;
  /** Active check thresholds, or null when the backend has no active checks. */
  active: { rise: number; fall: number } | null;
}

export class UpstreamServer {
  /** `ip:port` (IPv6 in brackets), the identity used by hash policies and logs. */
  readonly address: string;
  readonly hostname: string;
  readonly port: number;
  /** An opaque id for sticky cookies: stable for an address, reveals nothing about it. */
  readonly id: string;
  /** The config entry this server came from, e.g. `app.internal:8080` for a resolved name. */
  origin: string;
  /** Requests (HTTP) or tunnels (TCP) currently using this server. */
  inflight = 0;
  /** Idle keep-alive connections to this server. */
  readonly pool: ConnPool;
  /** No new requests: the address left the DNS answer or the config; in-flight ones finish. */
  draining = false;
  /** Totals since the server was first seen (they survive reloads). */
  readonly stats = { requests: 0, failures: 0 };

  #settings!: ServerSettings;
  #active: HealthState | null = null;
  #activeUp = true;
  #passive!: PassiveHealth;
  /** When the server last came up, for slow start; 0 = up from the start (no ramp). */
  #upSince = 0;
  /** When the last passive mark ends (the server comes back then), for slow start. */
  #passiveUntil = 0;

  constructor(
    addr: { hostname: string; port: number; origin: string; id: string },
    settings: ServerSettings,
    readonly now: () => number = Date.now,
  ) {
    this.hostname = addr.hostname;
    this.port = addr.port;
    this.address = addr.hostname.includes(":") ? `[${addr.hostname}]:${addr.port}` : `${addr.hostname}:${addr.port}`;
    this.origin = addr.origin;
    this.id = addr.id;
    this.pool = new ConnPool(settings.maxIdle, settings.idleMs);
    this.configure(settings);
  }

  /** Applies (new) settings; health state and counters are kept. */
  configure(settings: ServerSettings): void {
    const old = this.#settings;
    this.#settings = settings;
    this.pool.maxIdle = settings.maxIdle;
    this.pool.idleMs = settings.idleMs;
    if (!old || old.passive.max_fails !== settings.passive.max_fails || old.passive.fail_timeout !== settings.passive.fail_timeout) {
      this.#passive = new PassiveHealth(settings.passive, this.now);
    }
    if (!settings.active) {
      this.#active = null;
      this.#activeUp = true;
    } else if (!old?.active || old.active.rise !== settings.active.rise || old.active.fall !== settings.active.fall) {
      this.#active = new HealthState(settings.active.rise, settings.active.fall, old ? this.#activeUp : undefined);
    }
  }

  get settings(): ServerSettings {
    return this.#settings;
  }

  /** The share right now: the configured weight, ramped during slow start. Always > 0. */
  get weight(): number {
    const { weight, slowStartMs } = this.#settings;
    if (slowStartMs <= 0) return weight;
    const now = this.now();
    const since = Math.max(this.#upSince, this.#passiveUntil <= now ? this.#passiveUntil : 0);
    if (since === 0) return weight;
    const elapsed = now - since;
    if (elapsed >= slowStartMs) return weight;
    return weight * Math.max(0.02, elapsed / slowStartMs);
  }

  /** Up as far as health goes: active checks pass and passive health has not marked it down. */
  healthy(): boolean {
    return this.#activeUp && !this.#passive.isDown();
  }

  /** Up for active checks (passive state aside): used when passive health holds back every server. */
  activeUp(): boolean {
    return this.#activeUp;
  }

  /**
   * Passive health lets a new request through: not marked down, and not recovering with its
   * one trial request already in flight. The backend fails open when no server passes this.
   */
  passiveAdmits(): boolean {
    return this.#passive.admits();
  }

  /** Below `max_conns`. */
  hasRoom(): boolean {
    const max = this.#settings.maxConns;
    return max === 0 || this.inflight < max;
  }

  /** For a `localhost` server: the loopback address that accepted last (tried first next time). */
  #loopback = "127.0.0.1";

  /** Called when a request or tunnel releases the server: set by the backend that owns it now. */
  onFree?: () => void;

  /** Set while the backend picks with passive state ignored (passive health held back every server). */
  ignorePassive = false;

  available(): boolean {
    if (this.draining || !this.hasRoom() || !this.#activeUp) return false;
    return this.ignorePassive || this.#passive.admits();
  }

  /** A request or tunnel starts on this server (it may be the one trying it after a passive mark). */
  begin(): void {
    this.inflight++;
    this.stats.requests++;
    this.#passive.begin();
  }

  /**
   * A request or tunnel ended, its failure (if any) already recorded. When it was the trial
   * after a passive mark, returns how that went: `"up"` (the server is back), `"down"` (it
   * failed, the server is marked down again); else null.
   */
  end(): "up" | "down" | null {
    this.inflight--;
    const change = this.#passive.end();
    if (change === "down") this.#passiveUntil = this.#passive.downUntil;
    return change;
  }

  /**
   * Opens a connection within `timeoutMs`. `localhost` is loopback in both families (RFC 6761
   * §6.3) whatever /etc/hosts says, and a local server listens on one or both: try the family
   * that answered last time, then the other. Health checks connect the same way.
   */
  async connect(timeoutMs: number): Promise<Conn> {
    if (!isLocalhost(this.hostname)) return runtime.connect({ hostname: this.hostname, port: this.port, timeoutMs });
    const [first, second] = this.#loopback === "::1" ? ["::1", "127.0.0.1"] : ["127.0.0.1", "::1"];
    try {
      return await runtime.connect({ hostname: first, port: this.port, timeoutMs });
    } catch (e) {
      if (!(e instanceof ConnError) || e.code !== "connection refused") throw e;
      const conn = await runtime.connect({ hostname: second, port: this.port, timeoutMs });
      this.#loopback = second;
      return conn;
    }
  }

  /** Records an active check; returns the transition, if any. */
  recordCheck(ok: boolean): "up" | "down" | null {
    if (!this.#active) return null;
    const change = this.#active.record(ok);
    if (change === "up") {
      this.#activeUp = true;
      this.#upSince = this.now();
    } else if (change === "down") {
      this.#activeUp = false;
    }
    return change;
  }

  /** Records a failure seen on real traffic; true when it marked the server down. */
  recordFailure(): boolean {
    this.stats.failures++;
    if (!this.#passive.recordFailure()) return false;
    this.#passiveUntil = this.#passive.downUntil;
    return true;
  }

  /** Marks a server added after start-up (a reload, a new DNS address) as just come up, for slow start. */
  markNew(): void {
    this.#upSince = this.now();
  }
}

export function isLocalhost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === "localhost" || h === "localhost.";
}
