/**
 * Real loopback connections through the runtime adapter that runs the tests (Deno or Bun), plus
 * small read helpers. Every helper copies what it returns: an adapter may reuse its read buffer.
 */
import { createHash } from "node:crypto";
import { type AddressInfo, createServer } from "node:net";
import { type Conn, type Listener, runtime } from "../../lib/runtime/mod.ts";

export interface ConnPair {
  /** The side that called `connect()`. */
  client: Conn;
  /** The side the listener accepted. */
  server: Conn;
  listener: Listener;
  /** Closes both connections and the listener. */
  close(): void;
}

/** A listener on 127.0.0.1:0 plus one connected and accepted connection. */
export async function connPair(): Promise<ConnPair> {
  let accepted!: (c: Conn) => void;
  const got = new Promise<Conn>((r) => (accepted = r));
  const listener = runtime.listen({ hostname: "127.0.0.1", port: 0 }, (c) => accepted(c));
  let client: Conn;
  try {
    client = await runtime.connect({ hostname: "127.0.0.1", port: listener.addr.port, timeoutMs: 5_000 });
  } catch (e) {
    listener.close();
    throw e;
  }
  const server = await got;
  return {
    client,
    server,
    listener,
    close() {
      client.close();
      server.close();
      listener.close();
    },
  };
}

/**
 * A port on 127.0.0.1 that nothing listens on (bound once, then released). node:net because its
 * close callback says when the socket is really gone; the Deno adapter's listener releases the
 * port one event-loop turn after `close()` (its pending accept holds the socket until then).
 */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Everything `conn` sends until EOF, as one copied buffer. */
export async function readAll(conn: Conn): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const chunk = await conn.read();
    if (chunk === null) break;
    parts.push(chunk.slice());
    total += chunk.length;
  }
  return concat(parts, total);
}

/** Exactly `n` bytes (copied); throws if EOF comes first. */
export async function readExactly(conn: Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const chunk = await conn.read();
    if (chunk === null) throw new Error(`EOF after ${off} of ${n} bytes`);
    if (off + chunk.length > n) throw new Error(`got ${off + chunk.length} bytes, expected ${n}`);
    out.set(chunk, off);
    off += chunk.length;
  }
  return out;
}

export function concat(parts: Uint8Array[], total = parts.reduce((n, p) => n + p.length, 0)): Uint8Array {
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array | null): string | null => (b === null ? null : new TextDecoder().decode(b));

/**
 * Whether `p` settles within `ms`. Only for asserting that something is *still pending*: a
 * bounded observation window, never a way to wait for an event to happen.
 */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const settled = p.then(() => true, () => true);
  const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The error `p` rejects with (fails if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection, got a value");
}
