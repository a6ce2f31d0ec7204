import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeAll } from "../../lib/net/socket_writer.ts";
import { FakeConn } from "../_helpers/fake_conn.ts";
import { settlesWithin } from "../_helpers/loopback.ts";

/** A hung test fails instead of blocking the run (Bun has a 5 s default; Deno none). */
const T = { timeout: 15_000 };

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
/** Accepts 1, 2, 3, 1, 2, 3, … bytes per write() call. */
const oneToThree = (call: number) => (call % 3) + 1;

describe("writeAll()", () => {
  it("writeAll() retries short writes", T, async () => {
    const conn = new FakeConn({ maxWrite: oneToThree });
    const data = new Uint8Array(1000).map((_, i) => i & 0xff);
    await writeAll(conn, data);
    assert.deepEqual(conn.written(), data);
    // 166 rounds of 1+2+3 bytes = 996 bytes in 498 calls, then 1, 2 and the last 1 byte.
    assert.equal(conn.writeCalls, 501);
    assert.ok(conn.accepted.every((c) => c.length >= 1 && c.length <= 3));
  });

  it("writeAll() does not interleave concurrent writers and keeps their order", T, async () => {
    const conn = new FakeConn({ maxWrite: oneToThree });
    await Promise.all([
      writeAll(conn, bytes(50, 0x61)),
      writeAll(conn, bytes(50, 0x62)),
      writeAll(conn, bytes(50, 0x63)),
    ]);
    assert.equal(conn.writtenText(), "a".repeat(50) + "b".repeat(50) + "c".repeat(50));
  });

  it("writeAll() of nothing resolves without calling write()", T, async () => {
    const conn = new FakeConn();
    await writeAll(conn, new Uint8Array(0));
    assert.equal(conn.writeCalls, 0);
  });

  it("writeAll() rejects on a write error, and a later writeAll still runs", T, async () => {
    const conn = new FakeConn({ maxWrite: oneToThree });
    conn.writeError = new Error("boom");
    const first = writeAll(conn, bytes(10, 0x61));
    const second = writeAll(conn, bytes(4, 0x62));
    await assert.rejects(first, /boom/);
    await second;
    assert.equal(conn.writtenText(), "bbbb");
  });

  it("writeAll() rejects instead of spinning when write() accepts 0 bytes", T, async () => {
    const conn = new FakeConn({ maxWrite: () => 0 });
    await assert.rejects(writeAll(conn, bytes(3, 0x61)), /accepted 0 bytes/);
    assert.equal(conn.writeCalls, 1);
  });

  it("writeAll() waits while the connection does not accept; other connections are not held up", T, async () => {
    const slow = new FakeConn();
    const fast = new FakeConn();
    slow.hold();
    const blocked = writeAll(slow, bytes(5, 0x61));
    await writeAll(fast, bytes(5, 0x62));
    assert.equal(fast.writtenText(), "bbbbb");
    assert.equal(await settlesWithin(blocked, 20), false);
    slow.release();
    await blocked;
    assert.equal(slow.writtenText(), "aaaaa");
  });
});
