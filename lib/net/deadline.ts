/**
 * A timeout as a value: armed for a phase (waiting for a head, for a response), it runs
 * `onExpire` once when the time is up, typically closing a connection so that the pending read
 * returns, and remembers that it did, so the caller can tell a timeout from a peer's close.
 */
export class Deadline {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #expired = false;
  #onExpire: () => void;

  constructor(onExpire: () => void) {
    this.#onExpire = onExpire;
  }

  get expired(): boolean {
    return this.#expired;
  }

  /** (Re)starts the countdown; `ms <= 0` or `Infinity` means no deadline. */
  arm(ms: number): this {
    this.clear();
    if (ms > 0 && Number.isFinite(ms)) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#expired = true;
        this.#onExpire();
      }, ms);
    }
    return this;
  }

  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
