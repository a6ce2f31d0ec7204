/**
 * A deliberately small HTTP/1.1 toolkit for tests, over node:net: a buffered socket reader,
 * a request and a response parser that keep the exact bytes, and a raw client that can
 * pipeline, half-close and read slowly. Strict enough to notice broken framing, nothing more.
 */
import net from "node:net";
import { Buffer } from "node:buffer";

/** Resolves when `pred()` is true, re-checked whenever `watch` notifies; rejects after `timeoutMs`. */
export class Watch {
  #listeners = new Set<() => void>();

  notify(): void {
    for (const fn of [...this.#listeners]) fn();
  }

  until(pred: () => boolean, timeoutMs: number, what: string | (() => string)): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (pred()) return resolve();
      const check = () => {
        if (!pred()) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#listeners.delete(check);
      };
      this.#listeners.add(check);
    });
  }
}

/** Thrown when the peer closed before the expected bytes arrived. */
export class EofError extends Error {
  constructor(what: string, readonly partial: Buffer) {
    super(`connection closed while reading ${what} (${partial.length} bytes buffered: ${preview(partial)})`);
  }
}

export function preview(b: Buffer, max = 200): string {
  const s = JSON.stringify(b.subarray(0, max).toString("latin1"));
  return b.length > max ? `${s}…` : s;
}

/** Buffers a socket's data and serves exact reads; every wait is event-driven and time-bounded. */
export class SocketReader {
  #chunks: Buffer[] = [];
  #length = 0;
  #ended = false;
  #error: Error | null = null;
  readonly watch = new Watch();
  /** Total bytes received from the socket so far. */
  received = 0;

  constructor(readonly socket: net.Socket, readonly timeoutMs = 10_000) {
    socket.on("data", (c: Buffer) => {
      this.#chunks.push(c);
      this.#length += c.length;
      this.received += c.length;
      this.watch.notify();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.watch.notify();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.watch.notify();
    });
    socket.on("error", (e) => {
      this.#error = e;
      this.#ended = true;
      this.watch.notify();
    });
  }

  get ended(): boolean {
    return this.#ended;
  }

  get buffered(): number {
    return this.#length;
  }

  #flat(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0] ?? Buffer.alloc(0);
  }

  #take(n: number): Buffer {
    const flat = this.#flat();
    const out = flat.subarray(0, n);
    const rest = flat.subarray(n);
    this.#chunks = rest.length ? [rest] : [];
    this.#length = rest.length;
    return Buffer.from(out);
  }

  async #wait(pred: () => boolean, what: string): Promise<void> {
    if (pred()) return;
    await this.watch.until(() => pred() || this.#ended, this.timeoutMs, () => `${what} (${this.#length} bytes buffered: ${preview(this.#flat())})`);
    if (!pred()) {
      if (this.#error && this.#length === 0) throw this.#error;
      throw new EofError(what, this.#flat());
    }
  }

  /** Reads up to and including `delim`; fails past `max` bytes. */
  async readUntil(delim: string, max = 1 << 20): Promise<Buffer> {
    const d = Buffer.from(delim, "latin1");
    let idx = -1;
    await this.#wait(() => {
      if (this.#length === 0) return false;
      idx = this.#flat().indexOf(d);
      return idx !== -1 || this.#length > max;
    }, `${JSON.stringify(delim)}`);
    if (idx === -1) throw new Error(`no ${JSON.stringify(delim)} within ${max} bytes: ${preview(this.#flat())}`);
    return this.#take(idx + d.length);
  }

  async readExact(n: number): Promise<Buffer> {
    await this.#wait(() => this.#length >= n, `${n} bytes`);
    return this.#take(n);
  }

  /** Reads until the peer ends the stream. */
  async readToEnd(): Promise<Buffer> {
    await this.watch.until(() => this.#ended, this.timeoutMs, () => `end of stream (${this.#length} bytes buffered)`);
    return this.#take(this.#length);
  }

  /** True when the stream ended and nothing is left. */
  async atEof(): Promise<boolean> {
    await this.watch.until(() => this.#ended || this.#length > 0, this.timeoutMs, "data or end of stream");
    return this.#length === 0 && this.#ended;
  }
}

export type HeaderList = [string, string][];

export interface Message {
  /** The start line without CRLF. */
  startLine: string;
  headers: HeaderList;
  /** Decoded body (chunked framing removed). */
  body: Buffer;
  /** Trailer fields of a chunked body. */
  trailers: HeaderList;
  /** Chunk-size lines as received, e.g. `["5;ext=1", "6", "0"]` (chunked only). */
  chunkLines: string[];
  /** `content-length` | `chunked` | `close` | `none`. */
  framing: "content-length" | "chunked" | "close" | "none";
  /** Every byte of the message as it was on the wire. */
  raw: Buffer;
}

export interface Request extends Message {
  method: string;
  target: string;
  version: string;
}

export interface Response extends Message {
  version: string;
  status: number;
  reason: string;
}

/** First value of a header (case-insensitive), or undefined. */
export function header(headers: HeaderList, name: string): string | undefined {
  const n = name.toLowerCase();
  return headers.find(([k]) => k.toLowerCase() === n)?.[1];
}

/** All values of a header (case-insensitive). */
export function headerAll(headers: HeaderList, name: string): string[] {
  const n = name.toLowerCase();
  return headers.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
}

function parseFields(lines: string[]): HeaderList {
  return lines.map((line) => {
    const i = line.indexOf(":");
    if (i <= 0) throw new Error(`malformed header field ${JSON.stringify(line)}`);
    return [line.slice(0, i), line.slice(i + 1).trim()] as [string, string];
  });
}

async function readHead(r: SocketReader): Promise<{ raw: Buffer; startLine: string; headers: HeaderList }> {
  const raw = await r.readUntil("\r\n\r\n");
  const lines = raw.toString("latin1").slice(0, -4).split("\r\n");
  return { raw, startLine: lines[0], headers: parseFields(lines.slice(1)) };
}

async function readChunked(r: SocketReader): Promise<{ body: Buffer; trailers: HeaderList; chunkLines: string[]; raw: Buffer[] }> {
  const raw: Buffer[] = [];
  const body: Buffer[] = [];
  const chunkLines: string[] = [];
  for (;;) {
    const line = await r.readUntil("\r\n", 4096);
    raw.push(line);
    const text = line.toString("latin1").slice(0, -2);
    chunkLines.push(text);
    const size = parseInt(text.split(";")[0].trim(), 16);
    if (!Number.isFinite(size) || !/^[0-9a-fA-F]+$/.test(text.split(";")[0].trim())) {
      throw new Error(`bad chunk-size line ${JSON.stringify(text)}`);
    }
    if (size === 0) break;
    const data = await r.readExact(size + 2);
    raw.push(data);
    if (data.subarray(size).toString("latin1") !== "\r\n") throw new Error("chunk data not followed by CRLF");
    body.push(data.subarray(0, size));
  }
  const trailerLines: string[] = [];
  for (;;) {
    const line = await r.readUntil("\r\n", 16384);
    raw.push(line);
    const text = line.toString("latin1").slice(0, -2);
    if (text === "") break;
    trailerLines.push(text);
  }
  return { body: Buffer.concat(body), trailers: parseFields(trailerLines), chunkLines, raw };
}

function isChunked(headers: HeaderList): boolean {
  const te = headerAll(headers, "transfer-encoding").join(",").toLowerCase();
  return te.split(",").map((s) => s.trim()).filter(Boolean).at(-1) === "chunked";
}

/** Reads one request; resolves null when the peer closed cleanly before sending any byte. */
export async function readRequest(r: SocketReader): Promise<Request | null> {
  if (await r.atEof()) return null;
  const head = await readHead(r);
  const [method, target, version] = head.startLine.split(" ");
  const base = { method, target, version, startLine: head.startLine, headers: head.headers };
  if (isChunked(head.headers)) {
    const c = await readChunked(r);
    return { ...base, body: c.body, trailers: c.trailers, chunkLines: c.chunkLines, framing: "chunked", raw: Buffer.concat([head.raw, ...c.raw]) };
  }
  const cl = header(head.headers, "content-length");
  if (cl !== undefined) {
    const body = await r.readExact(Number(cl));
    return { ...base, body, trailers: [], chunkLines: [], framing: "content-length", raw: Buffer.concat([head.raw, body]) };
  }
  return { ...base, body: Buffer.alloc(0), trailers: [], chunkLines: [], framing: "none", raw: head.raw };
}

/** Reads one response. `method` decides whether a body follows (HEAD never has one). */
export async function readResponse(r: SocketReader, method = "GET"): Promise<Response> {
  const head = await readHead(r);
  const m = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/.exec(head.startLine);
  if (!m) throw new Error(`malformed status line ${JSON.stringify(head.startLine)}`);
  const status = Number(m[2]);
  const base = { version: m[1], status, reason: m[3] ?? "", startLine: head.startLine, headers: head.headers };
  if (method === "HEAD" || (status >= 100 && status < 200) || status === 204 || status === 304) {
    return { ...base, body: Buffer.alloc(0), trailers: [], chunkLines: [], framing: "none", raw: head.raw };
  }
  if (isChunked(head.headers)) {
    const c = await readChunked(r);
    return { ...base, body: c.body, trailers: c.trailers, chunkLines: c.chunkLines, framing: "chunked", raw: Buffer.concat([head.raw, ...c.raw]) };
  }
  const cl = header(head.headers, "content-length");
  if (cl !== undefined) {
    const body = await r.readExact(Number(cl));
    return { ...base, body, trailers: [], chunkLines: [], framing: "content-length", raw: Buffer.concat([head.raw, body]) };
  }
  const body = await r.readToEnd();
  return { ...base, body, trailers: [], chunkLines: [], framing: "close", raw: Buffer.concat([head.raw, body]) };
}

/** A raw client connection: exact bytes out, parsed responses in. */
export interface RawClient {
  socket: net.Socket;
  reader: SocketReader;
  send(data: string | Uint8Array): Promise<void>;
  /** Reads the next response; pass the request's method so HEAD is framed right. */
  response(method?: string): Promise<Response>;
  /** Reads everything until the server closes. */
  readToEnd(): Promise<Buffer>;
  /** Half-close: send FIN, keep reading. */
  end(): void;
  /** Resolves when the socket is fully closed. */
  closed: Promise<void>;
  close(): void;
}

/** Opens a TCP connection to 127.0.0.1:port (half-open allowed, Nagle off). */
export function connectRaw(port: number, host = "127.0.0.1", timeoutMs = 10_000): Promise<RawClient> {
  return new Promise<RawClient>((resolve, reject) => {
    const socket = net.connect({ port, host, allowHalfOpen: true });
    const reader = new SocketReader(socket, timeoutMs);
    const closed = new Promise<void>((r) => socket.once("close", () => r()));
    const onError = (e: Error) => reject(e);
    socket.once("error", onError);
    socket.once("connect", () => {
      socket.off("error", onError);
      socket.setNoDelay(true);
      resolve({
        socket,
        reader,
        send: (data) =>
          new Promise<void>((res, rej) =>
            socket.write(typeof data === "string" ? Buffer.from(data, "latin1") : data, (e) => (e ? rej(e) : res()))
          ),
        response: (method = "GET") => readResponse(reader, method),
        readToEnd: () => reader.readToEnd(),
        end: () => socket.end(),
        closed,
        close: () => socket.destroy(),
      });
    });
  });
}

/** One request on a fresh connection, with `Connection: close`; returns the response. */
export async function request(
  port: number,
  opts: { method?: string; path?: string; host?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Response> {
  const c = await connectRaw(port);
  try {
    const method = opts.method ?? "GET";
    const body = opts.body === undefined ? undefined : Buffer.from(opts.body);
    let head = `${method} ${opts.path ?? "/"} HTTP/1.1\r\nHost: ${opts.host ?? `127.0.0.1:${port}`}\r\nConnection: close\r\n`;
    for (const [k, v] of Object.entries(opts.headers ?? {})) head += `${k}: ${v}\r\n`;
    if (body) head += `Content-Length: ${body.length}\r\n`;
    await c.send(Buffer.concat([Buffer.from(head + "\r\n", "latin1"), body ?? Buffer.alloc(0)]));
    return await c.response(method);
  } finally {
    c.close();
  }
}

/** Serialises a response head + body with Content-Length (unless headers say otherwise). */
export function serializeResponse(
  status: number,
  headers: HeaderList | Record<string, string> = [],
  body: string | Buffer = "",
  reason = REASONS[status] ?? "Status",
): Buffer {
  const list: HeaderList = Array.isArray(headers) ? headers : Object.entries(headers);
  const b = typeof body === "string" ? Buffer.from(body) : body;
  const has = (n: string) => list.some(([k]) => k.toLowerCase() === n);
  let head = `HTTP/1.1 ${status} ${reason}\r\n`;
  for (const [k, v] of list) head += `${k}: ${v}\r\n`;
  const bodyless = status === 204 || status === 304 || status < 200;
  if (!bodyless && !has("content-length") && !has("transfer-encoding")) head += `Content-Length: ${b.length}\r\n`;
  return Buffer.concat([Buffer.from(head + "\r\n", "latin1"), bodyless ? Buffer.alloc(0) : b]);
}

export const REASONS: Record<number, string> = {
  100: "Continue",
  101: "Switching Protocols",
  200: "OK",
  204: "No Content",
  301: "Moved Permanently",
  302: "Found",
  304: "Not Modified",
  400: "Bad Request",
  404: "Not Found",
  500: "Internal Server Error",
  502: "Bad Gateway",
  504: "Gateway Timeout",
};
