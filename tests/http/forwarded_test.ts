import { test } from "node:test";
import assert from "node:assert/strict";
import { addForwardingHeaders, appendVia, type ForwardInfo, isForwardedValue, VIA_NAME } from "../../lib/http/forwarded.ts";
import { type Fields, getAll } from "../../lib/http/headers.ts";

const INFO: ForwardInfo = { clientIp: "10.0.0.7", proto: "http", host: "example.com:8080", version: "1.1" };

test("addForwardingHeaders() adds X-Forwarded-For, -Proto, -Host, Forwarded, X-Real-IP and Via to a plain request", () => {
  assert.deepEqual(addForwardingHeaders([["Host", "example.com:8080"]], INFO), [
    ["Host", "example.com:8080"],
    ["X-Forwarded-For", "10.0.0.7"],
    ["X-Forwarded-Proto", "http"],
    ["X-Forwarded-Host", "example.com:8080"],
    ["Forwarded", 'for=10.0.0.7;proto=http;host="example.com:8080"'],
    ["X-Real-IP", "10.0.0.7"],
    ["Via", "1.1 ferry"],
  ]);
});

test("addForwardingHeaders() writes host as a token when it is one", () => {
  const out = addForwardingHeaders([["Host", "a"]], { ...INFO, host: "a" });
  assert.deepEqual(getAll(out, "forwarded"), ["for=10.0.0.7;proto=http;host=a"]);
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

test("addForwardingHeaders() adds no X-Forwarded-Host and no Forwarded host without a host", () => {
  const out = addForwardingHeaders([], { ...INFO, host: "" });
  assert.deepEqual(getAll(out, "x-forwarded-host"), []);
  assert.deepEqual(getAll(out, "forwarded"), ["for=10.0.0.7;proto=http"]);
});

test("addForwardingHeaders() records an IPv6 client as is, and quoted in brackets in Forwarded", () => {
  const out = addForwardingHeaders([], { ...INFO, clientIp: "2001:db8::1", host: "[2001:db8::2]:8080" });
  assert.deepEqual(getAll(out, "x-forwarded-for"), ["2001:db8::1"]);
  assert.deepEqual(getAll(out, "x-real-ip"), ["2001:db8::1"]);
  assert.deepEqual(getAll(out, "forwarded"), ['for="[2001:db8::1]";proto=http;host="[2001:db8::2]:8080"']);
});

test("addForwardingHeaders() quotes a Host that would otherwise add parameters or elements of its own", () => {
  // `;` and `=` are sub-delims a reg-name may hold (RFC 3986 §3.2.2); unquoted they would forge `for=`.
  const out = addForwardingHeaders([], { ...INFO, host: "a;for=9.9.9.9" });
  assert.deepEqual(getAll(out, "forwarded"), ['for=10.0.0.7;proto=http;host="a;for=9.9.9.9"']);
  const odd = addForwardingHeaders([], { ...INFO, host: 'x"y\\z(1),b' });
  assert.deepEqual(getAll(odd, "forwarded"), ['for=10.0.0.7;proto=http;host="x\\"y\\\\z(1),b"']);
  assert.ok(isForwardedValue(getAll(odd, "forwarded")[0]));
  // A value no quoted-string can carry is left out rather than sent broken.
  const ctl = addForwardingHeaders([], { ...INFO, host: "a\x01b" });
  assert.deepEqual(getAll(ctl, "forwarded"), ["for=10.0.0.7;proto=http"]);
});

test("addForwardingHeaders() says for=unknown without a client address, and sends no X-Real-IP", () => {
  const out = addForwardingHeaders([["X-Real-IP", "9.9.9.9"]], { ...INFO, clientIp: "" });
  assert.deepEqual(getAll(out, "forwarded"), ['for=unknown;proto=http;host="example.com:8080"']);
  assert.deepEqual(getAll(out, "x-real-ip"), []);
});

test("addForwardingHeaders() appends this hop's element to a client's Forwarded, which stays only as the chain's record", () => {
  const out = addForwardingHeaders([["Forwarded", "for=9.9.9.9"], ["Host", "a"]], { ...INFO, host: "a" });
  assert.deepEqual(out.filter(([n]) => n.toLowerCase() === "forwarded"), [["Forwarded", "for=9.9.9.9, for=10.0.0.7;proto=http;host=a"]]);
});

test("addForwardingHeaders() joins several Forwarded fields into one, in order, then appends", () => {
  const out = addForwardingHeaders(
    [["Forwarded", 'for=192.0.2.43, for="[2001:db8:cafe::17]:4711"'], ["A", "b"], ["forwarded", "for=_hidden;proto=https;by=203.0.113.43"]],
    { ...INFO, host: "a" },
  );
  assert.deepEqual(out.filter(([n]) => n.toLowerCase() === "forwarded"), [
    ["Forwarded", 'for=192.0.2.43, for="[2001:db8:cafe::17]:4711", for=_hidden;proto=https;by=203.0.113.43, for=10.0.0.7;proto=http;host=a'],
  ]);
});

test("addForwardingHeaders() drops a malformed Forwarded field rather than let it swallow this hop's element", () => {
  const out = addForwardingHeaders(
    [["Forwarded", 'for="9.9.9.9'], ["Forwarded", "for=1.1.1.1"], ["Forwarded", "for=9.9.9.9;for=8.8.8.8"], ["Forwarded", "for=9.9.9.9 ;proto=x"], ["Forwarded", ""]],
    { ...INFO, host: "a" },
  );
  assert.deepEqual(getAll(out, "forwarded"), ["for=1.1.1.1, for=10.0.0.7;proto=http;host=a"]);
});

test("addForwardingHeaders() replaces a client's X-Real-IP with the one client address", () => {
  const out = addForwardingHeaders([["X-Real-IP", "9.9.9.9"], ["A", "b"], ["x-real-ip", "8.8.8.8, 7.7.7.7"]], INFO);
  assert.deepEqual(out.filter(([n]) => n.toLowerCase() === "x-real-ip"), [["X-Real-IP", "10.0.0.7"]]);
  assert.deepEqual(getAll(out, "a"), ["b"]);
});

test("addForwardingHeaders() appends this hop to an existing Via", () => {
  const out = addForwardingHeaders([["Via", "1.0 fred, 1.1 p.example.net"]], { ...INFO, version: "1.0" });
  assert.deepEqual(getAll(out, "via"), ["1.0 fred, 1.1 p.example.net, 1.0 ferry"]);
});

test("addForwardingHeaders() does not change its input", () => {
  const fields: Fields = [["X-Forwarded-For", "1.1.1.1"], ["Forwarded", "for=1.1.1.1"], ["X-Real-IP", "1.1.1.1"], ["Via", "1.1 a"]];
  const copy = structuredClone(fields);
  addForwardingHeaders(fields, INFO);
  assert.deepEqual(fields, copy);
});

test("appendVia() adds `<version> ferry`, keeping earlier hops", () => {
  assert.equal(VIA_NAME, "ferry");
  assert.deepEqual(appendVia([["Server", "x"]], "1.1"), [["Server", "x"], ["Via", "1.1 ferry"]]);
  assert.deepEqual(appendVia([["via", "1.1 a"], ["Via", "1.0 b"]], "1.0"), [["Via", "1.1 a, 1.0 b, 1.0 ferry"]]);
});

test("isForwardedValue() accepts the RFC 7239 grammar and refuses what would blur element boundaries", () => {
  for (
    const ok of [
      "for=192.0.2.60;proto=http;by=203.0.113.43",
      'for=192.0.2.43, for="[2001:db8:cafe::17]:4711"',
      'For="_gazonk"',
      "for=unknown",
      'host="a\\"b"',
      "for=a,,for=b",
      "for=a ,\tfor=b",
      ";for=a;",
    ]
  ) assert.equal(isForwardedValue(ok), true, ok);
  for (
    const bad of [
      'for="9.9.9.9',
      "for=[2001:db8::1]",
      "for=a:1",
      "for",
      "for=",
      "=a",
      "for =a",
      "for=a ;proto=b",
      "for=a;For=b",
      'for="a\\"',
      "for=a b",
    ]
  ) assert.equal(isForwardedValue(bad), false, bad);
});
