import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RoundRobin } from "../../lib/balance/mod.ts";
import { type FakeServer, servers } from "./_fake_server.ts";

function picks(rr: RoundRobin<FakeServer>, list: FakeServer[], n: number, exclude?: Set<FakeServer>): string {
  let out = "";
  for (let i = 0; i < n; i++) out += rr.pick(list, {}, exclude)?.address ?? "-";
  return out;
}

function longestRun(s: string, c: string): number {
  let best = 0;
  let run = 0;
  for (const x of s) {
    run = x === c ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}

describe("RoundRobin", () => {
  it("alternates between equal servers: a, b, a, b", () => {
    assert.equal(picks(new RoundRobin(), servers({ a: 1, b: 1 }), 6), "ababab");
    assert.equal(picks(new RoundRobin(), servers({ a: 1, b: 1, c: 1 }), 6), "abcabc");
  });

  it("weights 5:1:1 follow nginx's smooth sequence a a b a c a a", () => {
    const rr = new RoundRobin<FakeServer>();
    const list = servers({ a: 5, b: 1, c: 1 });
    const seq = picks(rr, list, 700);
    assert.equal(seq.slice(0, 7), "aabacaa");
    for (let i = 0; i < seq.length; i += 7) {
      const window = seq.slice(i, i + 7);
      assert.equal(window, "aabacaa", `picks ${i}..${i + 6}`);
    }
    // Spread out, not a burst: at most 4 in a row (2 at the end of one round + 2 at the start of
    // the next), where plain weighted round robin sends 5.
    assert.equal(longestRun(seq, "a"), 4);
  });

  it("weights give exact shares in every full round", () => {
    const rr = new RoundRobin<FakeServer>();
    const list = servers({ a: 3, b: 2, c: 1 });
    const seq = picks(rr, list, 600);
    for (let i = 0; i < seq.length; i += 6) {
      const w = seq.slice(i, i + 6);
      assert.deepEqual([...w].sort().join(""), "aaabbc", `round at ${i}: ${w}`);
    }
  });

  it("fractional weights (slow start) give the sequence of their integer multiples", () => {
    const frac = picks(new RoundRobin(), servers({ a: 1.25, b: 0.25, c: 0.25 }), 70);
    assert.equal(frac, picks(new RoundRobin(), servers({ a: 5, b: 1, c: 1 }), 70));
  });

  it("fractional weights that binary cannot hold exactly keep their shares: 0.1:0.2:0.3 over 6000 picks", () => {
    const seq = picks(new RoundRobin(), servers({ a: 0.1, b: 0.2, c: 0.3 }), 6000);
    const n = (c: string) => seq.split(c).length - 1;
    assert.ok(Math.abs(n("a") - 1000) <= 1 && Math.abs(n("b") - 2000) <= 1, `a ${n("a")}, b ${n("b")}, c ${n("c")}`);
  });

  it("a weight raised while running (slow start) takes effect at once", () => {
    const rr = new RoundRobin<FakeServer>();
    const list = servers({ a: 1, b: 0.1 });
    picks(rr, list, 100);
    list[1].weight = 1;
    const seq = picks(rr, list, 100);
    assert.ok(Math.abs(seq.split("b").length - 1 - 50) <= 2, seq);
  });

  it("skips unavailable servers and takes them back when they recover", () => {
    const rr = new RoundRobin<FakeServer>();
    const list = servers({ a: 1, b: 1, c: 1 });
    list[1].up = false;
    assert.equal(picks(rr, list, 4), "acac");
    list[1].up = true;
    assert.equal([...picks(rr, list, 3)].sort().join(""), "abc");
  });

  it("skips excluded servers (the ones a retry already tried)", () => {
    const rr = new RoundRobin<FakeServer>();
    const list = servers({ a: 1, b: 1, c: 1 });
    assert.equal(picks(rr, list, 4, new Set([list[0]])), "bcbc");
    assert.equal(picks(rr, list, 2, new Set([list[0], list[2]])), "bb");
  });

  it("returns null with no servers, none available, or all excluded", () => {
    const rr = new RoundRobin<FakeServer>();
    assert.equal(rr.pick([], {}), null);
    const list = servers({ a: 1, b: 2 });
    for (const s of list) s.up = false;
    assert.equal(rr.pick(list, {}), null);
    for (const s of list) s.up = true;
    assert.equal(rr.pick(list, {}, new Set(list)), null);
    assert.ok(rr.pick(list, {}));
  });
});
