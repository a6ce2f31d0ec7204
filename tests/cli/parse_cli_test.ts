import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HELP_TEXT, parseCli } from "../../lib/cli/parse_cli.ts";

describe("parseCli()", () => {
  it("parseCli() runs config.yaml when given nothing", () => {
    assert.deepEqual(parseCli([]), { kind: "run", configPath: "config.yaml" });
  });

  it("parseCli() reads --config and -c", () => {
    assert.deepEqual(parseCli(["--config", "a.yaml"]), { kind: "run", configPath: "a.yaml" });
    assert.deepEqual(parseCli(["--config=b.yaml"]), { kind: "run", configPath: "b.yaml" });
    assert.deepEqual(parseCli(["-c", "c.yaml"]), { kind: "run", configPath: "c.yaml" });
  });

  it("parseCli() checks with --check", () => {
    assert.deepEqual(parseCli(["--check"]), { kind: "check", configPath: "config.yaml" });
    assert.deepEqual(parseCli(["--check", "-c", "x.yaml"]), { kind: "check", configPath: "x.yaml" });
  });

  it("parseCli() reads --help and --version, help first", () => {
    assert.deepEqual(parseCli(["--help"]), { kind: "help" });
    assert.deepEqual(parseCli(["-h"]), { kind: "help" });
    assert.deepEqual(parseCli(["--version"]), { kind: "version" });
    assert.deepEqual(parseCli(["-v"]), { kind: "version" });
    assert.deepEqual(parseCli(["-v", "-h"]), { kind: "help" });
    assert.deepEqual(parseCli(["--listen", ":1", "--help"]), { kind: "help" });
  });

  it("parseCli() reads quick mode with repeated --to", () => {
    assert.deepEqual(parseCli(["--listen", ":8080", "--to", "a:1", "--to=b:2"]), {
      kind: "quick",
      listen: ":8080",
      to: ["a:1", "b:2"],
    });
  });

  it("parseCli() rejects --listen without --to and --to without --listen", () => {
    assert.deepEqual(parseCli(["--listen", ":8080"]), {
      kind: "error",
      message: "--listen needs at least one --to ADDR, like --to 127.0.0.1:9001",
    });
    assert.deepEqual(parseCli(["--to", "a:1"]), {
      kind: "error",
      message: "--to needs --listen ADDR too, like --listen :8080",
    });
  });

  it("parseCli() rejects --config with --listen", () => {
    assert.deepEqual(parseCli(["--config", "a.yaml", "--listen", ":1", "--to", "a:1"]), {
      kind: "error",
      message: "--config cannot be combined with --listen or --to",
    });
  });

  it("parseCli() rejects --check with quick mode", () => {
    assert.deepEqual(parseCli(["--check", "--listen", ":1", "--to", "a:1"]), {
      kind: "error",
      message: "--check checks a config file, it cannot be combined with --listen or --to",
    });
  });

  it("parseCli() rejects a repeated single-use flag", () => {
    assert.deepEqual(parseCli(["-c", "a", "-c", "b"]), { kind: "error", message: "--config may be given only once" });
    assert.deepEqual(parseCli(["--listen", ":1", "--listen", ":2", "--to", "a:1"]), {
      kind: "error",
      message: "--listen may be given only once",
    });
  });

  it("parseCli() rejects unknown options and arguments", () => {
    assert.deepEqual(parseCli(["--bogus"]), { kind: "error", message: 'unknown option "--bogus", see --help' });
    assert.deepEqual(parseCli(["-x"]), { kind: "error", message: 'unknown option "-x", see --help' });
    assert.deepEqual(parseCli(["config.yaml"]), {
      kind: "error",
      message: 'unexpected argument "config.yaml", see --help',
    });
  });

  it("parseCli() rejects a missing or misplaced value", () => {
    assert.deepEqual(parseCli(["--config"]), {
      kind: "error",
      message: "--config needs a value, like --config ferry.yaml",
    });
    assert.deepEqual(parseCli(["--config="]), {
      kind: "error",
      message: "--config needs a value, like --config ferry.yaml",
    });
    assert.deepEqual(parseCli(["--to", "--listen", ":1"]), {
      kind: "error",
      message: '--to needs a value, like --to 127.0.0.1:9001 (write --to=VALUE for a value starting with "-")',
    });
    assert.deepEqual(parseCli(["--check=yes"]), { kind: "error", message: "--check takes no value" });
  });

  it("parseCli() help text lists every flag and an example", () => {
    for (const flag of ["--config", "-c", "--check", "--listen", "--to", "--version", "-v", "--help", "-h"]) {
      assert.ok(HELP_TEXT.includes(flag), flag);
    }
    assert.match(HELP_TEXT, /^Usage:/m);
    assert.match(HELP_TEXT, /ferry --listen :8080 --to /);
  });
});
