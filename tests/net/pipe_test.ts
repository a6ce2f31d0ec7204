import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { pipe, tunnel } from "../../lib/net/pipe.ts";
import { ConnError } from "../../lib/runtime/mod.ts";
import { FakeConn } from "../_helpers/fake_conn.ts";
import { settlesWithin, text } from "../_helpers/loopback.ts";

/** A hung test fails instead of blocking the run (Bun has a 5 s default; Deno none). */
const T = { timeout: 15_000 };

describe("pipe()", () => {
  it("pipe() copies every chunk in order through short writes, then half-closes dst", T, async () => {
    const src = new FakeConn().push("hello ", "wide ", "world").pushEof();
    const dst = new FakeConn({ maxWrite: (call) => (call % 3) + 1 });
    assert.equal(await pipe(src, dst), 16);
    assert.equal(dst.writtenText(), "hello wide world");
    assert.equal(dst.events.at(-1), "closeWrite");
    assert.equal(dst.writeClosed, true);
    assert.equal(dst.closed, false, "a half-close, not a close");
    assert.equal(src.closed, false);
  });

  it("pipe() writes the read-ahead head first and reports every chunk to onData", T, async () => {
    const src = new FakeConn().push("body").pushEof();
    const dst = new FakeConn();
    const seen: number[] = [];
    assert.equal(await pipe(src, dst, { head: text("head:"), onData: (n) => seen.push(n) }), 9);
    assert.equal(dst.writtenText(), "head:body");
    assert.deepEqual(seen, [5, 4]);
  });

  it("pipe() reads the next chunk only after the previous one was written (back-pressure)", T, async () => {
    const src = new FakeConn().push("one", "two").pushEof();
    const dst = new FakeConn();
    dst.hold();
    const done = pipe(src, dst);
    assert.equal(await settlesWithin(done, 20), false);
    assert.equal(src.readCalls, 1, "read ahead while the destination was not accepting");
    dst.release();
    assert.equal(await done, 6);
    assert.equal(dst.writtenText(), "onetwo");
  });

  it("pipe() rejects when the destination fails, without half-closing it", T, async () => {
    const src = new FakeConn().push("x", "y").pushEof();
    const dst = new FakeConn();
    dst.writeError = new ConnError("connection reset");
    await assert.rejects(pipe(src, dst), (e) => e instanceof ConnError && e.code === "connection reset");
    assert.equal(dst.writeClosed, false);
  });

  it("pipe() rejects when the source is reset", T, async () => {
    const src = new FakeConn().push("x").pushError(new ConnError("connection reset"));
    const dst = new FakeConn();
    await assert.rejects(pipe(src, dst), /connection reset/);
    assert.equal(dst.writtenText(), "x");
    assert.equal(dst.writeClosed, false, "a reset is not an EOF: the peer must not see a clean end");
  });
});

describe("tunnel()", () => {
  it("tunnel() copies both ways and closes both once both sides finished", T, async () => {
    const a = new FakeConn().push("request").pushEof();
    const b = new FakeConn().push("response!").pushEof();
    const r = await tunnel(a, b);
    assert.deepEqual(r, { aToB: 7, bToA: 9, error: undefined, idledOut: false });
    assert.equal(b.writtenText(), "request");
    assert.equal(a.writtenText(), "response!");
    assert.ok(a.closed && b.closed);
  });

  it("tunnel() keeps the other direction open after one side's EOF (half-close)", T, async () => {
    const a = new FakeConn().push("bye").pushEof();
    const b = new FakeConn();
    const done = tunnel(a, b);
    await b.whenWriteClosed();
    assert.equal(b.closed, false);
    b.push("still talking").pushEof();
    const r = await done;
    assert.equal(a.writtenText(), "still talking");
    assert.equal(r.bToA, 13);
    assert.equal(r.error, undefined);
  });

  it("tunnel() closes a half-closed tunnel after idleMs of silence, and says so", T, async () => {
    const a = new FakeConn().push("bye").pushEof(); // a is done; b never says anything
    const b = new FakeConn();
    const started = Date.now();
    const r = await tunnel(a, b, { idleMs: 150 });
    assert.equal(r.idledOut, true);
    assert.equal(r.error, undefined);
    assert.ok(Date.now() - started >= 150, "closed before idleMs");
    assert.ok(a.closed && b.closed);
  });

  it("tunnel() does not idle out while bytes keep moving", T, async () => {
    const a = new FakeConn();
    const b = new FakeConn();
    const done = tunnel(a, b, { idleMs: 250 });
    // Five pieces 100 ms apart: 400 ms in all, never 250 ms of silence.
    for (let i = 0; i < 5; i++) {
      a.push("x");
      await new Promise((r) => setTimeout(r, 100));
    }
    a.pushEof();
    b.pushEof();
    const r = await done;
    assert.equal(r.idledOut, false);
    assert.equal(r.aToB, 5);
  });

  it("tunnel() closes both sides when one fails and reports the error", T, async () => {
    const reset = new ConnError("connection reset");
    const a = new FakeConn().push("abc").pushError(reset);
    const b = new FakeConn(); // never sends: its pending read must be released by the close
    const r = await tunnel(a, b);
    assert.equal(r.error, reset);
    assert.equal(r.aToB, 3, "bytes moved before the failure are still counted");
    assert.ok(a.closed && b.closed);
  });

  it("tunnel() closes both sides when a write fails", T, async () => {
    const a = new FakeConn().push("data");
    const b = new FakeConn();
    b.writeError = new ConnError("connection reset");
    const r = await tunnel(a, b);
    assert.ok(r.error instanceof ConnError);
    assert.ok(a.closed && b.closed);
  });

  it("tunnel() sends each side's read-ahead head first", T, async () => {
    const a = new FakeConn().push("A").pushEof();
    const b = new FakeConn().push("B").pushEof();
    const r = await tunnel(a, b, { aHead: text("a-head:"), bHead: text("b-head:") });
    assert.equal(b.writtenText(), "a-head:A");
    assert.equal(a.writtenText(), "b-head:B");
    assert.deepEqual([r.aToB, r.bToA], [8, 8]);
  });
});
