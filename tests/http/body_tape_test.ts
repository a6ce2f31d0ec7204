import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { BodyTape } from "../../lib/http/body_tape.ts";
import { writeAll } from "../../lib/net/socket_writer.ts";
import { FakeConn } from "../_helpers/fake_conn.ts";
import { str, text } from "../_helpers/loopback.ts";

describe("BodyTape", () => {
  it("bytes() is empty before anything is recorded", () => {
    assert.deepEqual(new BodyTape(10).bytes(), new Uint8Array(0));
  });

  it("record() keeps every chunk, in order, up to the limit", () => {
    const tape = new BodyTape(10);
    tape.record(text("abc"));
    tape.record(new Uint8Array(0));
    tape.record(text("defg"));
    assert.equal(str(tape.bytes()), "abcdefg");
    tape.record(text("hij"));
    assert.equal(str(tape.bytes()), "abcdefghij", "exactly the limit is kept");
    assert.equal(str(tape.bytes()), "abcdefghij", "bytes() can be asked again");
  });

  it("going over the limit drops everything, for good", () => {
    const tape = new BodyTape(10);
    tape.record(text("abcdefgh"));
    tape.record(text("ijk"));
    assert.equal(tape.bytes(), null);
    tape.record(text("x"));
    assert.equal(tape.bytes(), null, "a later small chunk does not start a new tape");
  });

  it("a single chunk larger than the limit is never kept", () => {
    const tape = new BodyTape(4);
    tape.record(text("hello"));
    assert.equal(tape.bytes(), null);
  });

  it("limit 0 never keeps anything, not even an empty body", () => {
    const tape = new BodyTape(0);
    assert.equal(tape.bytes(), null);
    tape.record(text("a"));
    assert.equal(tape.bytes(), null);
  });

  it("record() copies its input: reusing the caller's buffer does not change the tape", () => {
    const tape = new BodyTape(100);
    const buf = text("first");
    tape.record(buf);
    buf.set(text("XXXXX"));
    assert.equal(str(tape.bytes()), "first", "one chunk");
    const big = new Uint8Array(20).fill(0x61);
    tape.record(big.subarray(0, 3));
    big.fill(0x7a);
    assert.equal(str(tape.bytes()), "firstaaa", "a view of a larger buffer");
  });

  it("wrap() records the bytes each write accepted, and only those", async () => {
    // The underlying connection takes at most 3 bytes per write, like a socket with a full buffer.
    const conn = new FakeConn({ maxWrite: () => 3 });
    const tape = new BodyTape(100);
    const wrapped = tape.wrap(conn);
    assert.equal(await wrapped.write(text("hello world")), 3);
    assert.equal(str(tape.bytes()), "hel");
    await writeAll(wrapped, text("lo world"));
    assert.equal(conn.writtenText(), "hello world");
    assert.equal(str(tape.bytes()), "hello world");
  });

  it("wrap() records nothing for a write that accepted nothing or failed", async () => {
    const conn = new FakeConn({ maxWrite: (call) => (call === 0 ? 0 : Infinity) });
    const tape = new BodyTape(100);
    const wrapped = tape.wrap(conn);
    assert.equal(await wrapped.write(text("abc")), 0);
    assert.equal(str(tape.bytes()), "");
    conn.writeError = new Error("connection reset");
    await assert.rejects(wrapped.write(text("def")), /connection reset/);
    assert.equal(str(tape.bytes()), "");
    assert.equal(await wrapped.write(text("ghi")), 3);
    assert.equal(str(tape.bytes()), "ghi");
  });

  it("wrap() passes reads, addresses, closeWrite and close through", async () => {
    const conn = new FakeConn();
    const wrapped = new BodyTape(10).wrap(conn);
    assert.deepEqual(wrapped.remoteAddr, conn.remoteAddr);
    assert.deepEqual(wrapped.localAddr, conn.localAddr);
    conn.push("reply");
    assert.equal(str(await wrapped.read()), "reply");
    await wrapped.closeWrite();
    assert.equal(conn.writeClosed, true);
    wrapped.close();
    assert.equal(conn.closed, true);
  });

  it("wrap() with a body over the limit still writes everything, and keeps nothing", async () => {
    const conn = new FakeConn({ maxWrite: () => 4 });
    const tape = new BodyTape(8);
    const wrapped = tape.wrap(conn);
    await writeAll(wrapped, text("0123456789"));
    assert.equal(conn.writtenText(), "0123456789");
    assert.equal(tape.bytes(), null);
  });
});
