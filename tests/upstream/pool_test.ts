import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConnPool } from "../../lib/upstream/pool.ts";
import { ConnError } from "../../lib/runtime/mod.ts";
import { FakeConn } from "../_helpers/fake_conn.ts";
import { str } from "../_helpers/loopback.ts";

/** A hung test fails instead of blocking the run (Bun has a 5 s default; Deno none). */
const T = { timeout: 15_000 };

describe("ConnPool", () => {
  it("take() returns null when nothing is parked", () => {
    assert.equal(new ConnPool(4, 1_000).take(), null);
  });

  it("a taken connection's first read returns what the read pending while parked got", T, async () => {
    const pool = new ConnPool(4, 10_000);
    const conn = new FakeConn();
    pool.put(conn);
    assert.equal(conn.readCalls, 1, "a parked connection keeps one read pending");
    const taken = pool.take()!;
    assert.ok(taken);
    assert.equal(pool.size, 0);
    await taken.write(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
    assert.equal(conn.writtenText(), "GET / HTTP/1.1\r\n\r\n");
    conn.push("HTTP/1.1 200 OK\r\n", "more");
    assert.equal(str(await taken.read()), "HTTP/1.1 200 OK\r\n");
    assert.equal(conn.readCalls, 1, "the first read was served by the pending one, not a new read");
    assert.equal(str(await taken.read()), "more");
    assert.equal(conn.readCalls, 2);
    assert.equal(conn.closed, false);
    taken.close();
    assert.equal(conn.closed, true);
  });

  it("a parked connection closed by the peer is dropped and closed", T, async () => {
    const pool = new ConnPool(4, 10_000);
    const conn = new FakeConn();
    pool.put(conn);
    assert.equal(pool.size, 1);
    conn.pushEof();
    await conn.whenClosed();
    assert.equal(pool.size, 0);
    assert.equal(pool.take(), null);
  });

  it("a parked connection that is reset, or sends bytes nobody asked for, is dropped", T, async () => {
    const pool = new ConnPool(4, 10_000);
    const reset = new FakeConn();
    const chatty = new FakeConn();
    const good = new FakeConn();
    pool.put(good);
    pool.put(reset);
    pool.put(chatty);
    reset.pushError(new ConnError("connection reset"));
    chatty.push("HTTP/1.1 408 Request Timeout\r\n\r\n");
    await Promise.all([reset.whenClosed(), chatty.whenClosed()]);
    assert.equal(pool.size, 1);
    const taken = pool.take()!;
    good.push("ok");
    assert.equal(str(await taken.read()), "ok");
    taken.close();
  });

  it("the idle timeout closes a parked connection", T, async () => {
    const pool = new ConnPool(4, 30);
    const conn = new FakeConn();
    const started = Date.now();
    pool.put(conn);
    await conn.whenClosed();
    assert.ok(Date.now() - started >= 25, `closed after ${Date.now() - started} ms`);
    assert.equal(pool.size, 0);
  });

  it("a taken connection is not closed by its idle timeout", T, async () => {
    const pool = new ConnPool(4, 20);
    const conn = new FakeConn();
    pool.put(conn);
    const taken = pool.take()!;
    // Park a second connection and wait for *its* idle close: by then the first one's idle
    // deadline, had it still applied, would have fired too.
    const probe = new FakeConn();
    pool.put(probe);
    await probe.whenClosed();
    assert.equal(conn.closed, false);
    taken.close();
  });

  it("put() closes the connection when the pool is full; maxIdle 0 disables pooling", () => {
    const pool = new ConnPool(1, 10_000);
    const a = new FakeConn();
    const b = new FakeConn();
    pool.put(a);
    pool.put(b);
    assert.equal(pool.size, 1);
    assert.equal(b.closed, true);
    assert.equal(a.closed, false);
    pool.closeAll();

    const off = new ConnPool(0, 10_000);
    const c = new FakeConn();
    off.put(c);
    assert.equal(c.closed, true);
    assert.equal(off.take(), null);
  });

  it("take() returns the most recently parked connection first", () => {
    const pool = new ConnPool(4, 10_000);
    const older = new FakeConn();
    const newer = new FakeConn();
    pool.put(older);
    pool.put(newer);
    const t = pool.take()!;
    t.close();
    assert.equal(newer.closed, true);
    assert.equal(older.closed, false);
    pool.closeAll();
  });

  it("a taken connection parked again unread keeps its one pending read", T, async () => {
    const pool = new ConnPool(4, 10_000);
    const conn = new FakeConn();
    pool.put(conn);
    pool.put(pool.take()!);
    assert.equal(conn.readCalls, 1);
    const again = pool.take()!;
    conn.push("late");
    assert.equal(str(await again.read()), "late");
    assert.equal(conn.readCalls, 1);
    again.close();
  });

  it("a taken connection that was read from is parked with a fresh pending read", T, async () => {
    const pool = new ConnPool(4, 10_000);
    const conn = new FakeConn();
    pool.put(conn);
    const t = pool.take()!;
    conn.push("response");
    await t.read();
    pool.put(t);
    assert.equal(conn.readCalls, 2);
    conn.pushEof();
    await conn.whenClosed();
    assert.equal(pool.size, 0);
  });

  it("closeAll() closes every idle connection", () => {
    const pool = new ConnPool(4, 10_000);
    const conns = [new FakeConn(), new FakeConn(), new FakeConn()];
    for (const c of conns) pool.put(c);
    pool.closeAll();
    assert.equal(pool.size, 0);
    assert.ok(conns.every((c) => c.closed));
  });
});
