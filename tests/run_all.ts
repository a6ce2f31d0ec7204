/**
 * Runs every check ferry has, in sequence, and ends with one line `N passed, N failed`.
 *
 *   deno run -A tests/run_all.ts
 *
 * Stages (each streamed with a `[stage]` prefix on every line):
 *   1. check     deno check main.ts lib tests bench        (1 passed or 1 failed)
 *   2. deno      deno test -A tests/                        (unit + e2e, ferry on Deno)
 *   3. bun       bun test ./tests                           (unit + e2e, ferry on Bun)
 *   4. compile   bun build --compile ... --outfile dist/ferry (1 passed or 1 failed)
 *   5. binary    FERRY_CMD=dist/ferry bun test ./tests/e2e ./tests/soak ./tests/fuzz/live_fuzz_test.ts
 *                (every test that starts ferry, against the executable)
 *
 * Counts are test cases (leaves): `describe` blocks that only group tests are not counted.
 * Deno's summary counts describe blocks as tests and `it`s as steps, so the Deno stage reads
 * its JUnit report instead (steps are test cases there), with the summary line as a fallback.
 * A runner that exits non-zero while reporting no failure counts one failure, and so does a
 * runner that ran no test at all.
 *
 * Only node: APIs here (this file runs under `deno run`, and `bun` could run it too).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { bunSummary, type Counts, denoJunit, denoSummary, settle, single, stripAnsi } from "./_helpers/run_summary.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
/** Bound per stage; a stage that hangs is killed (by PID) and counted as failed. */
const STAGE_TIMEOUT_MS = 10 * 60_000;

/**
 * The stage running now. Each stage runs in its own process group (detached), so a timeout or
 * a signal to this script kills the stage and every ferry its tests started, by that group's id.
 */
let current: { pid?: number } | null = null;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (current?.pid) {
      try {
        process.kill(-current.pid, "SIGKILL");
      } catch { /* gone */ }
    }
    process.stdout.write(`\nrun_all: ${signal}, stopped\n0 passed, 1 failed\n`);
    process.exit(130);
  });
}

function bin(name: "deno" | "bun"): string {
  const local = join(ROOT, "node_modules", ".bin", name);
  if (existsSync(local)) return local;
  if (name === "deno" && process.versions.deno) return process.execPath;
  if (name === "bun" && process.versions.bun) return process.execPath;
  return name; // from PATH
}

interface Stage {
  name: string;
  cmd: string[];
  env?: Record<string, string | undefined>;
  /** Turns the stage's output (and exit code) into counts. */
  count(output: string, code: number | null): Counts;
}

const junitDir = mkdtempSync(join(tmpdir(), "ferry-run-all-"));
const denoJunitPath = join(junitDir, "deno.xml");
const bunTimeout = "60000";

const stages: Stage[] = [
  { name: "check", cmd: [bin("deno"), "check", "main.ts", "lib", "tests", "bench"], count: single },
  {
    name: "deno test",
    cmd: [bin("deno"), "test", "-A", `--junit-path=${denoJunitPath}`, "tests/"],
    env: { FERRY_CMD: undefined },
    count: (out, code) => {
      const fromJunit = existsSync(denoJunitPath) ? denoJunit(readFileSync(denoJunitPath, "utf8")) : null;
      const summary = denoSummary(out);
      // If the run died before writing the report, fall back to the summary's test counts.
      return settle(fromJunit ?? summary, code, "deno test");
    },
  },
  {
    name: "bun test",
    cmd: [bin("bun"), "test", "--timeout", bunTimeout, "./tests"],
    env: { FERRY_CMD: undefined },
    count: (out, code) => settle(bunSummary(out), code, "bun test"),
  },
  {
    name: "compile",
    cmd: [bin("bun"), "build", "--compile", "--minify", "--bytecode", "--format=esm", "main.ts", "--outfile", "dist/ferry"],
    count: single,
  },
  {
    name: "binary e2e",
    cmd: [bin("bun"), "test", "--timeout", bunTimeout, "./tests/e2e", "./tests/soak", "./tests/fuzz/live_fuzz_test.ts"],
    env: { FERRY_CMD: "dist/ferry" },
    count: (out, code) => settle(bunSummary(out), code, "bun test"),
  },
];

/** Runs one stage, streaming its lines with a prefix; resolves with all output and the exit code. */
function run(stage: Stage): Promise<{ output: string; code: number | null; ms: number }> {
  const started = performance.now();
  const prefix = `[${stage.name}] `;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, NO_COLOR: "1", ...stage.env })) {
    if (v !== undefined) env[k] = v;
  }
  return new Promise((resolve) => {
    const [cmd, ...args] = stage.cmd;
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    current = child;
    let output = "";
    const partial = { stdout: "", stderr: "" };
    const emit = (which: "stdout" | "stderr", chunk: Buffer | string) => {
      const text = partial[which] + chunk.toString();
      output += chunk.toString();
      const lines = text.split("\n");
      partial[which] = lines.pop() ?? "";
      if (lines.length) process.stdout.write(lines.map((l) => prefix + stripAnsi(l)).join("\n") + "\n");
    };
    child.stdout!.on("data", (c) => emit("stdout", c));
    child.stderr!.on("data", (c) => emit("stderr", c));
    const timer = setTimeout(() => {
      process.stdout.write(`${prefix}timed out after ${STAGE_TIMEOUT_MS / 1000} s, killing process group ${child.pid}\n`);
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch { /* gone */ }
    }, STAGE_TIMEOUT_MS);
    child.on("error", (e) => {
      output += `\ncannot start ${cmd}: ${e.message}\n`;
      process.stdout.write(`${prefix}cannot start ${cmd}: ${e.message}\n`);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      current = null;
      for (const which of ["stdout", "stderr"] as const) {
        if (partial[which]) process.stdout.write(prefix + stripAnsi(partial[which]) + "\n");
      }
      resolve({ output, code, ms: performance.now() - started });
    });
  });
}

const results: { name: string; counts: Counts; ms: number }[] = [];
for (const stage of stages) {
  process.stdout.write(`\n=== ${stage.name}: ${stage.cmd.map((a) => a.replace(ROOT, "")).join(" ")}${
    stage.env?.FERRY_CMD ? ` (FERRY_CMD=${stage.env.FERRY_CMD})` : ""
  }\n`);
  const { output, code, ms } = await run(stage);
  const counts = stage.count(output, code);
  results.push({ name: stage.name, counts, ms });
  process.stdout.write(
    `=== ${stage.name}: ${counts.passed} passed, ${counts.failed} failed${counts.skipped ? `, ${counts.skipped} skipped` : ""}` +
      `${counts.note ? ` (${counts.note})` : ""} in ${(ms / 1000).toFixed(1)} s\n`,
  );
}
rmSync(junitDir, { recursive: true, force: true });

const total = results.reduce(
  (t, r) => ({ passed: t.passed + r.counts.passed, failed: t.failed + r.counts.failed, skipped: t.skipped + r.counts.skipped }),
  { passed: 0, failed: 0, skipped: 0 },
);
process.stdout.write("\nSummary\n");
for (const r of results) {
  process.stdout.write(
    `  ${r.name.padEnd(11)} ${String(r.counts.passed).padStart(4)} passed ${String(r.counts.failed).padStart(3)} failed` +
      `${r.counts.skipped ? ` ${r.counts.skipped} skipped` : ""}${r.counts.note ? `  (${r.counts.note})` : ""}\n`,
  );
}
process.stdout.write(`${total.passed} passed, ${total.failed} failed\n`);
process.exit(total.failed > 0 ? 1 : 0);
