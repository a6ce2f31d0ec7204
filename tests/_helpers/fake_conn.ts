/**
 * An in-memory `Conn` for unit tests: reads come from what the test pushes, writes are recorded.
 *
 * Like the Deno adapter, `read()` returns a view of one reused buffer, so code that keeps a
 * chunk past the next `read()` without copying it sees it overwritten, as it would in production.
 */
import { type Addr, type Conn, ConnError } from "../../lib/runtime/mod.ts";
import { concat } from "./loopback.ts";

export interface FakeConnOptions {
  /** How many bytes the n-th `write()` call (0-based) accepts at most. Default: everything. */
  maxWrite?: (call: number) => number;
  /** Hand out views of one reused read buffer (default true), like the Deno adapter. */
  reuseReadBuffer?: boolean;
}

type Inbound = Uint8Array | null | Error;

export class FakeConn implements Conn {
  readonly localAddr: Addr = { hostname: "127.0.0.1", port: 40000 };
  readonly remoteAddr: Addr = { hostname: "127.0.0.1", port: 50000 };
  /** The bytes each `write()` call accepted, in order (copies). */
  readonly accepted: Uint8Array[] = [];
  /** What happened, in order: "write:N", "closeWrite", "close", "read", "read:null". */
  readonly events: string[] = [];
  writeCalls = 0;
  readCalls = 0;
  closed = false;
  writeClosed = false;
  /** When set, the next `write()` call throws it (once). */
  writeError: Error | null = null;

  #opts: FakeConnOptions;
  #inbox: Inbound[] = [];
  #eof = false;
  #readWaiter: (() => void) | null = null;
  #gate: Promise<void> | null = null;
  #gateOpen: (() => void) | null = null;
  #closeWaiters: (() => void)[] = [];
  #writeCloseWaiters: (() => void)[] = [];
  #readBuf = new Uint8Array(16);

  constructor(opts: FakeConnOptions = {}) {
    this.#opts = opts;
  }

  // --- test controls ---------------------------------------------------------------------

  /** Makes `chunk` (a string is UTF-8 encoded) available to `read()`. */
  push(...chunks: (Uint8Array | string)[]): this {
    for (const c of chunks) this.#inbox.push(typeof c === "string" ? new TextEncoder().encode(c) : c);
    this.#wake();
    return this;
  }

  /** The peer's FIN: `read()` returns null once the pushed chunks are consumed. */
  pushEof(): this {
    this.#inbox.push(null);
    this.#wake();
    return this;
  }

  /** The next `read()` (after pushed chunks) throws `e`. */
  pushError(e: Error): this {
    this.#inbox.push(e);
    this.#wake();
    return this;
  }

  /** Makes `write()` calls wait until the returned function is called (a peer not reading). */
  hold(): () => void {
    this.#gate ??= new Promise<void>((r) => (this.#gateOpen = r));
    return () => this.release();
  }

  release(): void {
    this.#gateOpen?.();
    this.#gate = null;
    this.#gateOpen = null;
  }

  /** Everything written so far, concatenated. */
  written(): Uint8Array {
    return concat(this.accepted);
  }

  writtenText(): string {
    return new TextDecoder().decode(this.written());
  }

  /** Resolves when `closeWrite()` has been called. */
  whenWriteClosed(): Promise<void> {
    return this.writeClosed ? Promise.resolve() : new Promise((r) => this.#writeCloseWaiters.push(r));
  }

  /** Resolves when `close()` has been called. */
  whenClosed(): Promise<void> {
    return this.closed ? Promise.resolve() : new Promise((r) => this.#closeWaiters.push(r));
  }

  // --- Conn ----------------------------------------------------------------------------------

  async read(): Promise<Uint8Array | null> {
    this.readCalls++;
    this.events.push("read");
    for (;;) {
      if (this.closed || this.#eof) return this.#null();
      const next = this.#inbox.shift();
      if (next === undefined) {
        await new Promise<void>((r) => (this.#readWaiter = r));
        continue;
      }
      if (next === null) {
        this.#eof = true;
        return this.#null();
      }
      if (next instanceof Error) throw next;
      if (this.#opts.reuseReadBuffer === false) return next.slice();
      if (this.#readBuf.length < next.length) this.#readBuf = new Uint8Array(next.length);
      // Scribble over the previous chunk first, so a stale view cannot pass by luck.
      this.#readBuf.fill(0x23);
      this.#readBuf.set(next);
      return this.#readBuf.subarray(0, next.length);
    }
  }

  async write(p: Uint8Array): Promise<number> {
    const call = this.writeCalls++;
    while (this.#gate && !this.closed) await this.#gate;
    // A real socket write completes later: let other tasks run in between.
    await Promise.resolve();
    if (this.closed) throw new ConnError("closed");
    if (this.writeError) {
      const e = this.writeError;
      this.writeError = null;
      throw e;
    }
    if (this.writeClosed) throw new Error("write() after closeWrite()");
    const n = Math.max(0, Math.min(p.length, this.#opts.maxWrite?.(call) ?? p.length));
    this.accepted.push(p.slice(0, n));
    this.events.push(`write:${n}`);
    return n;
  }

  async closeWrite(): Promise<void> {
    this.events.push("closeWrite");
    if (this.closed) throw new ConnError("closed");
    this.writeClosed = true;
    for (const w of this.#writeCloseWaiters.splice(0)) w();
  }

  /** Recorded as "abort" in `events`, then closes as `close()` does. */
  abort(): void {
    if (this.closed) return;
    this.events.push("abort");
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.events.push("close");
    this.#wake();
    this.#gateOpen?.();
    for (const w of this.#closeWaiters.splice(0)) w();
  }

  #null(): null {
    this.events.push("read:null");
    return null;
  }

  #wake(): void {
    const w = this.#readWaiter;
    this.#readWaiter = null;
    w?.();
  }
}
