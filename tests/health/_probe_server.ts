/**
 * A node:net server for health check tests: it answers each connection the way the test says
 * and records what the probes did (bytes sent, connections accepted, how many were open at once).
 */
import net from "node:net";
import { Buffer } from "node:buffer";
import { Watch } from "../_helpers/raw_http.ts";

/**
 * What a connection gets: `"hang"` accepts and never answers; `{ greet }` sends bytes at once,
 * before reading anything; `{ reply }` waits for the request head, then sends the reply and
 * (unless `keepOpen`) ends. `reply` may depend on the connection's index.
 */
export type Behaviour =
  | "hang"
  | { greet: string }
  | { reply: string | ((index: number) => string); keepOpen?: boolean };

export interface ProbeServer {
  port: number;
  /** `127.0.0.1:PORT`. */
  address: string;
  target: { hostname: string; port: number; address: string };
  /** Connections accepted so far. */
  accepted: number;
  /** Connections accepted and not yet closed by either side. */
  open: number;
  /** The most connections that were open at the same time. */
  maxOpen: number;
  /** Bytes received on each connection, by index. */
  received: Buffer[];
  /** Resolves once `pred()` holds, re-checked on every server event; rejects after `timeoutMs`. */
  until(pred: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function probeServer(behaviour: Behaviour): Promise<ProbeServer> {
  const watch = new Watch();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    const index = ps.accepted++;
    ps.open++;
    ps.maxOpen = Math.max(ps.maxOpen, ps.open);
    sockets.add(s);
    ps.received[index] = Buffer.alloc(0);
    let gone = false;
    const closed = () => {
      if (gone) return;
      gone = true;
      ps.open--;
      sockets.delete(s);
      watch.notify();
    };
    s.on("end", closed);
    s.on("close", closed);
    s.on("error", () => {}); // a probe may reset; observed through close
    let replied = false;
    s.on("data", (d: Buffer) => {
      ps.received[index] = Buffer.concat([ps.received[index], d]);
      watch.notify();
      if (typeof behaviour !== "object" || !("reply" in behaviour) || replied) return;
      if (!ps.received[index].includes("\r\n\r\n")) return;
      replied = true;
      const reply = typeof behaviour.reply === "function" ? behaviour.reply(index) : behaviour.reply;
      if (behaviour.keepOpen) s.write(reply);
      else s.end(reply);
    });
    if (typeof behaviour === "object" && "greet" in behaviour) s.write(behaviour.greet);
    watch.notify();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, resolve);
  });
  const port = (server.address() as net.AddressInfo).port;
  const ps: ProbeServer = {
    port,
    address: `127.0.0.1:${port}`,
    target: { hostname: "127.0.0.1", port, address: `127.0.0.1:${port}` },
    accepted: 0,
    open: 0,
    maxOpen: 0,
    received: [],
    until: (pred, what, timeoutMs = 5_000) => watch.until(pred, timeoutMs, what),
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
  return ps;
}

export const response = (status: string, fields = "Content-Length: 0\r\n"): string => `HTTP/1.1 ${status}\r\n${fields}\r\n`;
