/**
 * Active health checks: one probe loop per server, reporting every result to the caller, which
 * turns them into up/down with `HealthState`.
 *
 * Each loop waits `interval` from the *end* of one probe to the start of the next, so at most
 * one probe per server is ever in flight: a server that hangs is probed once per
 * `timeout + interval`, not flooded with a new connection every `interval` while the old ones
 * wait out their timeouts.
 */
import type { HealthConfig } from "../config/types.ts";
import { errorLog } from "../log/mod.ts";
import { probeHttp } from "./probe_http.ts";
import type { ProbeResult, ProbeTarget } from "./probe_result.ts";
import { probeTcp } from "./probe_tcp.ts";

export type HealthTarget = ProbeTarget;

/**
 * First checks are spread over up to this long (or `interval`, when shorter), so that starting
 * with many servers does not open all their probe connections at one instant, while a server
 * still gets its first verdict about a second after start-up.
 */
const MAX_FIRST_DELAY_MS = 1_000;

class ProbeLoop<T extends HealthTarget> {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(
    readonly target: T,
    readonly probe: (target: T) => Promise<ProbeResult>,
    readonly interval: number,
    readonly report: (target: T, result: ProbeResult) => void,
  ) {}

  start(delayMs: number): void {
    this.#timer = setTimeout(() => this.#run(), delayMs);
  }

  /** Cancels the next probe; one in flight finishes, but its result is dropped. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #run(): Promise<void> {
    this.#timer = undefined;
    let result: ProbeResult;
    try {
      result = await this.probe(this.target);
    } catch (e) {
      // The probes never throw; this keeps a future bug from ending the loop silently.
      result = { ok: false, detail: `probe failed: ${e instanceof Error ? e.message : String(e)}` };
    }
    if (this.#stopped) return;
    this.report(this.target, result);
    if (this.#stopped) return; // the report may have removed this target
    this.#timer = setTimeout(() => this.#run(), this.interval);
  }
}

export class ActiveChecker<T extends HealthTarget> {
  readonly cfg: HealthConfig;
  #onResult: (target: T, ok: boolean, detail: string) => void;
  #loops = new Map<T, ProbeLoop<T>>();
  #stopped = false;

  constructor(cfg: HealthConfig, onResult: (target: T, ok: boolean, detail: string) => void) {
    this.cfg = cfg;
    this.#onResult = onResult;
  }

  /** The targets being checked now. */
  get targets(): T[] {
    return [...this.#loops.keys()];
  }

  /**
   * Checks exactly `targets` from now on: loops start for new ones and stop for those no longer
   * listed. Identity is by object, so a re-resolved server that is a new object starts afresh.
   */
  setTargets(targets: readonly T[]): void {
    if (this.#stopped) return;
    const wanted = new Set(targets);
    for (const [target, loop] of this.#loops) {
      if (wanted.has(target)) continue;
      loop.stop();
      this.#loops.delete(target);
    }
    const spread = Math.min(this.cfg.interval, MAX_FIRST_DELAY_MS);
    for (const target of wanted) {
      if (this.#loops.has(target)) continue;
      const loop = new ProbeLoop(target, (t) => this.#probe(t), this.cfg.interval, (t, r) => this.#report(t, r));
      this.#loops.set(target, loop);
      loop.start(Math.floor(Math.random() * spread));
    }
  }

  /** Stops every loop for good; probes in flight finish unreported. */
  stop(): void {
    this.#stopped = true;
    for (const loop of this.#loops.values()) loop.stop();
    this.#loops.clear();
  }

  #probe(target: T): Promise<ProbeResult> {
    const cfg = this.cfg;
    if (cfg.type === "tcp") return probeTcp(target, cfg.timeout);
    return probeHttp(target, { path: cfg.path, host: cfg.host, expect: cfg.expect_status, timeoutMs: cfg.timeout });
  }

  #report(target: T, r: ProbeResult): void {
    try {
      this.#onResult(target, r.ok, r.detail);
    } catch (e) {
      // A throwing callback must not end the checks of this server (nor become an unhandled rejection).
      errorLog(`cannot handle health check result for "${target.address}": ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
