/**
 * What the backend sees and what the client gets back: hop-by-hop fields removed in both
 * directions (the fixed list and every name in Connection), X-Forwarded-For and Forwarded
 * appended, X-Forwarded-Proto/Host and X-Real-IP set, Via appended, Host passed through unchanged.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type HttpBackend, httpBackend } from "../_helpers/backends.ts";
import { type Ferry, ferryLabel, startFerry } from "../_helpers/ferry.ts";
import { connectRaw, header, headerAll } from "../_helpers/raw_http.ts";

describe(`forwarded headers (${ferryLabel()})`, () => {
  let backend: HttpBackend;
  let ferry: Ferry;

  before(async () => {
    backend = await httpBackend(() => ({
      raw: "HTTP/1.1 200 OK\r\n" +
        "Connection: X-Internal\r\n" +
        "X-Internal: backend secret\r\n" +
        "Keep-Alive: timeout=99\r\n" +
        "Proxy-Authenticate: Basic realm=backend\r\n" +
        "X-Public: yes\r\n" +
        "Content-Length: 2\r\n\r\nok",
    }));
    ferry = await startFerry(`
listeners:
  - name: web
    listen: "127.0.0.1:0"
    backend: app
backends:
  app:
    servers: [ "${backend.address}" ]
`);
  });

  after(async () => {
    await ferry?.stop();
    await backend?.close();
  });

  it("strips hop-by-hop fields, appends X-Forwarded-For, sets X-Forwarded-*, Via; keeps Host", { timeout: 15_000 }, async () => {
    const c = await connectRaw(ferry.ports.web);
    let res;
    try {
      await c.send(
        "GET /headers?x=1 HTTP/1.1\r\n" +
          "Host: Example.COM:8080\r\n" +
          "Connection: keep-alive, X-Secret\r\n" +
          "X-Secret: hush\r\n" +
          "Keep-Alive: timeout=5\r\n" +
          "Proxy-Connection: keep-alive\r\n" +
          "Proxy-Authorization: Basic Zm9vOmJhcg==\r\n" +
          "X-Forwarded-For: 203.0.113.7\r\n" +
          "Via: 1.0 fred\r\n" +
          "X-Custom: stays\r\n" +
          "\r\n",
      );
      res = await c.response();
    } finally {
      c.close();
    }
    assert.equal(res.status, 200);
    const got = backend.requests.at(-1)!;
    const seen = got.raw.toString("latin1");
    const h = (name: string) => header(got.headers, name);

    assert.equal(got.startLine, "GET /headers?x=1 HTTP/1.1", seen);
    assert.deepEqual(headerAll(got.headers, "host"), ["Example.COM:8080"], seen);
    for (const name of ["x-secret", "keep-alive", "proxy-connection", "proxy-authorization"]) {
      assert.equal(h(name), undefined, `backend received hop-by-hop ${name}:\n${seen}`);
    }
    assert.doesNotMatch(headerAll(got.headers, "connection").join(","), /x-secret/i, seen);
    assert.equal(h("x-custom"), "stays", seen);
    assert.deepEqual(headerAll(got.headers, "x-forwarded-for"), ["203.0.113.7, 127.0.0.1"], seen);
    assert.equal(h("x-forwarded-proto"), "http", seen);
    assert.equal(h("x-forwarded-host"), "Example.COM:8080", seen);
    assert.deepEqual(headerAll(got.headers, "forwarded"), ['for=127.0.0.1;proto=http;host="Example.COM:8080"'], seen);
    assert.deepEqual(headerAll(got.headers, "x-real-ip"), ["127.0.0.1"], seen);
    assert.match(h("via") ?? "", /^1\.0 fred, 1\.1 \S+$/, seen);

    const back = res.raw.toString("latin1");
    assert.equal(header(res.headers, "x-internal"), undefined, `client received a field named in Connection:\n${back}`);
    assert.equal(header(res.headers, "proxy-authenticate"), undefined, back);
    assert.doesNotMatch(header(res.headers, "keep-alive") ?? "", /timeout=99/, back);
    assert.doesNotMatch(headerAll(res.headers, "connection").join(","), /x-internal/i, back);
    assert.equal(header(res.headers, "x-public"), "yes", back);
    assert.equal(res.body.toString(), "ok");
  });

  it("adds X-Forwarded-For and Via when the client sent none", { timeout: 15_000 }, async () => {
    const c = await connectRaw(ferry.ports.web);
    try {
      await c.send("GET /plain HTTP/1.1\r\nHost: plain.test\r\n\r\n");
      assert.equal((await c.response()).status, 200);
    } finally {
      c.close();
    }
    const got = backend.requests.at(-1)!;
    const seen = got.raw.toString("latin1");
    assert.deepEqual(headerAll(got.headers, "x-forwarded-for"), ["127.0.0.1"], seen);
    assert.equal(header(got.headers, "x-forwarded-host"), "plain.test", seen);
    assert.deepEqual(headerAll(got.headers, "forwarded"), ["for=127.0.0.1;proto=http;host=plain.test"], seen);
    assert.deepEqual(headerAll(got.headers, "x-real-ip"), ["127.0.0.1"], seen);
    assert.match(header(got.headers, "via") ?? "", /^1\.1 \S+$/, seen);
    assert.deepEqual(headerAll(got.headers, "host"), ["plain.test"], seen);
  });

  it("records a client's Forwarded only as the chain before it, and replaces its X-Real-IP", { timeout: 15_000 }, async () => {
    const c = await connectRaw(ferry.ports.web);
    try {
      await c.send("GET / HTTP/1.1\r\nHost: a\r\nForwarded: for=9.9.9.9\r\nX-Real-IP: 9.9.9.9\r\n\r\n");
      assert.equal((await c.response()).status, 200);
    } finally {
      c.close();
    }
    // The whole head the backend got: ferry's element is the last one of the one Forwarded
    // field (a backend trusts the elements its own proxies added, counted from the right).
    assert.equal(
      backend.requests.at(-1)!.raw.toString("latin1"),
      "GET / HTTP/1.1\r\n" +
        "Host: a\r\n" +
        "X-Forwarded-For: 127.0.0.1\r\n" +
        "X-Forwarded-Proto: http\r\n" +
        "X-Forwarded-Host: a\r\n" +
        "Forwarded: for=9.9.9.9, for=127.0.0.1;proto=http;host=a\r\n" +
        "X-Real-IP: 127.0.0.1\r\n" +
        "Via: 1.1 ferry\r\n" +
        "\r\n",
    );
  });
});
