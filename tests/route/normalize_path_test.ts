import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { normalizePath } from "../../lib/route/normalize_path.ts";
import { Router } from "../../lib/route/match.ts";
import type { RouteConfig } from "../../lib/config/types.ts";

describe("normalizePath()", () => {
  const cases: [string, string][] = [
    ["/", "/"],
    ["/health", "/health"],
    ["/a/b/", "/a/b/"],
    ["//health", "/health"],
    ["/a///b", "/a/b"],
    ["/x/../admin", "/admin"],
    ["/x/./admin", "/x/admin"],
    ["/../../admin", "/admin"],
    ["/a/b/..", "/a/"],
    ["/a/b/.", "/a/b/"],
    ["/%61dmin", "/admin"],
    ["/x/%2e%2e/admin", "/admin"],
    ["/x%2F..%2Fadmin", "/admin"],
    ["/a%20b", "/a%20b"],
    ["/a%00b", "/a%00b"],
    ["/caf%C3%A9", "/caf%C3%A9"],
    ["/..foo/bar", "/..foo/bar"],
    ["*", "*"],
  ];
  for (const [raw, want] of cases) {
    it(`normalizePath(${JSON.stringify(raw)}) is ${JSON.stringify(want)}`, () => {
      assert.equal(normalizePath(raw), want);
    });
  }
});

describe("Router.match() with encoded paths", () => {
  const deny: RouteConfig = { path: "/admin", action: { type: "respond", status: 403, headers: [], body: "" } };
  const app: RouteConfig = { path: "/", action: { type: "proxy", backend: "app" } };
  const router = new Router([deny, app]);
  for (const p of ["/admin", "/%61dmin", "//admin", "/x/../admin/", "/admin/./x", "/x/%2e%2e/admin"]) {
    it(`routes ${JSON.stringify(p)} to the /admin route`, () => {
      assert.equal(router.match("h", p), deny);
    });
  }
  it("leaves /adminx to the catch-all", () => {
    assert.equal(router.match("h", "/adminx"), app);
  });
});
