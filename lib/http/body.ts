/**
 * Body copiers, one per framing (RFC 9112 §6). Each is an explicit loop: read a piece from the
 * source, await its complete write to the destination, repeat. The source is never read faster
 * than the destination accepts, so memory per message stays at one read chunk.
 *
 * Chunked bodies are forwarded as chunked, byte for byte, extensions and trailers included
 * (RFC 9112 §7.1): ferry checks the framing but does not rewrite it. Only for an HTTP/1.0 client,
 * which cannot receive chunked coding (RFC 9112 §7.1: "MUST NOT send chunked to a 1.0 recipient"),
 * is the body decoded and delimited by closing the connection. The other way round, a body that
 * the server delimits by closing is sent to an HTTP/1.1 client chunked (RFC 9112 §7.1 lets an
 * intermediary apply it): the end of the body is then marked by the last chunk, which ferry sends
 * only after a clean end, so a server that dies mid-body can never look like one that finished.
 */
import { ProxyError } from "../errors.ts";
import type { BufReader } from "../net/reader.ts";
import { writeWithin } from "../net/socket_writer.ts";
import type { Conn } from "../runtime/mod.ts";
import type { Framing } from "./framing.ts";
import { isForbiddenTrailer } from "./forbidden_trailers.ts";
import { parseFields } from "./parse_fields.ts";
import { latin1, latin1Bytes } from "./syntax.ts";

/** Longest chunk-size line (size + extensions) accepted. */
const MAX_CHUNK_LINE = 4096;
/** Largest trailer section accepted, and most trailer fields. */
const MAX_TRAILER_BYTES = 32 * 1024;
const MAX_TRAILER_FIELDS = 100;
/** Pieces smaller than this are batched into one write; larger ones are written as they are. */
const BATCH = 16 * 1024;
const CRLF = new Uint8Array([13, 10]);
/** last-chunk and an empty trailer section (RFC 9112 §7.1). */
const LAST_CHUNK = new Uint8Array([48, 13, 10, 13, 10]);

export interface CopyOptions {
  /** Where the bytes go; null discards them (a body nobody will read, still framed-checked). */
  dst: Conn | null;
  /**
   * Errors blamed on the source side and on the destination side. `malformed` tells a body
   * that breaks the framing rules (400/502) from one that was cut short (the peer went away).
   */
  srcError: (message: string, cause?: unknown, malformed?: boolean) => ProxyError;
  dstError: (message: string, cause?: unknown) => ProxyError;
  /**
   * Most payload bytes the body may carry; 0 or absent: no limit. A chunk that would cross it is
   * refused (`body_too_large`) before its size line is forwarded, so the destination sees an
   * unfinished message, never a complete shorter one.
   */
  maxBytes?: number;
  /** Bytes to write before the body (a message head), sent together with the first piece. */
  prefix?: Uint8Array;
  /** Decode chunked coding instead of forwarding it (for HTTP/1.0 clients). */
  dechunk?: boolean;
  /** Encode a body delimited by close with chunked coding (for HTTP/1.1 clients). */
  enchunk?: boolean;
  /**
   * Called when the copier starts waiting on the source, and when that wait ends: a read
   * timeout must only count time spent waiting for the source, never time spent blocked on a
   * slow destination.
   */
  onReadStart?: () => void;
  onRead?: () => void;
  /**
   * Longest time one write to the destination may take before the destination is closed
   * (a peer that stopped reading), in ms; 0 or absent: no limit.
   */
  writeTimeoutMs?: number;
  /** Updated as bytes reach the destination: whether anything (the prefix included) was written, and the body bytes written. */
  progress?: { written: boolean; bodyBytes: number };
}

/** Copies one body framed by `framing` from `src`; returns the body bytes (payload) moved. */
export async function copyBody(src: BufReader, framing: Framing, opts: CopyOptions): Promise<number> {
  const out = new Output(opts);
  let n = 0;
  switch (framing.kind) {
    case "none":
      break;
    case "length":
      n = await copyLength(src, framing.length, out, opts);
      break;
    case "chunked":
      n = await copyChunked(src, out, opts);
      break;
    case "close":
      n = await copyUntilClose(src, out, opts);
      break;
  }
  await out.flush();
  return n;
}

async function copyLength(src: BufReader, length: number, out: Output, opts: CopyOptions): Promise<number> {
  if (opts.maxBytes && length > opts.maxBytes) throw new ProxyError("body_too_large", `body of ${length} bytes is larger than ${opts.maxBytes} bytes`);
  let left = length;
  while (left > 0) {
    const chunk = await readSrc(src, left, opts);
    if (chunk === null) throw opts.srcError(`body ended after ${length - left} of ${length} bytes`);
    left -= chunk.length;
    await out.add(chunk, src);
  }
  return length;
}

async function copyUntilClose(src: BufReader, out: Output, opts: CopyOptions): Promise<number> {
  let n = 0;
  for (;;) {
    const chunk = await readSrc(src, Infinity, opts);
    if (chunk === null) {
      // The server's orderly close is the end of the body (RFC 9112 §6.3 rule 8); a reset
      // threw above, and then the last chunk is never sent.
      if (opts.enchunk) await out.add(LAST_CHUNK, src);
      return n;
    }
    n += chunk.length;
    if (opts.enchunk) await out.addChunk(chunk, src);
    else await out.add(chunk, src);
  }
}

async function copyChunked(src: BufReader, out: Output, opts: CopyOptions): Promise<number> {
  const raw = !opts.dechunk;
  let total = 0;
  for (;;) {
    const line = await readLineSrc(src, MAX_CHUNK_LINE, "chunk size line", opts);
    const size = parseChunkSize(line, opts);
    if (opts.maxBytes && total + size > opts.maxBytes) {
      throw new ProxyError("body_too_large", `body larger than ${opts.maxBytes} bytes`);
    }
    // The last chunk is held back with the trailer section (below) until the final CRLF is
    // here: a recipient that takes "0\r\n" for the end must not be shown one the source never
    // finished (EOF or a refused trailer field after it). At most 4 KiB + 32 KiB are held.
    if (raw) {
      if (size === 0) await out.hold(line, src);
      else await out.addLine(line, src);
    }
    if (size === 0) break;
    let left = size;
    while (left > 0) {
      const chunk = await readSrc(src, left, opts);
      if (chunk === null) throw opts.srcError(`chunked body ended inside a chunk (${size - left} of ${size} bytes)`);
      left -= chunk.length;
      await out.add(chunk, src);
    }
    total += size;
    const end = await readLineSrc(src, 0, "chunk data terminator", opts);
    if (end.length !== 0) throw opts.srcError("chunk data not followed by CRLF", undefined, true);
    if (raw) await out.add(CRLF, src);
    // Decoding, the chunk's data was added while its CRLF was still buffered, so nothing flushed
    // it: flush now if the next read may wait, or a stream to an HTTP/1.0 client stalls here.
    else if (src.buffered === 0) await out.flush();
  }
  // Trailer section (RFC 9112 §7.1.2), then the final CRLF.
  // Each field line is checked before it is forwarded: RFC 9110 §5.5 lets a recipient of an
  // invalid field (CR, LF, NUL) reject the message, not pass it on first and complain after.
  let trailerBytes = 0;
  let trailerFields = 0;
  for (;;) {
    const line = await readLineSrc(src, MAX_TRAILER_BYTES - trailerBytes, "trailer section", opts);
    if (line.length !== 0) {
      if (++trailerFields > MAX_TRAILER_FIELDS) {
        throw opts.srcError(`invalid trailer: too many trailer fields (limit ${MAX_TRAILER_FIELDS})`, undefined, true);
      }
      const parsed = parseFields([latin1(line)], 1);
      if (!parsed.ok) throw opts.srcError(`invalid trailer: ${parsed.message}`, undefined, true);
      const name = parsed.fields[0][0];
      if (isForbiddenTrailer(name)) {
        throw opts.srcError(`invalid trailer: ${JSON.stringify(name)} may not be sent in a trailer section (RFC 9110 §6.5.1)`, undefined, true);
      }
    }
    if (raw) await out.hold(line, src);
    if (line.length === 0) break;
    trailerBytes += line.length + 2;
  }
  out.release();
  return total;
}

/**
 * chunk-size [ chunk-ext ] (RFC 9112 §7.1.1): 1–15 hex digits, so it never overflows (16 digits
 * or more, leading zeros included, are refused rather than risk a parser that wraps at 64 bits).
 * No sign, no "0x", no whitespace before the size, and whitespace after it only as the BWS
 * before a ";": `5 ` with nothing after it is refused. The extension is not checked against its
 * grammar, only for CTLs (bare CR and LF are refused by the line reader): it is forwarded as it
 * came, and no parser can read another size or another line end from it.
 */
function parseChunkSize(line: Uint8Array, opts: CopyOptions): number {
  const s = latin1(line);
  const m = /^([0-9A-Fa-f]{1,15})(?:[ \t]*;[\t\x20-\x7e\x80-\xff]*)?$/.exec(s);
  if (!m) throw opts.srcError(`invalid chunk size line ${JSON.stringify(s.slice(0, 64))}`, undefined, true);
  return parseInt(m[1], 16);
}

async function readSrc(src: BufReader, max: number, opts: CopyOptions): Promise<Uint8Array | null> {
  let chunk: Uint8Array | null;
  if (src.buffered === 0) opts.onReadStart?.();
  try {
    chunk = await src.read(max);
  } catch (e) {
    throw opts.srcError(`reading body failed: ${(e as Error).message}`, e);
  }
  opts.onRead?.();
  return chunk;
}

async function readLineSrc(src: BufReader, max: number, what: string, opts: CopyOptions): Promise<Uint8Array> {
  let line: Uint8Array | "eof" | "too_long";
  opts.onReadStart?.();
  try {
    line = await src.readLine(max);
  } catch (e) {
    throw opts.srcError(`reading body failed: ${(e as Error).message}`, e);
  }
  opts.onRead?.();
  if (line === "eof") throw opts.srcError(`chunked body ended in the ${what}`);
  if (line === "too_long") throw opts.srcError(`${what} too long`, undefined, true);
  if (line.includes(13) || line.includes(10)) throw opts.srcError(`bare CR or LF in the ${what}`, undefined, true);
  return line;
}

/**
 * Batches small pieces into one write and flushes whenever the source has nothing more
 * buffered, so a streaming response (server-sent events, say) is never held back waiting.
 */
class Output {
  #dst: Conn | null;
  #opts: CopyOptions;
  #batch = new Uint8Array(0);
  #used = 0;
  #held: Uint8Array[] = [];

  constructor(opts: CopyOptions) {
    this.#dst = opts.dst;
    this.#opts = opts;
    if (opts.prefix?.length) this.#append(opts.prefix);
  }

  async add(p: Uint8Array, src: BufReader): Promise<void> {
    if (!this.#dst) return;
    if (p.length >= BATCH && this.#used === 0) await this.#write(p);
    else {
      this.#append(p);
      if (this.#used >= BATCH) await this.flush();
    }
    if (src.buffered === 0) await this.flush();
  }

  /** Adds `p` as one chunk of chunked coding: size line, data, CRLF. */
  async addChunk(p: Uint8Array, src: BufReader): Promise<void> {
    if (!this.#dst || p.length === 0) return;
    this.#append(latin1Bytes(p.length.toString(16)));
    this.#append(CRLF);
    this.#append(p);
    this.#append(CRLF);
    if (this.#used >= BATCH || src.buffered === 0) await this.flush();
  }

  async addLine(line: Uint8Array, src: BufReader): Promise<void> {
    if (!this.#dst) return;
    this.#append(line);
    this.#append(CRLF);
    if (this.#used >= BATCH || src.buffered === 0) await this.flush();
  }

  /**
   * Keeps a line back (the last chunk, a trailer line): it goes out only after `release()`.
   * What was added before it is not held: it is flushed when the source has nothing buffered.
   */
  async hold(line: Uint8Array, src: BufReader): Promise<void> {
    if (!this.#dst) return;
    this.#held.push(line.slice(), CRLF);
    if (src.buffered === 0) await this.flush();
  }

  /** Queues the held lines for the next flush. */
  release(): void {
    for (const p of this.#held) this.#append(p);
    this.#held = [];
  }

  async flush(): Promise<void> {
    if (this.#used === 0 || !this.#dst) return;
    const p = this.#batch.subarray(0, this.#used);
    this.#batch = new Uint8Array(0);
    this.#used = 0;
    await this.#write(p);
  }

  // Pieces are copied: a source chunk may be a view of a buffer the adapter reuses.
  #append(p: Uint8Array): void {
    if (this.#used + p.length > this.#batch.length) {
      const next = new Uint8Array(Math.max(this.#used + p.length, this.#batch.length * 2, 1024));
      next.set(this.#batch.subarray(0, this.#used));
      this.#batch = next;
    }
    this.#batch.set(p, this.#used);
    this.#used += p.length;
  }

  async #write(p: Uint8Array): Promise<void> {
    try {
      await writeWithin(this.#dst!, p, this.#opts.writeTimeoutMs);
    } catch (e) {
      throw this.#opts.dstError(`writing body failed: ${(e as Error).message}`, e);
    }
    const progress = this.#opts.progress;
    if (progress) {
      if (!progress.written) progress.bodyBytes -= this.#opts.prefix?.length ?? 0;
      progress.written = true;
      progress.bodyBytes += p.length;
    }
  }
}
