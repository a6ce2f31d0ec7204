/**
 * Passive health for one server: failures seen on real traffic (nginx's `max_fails` and
 * `fail_timeout`). `max_fails` failures within `fail_timeout` take the server out of rotation
 * for `fail_timeout`; then it is tried again with a clean count.
 *
 * The window slides: a failure counts while it is younger than `fail_timeout`, so "3 failures
 * within 10 s" means exactly that, wherever the 10 s start. nginx approximates this with one
 * window start per server; keeping the last `max_fails` failure times is as cheap (a handful of
 * numbers) and has no edge where two bursts just either side of a window boundary go unnoticed.
 *
 * Successes do not reset the count. nginx counts failures in the window whatever happened in
 * between, and so does this: a server failing every other request is failing, and a success
 * reset would hide it for as long as a few requests still succeed.
 *
 * Failures recorded while the server is down are ignored: they come from requests that were
 * already in flight when it was marked down, and must not stretch the penalty they caused.
 *
 * When the mark ends the server is on probation, as in nginx: one request at a time tries it
 * (`begin()`/`end()`), and only a trial that went well puts it fully back. Without this, every
 * request arriving in the first moment after `fail_timeout` would go to a server that may still
 * be dead. A failed trial marks it down again at once, whatever `max_fails` says.
 */
export class PassiveHealth {
  readonly maxFails: number;
  readonly failTimeout: number;
  #now: () => number;
  /** Times of the failures still in the window, oldest first; at most `maxFails`. */
  #failures: number[] = [];
  #downUntil = 0;
  #probation = false;
  /** The request trying the server while on probation, and whether it failed. */
  #trial: { failed: boolean } | null = null;

  constructor(cfg: { max_fails: number; fail_timeout: number }, now: () => number = Date.now) {
    this.maxFails = cfg.max_fails;
    this.failTimeout = cfg.fail_timeout;
    this.#now = now;
  }

  /** Counts one failure; true when it is the one that marks the server down. */
  recordFailure(): boolean {
    if (this.maxFails <= 0) return false;
    const now = this.#now();
    if (now < this.#downUntil) return false;
    if (this.#trial) this.#trial.failed = true;
    const failures = this.#failures;
    while (failures.length > 0 && failures[0] <= now - this.failTimeout) failures.shift();
    failures.push(now);
    if (failures.length < this.maxFails) return false;
    this.#markDown(now);
    return true;
  }

  /** Whether a new request may go to the server: not down, and no trial already testing it. */
  admits(): boolean {
    return !this.isDown() && !(this.#probation && this.#trial !== null);
  }

  /** A request starts on this server; on probation, the first one becomes the trial. */
  begin(): void {
    if (this.#probation && this.#trial === null && !this.isDown()) this.#trial = { failed: false };
  }

  /**
   * A request ended (after its failures, if any, were recorded). Returns the transition it
   * caused, if it was the trial: `"up"` when the trial went well (the server is fully back,
   * news worth a log line, since nothing else says the mark is over), `"down"` when a failed
   * trial marked the server down again, else null (also for a trial whose failure reached
   * `max_fails`: `recordFailure()` reported that mark already).
   */
  end(): "up" | "down" | null {
    const trial = this.#trial;
    if (trial === null) return null;
    this.#trial = null;
    if (!trial.failed) {
      this.#probation = false;
      return "up";
    }
    if (this.isDown()) return null;
    this.#markDown(this.#now());
    return "down";
  }

  #markDown(now: number): void {
    this.#failures.length = 0;
    this.#downUntil = now + this.failTimeout;
    this.#probation = true;
    this.#trial = null;
  }

  /** True while the server is out of rotation. */
  isDown(): boolean {
    return this.#downUntil > 0 && this.#now() < this.#downUntil;
  }

  /** When the server is back in rotation (clock time, like `now()`); 0 while it is not down. */
  get downUntil(): number {
    return this.isDown() ? this.#downUntil : 0;
  }
}
