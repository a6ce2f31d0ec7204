import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { hashKeyOf, parseHashKey } from "../../lib/balance/mod.ts";

const req = (target: string, fields: [string, string][] = [], path = target.split("?")[0]) => ({
  target,
  path,
  fields,
});

describe("hashKeyOf", () => {
  it("header: the field's value, matched case-insensitively", () => {
    assert.equal(hashKeyOf({ from: "header", name: "X-User" }, req("/", [["x-user", "alice"]])), "alice");
    assert.equal(hashKeyOf({ from: "header", name: "x-user" }, req("/", [["X-USER", "bob"]])), "bob");
  });

  it('header: several fields of the name joined with ", " (RFC 9110 §5.3)', () => {
    const fields: [string, string][] = [["X-Tenant", "a"], ["Host", "h"], ["x-tenant", "b, c"]];
    assert.equal(hashKeyOf({ from: "header", name: "X-Tenant" }, req("/", fields)), "a, b, c");
  });

  it("header: undefined when absent, the empty string when present but empty", () => {
    assert.equal(hashKeyOf({ from: "header", name: "X-User" }, req("/", [["X-Users", "a"]])), undefined);
    assert.equal(hashKeyOf({ from: "header", name: "X-User" }, req("/", [["X-User", ""]])), "");
  });

  it('cookie: the named cookie\'s value from "; "-separated pairs', () => {
    const fields: [string, string][] = [["Cookie", "theme=dark; sid=abc123; lang=en"]];
    assert.equal(hashKeyOf({ from: "cookie", name: "sid" }, req("/", fields)), "abc123");
    assert.equal(hashKeyOf({ from: "cookie", name: "theme" }, req("/", fields)), "dark");
    assert.equal(hashKeyOf({ from: "cookie", name: "lang" }, req("/", fields)), "en");
  });

  it("cookie: tolerates extra or missing spaces around pairs", () => {
    const fields: [string, string][] = [["cookie", "  a=1 ;b=2;   sid = xyz  ; c=3"]];
    assert.equal(hashKeyOf({ from: "cookie", name: "sid" }, req("/", fields)), "xyz");
    assert.equal(hashKeyOf({ from: "cookie", name: "b" }, req("/", fields)), "2");
  });

  it("cookie: exact, case-sensitive name; the first of several Cookie fields that has it", () => {
    const fields: [string, string][] = [["Cookie", "SID=upper; xsid=x"], ["Cookie", "sid=lower"], [
      "Cookie",
      "sid=later",
    ]];
    assert.equal(hashKeyOf({ from: "cookie", name: "sid" }, req("/", fields)), "lower");
    assert.equal(hashKeyOf({ from: "cookie", name: "SID" }, req("/", fields)), "upper");
  });

  it('cookie: keeps "=" inside the value, and undefined when absent or nameless', () => {
    const fields: [string, string][] = [["Cookie", "tok=a=b==; flag"]];
    assert.equal(hashKeyOf({ from: "cookie", name: "tok" }, req("/", fields)), "a=b==");
    assert.equal(hashKeyOf({ from: "cookie", name: "flag" }, req("/", fields)), undefined);
    assert.equal(hashKeyOf({ from: "cookie", name: "sid" }, req("/", [])), undefined);
    assert.equal(hashKeyOf({ from: "cookie", name: "sid" }, req("/", [["X-Cookie", "sid=1"]])), undefined);
  });

  it("query: the first value of the parameter, raw (not decoded)", () => {
    assert.equal(hashKeyOf({ from: "query", name: "u" }, req("/p?u=a%20b&v=2")), "a%20b");
    assert.equal(hashKeyOf({ from: "query", name: "v" }, req("/p?u=1&v=2")), "2");
  });

  it("query: repeated names give the first value", () => {
    assert.equal(hashKeyOf({ from: "query", name: "id" }, req("/p?id=1&x=0&id=2")), "1");
  });

  it("query: matches the name exactly as written", () => {
    assert.equal(hashKeyOf({ from: "query", name: "id" }, req("/p?xid=9&ID=8&id=7")), "7");
    assert.equal(hashKeyOf({ from: "query", name: "a%20b" }, req("/p?a b=1&a%20b=2")), "2");
  });

  it('query: a parameter without "=" has the empty value; undefined when absent', () => {
    assert.equal(hashKeyOf({ from: "query", name: "debug" }, req("/p?debug&x=1")), "");
    assert.equal(hashKeyOf({ from: "query", name: "id" }, req("/p?x=1&")), undefined);
    assert.equal(hashKeyOf({ from: "query", name: "id" }, req("/p")), undefined);
    assert.equal(hashKeyOf({ from: "query", name: "id" }, req("/p?")), undefined);
  });

  it("query: reads absolute-form targets and stops at a fragment", () => {
    assert.equal(hashKeyOf({ from: "query", name: "id" }, req("http://h.example/p?id=5")), "5");
    assert.equal(hashKeyOf({ from: "query", name: "id" }, req("/p?a=1#id=6")), undefined);
  });

  it("path: the request's path, without the query", () => {
    assert.equal(hashKeyOf({ from: "path" }, req("/images/cat.png?size=2")), "/images/cat.png");
  });
});

describe("parseHashKey", () => {
  it("accepts every form", () => {
    assert.deepEqual(parseHashKey("header:X-User-Id"), { from: "header", name: "X-User-Id" });
    assert.deepEqual(parseHashKey("cookie:session_id"), { from: "cookie", name: "session_id" });
    assert.deepEqual(parseHashKey("query:user"), { from: "query", name: "user" });
    assert.deepEqual(parseHashKey("query:a%20b"), { from: "query", name: "a%20b" });
    assert.deepEqual(parseHashKey("path"), { from: "path" });
  });

  it("rejects malformed keys with a message listing the accepted forms", () => {
    const forms = `must be "header:NAME", "cookie:NAME", "query:NAME" or "path"`;
    for (
      const bad of [
        "header:",
        "foo",
        "cookie:a b",
        "cookie:",
        "query:",
        "query:a=b",
        "query:a&b",
        "header:a:b",
        "Header:x",
        "path:/x",
        "",
        "header: x",
        "ip",
      ]
    ) {
      assert.equal(parseHashKey(bad), `${forms}, got "${bad}"`, `for ${JSON.stringify(bad)}`);
    }
  });
});
