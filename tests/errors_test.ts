import { test } from "node:test";
import assert from "node:assert/strict";
import { asProxyError, type ErrorKind, ProxyError, type Side, statusFor } from "../lib/errors.ts";

const TABLE: [ErrorKind, number, Side][] = [
  ["bad_request", 400, "client"],
  ["uri_too_long", 414, "client"],
  ["head_too_large", 431, "client"],
  ["client_timeout", 408, "client"],
  ["client_closed", 499, "client"],
  ["not_implemented", 501, "client"],
  ["unsupported_version", 505, "client"],
  ["no_route", 404, "client"],
  ["connect_failed", 502, "upstream"],
  ["no_server", 503, "upstream"],
  ["upstream_timeout", 504, "upstream"],
  ["upstream_closed", 502, "upstream"],
  ["upstream_bad_response", 502, "upstream"],
  ["internal", 500, "internal"],
];

test("statusFor() maps every kind to its status", () => {
  for (const [kind, status] of TABLE) assert.equal(statusFor(kind), status, kind);
});

test("ProxyError carries kind, side and status", () => {
  for (const [kind, status, side] of TABLE) {
    const e = new ProxyError(kind, "m");
    assert.equal(e.kind, kind);
    assert.equal(e.side, side, kind);
    assert.equal(e.status, status, kind);
  }
});

test("ProxyError is an Error with its name, message and cause", () => {
  const cause = new Error("root");
  const e = new ProxyError("upstream_closed", `upstream "a:1" closed`, { cause });
  assert.ok(e instanceof Error);
  assert.equal(e.name, "ProxyError");
  assert.equal(e.message, `upstream "a:1" closed`);
  assert.equal(e.cause, cause);
  assert.equal(new ProxyError("internal", "x").cause, undefined);
});

test("asProxyError() passes a ProxyError through", () => {
  const e = new ProxyError("no_server", "none");
  assert.equal(asProxyError(e), e);
});

test("asProxyError() wraps anything else as an internal error, cause kept", () => {
  const err = new TypeError("boom");
  const a = asProxyError(err);
  assert.equal(a.kind, "internal");
  assert.equal(a.side, "internal");
  assert.equal(a.status, 500);
  assert.equal(a.message, "internal error: boom");
  assert.equal(a.cause, err);
  const b = asProxyError("text");
  assert.equal(b.message, "internal error: text");
  assert.equal(b.cause, "text");
  assert.equal(asProxyError(undefined).message, "internal error: undefined");
});
