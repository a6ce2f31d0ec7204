/**
 * One backend process of the soak (bench/soak.ts): an HTTP/1.1 keep-alive server on raw
 * node:net sockets that serves the bodies described in bench/_soak_shared.ts, echoes the hash
 * of request bodies, and resets connections mid-body when a path asks for it. It runs as its
 * own process so that the soak can SIGKILL it and start it again on the same port.
 *
 *   bun bench/soak_backend.ts PORT NAME          # PORT 0 = any free port
 *   deno run -A bench/soak_backend.ts PORT NAME
 *
 * Prints `listening PORT` on stdout once bound; exits 1 with a message when it cannot bind.
 * SOAK_SABOTAGE=flip-byte:P (environment) flips one body byte in a share P of the `/b/`
 * responses: only for checking that the soak catches corruption.
 */
import net from "node:net";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import process from "node:process";
import { header, readRequest, type Request, SocketReader } from "../tests/_helpers/raw_http.ts";
import { bodyPrefix, type BodySpec, echoLine, parseBodyPath, parseEchoPath, PREFIX_LEN, RestCache, restLength, rng } from "./_soak_shared.ts";

const [portText, name = "backend"] = process.argv.slice(2);
const port = Number(portText);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`soak_backend: usage: soak_backend.ts PORT NAME, got ${JSON.stringify(process.argv.slice(2))}\n`);
  process.exit(2);
}

const sabotage = /^flip-byte:([0-9.]+)$/.exec(process.env.SOAK_SABOTAGE ?? "");
const flipShare = sabotage ? Number(sabotage[1]) : 0;
const flipRandom = rng(port * 7919 + process.pid);

const cache = new RestCache();
/** Largest piece handed to one `write()`. */
const PIECE = 64 * 1024;
/** How long a connection may sit without a request before it is closed (longer than ferry's pool idle). */
const IDLE_MS = 30_000;

class Closed extends Error {}

function pause(ms: number, socket: net.Socket): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (socket.destroyed) return reject(new Closed());
    const done = () => {
      clearTimeout(timer);
      socket.off("close", onClose);
    };
    const timer = setTimeout(() => {
      done();
      resolve();
    }, ms);
    const onClose = () => {
      done();
      reject(new Closed());
    };
    socket.once("close", onClose);
  });
}

/** Writes `buf`; resolves at once when the socket took it, else on 'drain'; rejects once closed. */
function send(socket: net.Socket, buf: Uint8Array): Promise<void> {
  if (socket.destroyed) return Promise.reject(new Closed());
  if (socket.write(buf)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const done = () => {
      socket.off("drain", onDrain);
      socket.off("close", onClose);
    };
    const onDrain = () => {
      done();
      resolve();
    };
    const onClose = () => {
      done();
      reject(new Closed());
    };
    socket.once("drain", onDrain);
    socket.once("close", onClose);
  });
}

/** Resolves once everything written so far has gone to the kernel. */
function flushed(socket: net.Socket): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (socket.destroyed) return reject(new Closed());
    socket.write(Buffer.alloc(0), (err) => (err ? reject(new Closed()) : resolve()));
  });
}

function head(status: number, reason: string, fields: [string, string | number][]): Buffer {
  let text = `HTTP/1.1 ${status} ${reason}\r\n`;
  for (const [k, v] of fields) text += `${k}: ${v}\r\n`;
  return Buffer.from(text + "\r\n", "latin1");
}

/** The body of `spec` as a list of slices (first line, then the cached seeded part). */
function bodySlices(spec: BodySpec): Buffer[] {
  const first = bodyPrefix(spec.id).subarray(0, Math.min(PREFIX_LEN, spec.size));
  const rest = cache.bytes(spec.seed, restLength(spec.size));
  return rest.length ? [first, rest] : [first];
}

/** Splits `slices` into pieces of at most `max` bytes (or exactly `count` pieces). */
function pieces(slices: Buffer[], total: number, count?: number): Buffer[] {
  const size = count ? Math.max(1, Math.ceil(total / count)) : PIECE;
  const out: Buffer[] = [];
  for (const s of slices) for (let o = 0; o < s.length; o += size) out.push(s.subarray(o, Math.min(s.length, o + size)));
  if (!count) return out;
  // Re-cut to exactly `count` pieces of `size` bytes (the first line may straddle a boundary).
  const flat = Buffer.concat(out);
  const even: Buffer[] = [];
  for (let o = 0; o < flat.length; o += size) even.push(flat.subarray(o, o + size));
  return even;
}

async function serveBody(socket: net.Socket, req: Request, spec: BodySpec, close: boolean): Promise<void> {
  if (spec.delayMs) await pause(spec.delayMs, socket);
  const fields: [string, string | number][] = [["Content-Type", "application/octet-stream"], ["X-Soak-Id", spec.id], [
    "X-Soak-Backend",
    name,
  ]];
  fields.push(spec.mode === "cl" ? ["Content-Length", spec.size] : ["Transfer-Encoding", "chunked"]);
  if (close) fields.push(["Connection", "close"]);
  await send(socket, head(200, "OK", fields));
  if (req.method === "HEAD") return;

  let parts = pieces(bodySlices(spec), spec.size, spec.slow?.pieces);
  if (flipShare > 0 && spec.size > 0 && flipRandom() < flipShare) {
    const flat = Buffer.concat(parts);
    flat[Math.floor(flipRandom() * flat.length)] ^= 0x20;
    parts = pieces([flat], flat.length, spec.slow?.pieces);
  }
  const chunkRandom = rng(spec.id ^ 0x5bd1e995);
  let sent = 0;
  for (let i = 0; i < parts.length; i++) {
    if (i > 0 && spec.slow) await pause(spec.slow.gapMs, socket);
    let part = parts[i];
    let resetNow = false;
    if (spec.resetAfter !== undefined && sent + part.length >= spec.resetAfter) {
      part = part.subarray(0, spec.resetAfter - sent);
      resetNow = true;
    }
    if (spec.mode === "cl") {
      if (part.length) await send(socket, part);
    } else {
      // Chunks of 1 byte to 16 KiB, so chunk boundaries fall anywhere.
      for (let o = 0; o < part.length;) {
        const n = Math.min(part.length - o, 1 + Math.floor(chunkRandom() * 16384));
        await send(socket, Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`, "latin1"), part.subarray(o, o + n), Buffer.from("\r\n")]));
        o += n;
      }
    }
    sent += part.length;
    if (resetNow) {
      // Let what was written reach ferry first, so it is a reset mid-body, not before the head.
      await flushed(socket);
      await pause(20, socket);
      socket.resetAndDestroy();
      throw new Closed();
    }
  }
  if (spec.mode === "ch") await send(socket, Buffer.from("0\r\n\r\n", "latin1"));
}

async function serveEcho(socket: net.Socket, req: Request, id: number, delayMs: number | undefined, close: boolean): Promise<void> {
  if (delayMs) await pause(delayMs, socket);
  const body = Buffer.from(echoLine(id, req.body.length, createHash("sha256").update(req.body).digest("hex")), "latin1");
  const fields: [string, string | number][] = [["Content-Type", "text/plain"], ["X-Soak-Id", id], ["X-Soak-Backend", name], [
    "Content-Length",
    body.length,
  ]];
  if (close) fields.push(["Connection", "close"]);
  await send(socket, Buffer.concat([head(200, "OK", fields), body]));
}

async function serveSimple(socket: net.Socket, status: number, reason: string, text: string, close: boolean): Promise<void> {
  const fields: [string, string | number][] = [["Content-Type", "text/plain"], ["Content-Length", Buffer.byteLength(text)]];
  if (close) fields.push(["Connection", "close"]);
  await send(socket, Buffer.concat([head(status, reason, fields), Buffer.from(text)]));
}

async function serve(socket: net.Socket): Promise<void> {
  const reader = new SocketReader(socket, IDLE_MS);
  for (;;) {
    const req = await readRequest(reader);
    if (!req) {
      socket.end();
      return;
    }
    const close = /\bclose\b/i.test(header(req.headers, "connection") ?? "");
    const path = req.target;
    const spec = parseBodyPath(path);
    const echo = parseEchoPath(path);
    if (spec && (req.method === "GET" || req.method === "HEAD")) await serveBody(socket, req, spec, close);
    else if (echo && req.method === "POST") await serveEcho(socket, req, echo.id, echo.delayMs, close);
    else if (path === "/health") await serveSimple(socket, 200, "OK", "ok\n", close);
    else await serveSimple(socket, 404, "Not Found", "not found\n", close);
    if (close) {
      socket.end();
      return;
    }
  }
}

const server = net.createServer({ allowHalfOpen: false }, (socket) => {
  socket.setNoDelay(true);
  socket.on("error", () => {/* a reset from ferry: the read or write that sees it ends serve() */});
  serve(socket).catch(() => socket.destroy());
});
server.on("error", (e: Error) => {
  process.stderr.write(`soak_backend: cannot listen on "127.0.0.1:${port}": ${e.message}\n`);
  process.exit(1);
});
server.listen({ port, host: "127.0.0.1" }, () => {
  process.stdout.write(`listening ${(server.address() as net.AddressInfo).port}\n`);
});
