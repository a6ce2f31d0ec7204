/**
 * HTTP test servers on any loopback address (127.0.0.2, ::1, ...), for the DNS and reload
 * end-to-end tests. `backends.ts` binds 127.0.0.1 only; one DNS name that stands for several
 * servers needs several addresses on ONE port (a config server entry has one port), which Linux
 * allows because it routes all of 127.0.0.0/8 to loopback.
 *
 * Every server answers by its name, counts health checks apart from real requests, and can hold
 * a response half sent (`/slow...`) until the test releases it: that is how a test keeps a
 * response in flight across a DNS change or a reload and then checks that it arrives whole.
 */
import net from "node:net";
import { Buffer } from "node:buffer";
import { readRequest, serializeResponse, SocketReader, Watch } from "./raw_http.ts";

/** A `/slow...` response whose head and first half went out; the rest waits for `release()`. */
export interface HeldResponse {
  target: string;
  /** Sends the second half of the body. */
  release(): void;
}

export interface HostServer {
  name: string;
  host: string;
  port: number;
  /** As written in a config: `127.0.0.2:PORT`, `[::1]:PORT`. */
  address: string;
  /** Targets of the requests received, health checks excluded, in order. */
  targets: string[];
  /** `GET /health` requests received. */
  healthChecks: number;
  /** The Host header of each `GET /health` request, in order. */
  healthHosts: string[];
  /** Status `/health` answers with (default 200). */
  healthStatus: number;
  /** Status every other non-slow request answers with (default 200). */
  status: number;
  /** `/slow...` responses still waiting for `release()`, oldest first. */
  held: HeldResponse[];
  /** Connections accepted so far. */
  connections: number;
  /** Connections open now. */
  readonly open: number;
  /** Resolves when `pred()` holds, re-checked on every event of any host server. */
  until(pred: () => boolean, what: string | (() => string), timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** The exact body of a `/slow...` response from server `name` to `target`, split where it is held. */
export function slowBody(name: string, target: string): [string, string] {
  return [`${name} ${target} first half\n`, `${name} ${target} second half\n`];
}

/**
 * Starts one server per entry of `specs`, all on the same port (each on its own host). The
 * first binds a kernel-chosen port; when another host has that port taken, all are closed and
 * a new port is tried.
 */
export async function startHostServers(specs: { name: string; host: string }[], attempts = 20): Promise<HostServer[]> {
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    const started: HostServer[] = [];
    try {
      let port = 0;
      for (const spec of specs) {
        const s = await startHostServer(spec.name, spec.host, port);
        started.push(s);
        port = s.port;
      }
      return started;
    } catch (e) {
      lastError = e;
      await Promise.all(started.map((s) => s.close()));
      if ((e as { code?: string }).code !== "EADDRINUSE") throw e;
    }
  }
  throw new Error(`cannot bind ${specs.map((s) => s.host).join(", ")} on one port: ${String(lastError)}`);
}

/**
 * One watch for every host server of the process: a test often waits for a condition spanning
 * several servers ("one of them holds the request"), and a predicate is cheap to re-check.
 */
const watch = new Watch();

/** Resolves when `pred()` holds, re-checked on every event of any host server; rejects after `timeoutMs`. */
export function untilHosts(pred: () => boolean, what: string | (() => string), timeoutMs = 10_000): Promise<void> {
  return watch.until(pred, timeoutMs, what);
}

/** One server on `host:port` (port 0: the kernel picks). */
export async function startHostServer(name: string, host: string, port = 0): Promise<HostServer> {
  const sockets = new Set<net.Socket>();
  const pending = new Set<() => void>();
  const server = net.createServer();
  const self: HostServer = {
    name,
    host,
    port: 0,
    address: "",
    targets: [],
    healthChecks: 0,
    healthHosts: [],
    healthStatus: 200,
    status: 200,
    held: [],
    connections: 0,
    get open() {
      return sockets.size;
    },
    until: (pred, what, timeoutMs = 10_000) => watch.until(pred, timeoutMs, what),
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of pending) r();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };

  server.on("connection", (socket: net.Socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    self.connections++;
    socket.on("close", () => {
      sockets.delete(socket);
      watch.notify();
    });
    socket.on("error", () => {/* a reset shows as close */});
    watch.notify();
    void serve(socket).catch(() => socket.destroy());
  });

  async function serve(socket: net.Socket): Promise<void> {
    const reader = new SocketReader(socket, 60_000);
    for (;;) {
      const req = await readRequest(reader);
      if (!req) break;
      const close = /\bclose\b/i.test(req.headers.find(([k]) => k.toLowerCase() === "connection")?.[1] ?? "");
      const headers = { "Content-Type": "text/plain", "X-Backend": name };
      let bytes: Buffer;
      if (req.target === "/health") {
        self.healthChecks++;
        self.healthHosts.push(req.headers.find(([k]) => k.toLowerCase() === "host")?.[1] ?? "");
        bytes = serializeResponse(self.healthStatus, headers, `${name} health\n`);
      } else if (req.target.startsWith("/slow")) {
        self.targets.push(req.target);
        const [first, second] = slowBody(name, req.target);
        const length = Buffer.byteLength(first) + Buffer.byteLength(second);
        socket.write(serializeResponse(200, { ...headers, "Content-Length": String(length) }, first));
        await new Promise<void>((resolve) => {
          const held: HeldResponse = {
            target: req.target,
            release: () => {
              pending.delete(resolve);
              const i = self.held.indexOf(held);
              if (i >= 0) self.held.splice(i, 1);
              resolve();
            },
          };
          pending.add(resolve);
          self.held.push(held);
          watch.notify();
        });
        if (socket.destroyed) return;
        bytes = Buffer.from(second);
      } else {
        self.targets.push(req.target);
        bytes = serializeResponse(self.status, headers, name);
      }
      watch.notify();
      if (socket.destroyed) return;
      socket.write(bytes);
      if (close) {
        socket.end();
        return;
      }
    }
    socket.end();
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  self.port = (server.address() as net.AddressInfo).port;
  self.address = host.includes(":") ? `[${host}]:${self.port}` : `${host}:${self.port}`;
  return self;
}
