/**
 * Keeps a copy of the request body bytes as they go to a server (framed exactly as sent), up to
 * a limit, so that a failed attempt can be repeated on another server. Past the limit nothing is
 * kept: no request body is ever buffered without bound (the backend's `retry_body_limit`).
 */
import type { Addr, Conn } from "../runtime/mod.ts";

export class BodyTape {
  #chunks: Uint8Array[] = [];
  #size = 0;
  #overflow = false;

  constructor(readonly limit: number) {
    if (limit <= 0) this.#overflow = true;
  }

  /** Keeps a copy of `bytes` (the caller may reuse its buffer). */
  record(bytes: Uint8Array): void {
    if (this.#overflow || bytes.length === 0) return;
    if (this.#size + bytes.length > this.limit) {
      this.#overflow = true;
      this.#chunks = [];
      return;
    }
    this.#chunks.push(bytes.slice());
    this.#size += bytes.length;
  }

  /** Everything recorded, or null when the body outgrew the limit. */
  bytes(): Uint8Array | null {
    if (this.#overflow) return null;
    if (this.#chunks.length !== 1) {
      const all = new Uint8Array(this.#size);
      let at = 0;
      for (const c of this.#chunks) {
        all.set(c, at);
        at += c.length;
      }
      this.#chunks = [all];
    }
    return this.#chunks[0] ?? new Uint8Array(0);
  }

  /** `conn`, with every byte it accepts recorded. */
  wrap(conn: Conn): Conn {
    const tape = this;
    return {
      get localAddr(): Addr {
        return conn.localAddr;
      },
      get remoteAddr(): Addr {
        return conn.remoteAddr;
      },
      read: () => conn.read(),
      async write(p: Uint8Array): Promise<number> {
        const n = await conn.write(p);
        tape.record(p.subarray(0, n));
        return n;
      },
      closeWrite: () => conn.closeWrite(),
      close: () => conn.close(),
      abort: () => conn.abort(),
    };
  }
}
