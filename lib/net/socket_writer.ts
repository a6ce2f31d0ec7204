/**
 * The ordered, back-pressured output of a connection.
 *
 * A socket write may accept fewer bytes than asked (the lesson of "rsp": ignore it and long
 * responses are corrupted whenever the client is slower than the backend). `writeAll` loops until
 * every byte is accepted, and a per-connection lock keeps concurrent writers (a body pump and an
 * error response, say) from interleaving their bytes.
 */
import type { Conn } from "../runtime/mod.ts";
import { Deadline } from "./deadline.ts";

class WriteLock {
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;

  /** True while an earlier write has not finished. */
  get busy(): boolean {
    return this.#pending > 0;
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    // Idle lock: start at once rather than one microtask later behind an already settled tail.
    const result = this.#pending === 0 ? fn() : this.#tail.then(fn);
    this.#pending++;
    this.#tail = result.then(() => {
      this.#pending--;
    }, () => {
      this.#pending--;
    });
    return result;
  }
}

const locks = new WeakMap<Conn, WriteLock>();

function lockOf(conn: Conn): WriteLock {
  let lock = locks.get(conn);
  if (!lock) locks.set(conn, lock = new WriteLock());
  return lock;
}

async function writeLoop(conn: Conn, p: Uint8Array): Promise<void> {
  let off = 0;
  while (off < p.length) {
    const n = await conn.write(off === 0 ? p : p.subarray(off));
    if (n <= 0) throw new Error(`write accepted ${n} bytes`);
    off += n;
  }
}

const DONE = Promise.resolve();

/** Writes every byte of `p`, after every earlier `writeAll` on `conn` has finished. */
export function writeAll(conn: Conn, p: Uint8Array): Promise<void> {
  if (p.length === 0) return DONE;
  const lock = lockOf(conn);
  // Fast path: nothing queued and the kernel takes it all right now, so no promise chain is
  // needed (most small responses). Anything left goes through the ordered, awaited loop.
  if (!lock.busy && conn.tryWrite) {
    let n: number;
    try {
      n = conn.tryWrite(p);
    } catch (e) {
      return Promise.reject(e);
    }
    if (n === p.length) return DONE;
    if (n > 0) p = p.subarray(n);
  }
  return lock.run(() => writeLoop(conn, p));
}

/**
 * `writeAll`, but a peer that accepts nothing for `timeoutMs` is disconnected and the write
 * fails: memory stays bounded either way, this bounds the time a stalled reader holds on.
 */
/** A write that a peer did not take within its time: the peer stopped reading. */
export class WriteStalledError extends Error {
  constructor(readonly timeoutMs: number, cause: unknown) {
    super(`peer accepted nothing for ${timeoutMs} ms`, { cause });
    this.name = "WriteStalledError";
  }
}

export async function writeWithin(conn: Conn, p: Uint8Array, timeoutMs = 0): Promise<void> {
  if (!(timeoutMs > 0)) return writeAll(conn, p);
  const stalled = new Deadline(() => conn.close()).arm(timeoutMs);
  try {
    await writeAll(conn, p);
  } catch (e) {
    if (stalled.expired) throw new WriteStalledError(timeoutMs, e);
    throw e;
  } finally {
    stalled.clear();
  }
}
