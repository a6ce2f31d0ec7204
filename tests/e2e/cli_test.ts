/**
 * The command line end to end: --version, --help, --check on good and bad files (exact
 * messages), an invalid config refusing to start, quick mode, and graceful stop on signals.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type HttpBackend, httpBackend, namedBackend } from "../_helpers/backends.ts";
import { type Ferry, ferryLabel, REPO_ROOT, runFerry, startFerry, writeTempFile } from "../_helpers/ferry.ts";
import { connectRaw, header, type RawClient, request } from "../_helpers/raw_http.ts";

const VERSION = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).version as string;

const GOOD = `
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - host: "api.example.com"
        path: /v1
        backend: api
      - host: "*.example.com"
        backend: api
      - path: /hello
        respond: { status: 200, headers: { Content-Type: text/plain }, body: "hi\\n" }
      - path: /old
        redirect: { to: "https://example.com/new", status: 301 }
  - name: raw
    listen: "127.0.0.1:0"
    mode: tcp
    backend: api
backends:
  api:
    balance: round_robin
    servers: [ "127.0.0.1:9001", { address: "127.0.0.1:9002", weight: 2 } ]
    timeouts: { connect: 1s, response: 2s }
`;

// Line numbers matter: the expected messages below point into this text.
const BAD = `listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - path: /
        backend: nope
backends:
  api:
    balance: random_pick
    servers:
      - "127.0.0.1:9001"
      - { address: "127.0.0.1:9002", weight: two }
    timeouts: { connect: 5 }
`;

function badMessages(file: string): string[] {
  return [
    `${file}:6:18: listeners[0].routes[0].backend: unknown backend "nope", defined: api`,
    `${file}:9:14: backends.api.balance: must be one of: round_robin, least_conn, random_two, ip_hash, hash, first, got "random_pick"`,
    `${file}:12:46: backends.api.servers[1].weight: must be an integer from 1 to 1000, got "two"`,
    `${file}:13:26: backends.api.timeouts.connect: needs a unit, like "5s" or "5ms", got "5"`,
  ];
}

const lines = (text: string) => text.split("\n").filter((l) => l !== "");

describe(`CLI (${ferryLabel()})`, () => {
  it("--version prints the package version", { timeout: 20_000 }, async () => {
    const r = await runFerry(["--version"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`\\b${VERSION.replaceAll(".", "\\.")}\\b`));
  });

  it("--help describes the flags", { timeout: 20_000 }, async () => {
    const r = await runFerry(["--help"]);
    assert.equal(r.code, 0, r.stderr);
    for (const flag of ["--config", "--check", "--listen", "--to", "--version"]) {
      assert.ok(r.stdout.includes(flag), `--help does not mention ${flag}:\n${r.stdout}`);
    }
  });

  it("--check accepts a good file: exit 0, no errors", { timeout: 20_000 }, async () => {
    const f = writeTempFile("good.yaml", GOOD);
    try {
      const r = await runFerry(["--config", f.path, "--check"]);
      assert.equal(r.code, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
      assert.equal(r.stderr, "");
      assert.doesNotMatch(r.stdout, /listening on/);
    } finally {
      f.cleanup();
    }
  });

  it("--check lists every problem as file:line:col: path: message, exit 2", { timeout: 20_000 }, async () => {
    const f = writeTempFile("bad.yaml", BAD);
    try {
      const r = await runFerry(["--config", f.path, "--check"]);
      assert.equal(r.code, 2, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
      // Every problem on its own line, in file order; a "ferry: ..." summary line may follow.
      assert.deepEqual(lines(r.stderr).filter((l) => !l.startsWith("ferry: ")), badMessages(f.path));
      assert.doesNotMatch(r.stdout, /listening on/);
    } finally {
      f.cleanup();
    }
  });

  it("--check reports a YAML syntax error with its position", { timeout: 20_000 }, async () => {
    const f = writeTempFile("broken.yaml", "listeners:\n  - name: [web\n");
    try {
      const r = await runFerry(["--config", f.path, "--check"]);
      assert.equal(r.code, 2, r.stderr);
      const errs = lines(r.stderr);
      assert.ok(errs.length >= 1);
      assert.match(errs[0], new RegExp(`^${f.path.replaceAll(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+:\\d+: invalid YAML, `));
    } finally {
      f.cleanup();
    }
  });

  it("--check on a missing file exits 2 with one ferry: line", { timeout: 20_000 }, async () => {
    const path = join(REPO_ROOT, "no-such-dir", "missing.yaml");
    const r = await runFerry(["--config", path, "--check"]);
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(lines(r.stderr), [`ferry: cannot read config ${JSON.stringify(path)}: no such file`]);
  });

  it("an invalid config stops ferry before it listens: exit 2, same messages", { timeout: 20_000 }, async () => {
    const f = writeTempFile("bad.yaml", BAD);
    try {
      const r = await runFerry(["--config", f.path]);
      assert.equal(r.code, 2, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
      assert.deepEqual(lines(r.stderr).filter((l) => !l.startsWith("ferry: ")), badMessages(f.path));
      assert.doesNotMatch(r.stdout, /listening on/);
    } finally {
      f.cleanup();
    }
  });

  it("an unknown flag is a usage error (non-zero exit, message on stderr)", { timeout: 20_000 }, async () => {
    const r = await runFerry(["--no-such-flag"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--no-such-flag/);
  });

  describe("quick mode", () => {
    let a: HttpBackend;
    let b: HttpBackend;
    before(async () => {
      a = await namedBackend("alpha");
      b = await namedBackend("beta");
    });
    after(async () => {
      await a?.close();
      await b?.close();
    });

    it("--listen ADDR --to A --to B proxies round-robin to both", { timeout: 20_000 }, async () => {
      const ferry = await startFerry({ args: ["--listen", "127.0.0.1:0", "--to", a.address, "--to", b.address] });
      try {
        assert.deepEqual(Object.keys(ferry.ports), ["quick"]);
        assert.equal(ferry.modes.quick, "http");
        const names: string[] = [];
        for (let i = 0; i < 4; i++) {
          const res = await request(ferry.ports.quick, { path: `/q${i}` });
          assert.equal(res.status, 200);
          names.push(res.body.toString());
          assert.equal(header(res.headers, "x-target"), `/q${i}`);
        }
        assert.deepEqual([...names].sort(), ["alpha", "alpha", "beta", "beta"]);
        for (let i = 1; i < names.length; i++) assert.notEqual(names[i], names[i - 1], `not alternating: ${names}`);
      } finally {
        const exit = await ferry.stop();
        assert.equal(exit.code, 0, ferry.output());
      }
    });
  });

  describe("signals", () => {
    /**
     * A held request in flight, then SIGTERM: `check` runs once ferry says it is stopping, with
     * `release()` to let the backend answer `finished TARGET`. Everything is stopped afterwards.
     */
    async function stopWithRequestInFlight(
      target: string,
      shutdownTimeout: string | null,
      check: (s: { ferry: Ferry; c: RawClient; release: () => void; errLines: number }) => Promise<void>,
    ): Promise<void> {
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      const slow = await httpBackend(async (req) => {
        await released;
        return { status: 200, body: `finished ${req.target}` };
      });
      const ferry = await startFerry(`
${shutdownTimeout === null ? "" : `shutdown_timeout: ${shutdownTimeout}`}
listeners:
  - name: web
    listen: "127.0.0.1:0"
    backend: slow
backends:
  slow:
    servers: [ "${slow.address}" ]
`);
      const c = await connectRaw(ferry.ports.web);
      try {
        await c.send(`GET ${target} HTTP/1.1\r\nHost: a\r\n\r\n`);
        await slow.waitForRequests(1);
        const errLines = ferry.stderr.length;
        ferry.signal("SIGTERM");
        // ferry says it is stopping; only then may the backend answer.
        await ferry.waitForLine(/SIGTERM/, { stream: "stderr", from: errLines });
        await check({ ferry, c, release, errLines });
      } finally {
        release();
        c.close();
        await ferry.stop();
        await slow.close();
      }
    }

    it("SIGTERM lets a request in flight finish, then exits 0", { timeout: 20_000 }, async () => {
      await stopWithRequestInFlight("/in-flight", null, async ({ ferry, c, release }) => {
        release();
        const res = await c.response();
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), "finished /in-flight");
        // The client is told the connection ends, so it does not send another request into it.
        assert.equal(header(res.headers, "connection"), "close");
        const exit = await ferry.stop();
        assert.equal(exit.killed, false, ferry.output());
        assert.equal(exit.code, 0, ferry.output());
      });
    });

    it("SIGTERM cuts what is still busy after shutdown_timeout, and says so", { timeout: 20_000 }, async () => {
      await stopWithRequestInFlight("/cut", "300ms", async ({ ferry, c, errLines }) => {
        await ferry.waitForLine(/^ferry: SIGTERM received, stopping \(up to 0\.3s for requests in flight\)$/, { stream: "stderr", from: errLines });
        await ferry.waitForLine(/^ferry: stop: 1 connection still busy after shutdown_timeout \(300ms\): closing; the requests or tunnels on them are cut$/, { stream: "stderr", from: errLines });
        // The client sees its connection end without a response, and the log does not blame it.
        assert.equal((await c.readToEnd()).length, 0);
        await ferry.waitForLine(/"GET \/cut HTTP\/1\.1" 444 /);
        const exit = await ferry.exited;
        assert.equal(exit.code, 0, ferry.output());
      });
    });

    it("SIGTERM does not count a connection whose response is done as busy (no wait for the lingering close)", { timeout: 20_000 }, async () => {
      // shutdown_timeout shorter than the lingering close (2 s): counting it would log "still busy".
      await stopWithRequestInFlight("/finishing", "1s", async ({ ferry, c, release }) => {
        release();
        const res = await c.response();
        assert.equal(res.body.toString(), "finished /finishing");
        // The client keeps its socket open; ferry must not wait on it.
        const exit = await ferry.exited;
        assert.equal(exit.code, 0, ferry.output());
        assert.doesNotMatch(ferry.output(), /still busy/);
      });
    });

    it("SIGTERM does not wait for a client that has sent only part of a head", { timeout: 20_000 }, async () => {
      const ferry = await startFerry(`
shutdown_timeout: 60s
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - respond: "up\\n"
`);
      const idle = await connectRaw(ferry.ports.web);
      const partial = await connectRaw(ferry.ports.web);
      try {
        await partial.send("GET / HTTP/1.1\r\nHo");
        // Both connections are accepted and waiting (a request on a third one shows ferry is past them).
        assert.equal((await request(ferry.ports.web, { path: "/" })).status, 200);
        ferry.signal("SIGTERM");
        // With 60 s of shutdown_timeout, only closing them at once ends ferry within the test's time.
        const [a, b] = await Promise.all([idle.readToEnd(), partial.readToEnd()]);
        assert.equal(a.length + b.length, 0, "a waiting connection got an answer");
        const exit = await ferry.exited;
        assert.equal(exit.code, 0, ferry.output());
        assert.doesNotMatch(ferry.output(), /still busy/);
      } finally {
        idle.close();
        partial.close();
        await ferry.stop();
      }
    });

    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      it(`${signal} stops ferry gracefully with exit code 0`, { timeout: 20_000 }, async () => {
        const ferry = await startFerry(`
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - respond: "up\\n"
`);
        const res = await request(ferry.ports.web, { path: "/" });
        assert.equal(res.body.toString(), "up\n");
        const exit = await ferry.stop(signal);
        assert.equal(exit.killed, false, `ferry ignored ${signal}\n${ferry.output()}`);
        assert.equal(exit.code, 0, ferry.output());
      });
    }
  });
});
