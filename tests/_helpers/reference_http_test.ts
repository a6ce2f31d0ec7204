/**
 * The reference parser the fuzz tests trust (tests/_helpers/reference_http.ts), checked against
 * hand-written messages from RFC 9112 / RFC 9110: if it were wrong, the fuzz tests would hold
 * ferry to the wrong answers.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FERRY_LENIENCIES, type RefOptions, refParseRequest, type RefRequest, refParseResponse, type RefResponse } from "./reference_http.ts";

const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const text = (b: Uint8Array) => String.fromCharCode(...b);

function req(s: string, opts: RefOptions = {}): RefRequest {
  const r = refParseRequest(bytes(s), 0, opts);
  if (!r.ok) assert.fail(`refused ${JSON.stringify(s)}: ${r.reason}`);
  return r.message;
}

function refusesRequest(s: string, opts: RefOptions = {}): void {
  const r = refParseRequest(bytes(s), 0, opts);
  assert.equal(r.ok, false, `accepted ${JSON.stringify(s)}`);
  if (!r.ok) assert.equal(r.incomplete, false, `${JSON.stringify(s)} taken for cut short: ${r.reason}`);
}

function res(s: string, method = "GET", opts: RefOptions = {}): RefResponse {
  const r = refParseResponse(bytes(s), 0, method, opts);
  if (!r.ok) assert.fail(`refused ${JSON.stringify(s)}: ${r.reason}`);
  return r.message;
}

function refusesResponse(s: string, method = "GET"): void {
  assert.equal(refParseResponse(bytes(s), 0, method).ok, false, `accepted ${JSON.stringify(s)}`);
}

test("reference: reads a request with trimmed fields, keeping names' case and order", () => {
  const m = req("\r\nGET /a?b HTTP/1.1\r\nHost: example.com\r\nX-A:\t one  two \t\r\nx-a: three\r\nEmpty:   \r\n\r\nrest");
  assert.equal(m.method, "GET");
  assert.equal(m.target, "/a?b");
  assert.equal(m.version, "HTTP/1.1");
  assert.deepEqual(m.fields, [["Host", "example.com"], ["X-A", "one  two"], ["x-a", "three"], ["Empty", ""]]);
  assert.equal(m.authority, "example.com");
  assert.equal(m.framing, "none");
  assert.equal(m.start, 2);
  assert.equal(text(bytes("\r\nGET /a?b HTTP/1.1\r\nHost: example.com\r\nX-A:\t one  two \t\r\nx-a: three\r\nEmpty:   \r\n\r\nrest").subarray(m.end)), "rest");
  assert.equal(m.keepAlive, true);
});

test("reference: decodes Content-Length and chunked bodies, extensions and trailers", () => {
  assert.equal(text(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhelloX").body), "hello");
  const m = req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n4;a=b\r\nWiki\r\n5 ; q=\"x y\"\r\npedia\r\n000\r\nX-T: 1\r\n\r\nNEXT");
  assert.equal(m.framing, "chunked");
  assert.equal(text(m.body), "Wikipedia");
  assert.deepEqual(m.trailers, [["X-T", "1"]]);
  assert.deepEqual(m.chunkLines, ["4;a=b", '5 ; q="x y"', "000"]);
});

test("reference: keep-alive follows RFC 9112 §9.3", () => {
  assert.equal(req("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, Close\r\n\r\n").keepAlive, false);
  assert.equal(req("GET / HTTP/1.0\r\n\r\n").keepAlive, false);
  assert.equal(req("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keepAlive, true);
});

test("reference: target forms (origin, absolute, asterisk) and their authority", () => {
  assert.equal(req("GET http://Example.com:80?q HTTP/1.1\r\nHost: example.COM:80\r\n\r\n").authority, "Example.com:80");
  assert.equal(req("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").target, "*");
  assert.equal(req("GET /%41//b;c=d:@!$&'()*+,=?x/?y HTTP/1.1\r\nHost: a\r\n\r\n").target, "/%41//b;c=d:@!$&'()*+,=?x/?y");
  for (const host of ["[::1]", "[2001:db8::7]:8080", "[::ffff:1.2.3.4]", "[1:2:3:4:5:6:7:8]", "a%41b", "xn--a.b:", "127.0.0.1"]) {
    req(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  }
  req("GET / HTTP/1.1\r\nHost:\r\n\r\n");
});

test("reference: refuses what RFC 9112 lets a recipient refuse", () => {
  for (
    const s of [
      "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
      "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET / HTTP/1.1\nHost: a\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
      "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n",
      "GET / HTTP/1.1\r\nHo\xe9st: a\r\n\r\n",
      "GET / HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
      "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: [::::]\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: [1::2::3]\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: [1.2.3.4]\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: [::1.2.3.256]\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a:123456\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: :80\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a,b\r\n\r\n",
      "GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n",
      "GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET * HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET /a|b HTTP/1.1\r\nHost: a\r\n\r\n",
      "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
      "G@T / HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
      "GET / http/1.1\r\nHost: a\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\xa0\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nhello!",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,\r\n\r\nhello",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,\xa05\r\n\r\nhello",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0000000000000005\r\n\r\nhello",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0000000000000005\r\nhello\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Trailer: x\r\n\r\n",
    ]
  ) refusesRequest(s);
});

test("reference: says when bytes are only cut short", () => {
  for (const s of ["GET / HTTP/1.1\r\nHost: a\r\n", "GET / HTTP/1.1\r", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhell", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"]) {
    const r = refParseRequest(bytes(s), 0);
    assert.ok(!r.ok && r.incomplete && !r.empty, JSON.stringify(s));
  }
  for (const s of ["", "\r\n", "\r\n\r\n"]) {
    const r = refParseRequest(bytes(s), 0);
    assert.ok(!r.ok && r.empty, JSON.stringify(s));
  }
});

test("reference: enforces the limits it is given", () => {
  refusesRequest("GET /abcdef HTTP/1.1\r\nHost: a\r\n\r\n", { limits: { maxLine: 19 } });
  req("GET /abcdef HTTP/1.1\r\nHost: a\r\n\r\n", { limits: { maxLine: 20 } });
  refusesRequest("GET / HTTP/1.1\r\nHost: a\r\nA: b\r\n\r\n", { limits: { maxFields: 1 } });
  const head = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  req(head, { limits: { maxHead: head.length } });
  refusesRequest(head, { limits: { maxHead: head.length - 1 } });
  const cl = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
  req(cl, { limits: { maxBody: 5 } });
  refusesRequest(cl, { limits: { maxBody: 4 } });
  // A chunk over the limit is refused as soon as its size line is read, its data not awaited.
  const chunked = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\nde";
  refusesRequest(chunked, { limits: { maxBody: 5 } });
  const r = refParseRequest(bytes(chunked), 0, { limits: { maxBody: 6 } });
  assert.ok(!r.ok && r.incomplete, "within the limit, only cut short");
});

test("reference: a control byte in a head line is refused at once, even before the head is complete", () => {
  for (const s of ["\x0bGET / HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost: a\x01", "GET /\x7f"]) refusesRequest(s);
});

test("reference: ferry's two leniencies are options", () => {
  req("GET /a?b|c^{d}%zz HTTP/1.1\r\nHost: a\r\n\r\n", FERRY_LENIENCIES);
  // Not in the path, though: backends read `\` and friends differently there.
  for (const c of ["|", "^", "{", "}", "\\", '"', "<", ">", "`"]) refusesRequest(`GET /a${c}b HTTP/1.1\r\nHost: a\r\n\r\n`, FERRY_LENIENCIES);
  refusesRequest("GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", FERRY_LENIENCIES);
  const chunked = (ext: string) => `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5${ext}\r\nhello\r\n0\r\n\r\n`;
  for (const ext of [";", " ;", ";a b", ";=x", ';a="x']) {
    refusesRequest(chunked(ext));
    req(chunked(ext), FERRY_LENIENCIES);
  }
  for (const ext of [";a", " \t;a = b", ';a="q\\"x";b', ";a=b;c"]) req(chunked(ext));
  refusesRequest(chunked(";a\x00"), FERRY_LENIENCIES);
});

test("reference: reads responses, with RFC 9112 §6.3 framing", () => {
  const ok = res("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiX");
  assert.equal(ok.status, 200);
  assert.equal(ok.reason, "OK");
  assert.equal(text(ok.body), "hi");
  assert.equal(res("HTTP/1.1 204\r\nContent-Length: nonsense\r\n\r\n").framing, "none");
  assert.equal(res("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "HEAD").framing, "none");
  assert.equal(res("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n").framing, "none");
  assert.equal(res("HTTP/1.1 100 Continue\r\n\r\n").framing, "none");
  const close = res("HTTP/1.0 200 OK\r\n\r\nuntil the end");
  assert.equal(close.framing, "close");
  assert.equal(text(close.body), "until the end");
  assert.equal(refParseResponse(bytes("HTTP/1.0 200 OK\r\n\r\nmore to come"), 0, "GET", { eof: false }).ok, false);
  assert.equal(text(res("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n").body), "hi");
  assert.equal(res("HTTP/1.1 599 \t\xe9\r\n\r\n").reason, "\t\xe9");
});

test("reference: refuses malformed responses", () => {
  for (
    const s of [
      "HTTP/1.1 20 OK\r\n\r\n",
      "HTTP/1.1 099 Low\r\n\r\n",
      "HTTP/1.1 600 High\r\n\r\n",
      "HTTP/1.1 999 High\r\n\r\n",
      "\r\nHTTP/1.1 200 OK\r\n\r\n",
      "HTTP/1.1  200 OK\r\n\r\n",
      "HTTP/1.2 200 OK\r\n\r\n",
      "HTTP/1.1 200 O\x00K\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nhi!",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhi",
      "HTTP/1.1 200 OK\r\nX: a\nY: b\r\n\r\n",
    ]
  ) refusesResponse(s);
});
