/**
 * Backends for balancing tests: one that holds every request until the test releases it (so a
 * test decides how many requests are in flight at each server, and can see whether a server ever
 * had two at once), and one that answers after a fixed delay (a slow server). Both answer with
 * their name, like `namedBackend`, so the client and the server agree on who answered.
 */
import { type HttpBackend, httpBackend } from "./backends.ts";

export interface HeldBackend extends HttpBackend {
  readonly name: string;
  /** While true (the default), requests wait for `release()`; while false they are answered at once. */
  hold: boolean;
  /** Requests received and not answered yet. */
  readonly waiting: number;
  /** The most requests this server ever had unanswered at once. */
  readonly maxWaiting: number;
  /** Answers the `count` oldest waiting requests (default all); returns how many it released. */
  release(count?: number): number;
}

/** A backend that answers `name` to every request, but only when the test calls `release()`. */
export async function heldBackend(name: string): Promise<HeldBackend> {
  const queue: (() => void)[] = [];
  const state = { waiting: 0, maxWaiting: 0, hold: true };
  // The handler runs only for requests, which arrive after `backend` is assigned.
  const backend: HttpBackend = await httpBackend(async (req) => {
    state.waiting++;
    state.maxWaiting = Math.max(state.maxWaiting, state.waiting);
    if (state.hold) await new Promise<void>((resolve) => queue.push(resolve));
    state.waiting--;
    backend.watch.notify();
    return { status: 200, headers: { "Content-Type": "text/plain", "X-Backend": name, "X-Target": req.target }, body: name };
  });
  const release = (count = Infinity): number => {
    const taken = queue.splice(0, Math.min(count, queue.length));
    for (const go of taken) go();
    return taken.length;
  };
  const close = backend.close;
  // Getters, not Object.assign: the counters must stay live.
  const held = Object.defineProperties(Object.assign(backend, { name, release }), {
    hold: { get: () => state.hold, set: (v: boolean) => void (state.hold = v), enumerable: true },
    waiting: { get: () => state.waiting, enumerable: true },
    maxWaiting: { get: () => state.maxWaiting, enumerable: true },
  }) as HeldBackend;
  held.close = () => {
    state.hold = false;
    release();
    return close();
  };
  return held;
}

/** A backend that answers `name` to every request `delayMs` after it arrived: a slow server, not a synchronisation. */
export function delayedBackend(name: string, delayMs: number): Promise<HttpBackend> {
  return httpBackend(async (req) => {
    await new Promise<void>((resolve) => setTimeout(resolve, delayMs));
    return { status: 200, headers: { "Content-Type": "text/plain", "X-Backend": name, "X-Target": req.target }, body: name };
  });
}
