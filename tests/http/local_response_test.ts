import { test } from "node:test";
import assert from "node:assert/strict";
import type { RouteAction } from "../../lib/config/types.ts";
import { actionResponse, errorResponse, expandPlaceholders, type LocalResponse, renderResponse } from "../../lib/http/local_response.ts";
import { parseRequestHead, type RequestHead } from "../../lib/http/parse_request.ts";
import { latin1, latin1Bytes } from "../../lib/http/syntax.ts";

const enc = new TextEncoder();
/** The rendered response without its Date field (the time changes; it is tested on its own). */
const noDate = (b: Uint8Array) => latin1(b).replace(/\r\nDate: [^\r]*(?=\r\n)/, "");
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function req(...lines: string[]): RequestHead {
  return parseRequestHead(latin1Bytes(lines.map((l) => l + "\r\n").join("") + "\r\n"), { max_request_line: 8192, max_headers: 100 });
}

const GET11 = { method: "GET", version: "HTTP/1.1" };
const OK: LocalResponse = { status: 200, fields: [["Content-Type", "text/plain"]], body: enc.encode("ok\n") };

type Respond = Extract<RouteAction, { type: "respond" }>;
type Redirect = Extract<RouteAction, { type: "redirect" }>;

// --- renderResponse ------------------------------------------------------------------------------

test("renderResponse() writes status line, fields, Content-Length and body", () => {
  assert.equal(
    noDate(renderResponse(OK, GET11, true)),
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n",
  );
});

test("renderResponse() says Connection: close when the connection ends", () => {
  assert.equal(
    noDate(renderResponse(OK, GET11, false)),
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n",
  );
  assert.match(noDate(renderResponse(OK, null, false)), /\r\nConnection: close\r\n/);
});

test("renderResponse() says Connection: keep-alive to an HTTP/1.0 client it keeps", () => {
  assert.match(noDate(renderResponse(OK, { method: "GET", version: "HTTP/1.0" }, true)), /\r\nConnection: keep-alive\r\n/);
  assert.doesNotMatch(noDate(renderResponse(OK, GET11, true)), /Connection/);
});

test("renderResponse() sends no body to HEAD but the Content-Length of one", () => {
  assert.equal(
    noDate(renderResponse(OK, { method: "HEAD", version: "HTTP/1.1" }, true)),
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\n",
  );
});

test("renderResponse() sends 204 and 304 without Content-Length or body", () => {
  for (const status of [204, 304]) {
    const out = noDate(renderResponse({ status, fields: [], body: enc.encode("ignored") }, GET11, true));
    assert.equal(out, `HTTP/1.1 ${status} ${status === 204 ? "No Content" : "Not Modified"}\r\n\r\n`);
  }
});

test("renderResponse() sends Content-Length: 0 for an empty 200", () => {
  assert.equal(noDate(renderResponse({ status: 200, fields: [], body: new Uint8Array(0) }, GET11, true)), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
});

test("renderResponse() leaves the reason phrase empty for a status it has no phrase for", () => {
  assert.match(noDate(renderResponse({ status: 299, fields: [], body: new Uint8Array(0) }, GET11, true)), /^HTTP\/1\.1 299 \r\n/);
});

test("renderResponse() writes the body bytes as they are", () => {
  const body = new Uint8Array([0, 0xff, 0x80, 10]);
  const out = renderResponse({ status: 200, fields: [], body }, GET11, true);
  assert.deepEqual(out.subarray(out.length - 4), body);
});

// --- errorResponse -------------------------------------------------------------------------------

test("errorResponse() is a one-line plain-text page", () => {
  const r = errorResponse(502);
  assert.equal(r.status, 502);
  assert.deepEqual(r.fields, [["Content-Type", "text/plain; charset=utf-8"]]);
  assert.equal(dec(r.body), "502 Bad Gateway\n");
  assert.equal(dec(errorResponse(599).body), "599 Error\n");
  assert.equal(
    noDate(renderResponse(errorResponse(404), GET11, true)),
    "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n\r\n404 Not Found\n",
  );
});

// --- respond -------------------------------------------------------------------------------------

test("actionResponse() answers a respond action with its status, headers and body", () => {
  const action: Respond = { type: "respond", status: 201, headers: [["X-A", "1"], ["content-type", "application/json"]], body: "{}" };
  const r = actionResponse(action, req("GET / HTTP/1.1", "Host: a"));
  assert.equal(r.status, 201);
  assert.deepEqual(r.fields, [["X-A", "1"], ["content-type", "application/json"]]);
  assert.equal(dec(r.body), "{}");
});

test("actionResponse() gives a respond body text/plain unless a Content-Type is set", () => {
  const r = actionResponse({ type: "respond", status: 200, headers: [], body: "héllo\n" }, req("GET / HTTP/1.1", "Host: a"));
  assert.deepEqual(r.fields, [["Content-Type", "text/plain; charset=utf-8"]]);
  assert.deepEqual(r.body, enc.encode("héllo\n"));
  const empty = actionResponse({ type: "respond", status: 204, headers: [], body: "" }, req("GET / HTTP/1.1", "Host: a"));
  assert.deepEqual(empty.fields, []);
  assert.equal(empty.body.length, 0);
});

test("actionResponse() does not change the configured headers", () => {
  const action: Respond = { type: "respond", status: 200, headers: [["X", "1"]], body: "b" };
  actionResponse(action, req("GET / HTTP/1.1", "Host: a"));
  assert.deepEqual(action.headers, [["X", "1"]]);
});

// --- redirect ------------------------------------------------------------------------------------

test("actionResponse() answers a redirect with Location and a short body", () => {
  const action: Redirect = { type: "redirect", to: "https://{host}{uri}", status: 301 };
  const r = actionResponse(action, req("GET /a/b?x=1 HTTP/1.1", "Host: Example.com:8080"));
  assert.equal(r.status, 301);
  assert.deepEqual(r.fields, [["Location", "https://Example.com:8080/a/b?x=1"], ["Content-Type", "text/plain; charset=utf-8"]]);
  assert.equal(dec(r.body), "301 Moved Permanently: https://Example.com:8080/a/b?x=1\n");
  assert.equal(
    noDate(renderResponse(r, { method: "HEAD", version: "HTTP/1.1" }, true)),
    "HTTP/1.1 301 Moved Permanently\r\nLocation: https://Example.com:8080/a/b?x=1\r\nContent-Type: text/plain; charset=utf-8\r\n" +
      `Content-Length: ${r.body.length}\r\n\r\n`,
  );
});

test("expandPlaceholders() fills {host}, {path}, {query} and {uri}", () => {
  const r = req("GET /p/q?a=1&b=2 HTTP/1.1", "Host: example.com");
  assert.equal(expandPlaceholders("{host}|{path}|{query}|{uri}", r), "example.com|/p/q|?a=1&b=2|/p/q?a=1&b=2");
  const noQuery = req("GET /p HTTP/1.1", "Host: example.com");
  assert.equal(expandPlaceholders("https://new{path}{query}", noQuery), "https://new/p");
});

test("expandPlaceholders() uses the origin-form of an absolute-form target", () => {
  const r = req("GET http://example.com/x?y HTTP/1.1", "Host: example.com");
  assert.equal(expandPlaceholders("{uri}", r), "/x?y");
});

test("expandPlaceholders() repeats placeholders and leaves unknown ones and $ patterns alone", () => {
  const r = req("GET /a$&b$1 HTTP/1.1", "Host: h");
  assert.equal(expandPlaceholders("{path}{path} {foo} {HOST} $&", r), "/a$&b$1/a$&b$1 {foo} {HOST} $&");
});

test("renderResponse() sends Date as an IMF-fixdate (RFC 9110 §6.6.1)", () => {
  assert.match(latin1(renderResponse(OK, GET11, true)), /^HTTP\/1\.1 200 OK\r\nDate: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\r\n/);
});
