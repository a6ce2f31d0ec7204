/**
 * A one-way byte copy with an explicit read loop: the next chunk is read only after the previous
 * one was completely written, so at most one chunk per direction is in flight (bounded memory).
 */
import type { Conn } from "../runtime/mod.ts";
import { Deadline } from "./deadline.ts";
import { writeAll } from "./socket_writer.ts";

export interface PipeOptions {
  /** Called with every chunk moved, e.g. to push an idle deadline forward. */
  onData?: (n: number) => void;
  /** Source bytes already read ahead (by a head parser) that belong to the stream. */
  head?: Uint8Array;
}

/**
 * Copies `src` to `dst` until `src` reaches EOF, then half-closes `dst` so the peer learns that
 * this direction is finished while the other one may still be talking (RFC 9293 §3.6: a FIN only
 * ends one direction). Returns the number of bytes copied; throws on a read or write failure.
 */
export async function pipe(src: Conn, dst: Conn, opts: PipeOptions = {}): Promise<number> {
  let total = 0;
  if (opts.head?.length) {
    await writeAll(dst, opts.head);
    total += opts.head.length;
    opts.onData?.(opts.head.length);
  }
  for (;;) {
    const chunk = await src.read();
    if (chunk === null) break;
    await writeAll(dst, chunk);
    total += chunk.length;
    opts.onData?.(chunk.length);
  }
  await dst.closeWrite();
  return total;
}

export interface TunnelOptions {
  /** Bytes already read ahead from `a` (for `b`) and from `b` (for `a`). */
  aHead?: Uint8Array;
  bHead?: Uint8Array;
  onData?: (n: number) => void;
  /**
   * Close both sides after this many ms without a byte in either direction (HAProxy's
   * `timeout tunnel`); 0 or absent: never. Without it a tunnel whose one side has finished
   * (a half-close passed on) waits on the other side for ever.
   */
  idleMs?: number;
}

export interface TunnelResult {
  aToB: number;
  bToA: number;
  /** The first failure of either direction, if any (an idle timeout shows as `idledOut`). */
  error?: unknown;
  /** Ended by `idleMs` of silence. */
  idledOut: boolean;
}

/**
 * Joins two connections into a tunnel: both directions run until each has seen EOF, or until
 * either fails, in which case both connections are closed (a dying peer never leaves the other
 * side hanging), or until the tunnel idles out. Always closes both at the end.
 */
export async function tunnel(a: Conn, b: Conn, opts: TunnelOptions = {}): Promise<TunnelResult> {
  // One deadline per idle period, not one per chunk: each chunk only stamps the time, and the
  // deadline, when it fires early, re-arms itself for the rest of the period.
  const idleMs = opts.idleMs ?? 0;
  let lastActivity = Date.now();
  // `idle.expired` stays true only when it fired for good (re-arming forgets an early firing).
  const idle = new Deadline(() => {
    const quiet = Date.now() - lastActivity;
    if (quiet < idleMs) {
      idle.arm(idleMs - quiet);
      return;
    }
    a.close();
    b.close();
  });
  if (idleMs > 0) idle.arm(idleMs);
  const onData = idleMs > 0
    ? (n: number) => {
      lastActivity = Date.now();
      opts.onData?.(n);
    }
    : opts.onData;
  let error: unknown;
  const kill = (e: unknown) => {
    error ??= e;
    a.close();
    b.close();
  };
  // Counted as delivered, so a direction that fails mid-stream still reports what it moved.
  let aToB = 0;
  let bToA = 0;
  await Promise.all([
    pipe(a, b, {
      head: opts.aHead,
      onData: (n) => {
        aToB += n;
        onData?.(n);
      },
    }).catch(kill),
    pipe(b, a, {
      head: opts.bHead,
      onData: (n) => {
        bToA += n;
        onData?.(n);
      },
    }).catch(kill),
  ]);
  idle.clear();
  a.close();
  b.close();
  return idle.expired ? { aToB, bToA, idledOut: true } : { aToB, bToA, error, idledOut: false };
}
