/**
 * The open client connections of a running server, and which of them sit idle between
 * keep-alive requests: what a graceful stop needs to close at once and to wait for.
 */
import type { Conn } from "../runtime/mod.ts";

export class ConnTracker {
  #open = new Map<Conn, Promise<void>>();
  #idle = new Set<Conn>();
  /** Set once stopping: connections finish their current exchange and then close. */
  draining = false;
  /** Set when a stop closes the connections still busy after shutdown_timeout. */
  cutting = false;

  get size(): number {
    return this.#open.size;
  }

  track(conn: Conn, done: Promise<void>): void {
    const settled = done.catch(() => {}).finally(() => {
      this.#open.delete(conn);
      this.#idle.delete(conn);
    });
    this.#open.set(conn, settled);
  }

  /** Marks `conn` as waiting for its next request (or not). While draining, idle means closed. */
  setIdle(conn: Conn, idle: boolean): void {
    if (!idle) this.#idle.delete(conn);
    else if (this.draining) conn.close();
    else this.#idle.add(conn);
  }

  closeIdle(): void {
    for (const c of this.#idle) c.close();
    this.#idle.clear();
  }

  /** Resolves when every tracked connection has finished, or after `ms`. */
  async waitAll(ms: number): Promise<void> {
    if (this.#open.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(this.#open.values()),
      new Promise<void>((r) => (timer = setTimeout(r, ms))),
    ]);
    clearTimeout(timer);
  }

  closeAll(): void {
    for (const c of this.#open.keys()) c.close();
  }
}
