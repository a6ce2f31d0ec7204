/**
 * HTTP/1.1 message framing through ferry, checked on raw bytes: pipelining, chunked bodies with
 * extensions and trailers both ways, bodiless responses, close-delimited responses,
 * Expect: 100-continue, the request-smuggling refusals (CL+TE, conflicting CL), malformed heads,
 * the 414/431 limits, and the upstream keep-alive pool.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { type BaseBackend, echoBackend, type HttpBackend, httpBackend, rawBackend, SeededBytes } from "../_helpers/backends.ts";
import { type Ferry, ferryLabel, startFerry } from "../_helpers/ferry.ts";
import { connectRaw, header, request, serializeResponse } from "../_helpers/raw_http.ts";

const CHUNKED_RESPONSE = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n" +
  "4;name=value\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Checksum: abc123\r\n\r\n";

describe(`HTTP framing (${ferryLabel()})`, () => {
  let main: HttpBackend;
  let pooled: HttpBackend;
  let stale: HttpBackend;
  let expect: BaseBackend;
  let ferry: Ferry;
  let port: number;
  const expectSawHeader: boolean[] = [];

  before(async () => {
    main = await httpBackend(async (req) => {
      const path = req.target.split("?")[0];
      if (path === "/chunked-response") return { raw: CHUNKED_RESPONSE };
      if (path === "/head") return { raw: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1234\r\n\r\n" };
      if (path === "/204") return { raw: "HTTP/1.1 204 No Content\r\nX-Kind: empty\r\n\r\n" };
      if (path === "/304") return { raw: 'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n' };
      if (path === "/close-delimited") {
        return { raw: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nthe body ends when the connection does", close: true };
      }
      if (path === "/hash") {
        return { status: 200, body: `${req.body.length} ${createHash("sha256").update(req.body).digest("hex")}` };
      }
      // A late first answer would expose a proxy that answers pipelined requests out of order.
      if (req.target.includes("delay")) await new Promise((r) => setTimeout(r, 150));
      return {
        status: 200,
        headers: { "Content-Type": "text/plain" },
        body: Buffer.concat([Buffer.from(`${req.method} ${req.target}\n`), req.body]),
      };
    });
    pooled = await echoBackend("pooled");
    // Answers, then closes the connection without saying so: the pooled connection goes stale.
    stale = await httpBackend(() => ({ status: 200, body: "fresh", close: true, headers: { "X-Stale": "1" } }));
    expect = await rawBackend(async (conn) => {
      const head = (await conn.reader.readUntil("\r\n\r\n")).toString("latin1");
      const saw = /\r\nexpect:\s*100-continue/i.test(head);
      expectSawHeader.push(saw);
      if (saw) conn.socket.write("HTTP/1.1 100 Continue\r\n\r\n");
      const body = await conn.reader.readExact(5);
      conn.socket.write(serializeResponse(200, { "Content-Type": "text/plain" }, `got: ${body}`));
    });
    ferry = await startFerry(`
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - path: /
        backend: main
      - path: /pool
        backend: pooled
      - path: /stale
        backend: stale
      - path: /expect
        backend: expect
backends:
  main:
    servers: [ "${main.address}" ]
  pooled:
    servers: [ "${pooled.address}" ]
  stale:
    servers: [ "${stale.address}" ]
  expect:
    servers: [ "${expect.address}" ]
`);
    port = ferry.ports.web;
  });

  after(async () => {
    await ferry?.stop();
    await Promise.all([main?.close(), pooled?.close(), stale?.close(), expect?.close()]);
  });

  it("answers pipelined requests in order, HEAD and bodies framed right", { timeout: 20_000 }, async () => {
    const c = await connectRaw(port);
    try {
      await c.send(
        "GET /p/1?delay HTTP/1.1\r\nHost: a\r\n\r\n" +
          "POST /p/2 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" +
          "HEAD /head HTTP/1.1\r\nHost: a\r\n\r\n" +
          "GET /p/3 HTTP/1.1\r\nHost: a\r\n\r\n",
      );
      const r1 = await c.response("GET");
      const r2 = await c.response("POST");
      const r3 = await c.response("HEAD");
      const r4 = await c.response("GET");
      assert.deepEqual(
        [r1.body.toString(), r2.body.toString(), r4.body.toString()],
        ["GET /p/1?delay\n", "POST /p/2\nhello", "GET /p/3\n"],
      );
      assert.equal(r3.status, 200);
      assert.equal(header(r3.headers, "content-length"), "1234");
      assert.equal(r3.body.length, 0);
      // Nothing may follow the four responses (a HEAD body would show up here).
      c.end();
      assert.equal((await c.readToEnd()).length, 0);
    } finally {
      c.close();
    }
  });

  it("forwards an 8 MiB request body intact", { timeout: 30_000 }, async () => {
    const body = new SeededBytes(11).next(8 * 1024 * 1024);
    const c = await connectRaw(port);
    try {
      await c.send(`POST /hash HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n`);
      await c.send(body);
      const res = await c.response("POST");
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), `${body.length} ${createHash("sha256").update(body).digest("hex")}`);
    } finally {
      c.close();
    }
  });

  it("closes the connection after answering a request with Connection: close", { timeout: 20_000 }, async () => {
    const c = await connectRaw(port);
    try {
      await c.send("GET /bye HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
      const res = await c.response();
      assert.equal(res.body.toString(), "GET /bye\n");
      assert.match(header(res.headers, "connection") ?? "", /close/i);
      assert.equal((await c.readToEnd()).length, 0, "ferry kept the connection open");
    } finally {
      c.close();
    }
  });

  it("forwards a chunked request body with extensions and trailers intact", { timeout: 20_000 }, async () => {
    const before = main.requests.length;
    const c = await connectRaw(port);
    try {
      await c.send(
        "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n" +
          "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n",
      );
      const res = await c.response();
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), "POST /upload\nhello world");
      const got = main.requests[before];
      assert.equal(got.target, "/upload");
      assert.equal(got.framing, "chunked", `backend received:\n${got.raw.toString("latin1")}`);
      assert.equal(got.body.toString(), "hello world");
      assert.deepEqual(got.trailers, [["X-Sum", "42"]], `backend received:\n${got.raw.toString("latin1")}`);
      assert.equal(header(got.headers, "content-length"), undefined, "Content-Length next to chunked");
      assert.equal(header(got.headers, "trailer"), "X-Sum");
      // The connection stays usable: framing ended exactly where it should.
      await c.send("GET /after-chunked HTTP/1.1\r\nHost: a\r\n\r\n");
      assert.equal((await c.response()).body.toString(), "GET /after-chunked\n");
    } finally {
      c.close();
    }
  });

  it("relays a chunked response with its trailers", { timeout: 20_000 }, async () => {
    const c = await connectRaw(port);
    try {
      await c.send("GET /chunked-response HTTP/1.1\r\nHost: a\r\nTE: trailers\r\n\r\n");
      const res = await c.response();
      assert.equal(res.status, 200);
      assert.equal(res.framing, "chunked", `client received:\n${res.raw.toString("latin1")}`);
      assert.equal(res.body.toString(), "Wikipedia in\r\n\r\nchunks.");
      assert.deepEqual(res.trailers, [["X-Checksum", "abc123"]], `client received:\n${res.raw.toString("latin1")}`);
      await c.send("GET /after HTTP/1.1\r\nHost: a\r\n\r\n");
      assert.equal((await c.response()).body.toString(), "GET /after\n");
    } finally {
      c.close();
    }
  });

  it("sends no body for 204 and 304, and keeps the connection in step", { timeout: 20_000 }, async () => {
    const c = await connectRaw(port);
    try {
      await c.send("GET /204 HTTP/1.1\r\nHost: a\r\n\r\nGET /304 HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n");
      const r204 = await c.response();
      const r304 = await c.response();
      const next = await c.response();
      assert.equal(r204.status, 204);
      assert.equal(header(r204.headers, "x-kind"), "empty");
      assert.equal(r304.status, 304);
      assert.equal(header(r304.headers, "etag"), '"v1"');
      assert.equal(next.body.toString(), "GET /next\n");
    } finally {
      c.close();
    }
  });

  it("relays a close-delimited response completely", { timeout: 20_000 }, async () => {
    const c = await connectRaw(port);
    try {
      await c.send("GET /close-delimited HTTP/1.1\r\nHost: a\r\n\r\n");
      const res = await c.response();
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), "the body ends when the connection does");
    } finally {
      c.close();
    }
  });

  it("relays Expect: 100-continue before the body is sent", { timeout: 20_000 }, async () => {
    const c = await connectRaw(port);
    try {
      await c.send("POST /expect HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
      const interim = await c.response();
      assert.equal(interim.status, 100);
      await c.send("hello");
      const res = await c.response();
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), "got: hello");
    } finally {
      c.close();
    }
  });

  it("refuses Content-Length with Transfer-Encoding: 400, closed, never forwarded", { timeout: 20_000 }, async () => {
    const c = await connectRaw(port);
    try {
      await c.send(
        "POST /smuggle-cl-te HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" +
          "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
      );
      const res = await c.response();
      assert.equal(res.status, 400);
      assert.equal((await c.readToEnd()).length, 0, "connection not closed after 400 (or more bytes followed)");
    } finally {
      c.close();
    }
    await assertNotForwarded(/smuggl/);
  });

  it("refuses conflicting Content-Length values: 400, never forwarded", { timeout: 20_000 }, async () => {
    const c = await connectRaw(port);
    try {
      await c.send("POST /smuggle-cl-cl HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!");
      const res = await c.response();
      assert.equal(res.status, 400);
      assert.equal((await c.readToEnd()).length, 0);
    } finally {
      c.close();
    }
    await assertNotForwarded(/smuggle-cl-cl/);
  });

  for (
    const [name, bytes] of [
      ["a field line without a colon", "GET /malformed-1 HTTP/1.1\r\nHost: a\r\nNo colon here\r\n\r\n"],
      ["whitespace before the colon", "GET /malformed-2 HTTP/1.1\r\nHost : a\r\n\r\n"],
      ["a garbage request line", "HELLO\r\n\r\n"],
      ["a bad chunk size", "POST /malformed-3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"],
    ] as const
  ) {
    it(`answers ${name} with 400 and closes`, { timeout: 20_000 }, async () => {
      const c = await connectRaw(port);
      try {
        await c.send(bytes);
        const res = await c.response();
        assert.equal(res.status, 400, res.raw.toString("latin1"));
        assert.equal((await c.readToEnd()).length, 0);
      } finally {
        c.close();
      }
    });
  }

  it("answers an over-long request line with 414", { timeout: 20_000 }, async () => {
    const c = await connectRaw(port);
    try {
      await c.send(`GET /too-long/${"a".repeat(9000)} HTTP/1.1\r\nHost: a\r\n\r\n`);
      assert.equal((await c.response()).status, 414);
    } finally {
      c.close();
    }
    await assertNotForwarded(/too-long/);
  });

  it("answers an over-large head with 431", { timeout: 20_000 }, async () => {
    const c = await connectRaw(port);
    try {
      let head = "GET /too-big HTTP/1.1\r\nHost: a\r\n";
      for (let i = 0; i < 40; i++) head += `X-Filler-${i}: ${"b".repeat(1000)}\r\n`;
      await c.send(head + "\r\n");
      assert.equal((await c.response()).status, 431);
    } finally {
      c.close();
    }
    await assertNotForwarded(/too-big/);
  });

  it("answers too many header fields with 431", { timeout: 20_000 }, async () => {
    const c = await connectRaw(port);
    try {
      let head = "GET /too-many HTTP/1.1\r\nHost: a\r\n";
      for (let i = 0; i < 150; i++) head += `X-F${i}: v\r\n`;
      await c.send(head + "\r\n");
      assert.equal((await c.response()).status, 431);
    } finally {
      c.close();
    }
    await assertNotForwarded(/too-many/);
  });

  it("forwards a request just under the limits", { timeout: 20_000 }, async () => {
    const path = `/long/${"c".repeat(7000)}`;
    const headers: Record<string, string> = {};
    for (let i = 0; i < 20; i++) headers[`X-Filler-${i}`] = "d".repeat(1000);
    const res = await request(port, { path, headers });
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), `GET ${path}\n`);
  });

  it("reuses one upstream connection for sequential requests", { timeout: 20_000 }, async () => {
    const c = await connectRaw(port);
    try {
      for (let i = 0; i < 5; i++) {
        await c.send(`GET /pool/${i} HTTP/1.1\r\nHost: a\r\n\r\n`);
        assert.equal((await c.response()).body.toString(), `GET /pool/${i}\n`);
      }
    } finally {
      c.close();
    }
    for (let i = 5; i < 8; i++) assert.equal((await request(port, { path: `/pool/${i}` })).status, 200);
    assert.equal(pooled.requests.length, 8);
    assert.equal(pooled.connections.length, 1, "the upstream pool did not reuse the idle connection");
  });

  it("retries on a fresh connection when a pooled one was closed by the backend", { timeout: 20_000 }, async () => {
    for (let i = 0; i < 5; i++) {
      const res = await request(port, { path: `/stale/${i}` });
      assert.equal(res.status, 200, `request ${i}: ${res.raw.toString("latin1")}`);
      assert.equal(res.body.toString(), "fresh");
    }
    assert.equal(stale.requests.length, 5);
  });

  /** Sends a normal request to sync with ferry, then checks nothing matching `re` reached a backend. */
  async function assertNotForwarded(re: RegExp): Promise<void> {
    const marker = `/sync-${Math.random().toString(36).slice(2)}`;
    assert.equal((await request(port, { path: marker })).status, 200);
    await main.until(() => main.requests.some((r) => r.target === marker), "the sync request");
    const leaked = main.requests.filter((r) => re.test(r.target));
    assert.deepEqual(leaked.map((r) => r.raw.toString("latin1")), [], "ferry forwarded a request it must refuse");
  }
});
