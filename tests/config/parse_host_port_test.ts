import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseHostPort } from "../../lib/config/parse_host_port.ts";

describe("parseHostPort()", () => {
  it("parseHostPort() reads a listen address without a host as all IPv4 interfaces", () => {
    assert.deepEqual(parseHostPort(":8080", "listen"), { hostname: "0.0.0.0", port: 8080 });
  });

  it("parseHostPort() reads IPv4, IPv6 and names", () => {
    assert.deepEqual(parseHostPort("127.0.0.1:8080", "listen"), { hostname: "127.0.0.1", port: 8080 });
    assert.deepEqual(parseHostPort("[::1]:8080", "listen"), { hostname: "::1", port: 8080 });
    assert.deepEqual(parseHostPort("[::]:443", "listen"), { hostname: "::", port: 443 });
    assert.deepEqual(parseHostPort("localhost:80", "server"), { hostname: "localhost", port: 80 });
    assert.deepEqual(parseHostPort("api-1.internal:9001", "server"), { hostname: "api-1.internal", port: 9001 });
    assert.deepEqual(parseHostPort("[fe80::1%eth0]:80", "server"), { hostname: "fe80::1%eth0", port: 80 });
  });

  it("parseHostPort() allows port 0 only for listen addresses", () => {
    assert.deepEqual(parseHostPort(":0", "listen"), { hostname: "0.0.0.0", port: 0 });
    assert.throws(() => parseHostPort("127.0.0.1:0", "server"), {
      name: "RangeError",
      message: 'must have a port from 1 to 65535, like "127.0.0.1:8080", got "127.0.0.1:0"',
    });
  });

  it("parseHostPort() rejects ports out of range or not numeric", () => {
    assert.throws(() => parseHostPort(":65536", "listen"), {
      message: 'must have a port from 0 to 65535, like ":8080", got ":65536"',
    });
    assert.throws(() => parseHostPort("localhost:http", "server"), {
      message: 'must have a port from 1 to 65535, like "127.0.0.1:8080", got "localhost:http"',
    });
    assert.throws(() => parseHostPort(":-1", "listen"), { message: /^must have a port from 0 to 65535/ });
  });

  it("parseHostPort() requires a host for server addresses", () => {
    assert.throws(() => parseHostPort(":9001", "server"), {
      message: 'needs a host, like "127.0.0.1:8080", got ":9001"',
    });
  });

  it("parseHostPort() asks for a port when there is none", () => {
    assert.throws(() => parseHostPort("8080", "listen"), { message: 'needs a port, like ":8080", got "8080"' });
    assert.throws(() => parseHostPort("localhost", "server"), {
      message: 'needs a port, like "localhost:8080", got "localhost"',
    });
    assert.throws(() => parseHostPort("localhost:", "server"), {
      message: 'needs a port, like "127.0.0.1:8080", got "localhost:"',
    });
  });

  it("parseHostPort() suggests a host for a server given only a port, or nothing", () => {
    assert.throws(() => parseHostPort("12345", "server"), { message: 'needs a port, like "127.0.0.1:12345", got "12345"' });
    assert.throws(() => parseHostPort("", "server"), { message: 'needs a port, like "127.0.0.1:8080", got ""' });
  });

  it("parseHostPort() requires brackets around IPv6", () => {
    assert.throws(() => parseHostPort("::1:8080", "server"), {
      message: 'needs brackets around an IPv6 address, like "[::1]:8080", got "::1:8080"',
    });
    assert.throws(() => parseHostPort("[::1:8080", "server"), {
      message: 'has an unclosed "[" around the IPv6 address, got "[::1:8080"',
    });
    assert.throws(() => parseHostPort("[nope]:80", "server"), {
      message: 'has an invalid IPv6 address, got "[nope]:80"',
    });
  });

  it("parseHostPort() rejects a URL and an invalid host", () => {
    assert.throws(() => parseHostPort("http://127.0.0.1:80", "server"), {
      message: 'must be host:port without a scheme, like "127.0.0.1:8080", got "http://127.0.0.1:80"',
    });
    assert.throws(() => parseHostPort("my host:80", "server"), {
      message: 'has an invalid host name or IP address, got "my host:80"',
    });
    assert.throws(() => parseHostPort("a..b:80", "server"), { message: /^has an invalid host name/ });
  });
});
