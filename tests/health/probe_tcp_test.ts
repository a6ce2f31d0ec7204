import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { probeTcp } from "../../lib/health/mod.ts";
import { closedPort } from "../_helpers/loopback.ts";
import { probeServer } from "./_probe_server.ts";

describe("probeTcp", () => {
  it("passes when the server accepts, and closes the connection", async () => {
    const server = await probeServer("hang");
    try {
      assert.deepEqual(await probeTcp(server.target, 2_000), { ok: true, detail: "connected" });
      await server.until(() => server.accepted === 1 && server.open === 0, "the probe connection to close");
      assert.equal(server.received[0].length, 0, "a TCP probe sends nothing");
    } finally {
      await server.close();
    }
  });

  it("fails with \"connection refused\" when nothing listens", async () => {
    const port = await closedPort();
    const r = await probeTcp({ hostname: "127.0.0.1", port, address: `127.0.0.1:${port}` }, 2_000);
    assert.deepEqual(r, { ok: false, detail: "connection refused" });
  });
});
