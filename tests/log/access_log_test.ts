import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import process from "node:process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AccessEntry, AccessLog, clfDate, formatAccessLine } from "../../lib/log/access_log.ts";

// 2026-12-03T16:44:49.250Z
const END = Date.UTC(2026, 11, 3, 16, 44, 49, 250);

const ENTRY: AccessEntry = {
  clientIp: "127.0.0.1",
  method: "GET",
  target: "/",
  version: "HTTP/1.1",
  status: 200,
  bytes: 12,
  upstream: "127.0.0.1:9001",
  startMs: END - 2,
  endMs: END,
};

test("clfDate() formats a time in UTC the common log way", () => {
  assert.equal(clfDate(END), "03/Dec/2026:16:44:49 +0000");
  assert.equal(clfDate(Date.UTC(2025, 0, 5, 3, 4, 5)), "05/Jan/2025:03:04:05 +0000");
  assert.equal(clfDate(Date.UTC(1999, 11, 31, 23, 59, 59, 999)), "31/Dec/1999:23:59:59 +0000");
});

test("formatAccessLine() writes the documented line exactly", () => {
  assert.equal(
    formatAccessLine(ENTRY),
    `127.0.0.1 - - [03/Dec/2026:16:44:49 +0000] "GET / HTTP/1.1" 200 12 "127.0.0.1:9001" 0.002`,
  );
});

test("formatAccessLine() writes - for no body bytes and no upstream", () => {
  assert.equal(
    formatAccessLine({ ...ENTRY, status: 404, bytes: 0, upstream: null, startMs: END, endMs: END }),
    `127.0.0.1 - - [03/Dec/2026:16:44:49 +0000] "GET / HTTP/1.1" 404 - - 0.000`,
  );
});

test("formatAccessLine() writes the duration in seconds with three decimals", () => {
  assert.match(formatAccessLine({ ...ENTRY, startMs: END - 61_234 }), / 61\.234$/);
  assert.match(formatAccessLine({ ...ENTRY, startMs: END - 1_500 }), / 1\.500$/);
});

test("formatAccessLine() writes an unparsed request as dashes", () => {
  assert.equal(
    formatAccessLine({ ...ENTRY, method: "-", target: "-", version: "-", status: 400, bytes: 0, upstream: null }),
    `127.0.0.1 - - [03/Dec/2026:16:44:49 +0000] "- - -" 400 - - 0.002`,
  );
});

test("formatAccessLine() escapes quotes and backslashes in the request line", () => {
  const line = formatAccessLine({ ...ENTRY, target: `/a"b\\c` });
  assert.match(line, / "GET \/a\\x22b\\x5cc HTTP\/1\.1" 200 /);
  // Exactly two unescaped quotes around the request line, then the upstream's.
  assert.equal(line.split('"').length - 1, 4);
});

test("formatAccessLine() escapes control bytes so a request cannot forge a log line", () => {
  const line = formatAccessLine({ ...ENTRY, method: "G\tET", target: "/x\r\n127.0.0.1 - - [fake] \"GET /\x00\x1b[31m\x7f" });
  // deno-lint-ignore no-control-regex -- looking for control characters is the point
  assert.ok(!/[\x00-\x1f\x7f]/.test(line), JSON.stringify(line));
  assert.ok(line.includes(`"G\\x09ET /x\\x0d\\x0a127.0.0.1 - - [fake] \\x22GET /\\x00\\x1b[31m\\x7f HTTP/1.1"`), line);
});

test("formatAccessLine() keeps printable non-ASCII bytes as they are", () => {
  assert.match(formatAccessLine({ ...ENTRY, target: "/caf\xe9" }), /"GET \/caf\xe9 HTTP\/1\.1"/);
});

test("AccessLog off is disabled and writes nothing", () => {
  const log = new AccessLog("off");
  assert.equal(log.enabled, false);
  log.log(ENTRY);
  log.flush();
});

test("AccessLog appends one line per entry to a file, batched per event-loop turn", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ferry-access-log-"));
  try {
    const path = join(dir, "access.log");
    const log = new AccessLog(path);
    assert.equal(log.enabled, true);
    log.log(ENTRY);
    log.log({ ...ENTRY, status: 502, bytes: 0, upstream: null });
    await new Promise((r) => setTimeout(r, 5));
    const expected = formatAccessLine(ENTRY) + "\n" + formatAccessLine({ ...ENTRY, status: 502, bytes: 0, upstream: null }) + "\n";
    assert.equal(readFileSync(path, "utf8"), expected);
    log.log({ ...ENTRY, target: "/second" });
    log.flush();
    assert.ok(readFileSync(path, "utf8").endsWith('"GET /second HTTP/1.1" 200 12 "127.0.0.1:9001" 0.002\n'));
    await new Promise((r) => setTimeout(r, 5));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("AccessLog keeps trying a file it could not write, and writes again once it can", () => {
  const dir = mkdtempSync(join(tmpdir(), "ferry-access-log-"));
  const sub = join(dir, "logs");
  const path = join(sub, "access.log");
  const stderr: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => (stderr.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    mkdirSync(sub);
    const log = new AccessLog(path);
    rmSync(sub, { recursive: true });
    log.log({ ...ENTRY, target: "/lost-1" });
    log.flush();
    log.log({ ...ENTRY, target: "/lost-2" });
    log.flush();
    assert.equal(stderr.filter((l) => l.includes("cannot write access log")).length, 1, stderr.join(""));
    assert.equal(log.enabled, true);
    mkdirSync(sub);
    log.log({ ...ENTRY, target: "/back" });
    log.flush();
    assert.match(readFileSync(path, "utf8"), /"GET \/back HTTP\/1\.1"/);
    assert.ok(stderr.some((l) => l.includes("can be written again")), stderr.join(""));
  } finally {
    process.stderr.write = write;
    rmSync(dir, { recursive: true, force: true });
  }
});
