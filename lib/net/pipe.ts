/**
 * A one-way byte copy with an explicit read loop: the next chunk is read only after the previous
 * one was completely written, so at most one chunk per direction is in flight (bounded memory).
 */
import type { Conn } from "../runtime/mod.ts";
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

/**
 * Joins two connections into a tunnel: both directions run until each has seen EOF, or until
 * either fails, in which case both connections are closed (a dying peer never leaves the other
 * side hanging). Always closes both at the end.
 */
export async function tunnel(
  a: Conn,
  b: Conn,
  opts: { aHead?: Uint8Array; bHead?: Uint8Array; onData?: (n: number) => void } = {},
): Promise<{ aToB: number; bToA: number; error?: unknown }> {
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
        opts.onData?.(n);
      },
    }).catch(kill),
    pipe(b, a, {
      head: opts.bHead,
      onData: (n) => {
        bToA += n;
        opts.onData?.(n);
      },
    }).catch(kill),
  ]);
  a.close();
  b.close();
  return { aToB, bToA, error };
}
