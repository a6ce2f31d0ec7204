/**
 * Upstream failures become short error responses, never hangs: 502 when no server can be
 * reached or a server hangs up without answering, 504 when it does not answer in time, and
 * failover to the next server when one refuses.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type BaseBackend, closedPort, type HttpBackend, namedBackend, rawBackend } from "../_helpers/backends.ts";
import { type Ferry, ferryLabel, startFerry } from "../_helpers/ferry.ts";
import { connectRaw, header, request, type Response } from "../_helpers/raw_http.ts";

function assertShortTextBody(res: Response): void {
  const text = res.body.toString();
  assert.ok(text.length > 0 && text.length <= 200, `error body should be a short text, got ${JSON.stringify(text)}`);
  assert.match(header(res.headers, "content-type") ?? "", /^text\/plain/);
}

describe(`upstream errors (${ferryLabel()})`, () => {
  let down: number;
  let silent: BaseBackend;
  let hangup: BaseBackend;
  let alive: HttpBackend;
  let ferry: Ferry;

  before(async () => {
    down = await closedPort();
    // Reads the request and never answers.
    silent = await rawBackend(async (conn) => {
      await conn.reader.readUntil("\r\n\r\n");
    });
    // Reads the request and closes without a byte of response.
    hangup = await rawBackend(async (conn) => {
      await conn.reader.readUntil("\r\n\r\n");
      conn.socket.destroy();
    }, { allowHalfOpen: false });
    alive = await namedBackend("alive");
    ferry = await startFerry(`
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - path: /down
        backend: down
      - path: /slow
        backend: silent
      - path: /hangup
        backend: hangup
      - path: /failover
        backend: failover
backends:
  down:
    servers: [ "127.0.0.1:${down}" ]
    timeouts: { connect: 1s }
  silent:
    servers: [ "${silent.address}" ]
    timeouts: { response: 300ms }
  hangup:
    servers: [ "${hangup.address}" ]
  failover:
    servers: [ "127.0.0.1:${down}", "${alive.address}" ]
    timeouts: { connect: 1s }
`);
  });

  after(async () => {
    await ferry?.stop();
    await Promise.all([silent?.close(), hangup?.close(), alive?.close()]);
  });

  it("answers 502 with a short text body when the only backend is down", { timeout: 15_000 }, async () => {
    const errLines = ferry.stderr.length;
    const c = await connectRaw(ferry.ports.web);
    try {
      await c.send("GET /down/x HTTP/1.1\r\nHost: a\r\n\r\n");
      const res = await c.response();
      assert.equal(res.status, 502, res.raw.toString("latin1"));
      assertShortTextBody(res);
      assert.doesNotMatch(res.body.toString(), new RegExp(String(down)), "the error page leaks the upstream address");
      // The client connection survives an upstream failure.
      if (!/close/i.test(header(res.headers, "connection") ?? "")) {
        await c.send("GET /down/y HTTP/1.1\r\nHost: a\r\n\r\n");
        assert.equal((await c.response()).status, 502);
      }
    } finally {
      c.close();
    }
    // The details go to the error log.
    await ferry.waitForLine(new RegExp(`^ferry: .*127\\.0\\.0\\.1:${down}`), { stream: "stderr", from: errLines });
  });

  it("answers 504 when the backend does not respond in time", { timeout: 15_000 }, async () => {
    const t0 = performance.now();
    const res = await request(ferry.ports.web, { path: "/slow" });
    const ms = performance.now() - t0;
    assert.equal(res.status, 504, res.raw.toString("latin1"));
    assertShortTextBody(res);
    assert.ok(ms >= 250, `504 after ${ms.toFixed(0)} ms, before the 300 ms response timeout`);
    assert.ok(ms < 5000, `504 took ${ms.toFixed(0)} ms for a 300 ms timeout`);
  });

  it("answers 502 when the backend hangs up without a response", { timeout: 15_000 }, async () => {
    const res = await request(ferry.ports.web, { path: "/hangup" });
    assert.equal(res.status, 502, res.raw.toString("latin1"));
    assertShortTextBody(res);
  });

  it("fails over to the next server when one refuses", { timeout: 15_000 }, async () => {
    for (let i = 0; i < 4; i++) {
      const res = await request(ferry.ports.web, { path: `/failover/${i}` });
      assert.equal(res.status, 200, res.raw.toString("latin1"));
      assert.equal(res.body.toString(), "alive");
    }
  });
});
