/**
 * Starts ferry as a subprocess for end-to-end tests.
 *
 * Which ferry runs is chosen by the environment variable `FERRY_CMD`, a command line such as
 * `dist/ferry` or `bun main.ts` (relative paths are taken from the repository root). Without
 * it, ferry runs on the same runtime as the tests: `deno run -A main.ts` under `deno test`,
 * `bun main.ts` under `bun test`.
 *
 * Everything here is node: APIs only, so the same file runs under both test runners.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { track, untrack } from "./pids.ts";

/** The repository root (this file is `tests/_helpers/ferry.ts`). */
export const REPO_ROOT: string = fileURLToPath(new URL("../../", import.meta.url));

/** How long ferry may take to print all its `listening on` lines. */
const START_TIMEOUT_MS = 20_000;
/** How long `stop()` waits after SIGTERM before it sends SIGKILL. */
const STOP_TIMEOUT_MS = 5_000;

/** The runtime the tests themselves run on. */
export const TEST_RUNTIME: "bun" | "deno" | "node" = process.versions.bun
  ? "bun"
  : process.versions.deno
  ? "deno"
  : "node";

/** The command line that starts ferry, as argv (without ferry's own arguments). */
export function ferryCommand(): string[] {
  const fromEnv = process.env.FERRY_CMD?.trim();
  if (fromEnv) {
    const [first, ...rest] = fromEnv.split(/\s+/);
    // `dist/ferry` or `./dist/ferry` is relative to the repo; a bare `bun` is looked up on PATH.
    const cmd = first.includes("/") && !isAbsolute(first) ? resolve(REPO_ROOT, first) : first;
    return [cmd, ...rest];
  }
  if (TEST_RUNTIME === "bun") return [process.execPath, "main.ts"];
  if (TEST_RUNTIME === "deno") return [process.execPath, "run", "-A", "main.ts"];
  throw new Error("cannot pick a runtime for ferry: set FERRY_CMD (tests run under Node)");
}

/**
 * The runtime the ferry under test runs on: `deno` when its command is a Deno (`deno run ...`),
 * else `bun` (`bun main.ts`, or the binary built with `bun build --compile`).
 */
export function ferryRuntime(): "deno" | "bun" {
  return ferryCommand().some((a) => /(^|\/)deno(\.exe)?$/.test(a)) ? "deno" : "bun";
}

/** A short description of the ferry under test, for test names and messages. */
export function ferryLabel(): string {
  return process.env.FERRY_CMD?.trim() || `${TEST_RUNTIME} main.ts`;
}

function spawnEnv(): NodeJS.ProcessEnv {
  // So that FERRY_CMD="bun main.ts" or "deno run -A main.ts" works without a global install.
  const bin = join(REPO_ROOT, "node_modules", ".bin");
  return { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ""}`, NO_COLOR: "1" };
}

/** Collects a stream's output as complete lines and lets callers wait for a line. */
class LineCollector {
  readonly lines: string[] = [];
  #partial = "";
  #waiters = new Set<() => void>();

  push(chunk: Buffer | string): void {
    const text = this.#partial + chunk.toString();
    const parts = text.split("\n");
    this.#partial = parts.pop() ?? "";
    for (const line of parts) this.lines.push(line.replace(/\r$/, ""));
    if (parts.length > 0) this.#notify();
  }

  /** Flushes an unterminated last line (at exit). */
  finish(): void {
    if (this.#partial !== "") {
      this.lines.push(this.#partial);
      this.#partial = "";
    }
    this.#notify();
  }

  onChange(fn: () => void): () => void {
    this.#waiters.add(fn);
    return () => this.#waiters.delete(fn);
  }

  #notify(): void {
    for (const fn of [...this.#waiters]) fn();
  }
}

export interface Ferry {
  /** Listener name → the port from its `listening on` line. */
  ports: Record<string, number>;
  /** Listener name → mode (`http` | `tcp`) from its `listening on` line. */
  modes: Record<string, string>;
  /** ferry's stdout so far, one entry per line (grows while ferry runs). */
  stdout: string[];
  /** ferry's stderr so far, one entry per line. */
  stderr: string[];
  pid: number;
  /** The command line used, for messages. */
  command: string[];
  /**
   * Resolves with the first stdout line (from index `from`, default 0) matching `re`.
   * Rejects with the captured output after `timeoutMs` or if ferry exits first.
   */
  waitForLine(re: RegExp, opts?: { from?: number; timeoutMs?: number; stream?: "stdout" | "stderr" }): Promise<string>;
  /** Resolves when ferry has exited (code, signal). */
  exited: Promise<{ code: number | null; signal: string | null }>;
  /**
   * SIGTERM (or `signal`) by PID, waits for the exit, SIGKILL after a bound. Idempotent.
   * Resolves with how ferry exited (the first signal's outcome, not the SIGKILL's).
   */
  stop(signal?: "SIGTERM" | "SIGINT"): Promise<{ code: number | null; signal: string | null; killed: boolean }>;
  /** Sends `signal` by PID and returns at once (for tests of what ferry does while stopping). */
  signal(signal: "SIGTERM" | "SIGINT" | "SIGHUP"): void;
  /** All captured output, for assertion messages. */
  output(): string;
  /** Where the config file was written (undefined in args mode). */
  configPath?: string;
}

export interface StartOptions {
  /** How many `listening on` lines to wait for. Default: the number of listeners in the YAML, or 1. */
  listeners?: number;
  /** Extra environment for ferry. */
  env?: Record<string, string>;
  timeoutMs?: number;
}

const LISTENING_RE = /^ferry: listener "([^"]*)" \((\w+)\) listening on (\S+):(\d+)$/;

/** Counts `listeners:` entries in a YAML config, to know how many `listening on` lines to await. */
function countListeners(yaml: string): number {
  try {
    const doc = parseYaml(yaml) as { listeners?: unknown };
    return Array.isArray(doc?.listeners) ? Math.max(1, doc.listeners.length) : 1;
  } catch {
    return 1;
  }
}

/** Writes `text` to a file in a fresh temp directory; returns its path and a cleanup function. */
export function writeTempFile(name: string, text: string): { path: string; dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "ferry-test-"));
  const path = join(dir, name);
  writeFileSync(path, text);
  return { path, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Starts ferry with a YAML config (written to a temp file, passed as `--config`) or with raw
 * arguments, and waits until every listener printed its `listening on` line.
 * Always call `stop()` (in `after` or `finally`).
 */
export async function startFerry(config: string | { args: string[] }, opts: StartOptions = {}): Promise<Ferry> {
  let args: string[];
  let configPath: string | undefined;
  let cleanup = () => {};
  let expected: number;
  if (typeof config === "string") {
    const file = writeTempFile("ferry.yaml", config);
    configPath = file.path;
    cleanup = file.cleanup;
    args = ["--config", file.path];
    expected = opts.listeners ?? countListeners(config);
  } else {
    args = config.args;
    expected = opts.listeners ?? 1;
  }

  const [cmd, ...cmdArgs] = ferryCommand();
  const command = [cmd, ...cmdArgs, ...args];
  const child: ChildProcess = spawn(cmd, [...cmdArgs, ...args], {
    cwd: REPO_ROOT,
    env: { ...spawnEnv(), ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  track(child.pid);
  const out = new LineCollector();
  const err = new LineCollector();
  child.stdout!.on("data", (c: Buffer) => out.push(c));
  child.stderr!.on("data", (c: Buffer) => err.push(c));

  let exitInfo: { code: number | null; signal: string | null } | null = null;
  let spawnError: Error | null = null;
  const exitListeners = new Set<() => void>();
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolveExit) => {
    let done = false;
    const finish = (info: { code: number | null; signal: string | null }) => {
      if (done) return;
      done = true;
      out.finish();
      err.finish();
      untrack(child.pid);
      exitInfo = info;
      cleanup();
      resolveExit(info);
      for (const fn of [...exitListeners]) fn();
    };
    // 'close' fires after the exit and after stdio is drained, so every line is captured.
    child.on("close", (code, signal) => finish({ code, signal }));
    child.on("error", (e) => {
      spawnError = e;
      finish({ code: null, signal: null });
    });
  });

  const output = () =>
    `command: ${command.join(" ")}\n--- stdout ---\n${out.lines.join("\n")}\n--- stderr ---\n${
      err.lines.join("\n")
    }\n--- exit: ${exitInfo ? JSON.stringify(exitInfo) : "running"}${spawnError ? ` (${spawnError})` : ""}`;

  const waitForLine = (
    re: RegExp,
    { from = 0, timeoutMs = 10_000, stream = "stdout" }: { from?: number; timeoutMs?: number; stream?: "stdout" | "stderr" } = {},
  ): Promise<string> => {
    const col = stream === "stdout" ? out : err;
    return new Promise<string>((resolveLine, rejectLine) => {
      let scanned = from;
      const check = (): boolean => {
        for (; scanned < col.lines.length; scanned++) {
          if (re.test(col.lines[scanned])) {
            settle();
            resolveLine(col.lines[scanned]);
            return true;
          }
        }
        return false;
      };
      const onExit = () => {
        if (check()) return;
        settle();
        rejectLine(new Error(`ferry exited before printing a line matching ${re}\n${output()}`));
      };
      const timer = setTimeout(() => {
        settle();
        rejectLine(new Error(`no ${stream} line matching ${re} within ${timeoutMs} ms\n${output()}`));
      }, timeoutMs);
      const off = col.onChange(check);
      exitListeners.add(onExit);
      function settle() {
        clearTimeout(timer);
        off();
        exitListeners.delete(onExit);
      }
      if (check()) return;
      if (exitInfo) onExit();
    });
  };

  let stopping: Promise<{ code: number | null; signal: string | null; killed: boolean }> | null = null;
  const stop = (signal: "SIGTERM" | "SIGINT" = "SIGTERM") => {
    if (stopping) return stopping;
    stopping = (async () => {
      if (exitInfo) return { ...exitInfo, killed: false };
      try {
        process.kill(child.pid!, signal);
      } catch { /* already gone */ }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const first = await Promise.race([
        exited,
        new Promise<null>((r) => (timer = setTimeout(() => r(null), STOP_TIMEOUT_MS))),
      ]);
      clearTimeout(timer);
      if (first) return { ...first, killed: false };
      try {
        process.kill(child.pid!, "SIGKILL");
      } catch { /* already gone */ }
      const last = await exited;
      return { ...last, killed: true };
    })();
    return stopping;
  };

  const ferry: Ferry = {
    ports: {},
    modes: {},
    stdout: out.lines,
    stderr: err.lines,
    pid: child.pid ?? -1,
    command,
    waitForLine,
    exited,
    stop,
    signal: (sig) => {
      if (exitInfo) return;
      try {
        process.kill(child.pid!, sig);
      } catch { /* already gone */ }
    },
    output,
    configPath,
  };

  // Wait for every listener's line, event-driven; a deadline turns a hang into a readable failure.
  try {
    await new Promise<void>((resolveStart, rejectStart) => {
      let scanned = 0;
      const check = () => {
        for (; scanned < out.lines.length; scanned++) {
          const m = LISTENING_RE.exec(out.lines[scanned]);
          if (m) {
            ferry.ports[m[1]] = Number(m[4]);
            ferry.modes[m[1]] = m[2];
          }
        }
        if (Object.keys(ferry.ports).length >= expected) {
          settle();
          resolveStart();
        }
      };
      const onExit = () => {
        settle();
        rejectStart(new Error(`ferry exited before it was listening\n${output()}`));
      };
      const timer = setTimeout(() => {
        settle();
        rejectStart(
          new Error(`ferry printed ${Object.keys(ferry.ports).length} of ${expected} "listening on" lines within ${
            opts.timeoutMs ?? START_TIMEOUT_MS
          } ms\n${output()}`),
        );
      }, opts.timeoutMs ?? START_TIMEOUT_MS);
      const off = out.onChange(check);
      exitListeners.add(onExit);
      function settle() {
        clearTimeout(timer);
        off();
        exitListeners.delete(onExit);
      }
      check();
      if (exitInfo) onExit();
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return ferry;
}

export interface RunResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Runs ferry to completion (`--check`, `--version`, `--help`, invalid configs), with a time bound. */
export function runFerry(args: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<RunResult> {
  const [cmd, ...cmdArgs] = ferryCommand();
  const timeoutMs = opts.timeoutMs ?? 20_000;
  return new Promise<RunResult>((resolveRun, rejectRun) => {
    const child = spawn(cmd, [...cmdArgs, ...args], {
      cwd: REPO_ROOT,
      env: { ...spawnEnv(), ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout!.on("data", (c: Buffer) => stdout.push(c));
    child.stderr!.on("data", (c: Buffer) => stderr.push(c));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(child.pid!, "SIGKILL");
      } catch { /* gone */ }
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      rejectRun(new Error(`cannot run ${[cmd, ...cmdArgs].join(" ")}: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const result = {
        code,
        signal,
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
      };
      if (timedOut) {
        rejectRun(
          new Error(
            `ferry ${args.join(" ")} did not exit within ${timeoutMs} ms\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`,
          ),
        );
      } else resolveRun(result);
    });
  });
}
