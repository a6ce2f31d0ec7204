/**
 * A one-way "this was given up" flag with listeners: what AbortController does, without its
 * event machinery (it is made for every request that waits on a server, so it should cost
 * close to nothing until it is used).
 */
export class AbortFlag {
  aborted = false;
  #listeners: (() => void)[] = [];

  /** Calls `fn` once on abort (at once if already aborted); returns a function that cancels that. */
  onAbort(fn: () => void): () => void {
    if (this.aborted) {
      fn();
      return () => {};
    }
    this.#listeners.push(fn);
    return () => {
      const i = this.#listeners.indexOf(fn);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    for (const fn of this.#listeners.splice(0)) fn();
  }
}
