import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseRequestHead, type RequestHead } from "../../lib/http/parse_request.ts";
import { stickyCookieField, stickyIdOf } from "../../lib/http/sticky_cookie.ts";
import { latin1Bytes } from "../../lib/http/syntax.ts";

function request(...fields: string[]): RequestHead {
  const head = ["GET / HTTP/1.1", "Host: example.com", ...fields].map((l) => l + "\r\n").join("") + "\r\n";
  return parseRequestHead(latin1Bytes(head), { max_request_line: 8192, max_headers: 100 });
}

describe("sticky cookie", () => {
  it("stickyIdOf() reads the named cookie among several", () => {
    const req = request("Cookie: theme=dark; ferry_server=0123456789abcdef; lang=en");
    assert.equal(stickyIdOf(req, "ferry_server"), "0123456789abcdef");
    assert.equal(stickyIdOf(req, "lang"), "en");
  });

  it("stickyIdOf() reads the named cookie from a later Cookie field", () => {
    const req = request("Cookie: theme=dark", "Cookie: app_srv=fedcba9876543210");
    assert.equal(stickyIdOf(req, "app_srv"), "fedcba9876543210");
  });

  it("stickyIdOf() takes the first of two cookies with the name", () => {
    assert.equal(stickyIdOf(request("Cookie: ferry_server=aaaa; ferry_server=bbbb"), "ferry_server"), "aaaa");
  });

  it("stickyIdOf() is undefined without the cookie", () => {
    assert.equal(stickyIdOf(request(), "ferry_server"), undefined);
    assert.equal(stickyIdOf(request("Cookie: theme=dark"), "ferry_server"), undefined);
  });

  it("stickyIdOf() matches the name exactly: case and prefixes/suffixes count", () => {
    const req = request("Cookie: Ferry_Server=1; xferry_server=2; ferry_server_old=3");
    assert.equal(stickyIdOf(req, "ferry_server"), undefined);
  });

  it("stickyCookieField() is a session cookie for the whole site, HttpOnly, SameSite=Lax", () => {
    assert.deepEqual(stickyCookieField("ferry_server", "0123456789abcdef"), [
      "Set-Cookie",
      "ferry_server=0123456789abcdef; Path=/; HttpOnly; SameSite=Lax",
    ]);
    assert.deepEqual(stickyCookieField("srv", "00ff"), ["Set-Cookie", "srv=00ff; Path=/; HttpOnly; SameSite=Lax"]);
  });

  it("stickyIdOf() reads back what stickyCookieField() set", () => {
    const [, value] = stickyCookieField("ferry_server", "0123456789abcdef");
    const pair = value.split(";")[0];
    assert.equal(stickyIdOf(request(`Cookie: other=1; ${pair}`), "ferry_server"), "0123456789abcdef");
  });
});
