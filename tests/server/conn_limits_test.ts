import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConnLimits } from "../../lib/server/conn_limits.ts";
import { FdBudget, readOpenFileLimit } from "../../lib/server/fd_budget.ts";

const LIMITS = { max_conns: 3, max_conns_per_ip: 2 };

describe("ConnLimits", () => {
  it("admit() lets in up to max_conns_per_ip from one address, then refuses with 429's kind", () => {
    const logs: string[] = [];
    const limits = new ConnLimits(new FdBudget(null), (m) => logs.push(m));
    assert.equal(limits.admit("10.0.0.1", LIMITS), null);
    assert.equal(limits.admit("10.0.0.1", LIMITS), null);
    const refused = limits.admit("10.0.0.1", LIMITS);
    assert.equal(refused?.kind, "too_many_conns_from_ip");
    assert.equal(refused?.status, 429);
    assert.deepEqual(logs, ["refused connections from 10.0.0.1: 2 open (max_conns_per_ip)"]);
    limits.release("10.0.0.1");
    assert.equal(limits.admit("10.0.0.1", LIMITS), null, "a released place is not free again");
  });

  it("admit() refuses over max_conns whatever the address, with 503's kind", () => {
    const limits = new ConnLimits(new FdBudget(null), () => {});
    for (const ip of ["a", "b", "c"]) assert.equal(limits.admit(ip, LIMITS), null);
    const refused = limits.admit("d", LIMITS);
    assert.equal(refused?.kind, "listener_full");
    assert.equal(refused?.status, 503);
    limits.release("b");
    assert.equal(limits.admit("d", LIMITS), null);
    assert.equal(limits.open, 3);
  });

  it("admit() with max_conns_per_ip 0 puts no bound on one address", () => {
    const limits = new ConnLimits(new FdBudget(null), () => {});
    for (let i = 0; i < 3; i++) assert.equal(limits.admit("a", { max_conns: 3, max_conns_per_ip: 0 }), null);
  });

  it("admit() refuses when the shared descriptor budget is spent, across listeners", () => {
    const budget = new FdBudget(128 + 2 * 16); // 16 client connections
    const a = new ConnLimits(budget, () => {});
    const b = new ConnLimits(budget, () => {});
    const wide = { max_conns: 100, max_conns_per_ip: 0 };
    for (let i = 0; i < 10; i++) assert.equal(a.admit("x", wide), null);
    for (let i = 0; i < 6; i++) assert.equal(b.admit("y", wide), null);
    assert.match(b.admit("y", wide)?.message ?? "", /open-file limit/);
    a.release("x");
    assert.equal(b.admit("y", wide), null);
  });

  it("logs a flood of refusals once, then with a count", () => {
    const logs: string[] = [];
    const limits = new ConnLimits(new FdBudget(null), (m) => logs.push(m));
    const one = { max_conns: 1, max_conns_per_ip: 0 };
    limits.admit("a", one);
    for (let i = 0; i < 50; i++) limits.admit("b", one);
    assert.equal(logs.length, 1);
  });
});

describe("FdBudget", () => {
  it("leaves a reserve and counts two descriptors per connection", () => {
    assert.equal(new FdBudget(1024).max, 448);
    assert.equal(new FdBudget(20_000).max, 9936);
    assert.equal(new FdBudget(64).max, 16, "a tiny limit still serves a few");
    assert.equal(new FdBudget(null).max, Infinity);
  });

  it("readOpenFileLimit() reads the soft limit from /proc/self/limits text", () => {
    const text = "Limit                     Soft Limit           Hard Limit           Units\n" +
      "Max open files            1024                 524288               files\n";
    assert.equal(readOpenFileLimit(text), 1024);
    assert.equal(readOpenFileLimit("Max open files            unlimited            unlimited            files\n"), null);
    assert.equal(readOpenFileLimit("nothing here"), null);
  });
});
