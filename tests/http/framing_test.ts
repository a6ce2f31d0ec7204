import { test } from "node:test";
import assert from "node:assert/strict";
import { contentLength, isChunked, NO_BODY } from "../../lib/http/framing.ts";
import type { Fields } from "../../lib/http/headers.ts";
import { throwsProxyError } from "../_helpers/proxy_error.ts";

const cl = (...values: string[]): Fields => values.map((v) => ["Content-Length", v]);
const te = (...values: string[]): Fields => values.map((v) => ["Transfer-Encoding", v]);

test("NO_BODY is the none framing", () => {
  assert.deepEqual(NO_BODY, { kind: "none" });
});

test("contentLength() is undefined without the field", () => {
  assert.equal(contentLength([["Host", "a"]], "bad_request"), undefined);
});

test("contentLength() reads one value, in any name case", () => {
  assert.equal(contentLength(cl("0"), "bad_request"), 0);
  assert.equal(contentLength(cl("42"), "bad_request"), 42);
  assert.equal(contentLength([["content-LENGTH", "7"]], "bad_request"), 7);
  assert.equal(contentLength(cl("000123"), "bad_request"), 123);
  assert.equal(contentLength(cl("999999999999999"), "bad_request"), 999_999_999_999_999);
});

test("contentLength() accepts repeated and listed values when all are the same number", () => {
  assert.equal(contentLength(cl("5", "5"), "bad_request"), 5);
  assert.equal(contentLength(cl("5, 5", "5"), "bad_request"), 5);
  assert.equal(contentLength(cl("5,5"), "bad_request"), 5);
  assert.equal(contentLength(cl("05", "5"), "bad_request"), 5);
});

test("contentLength() refuses differing values with the given kind", () => {
  throwsProxyError(() => contentLength(cl("5", "6"), "bad_request"), { kind: "bad_request", status: 400, side: "client" });
  throwsProxyError(() => contentLength(cl("5, 6"), "upstream_bad_response"), { kind: "upstream_bad_response", status: 502, side: "upstream" });
  throwsProxyError(() => contentLength(cl("0", "5"), "bad_request"), { kind: "bad_request" });
});

test("contentLength() refuses anything but 1 to 15 decimal digits", () => {
  for (const v of ["+5", "-5", "5a", "", " ", "1e3", "0x5", "5.0", "5 5", "5,", ",5", "٥", "9999999999999999", "1234567890123456789012"]) {
    throwsProxyError(() => contentLength(cl(v), "bad_request"), { kind: "bad_request" }, JSON.stringify(v));
    throwsProxyError(() => contentLength(cl(v), "upstream_bad_response"), { kind: "upstream_bad_response" }, JSON.stringify(v));
  }
});

test("isChunked() is undefined without Transfer-Encoding", () => {
  assert.equal(isChunked([["Content-Length", "1"]], "bad_request"), undefined);
});

test("isChunked() accepts a lone chunked in any case, with OWS and empty list elements", () => {
  assert.equal(isChunked(te("chunked"), "bad_request"), true);
  assert.equal(isChunked(te("CHUNKED"), "bad_request"), true);
  assert.equal(isChunked(te(" , chunked ,"), "bad_request"), true);
  assert.equal(isChunked([["transfer-encoding", "Chunked"]], "upstream_bad_response"), true);
});

test("isChunked() refuses a final coding other than chunked as a bad message", () => {
  for (const v of [["gzip"], ["chunked, gzip"], ["chunked", "gzip"], [""], ["identity"]]) {
    throwsProxyError(() => isChunked(te(...v), "bad_request"), { kind: "bad_request", status: 400 }, JSON.stringify(v));
    throwsProxyError(() => isChunked(te(...v), "upstream_bad_response"), { kind: "upstream_bad_response", status: 502 }, JSON.stringify(v));
  }
});

test("isChunked() answers codings before chunked in a request with 501", () => {
  for (const v of [["gzip, chunked"], ["gzip", "chunked"], ["deflate,chunked"]]) {
    throwsProxyError(() => isChunked(te(...v), "bad_request"), { kind: "not_implemented", status: 501, side: "client" }, JSON.stringify(v));
  }
});

test("isChunked() refuses codings before chunked in a response as a bad response", () => {
  throwsProxyError(() => isChunked(te("gzip, chunked"), "upstream_bad_response"), { kind: "upstream_bad_response", side: "upstream" });
});

// --- RFC 9110 §5.6.1: list elements are separated by commas with OWS (SP / HTAB) around them, nothing else ---

test("contentLength() trims only SP and HTAB around list elements, not NBSP or other whitespace", () => {
  assert.equal(contentLength(cl("5 ,\t5"), "bad_request"), 5);
  // String.prototype.trim() also strips U+00A0 (obs-text byte 0xA0); that byte is not OWS.
  for (const v of ["5\xa0", "\xa05", "5,\xa05", "5\u2028"]) {
    throwsProxyError(() => contentLength(cl(v), "bad_request"), { kind: "bad_request", status: 400 }, JSON.stringify(v));
    throwsProxyError(() => contentLength(cl(v), "upstream_bad_response"), { kind: "upstream_bad_response", status: 502 }, JSON.stringify(v));
  }
});

test("isChunked() refuses chunked applied more than once as a bad message (400), not an unknown coding (501)", () => {
  for (const v of [["chunked, chunked"], ["chunked", "chunked"], ["chunked,chunked"], ["chunked, gzip, chunked"]]) {
    throwsProxyError(() => isChunked(te(...v), "bad_request"), { kind: "bad_request", status: 400, side: "client" }, JSON.stringify(v));
    throwsProxyError(() => isChunked(te(...v), "upstream_bad_response"), { kind: "upstream_bad_response", status: 502 }, JSON.stringify(v));
  }
});

test("isChunked() refuses codings that only look like chunked", () => {
  for (const v of ["chunked;q=1", "chunked; q=1", '"chunked"', "chunked\xa0", "\xa0chunked", "xchunked", "chunked-x", "chunk"]) {
    throwsProxyError(() => isChunked(te(v), "bad_request"), { kind: "bad_request", status: 400 }, JSON.stringify(v));
    throwsProxyError(() => isChunked(te(v), "upstream_bad_response"), { kind: "upstream_bad_response", status: 502 }, JSON.stringify(v));
  }
});
