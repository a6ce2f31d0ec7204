import { describe, it } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { startDnsServer } from "./dns_server.ts";

/** A query (RFC 1035 §4.1) with ID `id`, RD set, one question. */
function query(id: number, name: string, qtype: number): Uint8Array {
  const labels = name.split(".").flatMap((l) => [l.length, ...[...l].map((c) => c.charCodeAt(0))]);
  return Uint8Array.from([
    id >> 8,
    id & 0xff,
    0x01,
    0x00,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    ...labels,
    0,
    qtype >> 8,
    qtype & 0xff,
    0,
    1,
  ]);
}

/** Sends `msg` to 127.0.0.1:`port` and waits (bounded) for one reply. */
async function exchange(port: number, msg: Uint8Array): Promise<Uint8Array> {
  const socket = dgram.createSocket("udp4");
  try {
    return await new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no reply within 2000 ms")), 2_000);
      socket.once("message", (reply: Uint8Array) => {
        clearTimeout(timer);
        resolve(new Uint8Array(reply));
      });
      socket.once("error", reject);
      socket.send(msg, port, "127.0.0.1");
    });
  } finally {
    socket.close();
  }
}

const u16 = (b: Uint8Array, off: number) => (b[off] << 8) | b[off + 1];
const u32 = (b: Uint8Array, off: number) =>
  ((b[off] << 24) >>> 0) + (b[off + 1] << 16) + (b[off + 2] << 8) + b[off + 3];

describe("startDnsServer", () => {
  it("startDnsServer() answers an A query with a compressed name pointing at the question", async () => {
    const dns = await startDnsServer();
    try {
      dns.set("Api.Test", { a: ["10.0.0.1", "192.168.7.9"], ttl: 42 });
      const q = query(0xbeef, "api.test", 1);
      const r = await exchange(dns.port, q);
      assert.equal(u16(r, 0), 0xbeef, "ID echoed");
      assert.equal(u16(r, 2), 0x8500, "QR, AA, RD, NOERROR");
      assert.deepEqual([u16(r, 4), u16(r, 6), u16(r, 8), u16(r, 10)], [1, 2, 0, 0]);
      assert.deepEqual(r.subarray(12, q.length), q.subarray(12), "question echoed");
      let off = q.length;
      for (const addr of [[10, 0, 0, 1], [192, 168, 7, 9]]) {
        assert.equal(u16(r, off), 0xc00c, "name is a pointer to offset 12");
        assert.deepEqual([u16(r, off + 2), u16(r, off + 4), u32(r, off + 6), u16(r, off + 10)], [1, 1, 42, 4]);
        assert.deepEqual([...r.subarray(off + 12, off + 16)], addr);
        off += 16;
      }
      assert.equal(r.length, off);
      assert.equal(dns.queries, 1);
    } finally {
      await dns.close();
    }
  });

  it("startDnsServer() answers an AAAA query with 16-byte addresses", async () => {
    const dns = await startDnsServer();
    try {
      dns.set("six.test", { aaaa: [{ address: "2001:db8::ff:1", ttl: 5 }] });
      const q = query(7, "six.test", 28);
      const r = await exchange(dns.port, q);
      assert.equal(u16(r, 6), 1);
      assert.deepEqual([u16(r, q.length + 2), u32(r, q.length + 6), u16(r, q.length + 10)], [28, 5, 16]);
      const expected = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0, 1];
      assert.deepEqual([...r.subarray(q.length + 12)], expected);
    } finally {
      await dns.close();
    }
  });

  it("startDnsServer() answers NXDOMAIN for unknown names, NOERROR without answers for a missing type", async () => {
    const dns = await startDnsServer();
    try {
      dns.set("v4.test", { a: ["10.0.0.1"] });
      let r = await exchange(dns.port, query(1, "v4.test", 28));
      assert.deepEqual([u16(r, 2) & 0xf, u16(r, 6)], [0, 0], "NOERROR, no answers");
      r = await exchange(dns.port, query(2, "other.test", 1));
      assert.deepEqual([u16(r, 2) & 0xf, u16(r, 6)], [3, 0], "NXDOMAIN");
      dns.remove("v4.test");
      r = await exchange(dns.port, query(3, "v4.test", 1));
      assert.equal(u16(r, 2) & 0xf, 3);
    } finally {
      await dns.close();
    }
  });

  it("close() releases the port: it can be bound again at once", async () => {
    const dns = await startDnsServer();
    const port = dns.port;
    await dns.close();
    await dns.close(); // idempotent
    const again = dgram.createSocket("udp4");
    try {
      await new Promise<void>((resolve, reject) => {
        again.once("error", reject);
        again.bind({ address: "127.0.0.1", port }, resolve);
      });
      assert.equal(again.address().port, port);
    } finally {
      again.close();
    }
  });
});
