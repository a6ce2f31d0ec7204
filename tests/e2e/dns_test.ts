/**
 * Servers given by DNS name, through a real ferry and a DNS server the test controls
 * (`resolver:`): every address of a name becomes a server; answers that change are followed
 * within `resolve_interval` (sooner when the TTL is shorter); an address that leaves is drained,
 * not cut; a failing lookup keeps the last known addresses; a name unknown at start is served
 * once it appears. Also `localhost` through the system resolver and an IPv6 literal.
 *
 * One name stands for several servers on ONE port: the test servers listen on 127.0.0.2,
 * 127.0.0.3 and 127.0.0.4 with the same port (Linux routes all of 127.0.0.0/8 to loopback).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import dns from "node:dns";
import { writeFileSync } from "node:fs";
import { type Ferry, ferryLabel, startFerry } from "../_helpers/ferry.ts";
import { type DnsServer, startDnsServer } from "../_helpers/dns_server.ts";
import { type HostServer, startHostServer, startHostServers, untilHosts } from "../_helpers/reload_backends.ts";
import { askBackend, pollUntil, startSlowRequestOn } from "../_helpers/reload_client.ts";
import { request } from "../_helpers/raw_http.ts";

/**
 * How long a change in the DNS answer may take to show in traffic beyond the refresh period
 * itself: the lookup, plus scheduling on a loaded 2-vCPU machine that also runs other tests.
 */
const MARGIN_MS = 4_000;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function count(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

/** A ferry with one listener whose every request goes to backend `app`, built from `backend` (YAML lines). */
function appConfig(dnsPort: number | null, backend: string): string {
  return `
${dnsPort === null ? "" : `resolver: "127.0.0.1:${dnsPort}"`}
listeners:
  - name: web
    listen: "127.0.0.1:0"
    backend: app
backends:
  app:
${backend.trim().split("\n").map((l) => `    ${l.trim()}`).join("\n")}
`;
}

/** Starts the DNS server and the named test servers (one port), runs `fn`, and stops everything. */
async function withDns(
  hosts: { name: string; host: string }[],
  fn: (dns: DnsServer, servers: HostServer[]) => Promise<void>,
): Promise<void> {
  const dnsServer = await startDnsServer();
  let servers: HostServer[] = [];
  try {
    servers = await startHostServers(hosts);
    await fn(dnsServer, servers);
  } finally {
    await Promise.all(servers.map((s) => s.close()));
    await dnsServer.close();
  }
}

/** Rewrites ferry's config file, sends SIGHUP and waits for the `reloaded` line; returns the stderr index from before the signal. */
async function reload(ferry: Ferry, config: string): Promise<number> {
  writeFileSync(ferry.configPath!, config);
  const from = ferry.stderr.length;
  ferry.signal("SIGHUP");
  await ferry.waitForLine(/^ferry: reloaded "/, { stream: "stderr", from, timeoutMs: 10_000 });
  return from;
}

async function withFerry(config: string, fn: (ferry: Ferry) => Promise<void>): Promise<void> {
  const ferry = await startFerry(config);
  try {
    await fn(ferry);
  } finally {
    await ferry.stop();
  }
}

const THREE = [
  { name: "two", host: "127.0.0.2" },
  { name: "three", host: "127.0.0.3" },
  { name: "four", host: "127.0.0.4" },
];

describe(`DNS-named servers (${ferryLabel()})`, () => {
  it("sends requests to every address a name resolves to, in turn; health checks carry the name as Host", { timeout: 30_000 }, async () => {
    await withDns(THREE.slice(0, 2), async (dnsServer, [two, three]) => {
      dnsServer.set("app.test", { a: ["127.0.0.2", "127.0.0.3"] });
      const backend = `resolve_interval: 1s\nservers: [ "app.test:${two.port}" ]\nhealth: { path: /health, interval: 100ms }`;
      await withFerry(appConfig(dnsServer.port, backend), async (ferry) => {
        const seq: string[] = [];
        for (let i = 0; i < 6; i++) seq.push(await askBackend(ferry.ports.web, `/rr/${i}`));
        assert.deepEqual(count(seq), { two: 3, three: 3 }, `sequence: ${seq}`);
        for (let i = 1; i < seq.length; i++) assert.notEqual(seq[i], seq[i - 1], `not alternating: ${seq}`);
        assert.equal(two.targets.length + three.targets.length, 6);
        // A server that routes by virtual host must see the name it is known by, not its address.
        await untilHosts(() => two.healthHosts.length > 0 && three.healthHosts.length > 0, "a health check on each address");
        for (const s of [two, three]) {
          assert.deepEqual(new Set(s.healthHosts), new Set([`app.test:${two.port}`]), `${s.name}'s health checks`);
        }
      });
    });
  });

  it("follows a changed answer: a new address gets traffic, a removed one is drained, not cut", { timeout: 30_000 }, async () => {
    await withDns(THREE, async (dnsServer, servers) => {
      const [two, three, four] = servers;
      dnsServer.set("app.test", { a: ["127.0.0.2", "127.0.0.3"], ttl: 30 });
      await withFerry(appConfig(dnsServer.port, `resolve_interval: 1s\nservers: [ "app.test:${two.port}" ]`), async (ferry) => {
        const port = ferry.ports.web;
        assert.deepEqual(new Set([await askBackend(port), await askBackend(port)]), new Set(["two", "three"]));
        assert.equal(four.targets.length, 0, "127.0.0.4 got traffic before it was in the answer");

        // Added: within resolve_interval (1s; the TTL of 30s is longer) plus the margin.
        dnsServer.set("app.test", { a: ["127.0.0.2", "127.0.0.3", "127.0.0.4"], ttl: 30 });
        const addMs = await pollUntil("127.0.0.4 to get a request", 1_000 + MARGIN_MS, async () => (await askBackend(port)) === "four");
        assert.ok(addMs < 1_000 + MARGIN_MS, `added address picked up after ${addMs.toFixed(0)} ms`);
        await ferry.waitForLine(/^ferry: backend "app": "app\.test:\d+" now resolves to 127\.0\.0\.2, 127\.0\.0\.3, 127\.0\.0\.4: added 127\.0\.0\.4:\d+$/, { stream: "stderr" });

        // A response from 127.0.0.2 is half sent when 127.0.0.2 leaves the answer.
        const slow = await startSlowRequestOn(port, "/slow/drain", servers, two);
        try {
          dnsServer.set("app.test", { a: ["127.0.0.3", "127.0.0.4"], ttl: 30 });
          // Round robin over three servers reaches each within 3 requests: 6 in a row without
          // 127.0.0.2 means it left the rotation.
          let streak = 0;
          const removeMs = await pollUntil("6 requests in a row without 127.0.0.2", 1_000 + MARGIN_MS, async () => {
            streak = (await askBackend(port)) === "two" ? 0 : streak + 1;
            return streak >= 6;
          }, 0);
          await ferry.waitForLine(/^ferry: backend "app": "app\.test:\d+" now resolves to 127\.0\.0\.3, 127\.0\.0\.4: draining 127\.0\.0\.2:\d+$/, { stream: "stderr" });
          const before = two.targets.length;
          const seq: string[] = [];
          for (let i = 0; i < 12; i++) seq.push(await askBackend(port, `/after-removal/${i}`));
          assert.equal(two.targets.length, before, `127.0.0.2 still got requests ${removeMs.toFixed(0)} ms after it left the answer`);
          assert.deepEqual(count(seq), { three: 6, four: 6 }, `sequence: ${seq}`);
          // The drained server's response was never cut: it completes now, whole.
          await slow.finish();
        } finally {
          slow.close();
        }
      });
    });
  });

  it("a reload keeps a name's addresses without calling them added; a later answer reports only what it adds", { timeout: 30_000 }, async () => {
    await withDns(THREE, async (dnsServer, [two, , four]) => {
      dnsServer.set("app.test", { a: ["127.0.0.2", "127.0.0.3"], ttl: 30 });
      const config = (weight: number) => appConfig(dnsServer.port, `resolve_interval: 1s\nservers: [ { address: "app.test:${two.port}", weight: ${weight} } ]`);
      await withFerry(config(1), async (ferry) => {
        const port = ferry.ports.web;
        assert.deepEqual(new Set([await askBackend(port), await askBackend(port)]), new Set(["two", "three"]));

        const from = await reload(ferry, config(2));
        // Two more lookups by the new config (resolve_interval 1s): its first answer, and one after.
        const queries = dnsServer.queries;
        await pollUntil("two DNS lookups after the reload", 2_000 + 2 * MARGIN_MS, () => Promise.resolve(dnsServer.queries >= queries + 2));
        assert.deepEqual(new Set([await askBackend(port), await askBackend(port)]), new Set(["two", "three"]));
        const dnsLines = (lines: string[]) => lines.filter((l) => /resolves|added|draining/.test(l));
        assert.deepEqual(dnsLines(ferry.stderr.slice(from)), [], ferry.output());

        // A real change after the reload is still news, and names only the new address.
        dnsServer.set("app.test", { a: ["127.0.0.2", "127.0.0.3", "127.0.0.4"], ttl: 30 });
        const line = `ferry: backend "app": "app.test:${two.port}" now resolves to 127.0.0.2, 127.0.0.3, 127.0.0.4: added 127.0.0.4:${four.port}`;
        await ferry.waitForLine(new RegExp(`^${escape(line)}$`), { stream: "stderr", from, timeoutMs: 1_000 + MARGIN_MS });
        assert.deepEqual(dnsLines(ferry.stderr.slice(from)), [line], ferry.output());
      });
    });
  });

  it("re-resolves when the TTL runs out, even with a much longer resolve_interval", { timeout: 30_000 }, async () => {
    await withDns(THREE.slice(0, 2), async (dnsServer, [two]) => {
      dnsServer.set("app.test", { a: ["127.0.0.2"], ttl: 1 });
      await withFerry(appConfig(dnsServer.port, `resolve_interval: 30s\nservers: [ "app.test:${two.port}" ]`), async (ferry) => {
        assert.equal(await askBackend(ferry.ports.web), "two");
        dnsServer.set("app.test", { a: ["127.0.0.3"], ttl: 1 });
        // TTL 1s → the next lookup within about 1s; resolve_interval alone would take 30s.
        const ms = await pollUntil("traffic to move to 127.0.0.3", 1_000 + MARGIN_MS, async () => (await askBackend(ferry.ports.web)) === "three");
        assert.ok(ms < 1_000 + MARGIN_MS, `change picked up after ${ms.toFixed(0)} ms`);
        for (let i = 0; i < 4; i++) assert.equal(await askBackend(ferry.ports.web), "three");
      });
    });
  });

  it("keeps the last known addresses when the name vanishes (NXDOMAIN) or the DNS server stops answering", { timeout: 40_000 }, async () => {
    await withDns(THREE.slice(0, 2), async (dnsServer, [two, three]) => {
      dnsServer.set("app.test", { a: ["127.0.0.2", "127.0.0.3"], ttl: 30 });
      await withFerry(appConfig(dnsServer.port, `resolve_interval: 1s\nservers: [ "app.test:${two.port}" ]`), async (ferry) => {
        const port = ferry.ports.web;
        const both = async () => count([await askBackend(port), await askBackend(port), await askBackend(port), await askBackend(port)]);
        assert.deepEqual(await both(), { two: 2, three: 2 });

        let from = ferry.stderr.length;
        dnsServer.remove("app.test");
        await ferry.waitForLine(
          /^ferry: backend "app": cannot resolve "app\.test": no such host; keeping 2 known addresses$/,
          { stream: "stderr", from, timeoutMs: 1_000 + MARGIN_MS },
        );
        assert.deepEqual(await both(), { two: 2, three: 2 }, "the last known addresses were not kept after NXDOMAIN");

        // No DNS server at all: a timeout or a refusal, either way a new failure is reported.
        from = ferry.stderr.length;
        await dnsServer.close();
        const line = await ferry.waitForLine(/cannot resolve "app\.test"/, { stream: "stderr", from, timeoutMs: 1_000 + 5_000 + 2 * MARGIN_MS });
        assert.match(line, /^ferry: backend "app": cannot resolve "app\.test": .*; keeping 2 known addresses$/);
        assert.doesNotMatch(line, /no such host/);
        assert.deepEqual(await both(), { two: 2, three: 2 }, "the last known addresses were not kept without a DNS server");
        assert.equal(two.targets.length + three.targets.length, 12);
      });
    });
  });

  it("starts with a name that does not resolve yet: 503 for it, then served once it appears", { timeout: 30_000 }, async () => {
    await withDns(THREE.slice(0, 1), async (dnsServer, [two]) => {
      const ferry = await startFerry(`
resolver: "127.0.0.1:${dnsServer.port}"
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - path: /late
        backend: late
      - path: /
        respond: "up\\n"
backends:
  late:
    resolve_interval: 1s
    servers: [ "late.test:${two.port}" ]
`);
      try {
        await ferry.waitForLine(
          /^ferry: backend "late": cannot resolve "late\.test": no such host; keeping 0 known addresses$/,
          { stream: "stderr", timeoutMs: 10_000 },
        );
        assert.equal((await request(ferry.ports.web, { path: "/" })).body.toString(), "up\n");
        const res = await request(ferry.ports.web, { path: "/late/1" });
        assert.equal(res.status, 503, res.raw.toString("latin1"));
        assert.equal(two.targets.length, 0);

        dnsServer.set("late.test", { a: ["127.0.0.2"], ttl: 30 });
        // The failure is retried on resolve_interval (1s).
        await pollUntil("late.test to be served", 1_000 + MARGIN_MS, async () => {
          const r = await request(ferry.ports.web, { path: "/late/poll" });
          if (r.status !== 200 && r.status !== 503) assert.fail(`unexpected answer: ${r.raw.toString("latin1")}`);
          return r.status === 200;
        });
        assert.equal(await askBackend(ferry.ports.web, "/late/2"), "two");
        await ferry.waitForLine(/^ferry: backend "late": "late\.test" resolves now: 127\.0\.0\.2$/, { stream: "stderr", timeoutMs: 5_000 });
      } finally {
        await ferry.stop();
      }
    });
  });
});

describe(`localhost and IPv6 servers (${ferryLabel()})`, () => {
  it("serves localhost:PORT on whichever loopback family the server listens on, health checks included", { timeout: 30_000 }, async () => {
    for (const host of ["127.0.0.1", "::1"]) {
      let server: HostServer;
      try {
        server = await startHostServer(`local-${host}`, host);
      } catch (e) {
        console.log(`skipping localhost → ${host}: cannot listen on it here: ${(e as Error).message}`);
        continue;
      }
      try {
        // rise 1 / fall 1: a health check that could not reach the server would take it down at once.
        const config = appConfig(null, `servers: [ "localhost:${server.port}" ]\nhealth: { path: /health, interval: 100ms, rise: 1, fall: 1 }`);
        await withFerry(config, async (ferry) => {
          await server.until(() => server.healthChecks >= 2, "two health checks");
          for (let i = 0; i < 4; i++) assert.equal(await askBackend(ferry.ports.web, `/local/${i}`), server.name);
          assert.equal(server.targets.filter((t) => t.startsWith("/local/")).length, 4);
          assert.deepEqual(ferry.stderr.filter((l) => /is down|marked down/.test(l)), [], ferry.output());
        });
      } finally {
        await server.close();
      }
    }
  });

  it("serves an IPv6 literal server [::1]:PORT", { timeout: 30_000 }, async () => {
    let server: HostServer;
    try {
      server = await startHostServer("v6", "::1");
    } catch (e) {
      console.log(`skipping [::1]: cannot listen on ::1 here: ${(e as Error).message}`);
      return;
    }
    try {
      await withFerry(appConfig(null, `servers: [ "[::1]:${server.port}" ]`), async (ferry) => {
        assert.equal(await askBackend(ferry.ports.web, "/v6"), "v6");
        // The access log names the upstream with brackets.
        await ferry.waitForLine(new RegExp(`"GET /v6 HTTP/1\\.1" 200 \\d+ "${escape(`[::1]:${server.port}`)}" `), { timeoutMs: 5_000 });
      });
    } finally {
      await server.close();
    }
  });
});
