import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AbortFlag } from "../../lib/net/abort_flag.ts";
import { untilAborted } from "../../lib/net/until_aborted.ts";
import { FakeConn } from "../_helpers/fake_conn.ts";

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe("untilAborted()", () => {
  it("gives the connection when it comes first", async () => {
    const dial = deferred<FakeConn>();
    const got = untilAborted(dial.promise, new AbortFlag());
    const conn = new FakeConn();
    dial.resolve(conn);
    assert.equal(await got, conn);
    assert.equal(conn.closed, false);
  });

  it("gives null at once on abort, and closes the connection that arrives later", async () => {
    const dial = deferred<FakeConn>();
    const gone = new AbortFlag();
    const got = untilAborted(dial.promise, gone);
    gone.abort();
    assert.equal(await got, null);
    const conn = new FakeConn();
    dial.resolve(conn);
    await dial.promise;
    await Promise.resolve();
    assert.equal(conn.closed, true);
  });

  it("gives null for a signal aborted before the call", async () => {
    const gone = new AbortFlag();
    gone.abort();
    const conn = new FakeConn();
    assert.equal(await untilAborted(Promise.resolve(conn), gone), null);
    await Promise.resolve();
    assert.equal(conn.closed, true);
  });

  it("passes a connect failure on, and swallows one that comes after an abort", async () => {
    await assert.rejects(untilAborted(Promise.reject(new Error("refused")), new AbortFlag()), /refused/);
    const dial = deferred<FakeConn>();
    const gone = new AbortFlag();
    const got = untilAborted(dial.promise, gone);
    gone.abort();
    dial.reject(new Error("refused"));
    assert.equal(await got, null);
  });
});
