import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { upgradeRefusal } from "../../lib/http/upgrade_refusal.ts";

describe("upgradeRefusal()", () => {
  it("accepts a switch to a protocol the client listed, whatever the case", () => {
    assert.equal(upgradeRefusal("websocket", "websocket"), null);
    assert.equal(upgradeRefusal("WebSocket", "websocket"), null);
    assert.equal(upgradeRefusal("h2c, websocket", "WEBSOCKET"), null);
  });

  it("accepts a version the client named, or any version of a protocol it named without one", () => {
    assert.equal(upgradeRefusal("foo/2, bar", "foo/2"), null);
    assert.equal(upgradeRefusal("bar", "bar/1.1"), null);
  });

  it("refuses a protocol the client did not list (RFC 9110 §7.8)", () => {
    assert.equal(
      upgradeRefusal("websocket", "h2c"),
      'switched to "h2c", which the client did not ask for (it asked for "websocket")',
    );
    assert.match(upgradeRefusal("foo/1", "foo/2") ?? "", /switched to "foo\/2"/);
  });

  it("refuses a 101 without Upgrade (RFC 9110 §15.2.2)", () => {
    assert.equal(upgradeRefusal("websocket", ""), "switched protocols without naming the protocol (no Upgrade field)");
  });
});
