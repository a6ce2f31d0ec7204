/**
 * The one connection interface ferry's core is written against. Each runtime implements it in
 * its own file (`deno.ts`, `bun.ts`); nothing outside `lib/runtime/` knows which one runs.
 */

export interface Addr {
  hostname: string;
  port: number;
}

/**
 * A TCP connection. Reads are pull-based so that a proxy reads from one side only as fast as
 * the other side accepts: not calling `read()` is the back-pressure.
 */
export interface Conn {
  readonly localAddr: Addr;
  readonly remoteAddr: Addr;
  /**
   * The next chunk, or `null` once the peer has finished sending (FIN). The chunk is only valid
   * until the next `read()`: adapters may reuse the buffer. Throws `ConnError` on a reset.
   */
  read(): Promise<Uint8Array | null>;
  /** Writes a prefix of `p` and resolves with its length, which may be short (see writeAll). */
  write(p: Uint8Array): Promise<number>;
  /**
   * Optional: writes what the kernel accepts right now, synchronously, and returns that count
   * (0 when its buffer is full); throws `ConnError` when closed. Lets `writeAll` skip the promise
   * machinery when a write completes at once. Only adapters with a synchronous write have it.
   */
  tryWrite?(p: Uint8Array): number;
  /** Sends FIN: the peer reads EOF but may still reply (half-close). */
  closeWrite(): Promise<void>;
  /** Closes both directions now. Idempotent; never throws. */
  close(): void;
  /**
   * Closes both directions now with a reset (RST) where the runtime can send one, so that a
   * peer reading a message delimited by the connection's end (an HTTP/1.0 response without
   * Content-Length) cannot take a cut one for complete (RFC 9112 §6.3, §8). Bun: SO_LINGER 0.
   * Deno offers no way to ask for a reset (no SO_LINGER), so there it is `close()`, which the
   * kernel turns into a reset only when input is left unread. Idempotent; never throws.
   */
  abort(): void;
}

export interface Listener {
  /** The bound address (the real port when 0 was asked for). */
  readonly addr: Addr;
  /** Stops accepting; open connections are left alone. */
  close(): void;
}

export interface ConnectOptions extends Addr {
  /** Give up after this many milliseconds with a `ConnError` of code "timeout". */
  timeoutMs?: number;
}

export interface ListenOptions extends Addr {
  /** Let several processes bind the same port (SO_REUSEPORT), for reloads without downtime. */
  reusePort?: boolean;
}

/** What a connection failure was, in words a log reader knows from `curl` and nginx. */
export type ConnErrorCode =
  | "connection refused"
  | "timeout"
  | "connection reset"
  | "host unreachable"
  | "address in use"
  | "address not available"
  | "permission denied"
  | "name not resolved"
  | "closed"
  | "other";

export class ConnError extends Error {
  constructor(readonly code: ConnErrorCode, detail?: string) {
    super(detail && code === "other" ? detail : code);
    this.name = "ConnError";
  }
}

export interface Runtime {
  readonly name: "deno" | "bun";
  /** Binds now (throws `ConnError` on failure) and calls `onConn` for every accepted connection. */
  listen(opts: ListenOptions, onConn: (conn: Conn) => void): Listener;
  connect(opts: ConnectOptions): Promise<Conn>;
}
