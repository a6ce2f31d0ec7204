/**
 * A backend: its servers (config entries, DNS names expanded to one server per address), the
 * policy that picks among them, the queue for servers at `max_conns`, and the health checks.
 *
 * Servers are objects that outlive a reload: a new Backend built with `previous` takes over
 * the previous one's server for every address it still has, with its counters and health.
 */
import { createHash } from "node:crypto";
import type { BackendConfig, HostPort, ServerConfig } from "../config/types.ts";
import type { AbortFlag } from "../net/abort_flag.ts";
import { createPolicy, type PickContext, type Policy } from "../balance/mod.ts";
import { ActiveChecker } from "../health/active_checker.ts";
import type { Conn } from "../runtime/mod.ts";
import { isIpLiteral, resolveHost } from "./resolve_host.ts";
import { isLocalhost, type ServerSettings, UpstreamServer } from "./server.ts";

/** Re-resolving sooner than this is pointless churn, whatever the TTL says. */
const MIN_RESOLVE_MS = 1_000;
/** Longest wait for the first DNS answers at start-up before serving without them. */
const START_RESOLVE_MS = 5_000;

export interface BackendOptions {
  /** DNS server for names (`resolver:`), else the system resolver. */
  resolver?: HostPort;
  /** The backend of the same name before a reload: its servers (and their state) are taken over. */
  previous?: Backend;
  /** Operator-facing messages (health transitions, DNS failures). */
  log: (message: string) => void;
}

/** Why no server could be had: none available, all full for `queue_timeout`, or the client left (`gone`). */
export type NoServer = "none" | "queue_timeout" | "aborted";

/** One config entry and the servers it currently stands for. */
interface Entry {
  cfg: ServerConfig;
  servers: UpstreamServer[];
  /** Resolved at least once (later answers bring new servers, which then ramp up). */
  resolved: boolean;
  /** Addresses of this entry that another entry already has (reported once each). */
  duplicates: Set<string>;
  timer?: ReturnType<typeof setTimeout>;
  lastError?: string;
}

export class Backend {
  readonly name: string;
  readonly config: BackendConfig;
  readonly policy: Policy<UpstreamServer>;
  #log: (message: string) => void;
  #resolver?: HostPort;
  #entries: Entry[];
  /** Every server that may still carry requests, draining ones included, by address. */
  #all = new Map<string, UpstreamServer>();
  #servers: UpstreamServer[] = [];
  #checker: ActiveChecker<UpstreamServer> | null = null;
  #waiters: (() => void)[] = [];
  /**
   * Servers of the previous backend (a reload) that no entry has claimed yet: a name may still
   * resolve to them. `activate()` drains what is left; until then the previous backend, which
   * is still serving, must find its servers untouched.
   */
  #leftover: Map<string, UpstreamServer>;
  #owners = new WeakMap<UpstreamServer, () => void>();
  #stopped = false;
  /** The backend that replaced this one in a reload. */
  #successor: Backend | undefined;
  /** Serving: `activate()` was called (at start, or when a reload commits). */
  #live = false;
  /**
   * Wakes every waiter: each one picks again, in queue order, and those that still find nothing
   * (a retry that excludes the server that freed up) wait again. Waking only the first would
   * strand the others when the first cannot use the server.
   */
  readonly #wake = () => {
    for (const w of this.#waiters.splice(0)) w();
  };

  constructor(cfg: BackendConfig, opts: BackendOptions) {
    this.name = cfg.name;
    this.config = cfg;
    this.policy = createPolicy<UpstreamServer>(cfg.balance);
    this.#log = opts.log;
    this.#resolver = opts.resolver;
    const inherited = this.#leftover = opts.previous ? opts.previous.#takeOver() : new Map<string, UpstreamServer>();
    const reloaded = opts.previous !== undefined;
    this.#entries = cfg.servers.map((s) => ({ cfg: s, servers: [], resolved: reloaded, duplicates: new Set<string>() }));
    for (const entry of this.#entries) {
      if (isStatic(entry.cfg.hostname)) this.#setAddresses(entry, [entry.cfg.hostname], inherited);
    }
    // A name keeps its previous addresses until it is resolved again, so a reload does not
    // empty a backend while DNS answers. They are what the running config already had, not
    // news: not logged as added. One it was draining stays a leftover (drained on activate,
    // revived only if the name's next answer has it again), so it is not reported twice.
    for (const entry of this.#entries) {
      if (isStatic(entry.cfg.hostname)) continue;
      const known = [...inherited.values()].filter((s) => s.origin === entry.cfg.address && !s.draining).map((s) => s.hostname);
      if (known.length) this.#setAddresses(entry, known, inherited, false);
    }
    this.#rebuild();
  }

  /** The servers taking new requests, in config order. */
  get servers(): readonly UpstreamServer[] {
    return this.#servers;
  }

  /** Resolves names (waiting up to 5s for the first answers), then starts DNS refreshes and health checks. */
  async start(): Promise<void> {
    const names = this.#entries.filter((e) => !isStatic(e.cfg.hostname));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, START_RESOLVE_MS)));
    await Promise.race([Promise.all(names.map((e) => this.#refresh(e))), late]);
    clearTimeout(timer);
    if (this.config.health && !this.#stopped) {
      this.#checker = new ActiveChecker<UpstreamServer>(this.config.health, (s, ok, detail) => this.#onCheck(s, ok, detail));
      this.#checker.setTargets(this.#servers);
    }
  }

  /**
   * Stops checks and DNS refreshes; idle connections of servers nobody took over are closed.
   * `successor`: the backend of the same name after a reload. Requests queued here keep waiting
   * (the servers they wait for now belong to it, and it is the one woken when they free up);
   * without one (shutdown, or the backend left the config), they are answered now.
   */
  stop(successor?: Backend): void {
    this.#stopped = true;
    this.#checker?.stop();
    for (const e of this.#entries) clearTimeout(e.timer);
    for (const s of this.#all.values()) if (this.#owns(s)) s.pool.closeAll();
    this.#successor = successor;
    const waiters = this.#waiters.splice(0);
    if (successor) {
      // Queued requests look again at once: the new config may have room for them (more servers,
      // a higher max_conns), and they go before requests that arrive after the reload.
      const next = successor.#current();
      next.#waiters.unshift(...waiters);
      next.#wake();
    } else for (const w of waiters) w();
  }

  /** The backend that now owns this one's servers: itself, or its newest successor after reloads. */
  #current(): Backend {
    let b: Backend = this;
    while (b.#successor) b = b.#successor;
    return b;
  }

  /**
   * Picks a server for a request: the sticky one when it is available, else the policy's
   * choice. When passive health is what holds back every server, picks as if there were no
   * passive state: the marks are guesses from recent errors, and refusing everything is a
   * certain outage (Envoy's "panic mode" reasons the same way; nginx ignores max_fails for a
   * lone server). "Held back" covers a server whose mark has ended but whose one trial request
   * is still in flight: the trial may take up to `timeouts.response`, and one request at a time
   * is there to spare a server that may still be dead while others carry the traffic, not to
   * answer 503 when there are no others. Servers that active checks found down stay out (those
   * were probed), and so do draining ones; `max_conns` still holds, so a full server makes
   * requests queue as usual.
   */
  pick(ctx: PickContext, exclude?: ReadonlySet<UpstreamServer>, stickyId?: string): UpstreamServer | null {
    if (stickyId !== undefined) {
      const s = this.#servers.find((x) => x.id === stickyId);
      if (s && s.available() && !exclude?.has(s)) return s;
    }
    const picked = this.policy.pick(this.#servers, ctx, exclude);
    if (picked) return picked;
    const candidates = this.#servers.filter((s) => !exclude?.has(s) && !s.draining && s.activeUp());
    // A candidate that passive health lets through is out for another reason (it is full): the
    // request queues for it rather than failing open onto servers that are held back.
    if (candidates.length === 0 || candidates.some((s) => s.passiveAdmits())) return null;
    for (const s of candidates) s.ignorePassive = true;
    try {
      return this.policy.pick(this.#servers, ctx, exclude);
    } finally {
      for (const s of candidates) s.ignorePassive = false;
    }
  }

  /**
   * A server for one request or tunnel, counted in flight until `release()`. When every
   * eligible server is at `max_conns`, waits (FIFO) up to `queue_timeout` for one to free up.
   */
  async acquire(ctx: PickContext, exclude?: ReadonlySet<UpstreamServer>, stickyId?: string, gone?: AbortFlag): Promise<UpstreamServer | NoServer> {
    let deadline = 0;
    for (;;) {
      if (gone?.aborted) return "aborted";
      // A request that waited through a reload picks among the new backend's servers, under its
      // limits: servers added to relieve a queue must relieve the requests already in it.
      const current = this.#current();
      const s = current.pick(ctx, exclude, stickyId);
      if (s) {
        s.begin();
        return s;
      }
      const full = current.#servers.some((x) => !exclude?.has(x) && x.activeUp() && !x.hasRoom());
      if (!full || (current.#stopped && !current.#successor)) return "none";
      const now = Date.now();
      if (deadline === 0) deadline = now + this.config.queue_timeout;
      if (now >= deadline) return "queue_timeout";
      const woken = await this.#waitForRoom(deadline - now, gone);
      if (gone?.aborted) return "aborted";
      if (!woken) return "queue_timeout";
    }
  }

  /** Ends a request or tunnel on `s`; call it after reporting the request's failure, if any. */
  release(s: UpstreamServer): void {
    const change = s.end();
    if (change === "down") {
      this.#log(`backend "${this.name}": server ${describeServer(s)} marked down again for ${this.config.passive.fail_timeout} ms: the first request after the last mark failed too`);
    } else if (change === "up") {
      // The mark's start was logged; without this line its end would pass in silence.
      this.#log(`backend "${this.name}": server ${describeServer(s)} is up again: a request succeeded after fail_timeout`);
    }
    // The server's current owner, which after a reload may be a newer backend than this one.
    s.onFree?.();
  }

  /** Opens a new connection to `server` within the backend's connect timeout. */
  dial(server: UpstreamServer): Promise<Conn> {
    return server.connect(this.config.timeouts.connect);
  }

  /** Counts a failure seen on real traffic towards passive health, and says so when it marks the server down. */
  reportFailure(s: UpstreamServer, reason: string): void {
    if (s.recordFailure()) {
      const p = this.config.passive;
      this.#log(`backend "${this.name}": server ${describeServer(s)} marked down for ${p.fail_timeout} ms after ${p.max_fails} failed request${p.max_fails === 1 ? "" : "s"}: ${reason}`);
    }
  }

  /** How many attempts a request may make in all: the first plus `retries`. */
  get maxAttempts(): number {
    const r = this.config.retries;
    return 1 + (r === "auto" ? Math.max(0, this.#servers.length - 1) : r);
  }

  #onCheck(s: UpstreamServer, ok: boolean, detail: string): void {
    if (this.#stopped) return;
    const change = s.recordCheck(ok);
    if (change === "down") this.#log(`backend "${this.name}": server ${describeServer(s)} is down: health check failed: ${detail}`);
    else if (change === "up") this.#log(`backend "${this.name}": server ${describeServer(s)} is up: health check passed`);
    // Up: a queued request may use the server. Down: a queued request waiting for it alone must
    // learn now that it will not come back soon, and get its 503 instead of waiting out the queue.
    if (change) this.#wake();
  }

  #waitForRoom(ms: number, gone?: AbortFlag): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (woken: boolean) => {
        clearTimeout(timer);
        stopListening?.();
        // The queue may have moved to a successor (a reload) since this request joined it.
        const queue = this.#current().#waiters;
        const i = queue.indexOf(wake);
        if (i >= 0) queue.splice(i, 1);
        resolve(woken);
      };
      const wake = () => done(true);
      const giveUp = () => done(false);
      const timer = setTimeout(giveUp, ms);
      const stopListening = gone?.onAbort(giveUp);
      this.#current().#waiters.push(wake);
    });
  }

  /** Resolves one named entry, applies the answer, and schedules the next lookup. */
  async #refresh(entry: Entry): Promise<void> {
    if (this.#stopped) return;
    let next = this.config.resolve_interval;
    try {
      const r = await resolveHost(entry.cfg.hostname, { resolver: this.#resolver });
      if (this.#stopped) return;
      if (entry.lastError) this.#log(`backend "${this.name}": "${entry.cfg.hostname}" resolves ${entry.resolved ? "again" : "now"}: ${r.addresses.join(", ")}`);
      entry.lastError = undefined;
      this.#setAddresses(entry, r.addresses, this.#leftover);
      entry.resolved = true;
      this.#rebuild();
      if (r.ttlMs !== undefined) next = Math.min(next, Math.max(MIN_RESOLVE_MS, r.ttlMs));
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      // Keep the last good addresses (a DNS hiccup must not empty the backend), report once.
      if (message !== entry.lastError) this.#log(`backend "${this.name}": ${message}; keeping ${entry.servers.length} known address${entry.servers.length === 1 ? "" : "es"}`);
      entry.lastError = message;
    }
    if (this.#stopped) return;
    entry.timer = setTimeout(() => void this.#refresh(entry), next);
  }

  /**
   * Makes `entry` stand for exactly `addresses`: servers for new addresses are created (or taken
   * over from `inherited`), servers for addresses that left are drained, not cut. `report`:
   * log the change (off when a reload takes over the addresses the entry already had).
   */
  #setAddresses(entry: Entry, addresses: string[], inherited: Map<string, UpstreamServer>, report = true): void {
    const settings = this.#settings(entry.cfg);
    const next: UpstreamServer[] = [];
    for (const ip of addresses) {
      const address = ip.includes(":") ? `[${ip}]:${entry.cfg.port}` : `${ip}:${entry.cfg.port}`;
      const other = this.#entries.find((e) => e !== entry && e.servers.some((s) => s.address === address));
      if (other) {
        // Two entries naming one address (a name and a literal, two names): the one that had it
        // first keeps it, and the operator hears about it once, since a weight is being ignored.
        if (!entry.duplicates.has(address)) {
          entry.duplicates.add(address);
          const i = this.#entries.indexOf(other);
          this.#log(`backend "${this.name}": "${entry.cfg.address}" resolves to ${address}, which servers[${i}] ("${other.cfg.address}") already stands for; only that entry's settings apply`);
        }
        continue;
      }
      let s = entry.servers.find((x) => x.address === address) ?? inherited.get(address) ?? this.#all.get(address);
      inherited.delete(address);
      if (!s) {
        s = new UpstreamServer({ hostname: ip, port: entry.cfg.port, origin: entry.cfg.address, id: stickyId(this.name, address) }, settings);
        // A server that appears while ferry runs ramps up (slow start); one there from the start does not.
        if (entry.resolved) s.markNew();
      } else {
        s.configure(settings);
      }
      s.draining = false;
      s.origin = entry.cfg.address;
      this.#adopt(s);
      next.push(s);
    }
    const gone = entry.servers.filter((old) => !next.includes(old));
    for (const old of gone) this.#drain(old);
    // A name's answer changing under a running ferry is news; the first answer is not.
    const added = next.filter((x) => !entry.servers.includes(x));
    if (report && entry.resolved && !isStatic(entry.cfg.hostname) && (gone.length || added.length)) {
      const parts = [
        added.length ? `added ${added.map((x) => x.address).join(", ")}` : "",
        gone.length ? `draining ${gone.map((x) => x.address).join(", ")}` : "",
      ].filter(Boolean);
      this.#log(`backend "${this.name}": "${entry.cfg.address}" now resolves to ${next.map((x) => x.hostname).join(", ") || "nothing"}: ${parts.join("; ")}`);
    }
    entry.servers = next;
  }

  #drain(s: UpstreamServer): void {
    s.draining = true;
    this.#adopt(s);
    s.pool.closeAll();
    if (s.inflight === 0) this.#all.delete(s.address);
  }

  /**
   * Makes this backend the server's owner: the one woken when it frees up, and that forgets it
   * once drained. Before `activate()` the previous backend is still the owner.
   */
  #adopt(s: UpstreamServer): void {
    this.#all.set(s.address, s);
    if (!this.#live) return;
    const onFree = () => {
      if (s.draining && s.inflight === 0 && this.#all.get(s.address) === s) this.#all.delete(s.address);
      this.#wake();
    };
    this.#owners.set(s, onFree);
    s.onFree = onFree;
  }

  #owns(s: UpstreamServer): boolean {
    return s.onFree !== undefined && s.onFree === this.#owners.get(s);
  }

  #rebuild(): void {
    this.#servers = this.#entries.flatMap((e) => e.servers);
    this.#checker?.setTargets(this.#servers);
  }

  /**
   * Makes this backend the live one (a reload committed): servers of the previous backend that
   * nothing here claimed finish their requests, then go.
   */
  activate(): void {
    this.#live = true;
    for (const s of this.#all.values()) this.#adopt(s);
    for (const s of this.#leftover.values()) this.#drain(s);
    this.#leftover.clear();
  }

  /** Takes every server back after a successor backend was abandoned (a reload that failed). */
  reclaim(): void {
    for (const s of this.#all.values()) this.#adopt(s);
    // The abandoned successor may have drained or reconfigured servers this backend still has.
    for (const entry of this.#entries) {
      for (const s of entry.servers) {
        s.configure(this.#settings(entry.cfg));
        s.draining = false;
      }
    }
  }

  /** Hands every server to a successor backend (a reload); this backend keeps serving what it has in flight. */
  #takeOver(): Map<string, UpstreamServer> {
    const out = new Map<string, UpstreamServer>();
    for (const s of this.#all.values()) out.set(s.address, s);
    return out;
  }

  #settings(cfg: ServerConfig): ServerSettings {
    const b = this.config;
    return {
      weight: cfg.weight,
      maxConns: cfg.max_conns,
      maxIdle: b.max_idle_conns,
      idleMs: b.timeouts.idle,
      slowStartMs: b.slow_start,
      passive: b.passive,
      active: b.health ? { rise: b.health.rise, fall: b.health.fall } : null,
    };
  }
}

/** A server for the log: its address, and the name it came from when it came from a name. */
function describeServer(s: UpstreamServer): string {
  return s.origin && s.origin !== s.address ? `"${s.address}" (of "${s.origin}")` : `"${s.address}"`;
}

/** Servers that need no DNS: IP literals, and `localhost` (dialled on both loopback addresses). */
function isStatic(hostname: string): boolean {
  return isIpLiteral(hostname) || isLocalhost(hostname);
}

/**
 * The sticky-cookie value for a server: a hash of backend and address, so the cookie tells a
 * client nothing about the network behind ferry, and two ferry instances with one config agree.
 */
function stickyId(backend: string, address: string): string {
  return createHash("sha256").update(`${backend}\n${address}`).digest("hex").slice(0, 16);
}
