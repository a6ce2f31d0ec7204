import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { IpHash, RendezvousHash } from "../../lib/balance/mod.ts";
import { FakeServer, servers } from "./_fake_server.ts";

const V4 = Array.from({ length: 1500 }, (_, i) => `192.168.${i >> 8}.${i & 255}`);
const V6 = Array.from({ length: 1500 }, (_, i) => `2001:db8::${i.toString(16)}`);
const ADDRS = [...V4, ...V6];
const four = () => servers({ "10.0.0.1:80": 1, "10.0.0.2:80": 1, "10.0.0.3:80": 1, "10.0.0.4:80": 1 });

function assign(policy: IpHash<FakeServer>, list: FakeServer[], addrs = ADDRS): Map<string, string> {
  return new Map(addrs.map((a) => [a, policy.pick(list, { clientAddr: a })!.address]));
}

describe("IpHash (balance: ip_hash)", () => {
  it("maps the same IPv4 or IPv6 client to the same server every time", () => {
    const policy = new IpHash<FakeServer>();
    const list = four();
    assert.deepEqual(assign(policy, list), assign(policy, list));
    assert.equal(new Set(assign(policy, list, V4).values()).size, 4, "IPv4 clients reach every server");
    assert.equal(new Set(assign(policy, list, V6).values()).size, 4, "IPv6 clients reach every server");
  });

  it("agrees between separately created instances", () => {
    assert.deepEqual(assign(new IpHash<FakeServer>(), four()), assign(new IpHash<FakeServer>(), four().reverse()));
  });

  it("hashes the whole address: clients of one IPv4 /24 spread over the servers", () => {
    const sameNet = Array.from({ length: 200 }, (_, i) => `172.16.5.${i}`);
    assert.equal(new Set(assign(new IpHash<FakeServer>(), four(), sameNet).values()).size, 4);
  });

  it("removing a server moves only its clients; adding one moves clients only to it", () => {
    const policy = new IpHash<FakeServer>();
    const list = four();
    const before = assign(policy, list);
    const removed = assign(policy, list.slice(1));
    const added = assign(policy, [...list, new FakeServer("10.0.0.9:80")]);
    let moved = 0;
    for (const a of ADDRS) {
      if (before.get(a) !== list[0].address) assert.equal(removed.get(a), before.get(a), `${a} moved on removal`);
      if (added.get(a) !== before.get(a)) {
        assert.equal(added.get(a), "10.0.0.9:80", `${a} moved between old servers`);
        moved++;
      }
    }
    assert.ok(Math.abs(moved / ADDRS.length - 1 / 5) <= 0.03, `moved ${moved} of ${ADDRS.length}`);
  });

  it("agrees with balance: hash given the address as the key", () => {
    const hash = new RendezvousHash<FakeServer>();
    const list = four();
    for (const a of ADDRS.slice(0, 200)) {
      assert.equal(new IpHash<FakeServer>().pick(list, { clientAddr: a }), hash.pick(list, { hashKey: a }));
    }
  });

  it("falls back to round robin without a client address, and ignores hash keys", () => {
    const policy = new IpHash<FakeServer>();
    const list = servers({ a: 1, b: 1, c: 1 });
    let seq = "";
    for (let i = 0; i < 6; i++) seq += policy.pick(list, { hashKey: `k${i}` })!.address;
    assert.equal(seq, "abcabc");
  });
});

describe("IpHash with IPv4-mapped IPv6 addresses", () => {
  it("pick() hashes ::ffff:a.b.c.d like a.b.c.d", () => {
    const list = servers({ a: 1, b: 1, c: 1, d: 1, e: 1 });
    const policy = new IpHash<FakeServer>();
    for (let i = 0; i < 50; i++) {
      const v4 = policy.pick(list, { clientAddr: `10.1.2.${i}` });
      assert.equal(policy.pick(list, { clientAddr: `::ffff:10.1.2.${i}` }), v4);
      assert.equal(policy.pick(list, { clientAddr: `::FFFF:10.1.2.${i}` }), v4);
    }
  });
});
