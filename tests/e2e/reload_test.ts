/**
 * Reload (SIGHUP) through a real ferry: new routes and servers on the same listener socket
 * without cutting a response in flight, keep-alive connections that see the new config for
 * their next request; state that survives (active and passive health verdicts, in-flight counts
 * against max_conns) for servers whose address stays; listeners added, removed, and a reload
 * whose new port is taken, which keeps the running configuration.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { writeFileSync } from "node:fs";
import { closedPort, namedBackend } from "../_helpers/backends.ts";
import { type Ferry, ferryLabel, startFerry } from "../_helpers/ferry.ts";
import { type HostServer, startHostServer, startHostServers } from "../_helpers/reload_backends.ts";
import { askBackend, pollUntil, startSlowRequest } from "../_helpers/reload_client.ts";
import { connectRaw, header, request } from "../_helpers/raw_http.ts";
import { heldBackend } from "../_helpers/policy_backends.ts";
import { waitFor } from "../_helpers/policy_client.ts";

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Rewrites ferry's config file, sends SIGHUP and waits for the stderr line matching `expect`
 * (success by default). Returns the stdout index from before the signal, where the reprinted
 * `listening on` lines start.
 */
async function reload(ferry: Ferry, config: string, expect: RegExp = /^ferry: reloaded "/): Promise<number> {
  writeFileSync(ferry.configPath!, config);
  const from = ferry.stderr.length;
  const outFrom = ferry.stdout.length;
  ferry.signal("SIGHUP");
  await ferry.waitForLine(expect, { stream: "stderr", from, timeoutMs: 10_000 });
  return outFrom;
}

/** The port in the `listening on` line of `listener` printed at or after stdout line `from`. */
async function listeningPort(ferry: Ferry, listener: string, from: number): Promise<number> {
  const line = await ferry.waitForLine(new RegExp(`^ferry: listener "${escape(listener)}" \\(http\\) listening on 127\\.0\\.0\\.1:\\d+$`), {
    from,
    timeoutMs: 5_000,
  });
  return Number(/:(\d+)$/.exec(line)![1]);
}

/** True when a TCP connect to 127.0.0.1:`port` is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
  });
}

async function withServers(names: string[], fn: (servers: HostServer[]) => Promise<void>): Promise<void> {
  const servers: HostServer[] = [];
  try {
    for (const n of names) servers.push(await startHostServer(n, "127.0.0.1"));
    await fn(servers);
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
}

async function withFerry(config: string, fn: (ferry: Ferry) => Promise<void>): Promise<void> {
  const ferry = await startFerry(config);
  let exited = false;
  ferry.exited.then(() => (exited = true));
  try {
    await fn(ferry);
    assert.equal(exited, false, `ferry exited during the test\n${ferry.output()}`);
    assert.doesNotMatch(ferry.stderr.join("\n"), /internal error/, ferry.output());
  } finally {
    await ferry.stop();
  }
}

describe(`reload: routes and servers (${ferryLabel()})`, () => {
  it("switches routes and servers on the same socket; a response in flight completes, keep-alive connections get the new config", { timeout: 30_000 }, async () => {
    await withServers(["old", "new"], async ([oldServer, newServer]) => {
      const config = (server: HostServer, extra = "") => `
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - path: /
        backend: app
${extra}
backends:
  app:
    servers: [ "${server.address}" ]
    timeouts: { idle: 1h }
`;
      await withFerry(config(oldServer), async (ferry) => {
        const port = ferry.ports.web;
        const keepAlive = await connectRaw(port);
        try {
          await keepAlive.send("GET /ka/1 HTTP/1.1\r\nHost: ferry.test\r\n\r\n");
          assert.equal(header((await keepAlive.response()).headers, "x-backend"), "old");

          const slow = await startSlowRequest(port, "/slow/reload", [oldServer]);
          try {
            const outFrom = await reload(ferry, config(newServer, `      - path: /local\n        respond: "added\\n"`));
            // An unchanged listen address keeps its socket (even port 0): same port reprinted.
            assert.equal(await listeningPort(ferry, "web", outFrom), port);

            // The keep-alive connection opened before the reload: new routes and servers.
            await keepAlive.send("GET /ka/2 HTTP/1.1\r\nHost: ferry.test\r\n\r\n");
            assert.equal(header((await keepAlive.response()).headers, "x-backend"), "new");
            await keepAlive.send("GET /local HTTP/1.1\r\nHost: ferry.test\r\n\r\n");
            assert.equal((await keepAlive.response()).body.toString(), "added\n");
            assert.equal(await askBackend(port, "/fresh"), "new");

            // The response that was half sent during the reload arrives whole ...
            await slow.finish();
            // ... and ferry does not keep its connection to a server the reload removed
            // (`idle: 1h` would hold it for an hour otherwise).
            await oldServer.until(() => oldServer.open === 0, () => `ferry to close its connections to the removed server (${oldServer.open} open)`, 5_000);
            // ... and the next request on its connection follows the new config too.
            await slow.client.send("GET /after-slow HTTP/1.1\r\nHost: ferry.test\r\n\r\n");
            assert.equal(header((await slow.client.response()).headers, "x-backend"), "new");
          } finally {
            slow.close();
          }
          assert.deepEqual(oldServer.targets, ["/ka/1", "/slow/reload"]);
          assert.deepEqual(newServer.targets, ["/ka/2", "/fresh", "/after-slow"]);
        } finally {
          keepAlive.close();
        }
      });
    });
  });
});

describe(`reload: server state survives (${ferryLabel()})`, () => {
  it("keeps a server that active checks took down down, until rise passes, while a new address starts up", { timeout: 30_000 }, async () => {
    // s1 also listens on 127.0.0.2 with the same port: the "same server, new address" case.
    const servers = await startHostServers([
      { name: "s1", host: "127.0.0.1" },
      { name: "s1-moved", host: "127.0.0.2" },
    ]);
    const [s1, moved] = servers;
    try {
      await withServers(["s2"], async ([s2]) => {
        // rise 100 at 200ms: 20 s of passing checks to come back up, far longer than the test.
        const config = (first: HostServer, extra = "") => `
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - path: /
        backend: app
${extra}
backends:
  app:
    health: { path: /health, interval: 200ms, timeout: 1s, fall: 1, rise: 100 }
    servers: [ "${first.address}", "${s2.address}" ]
`;
        await withFerry(config(s1), async (ferry) => {
          const port = ferry.ports.web;
          assert.deepEqual(new Set([await askBackend(port), await askBackend(port)]), new Set(["s1", "s2"]));

          s1.healthStatus = 503;
          await ferry.waitForLine(
            new RegExp(`^ferry: backend "app": server "${escape(s1.address)}" is down: health check failed: `),
            { stream: "stderr", timeoutMs: 10_000 },
          );
          s1.healthStatus = 200;
          const targetsAtDown = s1.targets.length;

          await reload(ferry, config(s1, `      - path: /local\n        respond: "added\\n"`));
          assert.equal((await request(port, { path: "/local" })).body.toString(), "added\n", "the reload did not apply");
          // Let the checks after the reload pass at s1: a server rebuilt from scratch would
          // start up and stay up on them.
          const checks = s1.healthChecks;
          await s1.until(() => s1.healthChecks >= checks + 2, "two health checks of s1 after the reload");
          for (let i = 0; i < 8; i++) assert.equal(await askBackend(port, `/after/${i}`), "s2", "s1 came back up on the reload");
          assert.equal(s1.targets.length, targetsAtDown);
          assert.doesNotMatch(ferry.stderr.join("\n"), /is up/, "s1 came back up on the reload");

          // The state belongs to the address: the same server at a new address starts up.
          await reload(ferry, config(moved));
          const seq: string[] = [];
          for (let i = 0; i < 4; i++) seq.push(await askBackend(port, `/moved/${i}`));
          assert.deepEqual(seq.filter((n) => n === "s1-moved").length, 2, `sequence: ${seq}`);
        });
      });
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  it("keeps a passively marked-down server skipped after a reload", { timeout: 30_000 }, async () => {
    await withServers(["s1", "s2"], async ([s1, s2]) => {
      // fail_timeout far longer than the test, so only a lost mark can bring s1 back.
      const config = (extra = "") => `
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - path: /
        backend: app
${extra}
backends:
  app:
    passive: { max_fails: 1, fail_timeout: 60s, fail_status: [503] }
    servers: [ "${s1.address}", "${s2.address}" ]
`;
      await withFerry(config(), async (ferry) => {
        const port = ferry.ports.web;
        s1.status = 503;
        // Round robin reaches s1 within two requests; its 503 is relayed and marks it down.
        await pollUntil("s1 to be marked down", 5_000, async () => {
          await request(port, { path: "/mark" });
          return ferry.stderr.some((l) => l.includes(`server "${s1.address}" marked down for 60000 ms after 1 failed request`));
        }, 20);
        s1.status = 200;
        const targetsAtDown = s1.targets.length;

        await reload(ferry, config(`      - path: /local\n        respond: "added\\n"`));
        assert.equal((await request(port, { path: "/local" })).body.toString(), "added\n", "the reload did not apply");
        for (let i = 0; i < 8; i++) assert.equal(await askBackend(port, `/after/${i}`), "s2", "the passive mark was lost on the reload");
        assert.equal(s1.targets.length, targetsAtDown);
      });
    });
  });

  it("counts requests in flight against max_conns across a reload", { timeout: 30_000 }, async () => {
    await withServers(["only"], async ([only]) => {
      const config = (extra = "") => `
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - path: /
        backend: app
${extra}
backends:
  app:
    max_conns: 1
    queue_timeout: 300ms
    servers: [ "${only.address}" ]
`;
      const full = /^ferry: web: every server of backend "app" stayed at max_conns for 300 ms$/;
      await withFerry(config(), async (ferry) => {
        const port = ferry.ports.web;
        const slow = await startSlowRequest(port, "/slow/busy", [only]);
        try {
          let from = ferry.stderr.length;
          let res = await request(port, { path: "/before" });
          assert.equal(res.status, 503, res.raw.toString("latin1"));
          await ferry.waitForLine(full, { stream: "stderr", from, timeoutMs: 5_000 });

          await reload(ferry, config(`      - path: /local\n        respond: "added\\n"`));
          assert.equal((await request(port, { path: "/local" })).body.toString(), "added\n", "the reload did not apply");
          from = ferry.stderr.length;
          res = await request(port, { path: "/during" });
          assert.equal(res.status, 503, `the request in flight was forgotten by the reload: ${res.raw.toString("latin1")}`);
          await ferry.waitForLine(full, { stream: "stderr", from, timeoutMs: 5_000 });

          // Released through the old config's backend: the new one sees the slot free again.
          await slow.finish();
        } finally {
          slow.close();
        }
        for (let i = 0; i < 3; i++) assert.equal(await askBackend(port, `/after/${i}`), "only");
        assert.deepEqual(only.targets, ["/slow/busy", "/after/0", "/after/1", "/after/2"]);
      });
    });
  });
});

describe(`reload: queued requests (${ferryLabel()})`, () => {
  it("keeps requests waiting in the max_conns queue waiting through reloads; they are served when the place frees", { timeout: 30_000 }, async () => {
    const server = await heldBackend("only");
    try {
      const config = (extra = "") => `
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - path: /
        backend: app
${extra}
backends:
  app:
    max_conns: 1
    queue_timeout: 20s
    servers: [ "${server.address}" ]
`;
      await withFerry(config(), async (ferry) => {
        const port = ferry.ports.web;
        const first = request(port, { path: "/first" });
        await waitFor(() => server.waiting === 1, "the first request at the server");
        const queued = [request(port, { path: "/queued/1" }), request(port, { path: "/queued/2" })];
        // Two reloads: the queue must follow each new configuration, not be answered 503.
        await reload(ferry, config());
        await reload(ferry, config(`      - path: /local\n        respond: "added\\n"`));
        assert.equal(server.waiting, 1, "a queued request got past max_conns");
        server.hold = false;
        server.release();
        const answers = await Promise.all([first, ...queued]);
        assert.deepEqual(answers.map((r) => r.status), [200, 200, 200], answers.map((r) => r.raw.toString("latin1")).join("\n"));
        assert.deepEqual(server.requests.map((r) => r.target), ["/first", "/queued/1", "/queued/2"]);
        assert.ok(server.maxWaiting <= 1, `max_conns 1 but ${server.maxWaiting} requests at once`);
      });
    } finally {
      await server.close();
    }
  });
});

describe(`reload: queued requests use added capacity (${ferryLabel()})`, () => {
  it("sends requests already in the max_conns queue to a server a reload added, while the first is still busy", { timeout: 30_000 }, async () => {
    const busy = await heldBackend("busy");
    const added = await namedBackend("added");
    try {
      const config = (servers: string[]) => `
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - { path: /ping, respond: "pong\\n" }
    backend: app
backends:
  app:
    max_conns: 1
    queue_timeout: 20s
    servers: [ ${servers.map((s) => `"${s}"`).join(", ")} ]
`;
      await withFerry(config([busy.address]), async (ferry) => {
        const port = ferry.ports.web;
        const first = request(port, { path: "/first" });
        await waitFor(() => busy.waiting === 1, "the first request at the busy server");
        const clients = [await connectRaw(port), await connectRaw(port)];
        for (const [i, c] of clients.entries()) await c.send(`GET /queued/${i + 1} HTTP/1.1\r\nHost: a\r\n\r\n`);
        // A request ferry answers itself, sent after the queued ones: once it is answered, ferry
        // has read theirs too and put them in the queue (it reads connections in accept order).
        assert.equal((await request(port, { path: "/ping" })).status, 200);
        await reload(ferry, config([busy.address, added.address]));
        // Served by the new server while the busy one still holds the first request.
        const answers = await Promise.all(clients.map((c) => c.response().finally(() => c.close())));
        assert.deepEqual(answers.map((r) => `${r.status} ${r.body}`), ["200 added", "200 added"]);
        assert.equal(busy.waiting, 1);
        busy.release();
        assert.equal((await first).body.toString(), "busy");
      });
    } finally {
      await busy.close();
      await added.close();
    }
  });

  it("answers a queued request 503 at once when active checks take its only server down", { timeout: 30_000 }, async () => {
    const busy = await heldBackend("busy");
    try {
      // Health checks go to /health, which the held backend holds too: the check times out.
      await withFerry(`
listeners:
  - name: web
    listen: "127.0.0.1:0"
    backend: app
backends:
  app:
    max_conns: 1
    queue_timeout: 20s
    servers: [ "${busy.address}" ]
    health: { path: /health, interval: 200ms, timeout: 300ms, fall: 1, rise: 1 }
`, async (ferry) => {
        const port = ferry.ports.web;
        busy.hold = false;
        const warm = await request(port, { path: "/warm" });
        assert.equal(warm.status, 200);
        busy.hold = true;
        const first = request(port, { path: "/first" });
        await waitFor(() => busy.requests.some((r) => r.target === "/first"), "the first request at the server");
        const started = Date.now();
        const queued = await request(port, { path: "/queued" });
        assert.equal(queued.status, 503, queued.raw.toString("latin1"));
        assert.ok(Date.now() - started < 20_000, "the queued request waited out its queue_timeout");
        await ferry.waitForLine(/is down: health check failed/, { stream: "stderr" });
        busy.release();
        await first;
      });
    } finally {
      await busy.close();
    }
  });
});

describe(`reload: listeners (${ferryLabel()})`, () => {
  it("binds an added listener, stops accepting on a removed one, and keeps everything when a new port is taken", { timeout: 30_000 }, async () => {
    const base = `
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - respond: "web\\n"
`;
    const blocker = net.createServer();
    await new Promise<void>((resolve, reject) => {
      blocker.once("error", reject);
      blocker.listen({ host: "127.0.0.1", port: 0 }, () => resolve());
    });
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      await withFerry(base, async (ferry) => {
        const web = ferry.ports.web;
        assert.equal((await request(web)).body.toString(), "web\n");

        let outFrom = await reload(ferry, `${base}
  - name: extra
    listen: "127.0.0.1:0"
    routes:
      - respond: "extra\\n"
`);
        const extra = await listeningPort(ferry, "extra", outFrom);
        assert.equal(await listeningPort(ferry, "web", outFrom), web);
        assert.notEqual(extra, web);
        assert.equal((await request(extra)).body.toString(), "extra\n");
        assert.equal((await request(web)).body.toString(), "web\n");

        outFrom = await reload(ferry, base);
        await pollUntil(`port ${extra} to refuse connections`, 5_000, () => refused(extra));
        assert.equal((await request(web)).body.toString(), "web\n");
        assert.equal(await listeningPort(ferry, "web", outFrom), web);

        // "fresh" binds first, then "clash" fails: all or none, so "fresh" is closed again and
        // the route change to "web" is not applied.
        const fresh = await closedPort();
        const stdoutBefore = ferry.stdout.length;
        await reload(
          ferry,
          `
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - respond: "changed\\n"
  - name: fresh
    listen: "127.0.0.1:${fresh}"
    routes:
      - respond: "fresh\\n"
  - name: clash
    listen: "127.0.0.1:${taken}"
    routes:
      - respond: "clash\\n"
`,
          new RegExp(`^ferry: reload of ".*" failed: cannot listen on "127\\.0\\.0\\.1:${taken}" \\(listener "clash"\\): .*; keeping the running configuration$`),
        );
        assert.equal((await request(web)).body.toString(), "web\n", "the failed reload changed the routes");
        await pollUntil(`port ${fresh}, bound by the failed reload, to be closed again`, 5_000, () => refused(fresh));
        assert.deepEqual(ferry.stdout.slice(stdoutBefore).filter((l) => l.includes("listening on")), [], "a failed reload printed listeners");

        // ferry is not wedged: the next good reload applies.
        await reload(ferry, base.replace("web\\n", "web again\\n"));
        assert.equal((await request(web)).body.toString(), "web again\n");
      });
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });
});

describe(`reload: signal timing (${ferryLabel()})`, () => {
  it("reloads on a SIGHUP sent as soon as the listening lines are printed", { timeout: 30_000 }, async () => {
    // A service manager may reload right after ferry reports it is listening. The race is
    // narrow (it lost 4 to 7 times in 8 here when this was written), so it is tried a few times.
    const config = (body: string) => `
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - respond: "${body}\\n"
`;
    for (let attempt = 0; attempt < 5; attempt++) {
      const ferry = await startFerry(config("before"));
      try {
        writeFileSync(ferry.configPath!, config("after"));
        ferry.signal("SIGHUP");
        await ferry.waitForLine(/^ferry: reloaded "/, { stream: "stderr", timeoutMs: 10_000 });
        assert.equal((await request(ferry.ports.web)).body.toString(), "after\n");
      } catch (e) {
        throw new Error(`attempt ${attempt + 1}: ${(e as Error).message}`);
      } finally {
        await ferry.stop();
      }
    }
  });
});
