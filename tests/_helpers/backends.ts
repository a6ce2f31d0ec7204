/**
 * Test backends on 127.0.0.1:0, built on node:net so that tests see exactly the bytes a
 * backend received and can send exact bytes back. Every backend tracks its sockets and
 * `close()` destroys them all.
 */
import net from "node:net";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { type HeaderList, readRequest, type Request, serializeResponse, SocketReader, Watch } from "./raw_http.ts";

/** A listening node:net server plus the bookkeeping every backend needs. */
export interface BaseBackend {
  port: number;
  /** `127.0.0.1:PORT`, as written in a config. */
  address: string;
  /** Connections accepted so far. */
  connections: ConnRecord[];
  watch: Watch;
  /** Resolves when `pred()` holds, re-checked on every backend event. */
  until(pred: () => boolean, what: string | (() => string), timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface ConnRecord {
  id: number;
  socket: net.Socket;
  reader: SocketReader;
  /** Every byte received on this connection, in order. */
  received(): Buffer;
  /** True once the peer sent FIN (or the socket closed). */
  gotEnd: boolean;
  closed: boolean;
}

async function listen(
  onConn: (rec: ConnRecord, base: BaseBackend) => void | Promise<void>,
  opts: { allowHalfOpen?: boolean } = {},
): Promise<BaseBackend> {
  const watch = new Watch();
  const connections: ConnRecord[] = [];
  const server = net.createServer({ allowHalfOpen: opts.allowHalfOpen ?? true });
  const base: BaseBackend = {
    port: 0,
    address: "",
    connections,
    watch,
    until: (pred, what, timeoutMs = 10_000) => watch.until(pred, timeoutMs, what),
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of connections) c.socket.destroy();
        server.close(() => resolve());
      }),
  };
  server.on("connection", (socket: net.Socket) => {
    socket.setNoDelay(true);
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    const rec: ConnRecord = {
      id: connections.length,
      socket,
      reader: new SocketReader(socket),
      received: () => Buffer.concat(chunks),
      gotEnd: false,
      closed: false,
    };
    socket.on("data", () => watch.notify());
    socket.on("end", () => {
      rec.gotEnd = true;
      watch.notify();
    });
    socket.on("close", () => {
      rec.gotEnd = true;
      rec.closed = true;
      watch.notify();
    });
    socket.on("error", () => {/* recorded as close */});
    connections.push(rec);
    watch.notify();
    Promise.resolve(onConn(rec, base)).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: 0, host: "127.0.0.1" }, () => resolve());
  });
  const addr = server.address() as net.AddressInfo;
  base.port = addr.port;
  base.address = `127.0.0.1:${addr.port}`;
  return base;
}

/** A raw backend: `onConn` gets the connection and does whatever the test scripts. */
export function rawBackend(
  onConn: (conn: ConnRecord, backend: BaseBackend) => void | Promise<void> = () => {},
  opts: { allowHalfOpen?: boolean } = {},
): Promise<BaseBackend> {
  return listen(onConn, opts);
}

/** What an HTTP handler answers: a response to serialise, or exact bytes, or nothing (it wrote itself). */
export type Reply =
  | { status?: number; headers?: HeaderList | Record<string, string>; body?: string | Buffer; close?: boolean }
  | { raw: Buffer | string; close?: boolean }
  | { noReply: true };

export interface RecordedRequest extends Request {
  /** Which backend connection carried it. */
  conn: number;
}

export interface HttpBackend extends BaseBackend {
  requests: RecordedRequest[];
  /** Waits until at least `n` requests arrived. */
  waitForRequests(n: number, timeoutMs?: number): Promise<void>;
}

/**
 * An HTTP/1.1 backend on raw sockets: parses each request (keeps raw bytes), asks `handler`,
 * answers, and loops for keep-alive until the client closes or asks to close.
 */
export async function httpBackend(
  handler: (req: RecordedRequest, conn: ConnRecord) => Reply | Promise<Reply>,
): Promise<HttpBackend> {
  const requests: RecordedRequest[] = [];
  const base = await listen(async (conn, b) => {
    for (;;) {
      const req = await readRequest(conn.reader);
      if (!req) break;
      const rec: RecordedRequest = { ...req, conn: conn.id };
      requests.push(rec);
      b.watch.notify();
      const reply = await handler(rec, conn);
      if ("noReply" in reply) continue;
      let bytes: Buffer;
      if ("raw" in reply) bytes = typeof reply.raw === "string" ? Buffer.from(reply.raw, "latin1") : reply.raw;
      else bytes = serializeResponse(reply.status ?? 200, reply.headers ?? [], reply.body ?? "");
      const wantsClose = reply.close || /\bclose\b/i.test(req.headers.find(([k]) => k.toLowerCase() === "connection")?.[1] ?? "");
      if (conn.socket.destroyed) break;
      conn.socket.write(bytes);
      if (wantsClose) {
        conn.socket.end();
        break;
      }
    }
  });
  return Object.assign(base, {
    requests,
    waitForRequests: (n: number, timeoutMs = 10_000) =>
      base.until(() => requests.length >= n, `${n} requests at ${base.address} (got ${requests.length})`, timeoutMs),
  });
}

/** A backend that answers every request with its own name (body `NAME`, header `X-Backend: NAME`) and echoes the target in `X-Target`. */
export function namedBackend(name: string): Promise<HttpBackend> {
  return httpBackend((req) => ({
    status: 200,
    headers: { "Content-Type": "text/plain", "X-Backend": name, "X-Target": req.target },
    body: name,
  }));
}

/** A backend whose body is `METHOD TARGET` plus the request body: handy for ordering checks. */
export function echoBackend(name = "echo"): Promise<HttpBackend> {
  return httpBackend((req) => ({
    status: 200,
    headers: { "Content-Type": "text/plain", "X-Backend": name },
    body: Buffer.concat([Buffer.from(`${req.method} ${req.target}\n`), req.body]),
  }));
}

// ---------------------------------------------------------------- seeded byte stream

/** Deterministic pseudo-random bytes (xorshift32), generated chunk by chunk. */
export class SeededBytes {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0 || 0x9e3779b9;
  }
  /** The next `n` bytes (n a multiple of 4 gives the fastest path). */
  next(n: number): Buffer {
    const words = Math.ceil(n / 4);
    const out = Buffer.allocUnsafe(words * 4);
    let x = this.#state;
    for (let i = 0; i < words; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out.writeUInt32LE(x, i * 4);
    }
    this.#state = x;
    return out.subarray(0, n);
  }
}

/** sha256 (hex) of `size` bytes of `SeededBytes(seed)` taken in `chunk`-sized pieces. */
export function seededSha256(seed: number, size: number, chunk = 64 * 1024): string {
  const gen = new SeededBytes(seed);
  const h = createHash("sha256");
  for (let left = size; left > 0; left -= chunk) h.update(gen.next(Math.min(chunk, left)));
  return h.digest("hex");
}

export interface StreamState {
  /** Bytes handed to `socket.write()`. */
  queued: number;
  /** Bytes whose write callback fired, i.e. handed to the kernel. */
  flushed: number;
  /** True while `write()` returned false and 'drain' has not come yet. */
  waitingDrain: boolean;
  /** How many times it had to wait for 'drain'. */
  drainWaits: number;
  done: boolean;
  /** The socket closed before everything was written. */
  aborted: boolean;
  /** Set when the backend has been waiting for 'drain' for the stall window without one. */
  stalled: boolean;
}

export interface StreamBackend extends HttpBackend {
  /** One state per streamed response, in order. */
  streams: StreamState[];
  size: number;
  sha256: string;
  /**
   * Resolves when response `index` has waited for 'drain' for `quietMs` with no drain:
   * the upstream's writes are blocked. Rejects after `timeoutMs`.
   */
  waitForStall(index: number, quietMs: number, timeoutMs?: number): Promise<StreamState>;
}

/**
 * Streams `size` bytes from `SeededBytes(seed)` for every request, writing in `chunk` pieces and
 * honouring back-pressure (waits for 'drain' whenever `write()` returns false).
 */
export async function streamBackend(size: number, seed = 42, chunk = 64 * 1024): Promise<StreamBackend> {
  const streams: StreamState[] = [];
  const stallTimers = new Map<StreamState, ReturnType<typeof setTimeout>>();
  let quiet = 1000;
  let backend!: HttpBackend;
  backend = await httpBackend(async (_req, conn) => {
    const st: StreamState = { queued: 0, flushed: 0, waitingDrain: false, drainWaits: 0, done: false, aborted: false, stalled: false };
    streams.push(st);
    const sock = conn.socket;
    const notify = () => backend.watch.notify();
    sock.write(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${size}\r\n\r\n`);
    const gen = new SeededBytes(seed);
    const closed = new Promise<void>((r) => sock.once("close", () => r()));
    for (let left = size; left > 0;) {
      if (sock.destroyed) {
        st.aborted = true;
        break;
      }
      const n = Math.min(chunk, left);
      left -= n;
      st.queued += n;
      const ok = sock.write(gen.next(n), (err) => {
        if (!err) st.flushed += n;
        notify();
      });
      if (!ok) {
        st.waitingDrain = true;
        st.drainWaits++;
        stallTimers.set(st, setTimeout(() => {
          st.stalled = true;
          notify();
        }, quiet));
        notify();
        await Promise.race([new Promise<void>((r) => sock.once("drain", () => r())), closed]);
        clearTimeout(stallTimers.get(st));
        stallTimers.delete(st);
        st.waitingDrain = false;
        st.stalled = false;
        notify();
      }
    }
    if (!st.aborted) st.done = true;
    notify();
    return { noReply: true };
  });
  const b = Object.assign(backend, {
    streams,
    size,
    sha256: seededSha256(seed, size, chunk),
    waitForStall: async (index: number, quietMs: number, timeoutMs = 15_000) => {
      quiet = quietMs;
      await backend.until(
        () => streams[index]?.stalled === true || streams[index]?.done === true || streams[index]?.aborted === true,
        `response ${index} to stall (state: ${JSON.stringify(streams[index])})`,
        timeoutMs,
      );
      return streams[index];
    },
  });
  const close = b.close;
  b.close = () => {
    for (const t of stallTimers.values()) clearTimeout(t);
    return close();
  };
  return b;
}

// ---------------------------------------------------------------- WebSocket echo

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export function wsAccept(key: string): string {
  return createHash("sha1").update(key + WS_GUID).digest("base64");
}

/** Encodes one WebSocket frame (FIN set). Server frames are unmasked; pass a mask for client frames. */
export function wsFrame(opcode: number, payload: Buffer, mask?: Buffer): Buffer {
  const len = payload.length;
  let head: Buffer;
  if (len < 126) head = Buffer.from([0x80 | opcode, len]);
  else if (len < 65536) {
    head = Buffer.alloc(4);
    head[0] = 0x80 | opcode;
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  if (!mask) return Buffer.concat([head, payload]);
  head[1] |= 0x80;
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i] ^= mask[i & 3];
  return Buffer.concat([head, mask, masked]);
}

export interface WsFrame {
  fin: boolean;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

export async function readWsFrame(r: SocketReader): Promise<WsFrame> {
  const h = await r.readExact(2);
  const fin = (h[0] & 0x80) !== 0;
  const opcode = h[0] & 0x0f;
  const masked = (h[1] & 0x80) !== 0;
  let len = h[1] & 0x7f;
  if (len === 126) len = (await r.readExact(2)).readUInt16BE(0);
  else if (len === 127) len = Number((await r.readExact(8)).readBigUInt64BE(0));
  const mask = masked ? await r.readExact(4) : null;
  const payload = len ? await r.readExact(len) : Buffer.alloc(0);
  if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
  return { fin, opcode, masked, payload };
}

export interface WsBackend extends BaseBackend {
  /** The upgrade requests as received. */
  upgrades: Request[];
  /** Data messages received (text as string, binary as Buffer). */
  messages: (string | Buffer)[];
  /** Frames from the client that were not masked (a proxy must pass frames through unchanged). */
  unmaskedFrames: number;
  closeFrames: number;
}

/**
 * A WebSocket echo server: completes the handshake (sha1 accept key), sends a text frame
 * `"welcome"` on its own, then echoes every data message; answers ping with pong and close with close.
 */
export async function wsEchoBackend(): Promise<WsBackend> {
  const upgrades: Request[] = [];
  const messages: (string | Buffer)[] = [];
  const state = { unmaskedFrames: 0, closeFrames: 0 };
  const base = await listen(async (conn, b) => {
    const req = await readRequest(conn.reader);
    if (!req) return;
    upgrades.push(req);
    const key = req.headers.find(([k]) => k.toLowerCase() === "sec-websocket-key")?.[1];
    if (!key || !/websocket/i.test(req.headers.find(([k]) => k.toLowerCase() === "upgrade")?.[1] ?? "")) {
      conn.socket.end(serializeResponse(400, { Connection: "close" }, "not a websocket upgrade\n"));
      return;
    }
    conn.socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${wsAccept(key)}\r\n\r\n`,
    );
    conn.socket.write(wsFrame(1, Buffer.from("welcome")));
    let fragments: Buffer[] = [];
    let fragOpcode = 0;
    for (;;) {
      const f = await readWsFrame(conn.reader);
      if (!f.masked) state.unmaskedFrames++;
      if (f.opcode === 8) {
        state.closeFrames++;
        b.watch.notify();
        conn.socket.end(wsFrame(8, f.payload.subarray(0, 2)));
        return;
      }
      if (f.opcode === 9) {
        conn.socket.write(wsFrame(10, f.payload));
        continue;
      }
      if (f.opcode === 10) continue;
      if (f.opcode !== 0) fragOpcode = f.opcode;
      fragments.push(f.payload);
      if (!f.fin) continue;
      const data = Buffer.concat(fragments);
      fragments = [];
      messages.push(fragOpcode === 1 ? data.toString("utf8") : data);
      b.watch.notify();
      conn.socket.write(wsFrame(fragOpcode, data));
    }
  });
  // Getters, not Object.assign: the counters must stay live.
  return Object.defineProperties(Object.assign(base, { upgrades, messages }), {
    unmaskedFrames: { get: () => state.unmaskedFrames, enumerable: true },
    closeFrames: { get: () => state.closeFrames, enumerable: true },
  }) as WsBackend;
}

/** A port on 127.0.0.1 with nothing listening: bound by the kernel's choice, then released. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: 0, host: "127.0.0.1" }, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
