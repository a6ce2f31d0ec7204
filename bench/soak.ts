/**
 * Soak under faults: mixed HTTP traffic through a real ferry for minutes while backends are
 * SIGKILLed and restarted, reset connections mid-body, and clients vanish mid-request and
 * mid-response or read slowly. Afterwards it checks that no response was corrupted (every 200 is
 * hash-checked), that no request hung, and that ferry's open file descriptors and memory are
 * back to where they were before the traffic.
 *
 *   node_modules/.bin/deno run -A bench/soak.ts              # 3 minutes, ferry on Deno
 *   node_modules/.bin/bun bench/soak.ts                      # 3 minutes, ferry on Bun
 *   FERRY_CMD=dist/ferry node_modules/.bin/bun bench/soak.ts --duration 3m
 *
 * Knobs (flags, or the environment variable in brackets; flags win):
 *   --duration D        traffic time after the warm-up, e.g. 3m, 90s (SOAK_DURATION; default 3m)
 *   --concurrency N     client loops (SOAK_CONCURRENCY; default 12)
 *   --seed N            seed of every random choice (SOAK_SEED; default 1)
 *   --backends N        backend processes (SOAK_BACKENDS; default 3)
 *   --ferry CMD         which ferry: "dist/ferry", "bun main.ts", "deno run -A main.ts" (FERRY_CMD;
 *                       default: main.ts on the runtime running this script)
 *   --backend-runtime R bun or deno, for bench/soak_backend.ts (SOAK_BACKEND_RUNTIME; default bun)
 *   --warmup D          traffic without backend kills before the "before" sample (SOAK_WARMUP; 3s)
 *   --kill-every D      SIGKILL a backend this often (SOAK_KILL_EVERY; default 8s)
 *   --down D            and start it again on its port this much later (SOAK_DOWN; default 1.5s)
 *   --deadline D        a request that neither completes nor fails within D is a hang (SOAK_DEADLINE; 15s)
 *   --scenarios A,B     only these request kinds (SOAK_SCENARIOS; default: all, see SCENARIOS)
 *   --json              also print the report as JSON
 *   SOAK_SABOTAGE=flip-byte:0.01   backends flip a body byte in 1 % of responses (checks the checker)
 *
 * Exit status: 0 when the verdict passes, 1 when it fails (reasons printed), 2 for bad flags,
 * 130 after Ctrl-C. Every process it starts is recorded by PID and stopped on the way out
 * (SIGTERM, SIGKILL after a bound), on failure and on Ctrl-C too. Loopback only.
 *
 * `runSoak(options)` is the whole soak as a function; tests/soak/soak_test.ts runs it briefly.
 * node: APIs only, so it runs unchanged under Deno and Bun.
 */
import net from "node:net";
import { Buffer } from "node:buffer";
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import process from "node:process";
import { ferryCommand, REPO_ROOT, writeTempFile } from "../tests/_helpers/ferry.ts";
import { track, untrack } from "../tests/_helpers/pids.ts";
import { bodyPath, bodyPrefix, type BodySpec, echoLine, echoPath, type Mode, PREFIX_LEN, RestCache, restLength, rng } from "./_soak_shared.ts";

// ------------------------------------------------------------------------------------ options

export interface SoakOptions {
  /** Traffic with faults, after the warm-up. */
  durationMs: number;
  /** Traffic (client faults included, no backend kills) before the "before" sample. */
  warmupMs: number;
  /** Client loops running at once. */
  concurrency: number;
  seed: number;
  backends: number;
  /** ferry's command line (argv without ferry's own flags). Default: as the tests pick it (FERRY_CMD). */
  ferry?: string[];
  backendRuntime: "bun" | "deno";
  /** SIGKILL one backend this often (0: never)... */
  killEveryMs: number;
  /** ...and start it again on the same port this much later. */
  downMs: number;
  /** A request with no outcome after this long is a hang. */
  deadlineMs: number;
  /** ferry's `timeouts.keepalive` and backend `timeouts.idle` in the soak config. */
  idleMs: number;
  /** fds after may exceed fds before by this much (see README: runtime-internal descriptors). */
  fdTolerance: number;
  /** RSS after may exceed RSS before by this much (KiB)... */
  rssToleranceKiB: number;
  /** ...or by this share of RSS before, whichever is larger. */
  rssToleranceShare: number;
  /** Longest wait for fds and RSS to come back after the traffic stops. */
  settleBoundMs: number;
  /** Only these scenarios (default: all, see SCENARIOS). */
  scenarios?: string[];
  /** Passed to the backends as SOAK_SABOTAGE (only to check that corruption is caught). */
  sabotage?: string;
  /** Skip the before/after settling (for short runs that only check responses). */
  measure: boolean;
  /** Progress lines; default: none. */
  log?: (line: string) => void;
  /** Aborting stops the traffic early; the soak then cleans up and reports. */
  signal?: AbortSignal;
}

export const DEFAULTS: SoakOptions = {
  durationMs: 180_000,
  warmupMs: 3_000,
  concurrency: 12,
  seed: 1,
  backends: 3,
  backendRuntime: "bun",
  killEveryMs: 8_000,
  downMs: 1_500,
  deadlineMs: 15_000,
  idleMs: 2_000,
  fdTolerance: 2,
  rssToleranceKiB: 48 * 1024,
  rssToleranceShare: 0.5,
  settleBoundMs: 30_000,
  measure: true,
};

// ------------------------------------------------------------------------------------ report

export interface Sample {
  /** ms since the traffic started (negative: warm-up / settling). */
  t: number;
  fds: number;
  rssKiB: number;
}

export interface SoakReport {
  ferry: string;
  ferryPid: number;
  backendRuntime: string;
  options: {
    durationMs: number;
    warmupMs: number;
    concurrency: number;
    seed: number;
    backends: number;
    killEveryMs: number;
    downMs: number;
    deadlineMs: number;
  };
  /** Every request sent, warm-up included. */
  requests: number;
  warmupRequests: number;
  /** Requests by outcome (see OUTCOMES). */
  outcomes: Record<string, number>;
  /** Requests by scenario, then outcome. */
  byScenario: Record<string, Record<string, number>>;
  faults: Record<string, number>;
  corrupted: number;
  hangs: number;
  /** Outcomes that are failures besides corrupted and hangs (malformed, unexpected status, ...). */
  otherFailures: number;
  /** The first few failures, described. */
  failureDetails: string[];
  bytesReceived: number;
  bytesSent: number;
  fds: { before: number; peak: number; after: number; tolerance: number; settleMs: number };
  /** ferry's fds by kind at the "before" and "after" points. */
  fdsByKind: { before: Record<string, number>; after: Record<string, number> };
  rssKiB: { before: number; peak: number; hwm: number; after: number; tolerance: number };
  samples: Sample[];
  ferryExit: string;
  ferryExitedEarly: boolean;
  /** A plain GET on a new connection after the soak: "ok", or what happened instead. */
  probeAfter: string;
  ferryErrorLines: number;
  /** ferry's most frequent error-log lines, digits blanked, with counts. */
  ferryErrorKinds: [string, number][];
  /** ferry stderr lines that look like a crash or a bug (uncaught, TypeError, ...). */
  internalErrors: string[];
  timingsMs: { warmup: number; settleBefore: number; traffic: number; drain: number; settleAfter: number; total: number };
  aborted: boolean;
  ok: boolean;
  reasons: string[];
}

/**
 * Outcomes. Allowed: ok, cut, cut_head, closed (no response byte on a new connection),
 * closed_reused (the same on a keep-alive connection: the race every HTTP/1.1 client has to live
 * with when the server's keepalive timer runs out as the next request arrives), s502/s503/s504,
 * vanished (the client itself left), idle_closed (ferry closed an idle keep-alive connection).
 * Failures: corrupted, hang, idle_not_closed (counted as hangs), malformed, unexpected_status,
 * connect_failed.
 */
export const OUTCOMES = [
  "ok",
  "cut",
  "cut_head",
  "closed",
  "closed_reused",
  "s502",
  "s503",
  "s504",
  "vanished",
  "idle_closed",
  "corrupted",
  "hang",
  "idle_not_closed",
  "malformed",
  "unexpected_status",
  "connect_failed",
] as const;
type Outcome = typeof OUTCOMES[number];
const FAILURES = new Set<Outcome>(["corrupted", "hang", "idle_not_closed", "malformed", "unexpected_status", "connect_failed"]);

// ------------------------------------------------------------------------------------ processes

class Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly stdout: string[] = [];
  stderrCount = 0;
  readonly stderrTail: string[] = [];
  #partial = { out: "", err: "" };
  #listeners = new Set<() => void>();
  exit: { code: number | null; signal: string | null } | null = null;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  onStderrLine: (line: string) => void = () => {};

  constructor(cmd: string, args: string[], env: Record<string, string>) {
    this.child = spawn(cmd, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    this.pid = this.child.pid ?? -1;
    track(this.pid);
    this.child.stdout!.on("data", (c: Buffer) => this.#lines("out", c));
    this.child.stderr!.on("data", (c: Buffer) => this.#lines("err", c));
    this.exited = new Promise((resolveExit) => {
      const done = (code: number | null, signal: string | null) => {
        if (this.exit) return;
        untrack(this.pid);
        this.exit = { code, signal };
        resolveExit(this.exit);
        this.#notify();
      };
      this.child.on("close", (code, signal) => done(code, signal));
      this.child.on("error", () => done(null, null));
    });
  }

  #lines(which: "out" | "err", c: Buffer): void {
    const text = this.#partial[which] + c.toString();
    const parts = text.split("\n");
    this.#partial[which] = parts.pop() ?? "";
    for (const line of parts) {
      if (which === "out") this.stdout.push(line);
      else {
        this.stderrCount++;
        this.stderrTail.push(line);
        if (this.stderrTail.length > 40) this.stderrTail.shift();
        this.onStderrLine(line);
      }
    }
    this.#notify();
  }

  #notify(): void {
    for (const fn of [...this.#listeners]) fn();
  }

  /** The first stdout line matching `re`; rejects when the process exits first or after `timeoutMs`. */
  waitLine(re: RegExp, timeoutMs: number, what: string): Promise<RegExpExecArray> {
    return new Promise((resolveLine, rejectLine) => {
      const check = () => {
        for (const line of this.stdout) {
          const m = re.exec(line);
          if (m) return finish(() => resolveLine(m));
        }
        if (this.exit) {
          finish(() => rejectLine(new Error(`${what} exited (${JSON.stringify(this.exit)}) before printing ${re}: ${this.stderrTail.join(" | ")}`)));
        }
      };
      const timer = setTimeout(() => finish(() => rejectLine(new Error(`${what} printed no ${re} within ${timeoutMs} ms`))), timeoutMs);
      const finish = (fn: () => void) => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        fn();
      };
      this.#listeners.add(check);
      check();
    });
  }

  /** `signal`, then SIGKILL if it has not exited within `boundMs`; resolves once reaped. */
  async stop(signal: "SIGTERM" | "SIGKILL" = "SIGTERM", boundMs = 5_000): Promise<{ code: number | null; signal: string | null }> {
    if (this.exit) return this.exit;
    try {
      process.kill(this.pid, signal);
    } catch { /* gone */ }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const first = await Promise.race([this.exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), boundMs)))]);
    clearTimeout(timer);
    if (first) return first;
    try {
      process.kill(this.pid, "SIGKILL");
    } catch { /* gone */ }
    return await this.exited;
  }
}

/** The real executable behind an npm wrapper script (`node_modules/.bin/deno` may be a Node script). */
function realExecutable(cmd: string): string {
  const path = cmd.includes("/") ? (isAbsolute(cmd) ? cmd : resolve(REPO_ROOT, cmd)) : cmd;
  let real = path;
  try {
    real = realpathSync(path);
    const headBytes = readFileSync(real).subarray(0, 2).toString("latin1");
    if (headBytes !== "#!") return real;
  } catch {
    return path; // a bare name from PATH, or missing: leave it to spawn
  }
  const candidates: Record<string, string> = {
    deno: join(REPO_ROOT, "node_modules/@deno/linux-x64-glibc/deno"),
    bun: join(REPO_ROOT, "node_modules/bun/bin/bun.exe"),
  };
  for (const [name, bin] of Object.entries(candidates)) if (real.includes(`/${name}/`) && existsSync(bin)) return bin;
  return real;
}

function runtimeBinary(name: "bun" | "deno"): string {
  if (name === "bun" && process.versions.bun) return process.execPath;
  if (name === "deno" && process.versions.deno) return process.execPath;
  return realExecutable(join(REPO_ROOT, "node_modules/.bin", name));
}

/**
 * The PID to measure: the process itself, or, when it is a Node wrapper that spawned the real
 * runtime, that child (runtimes.md §1).
 */
function measuredPid(pid: number): number {
  for (let depth = 0; depth < 3; depth++) {
    let exe = "";
    try {
      exe = readlinkSync(`/proc/${pid}/exe`);
    } catch {
      return pid;
    }
    if (!/\/node(js)?$/.test(exe)) return pid;
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
    if (kids.length !== 1) return pid;
    pid = Number(kids[0]);
  }
  return pid;
}

/** Open fds, VmRSS and VmHWM (KiB) of `pid`, or null when it is gone. */
function sampleProc(pid: number): { fds: number; rssKiB: number; hwmKiB: number } | null {
  try {
    const fds = readdirSync(`/proc/${pid}/fd`).length;
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
    return { fds, rssKiB: kib("VmRSS"), hwmKiB: kib("VmHWM") };
  } catch {
    return null;
  }
}

/** ferry's open fds by kind (`socket`, `pipe`, `anon_inode:[eventpoll]`, a path...), for the report. */
function fdKinds(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      let target = "?";
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`).replace(/^(socket|pipe):\[\d+\]$/, "$1");
      } catch { /* closed meanwhile */ }
      out[target] = (out[target] ?? 0) + 1;
    }
  } catch { /* gone */ }
  return out;
}

/** A wait that paces a loop or a fault schedule, never one that stands in for an event. */
function pace(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((r) => {
    if (signal?.aborted) return r();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      r();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

// ------------------------------------------------------------------------------------ backends

class BackendProcess {
  proc: Proc | null = null;
  port = 0;
  starts = 0;
  constructor(readonly name: string, readonly cmd: string[], readonly env: Record<string, string>) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts the process (on `this.port`, or any port the first time) and waits until it listens. */
  async start(): Promise<void> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 20; attempt++) {
      const proc = new Proc(this.cmd[0], [...this.cmd.slice(1), String(this.port), this.name], this.env);
      try {
        const m = await proc.waitLine(/^listening (\d+)$/, 15_000, `backend ${this.name}`);
        this.port = Number(m[1]);
        this.proc = proc;
        this.starts++;
        return;
      } catch (e) {
        lastError = e;
        await proc.stop("SIGKILL");
        // The port may still be held for a moment by the process just killed: try again shortly.
        await pace(250);
      }
    }
    throw new Error(`cannot start backend ${this.name} on port ${this.port}: ${lastError}`);
  }

  async kill9(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (p) await p.stop("SIGKILL");
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (p) await p.stop("SIGTERM", 3_000);
  }
}

// ------------------------------------------------------------------------------------ client side

/** A client connection: buffered reads (optionally throttled), drain-aware writes. */
class Wire {
  readonly socket: net.Socket;
  #chunks: Buffer[] = [];
  #back: Buffer | null = null;
  #eof = false;
  #wake: (() => void) | null = null;
  destroyed = false;
  error: string | null = null;
  /** Bytes received on this connection. */
  received = 0;
  #rate = 0;
  #rateStart = 0;
  #rateBytes = 0;
  readonly stats: { received: number; sent: number };

  private constructor(socket: net.Socket, stats: { received: number; sent: number }) {
    this.socket = socket;
    this.stats = stats;
    socket.on("data", (c: Buffer) => {
      stats.received += c.length;
      this.received += c.length;
      this.#chunks.push(c);
      this.#notify();
    });
    socket.on("end", () => {
      this.#eof = true;
      this.#notify();
    });
    socket.on("close", () => {
      this.#eof = true;
      this.#notify();
    });
    socket.on("error", (e: Error & { code?: string }) => {
      this.error = e.code ?? e.message;
      this.#eof = true;
      this.#notify();
    });
  }

  static connect(port: number, stats: { received: number; sent: number }): Promise<Wire> {
    return new Promise((resolveConn, rejectConn) => {
      const socket = net.connect({ port, host: "127.0.0.1" });
      const onError = (e: Error & { code?: string }) => rejectConn(new Error(e.code ?? e.message));
      socket.once("error", onError);
      socket.once("connect", () => {
        socket.off("error", onError);
        socket.setNoDelay(true);
        resolveConn(new Wire(socket, stats));
      });
    });
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  /** The next received bytes, or null at EOF (or once destroyed). */
  async pull(): Promise<Buffer | null> {
    for (;;) {
      if (this.destroyed) return null;
      // Bytes put back were already paid for: only fresh ones count against the rate.
      const back = this.#back;
      if (back) {
        this.#back = null;
        return back;
      }
      const c = this.#chunks.shift();
      if (c) {
        if (this.#rate > 0) await this.#throttle(c.length);
        return c;
      }
      if (this.#eof) return null;
      await new Promise<void>((r) => (this.#wake = r));
    }
  }

  /** Puts bytes back to be pulled first (at most one buffer: what the last pull did not use). */
  unshift(b: Buffer): void {
    if (!b.length) return;
    if (this.#back) throw new Error("unshift twice without a pull");
    this.#back = b;
  }

  /** Bytes per second the reader accepts from now on (0 = as fast as they come). */
  set rate(bytesPerSecond: number) {
    this.#rate = bytesPerSecond;
    this.#rateStart = 0;
    this.#rateBytes = 0;
  }

  /** Reading at `rate`: pauses the socket (so the kernel buffer fills and ferry is held back). */
  async #throttle(n: number): Promise<void> {
    const now = performance.now();
    if (this.#rateStart === 0) this.#rateStart = now;
    this.#rateBytes += n;
    const due = this.#rateStart + (this.#rateBytes / this.#rate) * 1000;
    if (due > now + 5) {
      this.socket.pause();
      await pace(due - now);
      if (!this.destroyed) this.socket.resume();
    }
  }

  write(buf: Uint8Array): Promise<void> {
    if (this.destroyed || this.socket.destroyed) return Promise.reject(new Error("closed"));
    this.stats.sent += buf.length;
    if (this.socket.write(buf)) return Promise.resolve();
    return new Promise<void>((resolveWrite, rejectWrite) => {
      const done = () => {
        this.socket.off("drain", onDrain);
        this.socket.off("close", onClose);
      };
      const onDrain = () => {
        done();
        resolveWrite();
      };
      const onClose = () => {
        done();
        rejectWrite(new Error("closed"));
      };
      this.socket.once("drain", onDrain);
      this.socket.once("close", onClose);
    });
  }

  get eof(): boolean {
    return this.#eof && this.#chunks.length === 0 && this.#back === null;
  }

  /** Closes now; `reset` sends RST instead of FIN. */
  destroy(reset = false): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (reset && !this.socket.destroyed) this.socket.resetAndDestroy();
    else this.socket.destroy();
    this.#notify();
  }
}

type Resp =
  | { kind: "closed"; error: string | null }
  | { kind: "cut"; where: "head" | "body"; status?: number; got: number; declared?: number; error: string | null }
  | { kind: "malformed"; detail: string }
  | { kind: "stopped"; status: number }
  | { kind: "complete"; status: number; headers: Map<string, string[]>; framing: "cl" | "chunked" | "close" | "none"; bodyLen: number; connClose: boolean };

const STATUS_RE = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/;
const FIELD_RE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;

async function readLine(w: Wire, max: number): Promise<Buffer | "eof" | "long"> {
  let acc: Buffer = Buffer.alloc(0);
  for (;;) {
    const i = acc.indexOf("\r\n");
    if (i >= 0) {
      w.unshift(acc.subarray(i + 2));
      return acc.subarray(0, i);
    }
    if (acc.length > max) return "long";
    const c = await w.pull();
    if (!c) return "eof";
    acc = acc.length ? Buffer.concat([acc, c]) : c;
  }
}

/** Feeds exactly `n` bytes to `sink`; returns the count fed (short when the peer closed or the sink stopped). */
async function readBody(w: Wire, n: number, sink: (b: Buffer) => boolean): Promise<{ got: number; stopped: boolean }> {
  let got = 0;
  while (got < n) {
    const c = await w.pull();
    if (!c) return { got, stopped: false };
    const take = Math.min(c.length, n - got);
    if (take < c.length) w.unshift(c.subarray(take));
    got += take;
    if (!sink(c.subarray(0, take))) return { got, stopped: true };
  }
  return { got, stopped: false };
}

/**
 * Reads one response with strict framing. A response is `complete` only when its framing says
 * so (Content-Length reached, the last chunk and the trailer section read, or EOF for a
 * close-delimited body); a close before that is a `cut`. `sink` gets the body and may stop early.
 */
async function readResponse(w: Wire, method: string, sink: (b: Buffer) => boolean): Promise<Resp> {
  // Head (1xx interim responses are skipped).
  let status = 0;
  let version = "1";
  const headers = new Map<string, string[]>();
  for (;;) {
    let acc: Buffer = Buffer.alloc(0);
    let end = -1;
    for (;;) {
      end = acc.indexOf("\r\n\r\n");
      if (end >= 0) break;
      if (acc.length > 64 * 1024) return { kind: "malformed", detail: "response head over 64 KiB" };
      const c = await w.pull();
      if (!c) return acc.length ? { kind: "cut", where: "head", got: acc.length, error: w.error } : { kind: "closed", error: w.error };
      acc = acc.length ? Buffer.concat([acc, c]) : c;
    }
    w.unshift(acc.subarray(end + 4));
    const lines = acc.subarray(0, end).toString("latin1").split("\r\n");
    const m = STATUS_RE.exec(lines[0]);
    if (!m) return { kind: "malformed", detail: `status line ${JSON.stringify(lines[0].slice(0, 100))}` };
    version = m[1];
    status = Number(m[2]);
    headers.clear();
    for (const line of lines.slice(1)) {
      const f = FIELD_RE.exec(line);
      if (!f) return { kind: "malformed", detail: `header field ${JSON.stringify(line.slice(0, 100))}` };
      const k = f[1].toLowerCase();
      headers.set(k, [...(headers.get(k) ?? []), f[2]]);
    }
    if (status >= 100 && status < 200 && status !== 101) continue;
    break;
  }
  const connHeader = (headers.get("connection") ?? []).join(",").toLowerCase();
  const connClose = /\bclose\b/.test(connHeader) || (version === "0" && !/\bkeep-alive\b/.test(connHeader));
  const done = (framing: "cl" | "chunked" | "close" | "none", bodyLen: number): Resp => ({ kind: "complete", status, headers, framing, bodyLen, connClose });

  if (method === "HEAD" || status === 204 || status === 304) return done("none", 0);
  const te = headers.get("transfer-encoding");
  const cl = headers.get("content-length");
  if (te) {
    if (cl) return { kind: "malformed", detail: "both Transfer-Encoding and Content-Length" };
    const codings = te.join(",").toLowerCase().split(",").map((s) => s.trim()).filter(Boolean);
    if (codings.at(-1) !== "chunked") return { kind: "malformed", detail: `Transfer-Encoding ${te.join(",")}` };
    let total = 0;
    for (;;) {
      const line = await readLine(w, 4096);
      if (line === "eof") return { kind: "cut", where: "body", status, got: total, error: w.error };
      if (line === "long") return { kind: "malformed", detail: "chunk-size line over 4 KiB" };
      const sizeText = line.toString("latin1").split(";")[0].trim();
      if (!/^[0-9a-fA-F]{1,12}$/.test(sizeText)) {
        return { kind: "malformed", detail: `chunk-size line ${JSON.stringify(line.toString("latin1").slice(0, 60))}` };
      }
      const size = parseInt(sizeText, 16);
      if (size === 0) {
        for (;;) {
          const t = await readLine(w, 16384);
          if (t === "eof") return { kind: "cut", where: "body", status, got: total, error: w.error };
          if (t === "long") return { kind: "malformed", detail: "trailer field over 16 KiB" };
          if (t.length === 0) return done("chunked", total);
        }
      }
      const r = await readBody(w, size, sink);
      total += r.got;
      if (r.stopped) return { kind: "stopped", status };
      if (r.got < size) return { kind: "cut", where: "body", status, got: total, error: w.error };
      // The CRLF may arrive split over two reads: allow for 2 bytes before calling it missing.
      const crlf = await readLine(w, 2);
      if (crlf === "eof") return { kind: "cut", where: "body", status, got: total, error: w.error };
      if (crlf === "long" || crlf.length !== 0) return { kind: "malformed", detail: "chunk data not followed by CRLF" };
    }
  }
  if (cl) {
    if (!cl.every((v) => /^\d{1,15}$/.test(v) && v === cl[0])) return { kind: "malformed", detail: `Content-Length ${cl.join(",")}` };
    const declared = Number(cl[0]);
    const r = await readBody(w, declared, sink);
    if (r.stopped) return { kind: "stopped", status };
    if (r.got < declared) return { kind: "cut", where: "body", status, got: r.got, declared, error: w.error };
    return done("cl", declared);
  }
  // Close-delimited: complete at EOF; a cut cannot be told from the end, so the hash decides.
  const r = await readBody(w, Number.MAX_SAFE_INTEGER, sink);
  if (r.stopped) return { kind: "stopped", status };
  return done("close", r.got);
}

/** Checks a `/b/` body as it streams in: the request's first line, then the seeded bytes by sha256. */
class BodyCheck {
  #prefix: Buffer;
  #hash = createHash("sha256");
  #expectedSha: string;
  #got = 0;
  #prefixOk = true;
  constructor(readonly spec: BodySpec, cache: RestCache) {
    this.#prefix = bodyPrefix(spec.id).subarray(0, Math.min(PREFIX_LEN, spec.size));
    this.#expectedSha = cache.sha256(spec.seed, restLength(spec.size));
  }
  feed(b: Buffer): void {
    let off = 0;
    if (this.#got < this.#prefix.length) {
      const n = Math.min(b.length, this.#prefix.length - this.#got);
      if (!b.subarray(0, n).equals(this.#prefix.subarray(this.#got, this.#got + n))) this.#prefixOk = false;
      off = n;
    }
    if (off < b.length) this.#hash.update(b.subarray(off));
    this.#got += b.length;
  }
  get got(): number {
    return this.#got;
  }
  /** null when the body is exactly right, else what is wrong. */
  verdict(): string | null {
    if (this.#got !== this.spec.size) return `body is ${this.#got} bytes, expected ${this.spec.size}`;
    if (!this.#prefixOk) return "first line is not this request's";
    const sha = this.#hash.digest("hex");
    if (sha !== this.#expectedSha) return `sha256 ${sha.slice(0, 16)}… expected ${this.#expectedSha.slice(0, 16)}…`;
    return null;
  }
}

const SMALL = [0, 1, 31, 32, 33, 100, 1000, 4096, 16383];
const MEDIUM = [65536, 65537, 200_000];
const LARGE = [1 << 20, 3 * (1 << 20) + 5];

type ScenarioName =
  | "get_small"
  | "get_medium"
  | "get_large"
  | "head"
  | "get_slow_backend"
  | "get_delayed"
  | "post_small"
  | "post_large"
  | "backend_reset"
  | "vanish_mid_response"
  | "vanish_mid_request"
  | "vanish_before_head"
  | "reset_on_connect"
  | "slow_reader";

/** Scenarios and their weights in the mix. */
export const SCENARIOS: [ScenarioName, number][] = [
  ["get_small", 28],
  ["get_medium", 14],
  ["get_large", 5],
  ["head", 3],
  ["get_slow_backend", 4],
  ["get_delayed", 3],
  ["post_small", 12],
  ["post_large", 6],
  ["backend_reset", 6],
  ["vanish_mid_response", 6],
  ["vanish_mid_request", 5],
  ["vanish_before_head", 3],
  ["reset_on_connect", 2],
  ["slow_reader", 3],
];

/** Which fault counter a scenario feeds. */
const FAULT_OF: Partial<Record<ScenarioName, string>> = {
  backend_reset: "backend_reset_mid_body",
  vanish_mid_response: "client_vanish_mid_response",
  vanish_mid_request: "client_vanish_mid_request_body",
  vanish_before_head: "client_vanish_before_head",
  reset_on_connect: "client_reset_on_connect",
  slow_reader: "client_slow_reader",
  get_slow_backend: "backend_slow_body",
};

interface Tally {
  requests: number;
  outcomes: Record<string, number>;
  byScenario: Record<string, Record<string, number>>;
  faults: Record<string, number>;
  failureDetails: string[];
  stats: { received: number; sent: number };
}

interface ClientCtx {
  port: number;
  cache: RestCache;
  tally: Tally;
  deadlineMs: number;
  idleMs: number;
  stopped: () => boolean;
  scenarios?: string[];
  nextId: () => number;
  /** Bumps the request count of the current phase. */
  counted: () => void;
}

interface Step {
  outcome: Outcome;
  /** The connection may carry the next request. */
  reusable: boolean;
  detail?: string;
}

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

function record(ctx: ClientCtx, scenario: string, step: Step, desc: string): void {
  const t = ctx.tally;
  t.outcomes[step.outcome] = (t.outcomes[step.outcome] ?? 0) + 1;
  const s = (t.byScenario[scenario] ??= {});
  s[step.outcome] = (s[step.outcome] ?? 0) + 1;
  if (FAILURES.has(step.outcome) && t.failureDetails.length < 20) {
    t.failureDetails.push(`${step.outcome}: ${scenario} ${desc}${step.detail ? `: ${step.detail}` : ""}`);
  }
}

function requestHead(method: string, path: string, close: boolean, extra = ""): Buffer {
  return Buffer.from(
    `${method} ${path} HTTP/1.1\r\nHost: soak.test\r\nUser-Agent: ferry-soak\r\n${close ? "Connection: close\r\n" : ""}${extra}\r\n`,
    "latin1",
  );
}

/** What a response other than a complete 200 means. */
function nonOk(res: Resp, w: Wire): Step {
  switch (res.kind) {
    case "closed":
      return { outcome: "closed", reusable: false, detail: res.error ?? undefined };
    case "cut":
      return {
        outcome: res.where === "head" ? "cut_head" : "cut",
        reusable: false,
        detail: `${res.got}${res.declared !== undefined ? `/${res.declared}` : ""} body bytes, ${res.error ?? "EOF"}`,
      };
    case "malformed":
      return { outcome: "malformed", reusable: false, detail: res.detail };
    case "stopped":
      return { outcome: "vanished", reusable: false };
    case "complete": {
      const reusable = !res.connClose && !w.eof;
      if (res.status === 502) return { outcome: "s502", reusable };
      if (res.status === 503) return { outcome: "s503", reusable };
      if (res.status === 504) return { outcome: "s504", reusable };
      return { outcome: "unexpected_status", reusable: false, detail: `status ${res.status}` };
    }
  }
}

/** After a complete response on a connection that is closing: ferry must close it with nothing more. */
async function expectClose(w: Wire): Promise<string | null> {
  const extra = await w.pull();
  if (extra && extra.length) {
    return `${extra.length} bytes after a response on a closing connection: ${JSON.stringify(extra.subarray(0, 60).toString("latin1"))}`;
  }
  return null;
}

/** A GET/HEAD for `spec`, verified; `vanishAfter` stops reading after that many body bytes. */
async function getBody(
  w: Wire,
  spec: BodySpec,
  method: "GET" | "HEAD",
  close: boolean,
  ctx: ClientCtx,
  opts: { vanishAfter?: number; rate?: number } = {},
): Promise<Step> {
  await w.write(requestHead(method, bodyPath(spec), close));
  const check = new BodyCheck(spec, ctx.cache);
  if (opts.rate) w.rate = opts.rate;
  const res = await readResponse(w, method, (b) => {
    check.feed(b);
    return opts.vanishAfter === undefined || check.got < opts.vanishAfter;
  });
  w.rate = 0;
  if (res.kind !== "complete" || res.status !== 200) return nonOk(res, w);
  const id = res.headers.get("x-soak-id")?.[0];
  if (id !== String(spec.id)) return { outcome: "corrupted", reusable: false, detail: `X-Soak-Id ${id} (response of another request)` };
  if (method === "HEAD") {
    if (res.bodyLen !== 0) return { outcome: "corrupted", reusable: false, detail: "HEAD response with a body" };
    const cl = res.headers.get("content-length")?.[0];
    if (spec.mode === "cl" && cl !== String(spec.size)) {
      return { outcome: "corrupted", reusable: false, detail: `HEAD Content-Length ${cl}, expected ${spec.size}` };
    }
  } else {
    const bad = check.verdict();
    if (bad) return { outcome: "corrupted", reusable: false, detail: `${bad} (framing ${res.framing})` };
  }
  if (res.connClose || close) {
    const extra = await expectClose(w);
    if (extra) return { outcome: "malformed", reusable: false, detail: extra };
    return { outcome: "ok", reusable: false };
  }
  return { outcome: "ok", reusable: !w.eof };
}

/** A POST of `size` bytes (Content-Length or chunked); the backend answers the body's sha256. */
async function postBody(
  w: Wire,
  r: () => number,
  id: number,
  size: number,
  chunked: boolean,
  close: boolean,
  ctx: ClientCtx,
  vanishAfter?: number,
): Promise<Step> {
  const seed = Math.floor(r() * 16);
  const body = Buffer.concat([bodyPrefix(id).subarray(0, Math.min(PREFIX_LEN, size)), ctx.cache.bytes(seed, restLength(size))]);
  const sha = createHash("sha256").update(body).digest("hex");
  const delay = r() < 0.1 ? 50 + Math.floor(r() * 300) : undefined;
  const framing = chunked ? "Transfer-Encoding: chunked\r\n" : `Content-Length: ${size}\r\n`;
  await w.write(requestHead("POST", echoPath(id, delay), close, `Content-Type: application/octet-stream\r\n${framing}`));
  // Read while writing: ferry may answer (502) before taking the whole body.
  let text = "";
  const response = vanishAfter === undefined
    ? readResponse(w, "POST", (b) => {
      text += b.toString("latin1");
      return text.length <= 4096;
    })
    : null;
  let writeError: string | null = null;
  try {
    const limit = vanishAfter ?? size;
    for (let off = 0; off < limit;) {
      const n = Math.min(limit - off, chunked ? 1 + Math.floor(r() * 32768) : 64 * 1024);
      const piece = body.subarray(off, off + n);
      if (chunked) await w.write(Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), piece, Buffer.from("\r\n")]));
      else await w.write(piece);
      off += n;
    }
    if (vanishAfter !== undefined) {
      if (r() < 0.5) await pace(Math.floor(r() * 50));
      w.destroy(r() < 0.5);
      return { outcome: "vanished", reusable: false };
    }
    if (chunked) await w.write(Buffer.from("0\r\n\r\n"));
  } catch (e) {
    writeError = e instanceof Error ? e.message : String(e);
  }
  if (!response) {
    // Meant to vanish, but ferry closed first (it may have answered already: a 502, a 408).
    w.destroy();
    return { outcome: "vanished", reusable: false, detail: `ferry closed first: ${writeError}` };
  }
  const res = await response;
  if (res.kind !== "complete" || res.status !== 200) {
    const step = nonOk(res, w);
    // A response before the body went out whole leaves the connection in an unknown state.
    return writeError ? { ...step, reusable: false } : step;
  }
  if (writeError) return { outcome: "corrupted", reusable: false, detail: `200 although the body could not be sent (${writeError})` };
  const expected = echoLine(id, size, sha);
  if (text !== expected) {
    return { outcome: "corrupted", reusable: false, detail: `echo ${JSON.stringify(text.slice(0, 120))}, expected ${JSON.stringify(expected)}` };
  }
  if (res.headers.get("x-soak-id")?.[0] !== String(id)) return { outcome: "corrupted", reusable: false, detail: "X-Soak-Id of another request" };
  if (res.connClose || close) {
    const extra = await expectClose(w);
    if (extra) return { outcome: "malformed", reusable: false, detail: extra };
    return { outcome: "ok", reusable: false };
  }
  return { outcome: "ok", reusable: !w.eof };
}

async function runScenario(name: ScenarioName, w: Wire, r: () => number, close: boolean, ctx: ClientCtx): Promise<{ step: Step; desc: string }> {
  const id = ctx.nextId();
  const mode: Mode = r() < 0.5 ? "cl" : "ch";
  const spec = (sizes: number[], seeds: number): BodySpec => ({ id, size: pick(r, sizes), seed: Math.floor(r() * seeds), mode });
  let s: BodySpec;
  switch (name) {
    case "get_small":
      s = spec(SMALL, 16);
      return { step: await getBody(w, s, "GET", close, ctx), desc: bodyPath(s) };
    case "get_medium":
      s = spec(MEDIUM, 16);
      return { step: await getBody(w, s, "GET", close, ctx), desc: bodyPath(s) };
    case "get_large":
      s = spec(LARGE, 4);
      return { step: await getBody(w, s, "GET", close, ctx), desc: bodyPath(s) };
    case "head":
      s = spec([...SMALL, ...MEDIUM, ...LARGE], 4);
      return { step: await getBody(w, s, "HEAD", close, ctx), desc: `HEAD ${bodyPath(s)}` };
    case "get_slow_backend":
      s = { ...spec([16383, ...MEDIUM], 16), slow: { pieces: 4 + Math.floor(r() * 7), gapMs: 50 + Math.floor(r() * 150) } };
      return { step: await getBody(w, s, "GET", close, ctx), desc: bodyPath(s) };
    case "get_delayed":
      s = { ...spec(SMALL, 16), delayMs: 100 + Math.floor(r() * 500) };
      return { step: await getBody(w, s, "GET", close, ctx), desc: bodyPath(s) };
    case "post_small": {
      const size = pick(r, SMALL);
      const chunked = r() < 0.3;
      return { step: await postBody(w, r, id, size, chunked, close, ctx), desc: `POST ${size} ${chunked ? "chunked" : "cl"}` };
    }
    case "post_large": {
      const size = pick(r, [...MEDIUM, 1 << 20]);
      const chunked = r() < 0.5;
      return { step: await postBody(w, r, id, size, chunked, close, ctx), desc: `POST ${size} ${chunked ? "chunked" : "cl"}` };
    }
    case "backend_reset":
      s = spec([...MEDIUM, ...LARGE], 4);
      s.resetAfter = Math.floor(r() * s.size);
      return { step: await getBody(w, s, "GET", close, ctx), desc: bodyPath(s) };
    case "vanish_mid_response": {
      s = spec([...MEDIUM, ...LARGE], 4);
      const after = Math.floor(r() * s.size);
      const step = await getBody(w, s, "GET", close, ctx, { vanishAfter: after });
      if (step.outcome === "vanished") w.destroy(r() < 0.5);
      return { step, desc: `${bodyPath(s)} vanishing after ${after} bytes` };
    }
    case "vanish_mid_request": {
      const size = pick(r, [...MEDIUM, 1 << 20]);
      const after = Math.floor(r() * size);
      const chunked = r() < 0.5;
      return { step: await postBody(w, r, id, size, chunked, close, ctx, after), desc: `POST ${size} vanishing after ${after}` };
    }
    case "vanish_before_head": {
      s = { ...spec(SMALL, 16), delayMs: 300 + Math.floor(r() * 500) };
      await w.write(requestHead("GET", bodyPath(s), close));
      await pace(50 + Math.floor(r() * 200));
      w.destroy(r() < 0.5);
      return { step: { outcome: "vanished", reusable: false }, desc: bodyPath(s) };
    }
    case "reset_on_connect": {
      // 1 to 4 connections at once, each reset (RST) as soon as it is open: some are gone
      // before ferry accepts them, which its accept loop has to shrug off.
      const k = 1 + Math.floor(r() * 4);
      await Promise.all(Array.from({ length: k }, () => resetOnConnect(ctx.port)));
      return { step: { outcome: "vanished", reusable: true }, desc: `${k} connections reset on connect` };
    }
    case "slow_reader": {
      s = spec([...MEDIUM, ...LARGE], 4);
      // 1.5 to 3 s for the body, whatever its size.
      const rate = Math.max(64 * 1024, s.size / (1.5 + r() * 1.5));
      return { step: await getBody(w, s, "GET", close, ctx, { rate }), desc: `${bodyPath(s)} read at ${Math.round(rate / 1024)} KiB/s` };
    }
  }
}

/** Opens a connection and resets it at once; resolves when done (or when the connect failed). */
function resetOnConnect(port: number): Promise<void> {
  return new Promise<void>((done) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.resetAndDestroy();
      done();
    });
    socket.once("error", () => done());
  });
}

/** One client loop: keep-alive sessions of 1 to 6 requests until told to stop. */
async function clientLoop(index: number, seed: number, ctx: ClientCtx): Promise<void> {
  const r = rng(seed * 1_000_003 + index * 7919 + 17);
  const mix = SCENARIOS.filter(([n]) => !ctx.scenarios || ctx.scenarios.includes(n));
  const weightSum = mix.reduce((s, [, w]) => s + w, 0);
  while (!ctx.stopped()) {
    const sessionLength = 1 + Math.floor(r() * 6);
    let w: Wire | null = null;
    let lastDone = 0;
    for (let i = 0; i < sessionLength && !ctx.stopped(); i++) {
      let x = r() * weightSum;
      let name: ScenarioName = mix[0][0];
      for (const [n, weight] of mix) {
        if ((x -= weight) < 0) {
          name = n;
          break;
        }
      }
      const close = i === sessionLength - 1 && r() < 0.4;
      ctx.counted();
      const fault = FAULT_OF[name];
      if (fault) ctx.tally.faults[fault] = (ctx.tally.faults[fault] ?? 0) + 1;
      const t0 = performance.now();
      const { step, desc } = await deadlined(ctx, () => w, async () => {
        if (!w) {
          try {
            w = await Wire.connect(ctx.port, ctx.tally.stats);
          } catch (e) {
            return { step: { outcome: "connect_failed" as Outcome, reusable: false, detail: String(e) }, desc: "connect" };
          }
        }
        return await runScenario(name, w, r, close, ctx);
      });
      if (step.outcome === "closed" && i > 0) step.outcome = "closed_reused";
      const where = i === 0 ? "new connection" : `request ${i + 1} on its connection, ${Math.round(t0 - lastDone)} ms after the previous response`;
      lastDone = performance.now();
      record(ctx, name, step, `${desc} (${where})`);
      if (TRACE) {
        process.stderr.write(
          `trace ${Math.round(performance.now())} loop ${index} ${name} ${step.outcome} ${Math.round(performance.now() - t0)}ms ${desc} (${where}) ${
            step.detail ?? ""
          }\n`,
        );
      }
      if (!step.reusable) {
        (w as Wire | null)?.destroy();
        w = null;
        break;
      }
    }
    if (w) {
      const wire: Wire = w;
      if (!ctx.stopped() && r() < 0.05) {
        // Leave the keep-alive connection idle: ferry must close it after its keepalive timeout.
        ctx.counted();
        const step = await idleWait(wire, ctx);
        record(ctx, "idle_keepalive", step, "idle keep-alive connection");
      } else if (r() < 0.5) {
        wire.socket.end();
        // Bounded: a connection ferry never closes is destroyed here and shows in ferry's fds.
        const timer = setTimeout(() => wire.destroy(), 5_000);
        wire.socket.once("close", () => clearTimeout(timer));
      } else wire.destroy();
    }
  }
}

/** Waits for ferry to close an idle keep-alive connection (its `keepalive` timeout). */
async function idleWait(w: Wire, ctx: ClientCtx): Promise<Step> {
  const bound = ctx.idleMs + 5_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let late = false;
  const t0 = performance.now();
  const extra = await Promise.race([
    w.pull(),
    new Promise<null>((r) => (timer = setTimeout(() => {
      late = true;
      r(null);
    }, bound))),
  ]);
  clearTimeout(timer);
  w.destroy();
  if (late) return { outcome: "idle_not_closed", reusable: false, detail: `still open ${bound} ms after its last response` };
  if (extra && extra.length) return { outcome: "malformed", reusable: false, detail: `${extra.length} unsolicited bytes on an idle connection` };
  return { outcome: "idle_closed", reusable: false, detail: `${Math.round(performance.now() - t0)} ms` };
}

/**
 * Runs one request under the client-side deadline: when it passes, the connection is destroyed
 * and the request counts as a hang whatever happens later.
 */
async function deadlined(
  ctx: ClientCtx,
  wire: () => Wire | null,
  fn: () => Promise<{ step: Step; desc: string }>,
): Promise<{ step: Step; desc: string }> {
  let hung = false;
  let hard: ReturnType<typeof setTimeout> | undefined;
  const before = wire()?.received ?? 0;
  let state = "";
  const timer = setTimeout(() => {
    hung = true;
    const w = wire();
    state = w ? `; ${w.received - before} bytes of response had arrived, connection ${w.eof ? "closed" : "open"}` : "; not connected";
    w?.destroy();
  }, ctx.deadlineMs);
  // A write to a connection ferry closed is a "closed"; anything else thrown is a bug here, and
  // is counted as a failure rather than hidden.
  const run = fn().catch((e) => {
    const message = e instanceof Error ? e.message : String(e);
    const closed = /^(closed|E[A-Z]+)$/.test(message) || /EPIPE|ECONNRESET|ended by the other party|write after end/i.test(message);
    return {
      step: {
        outcome: (closed ? "closed" : "malformed") as Outcome,
        reusable: false,
        detail: `client: ${closed ? message : e instanceof Error ? e.stack : e}`,
      },
      desc: "",
    };
  });
  // Destroying the connection settles every wait above; the second bound only guards this code.
  const result = await Promise.race([
    run,
    new Promise<null>((r) => (hard = setTimeout(() => r(null), ctx.deadlineMs + 5_000))),
  ]);
  clearTimeout(timer);
  clearTimeout(hard);
  if (hung || !result) {
    const desc = result?.desc ?? "(client did not settle)";
    return { step: { outcome: "hang", reusable: false, detail: `no outcome within ${ctx.deadlineMs} ms${state}` }, desc };
  }
  return result;
}

// ------------------------------------------------------------------------------------ the soak

function ferryConfig(servers: string[], idleMs: number): string {
  const idle = `${idleMs}ms`;
  return `log: { access: "off" }
listeners:
  - name: soak
    listen: "127.0.0.1:0"
    timeouts: { header: 5s, keepalive: ${idle}, send: 10s }
    backend: app
backends:
  app:
    balance: round_robin
    retries: 2
    retry_timeout: 6s
    passive: { max_fails: 2, fail_timeout: 2s }
    health: { type: http, path: /health, interval: 500ms, timeout: 500ms, fall: 1, rise: 2 }
    timeouts: { connect: 1s, response: 4s, idle: ${idle} }
    servers: [ ${servers.map((s) => `"${s}"`).join(", ")} ]
`;
}

const TRACE = process.env.SOAK_TRACE === "1";
const INTERNAL_ERROR_RE =
  /uncaught|unhandled|panic|TypeError|RangeError|ReferenceError|SyntaxError|AssertionError|is not a function|Cannot read prop|Maximum call stack/i;

function fmtMs(ms: number): string {
  return ms >= 60_000 ? `${(ms / 60_000).toFixed(ms % 60_000 ? 1 : 0)} min` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Polls ferry's fds and RSS every 250 ms. The fd figure is the minimum over the last second of
 * samples, so that a health check connection open at one instant does not count. Returns once
 * `done(fds, rss)` holds for a full window, or after `boundMs` with the last figures.
 */
async function settle(
  pid: number,
  boundMs: number,
  done: (fds: number, rssKiB: number, history: number[]) => boolean,
  signal?: AbortSignal,
): Promise<{ fds: number; rssKiB: number; waitedMs: number; settled: boolean }> {
  const t0 = performance.now();
  const window: number[] = [];
  const history: number[] = [];
  let rss = NaN;
  for (;;) {
    const s = sampleProc(pid);
    if (!s) return { fds: NaN, rssKiB: NaN, waitedMs: performance.now() - t0, settled: false };
    window.push(s.fds);
    if (window.length > 4) window.shift();
    rss = s.rssKiB;
    const fds = Math.min(...window);
    if (window.length === 4) {
      history.push(fds);
      if (done(fds, rss, history)) return { fds, rssKiB: rss, waitedMs: performance.now() - t0, settled: true };
    }
    if (performance.now() - t0 > boundMs || signal?.aborted) return { fds, rssKiB: rss, waitedMs: performance.now() - t0, settled: false };
    await pace(250);
  }
}

export async function runSoak(partial: Partial<SoakOptions> = {}): Promise<SoakReport> {
  const o: SoakOptions = { ...DEFAULTS, ...partial };
  const log = o.log ?? (() => {});
  const t0 = performance.now();
  const backendCmd = o.backendRuntime === "bun"
    ? [runtimeBinary("bun"), "bench/soak_backend.ts"]
    : [runtimeBinary("deno"), "run", "-A", "bench/soak_backend.ts"];
  const backendEnv: Record<string, string> = { NO_COLOR: "1", ...(o.sabotage ? { SOAK_SABOTAGE: o.sabotage } : {}) };
  const backends = Array.from({ length: o.backends }, (_, i) => new BackendProcess(`b${i + 1}`, backendCmd, backendEnv));
  const ferryArgv = o.ferry ?? ferryCommand();
  const ferryCmd = [realExecutable(ferryArgv[0]), ...ferryArgv.slice(1)];
  const ferryLabel = ferryArgv.map((a) => a.replace(REPO_ROOT, "")).join(" ");
  let ferry: Proc | null = null;
  const tally: Tally = { requests: 0, outcomes: {}, byScenario: {}, faults: {}, failureDetails: [], stats: { received: 0, sent: 0 } };
  const internalErrors: string[] = [];
  const errorKinds = new Map<string, number>();
  const samples: Sample[] = [];
  const timings = { warmup: 0, settleBefore: 0, traffic: 0, drain: 0, settleAfter: 0, total: 0 };
  let ferryExit = "running";
  let ferryExitedEarly = false;
  let probeAfter = "not run";
  let warmupRequests = 0;
  let pid = -1;
  const fds = { before: NaN, peak: NaN, after: NaN, tolerance: o.fdTolerance, settleMs: 0 };
  const rss = { before: NaN, peak: NaN, hwm: NaN, after: NaN, tolerance: 0 };
  const reasons: string[] = [];
  const fdsByKind: { before: Record<string, number>; after: Record<string, number> } = { before: {}, after: {} };
  let trafficStart = 0;

  try {
    log(`soak: starting ${o.backends} backends (${o.backendRuntime}) and ferry (${ferryLabel})`);
    await Promise.all(backends.map((b) => b.start()));
    const config = ferryConfig(backends.map((b) => b.address), o.idleMs);
    const file = writeTempFile("soak.yaml", config);
    try {
      ferry = new Proc(ferryCmd[0], [...ferryCmd.slice(1), "--config", file.path], {
        NO_COLOR: "1",
        PATH: `${join(REPO_ROOT, "node_modules", ".bin")}:${process.env.PATH ?? ""}`,
      });
      ferry.onStderrLine = (line) => {
        if (INTERNAL_ERROR_RE.test(line) && internalErrors.length < 20) internalErrors.push(line);
        const kind = line.replace(/\d+/g, "N").slice(0, 140);
        if (errorKinds.size < 500 || errorKinds.has(kind)) errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
      };
      const m = await ferry.waitLine(/^ferry: listener "soak" \(http\) listening on 127\.0\.0\.1:(\d+)$/, 20_000, "ferry");
      const port = Number(m[1]);
      pid = measuredPid(ferry.pid);
      const ferryProc = ferry;
      void ferryProc.exited.then((e) => {
        ferryExit = JSON.stringify(e);
      });

      // Traffic, shared by the warm-up and the soak proper.
      let stopFlag = false;
      let nextId = 1;
      let phaseRequests = 0;
      const ctx: ClientCtx = {
        port,
        cache: new RestCache(),
        tally,
        deadlineMs: o.deadlineMs,
        idleMs: o.idleMs,
        scenarios: o.scenarios,
        stopped: () => stopFlag || o.signal?.aborted === true || ferryProc.exit !== null,
        nextId: () => nextId++,
        counted: () => {
          tally.requests++;
          phaseRequests++;
        },
      };
      /** Runs the client loops for `ms`; `during` runs alongside and gets a promise of the stop. */
      const runTraffic = async (ms: number, seed: number, during?: (stopping: Promise<void>) => Promise<void>) => {
        stopFlag = false;
        let stop!: () => void;
        const stopping = new Promise<void>((r) => (stop = r));
        const loops = Array.from({ length: o.concurrency }, (_, i) => clientLoop(i, seed, ctx));
        const extra = during?.(stopping);
        await pace(ms, o.signal);
        stopFlag = true;
        stop();
        const drainStart = performance.now();
        await Promise.all(loops);
        const drainMs = performance.now() - drainStart;
        await extra;
        return { drainMs };
      };

      // 1. Warm-up: every kind of traffic, no kills, so JIT, pools and buffers are at their working size.
      if (o.warmupMs > 0) {
        log(`soak: warm-up ${fmtMs(o.warmupMs)}`);
        const w0 = performance.now();
        await runTraffic(o.warmupMs, o.seed + 1_000);
        timings.warmup = performance.now() - w0;
        warmupRequests = phaseRequests;
      }

      // 2. Before: wait until the idle pool and keep-alive connections from the warm-up are gone
      //    (fds unchanged for longer than the idle timeouts), then take the starting figures.
      if (o.measure) {
        const stableSamples = Math.ceil((o.idleMs + 1_000) / 250);
        const b = await settle(
          pid,
          o.settleBoundMs,
          (_f, _r, h) => h.length >= stableSamples && h.slice(-stableSamples).every((v) => v === h.at(-1)),
          o.signal,
        );
        timings.settleBefore = b.waitedMs;
        fds.before = b.fds;
        rss.before = b.rssKiB;
        rss.tolerance = Math.max(o.rssToleranceKiB, Math.round(rss.before * o.rssToleranceShare));
        fds.peak = b.fds;
        rss.peak = b.rssKiB;
        samples.push({ t: -1, fds: b.fds, rssKiB: b.rssKiB });
        fdsByKind.before = fdKinds(pid);
        log(`soak: before: ${fds.before} fds, RSS ${(rss.before / 1024).toFixed(1)} MiB (settled in ${fmtMs(b.waitedMs)})`);
      }

      // 3. The soak: traffic, backend kills, sampling.
      log(`soak: traffic for ${fmtMs(o.durationMs)}, ${o.concurrency} client loops, a backend killed every ${fmtMs(o.killEveryMs)}`);
      trafficStart = performance.now();
      phaseRequests = 0;
      // Aborted when the traffic stops (or on Ctrl-C), so the injector and sampler stop at once.
      const quit = new AbortController();
      o.signal?.addEventListener("abort", () => quit.abort(), { once: true });
      const injector = async () => {
        let k = 0;
        while (!quit.signal.aborted && o.killEveryMs > 0) {
          await pace(o.killEveryMs, quit.signal);
          if (quit.signal.aborted) break;
          const b = backends[k++ % backends.length];
          await b.kill9();
          tally.faults.backend_sigkill = (tally.faults.backend_sigkill ?? 0) + 1;
          // The restart comes after `downMs` even when the traffic stops meanwhile: all backends
          // are up again before the "after" figures.
          await pace(o.downMs);
          await b.start();
          tally.faults.backend_restart = (tally.faults.backend_restart ?? 0) + 1;
        }
      };
      const sampler = async () => {
        let lastLog = performance.now();
        while (!quit.signal.aborted) {
          await pace(1_000, quit.signal);
          const s = sampleProc(pid);
          if (!s) break;
          const t = performance.now() - trafficStart;
          samples.push({ t: Math.round(t), fds: s.fds, rssKiB: s.rssKiB });
          fds.peak = Number.isNaN(fds.peak) ? s.fds : Math.max(fds.peak, s.fds);
          rss.peak = Number.isNaN(rss.peak) ? s.rssKiB : Math.max(rss.peak, s.rssKiB);
          rss.hwm = s.hwmKiB;
          if (performance.now() - lastLog >= 15_000) {
            lastLog = performance.now();
            log(`soak: ${fmtMs(t)}: ${tally.requests} requests, ${JSON.stringify(tally.outcomes)}, ${s.fds} fds, RSS ${(s.rssKiB / 1024).toFixed(1)} MiB`);
          }
        }
      };
      const { drainMs } = await runTraffic(o.durationMs, o.seed, async (stopping) => {
        const inj = injector();
        const smp = sampler();
        await stopping;
        quit.abort();
        await Promise.all([inj, smp]);
      });
      timings.traffic = performance.now() - trafficStart - drainMs;
      timings.drain = drainMs;
      if (ferryProc.exit) {
        ferryExitedEarly = true;
        reasons.push(`ferry exited during the soak: ${JSON.stringify(ferryProc.exit)}; stderr: ${ferryProc.stderrTail.slice(-10).join(" | ")}`);
      }

      // 4. After: every connection's idle timer must have run out and closed it.
      const end = sampleProc(pid);
      if (end) rss.hwm = end.hwmKiB;
      if (o.measure && !ferryProc.exit) {
        log(`soak: traffic stopped; waiting for fds to settle (at most ${fmtMs(o.settleBoundMs)})`);
        // Done when fds are back at the start level, or within the tolerance and steady for longer
        // than the idle timeouts (nothing left to expire); RSS within its tolerance either way.
        const stableSamples = Math.ceil((o.idleMs + 1_000) / 250);
        const a = await settle(pid, o.settleBoundMs, (f, r, h) => {
          if (r > rss.before + rss.tolerance) return false;
          if (f <= fds.before) return true;
          return f <= fds.before + o.fdTolerance && h.length >= stableSamples && h.slice(-stableSamples).every((v) => v === f);
        }, o.signal);
        fdsByKind.after = fdKinds(pid);
        timings.settleAfter = a.waitedMs;
        fds.after = a.fds;
        fds.settleMs = Math.round(a.waitedMs);
        rss.after = a.rssKiB;
        samples.push({ t: Math.round(performance.now() - trafficStart), fds: a.fds, rssKiB: a.rssKiB });
      }

      // 5. Still serving? One plain request on a new connection (a dead accept loop shows here).
      if (!ferryProc.exit) {
        let pw: Wire | null = null;
        const { step } = await deadlined({ ...ctx, deadlineMs: 5_000 }, () => pw, async () => {
          pw = await Wire.connect(port, tally.stats);
          const spec: BodySpec = { id: ctx.nextId(), size: 1000, seed: 1, mode: "cl" };
          return { step: await getBody(pw, spec, "GET", true, ctx), desc: "probe" };
        });
        (pw as Wire | null)?.destroy();
        probeAfter = step.outcome === "ok" ? "ok" : `${step.outcome}${step.detail ? `: ${step.detail}` : ""}`;
        if (probeAfter !== "ok") reasons.push(`ferry did not answer a plain GET after the soak (${probeAfter})`);
      }
    } finally {
      if (ferry) {
        const e = await ferry.stop("SIGTERM", 15_000);
        if (!ferryExitedEarly) ferryExit = JSON.stringify(e);
      }
      file.cleanup();
    }
  } finally {
    await Promise.all(backends.map((b) => b.stop()));
  }

  timings.total = performance.now() - t0;
  const count = (k: Outcome) => tally.outcomes[k] ?? 0;
  const corrupted = count("corrupted");
  const hangs = count("hang") + count("idle_not_closed");
  const otherFailures = count("malformed") + count("unexpected_status") + count("connect_failed");
  if (corrupted > 0) reasons.push(`${corrupted} corrupted responses`);
  if (hangs > 0) reasons.push(`${hangs} hangs`);
  if (otherFailures > 0) {
    reasons.push(
      `${otherFailures} other failures (malformed ${count("malformed")}, unexpected status ${count("unexpected_status")}, connect failed ${
        count("connect_failed")
      })`,
    );
  }
  if (internalErrors.length > 0) reasons.push(`${internalErrors.length} internal error lines in ferry's stderr`);
  if (o.measure && !ferryExitedEarly && !o.signal?.aborted) {
    if (!(fds.after <= fds.before + o.fdTolerance)) reasons.push(`fds after ${fds.after} > before ${fds.before} + ${o.fdTolerance}`);
    if (!(rss.after <= rss.before + rss.tolerance)) {
      reasons.push(`RSS after ${(rss.after / 1024).toFixed(1)} MiB > before ${(rss.before / 1024).toFixed(1)} MiB + ${(rss.tolerance / 1024).toFixed(0)} MiB`);
    }
  }
  if (o.signal?.aborted) reasons.push("aborted");
  if (tally.requests === 0) reasons.push("no request was sent");

  return {
    ferry: ferryLabel,
    ferryPid: pid,
    backendRuntime: o.backendRuntime,
    options: {
      durationMs: o.durationMs,
      warmupMs: o.warmupMs,
      concurrency: o.concurrency,
      seed: o.seed,
      backends: o.backends,
      killEveryMs: o.killEveryMs,
      downMs: o.downMs,
      deadlineMs: o.deadlineMs,
    },
    requests: tally.requests,
    warmupRequests,
    outcomes: tally.outcomes,
    byScenario: tally.byScenario,
    faults: tally.faults,
    corrupted,
    hangs,
    otherFailures,
    failureDetails: tally.failureDetails,
    bytesReceived: tally.stats.received,
    bytesSent: tally.stats.sent,
    fds,
    fdsByKind,
    rssKiB: rss,
    samples,
    ferryExit,
    ferryExitedEarly,
    probeAfter,
    ferryErrorLines: [...errorKinds.values()].reduce((a, b) => a + b, 0),
    ferryErrorKinds: [...errorKinds.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8),
    internalErrors,
    timingsMs: Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v)])) as SoakReport["timingsMs"],
    aborted: o.signal?.aborted === true,
    ok: reasons.length === 0,
    reasons,
  };
}

export function formatReport(r: SoakReport): string {
  const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
  const lines: string[] = [];
  lines.push(
    `soak: ferry ${r.ferry} (pid ${r.ferryPid}), ${r.options.backends} backends on ${r.backendRuntime}, ${r.options.concurrency} client loops, seed ${r.options.seed}`,
  );
  lines.push(
    `  time: warm-up ${fmtMs(r.timingsMs.warmup)}, traffic ${fmtMs(r.timingsMs.traffic)} + drain ${fmtMs(r.timingsMs.drain)}, settle before ${
      fmtMs(r.timingsMs.settleBefore)
    } / after ${fmtMs(r.timingsMs.settleAfter)}, total ${fmtMs(r.timingsMs.total)}`,
  );
  lines.push(
    `  requests: ${r.requests} (${r.warmupRequests} in the warm-up), ${(r.bytesReceived / 2 ** 20).toFixed(0)} MiB received, ${
      (r.bytesSent / 2 ** 20).toFixed(0)
    } MiB sent`,
  );
  const outcomes = OUTCOMES.filter((k) => r.outcomes[k]).map((k) => `${k} ${r.outcomes[k]}`);
  lines.push(`  outcomes: ${outcomes.join(", ")}`);
  lines.push(`  faults: ${Object.entries(r.faults).sort().map(([k, v]) => `${k} ${v}`).join(", ")}`);
  lines.push(`  corrupted: ${r.corrupted}   hangs: ${r.hangs}   other failures: ${r.otherFailures}`);
  lines.push(`  fds: before ${r.fds.before}, peak ${r.fds.peak}, after ${r.fds.after} (tolerance +${r.fds.tolerance}, settled in ${fmtMs(r.fds.settleMs)})`);
  const kinds = [...new Set([...Object.keys(r.fdsByKind.before), ...Object.keys(r.fdsByKind.after)])].sort();
  const changed = kinds.filter((k) => (r.fdsByKind.before[k] ?? 0) !== (r.fdsByKind.after[k] ?? 0));
  if (changed.length) {
    lines.push(`    fds that changed: ${changed.map((k) => `${k} ${r.fdsByKind.before[k] ?? 0} -> ${r.fdsByKind.after[k] ?? 0}`).join(", ")}`);
  }
  lines.push(
    `  RSS: before ${mib(r.rssKiB.before)}, peak ${mib(r.rssKiB.peak)} (VmHWM ${mib(r.rssKiB.hwm)}), after ${mib(r.rssKiB.after)} (tolerance +${
      mib(r.rssKiB.tolerance)
    })`,
  );
  lines.push(
    `  ferry: a GET after the soak: ${r.probeAfter}; ${r.ferryErrorLines} error-log lines; exit ${r.ferryExit}${
      r.ferryExitedEarly ? " (DURING THE SOAK)" : ""
    }`,
  );
  for (const [kind, n] of r.ferryErrorKinds.slice(0, 5)) lines.push(`    ${String(n).padStart(6)} × ${kind}`);
  lines.push("  by scenario:");
  for (const [name, counts] of Object.entries(r.byScenario).sort()) {
    lines.push(`    ${name.padEnd(20)} ${Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  }
  for (const d of r.failureDetails) lines.push(`  FAILURE ${d}`);
  for (const e of r.internalErrors) lines.push(`  INTERNAL ${e}`);
  lines.push(r.ok ? "  verdict: PASS" : `  verdict: FAIL: ${r.reasons.join("; ")}`);
  return lines.join("\n");
}

// ------------------------------------------------------------------------------------ CLI

/** `3m`, `90s`, `1500ms`, `1m30s`, or a plain number of seconds. */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  let total = 0;
  let rest = t;
  const re = /^(\d+(?:\.\d+)?)(ms|s|m|h)/;
  if (!re.test(rest)) throw new Error(`invalid duration ${JSON.stringify(text)} (use 3m, 90s, 1500ms)`);
  while (rest) {
    const m = re.exec(rest);
    if (!m) throw new Error(`invalid duration ${JSON.stringify(text)} (use 3m, 90s, 1500ms)`);
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
    rest = rest.slice(m[0].length);
  }
  return Math.round(total);
}

function parseCount(text: string, what: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${what} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return n;
}

export function optionsFrom(argv: string[], env: Record<string, string | undefined>): Partial<SoakOptions> & { json?: boolean } {
  const values: Record<string, string> = {};
  const keys: Record<string, string> = {
    SOAK_DURATION: "duration",
    SOAK_CONCURRENCY: "concurrency",
    SOAK_SEED: "seed",
    SOAK_BACKENDS: "backends",
    FERRY_CMD: "ferry",
    SOAK_BACKEND_RUNTIME: "backend-runtime",
    SOAK_WARMUP: "warmup",
    SOAK_KILL_EVERY: "kill-every",
    SOAK_DOWN: "down",
    SOAK_DEADLINE: "deadline",
    SOAK_SABOTAGE: "sabotage",
    SOAK_SCENARIOS: "scenarios",
  };
  for (const [envKey, flag] of Object.entries(keys)) if (env[envKey]?.trim()) values[flag] = env[envKey]!.trim();
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--json") {
      json = true;
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m || !Object.values(keys).includes(m[1])) throw new Error(`unknown argument ${JSON.stringify(a)} (see the comment at the top of bench/soak.ts)`);
    const v = m[2] ?? argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    values[m[1]] = v;
  }
  const o: Partial<SoakOptions> & { json?: boolean } = { json };
  if (values.duration) o.durationMs = parseDuration(values.duration);
  if (values.warmup) o.warmupMs = parseDuration(values.warmup);
  if (values["kill-every"]) o.killEveryMs = parseDuration(values["kill-every"]);
  if (values.down) o.downMs = parseDuration(values.down);
  if (values.deadline) o.deadlineMs = parseDuration(values.deadline);
  if (values.concurrency) o.concurrency = parseCount(values.concurrency, "concurrency", 1, 256);
  if (values.seed) o.seed = parseCount(values.seed, "seed", 0, 2 ** 31);
  if (values.backends) o.backends = parseCount(values.backends, "backends", 1, 16);
  if (values.ferry) o.ferry = values.ferry.split(/\s+/);
  if (values.sabotage) o.sabotage = values.sabotage;
  if (values.scenarios) {
    o.scenarios = values.scenarios.split(",").map((x) => x.trim()).filter(Boolean);
    const unknown = o.scenarios.filter((x) => !SCENARIOS.some(([n]) => n === x));
    if (unknown.length || !o.scenarios.length) {
      throw new Error(`unknown scenario ${JSON.stringify(unknown.join(","))}; known: ${SCENARIOS.map(([n]) => n).join(", ")}`);
    }
  }
  if (values["backend-runtime"]) {
    if (values["backend-runtime"] !== "bun" && values["backend-runtime"] !== "deno") {
      throw new Error(`backend runtime must be bun or deno, got ${JSON.stringify(values["backend-runtime"])}`);
    }
    o.backendRuntime = values["backend-runtime"];
  }
  return o;
}

async function main(): Promise<number> {
  let opts: ReturnType<typeof optionsFrom>;
  try {
    opts = optionsFrom(process.argv.slice(2), process.env);
  } catch (e) {
    process.stderr.write(`soak: ${e instanceof Error ? e.message : e}\n`);
    return 2;
  }
  const controller = new AbortController();
  let interrupts = 0;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      if (++interrupts > 1) process.exit(130); // the exit handler kills every process by PID
      process.stderr.write(`\nsoak: ${sig}: stopping the traffic and every process (again to quit at once)\n`);
      controller.abort();
    });
  }
  const { json, ...options } = opts;
  const report = await runSoak({ ...options, signal: controller.signal, log: (l) => process.stdout.write(l + "\n") });
  process.stdout.write(formatReport(report) + "\n");
  if (json) process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  if (report.aborted) return 130;
  return report.ok ? 0 : 1;
}

if (import.meta.main) {
  main().then((code) => process.exit(code), (e) => {
    process.stderr.write(`soak: ${e instanceof Error ? e.stack ?? e.message : e}\n`);
    process.exit(1);
  });
}
