import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { HealthConfig } from "../../lib/config/types.ts";
import { ActiveChecker, type HealthTarget } from "../../lib/health/mod.ts";
import { closedPort } from "../_helpers/loopback.ts";
import { Watch } from "../_helpers/raw_http.ts";
import { probeServer, response } from "./_probe_server.ts";

const HTTP: HealthConfig = { type: "http", path: "/", expect_status: [[200, 399]], interval: 30, timeout: 1_000, rise: 1, fall: 1 };

interface Report {
  target: HealthTarget;
  ok: boolean;
  detail: string;
}

/** Collects every reported result and lets a test wait for a condition on them. */
class Reports {
  readonly all: Report[] = [];
  readonly watch = new Watch();
  readonly onResult = (target: HealthTarget, ok: boolean, detail: string): void => {
    this.all.push({ target, ok, detail });
    this.watch.notify();
  };

  of(target: HealthTarget): Report[] {
    return this.all.filter((r) => r.target === target);
  }

  until(pred: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    return this.watch.until(pred, timeoutMs, what);
  }
}

describe("ActiveChecker", () => {
  it("checks a server repeatedly and reports every result", async () => {
    const server = await probeServer({ reply: response("200 OK") });
    const reports = new Reports();
    const checker = new ActiveChecker(HTTP, reports.onResult);
    try {
      checker.setTargets([server.target]);
      await reports.until(() => reports.all.length >= 3, "three results");
      for (const r of reports.all) assert.deepEqual(r, { target: server.target, ok: true, detail: "status 200" });
      assert.ok(server.accepted >= 3, `${server.accepted} connections`);
      for (const req of server.received) assert.match(req.toString("latin1"), /^GET \/ HTTP\/1\.1\r\n/);
    } finally {
      checker.stop();
      await server.close();
    }
  });

  it("runs the first check within about a second, however long the interval", async () => {
    const server = await probeServer({ reply: response("200 OK") });
    const reports = new Reports();
    const checker = new ActiveChecker({ ...HTTP, interval: 60_000 }, reports.onResult);
    try {
      const started = Date.now();
      checker.setTargets([server.target]);
      await reports.until(() => reports.all.length >= 1, "the first result", 3_000);
      assert.ok(Date.now() - started < 2_500, `first check after ${Date.now() - started} ms`);
    } finally {
      checker.stop();
      await server.close();
    }
  });

  it("never has more than one probe open to a server that hangs", async () => {
    const server = await probeServer("hang");
    const reports = new Reports();
    const checker = new ActiveChecker({ ...HTTP, interval: 50, timeout: 100 }, reports.onResult);
    try {
      checker.setTargets([server.target]);
      await server.until(() => server.accepted >= 1, "the first probe");
      // Listing the same target again keeps its loop rather than starting a second one.
      checker.setTargets([server.target]);
      checker.setTargets([server.target]);
      await server.until(() => server.accepted >= 5 && reports.all.length >= 4, "five probes", 10_000);
      assert.equal(server.maxOpen, 1, `at most one probe connection at a time, saw ${server.maxOpen}`);
      for (const r of reports.all) assert.deepEqual([r.ok, r.detail], [false, "timed out after 100 ms"]);
    } finally {
      checker.stop();
      // The probe in flight is not cut short by stop(), but it ends by its own timeout.
      await server.until(() => server.open === 0, "the last probe to give up");
      await server.close();
    }
  });

  it("setTargets() stops the loop of a removed target and keeps the others", async () => {
    const a = await probeServer({ reply: response("200 OK") });
    const b = await probeServer({ reply: response("200 OK") });
    const reports = new Reports();
    const checker = new ActiveChecker(HTTP, reports.onResult);
    try {
      checker.setTargets([a.target, b.target]);
      await reports.until(() => reports.of(a.target).length >= 2 && reports.of(b.target).length >= 2, "two results each");
      checker.setTargets([a.target]);
      assert.deepEqual(checker.targets, [a.target]);
      const bReports = reports.of(b.target).length;
      const bConnections = b.accepted;
      const aReports = reports.of(a.target).length;
      // a's checks are the clock: several intervals pass while b must stay silent.
      await reports.until(() => reports.of(a.target).length >= aReports + 5, "five more results for a");
      assert.equal(reports.of(b.target).length, bReports, "no result reported for the removed target");
      assert.ok(b.accepted <= bConnections + 1, `b got ${b.accepted - bConnections} connections after removal`);
    } finally {
      checker.stop();
      await a.close();
      await b.close();
    }
  });

  it("stop() ends every loop: no further reports", async () => {
    const a = await probeServer({ reply: response("200 OK") });
    const b = await probeServer({ reply: response("503 Service Unavailable") });
    const clockServer = await probeServer({ reply: response("200 OK") });
    const reports = new Reports();
    const clock = new Reports();
    const checker = new ActiveChecker(HTTP, reports.onResult);
    const clockChecker = new ActiveChecker(HTTP, clock.onResult);
    try {
      checker.setTargets([a.target, b.target]);
      await reports.until(() => reports.of(a.target).length >= 1 && reports.of(b.target).length >= 1, "a result for each");
      assert.deepEqual(reports.of(b.target)[0], { target: b.target, ok: false, detail: "status 503 (expected 200-399)" });
      checker.stop();
      const stoppedAt = reports.all.length;
      const connections = a.accepted + b.accepted;
      // Another checker with the same interval serves as the clock: several intervals pass.
      clockChecker.setTargets([clockServer.target]);
      await clock.until(() => clock.all.length >= 5, "five results from the other checker");
      assert.equal(reports.all.length, stoppedAt, "no result after stop()");
      assert.ok(a.accepted + b.accepted <= connections + 2, "at most the probes in flight at stop() connected");
      checker.setTargets([a.target]);
      assert.deepEqual(checker.targets, [], "a stopped checker starts no new loops");
    } finally {
      checker.stop();
      clockChecker.stop();
      await a.close();
      await b.close();
      await clockServer.close();
    }
  });

  it("type tcp: a listening server passes, a closed port fails with \"connection refused\"", async () => {
    const up = await probeServer("hang");
    const port = await closedPort();
    const down = { hostname: "127.0.0.1", port, address: `127.0.0.1:${port}` };
    const reports = new Reports();
    const checker = new ActiveChecker({ ...HTTP, type: "tcp" }, reports.onResult);
    try {
      checker.setTargets([up.target, down]);
      await reports.until(() => reports.of(up.target).length >= 2 && reports.of(down).length >= 2, "two results each");
      for (const r of reports.of(up.target)) assert.deepEqual([r.ok, r.detail], [true, "connected"]);
      for (const r of reports.of(down)) assert.deepEqual([r.ok, r.detail], [false, "connection refused"]);
      assert.equal(up.received.every((b) => b.length === 0), true, "a TCP check sends nothing");
    } finally {
      checker.stop();
      await up.close();
    }
  });

  it("a callback that throws does not end the checks", async () => {
    const server = await probeServer({ reply: response("200 OK") });
    let calls = 0;
    const watch = new Watch();
    const checker = new ActiveChecker<HealthTarget>(HTTP, () => {
      calls++;
      watch.notify();
      if (calls === 1) throw new Error("test: callback failure (expected in this test's output)");
    });
    try {
      checker.setTargets([server.target]);
      await watch.until(() => calls >= 3, 5_000, "three calls");
    } finally {
      checker.stop();
      await server.close();
    }
  });
});
