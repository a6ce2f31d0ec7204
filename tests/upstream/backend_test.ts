import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type BackendConfig, defaultBackend, type HealthConfig, type ServerConfig } from "../../lib/config/types.ts";
import { Backend, type NoServer } from "../../lib/upstream/backend.ts";
import type { UpstreamServer } from "../../lib/upstream/server.ts";
import { type DnsServer, startDnsServer } from "../_helpers/dns_server.ts";
import { settlesWithin } from "../_helpers/loopback.ts";

/** A hung test fails instead of blocking the run (Bun has a 5 s default; Deno none). */
const T = { timeout: 15_000 };

/** Active checks configured but never started (no `start()`): the test feeds results by hand. */
const HEALTH: HealthConfig = { type: "tcp", path: "/", expect_status: [[200, 399]], interval: 60_000, timeout: 1_000, rise: 2, fall: 3 };

function srv(address: string, over: Partial<ServerConfig> = {}): ServerConfig {
  const colon = address.lastIndexOf(":");
  return { address, hostname: address.slice(0, colon), port: Number(address.slice(colon + 1)), weight: 1, max_conns: 0, ...over };
}

/** A backend config; `over.max_conns` also becomes the `max_conns` of servers given as strings (as the config loader does). */
function cfg(addresses: (string | ServerConfig)[], over: Partial<BackendConfig> = {}): BackendConfig {
  const servers = addresses.map((a) => (typeof a === "string" ? srv(a, { max_conns: over.max_conns ?? 0 }) : a));
  return { ...defaultBackend("app", servers), ...over };
}

/** Backends built by a test, stopped when it ends. */
class Harness {
  readonly logs: string[] = [];
  readonly log = (m: string): void => void this.logs.push(m);
  #made: Backend[] = [];

  /** A live backend (activated, as startServer and a committed reload do), unless `inactive`. */
  backend(c: BackendConfig, opts: { previous?: Backend; resolver?: { hostname: string; port: number }; inactive?: boolean } = {}): Backend {
    const b = new Backend(c, { ...opts, log: this.log });
    if (!opts.inactive) b.activate();
    this.#made.push(b);
    return b;
  }

  stop(): void {
    for (const b of this.#made) b.stop();
  }
}

async function withHarness(fn: (h: Harness) => Promise<void> | void): Promise<void> {
  const h = new Harness();
  try {
    await fn(h);
  } finally {
    h.stop();
  }
}

const addressesOf = (b: Backend): string[] => b.servers.map((s) => s.address);

function picks(b: Backend, n: number, exclude?: ReadonlySet<UpstreamServer>, sticky?: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(b.pick({}, exclude, sticky)?.address ?? "-");
  return out;
}

/** Polls `cond` until it holds, failing after `ms`. */
async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function isServer(r: UpstreamServer | NoServer): r is UpstreamServer {
  return typeof r !== "string";
}

async function acquired(p: Promise<UpstreamServer | NoServer>): Promise<UpstreamServer> {
  const r = await p;
  assert.ok(isServer(r), `expected a server, got ${String(r)}`);
  return r;
}

describe("Backend servers", () => {
  it("servers lists one server per config entry, in config order", () =>
    withHarness((h) => {
      const b = h.backend(cfg(["10.0.0.2:80", "10.0.0.1:80", "10.0.0.3:8080"]));
      assert.deepEqual(addressesOf(b), ["10.0.0.2:80", "10.0.0.1:80", "10.0.0.3:8080"]);
    }));

  it("server ids are 16 hex digits, stable for a backend and address, different across backends", () =>
    withHarness((h) => {
      const a = h.backend(cfg(["10.0.0.1:80", "10.0.0.2:80"]));
      const again = h.backend(cfg(["10.0.0.2:80", "10.0.0.1:80"]));
      const other = h.backend({ ...cfg(["10.0.0.1:80"]), name: "other" });
      for (const s of a.servers) assert.match(s.id, /^[0-9a-f]{16}$/);
      assert.notEqual(a.servers[0].id, a.servers[1].id);
      assert.equal(again.servers[1].id, a.servers[0].id, "same backend name and address: same id");
      assert.notEqual(other.servers[0].id, a.servers[0].id);
      assert.ok(!a.servers[0].id.includes("10.0.0.1"));
    }));
});

describe("Backend.pick", () => {
  it("pick() goes round robin over the available servers", () =>
    withHarness((h) => {
      const b = h.backend(cfg(["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"]));
      assert.deepEqual(picks(b, 6), ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"]);
      b.servers[1].draining = true;
      assert.ok(!picks(b, 6).includes("10.0.0.2:80"), "pick() skips unavailable servers");
    }));

  it("pick() returns the server a sticky id names while it is available", () =>
    withHarness((h) => {
      const b = h.backend(cfg(["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"]));
      const want = b.servers[2];
      assert.deepEqual(picks(b, 5, undefined, want.id), Array(5).fill(want.address));
    }));

  it("pick() falls back to the policy when the sticky server is unavailable, excluded or unknown", () =>
    withHarness((h) => {
      const b = h.backend(cfg(["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"]));
      const [s1, s2, s3] = b.servers;
      assert.deepEqual(new Set(picks(b, 6, undefined, "0000000000000000")), new Set([s1.address, s2.address, s3.address]), "unknown id");
      assert.deepEqual(new Set(picks(b, 4, new Set([s3]), s3.id)), new Set([s1.address, s2.address]), "excluded");
      b.reportFailure(s3, "boom");
      assert.deepEqual(new Set(picks(b, 4, undefined, s3.id)), new Set([s1.address, s2.address]), "passively down");
    }));

  it("pick() does not take a full sticky server", () =>
    withHarness(async (h) => {
      const b = h.backend(cfg(["10.0.0.1:80", "10.0.0.2:80"], { max_conns: 1 }));
      const [s1, s2] = b.servers;
      assert.equal(await b.acquire({}, undefined, s1.id), s1);
      assert.equal(b.pick({}, undefined, s1.id), s2);
    }));

  it("pick() fails open when every server is passively down", () =>
    withHarness((h) => {
      const b = h.backend(cfg(["10.0.0.1:80", "10.0.0.2:80"]));
      for (const s of b.servers) b.reportFailure(s, "boom");
      assert.ok(b.servers.every((s) => !s.available()));
      assert.deepEqual(new Set(picks(b, 4)), new Set(["10.0.0.1:80", "10.0.0.2:80"]), "both still picked, in turn");
      assert.ok(b.servers.every((s) => !s.available() && !s.ignorePassive), "the marks are only ignored during the pick");
      assert.equal(b.pick({}, new Set([b.servers[0]]))?.address, "10.0.0.2:80", "exclusions still hold");
    }));

  it("pick() does not fail open while one server is healthy but full", () =>
    withHarness(async (h) => {
      const b = h.backend(cfg(["10.0.0.1:80", "10.0.0.2:80"], { max_conns: 1 }));
      const [s1, s2] = b.servers;
      b.reportFailure(s1, "boom");
      assert.equal(await b.acquire({}), s2);
      assert.equal(b.pick({}), null);
    }));

  it("pick() never picks an actively-down server, even when failing open", () =>
    withHarness((h) => {
      const b = h.backend(cfg(["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"], { health: HEALTH }));
      const [s1, s2, s3] = b.servers;
      assert.equal(s1.recordCheck(false), "down");
      b.reportFailure(s2, "boom");
      b.reportFailure(s3, "boom");
      const got = picks(b, 10);
      assert.ok(!got.includes(s1.address), `picked ${got.join(" ")}`);
      assert.deepEqual(new Set(got), new Set([s2.address, s3.address]));
      assert.equal(b.pick({}, new Set([s2, s3])), null, "the actively-down one is left");
      s2.recordCheck(false);
      s3.recordCheck(false);
      assert.equal(b.pick({}), null, "all actively down");
    }));

  it("reportFailure() logs when it marks a server down", () =>
    withHarness((h) => {
      const b = h.backend(cfg(["10.0.0.1:80"], { passive: { max_fails: 2, fail_timeout: 10_000, fail_status: [] } }));
      const s = b.servers[0];
      b.reportFailure(s, `cannot connect to upstream "10.0.0.1:80": connection refused`);
      assert.deepEqual(h.logs, []);
      b.reportFailure(s, `cannot connect to upstream "10.0.0.1:80": connection refused`);
      assert.deepEqual(h.logs, [
        `backend "app": server "10.0.0.1:80" marked down for 10000 ms after 2 failed requests: cannot connect to upstream "10.0.0.1:80": connection refused`,
      ]);
      assert.equal(s.stats.failures, 2);
    }));
});

describe("Backend passive marks in the log", () => {
  const passive = { max_fails: 1, fail_timeout: 50, fail_status: [] };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("release() logs once when the trial request after fail_timeout succeeds", T, () =>
    withHarness(async (h) => {
      const b = h.backend(cfg(["10.0.0.1:80", "10.0.0.2:80"], { passive }));
      const s = b.servers[0];
      b.reportFailure(s, "boom");
      await sleep(70);
      const trial = await acquired(b.acquire({}, new Set([b.servers[1]])));
      assert.equal(trial, s);
      b.release(trial);
      const after = await acquired(b.acquire({}, new Set([b.servers[1]])));
      b.release(after);
      assert.deepEqual(h.logs, [
        `backend "app": server "10.0.0.1:80" marked down for 50 ms after 1 failed request: boom`,
        `backend "app": server "10.0.0.1:80" is up again: a request succeeded after fail_timeout`,
      ]);
    }));

  it("release() logs a failed trial as marked down again, and not as up", T, () =>
    withHarness(async (h) => {
      const b = h.backend(cfg(["10.0.0.1:80"], { passive: { ...passive, max_fails: 2 } }));
      const s = b.servers[0];
      b.reportFailure(s, "boom");
      b.reportFailure(s, "boom");
      await sleep(70);
      const trial = await acquired(b.acquire({}));
      b.reportFailure(trial, "boom again");
      b.release(trial);
      assert.deepEqual(h.logs, [
        `backend "app": server "10.0.0.1:80" marked down for 50 ms after 2 failed requests: boom`,
        `backend "app": server "10.0.0.1:80" marked down again for 50 ms: the first request after the last mark failed too`,
      ]);
    }));

  it("release() of requests that never followed a mark logs nothing", T, () =>
    withHarness(async (h) => {
      const b = h.backend(cfg(["10.0.0.1:80"], { passive }));
      for (let i = 0; i < 3; i++) b.release(await acquired(b.acquire({})));
      assert.deepEqual(h.logs, []);
    }));
});

describe("Backend fail-open while a trial runs", () => {
  const passive = { max_fails: 1, fail_timeout: 50, fail_status: [] };
  /** The end of a 50 ms mark: nothing announces it, so poll the server's own verdict. */
  const markEnded = (s: UpstreamServer) => waitFor(() => s.healthy(), 2_000, `the mark on ${s.address} to end`);

  it("acquire() still gives the only server to other requests while its trial after a mark is in flight", T, () =>
    withHarness(async (h) => {
      const b = h.backend(cfg(["10.0.0.1:80"], { passive }));
      const s = b.servers[0];
      b.reportFailure(s, "boom");
      assert.equal(b.pick({}), s, "fail-open during the mark");
      await markEnded(s);
      const trial = await acquired(b.acquire({}));
      assert.equal(trial, s);
      assert.equal(s.available(), false, "on its own the server takes one request at a time while the trial runs");
      // Before the fix these got "none" (a 503) until the trial's response came back.
      const others = [await b.acquire({}), await b.acquire({}), await b.acquire({})];
      assert.deepEqual(others, [s, s, s]);
      assert.equal(s.inflight, 4);
      assert.ok(!s.ignorePassive, "the marks are only ignored during the pick");
      for (const o of [trial, ...others]) b.release(o as UpstreamServer);
      assert.equal(s.inflight, 0);
      assert.deepEqual(h.logs, [
        `backend "app": server "10.0.0.1:80" marked down for 50 ms after 1 failed request: boom`,
        `backend "app": server "10.0.0.1:80" is up again: a request succeeded after fail_timeout`,
      ]);
    }));

  it("pick() fails open over servers that are marked down or on trial, never over an actively-down one", T, () =>
    withHarness(async (h) => {
      const b = h.backend(cfg(["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"], { passive, health: HEALTH }));
      const [s1, s2, s3] = b.servers;
      assert.equal(s3.recordCheck(false), "down");
      b.reportFailure(s1, "boom");
      await markEnded(s1);
      assert.equal(await b.acquire({}, new Set([s2])), s1, "s1's trial");
      b.reportFailure(s2, "boom");
      const got = picks(b, 8);
      assert.deepEqual(new Set(got), new Set([s1.address, s2.address]), `picked ${got.join(" ")}`);
    }));

  it("pick() keeps the recovering server to its one trial while another server is available", T, () =>
    withHarness(async (h) => {
      const b = h.backend(cfg(["10.0.0.1:80", "10.0.0.2:80"], { passive }));
      const [s1, s2] = b.servers;
      b.reportFailure(s1, "boom");
      await markEnded(s1);
      assert.equal(await b.acquire({}, new Set([s2])), s1, "s1's trial");
      assert.deepEqual(picks(b, 4), Array(4).fill(s2.address));
      assert.equal(b.pick({}, new Set([s2])), s1, "a retry that already tried s2 fails open to s1");
    }));

  it("a full server on trial still makes requests queue (max_conns applies when failing open)", T, () =>
    withHarness(async (h) => {
      const b = h.backend(cfg(["10.0.0.1:80"], { passive, max_conns: 1, queue_timeout: 5_000 }));
      const s = b.servers[0];
      b.reportFailure(s, "boom");
      await markEnded(s);
      const trial = await acquired(b.acquire({}));
      const waiting = b.acquire({});
      assert.equal(await settlesWithin(waiting, 50), false, "waits for room instead of exceeding max_conns");
      b.release(trial);
      assert.equal(await waiting, s);
    }));
});

describe("Backend.acquire", () => {
  it("acquire() counts the request in flight until release()", T, () =>
    withHarness(async (h) => {
      const b = h.backend(cfg(["10.0.0.1:80"]));
      const s = await acquired(b.acquire({}));
      const s2 = await acquired(b.acquire({}));
      assert.equal(s2, s);
      assert.equal(s.inflight, 2);
      assert.equal(s.stats.requests, 2);
      b.release(s);
      b.release(s);
      assert.equal(s.inflight, 0);
      assert.equal(s.stats.requests, 2, "requests is a total, not a gauge");
    }));

  it("acquire() waits for a server at max_conns and gets it when it is released", T, () =>
    withHarness(async (h) => {
      const b = h.backend(cfg([srv("10.0.0.1:80", { max_conns: 1 })], { queue_timeout: 5_000 }));
      const s = await acquired(b.acquire({}));
      const second = b.acquire({});
      assert.equal(await settlesWithin(second, 50), false, "waits while the server is full");
      assert.equal(s.inflight, 1);
      b.release(s);
      assert.equal(await second, s);
      assert.equal(s.inflight, 1);
      assert.equal(s.stats.requests, 2);
    }));

  it("waiters get a freed server in the order they came (FIFO)", T, () =>
    withHarness(async (h) => {
      const b = h.backend(cfg([srv("10.0.0.1:80", { max_conns: 1 })], { queue_timeout: 5_000 }));
      const s = await acquired(b.acquire({}));
      const order: number[] = [];
      const waiters = [1, 2, 3].map((i) =>
        b.acquire({}).then((r) => {
          order.push(i);
          return r;
        })
      );
      for (let i = 0; i < 3; i++) {
        b.release(s);
        assert.equal(await waiters[i], s, `waiter ${i + 1} gets the server`);
        assert.deepEqual(order, [1, 2, 3].slice(0, i + 1));
        assert.equal(s.inflight, 1);
      }
    }));

  it("acquire() returns \"queue_timeout\" when no server frees up within queue_timeout", T, () =>
    withHarness(async (h) => {
      const b = h.backend(cfg([srv("10.0.0.1:80", { max_conns: 1 })], { queue_timeout: 100 }));
      const s = await acquired(b.acquire({}));
      const t0 = Date.now();
      assert.equal(await b.acquire({}), "queue_timeout");
      const waited = Date.now() - t0;
      assert.ok(waited >= 90, `gave up after ${waited} ms, before queue_timeout`);
      assert.ok(waited < 2_000, `gave up only after ${waited} ms`);
      assert.equal(s.inflight, 1, "the timed-out request took nothing");
      b.release(s);
      assert.equal(await b.acquire({}), s, "a later request gets the server at once");
    }));

  it("a woken waiter that cannot use the freed server passes the wake-up on", T, () =>
    withHarness(async (h) => {
      const b = h.backend(cfg(["10.0.0.1:80", "10.0.0.2:80"], { max_conns: 1, queue_timeout: 1_500 }));
      const [s1, s2] = b.servers;
      assert.equal(await b.acquire({}), s1);
      assert.equal(await b.acquire({}), s2);
      // A retry that already tried s1 queues first, then a fresh request.
      const retry = b.acquire({}, new Set([s1]));
      const fresh = b.acquire({});
      assert.equal(await settlesWithin(Promise.race([retry, fresh]), 30), false);
      const t0 = Date.now();
      b.release(s1);
      assert.equal(await fresh, s1, "the fresh request gets the freed s1");
      const waited = Date.now() - t0;
      assert.ok(waited < 1_000, `s1 was free but the fresh request waited ${waited} ms`);
      b.release(s2);
      assert.equal(await retry, s2);
    }));

  it("acquire() returns \"none\" at once when no server is available and none is merely full", T, () =>
    withHarness(async (h) => {
      const b = h.backend(cfg(["10.0.0.1:80", "10.0.0.2:80"], { health: HEALTH, max_conns: 1 }));
      const [s1, s2] = b.servers;
      const t0 = Date.now();
      assert.equal(await b.acquire({}, new Set([s1, s2])), "none", "every server excluded");
      assert.equal(await acquired(b.acquire({}, new Set([s2]))), s1);
      s2.recordCheck(false);
      assert.equal(await b.acquire({}, new Set([s1])), "none", "the full one is excluded, the other actively down");
      b.release(s1);
      s1.recordCheck(false);
      assert.equal(await b.acquire({}), "none", "all actively down");
      assert.ok(Date.now() - t0 < 1_000, "no waiting for queue_timeout (10 s)");
    }));

  it("acquire() waits when the only servers up are full, even with others down", T, () =>
    withHarness(async (h) => {
      const b = h.backend(cfg(["10.0.0.1:80", "10.0.0.2:80"], { health: HEALTH, max_conns: 1, queue_timeout: 5_000 }));
      const [s1, s2] = b.servers;
      s1.recordCheck(false);
      assert.equal(await b.acquire({}), s2);
      const waiting = b.acquire({});
      assert.equal(await settlesWithin(waiting, 50), false);
      b.release(s2);
      assert.equal(await waiting, s2);
    }));

  it("stop() ends waits with \"none\"", T, () =>
    withHarness(async (h) => {
      const b = h.backend(cfg([srv("10.0.0.1:80", { max_conns: 1 })], { queue_timeout: 5_000 }));
      await acquired(b.acquire({}));
      const waiting = b.acquire({});
      assert.equal(await settlesWithin(waiting, 30), false);
      b.stop();
      assert.equal(await waiting, "none");
    }));
});

describe("Backend.maxAttempts", () => {
  it("maxAttempts is the number of servers with retries auto, else 1 + retries", () =>
    withHarness((h) => {
      const three = ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"];
      assert.equal(h.backend(cfg(three)).maxAttempts, 3);
      assert.equal(h.backend(cfg(["10.0.0.1:80"])).maxAttempts, 1);
      assert.equal(h.backend(cfg(three, { retries: 0 })).maxAttempts, 1);
      assert.equal(h.backend(cfg(three, { retries: 1 })).maxAttempts, 2);
      assert.equal(h.backend(cfg(["10.0.0.1:80"], { retries: 4 })).maxAttempts, 5);
    }));
});

describe("Backend reload takeover", () => {
  it("a reloaded backend keeps the server objects, in-flight counts, counters and verdicts of addresses that stay", T, () =>
    withHarness(async (h) => {
      const b1 = h.backend(cfg(["10.0.0.1:80", "10.0.0.2:80"], { health: HEALTH }));
      const [a, c] = b1.servers;
      assert.equal(await b1.acquire({}, undefined, a.id), a);
      a.recordFailure();
      c.recordCheck(false);
      const b2 = h.backend(cfg(["10.0.0.2:80", "10.0.0.3:80", "10.0.0.1:80"], { health: HEALTH }), { previous: b1 });
      assert.deepEqual(addressesOf(b2), ["10.0.0.2:80", "10.0.0.3:80", "10.0.0.1:80"]);
      assert.equal(b2.servers[2], a, "same object for 10.0.0.1");
      assert.equal(b2.servers[0], c, "same object for 10.0.0.2");
      assert.equal(a.inflight, 1);
      assert.equal(a.stats.requests, 1);
      assert.equal(a.stats.failures, 1);
      assert.equal(a.healthy(), false, "passive mark kept");
      assert.equal(c.activeUp(), false, "active verdict kept");
      assert.equal(c.recordCheck(true), null, "still needs rise 2 to come up");
      assert.equal(c.recordCheck(true), "up");
      b1.release(a);
      assert.equal(a.inflight, 0);
    }));

  it("a reload applies the new settings to servers that stay", () =>
    withHarness((h) => {
      const b1 = h.backend(cfg(["10.0.0.1:80"]));
      const a = b1.servers[0];
      const b2 = h.backend(cfg([srv("10.0.0.1:80", { weight: 7, max_conns: 1 })]), { previous: b1 });
      assert.equal(b2.servers[0], a);
      assert.equal(a.weight, 7);
      a.inflight = 1;
      assert.equal(a.available(), false, "new max_conns 1");
      a.inflight = 0;
    }));

  it("a server added by a reload ramps up with slow_start; one that stays does not", () =>
    withHarness((h) => {
      const b1 = h.backend(cfg(["10.0.0.1:80"]));
      const b2 = h.backend(cfg(["10.0.0.1:80", "10.0.0.2:80"], { slow_start: 60_000 }), { previous: b1 });
      const [kept, added] = b2.servers;
      assert.equal(kept.weight, 1);
      assert.ok(added.weight > 0 && added.weight < 0.5, `weight of the new server: ${added.weight}`);
    }));

  it("a server that left the config drains: not picked, still releasable", T, () =>
    withHarness(async (h) => {
      const b1 = h.backend(cfg(["10.0.0.1:80", "10.0.0.2:80"]));
      const [a, gone] = b1.servers;
      assert.equal(await b1.acquire({}, undefined, gone.id), gone);
      const b2 = h.backend(cfg(["10.0.0.1:80"]), { previous: b1 });
      assert.equal(gone.draining, true);
      assert.equal(a.draining, false);
      assert.deepEqual(addressesOf(b2), ["10.0.0.1:80"]);
      assert.deepEqual(picks(b2, 3), ["10.0.0.1:80", "10.0.0.1:80", "10.0.0.1:80"]);
      assert.equal(b2.pick({}, undefined, gone.id), a, "a sticky cookie for it goes elsewhere");
      b1.release(gone);
      assert.equal(gone.inflight, 0);
    }));

  it("a drained server that comes back before it is idle is the same object again", T, () =>
    withHarness(async (h) => {
      const b1 = h.backend(cfg(["10.0.0.1:80", "10.0.0.2:80"]));
      const gone = b1.servers[1];
      assert.equal(await b1.acquire({}, undefined, gone.id), gone);
      const b2 = h.backend(cfg(["10.0.0.1:80"]), { previous: b1 });
      const b3 = h.backend(cfg(["10.0.0.1:80", "10.0.0.2:80"]), { previous: b2 });
      assert.equal(b3.servers[1], gone);
      assert.equal(gone.draining, false);
      assert.equal(gone.inflight, 1);
      assert.equal(gone.stats.requests, 1);
      b3.release(gone);
    }));

  it("a drained server is forgotten once idle: coming back later, it starts afresh", T, () =>
    withHarness(async (h) => {
      const b1 = h.backend(cfg(["10.0.0.1:80", "10.0.0.2:80"]));
      const gone = b1.servers[1];
      assert.equal(await b1.acquire({}, undefined, gone.id), gone);
      const b2 = h.backend(cfg(["10.0.0.1:80"]), { previous: b1 });
      b1.release(gone);
      const b3 = h.backend(cfg(["10.0.0.1:80", "10.0.0.2:80"]), { previous: b2 });
      assert.equal(b3.servers[0], b1.servers[0]);
      assert.notEqual(b3.servers[1], gone);
      assert.equal(b3.servers[1].stats.requests, 0);
      assert.equal(b3.servers[1].draining, false);
    }));

  it("release() wakes the queue of the backend that owns the server now", T, () =>
    withHarness(async (h) => {
      const c = cfg([srv("10.0.0.1:80", { max_conns: 1 })], { queue_timeout: 3_000 });
      const b1 = h.backend(c);
      const s = await acquired(b1.acquire({}));
      const b2 = h.backend(c, { previous: b1 });
      assert.equal(b2.servers[0], s);
      const waiting = b2.acquire({});
      assert.equal(await settlesWithin(waiting, 30), false, "the server is still full");
      const t0 = Date.now();
      b1.release(s);
      assert.equal(await waiting, s);
      assert.ok(Date.now() - t0 < 1_000, "woken by the release, not by queue_timeout");
    }));

  it("reclaim() makes the previous backend the owner again", T, () =>
    withHarness(async (h) => {
      const c = cfg([srv("10.0.0.1:80", { max_conns: 1 })], { queue_timeout: 3_000 });
      const b1 = h.backend(c);
      const s = await acquired(b1.acquire({}));
      const b2 = h.backend(c, { previous: b1 });
      b2.stop();
      b1.reclaim();
      const waiting = b1.acquire({});
      assert.equal(await settlesWithin(waiting, 30), false, "the server is still full");
      const t0 = Date.now();
      b1.release(s);
      assert.equal(await waiting, s);
      assert.ok(Date.now() - t0 < 1_000, "b1's queue woken by the release, not by queue_timeout");
    }));

  it("reclaim() after an abandoned reload puts servers the new config dropped back in rotation", () =>
    withHarness((h) => {
      const b1 = h.backend(cfg(["10.0.0.1:80", "10.0.0.2:80"]));
      const dropped = b1.servers[1];
      const b2 = h.backend(cfg(["10.0.0.1:80"]), { previous: b1 });
      assert.equal(dropped.draining, true);
      b2.stop();
      b1.reclaim();
      assert.equal(dropped.draining, false, "still draining after reclaim()");
      assert.deepEqual(new Set(picks(b1, 4)), new Set(["10.0.0.1:80", "10.0.0.2:80"]));
    }));

  it("reclaim() after an abandoned reload restores the running configuration's server settings", () =>
    withHarness((h) => {
      const b1 = h.backend(cfg(["10.0.0.1:80"]));
      const s = b1.servers[0];
      const b2 = h.backend(cfg([srv("10.0.0.1:80", { weight: 9, max_conns: 1 })]), { previous: b1 });
      b2.stop();
      b1.reclaim();
      assert.equal(s.weight, 1, "weight of the abandoned config kept");
      s.inflight = 1;
      assert.equal(s.available(), true, "max_conns of the abandoned config kept");
      s.inflight = 0;
    }));
});

describe("Backend DNS names", () => {
  let dns: DnsServer;
  before(async () => {
    dns = await startDnsServer();
  });
  after(() => dns.close());

  const PORT = 8080;
  const named = (over: Partial<BackendConfig> = {}) => cfg([srv(`app.test:${PORT}`)], { resolve_interval: 1_000, ...over });
  const at = (...ips: string[]) => ips.map((ip) => `${ip}:${PORT}`);

  it("start() resolves a name into one server per address", T, () =>
    withHarness(async (h) => {
      dns.set("app.test", { a: ["10.0.0.2", "10.0.0.1"] });
      const b = h.backend(named(), { resolver: dns.hostPort });
      assert.deepEqual(addressesOf(b), [], "nothing before start()");
      await b.start();
      assert.deepEqual(addressesOf(b), at("10.0.0.1", "10.0.0.2"));
      for (const s of b.servers) {
        assert.equal(s.origin, `app.test:${PORT}`);
        assert.equal(s.port, PORT);
      }
      assert.equal(b.maxAttempts, 2);
      assert.deepEqual(h.logs, []);
    }));

  it("a reload from a literal address to a name for it leaves the running backend alone until activate(), then takes the server over", T, () =>
    withHarness(async (h) => {
      dns.set("app.test", { a: ["10.0.0.1"] });
      const old = h.backend(cfg([`10.0.0.1:${PORT}`]));
      const server = old.servers[0];
      server.recordFailure();
      const next = h.backend(named(), { previous: old, resolver: dns.hostPort, inactive: true });
      assert.equal(server.draining, false, "the running backend's server must not drain before the reload commits");
      assert.equal(old.pick({}), server);
      await next.start();
      assert.equal(next.servers[0], server, "the name resolved to the same address: same server, same state");
      assert.equal(server.stats.failures, 1);
      next.activate();
      assert.equal(server.draining, false);
      assert.equal(next.pick({}), server);
    }));

  it("a name that resolves to an address another entry lists is reported once and left to that entry", T, () =>
    withHarness(async (h) => {
      dns.set("app.test", { a: ["10.0.0.1", "10.0.0.9"] });
      const b = h.backend(cfg([srv(`app.test:${PORT}`, { weight: 3 }), `10.0.0.1:${PORT}`], { resolve_interval: 1_000 }), { resolver: dns.hostPort });
      await b.start();
      assert.deepEqual(addressesOf(b), at("10.0.0.9", "10.0.0.1"));
      assert.deepEqual(b.servers.map((s) => s.settings.weight), [3, 1]);
      const line = `backend "app": "app.test:${PORT}" resolves to 10.0.0.1:${PORT}, which servers[1] ("10.0.0.1:${PORT}") already stands for; only that entry's settings apply`;
      assert.deepEqual(h.logs, [line]);
      const queries = dns.queries;
      await waitFor(() => dns.queries >= queries + 2, 5_000, "the next lookup");
      assert.deepEqual(h.logs, [line], "reported once");
    }));

  it("activate() drains the previous backend's servers that no entry claimed", T, () =>
    withHarness((h) => {
      const old = h.backend(cfg(["10.0.0.1:1", "10.0.0.2:2"]));
      const [stays, goes] = old.servers;
      const next = h.backend(cfg(["10.0.0.1:1"]), { previous: old, inactive: true });
      assert.equal(goes.draining, false);
      next.activate();
      assert.equal(goes.draining, true);
      assert.equal(stays.draining, false);
      assert.deepEqual(addressesOf(next), ["10.0.0.1:1"]);
    }));

  it("a changed answer adds new addresses (ramping up) and drains the ones that left", T, () =>
    withHarness(async (h) => {
      dns.set("app.test", { a: ["10.0.0.1", "10.0.0.2"] });
      const b = h.backend(named({ slow_start: 60_000 }), { resolver: dns.hostPort });
      await b.start();
      const [left, stays] = b.servers;
      assert.ok(b.servers.every((s) => s.weight === 1), "servers resolved at start do not ramp");
      dns.set("app.test", { a: ["10.0.0.2", "10.0.0.3"] });
      await waitFor(() => addressesOf(b).includes("10.0.0.3:8080"), 5_000, "10.0.0.3 to appear");
      assert.deepEqual(addressesOf(b), at("10.0.0.2", "10.0.0.3"));
      assert.equal(b.servers[0], stays, "the address that stayed keeps its server");
      assert.equal(stays.weight, 1);
      assert.ok(b.servers[1].weight < 0.5, `a new address ramps up, weight ${b.servers[1].weight}`);
      assert.equal(left.draining, true);
      assert.equal(stays.draining, false);
      assert.ok(!picks(b, 4).includes(left.address));
    }));

  it("a lookup failure keeps the last known addresses and is logged once", T, () =>
    withHarness(async (h) => {
      dns.set("app.test", { a: ["10.0.0.1", "10.0.0.2"] });
      const b = h.backend(named(), { resolver: dns.hostPort });
      await b.start();
      const before = [...b.servers];
      dns.remove("app.test");
      const failure = `backend "app": cannot resolve "app.test": no such host; keeping 2 known addresses`;
      await waitFor(() => h.logs.length > 0, 5_000, "the lookup failure to be logged");
      const q = dns.queries;
      // Two more refreshes (A + AAAA each) fail the same way: the third one's first query
      // arrives only after the second one's answer was handled.
      await waitFor(() => dns.queries >= q + 3, 5_000, "two more lookups");
      assert.deepEqual(h.logs, [failure]);
      assert.deepEqual(b.servers, before);
      assert.ok(b.servers.every((s) => !s.draining));
    }));

  it("stop() ends the refreshes", T, () =>
    withHarness(async (h) => {
      dns.set("app.test", { a: ["10.0.0.1"] });
      const b = h.backend(named(), { resolver: dns.hostPort });
      const q0 = dns.queries;
      await b.start();
      await waitFor(() => dns.queries >= q0 + 3, 5_000, "a refresh after the first lookup");
      b.stop();
      // A lookup already in flight may still land; after that, nothing (resolve_interval is 1 s).
      await new Promise((r) => setTimeout(r, 200));
      const q = dns.queries;
      await new Promise((r) => setTimeout(r, 1_500));
      assert.equal(dns.queries, q, "no lookup after stop()");
    }));

  it("a reload logs nothing for the addresses a name already had; a later answer logs only what it adds", T, () =>
    withHarness(async (h) => {
      dns.set("app.test", { a: ["10.0.0.1", "10.0.0.2"] });
      const b1 = h.backend(named(), { resolver: dns.hostPort });
      await b1.start();
      const b2 = h.backend(named({ retries: 1 }), { resolver: dns.hostPort, previous: b1, inactive: true });
      b1.stop(b2);
      await b2.start();
      b2.activate();
      const queries = dns.queries;
      await waitFor(() => dns.queries >= queries + 2, 5_000, "a lookup after the reload's first");
      assert.deepEqual(h.logs, [], "kept addresses are not news");
      dns.set("app.test", { a: ["10.0.0.1", "10.0.0.2", "10.0.0.3"] });
      await waitFor(() => h.logs.length > 0, 5_000, "the changed answer to be logged");
      assert.deepEqual(h.logs, [`backend "app": "app.test:${PORT}" now resolves to 10.0.0.1, 10.0.0.2, 10.0.0.3: added 10.0.0.3:${PORT}`]);
    }));

  it("a server the running backend was draining stays draining through a reload, and is not reported again", T, () =>
    withHarness(async (h) => {
      dns.set("app.test", { a: ["10.0.0.1", "10.0.0.2"] });
      const b1 = h.backend(named(), { resolver: dns.hostPort });
      await b1.start();
      const leaving = b1.servers[1];
      leaving.begin();
      dns.set("app.test", { a: ["10.0.0.1"] });
      await waitFor(() => leaving.draining, 5_000, "10.0.0.2 to drain");
      assert.deepEqual(h.logs, [`backend "app": "app.test:${PORT}" now resolves to 10.0.0.1: draining 10.0.0.2:${PORT}`]);
      h.logs.length = 0;

      const b2 = h.backend(named(), { resolver: dns.hostPort, previous: b1, inactive: true });
      assert.deepEqual(addressesOf(b2), at("10.0.0.1"), "the draining server is not taken back into rotation");
      b1.stop(b2);
      await b2.start();
      b2.activate();
      assert.equal(leaving.draining, true);
      assert.deepEqual(addressesOf(b2), at("10.0.0.1"));
      b2.release(leaving);
      assert.deepEqual(h.logs, []);
    }));

  it("a reloaded backend keeps a name's addresses until it resolves again", T, () =>
    withHarness(async (h) => {
      dns.set("app.test", { a: ["10.0.0.1", "10.0.0.2"] });
      const b1 = h.backend(named(), { resolver: dns.hostPort });
      await b1.start();
      const b2 = h.backend(named(), { resolver: dns.hostPort, previous: b1 });
      assert.deepEqual(b2.servers, b1.servers, "same server objects, before any lookup");
      b1.stop();
      await b2.start();
      assert.deepEqual(b2.servers, b1.servers);
    }));
});
