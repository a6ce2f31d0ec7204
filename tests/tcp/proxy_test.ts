/**
 * TCP mode end to end, in-process over real loopback sockets: node:net clients and backends
 * (an oracle independent of ferry's runtime adapters) on either side of `handleTcpConn`.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type net from "node:net";
import { runtime } from "../../lib/runtime/mod.ts";
import { handleTcpConn, type TcpSession } from "../../lib/tcp/proxy.ts";
import { Backend } from "../../lib/upstream/backend.ts";
import { defaultBackend, DEFAULTS } from "../../lib/config/types.ts";
import { closedPort, sha256 } from "../_helpers/loopback.ts";
import { nodeClient, nodeServer, Recorder } from "../_helpers/node_peer.ts";

/** A hung test fails instead of blocking the run (Bun has a 5 s default; Deno none). */
const T = { timeout: 15_000 };

interface TestProxy {
  port: number;
  backend: Backend;
  /** Messages the proxy logged as errors. */
  errors: string[];
  /** The next session to end, in order of ending. */
  nextSession(): Promise<TcpSession>;
  close(): void;
}

function startProxy(ports: number[], opts: { idleMs?: number } = {}): TestProxy {
  const servers = ports.map((port) => ({ address: `127.0.0.1:${port}`, hostname: "127.0.0.1", port, weight: 1, max_conns: 0 }));
  const cfg = defaultBackend("app", servers);
  cfg.timeouts = { connect: 2_000, response: 2_000, idle: 2_000 };
  cfg.max_idle_conns = 0;
  // Active checks are configured (never started) so that a test can mark a server down.
  cfg.health = { ...DEFAULTS.health, rise: 1, fall: 1 };
  const backend = new Backend(cfg, { log: () => {} });
  backend.activate();
  const errors: string[] = [];
  const ended: TcpSession[] = [];
  const waiting: ((s: TcpSession) => void)[] = [];
  const listener = runtime.listen({ hostname: "127.0.0.1", port: 0 }, (conn) => {
    handleTcpConn(conn, backend, {
      idleMs: opts.idleMs ?? 10_000,
      log: { error: (m) => errors.push(m) },
      onEnd: (s) => {
        const w = waiting.shift();
        if (w) w(s);
        else ended.push(s);
      },
    });
  });
  return {
    port: listener.addr.port,
    backend,
    errors,
    nextSession: () => {
      const s = ended.shift();
      return s ? Promise.resolve(s) : new Promise((r) => waiting.push(r));
    },
    close: () => {
      listener.close();
      backend.stop();
    },
  };
}

/** A backend that hands each accepted socket, recorded, to the test. */
async function recordingServer() {
  const accepted: Recorder[] = [];
  const waiting: ((r: Recorder) => void)[] = [];
  const server = await nodeServer((s) => {
    const rec = new Recorder(s);
    const w = waiting.shift();
    if (w) w(rec);
    else accepted.push(rec);
  });
  return {
    ...server,
    next: (): Promise<Recorder> => {
      const r = accepted.shift();
      return r ? Promise.resolve(r) : new Promise((res) => waiting.push(res));
    },
  };
}

const port = (s: { port: number }) => s.port;

describe("TCP proxy", () => {
  it("tunnels a byte stream both ways (1 MiB, hash-checked at both ends)", T, async () => {
    // Echo with half-close: pipe() ends the writable side when the readable side ends.
    let upstreamGot = "";
    const echo = await nodeServer((s) => {
      const rec = new Recorder(s);
      rec.finished().then(() => (upstreamGot = sha256(rec.data)));
      s.pipe(s);
    });
    const proxy = startProxy([echo.port]);
    const client = await nodeClient(proxy.port);
    try {
      const data = new Uint8Array(randomBytes(1024 * 1024));
      client.socket.end(data);
      await client.finished();
      assert.equal(client.ended, true, `client saw ${client.error ?? "close"} instead of EOF`);
      assert.equal(client.length, data.length);
      assert.equal(sha256(client.data), sha256(data));
      const session = await proxy.nextSession();
      assert.equal(upstreamGot, sha256(data));
      assert.deepEqual(session, {
        server: `127.0.0.1:${echo.port}`,
        clientToServer: data.length,
        serverToClient: data.length,
        outcome: "done",
        error: undefined,
      });
      assert.equal(proxy.backend.servers[0].inflight, 0);
      assert.deepEqual(proxy.errors, []);
    } finally {
      client.socket.destroy();
      proxy.close();
      await echo.close();
    }
  });

  it("counts the tunnel in server.inflight while it is open", T, async () => {
    const backend = await recordingServer();
    const proxy = startProxy([backend.port]);
    const client = await nodeClient(proxy.port);
    try {
      const up = await backend.next();
      client.socket.write("hi");
      await up.bytes(2);
      assert.equal(proxy.backend.servers[0].inflight, 1);
      client.socket.end();
      up.socket.end();
      await proxy.nextSession();
      assert.equal(proxy.backend.servers[0].inflight, 0);
    } finally {
      client.socket.destroy();
      proxy.close();
      await backend.close();
    }
  });

  it("passes the client's half-close on: the server reads EOF and can still reply", T, async () => {
    const backend = await nodeServer((s) => {
      const rec = new Recorder(s);
      rec.finished().then(() => s.end(`got ${rec.length} bytes: ${rec.text()}`));
    });
    const proxy = startProxy([backend.port]);
    const client = await nodeClient(proxy.port);
    try {
      client.socket.end("question");
      await client.finished();
      assert.equal(client.text(), "got 8 bytes: question");
      assert.equal(client.ended, true);
      assert.equal((await proxy.nextSession()).outcome, "done");
    } finally {
      client.socket.destroy();
      proxy.close();
      await backend.close();
    }
  });

  it("passes the server's half-close on: the client reads EOF and can still send", T, async () => {
    const backend = await recordingServer();
    const proxy = startProxy([backend.port]);
    const client = await nodeClient(proxy.port);
    try {
      const up = await backend.next();
      up.socket.end("banner, then FIN");
      await client.finished();
      assert.equal(client.ended, true);
      assert.equal(client.text(), "banner, then FIN");
      client.socket.end("late words");
      await up.finished();
      assert.equal(up.ended, true);
      assert.equal(up.text(), "late words");
      const session = await proxy.nextSession();
      assert.equal(session.outcome, "done");
      assert.deepEqual([session.clientToServer, session.serverToClient], [10, 16]);
      await client.whenClosed();
    } finally {
      client.socket.destroy();
      proxy.close();
      await backend.close();
    }
  });

  it("skips a refused server and uses the next one", T, async () => {
    const dead = await closedPort();
    // The reply waits for the client's FIN: node:net in Deno 2.9 fails a write with EPIPE when
    // the peer's FIN arrived before the connection callback ran.
    const backend = await nodeServer((s) => {
      new Recorder(s).finished().then(() => s.end("from the live one"));
    });
    const proxy = startProxy([dead, backend.port]);
    const client = await nodeClient(proxy.port);
    try {
      client.socket.end();
      await client.finished();
      assert.equal(client.text(), "from the live one");
      const session = await proxy.nextSession();
      assert.equal(session.server, `127.0.0.1:${backend.port}`);
      assert.equal(session.outcome, "done");
      assert.deepEqual(proxy.errors, []);
      assert.deepEqual(proxy.backend.servers.map((s) => s.inflight), [0, 0]);
    } finally {
      client.socket.destroy();
      proxy.close();
      await backend.close();
    }
  });

  it("closes the client and logs the reason when the only server refuses", T, async () => {
    const dead = await closedPort();
    const proxy = startProxy([dead]);
    const client = await nodeClient(proxy.port);
    try {
      await client.finished();
      assert.equal(client.length, 0);
      const session = await proxy.nextSession();
      assert.equal(session.outcome, "connect_failed");
      assert.equal(session.server, null);
      assert.deepEqual(proxy.errors, [`cannot connect to upstream "127.0.0.1:${dead}": connection refused`]);
    } finally {
      client.socket.destroy();
      proxy.close();
    }
  });

  it("closes the client and lists every failure when all servers refuse", T, async () => {
    const [p1, p2] = [await closedPort(), await closedPort()];
    const proxy = startProxy([p1, p2]);
    const client = await nodeClient(proxy.port);
    try {
      await client.finished();
      assert.equal(client.length, 0);
      assert.equal((await proxy.nextSession()).outcome, "connect_failed");
      assert.deepEqual(proxy.errors, [
        `cannot connect to upstream "127.0.0.1:${p1}": connection refused; ` +
        `cannot connect to upstream "127.0.0.1:${p2}": connection refused`,
      ]);
    } finally {
      client.socket.destroy();
      proxy.close();
    }
  });

  it("closes the client when every server is marked down", T, async () => {
    const backend = await recordingServer();
    const proxy = startProxy([backend.port]);
    proxy.backend.servers[0].recordCheck(false);
    const client = await nodeClient(proxy.port);
    try {
      await client.finished();
      const session = await proxy.nextSession();
      assert.equal(session.outcome, "no_server");
      assert.deepEqual(proxy.errors, [`no server available in backend "app"`]);
      assert.equal(backend.sockets.size, 0);
    } finally {
      client.socket.destroy();
      proxy.close();
      await backend.close();
    }
  });

  it("closes the client when the backend dies mid-stream (reset)", T, async () => {
    const backend = await recordingServer();
    const proxy = startProxy([backend.port]);
    const client = await nodeClient(proxy.port);
    try {
      const up = await backend.next();
      up.socket.write("partial answer");
      await client.bytes(14);
      (up.socket as net.Socket & { resetAndDestroy(): void }).resetAndDestroy();
      // The session ends while the client has neither sent nor closed anything: the proxy gave
      // up on the client connection instead of passing the reset on as a mere half-close.
      const session = await proxy.nextSession();
      assert.equal(session.outcome, "aborted");
      assert.equal(session.serverToClient, 14);
      await client.finished(); // FIN (Deno closes gracefully) or RST (Bun terminates)
      assert.equal(client.text(), "partial answer");
    } finally {
      client.socket.destroy();
      proxy.close();
      await backend.close();
    }
  });

  it("closes the server connection when the client dies mid-stream (reset)", T, async () => {
    const backend = await recordingServer();
    const proxy = startProxy([backend.port]);
    const client = await nodeClient(proxy.port);
    try {
      const up = await backend.next();
      client.socket.write("half a req");
      await up.bytes(10);
      (client.socket as net.Socket & { resetAndDestroy(): void }).resetAndDestroy();
      const session = await proxy.nextSession();
      assert.equal(session.outcome, "aborted");
      assert.equal(session.clientToServer, 10);
      await up.finished();
      assert.equal(up.text(), "half a req");
    } finally {
      client.socket.destroy();
      proxy.close();
      await backend.close();
    }
  });

  it("closes both sides after idleMs without traffic", T, async () => {
    const backend = await recordingServer();
    const IDLE = 150;
    const proxy = startProxy([backend.port], { idleMs: IDLE });
    const client = await nodeClient(proxy.port);
    try {
      const up = await backend.next();
      client.socket.write("x");
      await up.bytes(1);
      const quietSince = Date.now();
      const session = await proxy.nextSession();
      const waited = Date.now() - quietSince;
      assert.equal(session.outcome, "idle_timeout");
      assert.equal(session.error, undefined);
      assert.ok(waited >= IDLE - 20, `closed after ${waited} ms of silence`);
      await Promise.all([client.finished(), up.finished()]);
    } finally {
      client.socket.destroy();
      proxy.close();
      await backend.close();
    }
  });

  it("traffic in either direction keeps the idle timeout from firing", T, async () => {
    const backend = await recordingServer();
    const IDLE = 300;
    const proxy = startProxy([backend.port], { idleMs: IDLE });
    const client = await nodeClient(proxy.port);
    let ended = false;
    const session = proxy.nextSession().then((s) => ((ended = true), s));
    try {
      const up = await backend.next();
      // Talk for 3 idle periods, alternating directions, one byte every IDLE/6 ms: each
      // gap is far below IDLE, so the tunnel must survive all of it.
      const started = Date.now();
      for (let i = 0; i < 18; i++) {
        if (i % 2 === 0) client.socket.write("c");
        else up.socket.write("u");
        await new Promise((r) => setTimeout(r, IDLE / 6));
        assert.equal(ended, false, `tunnel closed after ${Date.now() - started} ms of steady traffic`);
      }
      assert.equal((await session).outcome, "idle_timeout");
      assert.equal(up.text(), "c".repeat(9));
      assert.equal(client.text(), "u".repeat(9));
    } finally {
      client.socket.destroy();
      proxy.close();
      await backend.close();
    }
  });
});
