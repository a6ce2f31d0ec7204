/**
 * Deno adapter: `Deno.listen`/`Deno.connect` with an explicit `read(buf)` loop.
 *
 * `conn.readable` is deliberately not used: reading it to EOF closes the whole connection, which
 * breaks half-close (shared/notes/runtimes.md §1). The read buffer is adaptive (4 KiB → 256 KiB):
 * a pending `read(buf)` pins the buffer, so a fixed 64 KiB buffer costs ~128 KB per idle proxied
 * connection, while the adaptive one measured 32 KB and the best bulk throughput (§2).
 */
import { toConnError } from "./conn_error.ts";
import type { Addr, Conn, ConnectOptions, Listener, ListenOptions, Runtime } from "./types.ts";

declare const Deno: any;

const MIN_BUF = 4 * 1024;
const MAX_BUF = 256 * 1024;

function addrOf(a: { hostname?: string; port?: number } | undefined): Addr {
  return { hostname: a?.hostname ?? "", port: a?.port ?? 0 };
}

class DenoConn implements Conn {
  readonly localAddr: Addr;
  readonly remoteAddr: Addr;
  #conn: any;
  #buf = new Uint8Array(MIN_BUF);
  #closed = false;

  constructor(conn: any) {
    this.#conn = conn;
    this.localAddr = addrOf(conn.localAddr);
    this.remoteAddr = addrOf(conn.remoteAddr);
    try {
      conn.setNoDelay(true);
    } catch { /* not a TCP socket */ }
  }

  async read(): Promise<Uint8Array | null> {
    if (this.#closed) return null;
    let n: number | null;
    try {
      n = await this.#conn.read(this.#buf);
    } catch (e) {
      if (this.#closed) return null;
      throw toConnError(e);
    }
    if (n === null) return null;
    const len = this.#buf.length;
    const out = this.#buf.subarray(0, n);
    // Grow when a read fills the buffer, shrink when reads use little of it (notes §2).
    if (n === len && len < MAX_BUF) this.#buf = new Uint8Array(len * 2);
    else if (n < len / 8 && len > MIN_BUF) this.#buf = new Uint8Array(len / 2);
    return out;
  }

  async write(p: Uint8Array): Promise<number> {
    try {
      return await this.#conn.write(p);
    } catch (e) {
      throw toConnError(e);
    }
  }

  async closeWrite(): Promise<void> {
    try {
      await this.#conn.closeWrite();
    } catch (e) {
      throw toConnError(e);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed by the runtime */ }
  }

  // Deno.Conn has no SO_LINGER: the best it can do is close (see Conn.abort).
  abort(): void {
    this.close();
  }
}

export const denoRuntime: Runtime = {
  name: "deno",

  listen(opts: ListenOptions, onConn: (conn: Conn) => void): Listener {
    let l: any;
    try {
      l = Deno.listen({ hostname: opts.hostname, port: opts.port, reusePort: opts.reusePort || undefined });
    } catch (e) {
      throw toConnError(e);
    }
    let open = true;
    (async () => {
      while (open) {
        let c: any;
        try {
          c = await l.accept();
        } catch (e) {
          // Only our own close() ends the loop (Deno reports it as BadResource or Interrupted).
          const name = (e as { name?: string })?.name;
          if (!open || name === "BadResource" || name === "Interrupted") return;
          // A client that connected and reset before we accepted it surfaces here as
          // NotConnected (ENOTCONN from the peer-address lookup) or a reset: that is the
          // client's loss, not the listener's; take the next connection at once.
          const code = toConnError(e).code;
          if (code === "closed" || code === "connection reset") continue;
          // EMFILE and friends: back off instead of spinning, keep serving the open connections.
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        // An accept that completed while close() was running must not reach the caller.
        if (!open) {
          try {
            c.close();
          } catch { /* already closed */ }
          return;
        }
        onConn(new DenoConn(c));
      }
    })();
    return {
      addr: addrOf(l.addr),
      close() {
        if (!open) return;
        open = false;
        try {
          l.close();
        } catch { /* already closed */ }
      },
    };
  },

  async connect(opts: ConnectOptions): Promise<Conn> {
    const signal = opts.timeoutMs ? AbortSignal.timeout(opts.timeoutMs) : undefined;
    try {
      return new DenoConn(await Deno.connect({ hostname: opts.hostname, port: opts.port, signal }));
    } catch (e) {
      throw toConnError(e);
    }
  },
};
