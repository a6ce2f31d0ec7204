import { test } from "node:test";
import assert from "node:assert/strict";
import { parseResponseHead, type ResponseHead, responseFraming } from "../../lib/http/parse_response.ts";
import { latin1Bytes } from "../../lib/http/syntax.ts";
import { type Expected, throwsProxyError } from "../_helpers/proxy_error.ts";

/** A head from its lines: CRLF after each, then the blank line. Chars are bytes (latin1). */
function head(...lines: string[]): Uint8Array {
  return latin1Bytes(lines.map((l) => l + "\r\n").join("") + "\r\n");
}

function parse(...lines: string[]): ResponseHead {
  return parseResponseHead(head(...lines), 100);
}

const BAD: Expected = { kind: "upstream_bad_response", status: 502, side: "upstream" };

function refuses(lines: string[]): void {
  throwsProxyError(() => parse(...lines), BAD, JSON.stringify(lines));
}

function framingOf(lines: string[], method = "GET") {
  return responseFraming(parse(...lines), method);
}

function refusesFraming(lines: string[], method = "GET"): void {
  throwsProxyError(() => framingOf(lines, method), BAD, JSON.stringify(lines));
}

// --- status line (RFC 9112 §4) ---------------------------------------------------------------

test("parseResponseHead() reads a status line with a reason phrase", () => {
  const r = parse("HTTP/1.1 200 OK", "Content-Length: 2", "X-A: b");
  assert.equal(r.version, "HTTP/1.1");
  assert.equal(r.status, 200);
  assert.equal(r.reason, "OK");
  assert.deepEqual(r.fields, [["Content-Length", "2"], ["X-A", "b"]]);
  assert.equal(r.keepAlive, true);
});

test("parseResponseHead() keeps a reason phrase with spaces, HTAB and obs-text as sent", () => {
  assert.equal(parse("HTTP/1.1 404 Not  Found\there ").reason, "Not  Found\there ");
  assert.equal(parse("HTTP/1.0 200 Tr\xe8s bien").reason, "Tr\xe8s bien");
});

test("parseResponseHead() accepts a status line without reason phrase, with or without its space", () => {
  const a = parse("HTTP/1.1 204 ");
  assert.equal(a.status, 204);
  assert.equal(a.reason, "");
  const b = parse("HTTP/1.1 204");
  assert.equal(b.status, 204);
  assert.equal(b.reason, "");
});

test("parseResponseHead() reads HTTP/1.0 responses", () => {
  const r = parse("HTTP/1.0 301 Moved", "Location: /x");
  assert.equal(r.version, "HTTP/1.0");
  assert.equal(r.status, 301);
});

test("parseResponseHead() refuses a malformed status line", () => {
  for (
    const line of [
      "HTTP/1.1 20 OK",
      "HTTP/1.1 2000 OK",
      "HTTP/1.1 099 Low",
      "HTTP/1.1  200 OK",
      " HTTP/1.1 200 OK",
      "HTTP/1.1\t200 OK",
      "HTTP/1.1 2OO OK",
      "HTTP/1.1 -200 OK",
      "HTTP/1.2 200 OK",
      "HTTP/2 200 OK",
      "HTTP/2.0 200 OK",
      "http/1.1 200 OK",
      "HTTP/1.1200 OK",
      "HTTP/1.1 200OK",
      "HTTP/1.1 200 O\x00K",
      "HTTP/1.1 200 O\x7fK",
      "HTTP/1.1 200 O\x1bK",
      "ICY 200 OK",
      "",
    ]
  ) {
    refuses([line, "Content-Length: 0"]);
  }
});

// --- field lines: the request rules, blamed on the upstream ----------------------------------

test("parseResponseHead() refuses whitespace between a field name and its colon", () => {
  refuses(["HTTP/1.1 200 OK", "Content-Length : 5"]);
  refuses(["HTTP/1.1 200 OK", "Transfer-Encoding\t: chunked"]);
});

test("parseResponseHead() refuses obs-fold", () => {
  refuses(["HTTP/1.1 200 OK", "X-A: one", " two"]);
  refuses(["HTTP/1.1 200 OK", "X-A: one", "\ttwo"]);
});

test("parseResponseHead() refuses a bare CR or a bare LF", () => {
  for (
    const raw of [
      "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX: a\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
      "HTTP/1.1 200 OK\r\r\nX: a\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX: a\r\n\n\r\n\r\n",
    ]
  ) {
    throwsProxyError(() => parseResponseHead(latin1Bytes(raw), 100), BAD, JSON.stringify(raw));
  }
});

test("parseResponseHead() refuses NUL and other control bytes in a field value", () => {
  for (const c of ["\x00", "\x01", "\x0b", "\x1f", "\x7f"]) refuses(["HTTP/1.1 200 OK", `X-A: a${c}b`]);
});

test("parseResponseHead() refuses invalid characters in a field name", () => {
  for (const name of ["X A", "X@A", "X(A)", "X\xe9", ""]) refuses(["HTTP/1.1 200 OK", `${name}: v`]);
  refuses(["HTTP/1.1 200 OK", "NoColon"]);
});

test("parseResponseHead() refuses more fields than the limit as a bad response, not 431", () => {
  const ok = parseResponseHead(head("HTTP/1.1 200 OK", "A: 1", "B: 2"), 2);
  assert.equal(ok.fields.length, 2);
  throwsProxyError(() => parseResponseHead(head("HTTP/1.1 200 OK", "A: 1", "B: 2", "C: 3"), 2), BAD);
});

test("parseResponseHead() keeps an HTTP/1.1 connection alive unless Connection has close", () => {
  assert.equal(parse("HTTP/1.1 200 OK").keepAlive, true);
  assert.equal(parse("HTTP/1.1 200 OK", "Connection: close").keepAlive, false);
  assert.equal(parse("HTTP/1.1 200 OK", "Connection: keep-alive", "Connection: Close").keepAlive, false);
});

test("parseResponseHead() keeps an HTTP/1.0 connection alive only with Connection: keep-alive", () => {
  assert.equal(parse("HTTP/1.0 200 OK").keepAlive, false);
  assert.equal(parse("HTTP/1.0 200 OK", "Connection: Keep-Alive").keepAlive, true);
  assert.equal(parse("HTTP/1.0 200 OK", "Connection: keep-alive, close").keepAlive, false);
});

// --- framing (RFC 9112 §6.3) -----------------------------------------------------------------

test("responseFraming() gives a response to HEAD no body, whatever its fields say", () => {
  assert.deepEqual(framingOf(["HTTP/1.1 200 OK", "Content-Length: 10"], "HEAD"), { kind: "none" });
  assert.deepEqual(framingOf(["HTTP/1.1 200 OK", "Transfer-Encoding: chunked"], "HEAD"), { kind: "none" });
  assert.deepEqual(framingOf(["HTTP/1.1 200 OK"], "HEAD"), { kind: "none" });
  assert.deepEqual(framingOf(["HTTP/1.0 200 OK"], "HEAD"), { kind: "none" });
});

test("responseFraming() gives 1xx, 204 and 304 responses no body, whatever their fields say", () => {
  for (const status of [100, 101, 103, 199, 204, 304]) {
    for (const fields of [[], ["Content-Length: 10"], ["Transfer-Encoding: chunked"]]) {
      assert.deepEqual(framingOf([`HTTP/1.1 ${status} X`, ...fields]), { kind: "none" }, `${status} ${fields}`);
    }
  }
});

test("responseFraming() frames a body by Content-Length", () => {
  assert.deepEqual(framingOf(["HTTP/1.1 200 OK", "Content-Length: 10"]), { kind: "length", length: 10 });
  assert.deepEqual(framingOf(["HTTP/1.1 205 Reset", "Content-Length: 3"]), { kind: "length", length: 3 });
  assert.deepEqual(framingOf(["HTTP/1.0 200 OK", "Content-Length: 7"], "POST"), { kind: "length", length: 7 });
  assert.deepEqual(framingOf(["HTTP/1.1 200 OK", "Content-Length: 0"]), { kind: "none" });
});

test("responseFraming() accepts identical duplicate Content-Length values", () => {
  assert.deepEqual(framingOf(["HTTP/1.1 200 OK", "Content-Length: 4", "Content-Length: 4"]), { kind: "length", length: 4 });
  assert.deepEqual(framingOf(["HTTP/1.1 200 OK", "Content-Length: 4, 4"]), { kind: "length", length: 4 });
});

test("responseFraming() frames Transfer-Encoding: chunked", () => {
  assert.deepEqual(framingOf(["HTTP/1.1 200 OK", "Transfer-Encoding: chunked"]), { kind: "chunked" });
  assert.deepEqual(framingOf(["HTTP/1.1 404 Nope", "transfer-encoding: Chunked"]), { kind: "chunked" });
});

test("responseFraming() delimits a response without Content-Length or Transfer-Encoding by close", () => {
  assert.deepEqual(framingOf(["HTTP/1.1 200 OK"]), { kind: "close" });
  assert.deepEqual(framingOf(["HTTP/1.0 200 OK"]), { kind: "close" });
  assert.deepEqual(framingOf(["HTTP/1.1 500 Oops", "Content-Type: text/plain"], "POST"), { kind: "close" });
});

test("responseFraming() refuses Content-Length with Transfer-Encoding", () => {
  refusesFraming(["HTTP/1.1 200 OK", "Content-Length: 5", "Transfer-Encoding: chunked"]);
  refusesFraming(["HTTP/1.1 200 OK", "Transfer-Encoding: chunked", "Content-Length: 5"]);
});

test("responseFraming() refuses differing or malformed Content-Length values", () => {
  refusesFraming(["HTTP/1.1 200 OK", "Content-Length: 5", "Content-Length: 6"]);
  refusesFraming(["HTTP/1.1 200 OK", "Content-Length: 5, 6"]);
  for (const v of ["+5", "5a", "", "1e3", "-1", "0x10", "9999999999999999"]) {
    refusesFraming(["HTTP/1.1 200 OK", `Content-Length: ${v}`]);
  }
});

test("responseFraming() refuses a transfer coding other than a lone chunked as a bad response", () => {
  for (const v of ["gzip", "gzip, chunked", "chunked, gzip", ""]) {
    refusesFraming(["HTTP/1.1 200 OK", `Transfer-Encoding: ${v}`]);
  }
});

test("responseFraming() refuses Transfer-Encoding in an HTTP/1.0 response", () => {
  refusesFraming(["HTTP/1.0 200 OK", "Transfer-Encoding: chunked"]);
});

// --- issue 4, hardening: every refused form of the list, as raw bytes -----------------------

function framingOfRaw(raw: string, method = "GET") {
  assert.equal(raw.indexOf("\r\n\r\n"), raw.length - 4, `not a head alone: ${JSON.stringify(raw)}`);
  return responseFraming(parseResponseHead(latin1Bytes(raw), 100), method);
}

test("responseFraming() refuses every malformed or conflicting Content-Length of the hardening list", () => {
  for (const v of ["+5", "-1", "5 5", "0x5", "", " ", "1234567890123456", "5,6", "5, 6", ",5", "5\xa0", "\xa05"]) {
    const raw = `HTTP/1.1 200 OK\r\nContent-Length: ${v}\r\n\r\n`;
    throwsProxyError(() => framingOfRaw(raw), BAD, JSON.stringify(raw));
  }
  throwsProxyError(() => framingOfRaw("HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\n"), BAD);
  throwsProxyError(() => framingOfRaw("HTTP/1.0 200 OK\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\n", "POST"), BAD);
});

test("responseFraming() refuses a Transfer-Encoding other than one final chunked", () => {
  for (
    const lines of [
      ["Transfer-Encoding: gzip"],
      ["Transfer-Encoding: chunked, gzip"],
      ["Transfer-Encoding: chunked;q=1"],
      ["Transfer-Encoding: identity"],
      ["Transfer-Encoding: chunked, chunked"],
      ["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"],
      ["Transfer-Encoding: chunked\xa0"],
      ["Transfer-Encoding: chunked", "Content-Length: 0"],
    ]
  ) {
    refusesFraming(["HTTP/1.1 200 OK", ...lines]);
  }
});

test("responseFraming() refuses any Transfer-Encoding in an HTTP/1.0 response", () => {
  for (const v of ["chunked", "gzip", "identity"]) refusesFraming(["HTTP/1.0 200 OK", `Transfer-Encoding: ${v}`]);
});

test("parseResponseHead() refuses the field-line forms of the hardening list", () => {
  for (
    const line of [
      "X-A : b",
      "Content-Length\t: 0",
      " X-A: b",
      "X-A: b\x00c",
      "X-A: b\x08c",
      "X-A: b\x7fc",
      "a b: v",
      "a@b: v",
      "(x): v",
      ": v",
      "caf\xe9: v",
    ]
  ) {
    throwsProxyError(() => parseResponseHead(latin1Bytes(`HTTP/1.1 200 OK\r\n${line}\r\n\r\n`), 100), BAD, JSON.stringify(line));
  }
  throwsProxyError(() => parseResponseHead(latin1Bytes("HTTP/1.1 200 OK\r\nX-A: b\r\n\tc\r\n\r\n"), 100), BAD);
  throwsProxyError(() => parseResponseHead(latin1Bytes("HTTP/1.1 200 OK\r\nX-A: b\rc\r\n\r\n"), 100), BAD);
});
