/**
 * Notices a client leaving while its request waits (in the `max_conns` queue, on connect, for
 * the response head). Nothing else reads the client then, so an EOF there would go unseen until
 * the response is written, and the request would keep its server busy, or reach it after the
 * client gave up, a POST included. nginx closes the upstream connection in that case too (its
 * `proxy_ignore_client_abort off`, the default).
 *
 * The watch starts reading only once the request has waited `delayMs`: most requests are
 * answered sooner, and pay nothing for it (a client that leaves earlier is noticed then). It
 * reads through the request's BufReader, so bytes that do arrive (a pipelined next request)
 * stay in its buffer, up to `limit`; past that it stops watching rather than buffer without
 * bound. A read still pending when the watch stops is taken over by whoever reads next.
 */
import { AbortFlag } from "../net/abort_flag.ts";
import { Deadline } from "../net/deadline.ts";
import type { BufReader } from "../net/reader.ts";

/** Bytes a watch may buffer from a pipelining client before it stops watching. */
const WATCH_LIMIT = 64 * 1024;
/** How long a request waits before its client is watched. */
const WATCH_DELAY_MS = 100;

export class ClientWatch extends AbortFlag {
  #reader: BufReader;
  #limit: number;
  #stopped = false;
  #start: Deadline;

  constructor(reader: BufReader, opts: { delayMs?: number; limit?: number } = {}) {
    super();
    this.#reader = reader;
    this.#limit = opts.limit ?? WATCH_LIMIT;
    this.#start = new Deadline(() => void this.#watch());
    const delay = opts.delayMs ?? WATCH_DELAY_MS;
    if (delay > 0) this.#start.arm(delay);
    else void this.#watch();
  }

  stop(): void {
    this.#stopped = true;
    this.#start.clear();
  }

  async #watch(): Promise<void> {
    const reader = this.#reader;
    while (!this.#stopped && reader.buffered < this.#limit) {
      const more = await reader.fill().catch(() => false);
      if (!more) {
        if (!this.#stopped) this.abort();
        return;
      }
    }
  }
}
