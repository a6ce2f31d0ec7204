import { test } from "node:test";
import assert from "node:assert/strict";
import { getAll } from "../../lib/http/headers.ts";
import { parseRequestHead, type RequestHead } from "../../lib/http/parse_request.ts";
import { type PrepareInfo, prepareRequestFields, prepareRequestHead } from "../../lib/http/prepare_request.ts";
import { latin1, latin1Bytes } from "../../lib/http/syntax.ts";

const INFO: PrepareInfo = { clientIp: "192.0.2.9", proto: "http", fallbackHost: "127.0.0.1:9001" };

function req(...lines: string[]): RequestHead {
  return parseRequestHead(latin1Bytes(lines.map((l) => l + "\r\n").join("") + "\r\n"), { max_request_line: 8192, max_headers: 100 });
}

function prepared(...lines: string[]): string {
  return latin1(prepareRequestHead(req(...lines), INFO));
}

test("prepareRequestHead() forwards a plain GET with the forwarding fields added", () => {
  assert.equal(
    prepared("GET /a/b?c=d HTTP/1.1", "Host: example.com", "Accept: */*"),
    "GET /a/b?c=d HTTP/1.1\r\n" +
      "Host: example.com\r\n" +
      "Accept: */*\r\n" +
      "X-Forwarded-For: 192.0.2.9\r\n" +
      "X-Forwarded-Proto: http\r\n" +
      "X-Forwarded-Host: example.com\r\n" +
      "Forwarded: for=192.0.2.9;proto=http;host=example.com\r\n" +
      "X-Real-IP: 192.0.2.9\r\n" +
      "Via: 1.1 ferry\r\n" +
      "\r\n",
  );
});

test("prepareRequestHead() strips hop-by-hop fields and those named in Connection", () => {
  const head = prepared(
    "GET / HTTP/1.1",
    "Host: a",
    "Connection: keep-alive, X-Hop",
    "Keep-Alive: timeout=5",
    "X-Hop: 1",
    "Proxy-Authorization: Basic eA==",
    "Proxy-Connection: keep-alive",
    "X-End: 2",
  );
  assert.doesNotMatch(head, /connection|keep-alive|x-hop|proxy-/i);
  assert.match(head, /\r\nX-End: 2\r\n/);
});

test("prepareRequestHead() keeps TE: trailers and Expect", () => {
  const head = prepared("POST / HTTP/1.1", "Host: a", "TE: trailers", "Expect: 100-continue", "Content-Length: 3");
  assert.match(head, /\r\nTE: trailers\r\n/);
  assert.match(head, /\r\nExpect: 100-continue\r\n/);
});

test("prepareRequestHead() sends an absolute-form target in origin-form, Host as received", () => {
  assert.match(
    prepared("GET http://Example.com:8080/p%20q?x=%2F HTTP/1.1", "Host: example.com:8080"),
    /^GET \/p%20q\?x=%2F HTTP\/1\.1\r\nHost: example\.com:8080\r\n/,
  );
});

test("prepareRequestHead() sends one normalised Content-Length for identical duplicates", () => {
  const f = prepareRequestFields(req("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "content-length: 5, 5"), INFO);
  assert.deepEqual(f.filter(([n]) => n.toLowerCase() === "content-length"), [["Content-Length", "5"]]);
});

test("prepareRequestHead() sends Transfer-Encoding: chunked for a chunked body, in its own words", () => {
  const f = prepareRequestFields(req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: Chunked"), INFO);
  assert.deepEqual(f.filter(([n]) => /^(transfer-encoding|content-length)$/i.test(n)), [["Transfer-Encoding", "chunked"]]);
});

test("prepareRequestHead() keeps Content-Length: 0 and adds none without a body", () => {
  const zero = prepareRequestFields(req("POST / HTTP/1.1", "Host: a", "Content-Length: 0"), INFO);
  assert.deepEqual(getAll(zero, "content-length"), ["0"]);
  const none = prepareRequestFields(req("GET / HTTP/1.1", "Host: a"), INFO);
  assert.deepEqual(getAll(none, "content-length"), []);
  assert.deepEqual(getAll(none, "transfer-encoding"), []);
});

test("prepareRequestHead() sends an HTTP/1.0 request as HTTP/1.1 with a Host", () => {
  const head = prepared("GET /x HTTP/1.0", "Connection: keep-alive");
  assert.equal(
    head,
    "GET /x HTTP/1.1\r\n" +
      "Host: 127.0.0.1:9001\r\n" +
      "X-Forwarded-For: 192.0.2.9\r\n" +
      "X-Forwarded-Proto: http\r\n" +
      "Forwarded: for=192.0.2.9;proto=http\r\n" +
      "X-Real-IP: 192.0.2.9\r\n" +
      "Via: 1.0 ferry\r\n" +
      "\r\n",
  );
});

test("prepareRequestHead() uses the absolute-form authority as Host for an HTTP/1.0 request without one", () => {
  const f = prepareRequestFields(req("GET http://example.org/y HTTP/1.0"), INFO);
  assert.deepEqual(getAll(f, "host"), ["example.org"]);
  assert.deepEqual(getAll(f, "x-forwarded-host"), ["example.org"]);
  assert.deepEqual(getAll(f, "forwarded"), ["for=192.0.2.9;proto=http;host=example.org"]);
});

test("prepareRequestHead() asks for the client's upgrade on its own hop", () => {
  const f = prepareRequestFields(req("GET /ws HTTP/1.1", "Host: a", "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Key: k"), INFO);
  assert.deepEqual(f.slice(-2), [["Connection", "upgrade"], ["Upgrade", "websocket"]]);
  assert.deepEqual(getAll(f, "sec-websocket-key"), ["k"]);
  assert.equal(getAll(f, "upgrade").length, 1);
  assert.equal(getAll(f, "connection").length, 1);
});

test("prepareRequestHead() appends the client to X-Forwarded-For and this hop to Via", () => {
  const f = prepareRequestFields(req("GET / HTTP/1.1", "Host: a", "X-Forwarded-For: 198.51.100.1", "Via: 1.1 edge"), INFO);
  assert.deepEqual(getAll(f, "x-forwarded-for"), ["198.51.100.1, 192.0.2.9"]);
  assert.deepEqual(getAll(f, "via"), ["1.1 edge, 1.1 ferry"]);
});

test("prepareRequestHead() appends this hop to a client's Forwarded and replaces its X-Real-IP", () => {
  assert.equal(
    prepared("GET / HTTP/1.1", "Host: a", "Forwarded: for=9.9.9.9", "X-Real-IP: 9.9.9.9"),
    "GET / HTTP/1.1\r\n" +
      "Host: a\r\n" +
      "X-Forwarded-For: 192.0.2.9\r\n" +
      "X-Forwarded-Proto: http\r\n" +
      "X-Forwarded-Host: a\r\n" +
      "Forwarded: for=9.9.9.9, for=192.0.2.9;proto=http;host=a\r\n" +
      "X-Real-IP: 192.0.2.9\r\n" +
      "Via: 1.1 ferry\r\n" +
      "\r\n",
  );
});

test("prepareRequestHead() quotes the authority of an absolute-form target in Forwarded", () => {
  const f = prepareRequestFields(req("GET http://[2001:db8::5]:8080/ HTTP/1.1", "Host: [2001:db8::5]:8080"), { ...INFO, clientIp: "2001:db8::9" });
  assert.deepEqual(getAll(f, "forwarded"), ['for="[2001:db8::9]";proto=http;host="[2001:db8::5]:8080"']);
  assert.deepEqual(getAll(f, "x-real-ip"), ["2001:db8::9"]);
});

test("prepareRequestFields() does not change the parsed request", () => {
  const r = req("GET / HTTP/1.1", "Host: a", "Connection: x", "X: 1");
  const copy = structuredClone(r.fields);
  prepareRequestFields(r, INFO);
  assert.deepEqual(r.fields, copy);
});
