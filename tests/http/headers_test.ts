import { test } from "node:test";
import assert from "node:assert/strict";
import { type Fields, get, getAll, has, hasToken, removeAll, set, tokens } from "../../lib/http/headers.ts";

const FIELDS: Fields = [["Host", "a"], ["X-A", "1"], ["x-a", "2"], ["Connection", "Keep-Alive, , Upgrade"], ["connection", " x-foo "]];

test("getAll() returns every value of a name, in order, ignoring case", () => {
  assert.deepEqual(getAll(FIELDS, "x-a"), ["1", "2"]);
  assert.deepEqual(getAll(FIELDS, "X-A"), ["1", "2"]);
  assert.deepEqual(getAll(FIELDS, "x-b"), []);
  assert.deepEqual(getAll(FIELDS, "x-"), []);
});

test("get() returns the first value, has() whether there is one", () => {
  assert.equal(get(FIELDS, "X-a"), "1");
  assert.equal(get(FIELDS, "nope"), undefined);
  assert.equal(has(FIELDS, "HOST"), true);
  assert.equal(has([["Empty", ""]], "empty"), true);
  assert.equal(has(FIELDS, "Hos"), false);
});

test("removeAll() drops every field whose lowercase name is in the set, without mutating", () => {
  const copy = structuredClone(FIELDS);
  assert.deepEqual(removeAll(FIELDS, new Set(["x-a", "host"])), [["Connection", "Keep-Alive, , Upgrade"], ["connection", " x-foo "]]);
  assert.deepEqual(FIELDS, copy);
});

test("set() replaces every same-named field with one at the end", () => {
  assert.deepEqual(set(FIELDS, "X-A", "3").filter(([n]) => n.toLowerCase() === "x-a"), [["X-A", "3"]]);
  assert.deepEqual(set([["A", "1"], ["B", "2"]], "a", "9"), [["B", "2"], ["a", "9"]]);
  assert.deepEqual(set([], "A", "1"), [["A", "1"]]);
});

test("tokens() lists the elements of every field of a name, lowercased, trimmed, empty ones dropped", () => {
  assert.deepEqual(tokens(FIELDS, "connection"), ["keep-alive", "upgrade", "x-foo"]);
  assert.deepEqual(tokens(FIELDS, "absent"), []);
});

test("hasToken() looks for a whole list element", () => {
  assert.equal(hasToken(FIELDS, "Connection", "upgrade"), true);
  assert.equal(hasToken(FIELDS, "Connection", "x-foo"), true);
  assert.equal(hasToken(FIELDS, "Connection", "keep"), false);
  assert.equal(hasToken([["Connection", "closed"]], "connection", "close"), false);
});

test("tokens() trims only OWS (SP, HTAB) around list elements (RFC 9110 §5.6.1)", () => {
  assert.deepEqual(tokens([["Connection", " close\t,\tx "]], "connection"), ["close", "x"]);
  // 0xA0 is obs-text, not whitespace, even though String.prototype.trim() strips it.
  assert.deepEqual(tokens([["Connection", "close\xa0"]], "connection"), ["close\xa0"]);
  assert.equal(hasToken([["Transfer-Encoding", "chunked\xa0"]], "transfer-encoding", "chunked"), false);
});
