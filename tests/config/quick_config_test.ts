import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatConfigError } from "../../lib/config/config_error.ts";
import { quickConfig } from "../../lib/config/quick_config.ts";
import type { Config } from "../../lib/config/types.ts";
import { DEFAULT_BACKEND, DEFAULT_LISTENER } from "./_defaults.ts";
import { configOf, yaml } from "./_yaml.ts";

function errorsOf(listen: string, to: string[]): string[] {
  const result = quickConfig(listen, to);
  if ("config" in result) assert.fail("expected errors, got a config");
  return result.errors.map(formatConfigError);
}

describe("quickConfig()", () => {
  it("quickConfig() builds one http listener proxying to a backend named quick", () => {
    const result = quickConfig(":8080", ["127.0.0.1:9001", "[::1]:9002"]);
    assert.ok("config" in result);
    const expected: Config = {
      listeners: [{
        name: "quick",
        listen: { hostname: "0.0.0.0", port: 8080 },
        routes: [{ path: "/", action: { type: "proxy", backend: "quick" } }],
        ...DEFAULT_LISTENER,
      }],
      backends: new Map([["quick", {
        name: "quick",
        servers: [
          { address: "127.0.0.1:9001", hostname: "127.0.0.1", port: 9001, weight: 1, max_conns: 0 },
          { address: "[::1]:9002", hostname: "::1", port: 9002, weight: 1, max_conns: 0 },
        ],
        ...DEFAULT_BACKEND,
      }]]),
      log: { access: "stdout" },
      shutdown_timeout: 10_000,
      source: "<command line>",
    };
    assert.deepEqual(result.config, expected);
  });

  it("quickConfig() matches the equivalent config file", () => {
    const result = quickConfig("127.0.0.1:0", ["localhost:9001"]);
    assert.ok("config" in result);
    const fromFile = configOf(yaml`
      listeners:
        - { name: quick, listen: "127.0.0.1:0", backend: quick }
      backends:
        quick: { servers: [localhost:9001] }
    `);
    assert.deepEqual(result.config, { ...fromFile, source: "<command line>" });
  });

  it("quickConfig() reports a bad listen address by flag", () => {
    assert.deepEqual(errorsOf("8080", ["127.0.0.1:9001"]), ['--listen: needs a port, like ":8080", got "8080"']);
  });

  it("quickConfig() reports every bad server", () => {
    assert.deepEqual(errorsOf(":8080", [":9001", "127.0.0.1:9002", "http://a:1"]), [
      '--to: needs a host, like "127.0.0.1:8080", got ":9001"',
      '--to: must be host:port without a scheme, like "127.0.0.1:8080", got "http://a:1"',
    ]);
  });

  it("quickConfig() rejects the same server twice", () => {
    assert.deepEqual(errorsOf(":8080", ["a:1", "A:1"]), ['--to: same server given twice, got "A:1"']);
  });

  it("quickConfig() rejects a server at an unspecified or malformed IPv4 address", () => {
    assert.deepEqual(errorsOf("0.0.0.0:8080", ["0.0.0.0:9001", "300.1.1.1:9002"]), [
      '--to: must name a server, not the unspecified address "0.0.0.0" (listen only), like "127.0.0.1:8080", got "0.0.0.0:9001"',
      '--to: has an invalid IPv4 address (four numbers from 0 to 255, without leading zeros), got "300.1.1.1:9002"',
    ]);
  });

  it("quickConfig() takes a name and the same name with a final dot for one server", () => {
    assert.deepEqual(errorsOf(":8080", ["localhost:1", "localhost.:1"]), ['--to: same server given twice, got "localhost.:1"']);
  });

  it("quickConfig() needs at least one server", () => {
    assert.deepEqual(errorsOf(":8080", []), ["--to: needs at least one server address"]);
  });

  it("quickConfig() gives independent copies of the defaults", () => {
    const a = quickConfig(":1", ["a:1"]);
    const b = quickConfig(":2", ["a:1"]);
    assert.ok("config" in a && "config" in b);
    a.config.listeners[0].limits.max_headers = 1;
    assert.equal(b.config.listeners[0].limits.max_headers, 100);
  });
});
