/**
 * The access log on stdout: one line per request in common log format plus the upstream
 * address (or -) and the duration in seconds.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type HttpBackend, httpBackend } from "../_helpers/backends.ts";
import { type Ferry, ferryLabel, startFerry } from "../_helpers/ferry.ts";
import { connectRaw, request } from "../_helpers/raw_http.ts";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `127.0.0.1 - - [03/Dec/2026:16:44:49 +0000] "REQUEST" STATUS BYTES UPSTREAM SECONDS` */
const LINE = /^127\.0\.0\.1 - - \[(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) \+0000\] "([^"]*)" (\d{3}) (\d+|-) ("[^"]*"|-) (\d+\.\d{3})$/;

interface Entry {
  time: number;
  request: string;
  status: number;
  bytes: string;
  upstream: string;
  seconds: number;
}

function parse(line: string): Entry {
  const m = LINE.exec(line);
  assert.ok(m, `not an access log line: ${JSON.stringify(line)}`);
  const month = MONTHS.indexOf(m[2]);
  assert.ok(month >= 0, `bad month in ${line}`);
  return {
    time: Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6])),
    request: m[7],
    status: Number(m[8]),
    bytes: m[9],
    upstream: m[10],
    seconds: Number(m[11]),
  };
}

describe(`access log (${ferryLabel()})`, () => {
  let backend: HttpBackend;
  let ferry: Ferry;

  before(async () => {
    backend = await httpBackend(async (req) => {
      if (req.target.startsWith("/slow")) await new Promise((r) => setTimeout(r, 250));
      return { status: 200, headers: { "Content-Type": "text/plain" }, body: "hello world\n" };
    });
    ferry = await startFerry(`
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - path: /
        backend: app
      - path: /local
        respond: { status: 201, body: "abc" }
backends:
  app:
    servers: [ "${backend.address}" ]
`);
  });

  after(async () => {
    await ferry?.stop();
    await backend?.close();
  });

  it("logs a proxied request with upstream and duration", { timeout: 10_000 }, async () => {
    const t0 = Date.now();
    const res = await request(ferry.ports.web, { path: "/logged?q=1" });
    assert.equal(res.status, 200);
    const line = await ferry.waitForLine(/"GET \/logged\?q=1 HTTP\/1\.1"/);
    const e = parse(line);
    assert.equal(e.request, "GET /logged?q=1 HTTP/1.1");
    assert.equal(e.status, 200);
    assert.equal(e.bytes, "12");
    assert.equal(e.upstream, `"${backend.address}"`);
    assert.ok(e.seconds < 5, line);
    assert.ok(Math.abs(e.time - t0) < 60_000, `timestamp far from now: ${line}`);
  });

  it("logs the time the upstream took", { timeout: 10_000 }, async () => {
    await request(ferry.ports.web, { path: "/slow-one" });
    const e = parse(await ferry.waitForLine(/"GET \/slow-one HTTP\/1\.1"/));
    assert.ok(e.seconds >= 0.2, `duration ${e.seconds}s for a 250 ms backend`);
  });

  it("logs a local response with - as upstream", { timeout: 10_000 }, async () => {
    const res = await request(ferry.ports.web, { path: "/local", method: "POST", body: "x" });
    assert.equal(res.status, 201);
    const e = parse(await ferry.waitForLine(/"POST \/local HTTP\/1\.1"/));
    assert.equal(e.status, 201);
    assert.equal(e.bytes, "3");
    assert.equal(e.upstream, "-");
  });

  it("logs one line per request, pipelined ones too, in order", { timeout: 10_000 }, async () => {
    const from = ferry.stdout.length;
    const c = await connectRaw(ferry.ports.web);
    try {
      await c.send(["/seq-1", "/seq-2", "/seq-3"].map((p) => `GET ${p} HTTP/1.1\r\nHost: a\r\n\r\n`).join(""));
      for (let i = 0; i < 3; i++) assert.equal((await c.response()).status, 200);
    } finally {
      c.close();
    }
    await ferry.waitForLine(/"GET \/seq-3 HTTP\/1\.1"/, { from });
    const seq = ferry.stdout.slice(from).filter((l) => /\/seq-\d/.test(l)).map((l) => parse(l).request);
    assert.deepEqual(seq, ["GET /seq-1 HTTP/1.1", "GET /seq-2 HTTP/1.1", "GET /seq-3 HTTP/1.1"]);
  });

  it("writes nothing but listener and access lines to stdout", () => {
    for (const line of ferry.stdout) {
      if (line.startsWith("ferry: listener ")) continue;
      assert.match(line, LINE, `unexpected stdout line ${JSON.stringify(line)}`);
    }
  });
});
