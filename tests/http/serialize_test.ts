import { test } from "node:test";
import assert from "node:assert/strict";
import { REASONS, serializeRequestHead, serializeResponseHead } from "../../lib/http/serialize.ts";
import { latin1, latin1Bytes } from "../../lib/http/syntax.ts";

test("serializeRequestHead() writes the request line as HTTP/1.1 and the fields in order, names as given", () => {
  const b = serializeRequestHead("GET", "/a?b=c", [["Host", "a"], ["x-lower", "1"], ["X-Dup", "2"], ["X-Dup", "3"]]);
  assert.equal(latin1(b), "GET /a?b=c HTTP/1.1\r\nHost: a\r\nx-lower: 1\r\nX-Dup: 2\r\nX-Dup: 3\r\n\r\n");
});

test("serializeRequestHead() writes a head without fields", () => {
  assert.equal(latin1(serializeRequestHead("OPTIONS", "*", [])), "OPTIONS * HTTP/1.1\r\n\r\n");
});

test("serializeRequestHead() writes obs-text and empty values byte for byte", () => {
  const b = serializeRequestHead("GET", "/", [["X", "caf\xe9 \x80"], ["Empty", ""]]);
  assert.deepEqual(b, latin1Bytes("GET / HTTP/1.1\r\nX: caf\xe9 \x80\r\nEmpty: \r\n\r\n"));
});

test("serializeResponseHead() writes the status line and fields", () => {
  const b = serializeResponseHead("HTTP/1.1", 404, "Not Found", [["Content-Length", "0"]]);
  assert.equal(latin1(b), "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
});

test("serializeResponseHead() keeps the space before an empty reason phrase", () => {
  assert.equal(latin1(serializeResponseHead("HTTP/1.1", 299, "", [])), "HTTP/1.1 299 \r\n\r\n");
});

test("REASONS has the standard phrase for the statuses ferry sends", () => {
  const want: Record<number, string> = {
    200: "OK",
    204: "No Content",
    301: "Moved Permanently",
    302: "Found",
    400: "Bad Request",
    404: "Not Found",
    408: "Request Timeout",
    413: "Content Too Large",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
  };
  for (const [status, reason] of Object.entries(want)) assert.equal(REASONS[Number(status)], reason, status);
});
