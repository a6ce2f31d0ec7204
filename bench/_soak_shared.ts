/**
 * What the soak's backends (bench/soak_backend.ts) and its clients (bench/soak.ts) agree on: the
 * request paths and the bodies they stand for, so a client can check every byte it gets.
 *
 * A body is a function of its path alone: `/b/ID/SIZE/SEED/MODE[/OPTION]...` is SIZE bytes made
 * of a 32-byte line naming the request (`soak id=ID ....\n`, so a body delivered to the wrong
 * request is caught) followed by SIZE-32 bytes of `SeededBytes(SEED)` (the same for every
 * request with that SEED and SIZE, so both sides compute it, and its sha256, once). MODE is `cl`
 * (Content-Length) or `ch` (chunked, chunk sizes drawn from ID). Options:
 *
 *   dMS        wait MS before sending the head
 *   sNxMS      send the body in N pieces, MS apart (a slow backend)
 *   rBYTES     send the head and BYTES bytes of body, then reset the connection (RST)
 *
 * `POST /e/ID[/dMS]` reads the request body (Content-Length or chunked) and answers 200 with
 * `ID LENGTH SHA256HEX\n`. `GET /health` answers `ok\n` (ferry's active health check).
 *
 * node: APIs only: this runs under Deno and Bun, in the runner and in the backend processes.
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { SeededBytes } from "../tests/_helpers/backends.ts";

/** Length of the line that starts every body. */
export const PREFIX_LEN = 32;

export type Mode = "cl" | "ch";

export interface BodySpec {
  id: number;
  size: number;
  seed: number;
  mode: Mode;
  /** Wait before the head, ms. */
  delayMs?: number;
  /** Send the body in `pieces` writes, `gapMs` apart. */
  slow?: { pieces: number; gapMs: number };
  /** Reset the connection after this many body bytes. */
  resetAfter?: number;
}

/** The 32-byte line that starts the body of request `id`. */
export function bodyPrefix(id: number): Buffer {
  const text = `soak id=${id} `;
  return Buffer.from(text.padEnd(PREFIX_LEN - 1, ".") + "\n", "latin1");
}

/** The part of a body after its first line: `n` bytes of `SeededBytes(seed)`. */
export function restBytes(seed: number, n: number): Buffer {
  return new SeededBytes((Math.imul(seed + 1, 0x9e3779b1) >>> 0) || 1).next(n);
}

/** Bytes after the first line for a body of `size` bytes. */
export function restLength(size: number): number {
  return Math.max(0, size - PREFIX_LEN);
}

/** `restBytes` per (seed, length), generated once. */
export class RestCache {
  #bytes = new Map<string, Buffer>();
  #sha = new Map<string, string>();

  bytes(seed: number, n: number): Buffer {
    const key = `${seed}:${n}`;
    let b = this.#bytes.get(key);
    if (!b) this.#bytes.set(key, b = restBytes(seed, n));
    return b;
  }

  /** sha256 (hex) of `restBytes(seed, n)`, without keeping the bytes. */
  sha256(seed: number, n: number): string {
    const key = `${seed}:${n}`;
    let h = this.#sha.get(key);
    if (!h) this.#sha.set(key, h = createHash("sha256").update(restBytes(seed, n)).digest("hex"));
    return h;
  }
}

export function bodyPath(s: BodySpec): string {
  let p = `/b/${s.id}/${s.size}/${s.seed}/${s.mode}`;
  if (s.delayMs !== undefined) p += `/d${s.delayMs}`;
  if (s.slow) p += `/s${s.slow.pieces}x${s.slow.gapMs}`;
  if (s.resetAfter !== undefined) p += `/r${s.resetAfter}`;
  return p;
}

export function parseBodyPath(path: string): BodySpec | null {
  const m = /^\/b\/(\d+)\/(\d+)\/(\d+)\/(cl|ch)((?:\/[dsr][0-9x]+)*)$/.exec(path);
  if (!m) return null;
  const spec: BodySpec = { id: Number(m[1]), size: Number(m[2]), seed: Number(m[3]), mode: m[4] as Mode };
  for (const opt of m[5].split("/").filter(Boolean)) {
    const v = opt.slice(1);
    if (opt[0] === "d") spec.delayMs = Number(v);
    else if (opt[0] === "r") spec.resetAfter = Number(v);
    else {
      const [pieces, gapMs] = v.split("x").map(Number);
      if (!(pieces >= 1) || !(gapMs >= 0)) return null;
      spec.slow = { pieces, gapMs };
    }
  }
  return spec;
}

export function echoPath(id: number, delayMs?: number): string {
  return delayMs === undefined ? `/e/${id}` : `/e/${id}/d${delayMs}`;
}

export function parseEchoPath(path: string): { id: number; delayMs?: number } | null {
  const m = /^\/e\/(\d+)(?:\/d(\d+))?$/.exec(path);
  return m ? { id: Number(m[1]), delayMs: m[2] === undefined ? undefined : Number(m[2]) } : null;
}

/** The body of the answer to `POST /e/ID`. */
export function echoLine(id: number, length: number, sha256: string): string {
  return `${id} ${length} ${sha256}\n`;
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export { mulberry32 as rng } from "../tests/_helpers/seeded_random.ts";
