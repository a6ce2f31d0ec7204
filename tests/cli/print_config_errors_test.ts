import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { printConfigErrors } from "../../lib/cli/print_config_errors.ts";
import type { ConfigError } from "../../lib/config/mod.ts";
import { readConfigFile } from "../../lib/config/read_config_file.ts";

/** What printConfigErrors() puts on stderr, with the error log's own `ferry: ` prefix. */
function printed(errors: ConfigError[]): string[] {
  const lines: string[] = [];
  printConfigErrors(errors, (line) => lines.push(line), (message) => lines.push(`ferry: ${message}`));
  return lines;
}

describe("printConfigErrors()", () => {
  it("printConfigErrors() prints located problems bare, then a count", () => {
    assert.deepEqual(
      printed([
        { file: "c.yaml", line: 2, col: 3, path: "a", message: "x" },
        { file: "c.yaml", line: 4, col: 1, path: "", message: "invalid YAML, y" },
      ]),
      ["c.yaml:2:3: a: x", "c.yaml:4:1: invalid YAML, y", "ferry: invalid configuration: 2 problems"],
    );
    assert.deepEqual(printed([{ file: "c.yaml", line: 1, col: 1, path: "", message: "z" }]), [
      "c.yaml:1:1: z",
      "ferry: invalid configuration: 1 problem",
    ]);
  });

  it("printConfigErrors() prints a config file that cannot be read as one ferry: line", async () => {
    const path = "/nonexistent-ferry-dir/nonexist.yaml";
    const read = await readConfigFile(path);
    assert.ok("errors" in read);
    assert.deepEqual(printed(read.errors), [`ferry: cannot read config "${path}": no such file`]);
  });

  it("printConfigErrors() prints command-line problems as ferry: lines", () => {
    assert.deepEqual(
      printed([
        { file: "<command line>", line: 0, col: 0, path: "--to", message: 'needs a host, like "127.0.0.1:8080", got ":9001"' },
        { file: "<command line>", line: 0, col: 0, path: "--to", message: "needs at least one server address" },
      ]),
      ['ferry: --to: needs a host, like "127.0.0.1:8080", got ":9001"', "ferry: --to: needs at least one server address"],
    );
  });
});
