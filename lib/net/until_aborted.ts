/** Waiting for a connection with a way out: the client leaving. */
import type { AbortFlag } from "./abort_flag.ts";
import type { Conn } from "../runtime/mod.ts";

/**
 * `dial`'s connection, or null once the client is gone first; a connection that arrives after that
 * is closed unused (a connect cannot be called back once started).
 */
export function untilAborted(dial: Promise<Conn>, gone?: AbortFlag): Promise<Conn | null> {
  if (!gone) return dial;
  if (gone.aborted) {
    dial.then((c) => c.close(), () => {});
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    const cancel = gone.onAbort(() => {
      dial.then((c) => c.close(), () => {});
      resolve(null);
    });
    dial.then(
      (c) => {
        cancel();
        if (gone.aborted) c.close();
        else resolve(c);
      },
      (e) => {
        cancel();
        reject(e);
      },
    );
  });
}
