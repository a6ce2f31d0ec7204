import { test } from "node:test";
import assert from "node:assert/strict";
import { hostOf, parseRequestHead, type RequestHead, type RequestLimits } from "../../lib/http/parse_request.ts";
import { latin1Bytes } from "../../lib/http/syntax.ts";
import { type Expected, throwsProxyError } from "../_helpers/proxy_error.ts";

const LIMITS: RequestLimits = { max_request_line: 8192, max_headers: 100 };

/** A head from its lines: CRLF after each, then the blank line. Chars are bytes (latin1). */
function head(...lines: string[]): Uint8Array {
return latin1Bytes(lines.map((l) => l + "\r\n").join("") + "\r\n");
}

function parse(...lines: string[]): RequestHead {
return parseRequestHead(head(...lines), LIMITS);
}

const BAD: Expected = { kind: "bad_request", status: 400, side: "client" };

function refuses(lines: string[], want: Expected = BAD): void {
throwsProxyError(() => parse(...lines), want, JSON.stringify(lines));
}

test("parseRequestHead() reads a plain GET", () => {
  const r = parse("GET /a/b?c=d HTTP/1.1", "Host: example.com", "Accept: */*");
  assert.equal(r.method, "GET");
  assert.equal(r.target, "/a/b?c=d");
  assert.equal(r.forwardTarget, "/a/b?c=d");
  assert.equal(r.path, "/a/b");
  assert.equal(r.version, "HTTP/1.1");
  assert.deepEqual(r.fields, [["Host", "example.com"], ["Accept", "*/*"]]);
  assert.equal(r.authority, "example.com");
  assert.equal(r.host, "example.com");
  assert.deepEqual(r.body, { kind: "none" });
  assert.equal(r.keepAlive, true);
  assert.equal(r.upgrade, null);
  assert.equal(r.expectContinue, false);
});

test("parseRequestHead() keeps field names' case, order and repeated fields, and trims OWS", () => {
  const r = parse("GET / HTTP/1.1", "host: a", "X-Thing:\t one  two \t", "x-thing: three", "Empty:");
  assert.deepEqual(r.fields, [["host", "a"], ["X-Thing", "one  two"], ["x-thing", "three"], ["Empty", ""]]);
});

test("parseRequestHead() keeps obs-text bytes in values byte for byte", () => {
  const r = parse("GET / HTTP/1.1", "Host: a", "X-Name: caf\xe9 \x80\x9f\xff");
  assert.equal(r.fields[1][1], "caf\xe9 \x80\x9f\xff");
});

test("parseRequestHead() derives the routing host from Host: lowercased, no port, no trailing dot", () => {
  assert.equal(parse("GET / HTTP/1.1", "Host: Example.COM:8080").host, "example.com");
  assert.equal(parse("GET / HTTP/1.1", "Host: Example.COM:8080").authority, "Example.COM:8080");
  assert.equal(parse("GET / HTTP/1.1", "Host: example.com.").host, "example.com");
  assert.equal(parse("GET / HTTP/1.1", "Host: [::1]:8080").host, "::1");
});

// --- request line (RFC 9112 §3) ---------------------------------------------------------

test("parseRequestHead() refuses a request line without exactly one space between its parts", () => {
  for (
    const line of [
      "GET  / HTTP/1.1",
      "GET /  HTTP/1.1",
      " GET / HTTP/1.1",
      "GET / HTTP/1.1 ",
      "GET /HTTP/1.1",
      "GET\t/\tHTTP/1.1",
      "GET / HTTP/1.1 extra",
      "GET",
      "",
    ]
  ) {
    refuses([line, "Host: a"]);
  }
});

test("parseRequestHead() refuses an invalid method token", () => {
  for (const m of ["G(T", "GE\"T", "G\x00T", "G\xe9T"]) refuses([`${m} / HTTP/1.1`, "Host: a"]);
});

test("parseRequestHead() keeps an unknown but valid method as sent", () => {
  assert.equal(parse("PROPFIND /x HTTP/1.1", "Host: a").method, "PROPFIND");
});

test("parseRequestHead() refuses control bytes or non-ASCII in the request target", () => {
  for (const t of ["/a\x7fb", "/a\x00b", "/caf\xe9", "/a\x01"]) refuses([`GET ${t} HTTP/1.1`, "Host: a"]);
});

test("parseRequestHead() answers HTTP/2.0 and other well-formed versions with 505", () => {
  for (const v of ["HTTP/2.0", "HTTP/3.0", "HTTP/0.9"]) {
    refuses([`GET / ${v}`, "Host: a"], { kind: "unsupported_version", status: 505, side: "client" });
  }
});

test("parseRequestHead() refuses a malformed HTTP version with 400", () => {
  for (const v of ["http/1.1", "HTTP/1.1x", "HTTP/1", "HTTP/11", "HTTP/1.10", "HTTP /1.1", "HTTPS/1.1"]) {
    refuses([`GET / ${v}`, "Host: a"]);
  }
});

test("parseRequestHead() answers CONNECT with 501", () => {
  refuses(["CONNECT example.com:443 HTTP/1.1", "Host: example.com:443"], { kind: "not_implemented", status: 501, side: "client" });
});

test("parseRequestHead() accepts the asterisk-form only with OPTIONS", () => {
  const r = parse("OPTIONS * HTTP/1.1", "Host: a");
  assert.equal(r.forwardTarget, "*");
  assert.equal(r.path, "*");
  for (const m of ["GET", "HEAD", "POST"]) refuses([`${m} * HTTP/1.1`, "Host: a"]);
});

test("parseRequestHead() refuses a target that is neither origin-, absolute- nor asterisk-form", () => {
  for (const t of ["a/b", "example.com:80", "ftp://example.com/", "http:/x", "**", "?a"]) {
    refuses([`GET ${t} HTTP/1.1`, "Host: a"]);
  }
});

test("parseRequestHead() answers a request line over max_request_line with 414", () => {
  const limits = { max_request_line: 20, max_headers: 100 };
  const ok = "GET /0123 HTTP/1.1"; // 18 bytes
  assert.equal(parseRequestHead(head(ok, "Host: a"), limits).target, "/0123");
  const exact = "GET /012345 HTTP/1.1"; // 20 bytes
  assert.equal(parseRequestHead(head(exact, "Host: a"), limits).target, "/012345");
  throwsProxyError(
    () => parseRequestHead(head("GET /0123456 HTTP/1.1", "Host: a"), limits),
    { kind: "uri_too_long", status: 414, side: "client" },
  );
});

// --- absolute-form (RFC 9112 §3.2.2) ------------------------------------------------------

test("parseRequestHead() converts an absolute-form target to origin-form, path and query byte for byte", () => {
  const r = parse("GET http://example.com:8080/a%2Fb/./c;p=1/..?q=%zz&r=a+b&&s HTTP/1.1", "Host: example.com:8080");
  assert.equal(r.forwardTarget, "/a%2Fb/./c;p=1/..?q=%zz&r=a+b&&s");
  assert.equal(r.path, "/a%2Fb/./c;p=1/..");
  assert.equal(r.target, "http://example.com:8080/a%2Fb/./c;p=1/..?q=%zz&r=a+b&&s");
  assert.equal(r.authority, "example.com:8080");
  assert.equal(r.host, "example.com");
});

test("parseRequestHead() gives an absolute-form target with an empty path the path /", () => {
  assert.equal(parse("GET http://example.com HTTP/1.1", "Host: example.com").forwardTarget, "/");
  const r = parse("GET https://example.com?x=1 HTTP/1.1", "Host: example.com");
  assert.equal(r.forwardTarget, "/?x=1");
  assert.equal(r.path, "/");
});

test("parseRequestHead() accepts the scheme in any case and a Host that differs only in case", () => {
  const r = parse("GET HTTP://Example.com/x HTTP/1.1", "Host: EXAMPLE.COM");
  assert.equal(r.forwardTarget, "/x");
  assert.equal(r.host, "example.com");
});

test("parseRequestHead() refuses an absolute-form target whose authority disagrees with Host", () => {
  refuses(["GET http://example.com/ HTTP/1.1", "Host: other.com"]);
  refuses(["GET http://example.com/ HTTP/1.1", "Host: example.com:8080"]);
  refuses(["GET http://example.com:8080/ HTTP/1.1", "Host: example.com"]);
  refuses(["GET http://example.com/ HTTP/1.1", "Host:"]);
});

test("parseRequestHead() takes the authority of an absolute-form HTTP/1.0 request without Host", () => {
  const r = parse("GET http://Example.com:81/p?q HTTP/1.0");
  assert.equal(r.authority, "Example.com:81");
  assert.equal(r.host, "example.com");
  assert.equal(r.forwardTarget, "/p?q");
});

test("parseRequestHead() refuses userinfo or an invalid authority in an absolute-form target", () => {
  for (const t of ["http://user@example.com/", "http://user:pw@example.com/", "http:///x", "http://exa\"mple.com/", "http://a:1:2/"]) {
    refuses([`GET ${t} HTTP/1.0`]);
  }
});

// --- Host (RFC 9112 §3.2) -------------------------------------------------------------

test("parseRequestHead() refuses an HTTP/1.1 request without Host", () => {
  refuses(["GET / HTTP/1.1"]);
  refuses(["GET / HTTP/1.1", "X-Host: a"]);
});

test("parseRequestHead() accepts an HTTP/1.0 request without Host", () => {
  const r = parse("GET / HTTP/1.0");
  assert.equal(r.authority, "");
  assert.equal(r.host, "");
});

test("parseRequestHead() accepts an empty Host", () => {
  const r = parse("GET / HTTP/1.1", "Host:");
  assert.equal(r.authority, "");
});

test("parseRequestHead() refuses more than one Host, even identical ones", () => {
  refuses(["GET / HTTP/1.1", "Host: a", "Host: b"]);
  refuses(["GET / HTTP/1.1", "Host: a", "host: a"]);
  refuses(["GET / HTTP/1.0", "Host: a", "Host: a"]);
});

test("parseRequestHead() refuses an invalid Host value", () => {
  for (const h of ["a b", "user@a", "a/b", "a:1:2", "a:123456", "[::1", "a?b", "a#b"]) {
    refuses(["GET / HTTP/1.1", `Host: ${h}`]);
  }
});

// Found by tests/fuzz/parse_request_fuzz_test.ts: these went through to the backend.
test("parseRequestHead() refuses a Host with broken pct-encoding or a bracketed literal that is no IPv6 address (RFC 9112 §3.2, RFC 3986 §3.2.2)", () => {
  for (const h of ["a%zz", "a%4", "a%", "%", "[::::]", "[1::2::3]", "[1.2.3.4]", "[1:2:3:4:5:6:7]", "[1:2:3:4:5:6:7:8:9]", "[::1.2.3.256]", "[1.2.3.4::]", "[:1::2]", "[1::2:]"]) {
    refuses(["GET / HTTP/1.1", `Host: ${h}`]);
    refuses([`GET http://${h}/ HTTP/1.1`, `Host: ${h}`]);
  }
  for (const h of ["a%41b", "%41", "[::]", "[::1]:80", "[1:2:3:4:5:6:7:8]", "[1:2:3:4:5:6::]", "[::ffff:1.2.3.4]", "[1:2:3:4:5:6:1.2.3.4]", "[2001:DB8::7]"]) {
    assert.equal(parse("GET / HTTP/1.1", `Host: ${h}`).authority, h);
  }
});

// --- field lines (RFC 9112 §5, RFC 9110 §5.5) -------------------------------------------

test("parseRequestHead() refuses whitespace between a field name and its colon", () => {
  refuses(["GET / HTTP/1.1", "Host : a"]);
  refuses(["GET / HTTP/1.1", "Host: a", "Content-Length\t: 5"]);
  refuses(["GET / HTTP/1.1", "Host: a", "Transfer-Encoding : chunked"]);
});

test("parseRequestHead() refuses obs-fold", () => {
  refuses(["GET / HTTP/1.1", "Host: a", "X-A: one", " two"]);
  refuses(["GET / HTTP/1.1", "Host: a", "X-A: one", "\ttwo"]);
});

test("parseRequestHead() refuses a bare CR anywhere in the head", () => {
  for (
    const raw of [
      "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\r\n\r\n",
      "GET / HTTP/1.1\rHost: a\r\n\r\n",
      "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\n\rX: b\r\n\r\n",
    ]
  ) {
    throwsProxyError(() => parseRequestHead(latin1Bytes(raw), LIMITS), BAD, JSON.stringify(raw));
  }
});

test("parseRequestHead() refuses a bare LF anywhere in the head", () => {
  for (
    const raw of [
      "GET / HTTP/1.1\nHost: a\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX: a\nb\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\n\n\r\n\r\n",
    ]
  ) {
    throwsProxyError(() => parseRequestHead(latin1Bytes(raw), LIMITS), BAD, JSON.stringify(raw));
  }
});

test("parseRequestHead() refuses NUL and other control bytes in a field value", () => {
  for (const c of ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f"]) {
    refuses(["GET / HTTP/1.1", "Host: a", `X-A: a${c}b`]);
  }
});

test("parseRequestHead() accepts HTAB inside a field value", () => {
  assert.equal(parse("GET / HTTP/1.1", "Host: a", "X-A: a\tb").fields[1][1], "a\tb");
});

test("parseRequestHead() refuses invalid characters in a field name", () => {
  for (const name of ["X A", "X@A", "X(A)", "X/A", "X[A]", "X=A", "X\"A", "X\xe9", "X\x00A", "X;A", "X,A", "X{A}"]) {
    refuses(["GET / HTTP/1.1", "Host: a", `${name}: v`]);
  }
});

test("parseRequestHead() refuses a field line without a name or without a colon", () => {
  refuses(["GET / HTTP/1.1", "Host: a", ": v"]);
  refuses(["GET / HTTP/1.1", "Host: a", "NoColon"]);
});

test("parseRequestHead() answers more than max_headers fields with 431", () => {
  const limits = { max_request_line: 8192, max_headers: 3 };
  const three = parseRequestHead(head("GET / HTTP/1.1", "Host: a", "A: 1", "B: 2"), limits);
  assert.equal(three.fields.length, 3);
  throwsProxyError(
    () => parseRequestHead(head("GET / HTTP/1.1", "Host: a", "A: 1", "B: 2", "C: 3"), limits),
    { kind: "head_too_large", status: 431, side: "client" },
  );
});

// --- body framing (RFC 9112 §6) ---------------------------------------------------------

test("parseRequestHead() refuses Content-Length with Transfer-Encoding", () => {
  refuses(["POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Transfer-Encoding: chunked"]);
  refuses(["POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "Content-Length: 5"]);
  refuses(["POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "Content-Length: 0"]);
});

test("parseRequestHead() refuses differing Content-Length values", () => {
  refuses(["POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Content-Length: 6"]);
  refuses(["POST / HTTP/1.1", "Host: a", "Content-Length: 5, 6"]);
  refuses(["POST / HTTP/1.1", "Host: a", "Content-Length: 5", "content-length: 5, 0"]);
});

test("parseRequestHead() refuses a malformed Content-Length", () => {
  for (const v of ["+5", "-5", "5a", "", "1e3", "0x5", "5.0", "5 5", "five", "5,", ",5", "\xb5"]) {
    refuses(["POST / HTTP/1.1", "Host: a", `Content-Length: ${v}`]);
  }
});

test("parseRequestHead() refuses a Content-Length too large to be exact", () => {
  refuses(["POST / HTTP/1.1", "Host: a", "Content-Length: 9999999999999999"]);
  refuses(["POST / HTTP/1.1", "Host: a", "Content-Length: 99999999999999999999999"]);
});

test("parseRequestHead() accepts identical duplicate Content-Length values", () => {
  assert.deepEqual(parse("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Content-Length: 5").body, { kind: "length", length: 5 });
  assert.deepEqual(parse("POST / HTTP/1.1", "Host: a", "Content-Length: 5, 5").body, { kind: "length", length: 5 });
  assert.deepEqual(parse("POST / HTTP/1.1", "Host: a", "Content-Length: 005").body, { kind: "length", length: 5 });
});

test("parseRequestHead() frames a body by Content-Length, and Content-Length: 0 as none", () => {
  assert.deepEqual(parse("POST / HTTP/1.1", "Host: a", "Content-Length: 123456789012345").body, { kind: "length", length: 123456789012345 });
  assert.deepEqual(parse("POST / HTTP/1.1", "Host: a", "Content-Length: 0").body, { kind: "none" });
  assert.deepEqual(parse("POST / HTTP/1.0", "Content-Length: 3").body, { kind: "length", length: 3 });
});

test("parseRequestHead() frames Transfer-Encoding: chunked, in any case", () => {
  for (const v of ["chunked", "Chunked", "CHUNKED", " chunked "]) {
    assert.deepEqual(parse("POST / HTTP/1.1", "Host: a", `Transfer-Encoding: ${v}`).body, { kind: "chunked" });
  }
});

test("parseRequestHead() answers a final coding other than chunked with 400", () => {
  for (const v of ["gzip", "chunked, gzip", "identity", ""]) {
    refuses(["POST / HTTP/1.1", "Host: a", `Transfer-Encoding: ${v}`]);
  }
});

test("parseRequestHead() answers a coding before chunked with 501", () => {
  const want: Expected = { kind: "not_implemented", status: 501, side: "client" };
  refuses(["POST / HTTP/1.1", "Host: a", "Transfer-Encoding: gzip, chunked"], want);
  // Two field lines are one list (RFC 9110 §5.3).
  refuses(["POST / HTTP/1.1", "Host: a", "Transfer-Encoding: gzip", "Transfer-Encoding: chunked"], want);
});

test("parseRequestHead() refuses Transfer-Encoding in an HTTP/1.0 request", () => {
  refuses(["POST / HTTP/1.0", "Transfer-Encoding: chunked"]);
  refuses(["POST / HTTP/1.0", "Host: a", "Transfer-Encoding: chunked"]);
});

// --- connection management (RFC 9112 §9.3) -----------------------------------------------

test("parseRequestHead() keeps an HTTP/1.1 connection alive unless Connection has close", () => {
  assert.equal(parse("GET / HTTP/1.1", "Host: a").keepAlive, true);
  assert.equal(parse("GET / HTTP/1.1", "Host: a", "Connection: keep-alive").keepAlive, true);
  assert.equal(parse("GET / HTTP/1.1", "Host: a", "Connection: close").keepAlive, false);
  assert.equal(parse("GET / HTTP/1.1", "Host: a", "Connection: Keep-Alive, CLOSE").keepAlive, false);
  assert.equal(parse("GET / HTTP/1.1", "Host: a", "Connection: x-foo", "Connection: ,close,").keepAlive, false);
  assert.equal(parse("GET / HTTP/1.1", "Host: a", "Connection: closed").keepAlive, true);
});

test("parseRequestHead() keeps an HTTP/1.0 connection alive only with Connection: keep-alive", () => {
  assert.equal(parse("GET / HTTP/1.0").keepAlive, false);
  assert.equal(parse("GET / HTTP/1.0", "Connection: keep-alive").keepAlive, true);
  assert.equal(parse("GET / HTTP/1.0", "Connection: Keep-Alive").keepAlive, true);
  assert.equal(parse("GET / HTTP/1.0", "Connection: x-foo, keep-alive").keepAlive, true);
  assert.equal(parse("GET / HTTP/1.0", "Connection: keep-alive, close").keepAlive, false);
  assert.equal(parse("GET / HTTP/1.0", "Keep-Alive: timeout=5").keepAlive, false);
});

test("parseRequestHead() detects an upgrade only with Connection: upgrade and Upgrade on HTTP/1.1", () => {
  assert.equal(parse("GET / HTTP/1.1", "Host: a", "Connection: Upgrade", "Upgrade: websocket").upgrade, "websocket");
  assert.equal(parse("GET / HTTP/1.1", "Host: a", "Connection: keep-alive, upgrade", "Upgrade: foo/2, websocket").upgrade, "foo/2, websocket");
  // h2c is never asked for on ferry's hop (h2c smuggling): the rest of the list stays.
  assert.equal(parse("GET / HTTP/1.1", "Host: a", "Connection: keep-alive, upgrade", "Upgrade: h2c, websocket").upgrade, "websocket");
  assert.equal(parse("GET / HTTP/1.1", "Host: a", "Connection: Upgrade, HTTP2-Settings", "Upgrade: H2C", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA").upgrade, null);
  assert.equal(parse("GET / HTTP/1.1", "Host: a", "Upgrade: websocket").upgrade, null);
  assert.equal(parse("GET / HTTP/1.1", "Host: a", "Connection: upgrade").upgrade, null);
  // RFC 9110 §7.8: Upgrade in an HTTP/1.0 request is ignored.
  assert.equal(parse("GET / HTTP/1.0", "Connection: upgrade", "Upgrade: websocket").upgrade, null);
});

test("parseRequestHead() notes Expect: 100-continue on HTTP/1.1 only", () => {
  assert.equal(parse("POST / HTTP/1.1", "Host: a", "Content-Length: 1", "Expect: 100-continue").expectContinue, true);
  assert.equal(parse("POST / HTTP/1.1", "Host: a", "Content-Length: 1", "Expect: 100-Continue").expectContinue, true);
  assert.equal(parse("POST / HTTP/1.1", "Host: a", "Content-Length: 1", "Expect: something-else").expectContinue, false);
  // RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored.
  assert.equal(parse("POST / HTTP/1.0", "Content-Length: 1", "Expect: 100-continue").expectContinue, false);
});

test("hostOf() drops the port, the IPv6 brackets and a trailing dot, and lowercases", () => {
  assert.equal(hostOf("Example.com"), "example.com");
  assert.equal(hostOf("example.com:8080"), "example.com");
  assert.equal(hostOf("example.com.:80"), "example.com");
  assert.equal(hostOf("[2001:DB8::1]:443"), "2001:db8::1");
  assert.equal(hostOf("[::1]"), "::1");
  assert.equal(hostOf("127.0.0.1:80"), "127.0.0.1");
  assert.equal(hostOf(""), "");
});

// --- issue 4, hardening: every refused form of the list, as raw bytes ---------------------

/** A raw head, parsed as it would come off the wire (the reader hands over the head alone). */
function parseRaw(raw: string): RequestHead {
  assert.equal(raw.indexOf("\r\n\r\n"), raw.length - 4, `not a head alone: ${JSON.stringify(raw)}`);
  return parseRequestHead(latin1Bytes(raw), LIMITS);
}

test("parseRequestHead() refuses every malformed or conflicting Content-Length of the hardening list", () => {
  for (const v of ["+5", "-1", "5 5", "0x5", "", " ", "1234567890123456", "5,6", "5, 6", "5,", "5\xa0", "\xa05", "5;q=1"]) {
    const raw = `POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: ${v}\r\n\r\n`;
    throwsProxyError(() => parseRaw(raw), BAD, JSON.stringify(raw));
  }
  throwsProxyError(() => parseRaw("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"), BAD);
  throwsProxyError(() => parseRaw("POST /x HTTP/1.0\r\nContent-Length: 5\r\ncontent-length: 50\r\n\r\n"), BAD);
});

test("parseRequestHead() refuses Content-Length with Transfer-Encoding in either order and any spelling", () => {
  for (
    const raw of [
      "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
      "POST /x HTTP/1.1\r\nHost: a\r\ncontent-length: 0\r\ntransfer-encoding: CHUNKED\r\n\r\n",
      "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: gzip\r\n\r\n",
      "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding:\r\n\r\n",
    ]
  ) {
    throwsProxyError(() => parseRaw(raw), BAD, JSON.stringify(raw));
  }
});

test("parseRequestHead() refuses a Transfer-Encoding other than one final chunked with 400", () => {
  for (
    const lines of [
      ["Transfer-Encoding: gzip"],
      ["Transfer-Encoding: chunked, gzip"],
      ["Transfer-Encoding: chunked;q=1"],
      ["Transfer-Encoding: identity"],
      ["Transfer-Encoding: chunked, chunked"],
      ["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"],
      ["Transfer-Encoding: chunked\xa0"],
      ['Transfer-Encoding: "chunked"'],
      ["Transfer-Encoding: chunked, identity"],
    ]
  ) {
    refuses(["POST /x HTTP/1.1", "Host: a", ...lines]);
  }
});

test("parseRequestHead() refuses any Transfer-Encoding in an HTTP/1.0 request, even a valid one", () => {
  for (const v of ["chunked", "gzip", "gzip, chunked", "identity", "chunked, chunked"]) {
    refuses(["POST /x HTTP/1.0", "Host: a", `Transfer-Encoding: ${v}`]);
    refuses(["POST /x HTTP/1.0", `Transfer-Encoding: ${v}`]);
  }
});

test("parseRequestHead() refuses a comma in Host or in an absolute-form authority", () => {
  refuses(["GET / HTTP/1.1", "Host: a,b"]);
  refuses(["GET / HTTP/1.1", "Host: a,"]);
  refuses(["GET http://a,b/ HTTP/1.1", "Host: a,b"]);
  refuses(["GET http://a,b/ HTTP/1.0"]);
  // Other sub-delims of reg-name stay accepted (RFC 3986 §3.2.2).
  assert.equal(parse("GET / HTTP/1.1", "Host: a!b$c").host, "a!b$c");
});

test("parseRequestHead() refuses a missing, repeated or disagreeing Host, as raw bytes", () => {
  for (
    const raw of [
      "GET /x HTTP/1.1\r\n\r\n",
      "GET /x HTTP/1.1\r\nX-Host: a\r\n\r\n",
      "GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
      "GET /x HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
      "GET /x HTTP/1.1\r\nHost: a\r\nHOST: a\r\n\r\n",
      "GET /x HTTP/1.1\r\nHost: a\r\nHost:\r\n\r\n",
      "GET http://a/x HTTP/1.1\r\n\r\n",
      "GET http://a/x HTTP/1.1\r\nHost: b\r\n\r\n",
      "GET http://a:81/x HTTP/1.1\r\nHost: a:82\r\n\r\n",
      "GET http://a/x HTTP/1.0\r\nHost: b\r\n\r\n",
    ]
  ) {
    throwsProxyError(() => parseRaw(raw), BAD, JSON.stringify(raw));
  }
});

test("parseRequestHead() refuses a request line with wrong spacing, a missing or misspelt version", () => {
  for (
    const line of [
      "GET  /x HTTP/1.1",
      "GET /x  HTTP/1.1",
      " GET /x HTTP/1.1",
      "GET /x HTTP/1.1 ",
      "GET\t/x HTTP/1.1",
      "GET /x\tHTTP/1.1",
      "GET /x",
      "GET /x ",
      "GET /x http/1.1",
      "GET /x Http/1.1",
      "GET /x HTTP/1.1\t",
      "GET /x HTTP/1.1\x0b",
      "GET /x HTTP/1.1\x00",
      "GET /x\x00 HTTP/1.1",
    ]
  ) {
    throwsProxyError(() => parseRaw(`${line}\r\nHost: a\r\n\r\n`), BAD, JSON.stringify(line));
  }
});

test("parseRequestHead() refuses the field-line forms of the hardening list", () => {
  for (
    const line of [
      "Host : a2",
      "X-A : b",
      "X-A\t: b",
      " X-A: b",
      "\tX-A: b",
      "X-A: b\x00c",
      "X-A: b\x01c",
      "X-A: b\x1fc",
      "X-A: b\x7fc",
      "a b: v",
      "a@b: v",
      "(x): v",
      ": v",
      "caf\xe9: v",
      "X\xa0A: v",
      "NoColon",
    ]
  ) {
    throwsProxyError(() => parseRaw(`GET /x HTTP/1.1\r\nHost: a\r\n${line}\r\n\r\n`), BAD, JSON.stringify(line));
  }
  // obs-fold after a field, bare CR inside a value.
  throwsProxyError(() => parseRaw("GET /x HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n"), BAD);
  throwsProxyError(() => parseRaw("GET /x HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n"), BAD);
  throwsProxyError(() => parseRaw("GET /x HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n"), BAD);
});

test("parseRequestHead() forwards the request target byte for byte: no decoding, normalising or re-encoding", () => {
  const longQuery = "/q?" + "k=v&".repeat(1500) + "%ZZ";
  for (
    const [target, path] of [
      ["/a/../b", "/a/../b"],
      ["/%2e%2e/", "/%2e%2e/"],
      ["/%2E%2E/%2f", "/%2E%2E/%2f"],
      ["//x", "//x"],
      ["/./x/.", "/./x/."],
      ["/a?b=%20&c", "/a"],
      ["/%C3%BC?%c3%bc", "/%C3%BC"],
      ["/?", "/"],
      ["/a??b?", "/a"],
      ["/a;p=1,2/b", "/a;p=1,2/b"],
      ["/a+b%2B c".replace(" ", "%20"), "/a+b%2B%20c"],
      [longQuery, "/q"],
    ]
  ) {
    const r = parse(`GET ${target} HTTP/1.1`, "Host: a");
    assert.equal(r.target, target);
    assert.equal(r.forwardTarget, target);
    assert.equal(r.path, path, target);
  }
  // The absolute-form keeps its path and query as sent, too.
  assert.equal(parse("GET http://a//x/../%2e?y=%20 HTTP/1.1", "Host: a").forwardTarget, "//x/../%2e?y=%20");
});
