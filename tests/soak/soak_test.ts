/**
 * The soak (bench/soak.ts) in its short CI form: 15 s of mixed traffic through a real ferry
 * while backends are SIGKILLed and restarted, reset connections mid-body, and clients vanish or
 * read slowly. Every 200 is hash-checked; afterwards ferry's open fds must be back at their
 * level before the traffic. The full run (3 minutes) is `deno run -A bench/soak.ts`.
 *
 * Which ferry runs follows the other e2e tests: FERRY_CMD, else main.ts on the test's runtime.
 * A second, short case checks the checker: with backends that flip a byte, corruption is caught.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { formatReport, runSoak } from "../../bench/soak.ts";
import { ferryLabel } from "../_helpers/ferry.ts";

describe(`soak under faults (${ferryLabel()})`, () => {
  it("15 s of faults: no corrupted response, no hang, fds back to their start level", { timeout: 90_000 }, async () => {
    const report = await runSoak({
      durationMs: 15_000,
      warmupMs: 2_000,
      concurrency: 8,
      seed: 7,
      killEveryMs: 4_000,
      downMs: 1_000,
      deadlineMs: 12_000,
      settleBoundMs: 15_000,
    });
    console.log(formatReport(report));
    const why = `\n${formatReport(report)}`;
    assert.ok(report.requests > 200, `too few requests to mean anything: ${report.requests}${why}`);
    assert.ok((report.faults.backend_sigkill ?? 0) >= 2, `backends were not killed${why}`);
    assert.ok(!report.ferryExitedEarly, `ferry exited during the soak${why}`);
    assert.equal(report.corrupted, 0, `corrupted responses${why}`);
    assert.equal(report.hangs, 0, `hung requests${why}`);
    assert.equal(report.otherFailures, 0, `malformed responses, unexpected statuses or refused connects${why}`);
    assert.deepEqual(report.internalErrors, [], `internal errors in ferry's log${why}`);
    assert.equal(report.probeAfter, "ok", `ferry no longer answers a plain GET${why}`);
    assert.ok(
      report.fds.after <= report.fds.before + report.fds.tolerance,
      `fds after ${report.fds.after} > before ${report.fds.before} + ${report.fds.tolerance}${why}`,
    );
    assert.ok(report.ok, `verdict: ${report.reasons.join("; ")}${why}`);
  });

  it("the checker catches a body with one flipped byte", { timeout: 60_000 }, async () => {
    const report = await runSoak({
      durationMs: 2_000,
      warmupMs: 0,
      concurrency: 4,
      seed: 3,
      killEveryMs: 0,
      measure: false,
      scenarios: ["get_small", "get_medium", "get_large"],
      sabotage: "flip-byte:0.3",
    });
    assert.ok(report.corrupted > 0, `no corruption caught although backends flipped bytes\n${formatReport(report)}`);
    assert.ok(!report.ok && report.reasons.some((r) => r.includes("corrupted")), formatReport(report));
  });
});
