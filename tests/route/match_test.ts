import { test } from "node:test";
import assert from "node:assert/strict";
import type { RouteConfig } from "../../lib/config/types.ts";
import { hostOf } from "../../lib/http/parse_request.ts";
import { pathMatches, Router } from "../../lib/route/match.ts";

/** A route whose backend name says which route it is. */
function route(name: string, host: string | undefined, path = "/"): RouteConfig {
  const r: RouteConfig = { path, action: { type: "proxy", backend: name } };
  if (host !== undefined) r.host = host;
  return r;
}

function matched(router: Router, host: string, path: string): string | null {
  const r = router.match(host, path);
  if (r === null) return null;
  assert.equal(r.action.type, "proxy");
  return r.action.type === "proxy" ? r.action.backend : null;
}

test("Router.match() prefers an exact host to a wildcard, and a wildcard to any host", () => {
  const router = new Router([
    route("any", undefined),
    route("wild", "*.example.com"),
    route("exact", "api.example.com"),
  ]);
  assert.equal(matched(router, "api.example.com", "/"), "exact");
  assert.equal(matched(router, "www.example.com", "/"), "wild");
  assert.equal(matched(router, "other.org", "/"), "any");
});

test("Router.match() ranks by host before path length", () => {
  const router = new Router([
    route("any-long", undefined, "/very/long/prefix"),
    route("wild-root", "*.example.com", "/"),
    route("exact-root", "api.example.com", "/"),
  ]);
  assert.equal(matched(router, "api.example.com", "/very/long/prefix/x"), "exact-root");
  assert.equal(matched(router, "www.example.com", "/very/long/prefix/x"), "wild-root");
});

test("Router.match() prefers the longer wildcard", () => {
  const router = new Router([route("short", "*.example.com"), route("long", "*.eu.example.com")]);
  assert.equal(matched(router, "a.eu.example.com", "/"), "long");
  assert.equal(matched(router, "a.us.example.com", "/"), "short");
});

test("Router.match() matches a wildcard to one or more labels, not to the bare domain", () => {
  const router = new Router([route("wild", "*.example.com")]);
  assert.equal(matched(router, "a.example.com", "/"), "wild");
  assert.equal(matched(router, "a.b.example.com", "/"), "wild");
  assert.equal(matched(router, "example.com", "/"), null);
  assert.equal(matched(router, "badexample.com", "/"), null);
  assert.equal(matched(router, ".example.com", "/"), null);
});

test("Router.match() matches exact hosts exactly", () => {
  const router = new Router([route("exact", "example.com")]);
  assert.equal(matched(router, "example.com", "/"), "exact");
  assert.equal(matched(router, "www.example.com", "/"), null);
  assert.equal(matched(router, "example.co", "/"), null);
  assert.equal(matched(router, "", "/"), null);
});

test("Router.match() takes the longest matching path prefix", () => {
  const router = new Router([
    route("root", undefined, "/"),
    route("api", undefined, "/api"),
    route("v1", undefined, "/api/v1"),
    route("v1-users", undefined, "/api/v1/users"),
  ]);
  assert.equal(matched(router, "h", "/"), "root");
  assert.equal(matched(router, "h", "/index.html"), "root");
  assert.equal(matched(router, "h", "/api"), "api");
  assert.equal(matched(router, "h", "/api/v2"), "api");
  assert.equal(matched(router, "h", "/api/v1"), "v1");
  assert.equal(matched(router, "h", "/api/v1/users/7"), "v1-users");
  assert.equal(matched(router, "h", "/api/v1/usersx"), "v1");
});

test("Router.match() takes the longest prefix whatever the order of the routes", () => {
  const router = new Router([route("v1", undefined, "/api/v1"), route("root", undefined, "/"), route("api", undefined, "/api")]);
  assert.equal(matched(router, "h", "/api/v1/x"), "v1");
  assert.equal(matched(router, "h", "/api/x"), "api");
});

test("Router.match() matches path prefixes on segment boundaries: /v1 is not /v1x", () => {
  const router = new Router([route("v1", undefined, "/v1")]);
  assert.equal(matched(router, "h", "/v1"), "v1");
  assert.equal(matched(router, "h", "/v1/"), "v1");
  assert.equal(matched(router, "h", "/v1/users"), "v1");
  assert.equal(matched(router, "h", "/v1x"), null);
  assert.equal(matched(router, "h", "/v10/users"), null);
  assert.equal(matched(router, "h", "/v"), null);
  assert.equal(matched(router, "h", "/V1"), null);
});

test("Router.match() falls through to a less specific host when the exact host has no route for the path", () => {
  const router = new Router([
    route("exact-api", "api.example.com", "/api"),
    route("wild-static", "*.example.com", "/static"),
    route("any", undefined, "/"),
  ]);
  assert.equal(matched(router, "api.example.com", "/api/x"), "exact-api");
  assert.equal(matched(router, "api.example.com", "/static/a.css"), "wild-static");
  assert.equal(matched(router, "api.example.com", "/other"), "any");
  assert.equal(matched(router, "www.example.com", "/api"), "any");
});

test("Router.match() gives null when nothing matches", () => {
  assert.equal(matched(new Router([]), "h", "/"), null);
  assert.equal(matched(new Router([route("a", "a.com", "/x")]), "a.com", "/y"), null);
});

test("Router.match() picks the first of two equally specific routes", () => {
  const router = new Router([route("first", "a.com", "/x"), route("second", "a.com", "/x")]);
  assert.equal(matched(router, "a.com", "/x"), "first");
});

test("Router.match() routes OPTIONS * to a catch-all route only", () => {
  const router = new Router([route("root", undefined, "/"), route("api", undefined, "/api")]);
  assert.equal(matched(router, "h", "*"), "root");
});

test("Router.match() matches an IPv6 route host against the host of a request", () => {
  // The config keeps the brackets ("[::1]"); a request's host comes from hostOf(), without them.
  const router = new Router([route("v6", "[::1]"), route("any", undefined)]);
  assert.equal(matched(router, hostOf("[::1]:8080"), "/"), "v6");
  assert.equal(matched(router, hostOf("[::2]:8080"), "/"), "any");
});

test("pathMatches() follows the segment rule", () => {
  assert.equal(pathMatches("/", "/anything"), true);
  assert.equal(pathMatches("/a", "/a"), true);
  assert.equal(pathMatches("/a", "/a/b"), true);
  assert.equal(pathMatches("/a", "/ab"), false);
  assert.equal(pathMatches("/a/", "/a/b"), true);
  assert.equal(pathMatches("/a/", "/a/"), true);
  assert.equal(pathMatches("/a/", "/a"), false);
  assert.equal(pathMatches("/a/b", "/a"), false);
  assert.equal(pathMatches("/a", "/a?x"), false);
});
