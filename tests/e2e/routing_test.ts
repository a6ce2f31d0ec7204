/**
 * Routing through ferry: exact host, wildcard host, any host, longest path prefix; built-in
 * `respond` and `redirect` actions.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type HttpBackend, namedBackend } from "../_helpers/backends.ts";
import { type Ferry, ferryLabel, startFerry } from "../_helpers/ferry.ts";
import { header, request } from "../_helpers/raw_http.ts";

describe(`routing (${ferryLabel()})`, () => {
  const backends = new Map<string, HttpBackend>();
  let ferry: Ferry;

  before(async () => {
    for (const n of ["api", "wild", "fallback"]) backends.set(n, await namedBackend(n));
    ferry = await startFerry(`
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - host: "api.example.com"
        path: /v1
        backend: api
      - host: "*.example.com"
        backend: wild
      - path: /
        backend: fallback
      - path: /static
        respond: { status: 200, headers: { Content-Type: text/css, X-Route: static }, body: "static\\n" }
      - path: /static/deep
        respond: { status: 200, body: "deep\\n" }
      - path: /hello
        respond: { status: 200, headers: { Content-Type: text/plain }, body: "hi\\n" }
      - path: /gone
        respond: { status: 410, body: "gone\\n" }
      - path: /old
        redirect: { to: "https://example.com/new", status: 301 }
      - path: /moved
        redirect: "/new-place"
backends:
  api:
    servers: [ "${backends.get("api")!.address}" ]
  wild:
    servers: [ "${backends.get("wild")!.address}" ]
  fallback:
    servers: [ "${backends.get("fallback")!.address}" ]
`);
  });

  after(async () => {
    await ferry?.stop();
    await Promise.all([...backends.values()].map((b) => b.close()));
  });

  const cases: [host: string, path: string, want: string][] = [
    ["api.example.com", "/v1/users", "api"],
    ["API.Example.COM:8080", "/v1", "api"],
    ["api.example.com", "/v2", "wild"], // the exact host has no /v2 route: the wildcard host is next
    ["www.example.com", "/v1/users", "wild"],
    ["a.b.example.com", "/", "wild"],
    ["www.example.com", "/hello", "wild"], // host routes come before any-host routes
    ["example.com", "/v1", "fallback"], // "*.example.com" needs at least one more label
    ["other.test", "/anything", "fallback"],
    ["other.test", "/static/deep/file.css", "deep\n"],
    ["other.test", "/static/app.css", "static\n"],
    ["other.test", "/hello", "hi\n"],
  ];
  for (const [host, path, want] of cases) {
    it(`Host ${host} ${path} → ${JSON.stringify(want)}`, { timeout: 10_000 }, async () => {
      const res = await request(ferry.ports.web, { host, path });
      assert.equal(res.status, 200, res.raw.toString("latin1"));
      assert.equal(res.body.toString(), want);
    });
  }

  it("respond: status, headers and body exactly as configured", { timeout: 10_000 }, async () => {
    const res = await request(ferry.ports.web, { host: "other.test", path: "/static/x" });
    assert.equal(res.status, 200);
    assert.equal(header(res.headers, "content-type"), "text/css");
    assert.equal(header(res.headers, "x-route"), "static");
    assert.equal(header(res.headers, "content-length"), "7");
    const gone = await request(ferry.ports.web, { host: "other.test", path: "/gone" });
    assert.equal(gone.status, 410);
    assert.equal(gone.body.toString(), "gone\n");
  });

  it("respond: HEAD gets the head without the body", { timeout: 10_000 }, async () => {
    const res = await request(ferry.ports.web, { host: "other.test", path: "/hello", method: "HEAD" });
    assert.equal(res.status, 200);
    assert.equal(header(res.headers, "content-length"), "3");
    assert.equal(res.body.length, 0);
  });

  it("redirect: status and Location", { timeout: 10_000 }, async () => {
    const res = await request(ferry.ports.web, { host: "other.test", path: "/old" });
    assert.equal(res.status, 301);
    assert.equal(header(res.headers, "location"), "https://example.com/new");
    const moved = await request(ferry.ports.web, { host: "other.test", path: "/moved" });
    assert.equal(moved.status, 302, "redirect's default status");
    assert.equal(header(moved.headers, "location"), "/new-place");
  });

  it("sent every proxied request to the backend it names", () => {
    for (const [name, b] of backends) {
      for (const r of b.requests) assert.equal(header(r.headers, "x-forwarded-host") !== undefined, true, `${name}: ${r.startLine}`);
    }
    const total = [...backends.values()].reduce((n, b) => n + b.requests.length, 0);
    assert.equal(total, cases.filter(([, , want]) => !want.endsWith("\n")).length);
  });
});
