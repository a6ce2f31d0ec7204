import { test } from "node:test";
import assert from "node:assert/strict";
import { addForwardingHeaders, appendVia, type ForwardInfo, VIA_NAME } from "../../lib/http/forwarded.ts";
import { type Fields, getAll } from "../../lib/http/headers.ts";

const INFO: ForwardInfo = { clientIp: "10.0.0.7", proto: "http", host: "example.com:8080", version: "1.1" };

test("addForwardingHeaders() adds X-Forwarded-For, -Proto, -Host and Via to a plain request", () => {
  assert.deepEqual(addForwardingHeaders([["Host", "example.com:8080"]], INFO), [
    ["Host", "example.com:8080"],
    ["X-Forwarded-For", "10.0.0.7"],
    ["X-Forwarded-Proto", "http"],
    ["X-Forwarded-Host", "example.com:8080"],
    ["Via", "1.1 ferry"],
  ]);
});

test("addForwardingHeaders() appends the client to an existing X-Forwarded-For", () => {
  const out = addForwardingHeaders([["X-Forwarded-For", "203.0.113.1"]], INFO);
  assert.deepEqual(getAll(out, "x-forwarded-for"), ["203.0.113.1, 10.0.0.7"]);
});

test("addForwardingHeaders() merges several X-Forwarded-For fields into one, in order, then appends", () => {
  const out = addForwardingHeaders([["X-Forwarded-For", "1.1.1.1, 2.2.2.2"], ["A", "b"], ["x-forwarded-for", "3.3.3.3"]], INFO);
  assert.deepEqual(getAll(out, "x-forwarded-for"), ["1.1.1.1, 2.2.2.2, 3.3.3.3, 10.0.0.7"]);
  assert.deepEqual(out.filter(([n]) => n.toLowerCase() === "x-forwarded-for").length, 1);
});

test("addForwardingHeaders() replaces X-Forwarded-Proto and X-Forwarded-Host", () => {
  const out = addForwardingHeaders([["X-Forwarded-Proto", "https"], ["x-forwarded-host", "evil.example"]], { ...INFO, proto: "http" });
  assert.deepEqual(getAll(out, "x-forwarded-proto"), ["http"]);
  assert.deepEqual(getAll(out, "x-forwarded-host"), ["example.com:8080"]);
});

test("addForwardingHeaders() adds no X-Forwarded-Host without a host", () => {
  const out = addForwardingHeaders([], { ...INFO, host: "" });
  assert.deepEqual(getAll(out, "x-forwarded-host"), []);
});

test("addForwardingHeaders() records an IPv6 client as is", () => {
  const out = addForwardingHeaders([], { ...INFO, clientIp: "2001:db8::1" });
  assert.deepEqual(getAll(out, "x-forwarded-for"), ["2001:db8::1"]);
});

test("addForwardingHeaders() appends this hop to an existing Via", () => {
  const out = addForwardingHeaders([["Via", "1.0 fred, 1.1 p.example.net"]], { ...INFO, version: "1.0" });
  assert.deepEqual(getAll(out, "via"), ["1.0 fred, 1.1 p.example.net, 1.0 ferry"]);
});

test("addForwardingHeaders() does not change its input", () => {
  const fields: Fields = [["X-Forwarded-For", "1.1.1.1"], ["Via", "1.1 a"]];
  const copy = structuredClone(fields);
  addForwardingHeaders(fields, INFO);
  assert.deepEqual(fields, copy);
});

test("appendVia() adds `<version> ferry`, keeping earlier hops", () => {
  assert.equal(VIA_NAME, "ferry");
  assert.deepEqual(appendVia([["Server", "x"]], "1.1"), [["Server", "x"], ["Via", "1.1 ferry"]]);
  assert.deepEqual(appendVia([["via", "1.1 a"], ["Via", "1.0 b"]], "1.0"), [["Via", "1.1 a, 1.0 b, 1.0 ferry"]]);
});
