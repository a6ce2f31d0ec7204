/**
 * WebSocket through ferry with the runtime's built-in client: the Upgrade request reaches the
 * backend intact, the 101 comes back, then frames flow both ways (a server-initiated message,
 * text and a 256 KiB binary echo) and the close handshake completes.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { type BaseBackend, rawBackend, SeededBytes, wsEchoBackend, type WsBackend } from "../_helpers/backends.ts";
import { type Ferry, ferryLabel, startFerry } from "../_helpers/ferry.ts";
import { connectRaw, header, Watch } from "../_helpers/raw_http.ts";

describe(`WebSocket (${ferryLabel()})`, () => {
  let backend: WsBackend;
  let ferry: Ferry;

  before(async () => {
    backend = await wsEchoBackend();
    ferry = await startFerry(`
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - path: /ws
        backend: ws
      - respond: "not here\\n"
backends:
  ws:
    servers: [ "${backend.address}" ]
`);
  });

  after(async () => {
    await ferry?.stop();
    await backend?.close();
  });

  it("echoes text and binary both ways and closes cleanly", { timeout: 20_000 }, async () => {
    const watch = new Watch();
    const received: (string | Buffer)[] = [];
    let opened = false;
    let closed: { code: number; clean: boolean } | null = null;
    let failed = false;
    const ws = new WebSocket(`ws://127.0.0.1:${ferry.ports.web}/ws/chat?room=1`);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      opened = true;
      watch.notify();
    };
    ws.onmessage = (e: MessageEvent) => {
      received.push(typeof e.data === "string" ? e.data : Buffer.from(e.data as ArrayBuffer));
      watch.notify();
    };
    ws.onerror = () => {
      failed = true;
      watch.notify();
    };
    ws.onclose = (e: CloseEvent) => {
      closed = { code: e.code, clean: e.wasClean };
      watch.notify();
    };
    try {
      await watch.until(() => opened || failed || closed !== null, 10_000, "the WebSocket to open");
      assert.ok(opened, `WebSocket did not open (error: ${failed}, close: ${JSON.stringify(closed)})`);

      // Server → client without any prompt.
      await watch.until(() => received.length >= 1, 10_000, "the backend's welcome message");
      assert.equal(received[0], "welcome");

      ws.send("hello through ferry");
      await watch.until(() => received.length >= 2, 10_000, "the text echo");
      assert.equal(received[1], "hello through ferry");

      const blob = new SeededBytes(5).next(256 * 1024);
      ws.send(blob);
      await watch.until(() => received.length >= 3, 10_000, "the binary echo");
      assert.ok(Buffer.isBuffer(received[2]), "binary message came back as text");
      assert.ok(blob.equals(received[2] as Buffer), "binary echo differs");

      assert.deepEqual(backend.messages.map((m) => (typeof m === "string" ? m : `<${m.length} bytes>`)), [
        "hello through ferry",
        `<${blob.length} bytes>`,
      ]);
      assert.equal(backend.unmaskedFrames, 0, "client frames reached the backend unmasked: ferry rewrote them");

      const up = backend.upgrades[0];
      assert.equal(up.target, "/ws/chat?room=1");
      assert.match(header(up.headers, "upgrade") ?? "", /^websocket$/i, up.raw.toString("latin1"));
      assert.match(header(up.headers, "connection") ?? "", /upgrade/i, up.raw.toString("latin1"));
      assert.ok(header(up.headers, "sec-websocket-key"), up.raw.toString("latin1"));

      ws.close(1000, "done");
      await watch.until(() => closed !== null, 10_000, "the close handshake");
      assert.equal(closed!.code, 1000);
      assert.equal(backend.closeFrames, 1);
    } finally {
      if (closed === null) ws.close();
    }
  });
});

describe(`upgraded connections and timeouts.tunnel_idle (${ferryLabel()})`, () => {
  let silent: BaseBackend;
  let ferry: Ferry;

  before(async () => {
    // Switches protocols, then neither sends nor closes: only ferry's idle limit can end it.
    silent = await rawBackend(async (conn) => {
      await conn.reader.readUntil("\r\n\r\n");
      conn.socket.write("HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nHELLO");
    }, { allowHalfOpen: true });
    ferry = await startFerry(`
listeners:
  - name: web
    listen: "127.0.0.1:0"
    timeouts: { tunnel_idle: 400ms }
    backend: silent
backends:
  silent:
    servers: [ "${silent.address}" ]
`);
  });

  after(async () => {
    await ferry?.stop();
    await silent?.close();
  });

  const UPGRADE = "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n";

  it("closes both sides of a silent upgraded connection after tunnel_idle", { timeout: 15_000 }, async () => {
    const before = silent.connections.length;
    const c = await connectRaw(ferry.ports.web);
    try {
      await c.send(UPGRADE);
      const started = performance.now();
      const all = (await c.readToEnd()).toString("latin1");
      const ms = performance.now() - started;
      assert.match(all, /^HTTP\/1\.1 101 /);
      assert.ok(all.endsWith("\r\n\r\nHELLO"), JSON.stringify(all));
      assert.ok(ms >= 350, `closed after ${ms.toFixed(0)} ms, before tunnel_idle`);
      // The server (which keeps its side open on a FIN) sees ferry end the connection.
      await silent.until(() => silent.connections.length > before && silent.connections[before].gotEnd, "ferry to end the server connection");
    } finally {
      c.close();
    }
  });

  it("frees a client that half-closed while the server stays silent", { timeout: 15_000 }, async () => {
    const before = silent.connections.length;
    const c = await connectRaw(ferry.ports.web);
    try {
      await c.send(UPGRADE);
      await c.reader.readUntil("HELLO");
      c.end(); // the client is done; the server never answers nor closes
      await silent.until(() => silent.connections.length > before && silent.connections[before].gotEnd, "the half-close to reach the server");
      // Without tunnel_idle this would wait for ever: the server's direction is still open.
      const started = performance.now();
      await c.closed;
      assert.ok(performance.now() - started < 5_000, "the client connection was closed late");
    } finally {
      c.close();
    }
  });
});
