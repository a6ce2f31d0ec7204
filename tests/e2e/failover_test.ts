/**
 * Failing backends through a real ferry: a server that crashes under load and comes back on its
 * port, one that accepts and never answers, active health checks (http and tcp) that take
 * servers out and bring them back, retries that resend the kept request body, passive health on
 * statuses with fail-open, `retry_timeout`, and fail-open while the trial after a passive mark is
 * still waiting for its answer. Each case judges what the clients got (every response complete
 * and from a live server) and what ferry logged.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { closedPort, SeededBytes } from "../_helpers/backends.ts";
import { describeOutcome, isError, startLoad } from "../_helpers/failover_load.ts";
import { FailoverServer, namedServer, type ServedRequest } from "../_helpers/failover_server.ts";
import { type Ferry, ferryLabel, startFerry } from "../_helpers/ferry.ts";
import { connectRaw, header, request, type Response } from "../_helpers/raw_http.ts";

/** Client-side pacing of a polling loop, never a stand-in for waiting on ferry. */
const pace = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Slack on top of a configured timeout for a loaded 2-vCPU machine. */
const MARGIN_MS = 1_500;

async function timed(p: Promise<Response>): Promise<{ res: Response; ms: number }> {
  const t0 = performance.now();
  const res = await p;
  return { res, ms: performance.now() - t0 };
}

/** A response for an assertion message, with ferry's last error lines when given. */
function show(res: Response, ferry?: Ferry): string {
  const text = res.raw.toString("latin1").slice(0, 400);
  return ferry ? `${text}\n--- ferry stderr (last 20 lines) ---\n${ferry.stderr.slice(-20).join("\n")}` : text;
}

/** The stderr lines ferry printed from index `from` on that match `re`. */
function logLines(ferry: Ferry, re: RegExp, from = 0): string[] {
  return ferry.stderr.slice(from).filter((l) => re.test(l));
}

function countBy(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

function listener(routes: [path: string, backend: string][]): string {
  return `
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
${routes.map(([path, backend]) => `      - path: ${path}\n        backend: ${backend}`).join("\n")}
`;
}

// ---------------------------------------------------------------------------- 1. crash under load

describe(`failover: a server crashes under steady load (${ferryLabel()})`, () => {
  const CLIENTS = 10;
  const PER_CLIENT = 60;
  /** The crash comes once this many responses are in: a third of the run. */
  const CRASH_AFTER = (CLIENTS * PER_CLIENT) / 3;
  let a: FailoverServer, b: FailoverServer, c: FailoverServer;
  let x: FailoverServer, y: FailoverServer, z: FailoverServer;
  let ferry: Ferry;
  let exited = false;

  before(async () => {
    [a, b, c, x, y, z] = await Promise.all(["A", "B", "C", "X", "Y", "Z"].map((n) => namedServer(n)));
    ferry = await startFerry(`${listener([["/retry", "retry"], ["/noretry", "noretry"]])}
backends:
  retry:
    servers: [ "${a.address}", "${b.address}", "${c.address}" ]
    passive: { fail_timeout: 1s }
  noretry:
    retries: 0
    servers: [ "${x.address}", "${y.address}", "${z.address}" ]
    passive: { fail_timeout: 10s }
`);
    ferry.exited.then(() => (exited = true));
  });

  after(async () => {
    await ferry?.stop();
    await Promise.all([a, b, c, x, y, z].map((s) => s?.close()));
  });

  it("retries cover a crash: no client error, nothing from the dead server, and it gets traffic once back", { timeout: 10_000 }, async () => {
    const load = startLoad(ferry.ports.web, { clients: CLIENTS, requests: PER_CLIENT, path: (cl, i) => `/retry/${cl}/${i}` });
    await load.waitFor(CRASH_AFTER);
    const from = ferry.stderr.length;
    const bPort = b.port;
    await b.crash();
    const crashedAt = performance.now();
    const bBefore = b.traffic().length;
    const outcomes = await load.done;

    const errors = outcomes.filter(isError);
    console.log(`# failover (${ferryLabel()}): retries auto: ${errors.length} of ${outcomes.length} requests failed`);
    assert.deepEqual(errors.map(describeOutcome), [], "client errors although GETs may be retried");
    for (const o of outcomes) assert.ok(["A", "B", "C"].includes(o.body!), `not a complete answer from a server: ${describeOutcome(o)}`);
    const late = outcomes.filter((o) => o.sentAt > crashedAt);
    assert.ok(late.length >= CLIENTS * PER_CLIENT / 10, `the crash came too late in the run: only ${late.length} requests after it`);
    assert.deepEqual(late.filter((o) => o.body === "B").map(describeOutcome), [], "answers from the crashed server");
    assert.ok(bBefore > 0, "B served nothing before the crash: the test proved nothing");
    assert.deepEqual(Object.keys(countBy(late.map((o) => o.body!))).sort(), ["A", "C"], "A and C should share the rest");

    await ferry.waitForLine(new RegExp(`^ferry: backend "retry": server "${esc(b.address)}" marked down for 1000 ms after 1 failed request: `), {
      stream: "stderr",
      from,
      timeoutMs: 5_000,
    });
    // Allowed: B's passive marks, and each failed attempt on B that a retry recovered from.
    const other = ferry.stderr.slice(from).filter((l) =>
      !l.includes(`server "${b.address}" marked down`) && !(l.includes(`"${b.address}"`) && l.endsWith("; trying another server"))
    );
    assert.deepEqual(other, [], "ferry logged more than B's passive marks and recovered attempts (a failed request, another server down)");

    // Back on the same port: once the passive mark (1 s) runs out, B is picked again.
    await b.restart();
    assert.equal(b.port, bPort);
    const deadline = performance.now() + 5_000;
    const seen: string[] = [];
    for (let i = 0; b.traffic().length === bBefore; i++) {
      assert.ok(performance.now() < deadline, `B got no request within 5 s of its restart; answers: ${JSON.stringify(countBy(seen))}`);
      const res = await request(ferry.ports.web, { path: `/retry/back/${i}` });
      assert.equal(res.status, 200, show(res, ferry));
      seen.push(res.body.toString());
      await pace(20);
    }
    const rotation: string[] = [];
    for (let i = 0; i < 9; i++) {
      const res = await request(ferry.ports.web, { path: `/retry/rotation/${i}` });
      assert.equal(res.status, 200, show(res, ferry));
      rotation.push(res.body.toString());
    }
    assert.ok(rotation.filter((n) => n === "B").length >= 2, `B is not back in the rotation: ${rotation}`);
    // The end of the mark is logged once: by the first request that B answered (failed trials
    // before the restart were logged as marks, not as B coming back).
    const upAgain = `ferry: backend "retry": server "${b.address}" is up again: a request succeeded after fail_timeout`;
    await ferry.waitForLine(new RegExp(`^${esc(upAgain)}$`), { stream: "stderr", from, timeoutMs: 5_000 });
    assert.deepEqual(logLines(ferry, /is up again/, from), [upAgain]);
    assert.equal(exited, false, ferry.output());
  });

  it("retries: 0 lets the requests caught by the crash fail, and none after passive health marked the server down", { timeout: 10_000 }, async () => {
    const load = startLoad(ferry.ports.web, { clients: CLIENTS, requests: PER_CLIENT, path: (cl, i) => `/noretry/${cl}/${i}` });
    await load.waitFor(CRASH_AFTER);
    const from = ferry.stderr.length;
    let detectedAt = Infinity;
    const detected = ferry.waitForLine(new RegExp(`^ferry: backend "noretry": server "${esc(y.address)}" marked down for 10000 ms after 1 failed request: `), {
      stream: "stderr",
      from,
      timeoutMs: 8_000,
    }).then(() => (detectedAt = performance.now()));
    // Awaited below, after the load; until then a timeout must not count as unhandled.
    detected.catch(() => {});
    await y.crash();
    const crashedAt = performance.now();
    const outcomes = await load.done;
    await detected;

    const errors = outcomes.filter(isError);
    console.log(`# failover (${ferryLabel()}): retries 0: ${errors.length} of ${outcomes.length} requests failed`);
    // ferry answers every failure itself: a complete 502 page, never a dropped connection.
    for (const o of errors) assert.equal(o.status, 502, describeOutcome(o));
    for (const o of outcomes.filter((o) => !isError(o))) assert.ok(["X", "Y", "Z"].includes(o.body!), describeOutcome(o));
    assert.deepEqual(errors.filter((o) => o.sentAt > detectedAt).map(describeOutcome), [], "errors after Y was marked down");
    assert.deepEqual(outcomes.filter((o) => o.sentAt > crashedAt && o.body === "Y").map(describeOutcome), []);
    assert.ok(outcomes.filter((o) => o.sentAt > detectedAt).length > 0, "no request was sent after the detection: the test proved nothing");

    assert.equal(exited, false, ferry.output());
    const res = await request(ferry.ports.web, { path: "/noretry/after" });
    assert.equal(res.status, 200, show(res, ferry));
  });
});

// ------------------------------------------------------------------ 2. a server that never answers

describe(`failover: a server that accepts and never answers (${ferryLabel()})`, () => {
  let hung: FailoverServer;
  let good: FailoverServer;
  let ferry: Ferry;
  const hungOn = (prefix: string) => hung.traffic((r) => r.target.startsWith(prefix));
  const goodOn = (prefix: string) => good.traffic((r) => r.target.startsWith(prefix));

  before(async () => {
    hung = await FailoverServer.start(() => ({ hang: true }));
    good = await namedServer("G");
    ferry = await startFerry(`${listener([["/pair", "pair"], ["/checked", "checked"], ["/first", "first"]])}
backends:
  pair:
    servers: [ "${hung.address}", "${good.address}" ]
    timeouts: { response: 500ms }
  checked:
    servers: [ "${hung.address}", "${good.address}" ]
    timeouts: { response: 500ms }
    passive: { max_fails: 0 }
    # fall: 3, not 1: the first check decides at once anyway, and on a loaded machine one slow
    # probe of the healthy server must not take it out (then every request would get 503).
    health: { type: http, interval: 200ms, timeout: 300ms, fall: 3 }
  first:
    balance: first
    servers: [ "${hung.address}", "${good.address}" ]
    timeouts: { response: 500ms }
    passive: { max_fails: 0 }
`);
  });

  after(async () => {
    await ferry?.stop();
    await Promise.all([hung?.close(), good?.close()]);
  });

  it("GETs all succeed: the hung server times out and the request is retried on the other", { timeout: 10_000 }, async () => {
    const from = ferry.stderr.length;
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => timed(request(ferry.ports.web, { path: `/pair/${i}` }))));
    for (const { res, ms } of results) {
      assert.equal(res.status, 200, show(res, ferry));
      assert.equal(res.body.toString(), "G");
      assert.ok(ms < 500 + MARGIN_MS, `a request took ${ms.toFixed(0)} ms with a 500 ms response timeout`);
    }
    assert.ok(hungOn("/pair/").length >= 1, "no request went to the hung server: the test proved nothing");
    const slowest = Math.max(...results.map((r) => r.ms));
    assert.ok(slowest >= 450, `the slowest request took ${slowest.toFixed(0)} ms: nobody waited for the 500 ms response timeout`);
    assert.equal(goodOn("/pair/").length, 8);
    await ferry.waitForLine(
      new RegExp(`^ferry: backend "pair": server "${esc(hung.address)}" marked down for 10000 ms after 1 failed request: upstream "${esc(hung.address)}" did not respond within 500 ms$`),
      { stream: "stderr", from, timeoutMs: 5_000 },
    );
    // Passively down: the next requests go straight to G.
    const hungBefore = hungOn("/pair/").length;
    for (let i = 0; i < 4; i++) {
      const res = await request(ferry.ports.web, { path: `/pair/after/${i}` });
      assert.equal(res.body.toString(), "G", show(res, ferry));
    }
    assert.equal(hungOn("/pair/").length, hungBefore, "a request went to the passively-down server");
  });

  it("an http health check that times out marks it down, then no request goes to it", { timeout: 10_000 }, async () => {
    await ferry.waitForLine(
      new RegExp(`^ferry: backend "checked": server "${esc(hung.address)}" is down: health check failed: timed out after 300 ms$`),
      { stream: "stderr", timeoutMs: 5_000 },
    );
    const probesBefore = hung.probes().length;
    for (let i = 0; i < 6; i++) {
      const res = await request(ferry.ports.web, { path: `/checked/${i}` });
      assert.equal(res.status, 200, show(res, ferry));
      assert.equal(res.body.toString(), "G");
    }
    assert.deepEqual(hungOn("/checked/").map((r) => r.startLine), [], "requests went to the server that failed its checks");
    // Checks go on, so that the server could come back.
    await hung.until(() => hung.probes().length > probesBefore, "another health probe at the hung server", 5_000);
  });

  it("a POST that reached the hung server is not retried: 504, the other server never sees it", { timeout: 10_000 }, async () => {
    // The same backend does retry a GET on the second server: what the POST must not get.
    const get = await request(ferry.ports.web, { path: "/first/get" });
    assert.equal(get.status, 200, show(get, ferry));
    assert.equal(get.body.toString(), "G");
    assert.equal(hungOn("/first/get").length, 1, "balance: first did not try the hung server first");

    const from = ferry.stderr.length;
    const { res, ms } = await timed(request(ferry.ports.web, { method: "POST", path: "/first/post", body: "order=1" }));
    assert.equal(res.status, 504, show(res, ferry));
    assert.ok(ms >= 450 && ms < 500 + MARGIN_MS, `504 after ${ms.toFixed(0)} ms with a 500 ms response timeout`);
    const atHung = hungOn("/first/post");
    assert.equal(atHung.length, 1);
    assert.equal(atHung[0].body.toString(), "order=1");
    assert.deepEqual(goodOn("/first/post").map((r) => r.startLine), [], "the POST was repeated on another server");
    await ferry.waitForLine(new RegExp(`^ferry: web: upstream "${esc(hung.address)}" did not respond within 500 ms; not retried: POST is not idempotent and may have reached the server$`), {
      stream: "stderr",
      from,
      timeoutMs: 5_000,
    });
  });
});

// --------------------------------------------------------------------------- 3. active health

describe(`failover: active health checks (${ferryLabel()})`, () => {
  let flappy: FailoverServer;
  let steady: FailoverServer;
  let tcpGood: FailoverServer;
  let stuck: FailoverServer;
  let down: number;
  let ferry: Ferry;
  /** What `flappy` answers on /health. */
  let healthStatus = 503;
  /** Health probes `flappy` answered with 200. */
  let passes = 0;

  before(async () => {
    flappy = await FailoverServer.start((req) => {
      if (req.target !== "/health") return { status: 200, body: "flappy" };
      if (healthStatus === 200) passes++;
      return { status: healthStatus, body: "health\n" };
    });
    steady = await namedServer("steady");
    tcpGood = await namedServer("tcp-good");
    stuck = await FailoverServer.start(() => ({ hang: true }));
    down = await closedPort();
    ferry = await startFerry(`${listener([["/http", "http_checked"], ["/tcp", "tcp_checked"]])}
backends:
  http_checked:
    servers: [ "${flappy.address}", "${steady.address}" ]
    retries: 0
    passive: { max_fails: 0 }
    health: { type: http, path: /health, expect_status: 200, interval: 300ms, timeout: 1s, rise: 2, fall: 3 }
  tcp_checked:
    servers: [ "127.0.0.1:${down}", "${tcpGood.address}" ]
    retries: 0
    passive: { max_fails: 0 }
    health: { type: tcp, interval: 200ms, timeout: 1s }
  stuck:
    servers: [ "${stuck.address}" ]
    health: { type: http, interval: 200ms, timeout: 400ms }
`);
  });

  after(async () => {
    await ferry?.stop();
    await Promise.all([flappy?.close(), steady?.close(), tcpGood?.close(), stuck?.close()]);
  });

  it("a server whose /health answers 503 is down and gets nothing; after rise passes of 200 it is up and gets traffic", { timeout: 10_000 }, async () => {
    const addr = esc(flappy.address);
    await ferry.waitForLine(new RegExp(`^ferry: backend "http_checked": server "${addr}" is down: health check failed: status 503 \\(expected 200\\)$`), {
      stream: "stderr",
      timeoutMs: 5_000,
    });
    for (const p of flappy.probes()) {
      assert.equal(p.startLine, "GET /health HTTP/1.1");
      assert.equal(header(p.headers, "host"), flappy.address);
    }
    for (let i = 0; i < 6; i++) {
      const res = await request(ferry.ports.web, { path: `/http/down/${i}` });
      assert.equal(res.status, 200, show(res, ferry));
      assert.equal(res.body.toString(), "steady");
    }
    assert.deepEqual(flappy.traffic().map((r) => r.startLine), [], "requests went to a server that failed its checks");

    const from = ferry.stderr.length;
    healthStatus = 200;
    await ferry.waitForLine(new RegExp(`^ferry: backend "http_checked": server "${addr}" is up: health check passed$`), {
      stream: "stderr",
      from,
      timeoutMs: 5_000,
    });
    assert.ok(passes >= 2, `up after ${passes} passing check(s), rise is 2`);
    const seq: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await request(ferry.ports.web, { path: `/http/up/${i}` });
      assert.equal(res.status, 200, show(res, ferry));
      seq.push(res.body.toString());
    }
    assert.ok(seq.filter((n) => n === "flappy").length >= 2, `the server that came back gets no share: ${seq}`);
  });

  it("a tcp check marks a closed port down, and no request goes there", { timeout: 10_000 }, async () => {
    await ferry.waitForLine(new RegExp(`^ferry: backend "tcp_checked": server "127\\.0\\.0\\.1:${down}" is down: health check failed: connection refused$`), {
      stream: "stderr",
      timeoutMs: 5_000,
    });
    // retries: 0 and no passive health: a request sent to the closed port would come back 502.
    for (let i = 0; i < 6; i++) {
      const res = await request(ferry.ports.web, { path: `/tcp/${i}` });
      assert.equal(res.status, 200, show(res, ferry));
      assert.equal(res.body.toString(), "tcp-good");
    }
    assert.deepEqual(logLines(ferry, new RegExp(`"tcp_checked": server "${esc(tcpGood.address)}" is down`)), []);
  });

  it("checks never pile up on a server that hangs: one probe connection at a time", { timeout: 10_000 }, async () => {
    // interval 200 ms < timeout 400 ms: a checker that started a probe every interval would keep two or three open.
    await stuck.until(() => stuck.probes().length >= 4, () => `4 probes at the hanging server (got ${stuck.probes().length})`, 8_000);
    assert.equal(stuck.maxOpen, 1, `${stuck.maxOpen} probe connections were open at once`);
    assert.ok(stuck.connections.slice(0, -1).every((c) => c.closed), "a timed-out probe's connection was left open");
    await ferry.waitForLine(new RegExp(`^ferry: backend "stuck": server "${esc(stuck.address)}" is down: health check failed: timed out after 400 ms$`), {
      stream: "stderr",
      timeoutMs: 5_000,
    });
  });
});

// ---------------------------------------------------------------------------- 4. retried bodies

describe(`failover: retries resend the kept request body (${ferryLabel()})`, () => {
  let hangup: FailoverServer;
  let echo: FailoverServer;
  let refused: number;
  let ferry: Ferry;
  const on = (s: FailoverServer, target: string) => s.traffic((r) => r.target === target);

  before(async () => {
    // Reads each request whole, then closes without a byte of response.
    hangup = await FailoverServer.start(() => ({ hangUp: true }));
    echo = await FailoverServer.start((req) => ({ status: 200, body: `echo ${req.body.length}` }));
    refused = await closedPort();
    ferry = await startFerry(`${listener([["/bodies", "bodies"], ["/refused", "refused"], ["/nokeep", "nokeep"]])}
backends:
  nokeep:
    balance: first
    servers: [ "${hangup.address}", "${echo.address}" ]
    passive: { max_fails: 0 }
    retry_body_limit: 0
    timeouts: { response: 3s }
  bodies:
    balance: first
    servers: [ "${hangup.address}", "${echo.address}" ]
    passive: { max_fails: 0 }
    retry_body_limit: 1KiB
    timeouts: { response: 3s }
  refused:
    balance: first
    servers: [ "127.0.0.1:${refused}", "${echo.address}" ]
    passive: { max_fails: 0 }
    retry_body_limit: 1KiB
    timeouts: { response: 3s }
`);
  });

  after(async () => {
    await ferry?.stop();
    await Promise.all([hangup?.close(), echo?.close()]);
  });

  it("a PUT whose server hung up is retried, and the next server receives the same body bytes", { timeout: 10_000 }, async () => {
    const body = new SeededBytes(1).next(700);
    const from = ferry.stderr.length;
    const res = await request(ferry.ports.web, { method: "PUT", path: "/bodies/put", body });
    // The recovered failure is in the error log, though the client never saw it.
    await ferry.waitForLine(new RegExp(`^ferry: web: upstream "${esc(hangup.address)}" closed the connection before responding; trying another server$`), {
      stream: "stderr",
      from,
      timeoutMs: 5_000,
    });
    assert.equal(res.status, 200, show(res, ferry));
    assert.equal(res.body.toString(), "echo 700");
    const [first] = on(hangup, "/bodies/put");
    const [second] = on(echo, "/bodies/put");
    assert.ok(first && second, "the PUT did not go to both servers");
    assert.ok(first.body.equals(body), "the first server got other bytes than the client sent");
    assert.ok(second.body.equals(body), "the retried body differs from the one the client sent");
    assert.equal(header(second.headers, "content-length"), "700");
  });

  it("a PUT with a body larger than retry_body_limit is not retried: 502", { timeout: 10_000 }, async () => {
    const body = new SeededBytes(2).next(4096);
    const from = ferry.stderr.length;
    const res = await request(ferry.ports.web, { method: "PUT", path: "/bodies/big", body });
    assert.equal(res.status, 502, show(res, ferry));
    assert.equal(on(hangup, "/bodies/big").length, 1);
    assert.ok(on(hangup, "/bodies/big")[0].body.equals(body));
    assert.deepEqual(on(echo, "/bodies/big").map((r) => r.startLine), [], "a body that was not kept was retried");
    await ferry.waitForLine(new RegExp(`^ferry: web: upstream "${esc(hangup.address)}" closed the connection before responding; not retried: its body was not kept \\(larger than retry_body_limit, \\d+ bytes\\)$`), {
      stream: "stderr",
      from,
      timeoutMs: 5_000,
    });
  });

  it("with retry_body_limit: 0 even an empty chunked body is not retried, and the log says why without \"larger than\"", { timeout: 10_000 }, async () => {
    const from = ferry.stderr.length;
    const c = await connectRaw(ferry.ports.web);
    let res: Response;
    try {
      await c.send("PUT /nokeep/empty HTTP/1.1\r\nHost: failover.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n");
      res = await c.response();
    } finally {
      c.close();
    }
    assert.equal(res.status, 502, show(res, ferry));
    assert.equal(on(hangup, "/nokeep/empty").length, 1);
    assert.deepEqual(on(echo, "/nokeep/empty").map((r) => r.startLine), [], "a body that was not kept was retried");
    const line = `ferry: web: upstream "${hangup.address}" closed the connection before responding; not retried: retry_body_limit is 0, so no request body is kept`;
    await ferry.waitForLine(new RegExp(`^${esc(line)}$`), { stream: "stderr", from, timeoutMs: 5_000 });
    assert.deepEqual(logLines(ferry, /larger than retry_body_limit/, from), []);
  });

  it("a POST that reached a server is not retried: 502", { timeout: 10_000 }, async () => {
    const res = await request(ferry.ports.web, { method: "POST", path: "/bodies/post", body: "charge=1" });
    assert.equal(res.status, 502, show(res, ferry));
    assert.equal(on(hangup, "/bodies/post").length, 1);
    assert.deepEqual(on(echo, "/bodies/post").map((r) => r.startLine), [], "a POST that may have been acted on was repeated");
    await ferry.waitForLine(/closed the connection before responding; not retried: POST is not idempotent and may have reached the server$/, { stream: "stderr" });
  });

  it("a POST is retried when the first server refuses the connection, its body intact (also one over retry_body_limit)", { timeout: 10_000 }, async () => {
    for (const [path, size] of [["/refused/small", 600], ["/refused/large", 200 * 1024]] as const) {
      const body = new SeededBytes(size).next(size);
      const res = await request(ferry.ports.web, { method: "POST", path, body });
      assert.equal(res.status, 200, `${path}: ${show(res, ferry)}`);
      assert.equal(res.body.toString(), `echo ${size}`);
      const got = on(echo, path);
      assert.equal(got.length, 1, path);
      assert.ok(got[0].body.equals(body), `${path}: the body arrived changed`);
    }
  });

  it("a chunked PUT is kept and replayed byte for byte", { timeout: 10_000 }, async () => {
    const chunks = ["7\r\nchunked\r\n", "1;ext=1\r\n \r\n", "14\r\n", "request body, part 3\r\n", "0\r\n\r\n"];
    const c = await connectRaw(ferry.ports.web);
    let res: Response;
    try {
      await c.send("PUT /bodies/chunked HTTP/1.1\r\nHost: failover.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
      for (const piece of chunks) await c.send(piece);
      res = await c.response();
    } finally {
      c.close();
    }
    assert.equal(res.status, 200, show(res, ferry));
    const [first] = on(hangup, "/bodies/chunked");
    const [second] = on(echo, "/bodies/chunked");
    assert.ok(first && second, "the PUT did not go to both servers");
    assert.equal(second.body.toString(), "chunked request body, part 3");
    assert.equal(second.framing, "chunked");
    const bodyBytes = (r: ServedRequest) => r.raw.subarray(r.raw.indexOf("\r\n\r\n") + 4);
    assert.equal(bodyBytes(second).toString("latin1"), bodyBytes(first).toString("latin1"), "the replayed body is not the bytes sent the first time");
  });
});

// -------------------------------------------------------------------- 5. passive health on statuses

describe(`failover: passive health (${ferryLabel()})`, () => {
  let busy: FailoverServer;
  let good: FailoverServer;
  let alone: FailoverServer;
  let hangup: FailoverServer;
  let ferry: Ferry;

  before(async () => {
    const overloaded = (name: string) => () => ({ status: 503, headers: { "Content-Type": "text/plain", "X-Backend": name }, body: `${name} overloaded` });
    busy = await FailoverServer.start(overloaded("busy"));
    alone = await FailoverServer.start(overloaded("alone"));
    good = await namedServer("good");
    hangup = await FailoverServer.start(() => ({ hangUp: true }));
    ferry = await startFerry(`${listener([["/pair", "pair"], ["/alone", "alone"], ["/hangup", "hangup"]])}
backends:
  pair:
    servers: [ "${busy.address}", "${good.address}" ]
    passive: { max_fails: 1, fail_timeout: 10s, fail_status: [503] }
  alone:
    servers: [ "${alone.address}" ]
    passive: { max_fails: 1, fail_timeout: 10s, fail_status: [503] }
  hangup:
    servers: [ "${hangup.address}", "${good.address}" ]
    passive: { max_fails: 1, fail_timeout: 10s }
`);
  });

  after(async () => {
    await ferry?.stop();
    await Promise.all([busy?.close(), good?.close(), alone?.close(), hangup?.close()]);
  });

  it("fail_status: a 503 is relayed, not retried, and marks the server down; it is then skipped", { timeout: 10_000 }, async () => {
    const from = ferry.stderr.length;
    let relayed: Response | undefined;
    for (let i = 0; i < 2 && !relayed; i++) {
      const res = await request(ferry.ports.web, { path: `/pair/${i}` });
      if (res.status === 503) relayed = res;
      else assert.equal(res.body.toString(), "good", show(res, ferry));
    }
    assert.ok(relayed, "two requests and neither went to the server answering 503");
    assert.equal(relayed.body.toString(), "busy overloaded", "the client did not get the server's own 503");
    assert.equal(header(relayed.headers, "x-backend"), "busy");
    const target = busy.traffic()[0].target;
    assert.deepEqual(good.traffic((r) => r.target === target).map((r) => r.startLine), [], "the 503 was retried elsewhere");
    await ferry.waitForLine(new RegExp(`^ferry: backend "pair": server "${esc(busy.address)}" marked down for 10000 ms after 1 failed request: status 503$`), {
      stream: "stderr",
      from,
      timeoutMs: 5_000,
    });
    for (let i = 0; i < 6; i++) {
      const res = await request(ferry.ports.web, { path: `/pair/after/${i}` });
      assert.equal(res.status, 200, show(res, ferry));
      assert.equal(res.body.toString(), "good");
    }
    assert.equal(busy.traffic().length, 1, "a passively-down server got requests while another was up");
  });

  it("fail-open: the only server, passively down, still gets the requests", { timeout: 10_000 }, async () => {
    const from = ferry.stderr.length;
    const first = await request(ferry.ports.web, { path: "/alone/1" });
    assert.equal(first.body.toString(), "alone overloaded", show(first, ferry));
    await ferry.waitForLine(new RegExp(`^ferry: backend "alone": server "${esc(alone.address)}" marked down for 10000 ms`), {
      stream: "stderr",
      from,
      timeoutMs: 5_000,
    });
    for (let i = 2; i <= 3; i++) {
      const res = await request(ferry.ports.web, { path: `/alone/${i}` });
      assert.equal(res.status, 503, show(res, ferry));
      assert.equal(res.body.toString(), "alone overloaded", `ferry refused instead of trying the passively-down server: ${show(res, ferry)}`);
    }
    assert.deepEqual(alone.traffic().map((r) => r.target), ["/alone/1", "/alone/2", "/alone/3"]);
    assert.deepEqual(logLines(ferry, /no available server/, from), []);
  });

  it("a server that hangs up without answering counts as a failure and is marked down", { timeout: 10_000 }, async () => {
    const from = ferry.stderr.length;
    for (let i = 0; i < 2; i++) {
      const res = await request(ferry.ports.web, { path: `/hangup/${i}` });
      assert.equal(res.status, 200, show(res, ferry));
      assert.equal(res.body.toString(), "good");
    }
    assert.equal(hangup.traffic().length, 1, "round robin did not send one of two requests to the server that hangs up");
    await ferry.waitForLine(
      new RegExp(`^ferry: backend "hangup": server "${esc(hangup.address)}" marked down for 10000 ms after 1 failed request: upstream "${esc(hangup.address)}" closed the connection before responding$`),
      { stream: "stderr", from, timeoutMs: 3_000 },
    );
    for (let i = 0; i < 4; i++) await request(ferry.ports.web, { path: `/hangup/after/${i}` });
    assert.equal(hangup.traffic().length, 1, "the server that hung up keeps getting requests");
  });
});

// ---------------------------------------------------------------------------- 6. retry_timeout

describe(`failover: retry_timeout (${ferryLabel()})`, () => {
  let h1: FailoverServer;
  let h2: FailoverServer;
  let ferry: Ferry;
  const seen = (target: string) => [h1, h2].flatMap((s) => s.traffic((r) => r.target === target).map(() => s.address));

  before(async () => {
    h1 = await FailoverServer.start(() => ({ hang: true }));
    h2 = await FailoverServer.start(() => ({ hang: true }));
    ferry = await startFerry(`${listener([["/short", "short"], ["/long", "long"]])}
backends:
  short:
    servers: [ "${h1.address}", "${h2.address}" ]
    timeouts: { response: 500ms }
    retry_timeout: 300ms
    passive: { max_fails: 0 }
  long:
    servers: [ "${h1.address}", "${h2.address}" ]
    timeouts: { response: 500ms }
    passive: { max_fails: 0 }
`);
  });

  after(async () => {
    await ferry?.stop();
    await Promise.all([h1?.close(), h2?.close()]);
  });

  it("no second attempt starts after retry_timeout: one server sees the request, 504", { timeout: 10_000 }, async () => {
    const from = ferry.stderr.length;
    const { res, ms } = await timed(request(ferry.ports.web, { path: "/short/1" }));
    assert.equal(res.status, 504, show(res, ferry));
    assert.equal(seen("/short/1").length, 1, `attempts: ${seen("/short/1")}`);
    assert.ok(ms >= 450 && ms < 500 + MARGIN_MS, `504 after ${ms.toFixed(0)} ms`);
    const line = await ferry.waitForLine(/^ferry: web: upstream "[^"]+" did not respond within 500 ms/, { stream: "stderr", from, timeoutMs: 5_000 });
    assert.match(line, /; not retried: retry_timeout \(\d+ ms\) has passed$/);
    assert.doesNotMatch(line, /; upstream/, "the error lists more than one attempt");
  });

  it("without it, the same request is tried on both servers (the control)", { timeout: 10_000 }, async () => {
    const { res, ms } = await timed(request(ferry.ports.web, { path: "/long/1" }));
    assert.equal(res.status, 504, show(res, ferry));
    assert.deepEqual(seen("/long/1").sort(), [h1.address, h2.address].sort());
    assert.ok(ms >= 950, `504 after ${ms.toFixed(0)} ms: two 500 ms timeouts take longer`);
  });
});


// ------------------------------------------------- 7. fail-open covers the trial after a passive mark

describe(`failover: fail-open while the trial after a passive mark is in flight (${ferryLabel()})`, () => {
  const FAIL_TIMEOUT_MS = 1_000;
  let app: FailoverServer;
  let ferry: Ferry;
  /** Answers the held `/trial/slow` request; set when that request arrives. */
  let answerSlow: (() => void) | undefined;

  before(async () => {
    app = await FailoverServer.start((req) => {
      if (req.target === "/trial/close") return { hangUp: true };
      // Held until the test lets it go: the trial stays in flight for exactly as long as needed.
      if (req.target === "/trial/slow") return new Promise((resolve) => (answerSlow = () => resolve({ status: 200, body: "slow" })));
      return { status: 200, body: "fast" };
    });
    ferry = await startFerry(`${listener([["/trial", "trial"]])}
backends:
  trial:
    servers: [ "${app.address}" ]
    passive: { max_fails: 1, fail_timeout: ${FAIL_TIMEOUT_MS}ms }
`);
  });

  after(async () => {
    answerSlow?.();
    await ferry?.stop();
    await app?.close();
  });

  it("other requests get 200, not 503, while the only server's trial waits for its response", { timeout: 15_000 }, async () => {
    const from = ferry.stderr.length;
    // 1. The server closes without answering: 502, and the mark.
    const sentAt = performance.now();
    const closed = await request(ferry.ports.web, { path: "/trial/close" });
    assert.equal(closed.status, 502, show(closed, ferry));
    await ferry.waitForLine(
      new RegExp(`^ferry: backend "trial": server "${esc(app.address)}" marked down for ${FAIL_TIMEOUT_MS} ms after 1 failed request: upstream "${esc(app.address)}" closed the connection before responding$`),
      { stream: "stderr", from, timeoutMs: 5_000 },
    );
    const markSeenAt = performance.now();

    // 2. During the mark, fail-open: the only server still gets the requests.
    const during = await request(ferry.ports.web, { path: "/trial/marked" });
    assert.equal(during.status, 200, show(during, ferry));
    assert.equal(during.body.toString(), "fast");
    // The mark began after the 502's request was sent, so it lasts at least until here; a
    // request answered later may have been the trial, and step 3 would then prove nothing.
    assert.ok(performance.now() < sentAt + FAIL_TIMEOUT_MS, "the request meant for the mark came after it (machine too slow): the test proved nothing");

    // 3. The end of a mark is not announced (it shows only when a request tries the server), so
    // this waits past its latest possible end: it began before its log line was seen.
    await pace(markSeenAt + FAIL_TIMEOUT_MS + 200 - performance.now());

    // 4. The first request after the mark is the trial; the server holds it unanswered.
    const slow = request(ferry.ports.web, { path: "/trial/slow" });
    await app.until(() => app.traffic((r) => r.target === "/trial/slow").length === 1, "the trial request at the server");
    const concurrent = await Promise.all(Array.from({ length: 8 }, (_, i) => request(ferry.ports.web, { path: `/trial/concurrent/${i}` })));
    // Before the fix each of these got 503 "no available server" until the trial was answered.
    for (const res of concurrent) {
      assert.equal(res.status, 200, show(res, ferry));
      assert.equal(res.body.toString(), "fast");
    }
    assert.equal(app.traffic((r) => r.target.startsWith("/trial/concurrent/")).length, 8);

    answerSlow!();
    const trial = await slow;
    assert.equal(trial.status, 200, show(trial, ferry));
    assert.equal(trial.body.toString(), "slow");
    await ferry.waitForLine(new RegExp(`^ferry: backend "trial": server "${esc(app.address)}" is up again: a request succeeded after fail_timeout$`), {
      stream: "stderr",
      from,
      timeoutMs: 5_000,
    });
    assert.deepEqual(logLines(ferry, /no available server/, from), []);
    assert.equal(logLines(ferry, /is up again/, from).length, 1, ferry.stderr.slice(from).join("\n"));
  });
});
