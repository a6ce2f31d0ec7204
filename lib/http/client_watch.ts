/**
 * Notices a client leaving while its request waits (in the `max_conns` queue, on connect, for
 * the response head). Nothing else reads the client then, so an EOF there would go unseen until
 * the response is written, and the request would keep its server busy, or reach it after the
 * client gave up, a POST included. nginx closes the upstream connection in that case too (its
 * `proxy_ignore_client_abort off`, the default).
 *
 * The watch reads through the request's BufReader, so bytes that do arrive (a pipelined next
 * request) are kept in its buffer, up to `limit`; past that it stops watching rather than
 * buffer without bound. A read still pending when the watch stops is taken over by whoever
 * reads next.
 */
import type { BufReader } from "../net/reader.ts";

/** Bytes a watch may buffer from a pipelining client before it stops watching. */
const WATCH_LIMIT = 64 * 1024;

export interface ClientWatch {
  /** Aborted when the client closed its side. */
  readonly signal: AbortSignal;
  stop(): void;
}

export function watchClient(reader: BufReader, limit = WATCH_LIMIT): ClientWatch {
  const gone = new AbortController();
  let stopped = false;
  (async () => {
    while (!stopped && reader.buffered < limit) {
      const more = await reader.fill().catch(() => false);
      if (!more) {
        if (!stopped) gone.abort();
        return;
      }
    }
  })();
  return {
    signal: gone.signal,
    stop() {
      stopped = true;
    },
  };
}
