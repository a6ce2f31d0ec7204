/**
 * Buffered reads over a `Conn`: what a message parser needs (a head up to a delimiter, with a
 * size limit) and what a body copier needs (the bytes already read ahead, then raw chunks).
 *
 * A returned chunk is valid until the next call on this reader (it may be a view of the
 * adapter's reused buffer); copy it to keep it longer.
 */
import type { Conn } from "../runtime/mod.ts";

const EMPTY = new Uint8Array(0);

export type HeadResult =
  | { ok: true; head: Uint8Array }
  /** EOF before any byte of a head: the peer simply closed (normal between keep-alive requests). */
  | { ok: false; reason: "eof" }
  /** EOF after part of a head arrived. */
  | { ok: false; reason: "truncated"; partial: Uint8Array }
  /** No CRLF within `maxLine` bytes: the first line is too long (request line → 414). */
  | { ok: false; reason: "line_too_long" }
  /** No blank line within `maxHead` bytes (→ 431 / 502). */
  | { ok: false; reason: "head_too_long" }
  /**
   * A bare LF, or a control byte in the first line: no valid head can follow, so this is said at
   * once rather than after a timeout (→ 400 / 502). Catches TLS or binary junk on a plain port.
   */
  | { ok: false; reason: "malformed" };

export class BufReader {
  readonly conn: Conn;
  #buf: Uint8Array = EMPTY;
  #eof = false;
  #pending: Promise<boolean> | null = null;

  constructor(conn: Conn) {
    this.conn = conn;
  }

  /** Bytes read from the connection but not consumed yet. */
  get buffered(): number {
    return this.#buf.length;
  }

  /** True once the connection reported EOF and nothing is left in the buffer. */
  get eof(): boolean {
    return this.#eof && this.#buf.length === 0;
  }

  /**
   * Reads one more chunk and appends it; false at EOF. Calls made while a read is pending share
   * it: a watcher may keep a read open on an idle connection (to notice a client leaving), and
   * whoever reads next simply takes that read over.
   */
  fill(): Promise<boolean> {
    this.#pending ??= this.#fill().finally(() => (this.#pending = null));
    return this.#pending;
  }

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    // The leftover may be a view of the adapter's read buffer, which the next read overwrites
    // (the Deno adapter reuses it): copy it out *before* reading.
    const rest = this.#buf.length === 0 ? EMPTY : this.#buf.slice();
    this.#buf = rest;
    const chunk = await this.conn.read();
    if (chunk === null) {
      this.#eof = true;
      return false;
    }
    // Bytes may have been taken while the read was pending (it may be a watcher's): append to
    // what is left now, not to what was there when the read began.
    const left = this.#buf;
    if (left.length === 0) {
      this.#buf = chunk;
    } else {
      const joined = new Uint8Array(left.length + chunk.length);
      joined.set(left);
      joined.set(chunk, left.length);
      this.#buf = joined;
    }
    return true;
  }

  /** Up to `max` bytes: what is buffered, else one chunk from the connection. `null` at EOF. */
  async read(max = Infinity): Promise<Uint8Array | null> {
    if (this.#buf.length === 0 && !(await this.fill())) return null;
    return this.take(Math.min(max, this.#buf.length));
  }

  /** Consumes and returns exactly `n` buffered bytes (`n` must be ≤ `buffered`). */
  take(n: number): Uint8Array {
    const out = this.#buf.subarray(0, n);
    this.#buf = n === this.#buf.length ? EMPTY : this.#buf.subarray(n);
    return out;
  }

  /** The buffered bytes, not consumed. */
  peek(): Uint8Array {
    return this.#buf;
  }

  /**
   * Reads one line ending in CRLF and returns it without the CRLF. Gives "too_long" when no
   * CRLF arrives within `max` bytes and "eof" when the connection ends first.
   */
  async readLine(max: number): Promise<Uint8Array | "eof" | "too_long"> {
    let scanned = 0;
    for (;;) {
      const buf = this.#buf;
      const lf = buf.indexOf(10, scanned);
      if (lf >= 0) {
        if (lf > max + 1) return "too_long";
        const line = buf.subarray(0, lf + 1);
        this.take(lf + 1);
        // A bare LF counts as a line end only with its CR; the caller sees the LF and rejects.
        return line[lf - 1] === 13 ? line.subarray(0, lf - 1) : line;
      }
      if (buf.length > max + 1) return "too_long";
      scanned = buf.length;
      if (!(await this.fill())) return "eof";
    }
  }

  /**
   * Reads a message head: everything up to and including the first CRLF CRLF. For a request,
   * leading CRLFs are skipped (RFC 9112 §2.2: a server SHOULD ignore at least one empty line
   * before the request-line), and count toward `maxHead` so that a peer cannot feed empty lines
   * for ever. A response gets no such leniency (`skipEmptyLines: false`): §2.2 grants it only
   * before a request-line, and a client that skipped them could be fed any number. The head is
   * copied, so it stays valid.
   */
  async readHead(maxLine: number, maxHead: number, opts: { skipEmptyLines?: boolean } = {}): Promise<HeadResult> {
    let scanned = 0; // bytes already searched for the terminator
    const skipEmpty = opts.skipEmptyLines !== false;
    let started = false; // a byte of the head itself has arrived
    let skipped = 0;
    for (;;) {
      if (!started && skipEmpty) {
        let skip = 0;
        while (skip + 1 < this.#buf.length && this.#buf[skip] === 13 && this.#buf[skip + 1] === 10) skip += 2;
        if (skip) this.take(skip);
        skipped += skip;
        if (skipped > maxHead) return { ok: false, reason: "head_too_long" };
        if (this.#buf.length > 0 && !(this.#buf.length === 1 && this.#buf[0] === 13)) started = true;
      } else if (!started && this.#buf.length > 0) {
        started = true;
      }
      if (started) {
        const buf = this.#buf;
        // The same verdict whichever way the head was split into reads: line limit first, then
        // head limit, whether or not the terminator has arrived yet.
        if (firstLineLength(buf) > maxLine) return { ok: false, reason: "line_too_long" };
        const end = indexOfHeadEnd(buf, Math.max(0, scanned - 3));
        // Only the head's own bytes: what follows it is body, and may be anything.
        // From one byte back: a CR that ended the last read was let through as a possible CRLF,
        // and must be judged now that its next byte is here, whatever the split.
        if (!wellFormedSoFar(buf, Math.max(0, scanned - 1), end >= 0 ? end : buf.length)) return { ok: false, reason: "malformed" };
        if (end >= 0) {
          if (end > maxHead) return { ok: false, reason: "head_too_long" };
          const head = buf.slice(0, end);
          this.take(end);
          return { ok: true, head };
        }
        scanned = buf.length;
        if (buf.length > maxHead) return { ok: false, reason: "head_too_long" };
      }
      if (!(await this.fill())) {
        if (!started && this.#buf.length === 0) return { ok: false, reason: "eof" };
        return { ok: false, reason: "truncated", partial: this.#buf.slice() };
      }
    }
  }
}

/**
 * RFC 9112 §2.2: every line ends in CRLF, so a LF without its CR means the sender frames
 * messages differently from us; and the first line (request or status line) is printable text,
 * so a control byte there (other than HTAB) means this is not HTTP at all. Checks the bytes from
 * `from` up to `to` (the earlier ones were checked by an earlier call, the later ones are not
 * part of the head).
 */
function wellFormedSoFar(b: Uint8Array, from: number, to: number): boolean {
  for (let i = b.indexOf(10, from); i >= 0 && i < to; i = b.indexOf(10, i + 1)) if (i === 0 || b[i - 1] !== 13) return false;
  // A CR whose next byte is here and is not LF is a bare CR (RFC 9112 §2.2): refused now, not
  // after a head end that the bare CR may keep from ever arriving (`\r\n\r\r\n`).
  for (let i = b.indexOf(13, from); i >= 0 && i < to && i + 1 < b.length; i = b.indexOf(13, i + 1)) if (b[i + 1] !== 10) return false;
  const lf = b.indexOf(10);
  const lineEnd = Math.min(lf < 0 ? b.length : lf - 1, to);
  for (let i = from; i < lineEnd; i++) {
    const c = b[i];
    if ((c < 0x20 && c !== 0x09 && !(c === 13 && i === b.length - 1)) || c === 0x7f) return false;
  }
  return true;
}

/**
 * Length of the first line without its CRLF (or LF); while no LF has arrived, a lower bound:
 * the bytes so far, not counting a trailing CR that may be the start of the CRLF.
 */
function firstLineLength(b: Uint8Array): number {
  const lf = b.indexOf(10);
  const end = lf < 0 ? b.length : lf;
  return end > 0 && b[end - 1] === 13 ? end - 1 : end;
}

/** Index just past the first CRLF CRLF at or after `from`, or -1. */
function indexOfHeadEnd(b: Uint8Array, from: number): number {
  for (let i = b.indexOf(13, from); i >= 0 && i + 3 < b.length; i = b.indexOf(13, i + 1)) {
    if (b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i + 4;
  }
  return -1;
}
