/**
 * Robustness end to end, each case a behaviour a first-time user tripped over: a client that
 * leaves mid-body gets no fake answer; `timeouts.response` counts only time spent waiting on the
 * server (not a slow upload or a slow download); a pooled connection to a server that died
 * fails over to another server; broken response framing becomes a 502 page; bare-LF and non-HTTP
 * heads are refused at once; fragments are refused; routes match normalised paths; local
 * answers ignore request bodies and carry Date; `log.access` accepts stderr and refuses an
 * unwritable file at start-up; SIGHUP does not kill ferry.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import net from "node:net";
import { createHash } from "node:crypto";
import { existsSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type BaseBackend,
  closedPort,
  type HttpBackend,
  httpBackend,
  namedBackend,
  rawBackend,
  SeededBytes,
  type StreamBackend,
  streamBackend,
} from "../_helpers/backends.ts";
import { type Ferry, ferryLabel, REPO_ROOT, runFerry, startFerry, writeTempFile } from "../_helpers/ferry.ts";
import { connectRaw, header, readRequest, request, type Response, serializeResponse } from "../_helpers/raw_http.ts";

/** Client-side pacing (a slow uploader or reader), never used to wait for ferry. */
const pace = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** RFC 9110 §5.6.7 IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`. */
const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The access log line for `requestLine`, with the status (and bytes, when given) it must show. */
function accessLine(requestLine: string, status: number, bytes?: number | "-"): RegExp {
  return new RegExp(`"${escape(requestLine)}" ${status} ${bytes === undefined ? "\\S+" : bytes} `);
}

function assertErrorPage(res: Response, status: number): void {
  assert.equal(res.status, status, res.raw.toString("latin1"));
  assert.match(header(res.headers, "content-type") ?? "", /^text\/plain/);
  assert.match(res.body.toString(), new RegExp(`^${status} `), `not ferry's error page: ${res.raw.toString("latin1")}`);
}

const MiB = 1024 * 1024;
const UPLOAD_PIECES = 8;
const UPLOAD_PIECE = 8 * 1024;
/**
 * Big enough that the server's writes block while the client does not read. Loopback buffers
 * autotune to several MiB: 2 or 4 MiB fit in them whole (ferry is never held up, and a ferry that
 * counts a slow client against the server passes); measured here, the server stalled with
 * 8–12.6 MiB in the kernel.
 */
const DOWNLOAD_SIZE = 24 * MiB;

describe(`robustness (${ferryLabel()})`, () => {
  let main: HttpBackend;
  let upload: HttpBackend;
  let download: StreamBackend;
  let serverA: BaseBackend;
  let serverB: HttpBackend;
  let badChunk: HttpBackend;
  let bareLf: BaseBackend;
  let down: number;
  let ferry: Ferry;
  let port: number;
  /** Request targets server A received, in order. */
  const aTargets: string[] = [];

  before(async () => {
    main = await httpBackend((req) => ({
      status: 200,
      headers: { "Content-Type": "text/plain", "X-Target": req.target },
      body: `main ${req.target}`,
    }));
    // Reads the whole body (httpBackend parses it before asking the handler), then answers.
    upload = await httpBackend((req) => ({
      status: 200,
      headers: { "Content-Type": "text/plain" },
      body: `${req.body.length} ${createHash("sha256").update(req.body).digest("hex")}`,
    }));
    download = await streamBackend(DOWNLOAD_SIZE, 7331);
    // Answers one request on a keep-alive connection; when the next request arrives on it, the
    // server dies: listener and connection closed, no answer.
    let aDead = false;
    serverA = await rawBackend(async (conn, self) => {
      if (aDead) return void conn.socket.destroy();
      const first = await readRequest(conn.reader);
      if (!first) return;
      aTargets.push(first.target);
      conn.socket.write(serializeResponse(200, { "Content-Type": "text/plain", "X-Backend": "A" }, "A"));
      const next = await readRequest(conn.reader);
      if (!next) return;
      aTargets.push(next.target);
      aDead = true;
      await self.close();
    });
    serverB = await namedBackend("B");
    // A chunked response whose first chunk-size line is not hex.
    badChunk = await httpBackend(() => ({ raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" }));
    // A response head with bare LF line ends; the connection stays open afterwards.
    bareLf = await rawBackend(async (conn) => {
      await conn.reader.readUntil("\r\n\r\n");
      conn.socket.write("HTTP/1.1 200 OK\nContent-Length: 3\n\nok\n");
    });
    down = await closedPort();
    ferry = await startFerry(`
listeners:
  - name: web
    listen: "127.0.0.1:0"
    timeouts: { header: 10s }
    routes:
      - path: /admin
        respond: { status: 403, body: "forbidden\\n" }
      - path: /r
        respond: { status: 200, headers: { Content-Type: text/plain }, body: "local answer\\n" }
      - path: /upload
        backend: upload
      - path: /download
        backend: download
      - path: /failover
        backend: pair
      - path: /bad-chunk
        backend: bad_chunk
      - path: /bare-lf
        backend: bare_lf
      - path: /down
        backend: down
    backend: main
backends:
  main:
    servers: [ "${main.address}" ]
  upload:
    servers: [ "${upload.address}" ]
    timeouts: { response: 500ms }
  download:
    servers: [ "${download.address}" ]
    timeouts: { response: 300ms }
  pair:
    servers: [ "${serverA.address}", "${serverB.address}" ]
  bad_chunk:
    servers: [ "${badChunk.address}" ]
  bare_lf:
    servers: [ "${bareLf.address}" ]
    timeouts: { response: 10s }
  down:
    servers: [ "127.0.0.1:${down}" ]
`);
    port = ferry.ports.web;
  });

  after(async () => {
    await ferry?.stop();
    await Promise.all([main, upload, download, serverA, serverB, badChunk, bareLf].map((b) => b?.close()));
  });

  for (
    const [name, target, head, partial] of [
      ["Content-Length", "/half-cl", "Content-Length: 5", "o"],
      ["chunked", "/half-chunked", "Transfer-Encoding: chunked", "5\r\nhel"],
    ] as const
  ) {
    it(`sends nothing to a client that half-closes in the middle of a ${name} body, logs 499`, { timeout: 15_000 }, async () => {
      const from = ferry.stdout.length;
      const c = await connectRaw(port);
      try {
        await c.send(`POST ${target} HTTP/1.1\r\nHost: x\r\n${head}\r\n\r\n${partial}`);
        c.end();
        const got = await c.readToEnd();
        assert.equal(got.length, 0, `ferry answered a client that is gone: ${JSON.stringify(got.toString("latin1"))}`);
      } finally {
        c.close();
      }
      await ferry.waitForLine(accessLine(`POST ${target} HTTP/1.1`, 499), { from, timeoutMs: 5_000 });
    });
  }

  it("does not answer 504 to an upload slower than timeouts.response", { timeout: 15_000 }, async () => {
    const body = new SeededBytes(99).next(UPLOAD_PIECES * UPLOAD_PIECE);
    const c = await connectRaw(port);
    try {
      await c.send(`POST /upload/slow HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`);
      // The server's connection carrying this request, and how far into it the body starts.
      const carrier = () => upload.connections.find((conn) => conn.received().includes("POST /upload/slow "));
      await upload.until(() => carrier() !== undefined, "the request head at the server");
      const bodyStart = carrier()!.received().indexOf("\r\n\r\n") + 4;
      const t0 = performance.now();
      for (let i = 0; i < UPLOAD_PIECES; i++) {
        await c.send(body.subarray(i * UPLOAD_PIECE, (i + 1) * UPLOAD_PIECE));
        // The piece went through ferry to the server; then the client dawdles before the next.
        const conn = carrier()!;
        await upload.until(
          () => conn.received().length >= bodyStart + (i + 1) * UPLOAD_PIECE || conn.closed,
          `upload piece ${i} at the server`,
        );
        // ferry gave up on the server (and answered the client): the response below says how.
        if (conn.closed) break;
        if (i < UPLOAD_PIECES - 1) await pace(150);
      }
      const uploadMs = performance.now() - t0;
      const res = await c.response("POST");
      assert.equal(res.status, 200, res.raw.toString("latin1"));
      assert.ok(uploadMs > 1000, `the upload took only ${uploadMs.toFixed(0)} ms, not well over the 500 ms response timeout`);
      assert.equal(res.body.toString(), `${body.length} ${createHash("sha256").update(body).digest("hex")}`);
    } finally {
      c.close();
    }
  });

  it("does not cut a download that a slow client reads for longer than timeouts.response", { timeout: 30_000 }, async () => {
    const from = ferry.stdout.length;
    const c = await connectRaw(port, "127.0.0.1", 15_000);
    try {
      // The client does not read until the server's writes have been blocked for twice the
      // 300 ms response timeout: ferry is stuck on the client, the server is not late.
      c.socket.pause();
      await c.send("GET /download/slow HTTP/1.1\r\nHost: x\r\n\r\n");
      const st = await download.waitForStall(0, 600, 15_000);
      assert.equal(st.aborted, false, `ferry dropped the server's connection while the client was slow: ${JSON.stringify(st)}`);
      // Otherwise the test proved nothing: ferry was never held up by the client.
      assert.ok(st.stalled && !st.done, `the server's writes never blocked: ${JSON.stringify(st)}`);
      c.socket.resume();
      const res = await c.response();
      assert.equal(res.status, 200);
      assert.equal(header(res.headers, "content-length"), String(DOWNLOAD_SIZE));
      assert.equal(res.body.length, DOWNLOAD_SIZE, "body cut short");
      assert.equal(createHash("sha256").update(res.body).digest("hex"), download.sha256, "body bytes differ (sha256)");
    } finally {
      c.close();
    }
    await ferry.waitForLine(accessLine("GET /download/slow HTTP/1.1", 200, DOWNLOAD_SIZE), { from, timeoutMs: 5_000 });
  });

  it("fails over when a pooled connection's server has died", { timeout: 15_000 }, async () => {
    const r1 = await request(port, { path: "/failover/1" });
    assert.equal(r1.body.toString(), "A", r1.raw.toString("latin1"));
    const r2 = await request(port, { path: "/failover/2" });
    assert.equal(r2.body.toString(), "B", r2.raw.toString("latin1"));
    // Round robin is back at A, whose pooled connection now dies with the server.
    const r3 = await request(port, { path: "/failover/3" });
    assert.equal(r3.status, 200, r3.raw.toString("latin1"));
    assert.equal(r3.body.toString(), "B");
    assert.deepEqual(aTargets, ["/failover/1", "/failover/3"], "the third request did not go to A's pooled connection first");
    assert.deepEqual(serverB.requests.map((r) => r.target), ["/failover/2", "/failover/3"]);
  });

  it("answers 502 when a chunked response's first chunk size is malformed", { timeout: 15_000 }, async () => {
    const from = ferry.stdout.length;
    const res = await request(port, { path: "/bad-chunk" });
    assertErrorPage(res, 502);
    await ferry.waitForLine(accessLine("GET /bad-chunk HTTP/1.1", 502), { from, timeoutMs: 5_000 });
  });

  /**
   * Sends `bytes`, expects ferry's `status` page well before `waited` (a 10 s timeout) could have
   * run out, and, when `closes`, the connection closed after it.
   */
  async function answeredAtOnce(bytes: string | Uint8Array, status: number, waited: string, closes: boolean): Promise<void> {
    const t0 = performance.now();
    const c = await connectRaw(port, "127.0.0.1", 6_000);
    try {
      await c.send(bytes);
      const res = await c.response();
      const ms = performance.now() - t0;
      assertErrorPage(res, status);
      assert.ok(ms < 5_000, `${status} after ${ms.toFixed(0)} ms: ferry waited for the 10 s ${waited} timeout`);
      if (closes) assert.equal((await c.readToEnd()).length, 0, `connection not closed after ${status}`);
    } finally {
      c.close();
    }
  }

  it("answers 502 at once to a response head with bare LF line ends", { timeout: 15_000 }, async () => {
    await answeredAtOnce("GET /bare-lf HTTP/1.1\r\nHost: x\r\n\r\n", 502, "response", false);
  });

  it("answers 400 at once to a request head with bare LF line ends, and closes", { timeout: 15_000 }, async () => {
    await answeredAtOnce("GET /lf HTTP/1.1\nHost: x\n\n", 400, "header", true);
    assert.ok(!main.requests.some((r) => r.target === "/lf"), "a bare-LF request was forwarded");
  });

  it("answers 400 at once to a TLS ClientHello on the plain port, and closes", { timeout: 15_000 }, async () => {
    // TLS record header (handshake, TLS 1.0 record version, length 0xa5), ClientHello header,
    // client version TLS 1.2, then the random and the rest of a 170-byte record.
    const hello = Buffer.concat([
      Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03]),
      new SeededBytes(443).next(0xa5 + 5 - 11),
    ]);
    await answeredAtOnce(hello, 400, "header", true);
  });

  it("keeps accepting after clients that connect and reset at once", { timeout: 30_000 }, async () => {
    // A client that resets before ferry accepts it makes Deno's accept() throw NotConnected
    // (ENOTCONN); taking that for a closed listener ended the accept loop, and the port went on
    // completing handshakes nobody served. 400 of them in bursts of 8 give the race its chance.
    let resets = 0;
    for (let round = 0; round < 50; round++) {
      await Promise.all(Array.from({ length: 8 }, () =>
        new Promise<void>((resolve) => {
          const s = net.connect({ port, host: "127.0.0.1" });
          s.once("connect", () => {
            s.resetAndDestroy();
            resets++;
            resolve();
          });
          s.once("error", () => resolve());
        })));
    }
    assert.ok(resets > 0, "no connection was opened");
    for (let i = 0; i < 3; i++) {
      const res = await request(port, { path: "/r" });
      assert.equal(res.status, 200, res.raw.toString("latin1"));
    }
  });

  it("answers 400 to a request target with a fragment, never forwarded", { timeout: 15_000 }, async () => {
    const c = await connectRaw(port);
    try {
      await c.send("GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n");
      assertErrorPage(await c.response(), 400);
      assert.equal((await c.readToEnd()).length, 0, "connection not closed after 400");
    } finally {
      c.close();
    }
    // A normal request on its own connection; answered by the backend, so any earlier one is recorded.
    assert.equal((await request(port, { path: "/sync-after-fragment" })).status, 200);
    assert.deepEqual(main.requests.filter((r) => /^\/a\b/.test(r.target)).map((r) => r.startLine), []);
  });

  it("routes on the normalised path: encodings, //, .., backslashes and ;params cannot dodge a route", { timeout: 15_000 }, async () => {
    const spellings = ["/admin", "/%61dmin", "//admin", "/x/../admin", "/admin/./", "/%2Fadmin"];
    // What some backends serve as /admin: "\" for "/" (IIS), ";params" dropped (Tomcat).
    spellings.push("/x%5c..%5cadmin", "/%5cadmin", "/admin;x", "/x/..;/admin", "/admin;jsessionid=1/");
    for (const path of spellings) {
      const res = await request(port, { path });
      assert.equal(res.status, 403, `${path}: ${res.raw.toString("latin1")}`);
      assert.equal(res.body.toString(), "forbidden\n", path);
    }
    const other = await request(port, { path: "/adminx" });
    assert.equal(other.status, 200, other.raw.toString("latin1"));
    assert.equal(other.body.toString(), "main /adminx");
    assert.deepEqual(main.requests.filter((r) => /admin/i.test(r.target)).map((r) => r.target), ["/adminx"]);
  });

  it("answers a respond route at once without reading the request body, then closes", { timeout: 15_000 }, async () => {
    const c = await connectRaw(port, "127.0.0.1", 3_000);
    try {
      const t0 = performance.now();
      // One byte of a 1 MB body, then the client stalls.
      await c.send("POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nx");
      const res = await c.response("POST");
      const ms = performance.now() - t0;
      assert.equal(res.status, 200, res.raw.toString("latin1"));
      assert.equal(res.body.toString(), "local answer\n");
      assert.match(header(res.headers, "connection") ?? "", /^close$/i);
      assert.ok(ms < 2_000, `answered after ${ms.toFixed(0)} ms`);
      assert.equal((await c.readToEnd()).length, 0, "connection not closed after the answer");
    } finally {
      c.close();
    }
  });

  it("sends Date (IMF-fixdate) on ferry's own responses", { timeout: 15_000 }, async () => {
    const answers: [what: string, status: number, res: Response][] = [
      ["respond", 200, await request(port, { path: "/r" })],
      ["respond 403", 403, await request(port, { path: "/admin" })],
      ["error page 502", 502, await request(port, { path: "/down" })],
    ];
    const c = await connectRaw(port);
    try {
      await c.send("GET /bad target HTTP/1.1\r\nHost: x\r\n\r\n");
      answers.push(["error page 400", 400, await c.response()]);
    } finally {
      c.close();
    }
    for (const [what, status, res] of answers) {
      assert.equal(res.status, status, `${what}: ${res.raw.toString("latin1")}`);
      const dates = res.headers.filter(([k]) => k.toLowerCase() === "date").map(([, v]) => v);
      assert.equal(dates.length, 1, `${what}: expected one Date field\n${res.raw.toString("latin1")}`);
      assert.match(dates[0], IMF_FIXDATE, what);
      const skew = Math.abs(Date.parse(dates[0]) - Date.now());
      assert.ok(skew < 60_000, `${what}: Date ${dates[0]} is ${skew} ms from now`);
    }
  });
});

const UNWRITABLE_LOG_CONFIG = `
log: { access: /nonexistent/dir/x.log }
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - respond: "ok\\n"
`;

describe(`access log targets (${ferryLabel()})`, () => {
  it("log.access: stderr writes access lines to stderr, not to a file", { timeout: 20_000 }, async () => {
    // ferry runs in the repository root: a ferry that took "stderr" for a path would append to a file there.
    const stray = join(REPO_ROOT, "stderr");
    const strayBefore = existsSync(stray);
    const ferry = await startFerry(`
log: { access: stderr }
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - respond: "ok\\n"
`);
    try {
      const res = await request(ferry.ports.web, { path: "/to-stderr" });
      assert.equal(res.status, 200);
      await ferry.waitForLine(accessLine("GET /to-stderr HTTP/1.1", 200, 3), { stream: "stderr", timeoutMs: 5_000 });
      assert.deepEqual(ferry.stdout.filter((l) => !l.startsWith("ferry: listener ")), [], "access lines on stdout");
      if (!strayBefore) assert.equal(existsSync(stray), false, `ferry wrote the access log to a file ${stray}`);
    } finally {
      await ferry.stop();
      if (!strayBefore) rmSync(stray, { force: true });
    }
  });

  it("creates the access log file writable by its owner only (no group or world write)", { timeout: 20_000 }, async () => {
    const dir = writeTempFile("placeholder", "");
    const path = join(dir.dir, "access.log");
    const ferry = await startFerry(`
log: { access: ${path} }
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - respond: "ok\\n"
`);
    try {
      assert.equal((await request(ferry.ports.web, { path: "/" })).status, 200);
      assert.equal(statSync(path).mode & 0o022, 0, `mode ${(statSync(path).mode & 0o777).toString(8)}`);
    } finally {
      await ferry.stop();
      dir.cleanup();
    }
  });

  it("--check fails on an access log file that could not be opened: exit 1, and the file is not created", { timeout: 20_000 }, async () => {
    const f = writeTempFile("ferry.yaml", UNWRITABLE_LOG_CONFIG);
    try {
      const r = await runFerry(["--check", "--config", f.path], { timeoutMs: 10_000 });
      assert.equal(r.code, 1, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
      assert.match(r.stderr, /cannot open access log "\/nonexistent\/dir\/x\.log"/);
      assert.doesNotMatch(r.stdout, /configuration is valid/);
    } finally {
      f.cleanup();
    }
    const ok = writeTempFile("ferry.yaml", UNWRITABLE_LOG_CONFIG.replace("/nonexistent/dir/x.log", "LOGDIR/x.log"));
    try {
      writeFileSync(ok.path, UNWRITABLE_LOG_CONFIG.replace("/nonexistent/dir/x.log", join(ok.dir, "x.log")));
      const r = await runFerry(["--check", "--config", ok.path], { timeoutMs: 10_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(existsSync(join(ok.dir, "x.log")), false, "--check created the log file");
    } finally {
      ok.cleanup();
    }
  });

  it("an access log file that cannot be opened stops ferry at start: exit 1, nothing bound", { timeout: 20_000 }, async () => {
    const f = writeTempFile("ferry.yaml", UNWRITABLE_LOG_CONFIG);
    try {
      const r = await runFerry(["--config", f.path], { timeoutMs: 10_000 });
      assert.equal(r.code, 1, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
      assert.match(r.stderr, /cannot open access log "\/nonexistent\/dir\/x\.log"/);
      assert.doesNotMatch(r.stdout, /listening on/);
    } finally {
      f.cleanup();
    }
  });
});

describe(`SIGHUP (${ferryLabel()})`, () => {
  it("reloads the config file on the same socket; an invalid file keeps the running config", { timeout: 20_000 }, async () => {
    const config = (body: string) => `
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - respond: "${body}\\n"
`;
    const ferry = await startFerry(config("one"));
    let exited = false;
    ferry.exited.then(() => (exited = true));
    try {
      assert.equal((await request(ferry.ports.web, { path: "/before" })).body.toString(), "one\n");
      // Port 0 stays the same socket: a listener with an unchanged address is never rebound.
      writeFileSync(ferry.configPath!, config("two"));
      let from = ferry.stderr.length;
      ferry.signal("SIGHUP");
      await ferry.waitForLine(/reloaded "/, { stream: "stderr", from, timeoutMs: 5_000 });
      assert.equal((await request(ferry.ports.web, { path: "/after" })).body.toString(), "two\n");

      writeFileSync(ferry.configPath!, "listeners: [");
      from = ferry.stderr.length;
      ferry.signal("SIGHUP");
      await ferry.waitForLine(/keeping the running configuration/, { stream: "stderr", from, timeoutMs: 5_000 });
      assert.equal((await request(ferry.ports.web, { path: "/still" })).body.toString(), "two\n");
      assert.equal(exited, false, ferry.output());
      const exit = await ferry.stop();
      assert.equal(exit.code, 0, ferry.output());
    } finally {
      await ferry.stop();
    }
  });
});

describe(`timeouts.send (${ferryLabel()})`, () => {
  let ferry: Ferry;
  let big: StreamBackend;

  before(async () => {
    big = await streamBackend(DOWNLOAD_SIZE, 99);
    ferry = await startFerry(`
listeners:
  - name: web
    listen: "127.0.0.1:0"
    timeouts: { send: 1s }
    routes:
      - path: /up
        respond: "up\\n"
      - backend: big
backends:
  big:
    servers: [ "${big.address}" ]
`);
  });

  after(async () => {
    await ferry?.stop();
    await big?.close();
  });

  it("disconnects a client that stops reading, and the server's connection with it", { timeout: 20_000 }, async () => {
    const c = await connectRaw(ferry.ports.web);
    // The client never reads: its receive buffer fills, then ferry's writes to it block.
    c.socket.pause();
    await c.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    // A paused socket cannot see ferry's FIN behind the unread data, so watch the server side:
    // ferry gives up on the client and closes the server's connection with it.
    await big.waitForStall(0, 200, 10_000);
    const t0 = performance.now();
    await big.until(() => big.connections[0].closed, () => `ferry to give up on the client (stream: ${JSON.stringify(big.streams[0])})`);
    const ms = performance.now() - t0;
    assert.ok(ms < 10_000, `client held for ${ms.toFixed(0)} ms`);
    assert.ok(!big.streams[0].done, "the whole body went out although the client read nothing");
    await ferry.waitForLine(/web: client 127\.0\.0\.1 accepted nothing for 1000 ms \(timeouts\.send\): connection closed/, { stream: "stderr" });
    c.close();
    const res = await request(ferry.ports.web, { path: "/up" });
    assert.equal(res.status, 200);
  });
});

describe(`reused connections (${ferryLabel()})`, () => {
  it("does not send a GET again when the server held it on a reused connection and then closed", { timeout: 20_000 }, async () => {
    // One server, keep-alive: /fast is answered; /slowdrop is held 600 ms, then the connection
    // closes without an answer. That is the server failing on this request (it may crash on it
    // again), not an idle connection the server had closed just as the request went out.
    const targets: string[] = [];
    const server = await rawBackend(async (conn) => {
      for (;;) {
        const req = await readRequest(conn.reader);
        if (!req) return;
        targets.push(req.target);
        if (req.target === "/slowdrop") {
          await pace(600);
          conn.socket.destroy();
          return;
        }
        conn.socket.write(serializeResponse(200, { "Content-Type": "text/plain" }, "fast"));
      }
    });
    const ferry = await startFerry(`
listeners:
  - name: web
    listen: "127.0.0.1:0"
    backend: one
backends:
  one:
    servers: [ "${server.address}" ]
`);
    try {
      assert.equal((await request(ferry.ports.web, { path: "/fast" })).status, 200);
      // The pooled connection from /fast carries /slowdrop.
      const res = await request(ferry.ports.web, { path: "/slowdrop" });
      assert.equal(res.status, 502, res.raw.toString("latin1"));
      assert.deepEqual(targets, ["/fast", "/slowdrop"], "the held request was sent twice");
      assert.equal(server.connections.length, 1, "a second connection was opened for the same request");
    } finally {
      await ferry.stop();
      await server.close();
    }
  });
});
