/**
 * The up/down verdict of active health checks for one server, from its stream of check results
 * (HAProxy's `rise`/`fall` with `init-state up`).
 *
 * A server starts up so that traffic flows at once after start-up or a reload, but its first
 * result decides at once: waiting `fall` checks (15 s with the defaults) before leaving a server
 * that was never reachable would send real requests to it meanwhile. After that, single results
 * are noise: only `rise` passes in a row bring a down server up and only `fall` failures in a row
 * take an up server down, so one lost probe does not flap a server.
 */
export class HealthState {
  readonly rise: number;
  readonly fall: number;
  #up = true;
  #checked = false;
  /** Consecutive results that disagree with the current state. */
  #streak = 0;

  /**
   * `restored`: the verdict carried over from before a reload; then there is no "first result"
   * any more, and only full streaks flip the server.
   */
  constructor(rise: number, fall: number, restored?: boolean) {
    if (!(Number.isInteger(rise) && rise >= 1)) throw new RangeError(`set rise to a whole number of 1 or more, got "${rise}"`);
    if (!(Number.isInteger(fall) && fall >= 1)) throw new RangeError(`set fall to a whole number of 1 or more, got "${fall}"`);
    this.rise = rise;
    this.fall = fall;
    if (restored !== undefined) {
      this.#up = restored;
      this.#checked = true;
    }
  }

  get up(): boolean {
    return this.#up;
  }

  /** Takes one check result; returns the transition it caused, or null. */
  record(ok: boolean): "up" | "down" | null {
    if (!this.#checked) {
      this.#checked = true;
      if (ok) return null;
      this.#up = false;
      return "down";
    }
    if (ok === this.#up) {
      // A result that agrees with the state breaks the opposite streak.
      this.#streak = 0;
      return null;
    }
    this.#streak++;
    if (this.#streak < (this.#up ? this.fall : this.rise)) return null;
    this.#streak = 0;
    this.#up = ok;
    return ok ? "up" : "down";
  }
}
