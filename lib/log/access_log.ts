/**
 * The access log: one line per HTTP request in the common log format (as nginx and Apache write
 * it) plus the upstream address and the duration in seconds, e.g.
 * `127.0.0.1 - - [03/Dec/2026:16:44:49 +0000] "GET / HTTP/1.1" 200 12 "127.0.0.1:9001" 0.002`.
 * Lines are batched and written once per event-loop turn, so logging costs one write per burst
 * rather than one per request.
 */
import { accessSync, appendFileSync, constants, statSync } from "node:fs";
import { dirname } from "node:path";
import process from "node:process";

export interface AccessEntry {
  clientIp: string;
  method: string;
  target: string;
  version: string;
  status: number;
  bytes: number;
  upstream: string | null;
  startMs: number;
  endMs: number;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `[03/Dec/2026:16:44:49 +0000]`, always UTC so lines sort and compare across hosts. */
export function clfDate(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

export function formatAccessLine(e: AccessEntry): string {
  // The request line is quoted in CLF; escape quotes and control bytes so a hostile target
  // cannot forge log lines.
  const req = `${e.method} ${e.target} ${e.version}`.replace(/["\\\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  const bytes = e.bytes > 0 ? String(e.bytes) : "-";
  const up = e.upstream ? `"${e.upstream}"` : "-";
  const secs = ((e.endMs - e.startMs) / 1000).toFixed(3);
  return `${e.clientIp} - - [${clfDate(e.endMs)}] "${req}" ${e.status} ${bytes} ${up} ${secs}`;
}

/**
 * A new log file is rw-r--r-- (as nginx creates them), further narrowed by the umask. Said
 * explicitly: Deno's node:fs creates files 0666 without applying the umask, so a log on a shared
 * host was writable by every local user, who could forge lines or fill the disk.
 */
const FILE_OPTIONS = { mode: 0o644 } as const;

/** A target that names a file, not a stream (`stdout`, `stderr`) or `off`. */
function isFileTarget(target: string): boolean {
  return target !== "stdout" && target !== "stderr" && target !== "off";
}

/**
 * Why the access log `target` could not be opened for appending, or null: the check `--check`
 * runs, without creating the file. A file that exists must be writable; one that does not yet
 * must have a writable directory to be created in.
 */
export function accessLogProblem(target: string): string | null {
  if (!isFileTarget(target)) return null;
  try {
    let exists = true;
    try {
      if (statSync(target).isDirectory()) return `cannot open access log "${target}": it is a directory`;
    } catch {
      exists = false;
    }
    accessSync(exists ? target : dirname(target), constants.W_OK);
    return null;
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === "ENOENT" ? `no such directory "${dirname(target)}"` : code === "EACCES" ? "permission denied" : (e as Error).message;
    return `cannot open access log "${target}": ${why}`;
  }
}

export class AccessLog {
  #target: string;
  #lines: string[] = [];
  #scheduled = false;

  /**
   * `target`: "stdout", "stderr", "off" or a file path (appended to, and opened anew for every
   * batch, so log rotation by renaming just works). A file that cannot be written is refused here,
   * at start-up, rather than reported once per request later.
   */
  constructor(target: string) {
    this.#target = target;
    if (target === "stdout") {
      // A closed stdout (`ferry | head -1`, a dead log collector) must not become one stack
      // trace per request: report it once and stop logging there.
      process.stdout.on("error", (e: Error) => this.#fail(e));
    } else if (isFileTarget(target)) {
      try {
        appendFileSync(target, "", FILE_OPTIONS);
      } catch (e) {
        throw new Error(`cannot open access log "${target}": ${(e as Error).message}`);
      }
    }
  }

  /** Where lines go, as configured. */
  get target(): string {
    return this.#target;
  }

  /** A file that could not be written: its lines are dropped until a write works again. */
  #failing = false;

  #fail(e: Error): void {
    if (this.#target === "off") return;
    this.#lines = [];
    if (this.#target === "stdout" || this.#target === "stderr") {
      // A closed stream does not come back.
      errorLog(`cannot write access log "${this.#target}": ${e.message}; access logging is off until the next reload (SIGHUP) or restart`);
      this.#target = "off";
      return;
    }
    // A file may come back (a full disk freed, a directory recreated): keep trying each batch,
    // report the failure once and the recovery once.
    if (!this.#failing) errorLog(`cannot write access log "${this.#target}": ${e.message}; dropping access log lines until it can be written again`);
    this.#failing = true;
  }

  get enabled(): boolean {
    return this.#target !== "off";
  }

  log(e: AccessEntry): void {
    if (this.#target === "off") return;
    this.#lines.push(formatAccessLine(e));
    if (!this.#scheduled) {
      this.#scheduled = true;
      setTimeout(() => this.flush(), 0);
    }
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#lines.length === 0) return;
    const text = this.#lines.join("\n") + "\n";
    this.#lines = [];
    try {
      if (this.#target === "stdout") process.stdout.write(text, (e) => e && this.#fail(e));
      else if (this.#target === "stderr") process.stderr.write(text);
      else {
        appendFileSync(this.#target, text, FILE_OPTIONS);
        if (this.#failing) errorLog(`access log "${this.#target}" can be written again`);
        this.#failing = false;
      }
    } catch (e) {
      this.#fail(e as Error);
    }
  }
}

/** Errors go to stderr, prefixed so they stand out from access lines. */
export function errorLog(message: string): void {
  try {
    process.stderr.write(`ferry: ${message}\n`);
  } catch { /* stderr closed: nowhere left to report */ }
}
