/**
 * A client that leaves while its request waits (in the max_conns queue, or for the server's
 * answer) frees its place: a queued request is never sent, a waiting one has its server
 * connection closed, and the access log says 499, as nginx does.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Ferry, ferryLabel, startFerry } from "../_helpers/ferry.ts";
import { heldBackend, type HeldBackend } from "../_helpers/policy_backends.ts";
import { waitFor } from "../_helpers/policy_client.ts";
import { connectRaw, request } from "../_helpers/raw_http.ts";

describe(`clients that leave while waiting (${ferryLabel()})`, () => {
  let queued: HeldBackend;
  let waiting: HeldBackend;
  let ferry: Ferry;

  before(async () => {
    queued = await heldBackend("queued");
    waiting = await heldBackend("waiting");
    ferry = await startFerry(`
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - path: /q
        backend: queued
      - path: /w
        backend: waiting
backends:
  queued:
    servers: [ "${queued.address}" ]
    max_conns: 1
    queue_timeout: 10s
  waiting:
    servers: [ "${waiting.address}" ]
    max_conns: 1
    queue_timeout: 1s
    timeouts: { response: 30s }
`);
  });

  after(async () => {
    await ferry?.stop();
    await Promise.all([queued, waiting].map((b) => b?.close()));
  });

  it("never sends a queued POST whose client left", { timeout: 20_000 }, async () => {
    const first = request(ferry.ports.web, { path: "/q/first" });
    await waitFor(() => queued.waiting === 1, "the first request at the server");
    const from = ferry.stdout.length;
    const leaver = await connectRaw(ferry.ports.web);
    await leaver.send("POST /q/charge HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\npay=100");
    leaver.close();
    await ferry.waitForLine(/"POST \/q\/charge HTTP\/1\.1" 499 /, { from, timeoutMs: 5_000 });
    queued.release();
    assert.equal((await first).status, 200);
    queued.hold = false;
    assert.equal((await request(ferry.ports.web, { path: "/q/after" })).status, 200);
    assert.deepEqual(queued.requests.map((r) => r.target), ["/q/first", "/q/after"]);
  });

  it("closes the server connection of a request whose client left, freeing its max_conns place", { timeout: 20_000 }, async () => {
    const leaver = await connectRaw(ferry.ports.web);
    await leaver.send("GET /w/leaves HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => waiting.waiting === 1, "the request at the server");
    const conn = waiting.connections[0];
    const from = ferry.stdout.length;
    leaver.close();
    await waitFor(() => conn.gotEnd, "ferry to close the server connection", 5_000);
    await ferry.waitForLine(/"GET \/w\/leaves HTTP\/1\.1" 499 /, { from, timeoutMs: 5_000 });
    // With the place still taken this would wait for queue_timeout (1s) and get 503.
    waiting.hold = false;
    const next = await request(ferry.ports.web, { path: "/w/next" });
    assert.equal(next.status, 200);
    assert.equal(next.body.toString(), "waiting");
    assert.deepEqual(ferry.stderr.filter((l) => /marked down|internal error/.test(l)), [], "a client leaving is not the server's failure");
  });

  it("still answers a pipelined request that arrived while the first one waited", { timeout: 20_000 }, async () => {
    waiting.hold = true;
    const c = await connectRaw(ferry.ports.web);
    try {
      await c.send("GET /w/one HTTP/1.1\r\nHost: x\r\n\r\n");
      await waitFor(() => waiting.waiting === 1, "the first request at the server");
      await c.send("GET /w/two HTTP/1.1\r\nHost: x\r\n\r\n");
      waiting.hold = false;
      waiting.release();
      assert.equal((await c.response()).status, 200);
      const second = await c.response();
      assert.equal(second.status, 200);
      assert.deepEqual(waiting.requests.slice(-2).map((r) => r.target), ["/w/one", "/w/two"]);
    } finally {
      c.close();
    }
  });
});
