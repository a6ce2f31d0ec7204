/**
 * The counting in tests/run_all.ts, on outputs recorded from Deno 2.9 and Bun 1.4 for one file
 * with passing, failing, skipped and nested tests and a `before` hook that throws.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { bunSummary, denoJunit, denoSummary, settle, single } from "./_helpers/run_summary.ts";

const DENO_JUNIT = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="deno test" tests="9" failures="4" errors="0" time="0.020">
    <testsuite name="./sample_test.ts" tests="4" disabled="0" errors="0" failures="3">
        <testcase name="flat passes" classname="./sample_test.ts" time="0.001" line="3" col="1">
        </testcase>
        <testcase name="flat fails" classname="./sample_test.ts" time="0.002" line="4" col="1">
            <failure message="Uncaught AssertionError">AssertionError</failure>
        </testcase>
        <testcase name="group" classname="./sample_test.ts" time="0.002" line="5" col="1">
            <failure message="1 test step failed">1 test step failed.</failure>
        </testcase>
        <testcase name="broken hook" classname="./sample_test.ts" time="0.001" line="11" col="1">
            <failure message="Uncaught Error: setup failed">Error: setup failed</failure>
        </testcase>
    </testsuite>
    <testsuite name="ext:deno_node/testing.ts" tests="5" disabled="1" errors="0" failures="1">
        <testcase name="group &gt; passes" classname="ext:deno_node/testing.ts" time="0.000" line="1" col="1">
        </testcase>
        <testcase name="group &gt; fails" classname="ext:deno_node/testing.ts" time="0.000" line="1" col="1">
            <failure message="Uncaught AssertionError">AssertionError</failure>
        </testcase>
        <testcase name="group &gt; skipped" classname="ext:deno_node/testing.ts" time="0.000" line="1" col="1">
            <skipped/>
        </testcase>
        <testcase name="group &gt; inner" classname="ext:deno_node/testing.ts" time="0.000" line="1" col="1">
        </testcase>
        <testcase name="group &gt; inner &gt; deep passes" classname="ext:deno_node/testing.ts" time="0.000" line="1" col="1">
        </testcase>
    </testsuite>
</testsuites>`;

const BUN_OUTPUT = `(pass) flat passes [1.87ms]
(fail) flat fails [1.97ms]
(pass) group > passes [0.07ms]
(fail) group > fails [0.36ms]
(skip) group > skipped
(pass) group > inner > deep passes [0.05ms]
# Unhandled error between tests
error: setup failed
(pass) broken hook > never runs [0.05ms]

 4 pass
 1 skip
 2 fail
 1 error
Ran 7 tests across 1 file. [40.00ms]
`;

describe("run_all counting", () => {
  it("denoJunit() counts leaf cases, and a parent only when it failed on its own", () => {
    assert.deepEqual(denoJunit(DENO_JUNIT), { passed: 3, failed: 3, skipped: 1 });
  });

  it("denoJunit() returns null for a report without cases", () => {
    assert.equal(denoJunit(`<testsuites name="deno test" tests="0"></testsuites>`), null);
  });

  it("denoSummary() reads the last summary line, with steps", () => {
    const out = "noise\n\x1b[0m\x1b[31mFAILED\x1b[0m | 2 passed (5 steps) | 2 failed (1 step) | 1 ignored (20ms)\n";
    assert.deepEqual(denoSummary(out), { passed: 2, failed: 2, skipped: 1, steps: { passed: 5, failed: 1 } });
    assert.equal(denoSummary("error: Module not found\n"), null);
  });

  it("bunSummary() counts unhandled errors as failures", () => {
    assert.deepEqual(bunSummary(BUN_OUTPUT), { passed: 4, failed: 3, skipped: 1 });
    assert.equal(bunSummary("error: Cannot find module\n"), null);
  });

  it("settle() fails a stage with no summary, no test, or a silent non-zero exit", () => {
    assert.equal(settle(null, 1, "bun test").failed, 1);
    assert.equal(settle({ passed: 0, failed: 0, skipped: 2 }, 0, "bun test").failed, 1);
    assert.deepEqual(settle({ passed: 5, failed: 0, skipped: 0 }, 1, "bun test"), {
      passed: 5,
      failed: 1,
      skipped: 0,
      note: "exit 1 with no failed test",
    });
    assert.deepEqual(settle({ passed: 5, failed: 2, skipped: 0 }, 1, "bun test"), { passed: 5, failed: 2, skipped: 0 });
  });

  it("single() is one pass or one failure by exit code", () => {
    assert.deepEqual(single("", 0), { passed: 1, failed: 0, skipped: 0 });
    assert.equal(single("", 2).failed, 1);
  });
});
