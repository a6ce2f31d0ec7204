/**
 * Idle keep-alive connections to one server.
 *
 * A parked connection keeps one `read()` pending, so a backend that closes an idle connection
 * (its keep-alive timeout, a restart) is noticed and dropped at once instead of being handed to
 * the next request. When a connection is taken, that pending read is handed over to the new
 * user as its first read: nothing is lost and nothing is read twice.
 */
import { Deadline } from "../net/deadline.ts";
import type { Addr, Conn } from "../runtime/mod.ts";

type ReadResult = { chunk: Uint8Array | null; error?: unknown };

interface Parked {
  conn: Conn;
  pending: Promise<ReadResult>;
  settled: boolean;
  idle: Deadline;
}

/** A taken connection whose first `read()` resolves from the read that was pending while parked. */
class ResumedConn implements Conn {
  #conn: Conn;
  #first: Promise<ReadResult> | null;

  constructor(conn: Conn, first: Promise<ReadResult>) {
    this.#conn = conn;
    this.#first = first;
    if (conn.tryWrite) this.tryWrite = (p) => conn.tryWrite!(p);
  }
  get localAddr(): Addr {
    return this.#conn.localAddr;
  }
  get remoteAddr(): Addr {
    return this.#conn.remoteAddr;
  }
  async read(): Promise<Uint8Array | null> {
    const first = this.#first;
    if (!first) return this.#conn.read();
    this.#first = null;
    const r = await first;
    if (r.error) throw r.error;
    return r.chunk;
  }
  write(p: Uint8Array): Promise<number> {
    return this.#conn.write(p);
  }
  tryWrite?: (p: Uint8Array) => number;
  closeWrite(): Promise<void> {
    return this.#conn.closeWrite();
  }
  close(): void {
    this.#conn.close();
  }
  abort(): void {
    this.#conn.abort();
  }
  /** The connection underneath, so that it can be parked again without stacking wrappers. */
  unwrap(): { conn: Conn; first: Promise<ReadResult> | null } {
    return { conn: this.#conn, first: this.#first };
  }
}

export class ConnPool {
  #idle: Parked[] = [];
  maxIdle: number;
  idleMs: number;

  constructor(maxIdle: number, idleMs: number) {
    this.maxIdle = maxIdle;
    this.idleMs = idleMs;
  }

  get size(): number {
    return this.#idle.length;
  }

  /** Parks `conn` for reuse; closes it instead when the pool is full or disabled. */
  put(conn: Conn): void {
    if (this.#idle.length >= this.maxIdle) return conn.close();
    let raw = conn;
    let pendingFirst: Promise<ReadResult> | null = null;
    if (conn instanceof ResumedConn) ({ conn: raw, first: pendingFirst } = conn.unwrap());
    const parked: Parked = {
      conn: raw,
      settled: false,
      pending: pendingFirst ?? raw.read().then((chunk) => ({ chunk }), (error) => ({ chunk: null, error })),
      idle: new Deadline(() => this.#drop(parked)),
    };
    parked.idle.arm(this.idleMs);
    // Anything arriving on an idle connection (EOF, reset, or bytes no request asked for)
    // makes it unusable: RFC 9112 §9.3.2 lets a server close idle connections at any time.
    parked.pending.then(() => {
      parked.settled = true;
      this.#drop(parked);
    });
    this.#idle.push(parked);
  }

  /** The most recently parked live connection, or null. */
  take(): Conn | null {
    for (;;) {
      const p = this.#idle.pop();
      if (!p) return null;
      p.idle.clear();
      if (p.settled) {
        p.conn.close();
        continue;
      }
      return new ResumedConn(p.conn, p.pending);
    }
  }

  /** Closes every idle connection (reload, shutdown). */
  closeAll(): void {
    for (const p of this.#idle.splice(0)) {
      p.idle.clear();
      p.conn.close();
    }
  }

  #drop(p: Parked): void {
    const i = this.#idle.indexOf(p);
    if (i < 0) return;
    this.#idle.splice(i, 1);
    p.idle.clear();
    p.conn.close();
  }
}
