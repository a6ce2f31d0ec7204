/**
 * Admission of client connections on one listener: at most `limits.max_conns` at once, at most
 * `limits.max_conns_per_ip` from one address, and within the process's file-descriptor budget.
 * The counts belong to the listening socket and survive a reload; the limits are read from the
 * listener's current config at each accept, so a reload that changes them applies at once.
 */
import type { ListenerLimits } from "../config/types.ts";
import { ProxyError } from "../errors.ts";
import type { FdBudget } from "./fd_budget.ts";

/** Refusals are logged at most once per this long per listener, with a count (a flood must not flood the log too). */
const LOG_EVERY_MS = 1_000;

export class ConnLimits {
  #open = 0;
  #perIp = new Map<string, number>();
  #budget: FdBudget;
  #report: (message: string) => void;
  #refused = 0;
  #lastLog = 0;
  #lastReason = "";

  constructor(budget: FdBudget, report: (message: string) => void) {
    this.#budget = budget;
    this.#report = report;
  }

  get open(): number {
    return this.#open;
  }

  /**
   * Counts a new connection from `ip` in, or refuses it with the error that says why. A
   * connection let in must be let out with `release(ip)` exactly once.
   */
  admit(ip: string, limits: Pick<ListenerLimits, "max_conns" | "max_conns_per_ip">): ProxyError | null {
    const fromIp = this.#perIp.get(ip) ?? 0;
    let refusal: ProxyError | null = null;
    if (this.#open >= limits.max_conns) {
      refusal = new ProxyError("listener_full", `refused connections: ${limits.max_conns} open (max_conns)`);
    } else if (limits.max_conns_per_ip > 0 && fromIp >= limits.max_conns_per_ip) {
      refusal = new ProxyError("too_many_conns_from_ip", `refused connections from ${ip}: ${fromIp} open (max_conns_per_ip)`);
    } else if (!this.#budget.take()) {
      refusal = new ProxyError("listener_full", `refused connections: ${this.#budget.used} client connections open, the most the open-file limit leaves room for (raise ulimit -n)`);
    }
    if (refusal) {
      this.#noteRefusal(refusal.message);
      return refusal;
    }
    this.#open++;
    this.#perIp.set(ip, fromIp + 1);
    return null;
  }

  release(ip: string): void {
    this.#open--;
    this.#budget.give();
    const n = (this.#perIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.#perIp.delete(ip);
    else this.#perIp.set(ip, n);
  }

  /**
   * A place in the descriptor budget for a refused connection while it gets its error page;
   * false when not even that is left (then it is closed at once, without a page).
   */
  holdRefused(): boolean {
    return this.#budget.take();
  }

  releaseRefused(): void {
    this.#budget.give();
  }

  #noteRefusal(reason: string): void {
    this.#refused++;
    const now = Date.now();
    if (now - this.#lastLog < LOG_EVERY_MS && reason === this.#lastReason) return;
    this.#report(this.#refused === 1 ? reason : `${reason} (${this.#refused} refused since the last such line)`);
    this.#refused = 0;
    this.#lastLog = now;
    this.#lastReason = reason;
  }
}
