import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { describeRanges, type HttpProbeOptions, probeHttp } from "../../lib/health/mod.ts";
import { closedPort } from "../_helpers/loopback.ts";
import { type Behaviour, probeServer, type ProbeServer, response } from "./_probe_server.ts";

const OPTS: HttpProbeOptions = { path: "/", expect: [[200, 399]], timeoutMs: 2_000 };

/** Runs one probe against a fresh server that behaves as told. */
async function probeAgainst(
  behaviour: Behaviour,
  opts: Partial<HttpProbeOptions> = {},
): Promise<{ ok: boolean; detail: string; ms: number; server: ProbeServer }> {
  const server = await probeServer(behaviour);
  try {
    const started = Date.now();
    const r = await probeHttp(server.target, { ...OPTS, ...opts });
    const ms = Date.now() - started;
    // Whatever the outcome, the probe leaves no connection behind.
    await server.until(() => server.open === 0, "the probe connection to close");
    return { ...r, ms, server };
  } finally {
    await server.close();
  }
}

describe("probeHttp", () => {
  it("passes on 200 and sends exactly the GET with the server's address as Host", async () => {
    const r = await probeAgainst({ reply: response("200 OK") });
    assert.equal(r.ok, true);
    assert.equal(r.detail, "status 200");
    assert.equal(r.server.accepted, 1);
    assert.equal(
      r.server.received[0].toString("latin1"),
      `GET / HTTP/1.1\r\nHost: ${r.server.address}\r\nUser-Agent: ferry-health-check\r\nConnection: close\r\n\r\n`,
    );
  });

  it("sends the configured path and Host", async () => {
    const r = await probeAgainst({ reply: response("204 No Content", "") }, { path: "/healthz?deep=1", host: "app.example" });
    assert.equal(r.ok, true);
    assert.equal(
      r.server.received[0].toString("latin1"),
      "GET /healthz?deep=1 HTTP/1.1\r\nHost: app.example\r\nUser-Agent: ferry-health-check\r\nConnection: close\r\n\r\n",
    );
  });

  it("sends the server's config entry as Host when it has one (a DNS name stands for its addresses)", async () => {
    const server = await probeServer({ reply: response("200 OK") });
    try {
      const r = await probeHttp({ ...server.target, origin: "app.internal:9001" }, OPTS);
      assert.equal(r.ok, true, r.detail);
      await server.until(() => server.open === 0, "the probe connection to close");
      assert.match(server.received[0].toString("latin1"), /\r\nHost: app\.internal:9001\r\n/);
    } finally {
      await server.close();
    }
  });

  it("fails on 503 and says which statuses were expected", async () => {
    const r = await probeAgainst({ reply: response("503 Service Unavailable") });
    assert.equal(r.ok, false);
    assert.equal(r.detail, "status 503 (expected 200-399)");
  });

  it("passes only statuses in one of the listed ranges", async () => {
    const expect: [number, number][] = [[200, 200], [204, 204]];
    const statuses = ["200 OK", "203 Non-Authoritative Information", "204 No Content", "301 Moved Permanently"];
    const server = await probeServer({ reply: (i) => response(statuses[i]) });
    try {
      const results = [];
      for (let i = 0; i < statuses.length; i++) results.push(await probeHttp(server.target, { ...OPTS, expect }));
      assert.deepEqual(results, [
        { ok: true, detail: "status 200" },
        { ok: false, detail: "status 203 (expected 200, 204)" },
        { ok: true, detail: "status 204" },
        { ok: false, detail: "status 301 (expected 200, 204)" },
      ]);
    } finally {
      await server.close();
    }
  });

  it("times out on a server that accepts and never answers, and closes the connection", async () => {
    const r = await probeAgainst("hang", { timeoutMs: 200 });
    assert.equal(r.ok, false);
    assert.equal(r.detail, "timed out after 200 ms");
    assert.ok(r.ms >= 190 && r.ms < 200 + 1_500, `took ${r.ms} ms`);
    assert.equal(r.server.accepted, 1);
  });

  it("times out on a server that stops halfway through its head", async () => {
    const r = await probeAgainst({ reply: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", keepOpen: true }, { timeoutMs: 200 });
    assert.equal(r.detail, "timed out after 200 ms");
    assert.ok(r.ms >= 190 && r.ms < 200 + 1_500, `took ${r.ms} ms`);
  });

  it("fails on a malformed status line at once", async () => {
    const r = await probeAgainst({ reply: "HTTP/1.1 OK\r\n\r\n" }, { timeoutMs: 5_000 });
    assert.equal(r.ok, false);
    assert.equal(r.detail, 'malformed status line "HTTP/1.1 OK"');
  });

  it("fails on a server that is not HTTP (greets first) without waiting for the timeout", async () => {
    const r = await probeAgainst({ greet: "SSH-2.0-OpenSSH_9.2\r\n" }, { timeoutMs: 5_000 });
    assert.equal(r.detail, 'malformed status line "SSH-2.0-OpenSSH_9.2"');
    assert.ok(r.ms < 2_000, `took ${r.ms} ms`);
  });

  it("fails on a response the proxy would refuse, whatever its status (bad field, conflicting framing)", async () => {
    const badField = await probeAgainst({ reply: "HTTP/1.1 200 OK\r\nbad header line\r\n\r\n" }, { timeoutMs: 5_000 });
    assert.deepEqual([badField.ok, badField.detail], [false, 'malformed header field "bad header line"']);
    const twoLengths = await probeAgainst({ reply: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n" }, { timeoutMs: 5_000 });
    assert.equal(twoLengths.ok, false);
    assert.match(twoLengths.detail, /^conflicting Content-Length values/);
    const both = await probeAgainst({ reply: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" }, { timeoutMs: 5_000 });
    assert.equal(both.ok, false);
  });

  it("fails on a head with bare LF line ends", async () => {
    const r = await probeAgainst({ reply: "HTTP/1.1 200 OK\nContent-Length: 0\n\n" }, { timeoutMs: 5_000 });
    assert.equal(r.ok, false);
    assert.match(r.detail, /^malformed /);
    assert.ok(r.ms < 2_000, `took ${r.ms} ms`);
  });

  it("fails when the server closes before the response head", async () => {
    const none = await probeAgainst({ reply: "" }, { timeoutMs: 5_000 });
    assert.deepEqual([none.ok, none.detail], [false, "connection closed before the response head"]);
    const partial = await probeAgainst({ reply: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" }, { timeoutMs: 5_000 });
    assert.deepEqual([partial.ok, partial.detail], [false, "connection closed before the response head"]);
  });

  it("does not read the body: an endless response passes once its head is in", async () => {
    const r = await probeAgainst({ reply: response("200 OK", "Content-Length: 1000000000\r\n") + "x".repeat(1000), keepOpen: true });
    assert.equal(r.ok, true);
    assert.equal(r.detail, "status 200");
  });

  it("skips interim 1xx responses and judges the final one", async () => {
    const r = await probeAgainst({ reply: "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" + response("503 Service Unavailable") });
    assert.equal(r.detail, "status 503 (expected 200-399)");
  });

  it("accepts an HTTP/1.0 status line without a reason phrase", async () => {
    const r = await probeAgainst({ reply: "HTTP/1.0 200\r\n\r\n" });
    assert.deepEqual([r.ok, r.detail], [true, "status 200"]);
  });

  it("fails with \"connection refused\" when nothing listens", async () => {
    const port = await closedPort();
    const r = await probeHttp({ hostname: "127.0.0.1", port, address: `127.0.0.1:${port}` }, OPTS);
    assert.deepEqual(r, { ok: false, detail: "connection refused" });
  });

  it("refuses to send a path or Host that would break the request, without connecting", async () => {
    const server = await probeServer({ reply: response("200 OK") });
    try {
      const badPath = await probeHttp(server.target, { ...OPTS, path: "/ HTTP/1.1\r\nX: y" });
      assert.equal(badPath.ok, false);
      assert.match(badPath.detail, /^refusing to send path "/);
      const badHost = await probeHttp(server.target, { ...OPTS, host: "a\r\nX-Evil: 1" });
      assert.equal(badHost.ok, false);
      assert.match(badHost.detail, /^refusing to send Host "/);
      assert.equal(server.accepted, 0);
    } finally {
      await server.close();
    }
  });

  it("describeRanges() writes single statuses alone and ranges with a dash", () => {
    assert.equal(describeRanges([[200, 399]]), "200-399");
    assert.equal(describeRanges([[200, 200], [204, 204], [300, 302]]), "200, 204, 300-302");
  });
});
