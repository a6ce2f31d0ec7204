/**
 * Limits and timeouts at the edge, end to end: request body size (413, before anything goes
 * upstream for a declared length, mid-stream for chunked), the body timeout (a stalled upload
 * gets 408, a slow one that keeps moving does not), requests per keep-alive connection,
 * connections per listener and per client address (HTTP and TCP), and the response head limit
 * of a backend.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import net from "node:net";
import { type BaseBackend, type HttpBackend, httpBackend, namedBackend, rawBackend } from "../_helpers/backends.ts";
import { type Ferry, ferryLabel, startFerry } from "../_helpers/ferry.ts";
import { connectRaw, header, type RawClient, request, SocketReader } from "../_helpers/raw_http.ts";

/** Client-side pacing (a slow uploader), never used to wait for ferry. */
const pace = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** A raw connection from a chosen loopback source address (for per-address limits). */
function connectFrom(port: number, localAddress: string): Promise<{ socket: net.Socket; reader: SocketReader }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1", localAddress, allowHalfOpen: true });
    socket.once("error", reject);
    socket.once("connect", () => resolve({ socket, reader: new SocketReader(socket) }));
  });
}

describe(`limits and timeouts (${ferryLabel()})`, () => {
  let upload: HttpBackend;
  let main: HttpBackend;
  let echo: BaseBackend;
  let bigHead: HttpBackend;
  let ferry: Ferry;
  const open: { destroy(): void }[] = [];

  before(async () => {
    // Reads the whole body (httpBackend parses it before asking the handler), then answers.
    upload = await httpBackend((req) => ({
      status: 200,
      headers: { "Content-Type": "text/plain" },
      body: `${req.body.length} ${sha(req.body)}`,
    }));
    main = await namedBackend("main");
    // Echoes, and closes its side when the client does (the tunnel passes the half-close on).
    echo = await rawBackend((conn) => {
      conn.socket.on("data", (d: Buffer) => conn.socket.write(d));
      conn.socket.on("end", () => conn.socket.end());
    });
    bigHead = await httpBackend(() => ({ status: 200, headers: { "X-Big": "x".repeat(2048) }, body: "big" }));
    ferry = await startFerry(`
listeners:
  - name: web
    listen: "127.0.0.1:0"
    limits: { max_body_size: 1KiB, max_keepalive_requests: 3 }
    timeouts: { body: 500ms }
    backend: upload
  - name: few
    listen: "127.0.0.1:0"
    limits: { max_conns: 2 }
    backend: main
  - name: perip
    listen: "127.0.0.1:0"
    limits: { max_conns_per_ip: 1 }
    backend: main
  - name: tcp
    listen: "127.0.0.1:0"
    mode: tcp
    limits: { max_conns: 1 }
    backend: echo
  - name: bighead
    listen: "127.0.0.1:0"
    backend: bighead
backends:
  upload: { servers: ["${upload.address}"] }
  main: { servers: ["${main.address}"] }
  echo: { servers: ["${echo.address}"] }
  bighead:
    servers: ["${bigHead.address}"]
    limits: { max_head_size: 1KiB }
`);
  });

  after(async () => {
    for (const s of open) s.destroy();
    await ferry?.stop();
    await Promise.all([upload, main, echo, bigHead].map((b) => b?.close()));
  });

  const track = <T extends { destroy(): void } | RawClient>(c: T): T => {
    open.push("destroy" in c ? c : { destroy: () => c.close() });
    return c;
  };

  it("answers 413 to a Content-Length over max_body_size without sending anything upstream", async () => {
    const before = upload.connections.length;
    const res = await request(ferry.ports.web, { method: "POST", body: Buffer.alloc(1025, 1) });
    assert.equal(res.status, 413, res.raw.toString("latin1"));
    assert.equal(header(res.headers, "connection"), "close");
    assert.equal(upload.connections.length, before, "the backend was contacted");
  });

  it("answers 413 at once to a too-large body announced with Expect: 100-continue (the body is never sent)", async () => {
    const c = track(await connectRaw(ferry.ports.web));
    await c.send(`PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n`);
    const res = await c.response();
    assert.equal(res.status, 413);
  });

  it("accepts a body of exactly max_body_size, chunked, byte for byte", async () => {
    const body = Buffer.alloc(1024, 7);
    const c = track(await connectRaw(ferry.ports.web));
    await c.send(`POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n200\r\n`);
    await c.send(Buffer.concat([body.subarray(0, 512), Buffer.from("\r\n200\r\n"), body.subarray(512), Buffer.from("\r\n0\r\n\r\n")]));
    const res = await c.response();
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), `1024 ${sha(body)}`);
  });

  it("cuts a chunked body that grows past max_body_size: 413, and the backend never gets a complete request", async () => {
    const requests = upload.requests.length;
    const c = track(await connectRaw(ferry.ports.web));
    await c.send(`POST /big HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n${"a".repeat(600)}\r\n`);
    // The connection may be a pooled one from an earlier test: find it by what it carries.
    const carrying = () => upload.connections.find((k) => k.received().includes("a".repeat(600)));
    await upload.until(() => carrying() !== undefined, "first chunk upstream");
    await c.send(`258\r\n${"b".repeat(600)}\r\n0\r\n\r\n`);
    const res = await c.response();
    assert.equal(res.status, 413, res.raw.toString("latin1"));
    const upConn = carrying()!;
    await upload.until(() => upConn.closed, "the backend connection closed");
    assert.equal(upload.requests.length, requests, "the backend received a whole request");
    assert.ok(!upConn.received().includes("b".repeat(600)), "the chunk over the limit went upstream");
  });

  it("answers 408 to a body that stalls longer than timeouts.body, and closes the backend connection", async () => {
    const c = track(await connectRaw(ferry.ports.web));
    await c.send(`POST /stall HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`);
    const res = await c.response();
    assert.equal(res.status, 408, res.raw.toString("latin1"));
    const upConn = upload.connections.find((k) => k.received().includes("POST /stall "));
    assert.ok(upConn, "the request never went upstream");
    await upload.until(() => upConn.closed, "the backend connection closed");
    assert.ok(await c.reader.atEof(), "the client connection stayed open after the 408");
  });

  it("never cuts a slow upload that keeps moving, however long it takes in total", async () => {
    const piece = Buffer.alloc(100, 3);
    const c = track(await connectRaw(ferry.ports.web));
    await c.send(`POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: ${piece.length * 8}\r\n\r\n`);
    // 8 pieces 200 ms apart: 1.6 s in all, over three times timeouts.body.
    for (let i = 0; i < 8; i++) {
      await pace(200);
      await c.send(piece);
    }
    const res = await c.response();
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), `800 ${sha(Buffer.concat(Array(8).fill(piece)))}`);
  });

  it("closes a keep-alive connection after max_keepalive_requests, with Connection: close on the last answer", async () => {
    const c = track(await connectRaw(ferry.ports.web));
    for (let i = 1; i <= 3; i++) {
      await c.send(`GET /${i} HTTP/1.1\r\nHost: a\r\n\r\n`);
      const res = await c.response();
      assert.equal(res.status, 200);
      assert.equal(header(res.headers, "connection"), i === 3 ? "close" : undefined, `request ${i}`);
    }
    assert.ok(await c.reader.atEof(), "the connection stayed open after the last allowed request");
  });

  it("refuses connections over a listener's max_conns with 503, and accepts again once one closes", async () => {
    const a = track(await connectRaw(ferry.ports.few));
    const b = track(await connectRaw(ferry.ports.few));
    // Both are served (so ferry has counted them) before the third arrives.
    for (const c of [a, b]) {
      await c.send(`GET / HTTP/1.1\r\nHost: a\r\n\r\n`);
      assert.equal((await c.response()).status, 200);
    }
    const third = await request(ferry.ports.few);
    assert.equal(third.status, 503, third.raw.toString("latin1"));
    assert.match(third.body.toString(), /^503 /);
    a.close();
    // Its place frees once ferry has seen the close; ask until it has (bounded).
    let status = 0;
    const deadline = Date.now() + 5_000;
    while (status !== 200 && Date.now() < deadline) status = (await request(ferry.ports.few)).status;
    assert.equal(status, 200, "a closed connection's place was not freed");
    await ferry.waitForLine(/few: refused connections: 2 open \(max_conns\)/, { stream: "stderr" });
  });

  it("refuses a second connection from one address with 429 (max_conns_per_ip), while another address gets in", async () => {
    const first = await connectFrom(ferry.ports.perip, "127.0.0.1");
    track(first.socket);
    first.socket.write(`GET / HTTP/1.1\r\nHost: a\r\n\r\n`);
    await first.reader.readUntil("\r\n\r\n");
    const second = await connectFrom(ferry.ports.perip, "127.0.0.1");
    track(second.socket);
    second.socket.write(`GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
    const refused = (await second.reader.readToEnd()).toString("latin1");
    assert.match(refused, /^HTTP\/1\.1 429 /);
    const other = await connectFrom(ferry.ports.perip, "127.0.0.2");
    track(other.socket);
    other.socket.write(`GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
    assert.match((await other.reader.readToEnd()).toString("latin1"), /^HTTP\/1\.1 200 /);
  });

  it("closes a TCP connection over max_conns at once, and keeps the one it carries working", async () => {
    const a = track(await connectRaw(ferry.ports.tcp));
    await a.send("ping");
    assert.equal((await a.reader.readExact(4)).toString(), "ping");
    const b = track(await connectRaw(ferry.ports.tcp));
    assert.equal((await b.readToEnd()).length, 0, "the connection over the limit got bytes");
    await a.send("pong");
    assert.equal((await a.reader.readExact(4)).toString(), "pong");
  });

  it("answers 502 when a backend's response head is larger than its limits.max_head_size", async () => {
    const res = await request(ferry.ports.bighead);
    assert.equal(res.status, 502, res.raw.toString("latin1"));
    await ferry.waitForLine(/response head larger than 1024 bytes/, { stream: "stderr" });
  });
});
