/**
 * Bun adapter: `Bun.listen`/`Bun.connect` callbacks turned into the pull-based `Conn`.
 *
 * Incoming chunks queue up to HIGH_WATER bytes, then the socket is paused until `read()` drains
 * the queue: that is how a slow destination slows the source down. `write()` resolves with the
 * byte count Bun accepted and waits for `drain` when the kernel buffer is full.
 * Traps (shared/notes/runtimes.md §1): `end()` closes both directions, so half-close uses
 * `shutdown()`; `allowHalfOpen: true` is needed on listen and on connect, or Bun closes the
 * socket right after the peer's FIN.
 */
import { toConnError } from "./conn_error.ts";
import { ConnError } from "./types.ts";
import type { Addr, Conn, ConnectOptions, Listener, ListenOptions, Runtime } from "./types.ts";

declare const Bun: any; // `import type … from "bun"` would fail `deno check`

const HIGH_WATER = 64 * 1024;

class BunConn implements Conn {
  readonly localAddr: Addr;
  readonly remoteAddr: Addr;
  #s: any;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #eof = false;
  #closed = false;
  #paused = false;
  #error: ConnError | null = null;
  #readWaiter: (() => void) | null = null;
  #drainWaiter: (() => void) | null = null;

  constructor(s: any) {
    this.#s = s;
    s.data = { conn: this };
    this.localAddr = { hostname: s.localAddress ?? "", port: s.localPort ?? 0 };
    this.remoteAddr = { hostname: s.remoteAddress ?? "", port: s.remotePort ?? 0 };
    try {
      s.setNoDelay(true);
    } catch { /* not fatal */ }
  }

  onData(d: Uint8Array): void {
    this.#queue.push(d);
    this.#queued += d.length;
    if (this.#queued >= HIGH_WATER && !this.#paused) {
      this.#paused = true;
      this.#s.pause();
    }
    this.#wakeRead();
  }

  onEnd(): void {
    this.#eof = true;
    this.#wakeRead();
  }

  onDrain(): void {
    const w = this.#drainWaiter;
    this.#drainWaiter = null;
    w?.();
  }

  onError(e: unknown): void {
    this.#error ??= toConnError(e);
  }

  // After our own shutdown() the peer's FIN arrives as `close`, not `end`.
  onClose(): void {
    this.#closed = true;
    this.#eof = true;
    this.#wakeRead();
    this.onDrain();
  }

  #wakeRead(): void {
    const w = this.#readWaiter;
    this.#readWaiter = null;
    w?.();
  }

  async read(): Promise<Uint8Array | null> {
    for (;;) {
      if (this.#queue.length) {
        const d = this.#queue.shift()!;
        this.#queued -= d.length;
        if (this.#paused && this.#queued < HIGH_WATER) {
          this.#paused = false;
          this.#s.resume();
        }
        return d;
      }
      if (this.#error && this.#error.code === "connection reset") throw this.#error;
      if (this.#eof) return null;
      await new Promise<void>((r) => (this.#readWaiter = r));
    }
  }

  tryWrite(p: Uint8Array): number {
    if (this.#closed) throw this.#error ?? new ConnError("closed");
    const n = this.#s.write(p);
    if (n < 0) throw this.#error ?? new ConnError("closed");
    return n;
  }

  async write(p: Uint8Array): Promise<number> {
    for (;;) {
      if (this.#closed) throw this.#error ?? new ConnError("closed");
      const n = this.#s.write(p);
      if (n < 0) throw this.#error ?? new ConnError("closed");
      if (n > 0) return n;
      await new Promise<void>((r) => (this.#drainWaiter = r));
    }
  }

  async closeWrite(): Promise<void> {
    if (this.#closed) return;
    this.#s.shutdown();
  }

  close(): void {
    if (this.#closed) return;
    // The same as close(2), which is what the Deno adapter does: orderly (the bytes already
    // written are still delivered, then FIN) unless input is left unread, then a reset. Resetting
    // always would drop a response the peer has not read yet (a 408, the end of a slow
    // download), and only on Bun.
    this.#shut(this.#queue.length > 0 || this.#error !== null);
  }

  abort(): void {
    if (this.#closed) return;
    this.#shut(true);
  }

  /** Closes for good: `terminate()` (SO_LINGER 0, the peer gets a reset) or `end()` (orderly). */
  #shut(reset: boolean): void {
    this.#closed = true;
    this.#eof = true;
    try {
      if (reset) this.#s.terminate();
      else this.#s.end();
    } catch { /* already gone */ }
    this.#wakeRead();
    this.onDrain();
  }
}

const handlers = {
  open(s: any) {
    new BunConn(s);
  },
  data(s: any, d: Uint8Array) {
    s.data?.conn?.onData(d);
  },
  end(s: any) {
    s.data?.conn?.onEnd();
  },
  drain(s: any) {
    s.data?.conn?.onDrain();
  },
  error(s: any, e: unknown) {
    s.data?.conn?.onError(e);
    s.data?.conn?.onClose();
  },
  close(s: any, e?: unknown) {
    if (e) s.data?.conn?.onError(e);
    s.data?.conn?.onClose();
  },
  connectError() { /* reported through the rejected Bun.connect() promise */ },
};

export const bunRuntime: Runtime = {
  name: "bun",

  listen(opts: ListenOptions, onConn: (conn: Conn) => void): Listener {
    let l: any;
    try {
      l = Bun.listen({
        hostname: opts.hostname,
        port: opts.port,
        allowHalfOpen: true,
        reusePort: opts.reusePort || undefined,
        socket: {
          ...handlers,
          open(s: any) {
            onConn(new BunConn(s));
          },
        },
      });
    } catch (e) {
      throw toConnError(e);
    }
    let open = true;
    return {
      addr: { hostname: l.hostname ?? opts.hostname, port: l.port },
      close() {
        if (!open) return;
        open = false;
        l.stop(false);
      },
    };
  },

  async connect(opts: ConnectOptions): Promise<Conn> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let timedOut = false;
    const dial = Bun.connect({
      hostname: opts.hostname,
      port: opts.port,
      allowHalfOpen: true,
      data: {},
      socket: handlers,
    });
    try {
      const s = opts.timeoutMs
        ? await Promise.race([
          dial,
          new Promise((_, reject) => {
            timer = setTimeout(() => {
              timedOut = true;
              reject(new ConnError("timeout"));
            }, opts.timeoutMs);
          }),
        ])
        : await dial;
      return (s as any).data.conn as Conn;
    } catch (e) {
      // A connect that completes after we gave up must not leak a socket.
      if (timedOut) dial.then((s: any) => s.terminate(), () => {});
      throw toConnError(e);
    } finally {
      clearTimeout(timer);
    }
  },
};
