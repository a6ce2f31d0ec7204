/**
 * How many client connections the whole process may hold before accept would run out of file
 * descriptors. A proxied connection costs two descriptors (the client's and the server's); a
 * reserve is kept for pooled idle connections, health checks, DNS and log files. Without this
 * bound, a flood of connections makes accept fail with EMFILE, which Bun's listener retries in a
 * busy loop, and which leaves no descriptor for the server side of connections already accepted.
 */
import { readFileSync } from "node:fs";

/** Descriptors kept back from client connections. */
const RESERVE = 128;
/** A budget is never smaller than this, even under a tiny `ulimit -n`. */
const MIN_CONNS = 16;

export class FdBudget {
  readonly max: number;
  #used = 0;

  constructor(openFileLimit: number | null = readOpenFileLimit()) {
    this.max = openFileLimit === null ? Infinity : Math.max(MIN_CONNS, Math.floor((openFileLimit - RESERVE) / 2));
  }

  get used(): number {
    return this.#used;
  }

  /** Takes a place for one client connection; false when there is none left. */
  take(): boolean {
    if (this.#used >= this.max) return false;
    this.#used++;
    return true;
  }

  give(): void {
    this.#used--;
  }
}

/**
 * The soft RLIMIT_NOFILE as the runtime left it (Deno and Bun both raise it to the hard limit at
 * start-up), from /proc/self/limits; null where that cannot be read (not Linux) or says unlimited.
 */
export function readOpenFileLimit(text?: string): number | null {
  try {
    const limits = text ?? readFileSync("/proc/self/limits", "utf8");
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    if (!m || m[1] === "unlimited") return null;
    return Number(m[1]);
  } catch {
    return null;
  }
}
