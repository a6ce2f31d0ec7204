import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RendezvousHash, rendezvousPick } from "../../lib/balance/mod.ts";
import { FakeServer, servers } from "./_fake_server.ts";

const KEYS = Array.from({ length: 3000 }, (_, i) => `session-${i}`);
const five = () =>
  servers({ "10.0.0.1:80": 1, "10.0.0.2:80": 1, "10.0.0.3:80": 1, "10.0.0.4:80": 1, "10.0.0.5:80": 1 });

/** key → address for every key. */
function assign(
  policy: RendezvousHash<FakeServer>,
  list: FakeServer[],
  exclude?: Set<FakeServer>,
): Map<string, string> {
  return new Map(KEYS.map((k) => [k, policy.pick(list, { hashKey: k }, exclude)!.address]));
}

describe("RendezvousHash (balance: hash)", () => {
  it("maps the same key to the same server every time", () => {
    const policy = new RendezvousHash<FakeServer>();
    const list = five();
    const first = assign(policy, list);
    const again = assign(policy, list);
    assert.deepEqual(again, first);
    assert.equal(new Set(first.values()).size, 5, "the keys reach every server");
  });

  it("agrees between separately created instances, with the servers listed in any order", () => {
    const a = assign(new RendezvousHash<FakeServer>(), five());
    const b = assign(new RendezvousHash<FakeServer>(), five().reverse());
    assert.deepEqual(b, a);
  });

  it("pins a known mapping, so other processes and versions agree", () => {
    const list = five();
    const got = ["alice", "bob", "carol", "dave"].map((k) => rendezvousPick(list, k)!.address);
    // Changing these reshuffles every hashed key in a rolling upgrade: only ever on purpose.
    assert.deepEqual(got, ["10.0.0.5:80", "10.0.0.4:80", "10.0.0.3:80", "10.0.0.5:80"]);
  });

  it("removing one of 5 servers moves only the keys that were on it", () => {
    const policy = new RendezvousHash<FakeServer>();
    const list = five();
    const before = assign(policy, list);
    const gone = list[2].address;
    const after = assign(policy, list.filter((_, i) => i !== 2));
    let moved = 0;
    for (const k of KEYS) {
      if (before.get(k) === gone) {
        assert.notEqual(after.get(k), gone);
        moved++;
      } else assert.equal(after.get(k), before.get(k), `key ${k} moved`);
    }
    assert.ok(moved > 0);
  });

  it("adding a 6th server moves keys only to it, about 1/6 of them (±3 points of 3000)", () => {
    const policy = new RendezvousHash<FakeServer>();
    const list = five();
    const before = assign(policy, list);
    const after = assign(policy, [...list, new FakeServer("10.0.0.6:80")]);
    let moved = 0;
    for (const k of KEYS) {
      if (after.get(k) === before.get(k)) continue;
      assert.equal(after.get(k), "10.0.0.6:80", `key ${k} moved between old servers`);
      moved++;
    }
    assert.ok(Math.abs(moved / KEYS.length - 1 / 6) <= 0.03, `moved ${moved} of ${KEYS.length}`);
  });

  it("sends a skipped server's keys to their runner-up, and only those keys", () => {
    const policy = new RendezvousHash<FakeServer>();
    const list = five();
    const before = assign(policy, list);
    const without = assign(policy, list.filter((_, i) => i !== 1));
    list[1].up = false;
    assert.deepEqual(assign(policy, list), without, "unavailable behaves like removed");
    list[1].up = true;
    assert.deepEqual(assign(policy, list, new Set([list[1]])), without, "excluded behaves like removed");
    assert.deepEqual(assign(policy, list), before, "and the keys come back when it returns");
  });

  it("changing one server's weight (slow start) moves keys only to or from that server", () => {
    const policy = new RendezvousHash<FakeServer>();
    const list = five();
    const target = list[3];
    target.weight = 0.2;
    const low = assign(policy, list);
    target.weight = 1;
    const full = assign(policy, list);
    let gained = 0;
    for (const k of KEYS) {
      if (low.get(k) === full.get(k)) continue;
      assert.equal(full.get(k), target.address, `key ${k} moved between other servers`);
      gained++;
    }
    // Share 0.2/4.2 ≈ 4.8% → 1/5 = 20%: about 15% of the keys move to it.
    assert.ok(gained > 0.1 * KEYS.length && gained < 0.2 * KEYS.length, `gained ${gained}`);
  });

  it("hashes the empty string as a key like any other", () => {
    const policy = new RendezvousHash<FakeServer>();
    const list = five();
    const s = policy.pick(list, { hashKey: "" });
    for (let i = 0; i < 10; i++) assert.equal(policy.pick(list, { hashKey: "" }), s);
  });

  it("falls back to round robin for a request without a key", () => {
    const policy = new RendezvousHash<FakeServer>();
    const list = servers({ a: 1, b: 1, c: 1 });
    let seq = "";
    for (let i = 0; i < 6; i++) seq += policy.pick(list, { clientAddr: "10.0.0.1" })!.address;
    assert.equal(seq, "abcabc", "the client address is not the key of balance: hash");
  });
});
