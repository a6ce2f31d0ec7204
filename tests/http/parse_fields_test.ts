import { test } from "node:test";
import assert from "node:assert/strict";
import { parseFields, quote, splitLines } from "../../lib/http/parse_fields.ts";

function ok(lines: string[], max = 100) {
  const r = parseFields(lines, max);
  assert.ok(r.ok, `expected fields, got ${JSON.stringify(r)}`);
  return r.fields;
}

function fails(lines: string[], max = 100) {
  const r = parseFields(lines, max);
  assert.ok(!r.ok, `expected a refusal of ${JSON.stringify(lines)}`);
  return r;
}

test("parseFields() keeps names as received and values without surrounding OWS", () => {
  assert.deepEqual(ok(["Host: a", "x-Mixed-CASE:\tv \t", "Empty:", "Spaces:    ", "Colon: a:b:c", "Inner: a \t b"]), [
    ["Host", "a"],
    ["x-Mixed-CASE", "v"],
    ["Empty", ""],
    ["Spaces", ""],
    ["Colon", "a:b:c"],
    ["Inner", "a \t b"],
  ]);
});

test("parseFields() accepts every tchar in a name", () => {
  const name = "!#$%&'*+-.^_`|~09AZaz";
  assert.deepEqual(ok([`${name}: v`]), [[name, "v"]]);
});

test("parseFields() accepts obs-text in a value", () => {
  assert.deepEqual(ok(["X: \x80\xa0\xff"]), [["X", "\x80\xa0\xff"]]);
});

test("parseFields() accepts no lines", () => {
  assert.deepEqual(ok([]), []);
  assert.deepEqual(ok([], 0), []);
});

test("parseFields() refuses more than maxFields fields, flagged tooMany", () => {
  assert.equal(ok(["A: 1", "B: 2"], 2).length, 2);
  const r = fails(["A: 1", "B: 2", "C: 3"], 2);
  assert.equal(r.ok === false && r.tooMany, true);
  assert.match(r.ok === false ? r.message : "", /too many header fields \(limit 2\)/);
});

test("parseFields() refuses obs-fold", () => {
  for (const lines of [["A: 1", " folded"], ["A: 1", "\tfolded"], [" A: 1"]]) {
    const r = fails(lines);
    assert.equal(r.ok === false && r.tooMany, false);
    assert.match(r.ok === false ? r.message : "", /obsolete line folding/);
  }
});

test("parseFields() refuses whitespace before the colon", () => {
  for (const l of ["Host : a", "Host\t: a", "Host  :a"]) assert.match(failMessage([l]), /invalid header field name/);
});

test("parseFields() refuses a line without a name or a colon", () => {
  for (const l of [": v", ":", "NoColon", ""]) assert.match(failMessage([l]), /malformed header field/);
});

test("parseFields() refuses characters outside tchar in a name", () => {
  for (const c of " \"(),/:;<=>?@[\\]{}\x00\x7f\xe9") {
    if (c === ":") continue;
    assert.match(failMessage([`A${c}B: v`]), /invalid header field name|malformed/, JSON.stringify(c));
  }
});

test("parseFields() refuses CR, LF, NUL and other control bytes in a value", () => {
  for (let c = 0; c < 0x20; c++) {
    if (c === 0x09) continue;
    assert.match(failMessage([`X: a${String.fromCharCode(c)}b`]), /invalid character in header field "X"/, `byte ${c}`);
  }
  assert.match(failMessage(["X: a\x7fb"]), /invalid character/);
});

test("parseFields() reports a malformed line as malformed, not as too many fields", () => {
  const r = fails(["A: 1", "B : 2", "C: 3"], 100);
  assert.equal(r.ok === false && r.tooMany, false);
});

function failMessage(lines: string[]): string {
  const r = fails(lines);
  assert.equal(r.ok === false && r.tooMany, false);
  return r.ok === false ? r.message : "";
}

test("splitLines() splits on CRLF and drops the closing blank line", () => {
  assert.deepEqual(splitLines("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\r\n"), ["GET / HTTP/1.1", "Host: a", "X: b"]);
  assert.deepEqual(splitLines("GET / HTTP/1.1\r\n\r\n"), ["GET / HTTP/1.1"]);
  assert.deepEqual(splitLines("A\r\nB"), ["A", "B"]);
});

test("splitLines() refuses a bare CR or a bare LF", () => {
  for (const h of ["A\nB\r\n\r\n", "A\rB\r\n\r\n", "A\r\r\n\r\n", "A\r\n\nB\r\n\r\n", "A\n\r\n", "\rA\r\n\r\n", "A\r\n\r\n\n"]) {
    assert.equal(splitLines(h), null, JSON.stringify(h));
  }
});

test("quote() quotes, escapes control bytes and cuts at 64 chars", () => {
  assert.equal(quote("abc"), '"abc"');
  assert.equal(quote('a"b\x00\r\n'), '"a\\"b\\u0000\\r\\n"');
  const long = "x".repeat(100);
  assert.equal(quote(long), `"${"x".repeat(64)}…"`);
  assert.equal(quote("y".repeat(64)), `"${"y".repeat(64)}"`);
});
