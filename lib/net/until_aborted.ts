/** Waiting for a connection with a way out: the caller's signal (a client that left). */
import type { Conn } from "../runtime/mod.ts";

/**
 * `dial`'s connection, or null once `signal` aborts first; a connection that arrives after that
 * is closed unused (a connect cannot be called back once started).
 */
export function untilAborted(dial: Promise<Conn>, signal?: AbortSignal): Promise<Conn | null> {
  if (!signal) return dial;
  if (signal.aborted) {
    dial.then((c) => c.close(), () => {});
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      dial.then((c) => c.close(), () => {});
      resolve(null);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    dial.then(
      (c) => {
        signal.removeEventListener("abort", onAbort);
        if (signal.aborted) c.close();
        else resolve(c);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}
