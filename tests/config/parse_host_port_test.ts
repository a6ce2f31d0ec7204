import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hostKey, parseHostPort } from "../../lib/config/parse_host_port.ts";

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
    assert.throws(() => parseHostPort("a..b:80", "server"), { message: /^has an invalid host name/ });
    assert.throws(() => parseHostPort("a.b..:80", "server"), { message: /^has an invalid host name/ });
    assert.throws(() => parseHostPort(".:80", "server"), { message: /^has an invalid host name/ });
  });

  it("parseHostPort() rejects whitespace anywhere, before any other check", () => {
    for (const text of ["127.0.0.1:53 ", " 127.0.0.1:53", "my host:80", "127.0.0.1: 53", "a\t:80", ": 8080"]) {
      assert.throws(() => parseHostPort(text, "server"), {
        message: `must not contain spaces or control characters, got ${JSON.stringify(text)}`,
      }, text);
    }
    assert.throws(() => parseHostPort(":8080\n", "listen"), {
      message: 'must not contain spaces or control characters, got ":8080\\n"',
    });
  });

  it("parseHostPort() rejects a host of numbers and dots that is not a valid IPv4 address", () => {
    const message = (text: string) =>
      `has an invalid IPv4 address (four numbers from 0 to 255, without leading zeros), got ${JSON.stringify(text)}`;
    for (const text of ["300.1.1.1:19001", "1.2.3:80", "127.1:80", "1.2.3.4.5:80", "01.2.3.4:80", "0x7f.0.0.1:80", "1.2.3.4.:80", "123:80"]) {
      assert.throws(() => parseHostPort(text, "server"), { message: message(text) }, text);
    }
    assert.throws(() => parseHostPort("256.0.0.1:80", "listen"), { message: message("256.0.0.1:80") });
    assert.deepEqual(parseHostPort("255.255.255.255:80", "server"), { hostname: "255.255.255.255", port: 80 });
    // A label with a letter makes it a name.
    assert.deepEqual(parseHostPort("1.2.3.4a:80", "server"), { hostname: "1.2.3.4a", port: 80 });
  });

  it("parseHostPort() rejects an unspecified address for a server, not for listen", () => {
    for (const [text, host] of [["0.0.0.0:9001", "0.0.0.0"], ["[::]:9001", "::"], ["[0:0:0:0:0:0:0:0]:9001", "0:0:0:0:0:0:0:0"], ["[::0]:9001", "::0"]]) {
      assert.throws(() => parseHostPort(text, "server"), {
        message: `must name a server, not the unspecified address "${host}" (listen only), like "127.0.0.1:8080", got "${text}"`,
      }, text);
    }
    assert.deepEqual(parseHostPort("0.0.0.0:80", "listen"), { hostname: "0.0.0.0", port: 80 });
    assert.deepEqual(parseHostPort("[::]:80", "listen"), { hostname: "::", port: 80 });
  });

  it("parseHostPort() accepts a fully qualified name with its final dot, as written", () => {
    assert.deepEqual(parseHostPort("app.test.:19001", "server"), { hostname: "app.test.", port: 19001 });
    assert.deepEqual(parseHostPort("localhost.:19002", "server"), { hostname: "localhost.", port: 19002 });
  });
});

describe("hostKey()", () => {
  it("hostKey() ignores case and a final dot, so a name and its FQDN are one server", () => {
    assert.equal(hostKey("App.Test."), "app.test");
    assert.equal(hostKey("localhost."), "localhost");
    assert.equal(hostKey("localhost"), "localhost");
    assert.equal(hostKey("FE80::1"), "fe80::1");
  });
});
