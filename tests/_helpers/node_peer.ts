/**
 * Test peers on node:net (the same on Deno and Bun, and independent of ferry's own runtime
 * adapters): backends to proxy to and clients to proxy for. All use `allowHalfOpen` so that a
 * FIN is a half-close and `end()` sends one without closing the socket.
 */
import net from "node:net";

export interface NodeServer {
  port: number;
  /** Sockets accepted and not yet closed. */
  sockets: Set<net.Socket>;
  /** Destroys every socket and stops listening. */
  close(): Promise<void>;
}

export async function nodeServer(onSocket: (s: net.Socket) => void): Promise<NodeServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {}); // resets are part of the tests; observed through close/end
    onSocket(s);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, resolve);
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    sockets,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A connected client socket, recorded from its first byte. */
export function nodeClient(port: number): Promise<Recorder> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
    const rec = new Recorder(s);
    s.once("connect", () => {
      s.off("error", reject);
      resolve(rec);
    });
    s.once("error", reject);
  });
}

/**
 * Records everything that happens on a socket from the moment it is attached (a node:net
 * socket in flowing mode drops data nobody listens to), and lets a test wait for a condition.
 */
export class Recorder {
  readonly socket: net.Socket;
  /** The peer's FIN arrived. */
  ended = false;
  /** The socket is fully closed (after a reset, a destroy, or FIN both ways). */
  closed = false;
  /** The socket error code, if one was emitted (ECONNRESET, EPIPE). */
  error: string | undefined;
  #parts: Buffer[] = [];
  #length = 0;
  #waiters: { ready: () => boolean; resolve: () => void }[] = [];

  constructor(s: net.Socket) {
    this.socket = s;
    s.on("data", (d: Buffer) => {
      this.#parts.push(d);
      this.#length += d.length;
      this.#check();
    });
    s.on("end", () => {
      this.ended = true;
      this.#check();
    });
    s.on("error", (e: NodeJS.ErrnoException) => {
      this.error ??= e.code ?? e.message;
      this.#check();
    });
    s.on("close", () => {
      this.closed = true;
      this.#check();
    });
  }

  get length(): number {
    return this.#length;
  }

  get data(): Buffer {
    if (this.#parts.length > 1) this.#parts = [Buffer.concat(this.#parts)];
    return this.#parts[0] ?? Buffer.alloc(0);
  }

  text(): string {
    return this.data.toString("utf8");
  }

  /** Resolves once `ready()` holds (checked now and after every socket event). */
  until(ready: (r: this) => boolean): Promise<void> {
    if (ready(this)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ ready: () => ready(this), resolve }));
  }

  /** At least `n` bytes, or EOF/close (then the caller's length check fails). */
  bytes(n: number): Promise<void> {
    return this.until((r) => r.length >= n || r.ended || r.closed);
  }

  /** The peer's FIN, or the socket closing, whichever comes first. */
  finished(): Promise<void> {
    return this.until((r) => r.ended || r.closed);
  }

  whenClosed(): Promise<void> {
    return this.until((r) => r.closed);
  }

  #check(): void {
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.ready()) return true;
      w.resolve();
      return false;
    });
  }
}
