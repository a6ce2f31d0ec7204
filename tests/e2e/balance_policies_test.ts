/**
 * Balancing policies through a real ferry: weighted shares (round_robin, random_two, least_conn),
 * `first` with failover and `max_conns` overflow, least_conn against a slow server, hashing
 * (header, cookie, query, path and client address keys; the same mapping in two processes and
 * only the minimal key moves when a server leaves or joins), sticky cookies, the `max_conns`
 * queue and its timeout (HTTP and TCP), and slow start after a reload. Every check looks at who
 * answered (the body names the server) and at what each server received.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { type BaseBackend, type HttpBackend, namedBackend, rawBackend } from "../_helpers/backends.ts";
import { type Ferry, ferryLabel, startFerry } from "../_helpers/ferry.ts";
import { delayedBackend, type HeldBackend, heldBackend } from "../_helpers/policy_backends.ts";
import { KeepAliveClient, type PolicyRequest, requestFrom, sendAll, tally, waitFor } from "../_helpers/policy_client.ts";
import { connectRaw, header, headerAll, request, type Response } from "../_helpers/raw_http.ts";

/** Client-side pacing that gives ferry time to queue a request; the checks hold without it. */
const pace = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const STICKY_RE = /^ferry_server=([0-9a-f]{16}); Path=\/; HttpOnly; SameSite=Lax$/;

const name = (res: Response) => {
  assert.equal(res.status, 200, `expected a 200 from a server: ${res.raw.toString("latin1")}`);
  assert.equal(header(res.headers, "x-backend"), res.body.toString(), "body and X-Backend disagree");
  return res.body.toString();
};

/** Requests (with their X-User, cookie, or path) a server received under the route `prefix`. */
const under = (b: HttpBackend, prefix: string) => b.requests.filter((r) => r.target.startsWith(`${prefix}/`));

/** What each backend answers (its name), set when it is created. */
const NAMES = new WeakMap<BaseBackend, string>();
const nameOf = (b: BaseBackend): string => NAMES.get(b) ?? "?";

async function named(n: string, make: (n: string) => Promise<HttpBackend> = namedBackend): Promise<HttpBackend> {
  const b = await make(n);
  NAMES.set(b, n);
  return b;
}

async function held(n: string): Promise<HeldBackend> {
  const b = await heldBackend(n);
  NAMES.set(b, n);
  return b;
}

/** Everything ferry needs, as one object so that the config can be written again for a reload. */
interface Servers {
  wrr: HttpBackend[];
  smooth: HttpBackend[];
  rtwo: HttpBackend[];
  lconn: HeldBackend[];
  first: HttpBackend[];
  fmax: HeldBackend[];
  slow: HttpBackend[];
  hash: HttpBackend[];
  /** A fifth hash server, only in the reloaded config. */
  hash5: HttpBackend;
  sticky: HttpBackend[];
  stickyKill: HttpBackend[];
  qwait: HeldBackend;
  qtime: HeldBackend;
  slowStart: HttpBackend[];
  tcp: BaseBackend;
}

function configYaml(s: Servers, variant: { hash?: HttpBackend[]; slowStart?: HttpBackend[] } = {}): string {
  const list = (bs: HttpBackend[], weights: number[] = []) =>
    `[ ${bs.map((b, i) => `{ address: "${b.address}", weight: ${weights[i] ?? 1} }`).join(", ")} ]`;
  const hash = list(variant.hash ?? s.hash);
  return `
log: { access: "off" }
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - { path: /wrr, backend: wrr }
      - { path: /smooth, backend: smooth }
      - { path: /rtwo, backend: rtwo }
      - { path: /lconn, backend: lconn }
      - { path: /first, backend: first }
      - { path: /fmax, backend: fmax }
      - { path: /slow, backend: slow }
      - { path: /hh, backend: hh }
      - { path: /hc, backend: hc }
      - { path: /hq, backend: hq }
      - { path: /hp, backend: hp }
      - { path: /ip, backend: ip }
      - { path: /st, backend: st }
      - { path: /sk, backend: sk }
      - { path: /sn, backend: sn }
      - { path: /qw, backend: qw }
      - { path: /qt, backend: qt }
      - { path: /ss, backend: ss }
  - name: tcp
    listen: "127.0.0.1:0"
    mode: tcp
    backend: tq
backends:
  wrr:
    balance: round_robin
    servers: ${list(s.wrr, [1, 2, 3])}
  smooth:
    servers: ${list(s.smooth, [5, 1, 1])}
  rtwo:
    balance: random_two
    servers: ${list(s.rtwo, [1, 2, 3])}
  lconn:
    balance: least_conn
    servers: ${list(s.lconn, [1, 2, 3])}
  first:
    balance: first
    servers: ${list(s.first)}
  fmax:
    balance: first
    servers: [ { address: "${s.fmax[0].address}", max_conns: 1 }, "${s.fmax[1].address}" ]
  slow:
    balance: least_conn
    servers: ${list(s.slow)}
  hh:
    balance: hash
    hash_key: header:X-User
    servers: ${hash}
  hc:
    balance: hash
    hash_key: cookie:sid
    servers: ${list(s.hash)}
  hq:
    balance: hash
    hash_key: query:sid
    servers: ${list(s.hash)}
  hp:
    balance: hash
    hash_key: path
    servers: ${list(s.hash)}
  ip:
    balance: ip_hash
    servers: ${list(s.hash)}
  st:
    balance: round_robin
    sticky: cookie
    servers: ${list(s.sticky)}
  sk:
    sticky: cookie
    servers: ${list(s.stickyKill)}
  sn:
    sticky: { cookie: SRV }
    servers: ${list(s.sticky.slice(0, 2))}
  qw:
    servers: [ { address: "${s.qwait.address}", max_conns: 1 } ]
    queue_timeout: 3s
  qt:
    max_conns: 1
    queue_timeout: 500ms
    servers: [ "${s.qtime.address}" ]
  ss:
    slow_start: 60s
    servers: ${list(variant.slowStart ?? s.slowStart.slice(0, 1))}
  tq:
    max_conns: 1
    queue_timeout: 500ms
    servers: [ "${s.tcp.address}" ]
`;
}

/** The 200 keys whose server is compared across processes and reloads. */
const KEYS = Array.from({ length: 200 }, (_, i) => `user-${i}`);

/** Key → the server that answered a request with `X-User: key` on /hh. */
async function hashMapping(port: number, tag: string): Promise<Map<string, string>> {
  const reqs = KEYS.map((k) => ({ path: `/hh/${tag}`, headers: { "X-User": k } }));
  const res = await sendAll(port, reqs, 4);
  return new Map(KEYS.map((k, i) => [k, name(res[i])]));
}

/** Rewrites ferry's config file and sends SIGHUP; resolves when ferry says it reloaded. */
async function reload(ferry: Ferry, yaml: string): Promise<void> {
  const from = ferry.stderr.length;
  writeFileSync(ferry.configPath!, yaml);
  ferry.signal("SIGHUP");
  await ferry.waitForLine(/^ferry: reloaded "/, { stream: "stderr", from, timeoutMs: 10_000 });
}

describe(`balancing policies (${ferryLabel()})`, () => {
  let s: Servers;
  let ferry: Ferry;
  let port: number;
  const closed = new Set<BaseBackend>();
  /** ferry's mapping of KEYS on /hh with the four hash servers (computed once). */
  let mapping4: Map<string, string> | undefined;
  const mapping4Of = async () => (mapping4 ??= await hashMapping(port, "m4"));

  before(async () => {
    const namedN = (prefix: string, n: number) => Promise.all(Array.from({ length: n }, (_, i) => named(`${prefix}${i + 1}`)));
    const heldN = (prefix: string, n: number) => Promise.all(Array.from({ length: n }, (_, i) => held(`${prefix}${i + 1}`)));
    s = {
      wrr: await namedN("w", 3),
      smooth: await namedN("m", 3),
      rtwo: await namedN("r", 3),
      lconn: await heldN("l", 3),
      first: await namedN("f", 2),
      fmax: await heldN("g", 2),
      slow: [await named("slowA", (n) => delayedBackend(n, 300)), await named("fastB"), await named("fastC")],
      hash: await namedN("h", 4),
      hash5: await named("h5"),
      sticky: await namedN("s", 3),
      stickyKill: await namedN("k", 2),
      qwait: await held("q1"),
      qtime: await held("q2"),
      slowStart: await namedN("ss", 2),
      // Greets each tunnel with its number and closes when the client's side closed.
      tcp: await rawBackend((conn) => {
        conn.socket.write(`t${conn.id}\n`);
        conn.socket.on("end", () => conn.socket.end());
      }),
    };
    ferry = await startFerry(configYaml(s));
    port = ferry.ports.web;
  });

  after(async () => {
    await ferry?.stop();
    if (!s) return;
    const all: BaseBackend[] = [
      ...s.wrr, ...s.smooth, ...s.rtwo, ...s.lconn, ...s.first, ...s.fmax, ...s.slow, ...s.hash, s.hash5,
      ...s.sticky, ...s.stickyKill, s.qwait, s.qtime, ...s.slowStart, s.tcp,
    ];
    await Promise.all(all.filter((b) => !closed.has(b)).map((b) => b.close()));
  });

  // ------------------------------------------------------------------ weighted shares

  it("round_robin shares 1:2:3 exactly, one 6-request cycle after the other", { timeout: 20_000 }, async () => {
    const client = new KeepAliveClient(port);
    const seq: string[] = [];
    try {
      for (let i = 0; i < 300; i++) seq.push(name(await client.get({ path: `/wrr/${i}` })));
    } finally {
      client.close();
    }
    assert.deepEqual(tally(seq), { w1: 50, w2: 100, w3: 150 }, `300 requests over weights 1:2:3: ${seq.slice(0, 24)}…`);
    for (let i = 0; i < 300; i += 6) {
      assert.deepEqual(tally(seq.slice(i, i + 6)), { w1: 1, w2: 2, w3: 3 }, `cycle ${i / 6} is not 1:2:3: ${seq.slice(i, i + 6)}`);
    }
    assert.deepEqual(s.wrr.map((b) => under(b, "/wrr").length), [50, 100, 150], "what the servers received");
  });

  it("round_robin interleaves 5:1:1 smoothly (h h l h l' h h, repeated)", { timeout: 20_000 }, async () => {
    const client = new KeepAliveClient(port);
    const seq: string[] = [];
    try {
      for (let i = 0; i < 70; i++) seq.push(name(await client.get({ path: `/smooth/${i}` })));
    } finally {
      client.close();
    }
    // nginx's smooth weighted round robin: one cycle of 7 is h h l h l' h h, so the heavy server
    // runs at most 2 in a row inside a cycle. Across a cycle boundary "h h | h h" makes 4: with a
    // 5/7 share no sequence can keep runs at 2 (that caps the share at 2/3). Plain weighted
    // round robin would send 5 in a row (h h h h h l l').
    const cycle = seq.slice(0, 7);
    const [l1, l2] = [cycle[2], cycle[4]];
    assert.deepEqual(cycle, ["m1", "m1", l1, "m1", l2, "m1", "m1"], `first cycle: ${seq}`);
    assert.deepEqual([l1, l2].sort(), ["m2", "m3"], `the light servers in the first cycle: ${seq}`);
    for (let i = 7; i < seq.length; i++) assert.equal(seq[i], seq[i - 7], `the cycle changed at request ${i}: ${seq}`);
    let run = 0;
    let longest = 0;
    for (const n of seq) longest = Math.max(longest, (run = n === "m1" ? run + 1 : 0));
    assert.ok(longest <= 4, `m1 ran ${longest} times in a row: ${seq}`);
    assert.deepEqual(s.smooth.map((b) => under(b, "/smooth").length), [50, 10, 10], "what the servers received");
  });

  it("random_two shares 1:2:3 within 5 standard deviations (300 sequential requests)", { timeout: 20_000 }, async () => {
    const client = new KeepAliveClient(port);
    const seq: string[] = [];
    try {
      for (let i = 0; i < 300; i++) seq.push(name(await client.get({ path: `/rtwo/${i}` })));
    } finally {
      client.close();
    }
    // Sequential requests: nothing in flight, so the first of the two weighted draws wins and the
    // share is weight / total (binomial). 5 sd: r1 50±32, r2 100±41, r3 150±43; even shares
    // (100 each) fall outside for r1 and r3.
    const got = tally(seq);
    const n = seq.length;
    for (const [server, w] of [["r1", 1], ["r2", 2], ["r3", 3]] as const) {
      const p = w / 6;
      const sd = Math.sqrt(n * p * (1 - p));
      const c = got[server] ?? 0;
      assert.ok(Math.abs(c - n * p) <= 5 * sd, `${server} (weight ${w}) got ${c} of ${n}, expected ${n * p} ± ${(5 * sd).toFixed(0)}: ${JSON.stringify(got)}`);
      assert.equal(under(s.rtwo[w - 1], "/rtwo").length, c, `${server} received a different count than the client saw`);
    }
  });

  it("least_conn fills servers in proportion to weight: 12 held requests over 1:2:3 land as 2, 4, 6", { timeout: 20_000 }, async () => {
    const [l1, l2, l3] = s.lconn;
    for (const b of s.lconn) b.hold = true;
    const pending = Array.from({ length: 12 }, (_, i) => request(port, { path: `/lconn/held-${i}` }));
    try {
      const arrived = () => s.lconn.map((b) => under(b, "/lconn").length);
      await waitFor(() => arrived().reduce((a, b) => a + b) === 12, () => `12 requests at the servers (got ${arrived()})`);
      // Each pick sees the requests already held (in flight), and min(inflight / weight) with
      // 1:2:3 can only end at 2:4:6 after 12 picks, whatever the random tie-breaks chose.
      assert.deepEqual(arrived(), [2, 4, 6], "requests in flight per server (weights 1:2:3)");
      assert.deepEqual([l1.waiting, l2.waiting, l3.waiting], [2, 4, 6], "requests the servers hold");
    } finally {
      for (const b of s.lconn) b.release();
    }
    const names = (await Promise.all(pending)).map(name);
    assert.deepEqual(tally(names), { l1: 2, l2: 4, l3: 6 }, "who answered the clients");
  });

  it("least_conn breaks ties by weight when nothing is in flight (150 sequential requests over 1:2:3)", { timeout: 20_000 }, async () => {
    for (const b of s.lconn) b.hold = false;
    const before = s.lconn.map((b) => under(b, "/lconn").length);
    const client = new KeepAliveClient(port);
    const seq: string[] = [];
    try {
      for (let i = 0; i < 150; i++) seq.push(name(await client.get({ path: `/lconn/seq-${i}` })));
    } finally {
      client.close();
    }
    // Every pick is a three-way tie (0 in flight), broken in proportion to weight 1:2:3:
    // expected 25, 50, 75 of 150, each within 5 standard deviations (23, 29, 31).
    const got = tally(seq);
    const expected = [[25, 23], [50, 29], [75, 31]];
    for (const [i, b] of s.lconn.entries()) {
      const c = got[b.name] ?? 0;
      const [mean, band] = expected[i];
      assert.ok(Math.abs(c - mean) <= band, `${b.name} got ${c} of 150 tied picks, expected ${mean} ± ${band}: ${JSON.stringify(got)}`);
      assert.equal(under(b, "/lconn").length - before[i], c, `${b.name} received a different count than the client saw`);
    }
  });

  it("least_conn sends clearly fewer requests to a server that answers after 300 ms", { timeout: 25_000 }, async () => {
    const CLIENTS = 20;
    const ROUNDS = 8;
    const clients = Array.from({ length: CLIENTS }, () => new KeepAliveClient(port));
    const names: string[] = [];
    try {
      await Promise.all(clients.map(async (c, ci) => {
        for (let r = 0; r < ROUNDS; r++) names.push(name(await c.get({ path: `/slow/${ci}-${r}` })));
      }));
    } finally {
      for (const c of clients) c.close();
    }
    const got = tally(names);
    const [a, b, c] = [got.slowA ?? 0, got.fastB ?? 0, got.fastC ?? 0];
    assert.equal(a + b + c, CLIENTS * ROUNDS);
    // Round robin would give each a third (53). least_conn keeps the slow server's in-flight count
    // level with the fast ones', so it finishes far fewer: at most half of either fast server's.
    assert.ok(2 * a <= Math.min(b, c), `slow server got ${a}, fast ones ${b} and ${c} of ${CLIENTS * ROUNDS} (bound: slow <= half of each fast)`);
    assert.deepEqual(s.slow.map((x) => under(x, "/slow").length), [a, b, c], "what the servers received");
  });

  // ------------------------------------------------------------------ first

  it("first sends every request to the first server while it is up", { timeout: 15_000 }, async () => {
    const res = await sendAll(port, Array.from({ length: 20 }, (_, i) => ({ path: `/first/${i}` })), 4);
    assert.deepEqual(tally(res.map(name)), { f1: 20 });
    assert.deepEqual(s.first.map((b) => under(b, "/first").length), [20, 0], "what the servers received");
  });

  it("first moves to the next server at max_conns: 3 concurrent slow requests → 1 on the first, 2 on the second", { timeout: 15_000 }, async () => {
    const [g1, g2] = s.fmax;
    const pending = Array.from({ length: 3 }, (_, i) => request(port, { path: `/fmax/held-${i}` }));
    try {
      await waitFor(() => g1.requests.length + g2.requests.length === 3, () => `3 requests at the servers (got ${g1.requests.length} + ${g2.requests.length})`);
      assert.deepEqual([g1.requests.length, g2.requests.length], [1, 2], "requests per server with max_conns 1 on the first");
    } finally {
      g1.release();
      g2.release();
    }
    assert.deepEqual(tally((await Promise.all(pending)).map(name)), { g1: 1, g2: 2 }, "who answered the clients");
    assert.equal(g1.maxWaiting, 1, "the first server had more than max_conns (1) requests at once");
    // With the first server free again, it takes the next request.
    g1.hold = false;
    g2.hold = false;
    assert.equal(name(await request(port, { path: "/fmax/after" })), "g1");
  });

  it("first fails over to the second server without a client error when the first is stopped", { timeout: 15_000 }, async () => {
    const [f1, f2] = s.first;
    const from = ferry.stderr.length;
    const f1Before = under(f1, "/first").length;
    await f1.close();
    closed.add(f1);
    // A keep-alive client: ferry's pooled connection to f1 is dead and f1 refuses new ones; the
    // refused connect is retried on f2.
    const client = new KeepAliveClient(port);
    const seq: string[] = [];
    try {
      for (let i = 0; i < 10; i++) seq.push(name(await client.get({ path: `/first/after-${i}` })));
    } finally {
      client.close();
    }
    assert.deepEqual(tally(seq), { f2: 10 }, `after f1 stopped: ${seq}`);
    assert.equal(under(f1, "/first").length, f1Before, "f1 received requests after it was stopped");
    assert.equal(under(f2, "/first").length, 10);
    await ferry.waitForLine(
      new RegExp(`backend "first": server "${f1.address}" marked down .*connection refused`),
      { stream: "stderr", from, timeoutMs: 5_000 },
    );
  });

  // ------------------------------------------------------------------ hash

  it("hash on header:X-User sends each user to one server, every time", { timeout: 20_000 }, async () => {
    const users = Array.from({ length: 20 }, (_, i) => `u${i}`);
    const reqs: PolicyRequest[] = [];
    for (let r = 0; r < 10; r++) for (const u of users) reqs.push({ path: `/hh/same-${r}`, headers: { "X-User": u } });
    const res = await sendAll(port, reqs, 4);
    const seen = new Map<string, Set<string>>();
    res.forEach((r, i) => {
      const u = reqs[i].headers!["X-User"];
      seen.set(u, (seen.get(u) ?? new Set()).add(name(r)));
    });
    for (const [u, servers] of seen) assert.equal(servers.size, 1, `user ${u} went to ${[...servers]}`);
    // Each server received exactly the users the clients saw it answer, 10 requests each.
    for (const b of s.hash) {
      const got = under(b, "/hh").filter((r) => r.target.startsWith("/hh/same-")).map((r) => header(r.headers, "x-user")!);
      const expected = users.filter((u) => seen.get(u)!.has(nameOf(b)));
      assert.deepEqual(tally(got), Object.fromEntries(expected.map((u) => [u, 10])), `users at ${nameOf(b)}`);
    }
  });

  it("hash spreads 200 keys over the 4 servers (each at least 20, expected 50)", { timeout: 20_000 }, async () => {
    const m = await mapping4Of();
    const got = tally([...m.values()]);
    for (const b of s.hash) assert.ok((got[nameOf(b)] ?? 0) >= 20, `200 keys per server: ${JSON.stringify(got)}`);
  });

  it("hash without the key spreads requests by round robin", { timeout: 15_000 }, async () => {
    const client = new KeepAliveClient(port);
    const seq: string[] = [];
    try {
      for (let i = 0; i < 8; i++) seq.push(name(await client.get({ path: `/hh/nokey-${i}` })));
    } finally {
      client.close();
    }
    assert.deepEqual(tally(seq), { h1: 2, h2: 2, h3: 2, h4: 2 }, `8 keyless requests: ${seq}`);
    for (let i = 4; i < 8; i++) assert.equal(seq[i], seq[i - 4], `not a fixed rotation: ${seq}`);
  });

  it("hash keys from cookie:NAME, query:NAME and path pick like the same header value", { timeout: 20_000 }, async () => {
    // The server depends only on the key and the server set, so a cookie, query parameter or path
    // equal to an X-User value must land where that value does: proof that exactly the value is hashed.
    const keys = Array.from({ length: 24 }, (_, i) => `k${i}`);
    const paths = keys.map((k) => `/hp/${k}`);
    const byHeader = await sendAll(port, [...keys, ...paths].map((k) => ({ path: "/hh/ref", headers: { "X-User": k } })));
    const ref = new Map([...keys, ...paths].map((k, i) => [k, name(byHeader[i])]));
    const reqs: { key: string; req: PolicyRequest }[] = [];
    for (const k of keys) {
      reqs.push({ key: k, req: { path: "/hc/x", headers: { Cookie: `sid=${k}` } } });
      reqs.push({ key: k, req: { path: "/hc/y", headers: { Cookie: `a=1; sid=${k}; b=2` } } });
      reqs.push({ key: k, req: { path: "/hc/z", headers: { Cookie: `sidx=zz; sid=${k}` } } });
      reqs.push({ key: k, req: { path: `/hq/x?sid=${k}` } });
      reqs.push({ key: k, req: { path: `/hq/y?a=1&sid=${k}&b=2` } });
      reqs.push({ key: `/hp/${k}`, req: { path: `/hp/${k}` } });
      reqs.push({ key: `/hp/${k}`, req: { path: `/hp/${k}?other=${k}x` } });
    }
    const res = await sendAll(port, reqs.map((r) => r.req));
    res.forEach((r, i) => {
      const { key, req } = reqs[i];
      assert.equal(name(r), ref.get(key), `${JSON.stringify(req)} went to ${name(r)}, X-User: ${key} goes to ${ref.get(key)}`);
    });
    assert.ok(new Set(keys.map((k) => ref.get(k))).size >= 3, `24 keys used fewer than 3 servers: ${JSON.stringify(tally([...ref.values()]))}`);
    // The servers saw the requests the clients saw them answer.
    for (const b of s.hash) {
      for (const prefix of ["/hc", "/hq", "/hp"]) {
        const expected = res.filter((r, i) => reqs[i].req.path.startsWith(`${prefix}/`) && name(r) === nameOf(b)).length;
        assert.equal(under(b, prefix).length, expected, `${prefix} requests at ${nameOf(b)}`);
      }
    }
  });

  it("ip_hash sends one client address to one server, and spreads 127.0.0.x clients", { timeout: 20_000 }, async () => {
    const fromLocal = await sendAll(port, Array.from({ length: 20 }, (_, i) => ({ path: `/ip/local-${i}` })), 4);
    const localNames = new Set(fromLocal.map(name));
    assert.equal(localNames.size, 1, `127.0.0.1 went to ${[...localNames]}`);
    try {
      await requestFrom(port, "127.0.0.2", { path: "/ip/probe" });
    } catch (e) {
      console.log(`ip_hash: skipping the 127.0.0.x part: cannot connect from 127.0.0.2: ${e instanceof Error ? e.message : e}`);
      return;
    }
    const where = new Map<string, string>();
    for (let i = 3; i < 43; i++) {
      const addr = `127.0.0.${i}`;
      const a = name(await requestFrom(port, addr, { path: `/ip/from-${i}-a` }));
      const b = name(await requestFrom(port, addr, { path: `/ip/from-${i}-b` }));
      assert.equal(a, b, `${addr} went to ${a} then ${b}`);
      where.set(addr, a);
    }
    const spread = tally([...where.values()]);
    assert.ok(Object.keys(spread).length >= 3, `40 client addresses used fewer than 3 of 4 servers: ${JSON.stringify(spread)}`);
    // Each server saw exactly the client addresses (X-Forwarded-For) the clients saw it answer.
    for (const b of s.hash) {
      const got = new Set(under(b, "/ip").filter((r) => r.target.startsWith("/ip/from-")).map((r) => header(r.headers, "x-forwarded-for")));
      const expected = new Set([...where].filter(([, n]) => n === nameOf(b)).map(([a]) => a));
      assert.deepEqual(got, expected, `client addresses at ${nameOf(b)}`);
    }
  });

  // ------------------------------------------------------------------ sticky

  /** Server name → sticky id, learnt from /st responses. */
  const stickyIds = new Map<string, string>();

  it("sticky: cookie sets ferry_server=<16 hex> naming the server, and the cookie keeps the client there", { timeout: 20_000 }, async () => {
    for (let i = 0; i < 3; i++) {
      const res = await request(port, { path: `/st/new-${i}` });
      const cookies = headerAll(res.headers, "set-cookie");
      assert.equal(cookies.length, 1, `Set-Cookie fields: ${res.raw.toString("latin1")}`);
      const m = STICKY_RE.exec(cookies[0]);
      assert.ok(m, `not a sticky cookie: ${JSON.stringify(cookies[0])}`);
      stickyIds.set(name(res), m[1]);
    }
    assert.equal(stickyIds.size, 3, `round robin should have given one response per server: ${[...stickyIds]}`);
    assert.equal(new Set(stickyIds.values()).size, 3, `ids are not distinct: ${[...stickyIds]}`);
    // Round robin would rotate these; the cookie pins them. Other cookies around it do not matter.
    for (const [server, id] of stickyIds) {
      const b = s.sticky.find((x) => nameOf(x) === server)!;
      const before = under(b, "/st").length;
      for (let i = 0; i < 6; i++) {
        const res = await request(port, { path: `/st/pinned-${i}`, headers: { Cookie: i % 2 ? `ferry_server=${id}` : `a=1; ferry_server=${id}; b=2` } });
        assert.equal(name(res), server, `request ${i} with the cookie of ${server}`);
        assert.deepEqual(headerAll(res.headers, "set-cookie"), [], "a valid cookie was set again");
      }
      assert.equal(under(b, "/st").length - before, 6, `requests ${server} received`);
    }
  });

  it("sticky: an unknown or garbage cookie value is ignored and a valid one is set", { timeout: 15_000 }, async () => {
    assert.equal(stickyIds.size, 3, "needs the ids from the previous test");
    for (const value of ["garbage", "0123456789abcdef", "", String(s.sticky[0].address)]) {
      const res = await request(port, { path: "/st/garbage", headers: { Cookie: `ferry_server=${value}` } });
      const cookies = headerAll(res.headers, "set-cookie");
      assert.equal(cookies.length, 1, `no new cookie for value ${JSON.stringify(value)}: ${res.raw.toString("latin1")}`);
      assert.equal(STICKY_RE.exec(cookies[0])?.[1], stickyIds.get(name(res)), `the new cookie does not name ${name(res)}: ${cookies[0]}`);
    }
  });

  it("sticky: when the cookie's server is stopped, the request succeeds elsewhere and gets a new cookie", { timeout: 15_000 }, async () => {
    const first = await request(port, { path: "/sk/first" });
    const oldId = STICKY_RE.exec(headerAll(first.headers, "set-cookie")[0] ?? "")?.[1];
    assert.ok(oldId, `no sticky cookie: ${first.raw.toString("latin1")}`);
    const gone = s.stickyKill.find((b) => nameOf(b) === name(first))!;
    const other = s.stickyKill.find((b) => b !== gone)!;
    await gone.close();
    closed.add(gone);
    const otherBefore = under(other, "/sk").length;
    const res = await request(port, { path: "/sk/after", headers: { Cookie: `ferry_server=${oldId}` } });
    assert.equal(name(res), nameOf(other), "the request with the dead server's cookie");
    const newId = STICKY_RE.exec(headerAll(res.headers, "set-cookie")[0] ?? "")?.[1];
    assert.ok(newId && newId !== oldId, `expected a new cookie, got ${JSON.stringify(headerAll(res.headers, "set-cookie"))}`);
    const again = await request(port, { path: "/sk/again", headers: { Cookie: `ferry_server=${newId}` } });
    assert.equal(name(again), nameOf(other));
    assert.deepEqual(headerAll(again.headers, "set-cookie"), [], "the new cookie was set again");
    assert.equal(under(other, "/sk").length - otherBefore, 2, `requests ${nameOf(other)} received`);
  });

  it("sticky: { cookie: SRV } uses that cookie name and ignores ferry_server", { timeout: 15_000 }, async () => {
    const first = await request(port, { path: "/sn/first" });
    const cookies = headerAll(first.headers, "set-cookie");
    const m = /^SRV=([0-9a-f]{16}); Path=\/; HttpOnly; SameSite=Lax$/.exec(cookies[0] ?? "");
    assert.ok(m && cookies.length === 1, `expected one SRV cookie: ${JSON.stringify(cookies)}`);
    const server = name(first);
    for (let i = 0; i < 4; i++) {
      const res = await request(port, { path: `/sn/pinned-${i}`, headers: { Cookie: `SRV=${m[1]}` } });
      assert.equal(name(res), server, `request ${i} with SRV of ${server}`);
      assert.deepEqual(headerAll(res.headers, "set-cookie"), []);
    }
    // A ferry_server cookie means nothing to this backend: a SRV cookie is set.
    const res = await request(port, { path: "/sn/other", headers: { Cookie: `ferry_server=${m[1]}` } });
    assert.match(headerAll(res.headers, "set-cookie")[0] ?? "", /^SRV=[0-9a-f]{16};/);
  });

  // ------------------------------------------------------------------ max_conns queue

  it("max_conns: 1 queues a second request until the first is answered (queue_timeout 3s)", { timeout: 15_000 }, async () => {
    const q = s.qwait;
    q.hold = true;
    const c1 = request(port, { path: "/qw/1" });
    await q.waitForRequests(1);
    const c2 = await connectRaw(port);
    try {
      let answered2 = false;
      await c2.send("GET /qw/2 HTTP/1.1\r\nHost: x\r\n\r\n");
      const r2 = c2.response().finally(() => (answered2 = true));
      await pace(150);
      assert.equal(q.requests.length, 1, "the server got the second request while the first was in flight");
      assert.equal(answered2, false, "the second request was answered while the first was in flight");
      q.release();
      const r1 = await c1;
      assert.equal(name(r1), "q1");
      await q.waitForRequests(2);
      q.release();
      const res2 = await r2;
      assert.equal(name(res2), "q1");
      assert.deepEqual(q.requests.map((r) => r.target), ["/qw/1", "/qw/2"]);
      assert.equal(q.maxWaiting, 1, "the server had two requests at once");
    } finally {
      q.hold = false;
      q.release();
      c2.close();
    }
  });

  it("max_conns: 1 answers 503 to a request that waited longer than queue_timeout (500ms)", { timeout: 15_000 }, async () => {
    const q = s.qtime;
    q.hold = true;
    const from = ferry.stderr.length;
    const c1 = request(port, { path: "/qt/1" });
    try {
      await q.waitForRequests(1);
      const t0 = performance.now();
      const res2 = await request(port, { path: "/qt/2" });
      const waited = performance.now() - t0;
      assert.equal(res2.status, 503, res2.raw.toString("latin1"));
      assert.match(res2.body.toString(), /^503 /, `not ferry's error page: ${res2.raw.toString("latin1")}`);
      assert.ok(waited >= 450 && waited < 8_000, `503 after ${waited.toFixed(0)} ms, expected after the 500 ms queue_timeout`);
      assert.equal(q.requests.length, 1, "the server got the request that should have waited");
      await ferry.waitForLine(/every server of backend "qt" stayed at max_conns for 500 ms/, { stream: "stderr", from, timeoutMs: 5_000 });
    } finally {
      q.hold = false;
      q.release();
    }
    assert.equal(name(await c1), "q2", "the held request");
    assert.equal(name(await request(port, { path: "/qt/3" })), "q2", "a request once the server is free");
    assert.equal(q.maxWaiting, 1, "the server had two requests at once");
  });

  it("max_conns: 1 in TCP mode: a second connection is closed after queue_timeout, a later one gets through", { timeout: 15_000 }, async () => {
    const tcpPort = ferry.ports.tcp;
    const t = s.tcp;
    const from = ferry.stderr.length;
    const c1 = await connectRaw(tcpPort);
    try {
      assert.equal((await c1.reader.readUntil("\n")).toString(), "t0\n");
      const c2 = await connectRaw(tcpPort);
      const t0 = performance.now();
      const got = await c2.readToEnd();
      const waited = performance.now() - t0;
      c2.close();
      assert.equal(got.length, 0, `the queued connection received ${JSON.stringify(got.toString())}`);
      assert.ok(waited >= 450 && waited < 8_000, `closed after ${waited.toFixed(0)} ms, expected after the 500 ms queue_timeout`);
      assert.equal(t.connections.length, 1, "the server got a second connection while max_conns is 1");
      await ferry.waitForLine(/every server of backend "tq" stayed at max_conns for 500 ms/, { stream: "stderr", from, timeoutMs: 5_000 });
    } finally {
      c1.close();
    }
    await t.until(() => t.connections[0].closed, "the first tunnel to close at the server");
    const c3 = await connectRaw(tcpPort);
    try {
      assert.equal((await c3.reader.readUntil("\n")).toString(), "t1\n");
    } finally {
      c3.close();
    }
  });

  // ------------------------------------------------------------------ a second ferry, reloads

  describe("a second ferry process with the same config", () => {
    let ferry2: Ferry;

    before(async () => {
      ferry2 = await startFerry(configYaml(s));
    });

    after(async () => {
      await ferry2?.stop();
    });

    it("maps 200 hash keys and sticky ids exactly like the first", { timeout: 20_000 }, async () => {
      const m4 = await mapping4Of();
      const m2 = await hashMapping(ferry2.ports.web, "p2");
      const differ = KEYS.filter((k) => m2.get(k) !== m4.get(k));
      assert.deepEqual(differ, [], `keys mapped differently by the second process: ${differ.map((k) => `${k}: ${m4.get(k)} vs ${m2.get(k)}`)}`);
      const res = await request(ferry2.ports.web, { path: "/st/p2" });
      const id = STICKY_RE.exec(headerAll(res.headers, "set-cookie")[0] ?? "")?.[1];
      assert.equal(id, stickyIds.get(name(res)), `sticky id of ${name(res)} differs between the processes`);
    });

    it("after a reload without one of the 4 servers, only that server's keys move", { timeout: 20_000 }, async () => {
      const m4 = await mapping4Of();
      const [h1, h2, h3, h4] = s.hash;
      await reload(ferry2, configYaml(s, { hash: [h1, h3, h4] }));
      const h2Before = h2.requests.length;
      const m3 = await hashMapping(ferry2.ports.web, "p3");
      assert.equal(h2.requests.length, h2Before, "the removed server still received requests");
      const onH2 = KEYS.filter((k) => m4.get(k) === "h2");
      assert.ok(onH2.length > 0, "no key was on h2, nothing to move");
      const moved = KEYS.filter((k) => m3.get(k) !== m4.get(k));
      assert.deepEqual(moved, onH2, "keys that changed server are not exactly h2's keys");
    });

    it("after a reload adding a 5th server, only keys moving to it change", { timeout: 20_000 }, async () => {
      const m4 = await mapping4Of();
      await reload(ferry2, configYaml(s, { hash: [...s.hash, s.hash5] }));
      const m5 = await hashMapping(ferry2.ports.web, "p5");
      const moved = KEYS.filter((k) => m5.get(k) !== m4.get(k));
      const toH5 = KEYS.filter((k) => m5.get(k) === "h5");
      assert.deepEqual(moved, toH5, "keys that changed server did not all go to the new server");
      // Expected 40 of 200 (sd 5.7).
      assert.ok(toH5.length >= 15, `only ${toH5.length} of 200 keys went to the new server`);
      assert.equal(under(s.hash5, "/hh").length, toH5.length, "requests the new server received");
    });

    it("slow_start: a server added by a reload gets only a small share at first", { timeout: 20_000 }, async () => {
      const [ss1, ss2] = s.slowStart;
      await reload(ferry2, configYaml(s, { hash: [...s.hash, s.hash5], slowStart: [ss1, ss2] }));
      const client = new KeepAliveClient(ferry2.ports.web);
      const seq: string[] = [];
      try {
        for (let i = 0; i < 60; i++) seq.push(name(await client.get({ path: `/ss/${i}` })));
      } finally {
        client.close();
      }
      // Over slow_start 60s the new server's weight ramps from 0.02 to 1; well within 15 s of the
      // reload it is at most 0.25, a share of at most 1/5 under round robin (without slow start: 1/2).
      const got = tally(seq);
      assert.ok((got.ss2 ?? 0) <= 12, `the new server got ${got.ss2 ?? 0} of 60 right after being added: ${seq}`);
      assert.equal(under(ss2, "/ss").length, got.ss2 ?? 0, "requests the new server received");
      assert.equal(under(ss1, "/ss").length, got.ss1 ?? 0, "requests the old server received");
    });
  });
});

