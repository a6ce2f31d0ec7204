import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AbortFlag } from "../../lib/net/abort_flag.ts";

describe("AbortFlag", () => {
  it("abort() calls each listener once, and later listeners at once", () => {
    const flag = new AbortFlag();
    const calls: string[] = [];
    flag.onAbort(() => calls.push("a"));
    const cancel = flag.onAbort(() => calls.push("cancelled"));
    cancel();
    flag.abort();
    flag.abort();
    flag.onAbort(() => calls.push("late"));
    assert.deepEqual(calls, ["a", "late"]);
    assert.equal(flag.aborted, true);
  });
});
