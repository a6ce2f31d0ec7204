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
 */
export class PassiveHealth {
  readonly maxFails: number;
  readonly failTimeout: number;
  #now: () => number;
  /** Times of the failures still in the window, oldest first; at most `maxFails`. */
  #failures: number[] = [];
  #downUntil = 0;

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
    const failures = this.#failures;
    while (failures.length > 0 && failures[0] <= now - this.failTimeout) failures.shift();
    failures.push(now);
    if (failures.length < this.maxFails) return false;
    failures.length = 0;
    this.#downUntil = now + this.failTimeout;
    return true;
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
