import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { isIpLiteral, resolveHost } from "../../lib/upstream/resolve_host.ts";
import { type DnsServer, startDnsServer } from "../_helpers/dns_server.ts";
import { rejection } from "../_helpers/loopback.ts";

/** A UDP socket on 127.0.0.1 that reads queries and never answers: a DNS server that is down or filtered. */
async function silentUdp(): Promise<{ port: number; received: () => number; close(): Promise<void> }> {
  const socket = dgram.createSocket("udp4");
  let received = 0;
  socket.on("message", () => received++);
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind({ address: "127.0.0.1", port: 0 }, resolve);
  });
  return {
    port: socket.address().port,
    received: () => received,
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
}

/** A UDP port on 127.0.0.1 with nothing bound to it (bound once, then released). */
async function freeUdpPort(): Promise<number> {
  const s = await silentUdp();
  await s.close();
  return s.port;
}

async function message(p: Promise<unknown>): Promise<string> {
  const e = await rejection(p);
  assert.ok(e instanceof Error, `rejects with an Error, got ${String(e)}`);
  return e.message;
}

describe("isIpLiteral", () => {
  it("isIpLiteral() accepts IPv4 and bracketless IPv6 literals, not names", () => {
    for (const ip of ["127.0.0.1", "10.0.0.255", "::1", "2001:db8::1", "::ffff:10.0.0.1"]) {
      assert.equal(isIpLiteral(ip), true, ip);
    }
    for (const host of ["localhost", "api.test", "[::1]", "10.0.0", "10.0.0.256", "1.2.3.4.5", ""]) {
      assert.equal(isIpLiteral(host), false, host);
    }
  });
});

describe("resolveHost through a DNS server", () => {
  let dns: DnsServer;
  before(async () => {
    dns = await startDnsServer();
  });
  after(() => dns.close());
  const opts = () => ({ resolver: dns.hostPort, timeoutMs: 2_000 });

  it("resolveHost() returns IP literals untouched, without a query", async () => {
    const before = dns.queries;
    assert.deepEqual(await resolveHost("10.1.2.3", opts()), { addresses: ["10.1.2.3"] });
    assert.deepEqual(await resolveHost("2001:db8::7", opts()), { addresses: ["2001:db8::7"] });
    assert.deepEqual(await resolveHost("::1", {}), { addresses: ["::1"] });
    assert.equal(dns.queries, before);
  });

  it("resolveHost() returns every A record, in numeric order", async () => {
    dns.set("two.test", { a: ["10.0.0.10", "10.0.0.9"], ttl: 60 });
    const r = await resolveHost("two.test", opts());
    assert.deepEqual(r, { addresses: ["10.0.0.9", "10.0.0.10"], ttlMs: 60_000 });
  });

  it("resolveHost() returns A and AAAA records together, IPv4 first", async () => {
    dns.set("both.test", { a: ["10.0.0.3"], aaaa: ["2001:db8::10", "2001:db8::9", "::1"] });
    const r = await resolveHost("both.test", opts());
    assert.deepEqual(r.addresses, ["10.0.0.3", "::1", "2001:db8::9", "2001:db8::10"]);
  });

  it("resolveHost() reports the smallest TTL of the answer in ms", async () => {
    dns.set("ttl.test", {
      a: [{ address: "10.0.0.1", ttl: 40 }, { address: "10.0.0.2", ttl: 25 }],
      aaaa: [{ address: "fd00::1", ttl: 7 }],
    });
    assert.equal((await resolveHost("ttl.test", opts())).ttlMs, 7_000);
    dns.set("ttl.test", { a: [{ address: "10.0.0.1", ttl: 0 }] });
    assert.equal((await resolveHost("ttl.test", opts())).ttlMs, 0);
  });

  it("resolveHost() is fine with one family only (A without AAAA, AAAA without A)", async () => {
    dns.set("v4only.test", { a: ["10.0.0.4"] });
    dns.set("v6only.test", { aaaa: ["fd00::6"] });
    assert.deepEqual((await resolveHost("v4only.test", opts())).addresses, ["10.0.0.4"]);
    assert.deepEqual((await resolveHost("v6only.test", opts())).addresses, ["fd00::6"]);
  });

  it("resolveHost() asks again on every call: a changed answer is seen at once, whatever its TTL", async () => {
    // Bun's Resolver caches answers for their TTL; resolveHost must not (resolve_interval decides).
    dns.set("moving.test", { a: ["10.0.0.1"], ttl: 300 });
    assert.deepEqual((await resolveHost("moving.test", opts())).addresses, ["10.0.0.1"]);
    const before = dns.queries;
    dns.set("moving.test", { a: ["10.0.0.2", "10.0.0.3"], ttl: 300 });
    assert.deepEqual((await resolveHost("moving.test", opts())).addresses, ["10.0.0.2", "10.0.0.3"]);
    assert.equal(dns.queries, before + 2, "one A and one AAAA query");
  });

  it("resolveHost() rejects an unknown name (NXDOMAIN) with `cannot resolve`", async () => {
    assert.equal(await message(resolveHost("nx.test", opts())), 'cannot resolve "nx.test": no such host');
  });

  it("resolveHost() rejects a known name without addresses", async () => {
    dns.set("empty.test", {});
    // Both runtimes report NOERROR-without-records as ENOTFOUND, as for NXDOMAIN.
    assert.match(
      await message(resolveHost("empty.test", opts())),
      /^cannot resolve "empty\.test": (no addresses|no such host)$/,
    );
  });

  it("resolveHost() rejects an empty name without a query", async () => {
    const before = dns.queries;
    assert.equal(await message(resolveHost("", opts())), 'cannot resolve "": empty name');
    assert.equal(dns.queries, before);
  });

  it("resolveHost() rejects a SERVFAIL or REFUSED answer", async () => {
    dns.set("servfail.test", { a: ["10.0.0.1"], rcode: 2 });
    dns.set("refused.test", { a: ["10.0.0.1"], rcode: 5 });
    // Bun names the rcode; Deno reports both as ENOTFOUND.
    assert.match(
      await message(resolveHost("servfail.test", opts())),
      /^cannot resolve "servfail\.test": (DNS server 127\.0\.0\.1:\d+ failed \(SERVFAIL\)|no such host)$/,
    );
    assert.match(
      await message(resolveHost("refused.test", opts())),
      /^cannot resolve "refused\.test": (DNS server 127\.0\.0\.1:\d+ refused the query|no such host)$/,
    );
  });

  it("resolveHost() rejects when one family gets no answer at all, rather than return half the servers", async () => {
    dns.set("half.test", { a: ["10.0.0.1"], aaaa: ["fd00::1"], ignore: ["aaaa"] });
    const t0 = Date.now();
    const msg = await message(resolveHost("half.test", { resolver: dns.hostPort, timeoutMs: 300 }));
    assert.match(msg, /^cannot resolve "half\.test": no answer from DNS server 127\.0\.0\.1:\d+ within 300 ms$/);
    assert.ok(Date.now() - t0 < 2_000, `took ${Date.now() - t0} ms`);
  });

  it("resolveHost() reaches a DNS server on ::1", async () => {
    const dns6 = await startDnsServer("::1");
    try {
      dns6.set("six.test", { a: ["10.0.0.6"], aaaa: ["fd00::6"] });
      assert.deepEqual((await resolveHost("six.test", { resolver: dns6.hostPort, timeoutMs: 2_000 })).addresses, [
        "10.0.0.6",
        "fd00::6",
      ]);
      assert.equal(dns6.queries, 2);
    } finally {
      await dns6.close();
    }
  });
});

describe("resolveHost with an unresponsive DNS server", () => {
  it("resolveHost() gives up on a server that never answers after timeoutMs", async () => {
    const silent = await silentUdp();
    try {
      const t0 = Date.now();
      const msg = await message(
        resolveHost("api.test", { resolver: { hostname: "127.0.0.1", port: silent.port }, timeoutMs: 300 }),
      );
      const took = Date.now() - t0;
      assert.equal(msg, `cannot resolve "api.test": no answer from DNS server 127.0.0.1:${silent.port} within 300 ms`);
      assert.ok(took >= 250 && took < 2_000, `took ${took} ms`);
      assert.ok(silent.received() >= 2, `queries sent: ${silent.received()}`);
    } finally {
      await silent.close();
    }
  });

  it("resolveHost() rejects quickly and clearly when nothing listens on the DNS server's port", async () => {
    const port = await freeUdpPort();
    const t0 = Date.now();
    const msg = await message(resolveHost("api.test", { resolver: { hostname: "127.0.0.1", port }, timeoutMs: 500 }));
    const took = Date.now() - t0;
    // The ICMP "port unreachable" shows up as ECONNREFUSED on Bun (sometimes); otherwise it is a timeout.
    const where = `DNS server 127\\.0\\.0\\.1:${port}`;
    assert.match(
      msg,
      new RegExp(
        `^cannot resolve "api\\.test": (no answer from ${where} within 500 ms|${where} unreachable \\(connection refused\\))$`,
      ),
    );
    assert.ok(took < 2_000, `took ${took} ms`);
  });
});

describe("resolveHost through the system resolver", () => {
  it("resolveHost() finds localhost's loopback addresses without a DNS server", async () => {
    const r = await resolveHost("localhost", { timeoutMs: 2_000 });
    assert.equal(r.ttlMs, undefined);
    assert.ok(r.addresses.length >= 1);
    for (const a of r.addresses) assert.ok(a === "::1" || a.startsWith("127."), `loopback: ${a}`);
    assert.deepEqual(r.addresses, [...new Set(r.addresses)], "no duplicates");
    console.log(`localhost resolves to ${r.addresses.join(", ")}`);
    if (!r.addresses.includes("::1")) console.log("  (no ::1: this machine's /etc/hosts maps localhost to IPv4 only)");
  });
});
