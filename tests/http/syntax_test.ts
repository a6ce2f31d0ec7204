import { test } from "node:test";
import assert from "node:assert/strict";
import { isFieldValue, isToken, isVisibleAscii, latin1, latin1Bytes } from "../../lib/http/syntax.ts";

test("isToken() accepts tchar only, and not the empty string", () => {
  assert.equal(isToken("GET"), true);
  assert.equal(isToken("!#$%&'*+-.^_`|~09AZaz"), true);
  assert.equal(isToken(""), false);
  for (const c of " \t\"(),/:;<=>?@[\\]{}\x00\x7f\x80\xff\u0100") assert.equal(isToken(`a${c}`), false, JSON.stringify(c));
});

test("isFieldValue() accepts VCHAR, SP, HTAB and obs-text, refuses other controls", () => {
  assert.equal(isFieldValue(""), true);
  assert.equal(isFieldValue("a b\tc~\x80\xff"), true);
  for (let c = 0; c < 0x20; c++) if (c !== 9) assert.equal(isFieldValue(String.fromCharCode(c)), false, `byte ${c}`);
  assert.equal(isFieldValue("\x7f"), false);
  assert.equal(isFieldValue("\u0100"), false);
});

test("isVisibleAscii() accepts 0x21 to 0x7E only, and not the empty string", () => {
  assert.equal(isVisibleAscii("/a?b=c&d#e"), true);
  assert.equal(isVisibleAscii(""), false);
  for (const c of " \t\x00\x1f\x7f\x80\xff") assert.equal(isVisibleAscii(`/${c}`), false, JSON.stringify(c));
});

test("latin1() maps every byte to the char of the same code, 0x80-0x9F included", () => {
  const all = new Uint8Array(256).map((_, i) => i);
  const s = latin1(all);
  assert.equal(s.length, 256);
  for (let i = 0; i < 256; i++) assert.equal(s.charCodeAt(i), i);
  assert.deepEqual(latin1Bytes(s), all);
});

test("latin1() handles inputs longer than one 8 KiB slice", () => {
  const big = new Uint8Array(20_000).map((_, i) => (i * 7) & 0xff);
  const s = latin1(big);
  assert.equal(s.length, big.length);
  assert.deepEqual(latin1Bytes(s), big);
});
