import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ClientWatch } from "../../lib/http/client_watch.ts";
import { BufReader } from "../../lib/net/reader.ts";
import { FakeConn } from "../_helpers/fake_conn.ts";

const gone = (w: ClientWatch) => new Promise<void>((r) => w.onAbort(r));

describe("ClientWatch", () => {
  it("is aborted when the client closes", async () => {
    const conn = new FakeConn();
    const watch = new ClientWatch(new BufReader(conn), { delayMs: 0 });
    assert.equal(watch.aborted, false);
    conn.pushEof();
    await gone(watch);
    assert.equal(watch.aborted, true);
  });

  it("does not read before its delay: a request answered sooner costs no read", async () => {
    const conn = new FakeConn();
    const watch = new ClientWatch(new BufReader(conn), { delayMs: 60_000 });
    await Promise.resolve();
    assert.equal(conn.readCalls, 0);
    watch.stop();
  });

  it("keeps pipelined bytes in the reader and still notices the close after them", async () => {
    const conn = new FakeConn();
    const reader = new BufReader(conn);
    const watch = new ClientWatch(reader, { delayMs: 0 });
    conn.push("GET /next HTTP/1.1\r\n").pushEof();
    await gone(watch);
    assert.equal(new TextDecoder().decode(reader.take(reader.buffered)), "GET /next HTTP/1.1\r\n");
  });

  it("stops watching past its buffer limit instead of reading on", async () => {
    const conn = new FakeConn({ reuseReadBuffer: false });
    const reader = new BufReader(conn);
    const watch = new ClientWatch(reader, { delayMs: 0, limit: 8 });
    conn.push("0123456789");
    // Share the watch's pending read, then let its continuation run (a macrotask turn runs every
    // queued microtask first): over its limit of 8 bytes, it must not start another read.
    await reader.fill();
    await new Promise((r) => setTimeout(r, 0));
    assert.equal(reader.buffered, 10);
    assert.equal(conn.readCalls, 1);
    conn.pushEof();
    assert.equal(watch.aborted, false);
  });

  it("does not abort after stop(), and the pending read is taken over by the next reader", async () => {
    const conn = new FakeConn();
    const reader = new BufReader(conn);
    const watch = new ClientWatch(reader, { delayMs: 0 });
    watch.stop();
    conn.push("late");
    assert.equal(new TextDecoder().decode((await reader.read())!), "late");
    assert.equal(conn.readCalls, 1);
    assert.equal(watch.aborted, false);
  });
});
