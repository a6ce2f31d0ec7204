/** What a health probe is pointed at and what it found. */
import { type Conn, ConnError, runtime } from "../runtime/mod.ts";

export interface ProbeTarget {
  hostname: string;
  port: number;
  /** `ip:port` (or `localhost:port`): how logs name the server. */
  address: string;
  /**
   * The config entry the server came from (`app.internal:8080` for each address of a name): the
   * default Host header, so a server that routes by virtual host sees the name it is known by,
   * not one of its addresses. Falls back to `address`.
   */
  origin?: string;
  /** How to reach the target, when it is not simply `hostname:port` (`localhost` tries both loopback families). */
  connect?(timeoutMs: number): Promise<Conn>;
}

/** A connection to `target` within `timeoutMs`. */
export function connectTo(target: ProbeTarget, timeoutMs: number): Promise<Conn> {
  return target.connect ? target.connect(timeoutMs) : runtime.connect({ hostname: target.hostname, port: target.port, timeoutMs });
}

export interface ProbeResult {
  ok: boolean;
  /** Why it failed (or what passed), in words for a log line: `connection refused`, `status 503 (expected 200-399)`. */
  detail: string;
}

export function timedOut(timeoutMs: number): ProbeResult {
  return { ok: false, detail: `timed out after ${timeoutMs} ms` };
}

/** A failed connect, write or read as a result, in the words `curl` and nginx use. */
export function failed(e: unknown, timeoutMs: number): ProbeResult {
  if (e instanceof ConnError) {
    if (e.code === "timeout") return timedOut(timeoutMs);
    if (e.code === "closed") return { ok: false, detail: "connection closed before the response head" };
    return { ok: false, detail: e.message };
  }
  return { ok: false, detail: e instanceof Error ? e.message : String(e) };
}
