/**
 * Responses whose body comes later than their head (server-sent events, long polling, a slow
 * generator): the client gets the head at once, a pause between head and body is not a failure
 * to answer (no retry, no 504), and a body that stalls past `timeouts.response` is logged as the
 * timeout it is.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type BaseBackend, rawBackend } from "../_helpers/backends.ts";
import { type Ferry, ferryLabel, startFerry } from "../_helpers/ferry.ts";
import { connectRaw } from "../_helpers/raw_http.ts";

describe(`streamed responses (${ferryLabel()})`, () => {
  let sse: BaseBackend;
  let stall: BaseBackend;
  let ferry: Ferry;
  /** Released by the test once the client has seen the head: then the backend sends the body. */
  let release!: () => void;
  let released = new Promise<void>((r) => (release = r));

  before(async () => {
    sse = await rawBackend(async (conn) => {
      await conn.reader.readUntil("\r\n\r\n");
      conn.socket.write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
      await released;
      conn.socket.write("c\r\ndata: hello\n\r\n0\r\n\r\n");
    });
    // Half the body, then silence (the connection stays open).
    stall = await rawBackend(async (conn) => {
      await conn.reader.readUntil("\r\n\r\n");
      conn.socket.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nxxxxx");
    });
    ferry = await startFerry(`
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - { path: /stall, backend: stall }
    backend: sse
backends:
  sse:
    servers: ["${sse.address}"]
  stall:
    servers: ["${stall.address}"]
    timeouts: { response: 500ms }
    retries: 0
`);
  });

  after(async () => {
    release();
    await ferry?.stop();
    await sse?.close();
    await stall?.close();
  });

  it("sends the response head before the first body byte exists", async () => {
    released = new Promise<void>((r) => (release = r));
    const c = await connectRaw(ferry.ports.web);
    try {
      await c.send("GET /events HTTP/1.1\r\nHost: a\r\n\r\n");
      // The backend holds the body until the test has read the head: a ferry that waits for
      // body bytes before sending the head times this read out.
      const head = (await c.reader.readUntil("\r\n\r\n")).toString("latin1");
      assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(head, /\r\nTransfer-Encoding: chunked\r\n/i);
      release();
      const body = (await c.reader.readUntil("0\r\n\r\n")).toString("latin1");
      assert.equal(body, "c\r\ndata: hello\n\r\n0\r\n\r\n");
      assert.equal(sse.connections.length, 1, "the request was sent to the server again");
    } finally {
      c.close();
    }
  });

  it("cuts a body that stalls past timeouts.response and logs it as a timeout", async () => {
    const c = await connectRaw(ferry.ports.web);
    try {
      await c.send("GET /stall HTTP/1.1\r\nHost: a\r\n\r\n");
      const got = (await c.readToEnd()).toString("latin1");
      assert.ok(got.startsWith("HTTP/1.1 200 OK\r\n") && got.endsWith("\r\n\r\nxxxxx"), JSON.stringify(got));
      await ferry.waitForLine(/upstream "127\.0\.0\.1:\d+" sent no response data for 500 ms \(body ended after 5 of 10 bytes\)/, { stream: "stderr" });
    } finally {
      c.close();
    }
  });
});
