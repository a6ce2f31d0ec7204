/**
 * Round robin through ferry: order over equal servers (per request, also on one keep-alive
 * connection), shares by weight, and per-connection rotation in TCP mode.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type BaseBackend, type HttpBackend, namedBackend, rawBackend } from "../_helpers/backends.ts";
import { type Ferry, ferryLabel, startFerry } from "../_helpers/ferry.ts";
import { connectRaw, request } from "../_helpers/raw_http.ts";

function count(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

describe(`round robin (${ferryLabel()})`, () => {
  const named = new Map<string, HttpBackend>();
  const raw: BaseBackend[] = [];
  let ferry: Ferry;

  before(async () => {
    for (const n of ["a", "b", "c", "x", "y", "p", "q"]) named.set(n, await namedBackend(n));
    for (const n of ["t1", "t2"]) raw.push(await rawBackend((conn) => void conn.socket.end(`${n}\n`)));
    const addr = (n: string) => named.get(n)!.address;
    ferry = await startFerry(`
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - path: /rr
        backend: rr
      - path: /weighted
        backend: weighted
      - path: /ka
        backend: ka
  - name: tcp
    listen: "127.0.0.1:0"
    mode: tcp
    backend: tcp
backends:
  rr:
    servers: [ "${addr("a")}", "${addr("b")}", "${addr("c")}" ]
  weighted:
    balance: round_robin
    servers: [ "${addr("x")}", { address: "${addr("y")}", weight: 3 } ]
  ka:
    servers: [ "${addr("p")}", "${addr("q")}" ]
  tcp:
    servers: [ "${raw[0].address}", "${raw[1].address}" ]
`);
  });

  after(async () => {
    await ferry?.stop();
    await Promise.all([...named.values(), ...raw].map((b) => b.close()));
  });

  it("rotates over equal servers in a fixed order", { timeout: 15_000 }, async () => {
    const seq: string[] = [];
    for (let i = 0; i < 9; i++) seq.push((await request(ferry.ports.web, { path: `/rr/${i}` })).body.toString());
    for (let i = 0; i < 9; i += 3) {
      assert.deepEqual([...seq.slice(i, i + 3)].sort(), ["a", "b", "c"], `round ${i / 3} is not one of each: ${seq}`);
    }
    for (let i = 3; i < 9; i++) assert.equal(seq[i], seq[i - 3], `order changed between rounds: ${seq}`);
  });

  it("shares requests by weight (1:3)", { timeout: 15_000 }, async () => {
    const seq: string[] = [];
    for (let i = 0; i < 12; i++) seq.push((await request(ferry.ports.web, { path: `/weighted/${i}` })).body.toString());
    assert.deepEqual(count(seq), { x: 3, y: 9 }, `sequence: ${seq}`);
    for (let i = 0; i < 12; i += 4) assert.deepEqual(count(seq.slice(i, i + 4)), { x: 1, y: 3 }, `cycle ${i / 4}: ${seq}`);
  });

  it("balances each request, not each connection, on a keep-alive client", { timeout: 15_000 }, async () => {
    const c = await connectRaw(ferry.ports.web);
    const seq: string[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        await c.send(`GET /ka/${i} HTTP/1.1\r\nHost: a\r\n\r\n`);
        seq.push((await c.response()).body.toString());
      }
    } finally {
      c.close();
    }
    assert.deepEqual(count(seq), { p: 3, q: 3 }, `sequence: ${seq}`);
    for (let i = 1; i < seq.length; i++) assert.notEqual(seq[i], seq[i - 1], `not alternating: ${seq}`);
  });

  it("rotates TCP connections over the servers", { timeout: 15_000 }, async () => {
    const seq: string[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await connectRaw(ferry.ports.tcp);
      try {
        seq.push((await c.readToEnd()).toString().trim());
      } finally {
        c.close();
      }
    }
    assert.deepEqual(count(seq), { t1: 2, t2: 2 }, `sequence: ${seq}`);
    for (let i = 1; i < seq.length; i++) assert.notEqual(seq[i], seq[i - 1], `not alternating: ${seq}`);
  });
});
