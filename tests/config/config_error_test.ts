import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatConfigError } from "../../lib/config/config_error.ts";

describe("formatConfigError()", () => {
  it("formatConfigError() gives file:line:column: path: message", () => {
    const text = formatConfigError({
      file: "config.yaml",
      line: 14,
      col: 9,
      path: "backends.api.servers[1].weight",
      message: 'must be an integer from 1 to 1000, got "two"',
    });
    assert.equal(text, 'config.yaml:14:9: backends.api.servers[1].weight: must be an integer from 1 to 1000, got "two"');
  });

  it("formatConfigError() leaves out an empty path", () => {
    const text = formatConfigError({ file: "a.yaml", line: 2, col: 1, path: "", message: "invalid YAML, x" });
    assert.equal(text, "a.yaml:2:1: invalid YAML, x");
  });

  it("formatConfigError() leaves out the position when there is none", () => {
    const text = formatConfigError({
      file: "<command line>",
      line: 0,
      col: 0,
      path: "--to",
      message: 'needs a host, like "127.0.0.1:8080", got ":9001"',
    });
    assert.equal(text, '--to: needs a host, like "127.0.0.1:8080", got ":9001"');
  });
});
