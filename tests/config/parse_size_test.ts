import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseSize } from "../../lib/config/parse_size.ts";

describe("parseSize()", () => {
  it("parseSize() reads binary units as powers of 1024", () => {
    assert.equal(parseSize("64KiB"), 65_536);
    assert.equal(parseSize("1MiB"), 1_048_576);
    assert.equal(parseSize("2GiB"), 2 * 1024 ** 3);
  });

  it("parseSize() reads decimal units as powers of 1000", () => {
    assert.equal(parseSize("10KB"), 10_000);
    assert.equal(parseSize("3MB"), 3_000_000);
    assert.equal(parseSize("1GB"), 1_000_000_000);
  });

  it("parseSize() reads bytes with or without B", () => {
    assert.equal(parseSize("512B"), 512);
    assert.equal(parseSize("512"), 512);
    assert.equal(parseSize("0"), 0);
  });

  it("parseSize() allows one space before the unit", () => {
    assert.equal(parseSize("64 KiB"), 65_536);
  });

  it("parseSize() rejects an unknown or wrongly cased unit", () => {
    assert.throws(() => parseSize("10kb"), {
      name: "RangeError",
      message: 'unknown unit "kb" (use B, KB, KiB, MB, MiB, GB, GiB), got "10kb"',
    });
    assert.throws(() => parseSize("1TiB"), { message: /^unknown unit "TiB" / });
  });

  it("parseSize() rejects negative, fractional and malformed sizes", () => {
    assert.throws(() => parseSize("-1KiB"), { message: 'must not be negative, got "-1KiB"' });
    for (const text of ["", "KiB", "1.5KiB", "1  KiB", "1KiB "]) {
      assert.throws(() => parseSize(text), {
        message: `must be a size like "64KiB" or a number of bytes, got ${JSON.stringify(text)}`,
      }, text);
    }
  });

  it("parseSize() rejects a bare number of bytes with leading zeros", () => {
    for (const text of ["010", "00"]) {
      assert.throws(() => parseSize(text), {
        message: `must be a whole number of bytes written in digits, like 512, or a size like "64KiB", got "${text}"`,
      }, text);
    }
  });

  it("parseSize() rejects a space after a bare number", () => {
    assert.throws(() => parseSize("512 "), { message: 'must be a size like "64KiB" or a number of bytes, got "512 "' });
  });

  it("parseSize() rejects sizes too large to be exact", () => {
    assert.throws(() => parseSize("99999999999GiB"), { message: 'is too large, got "99999999999GiB"' });
  });
});
