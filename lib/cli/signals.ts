/**
 * The process signals ferry acts on, caught from the first moment: `main.ts` creates this
 * before loading the rest of ferry, so a SIGHUP or SIGTERM that arrives while ferry starts (a
 * service manager reloading or stopping it right away) is kept for later instead of meeting the
 * default action, which ends the process. Imports nothing but `node:process`, to load at once.
 */
import process from "node:process";

export type StopSignal = "SIGTERM" | "SIGINT";

export class Signals {
  #stop: StopSignal | null = null;
  #stopWaiters: ((sig: StopSignal) => void)[] = [];
  #hups = 0;
  #onHup: (() => void) | null = null;

  constructor() {
    for (const sig of ["SIGTERM", "SIGINT"] as const) {
      process.on(sig, () => {
        this.#stop ??= sig;
        for (const w of this.#stopWaiters.splice(0)) w(sig);
      });
    }
    process.on("SIGHUP", () => {
      if (this.#onHup) this.#onHup();
      else this.#hups++;
    });
  }

  /** The first SIGTERM or SIGINT, whenever it came. */
  stopped(): Promise<StopSignal> {
    if (this.#stop) return Promise.resolve(this.#stop);
    return new Promise((resolve) => this.#stopWaiters.push(resolve));
  }

  /** Calls `fn` for every SIGHUP from now on, and once for those that came before (several count as one reload). */
  onReload(fn: () => void): void {
    this.#onHup = fn;
    if (this.#hups > 0) {
      this.#hups = 0;
      fn();
    }
  }
}
