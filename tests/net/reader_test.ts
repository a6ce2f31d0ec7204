import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { BufReader, type HeadResult } from "../../lib/net/reader.ts";
import { FakeConn } from "../_helpers/fake_conn.ts";

/** A hung test fails instead of blocking the run (Bun has a 5 s default; Deno none). */
const T = { timeout: 15_000 };

const dec = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

/** A reader over a conn that delivers `chunks` then EOF. */
function readerOf(...chunks: string[]): BufReader {
  return new BufReader(new FakeConn().push(...chunks).pushEof());
}

/** Every way to cut `s` into two pieces, plus byte by byte. */
function splits(s: string): string[][] {
  const out: string[][] = [];
  for (let i = 1; i < s.length; i++) out.push([s.slice(0, i), s.slice(i)]);
  out.push([...s]);
  return out;
}

function headText(r: HeadResult): string {
  assert.ok(r.ok, `expected a head, got ${JSON.stringify(r)}`);
  return dec(r.head)!;
}

async function rest(r: BufReader): Promise<string> {
  let s = "";
  for (let c = await r.read(); c !== null; c = await r.read()) s += dec(c);
  return s;
}

const HEAD = "GET /a HTTP/1.1\r\nHost: example.com\r\nX-Long: 0123456789\r\n\r\n";

describe("BufReader.readHead()", () => {
  it("returns the head whole and leaves the following bytes, at every split point", T, async () => {
    const input = HEAD + "body bytes";
    for (const parts of splits(input)) {
      const r = readerOf(...parts);
      assert.equal(headText(await r.readHead(1024, 4096)), HEAD, `split ${JSON.stringify(parts.slice(0, 2))}`);
      assert.equal(await rest(r), "body bytes");
    }
  });

  it("counts skipped empty lines toward maxHead, so they cannot be fed for ever", T, async () => {
    const r = readerOf("\r\n".repeat(100) + "GET / HTTP/1.1\r\n\r\n");
    assert.deepEqual(await r.readHead(1024, 150), { ok: false, reason: "head_too_long" });
    const ok = readerOf("\r\n".repeat(10) + "GET / HTTP/1.1\r\n\r\n");
    assert.equal(headText(await ok.readHead(1024, 150)), "GET / HTTP/1.1\r\n\r\n");
  });

  it("skipEmptyLines: false keeps leading empty lines in the head (a response gets no leniency)", T, async () => {
    // The status-line parser then sees an empty first line and refuses the response.
    const r = readerOf("\r\nHTTP/1.1 200 OK\r\n\r\n");
    assert.equal(headText(await r.readHead(1024, 4096, { skipEmptyLines: false })), "\r\nHTTP/1.1 200 OK\r\n\r\n");
  });

  it("skipEmptyLines: false still tells a clean EOF from a truncated head", T, async () => {
    assert.deepEqual(await readerOf().readHead(1024, 4096, { skipEmptyLines: false }), { ok: false, reason: "eof" });
    const cut = await readerOf("HTTP/1.1 2").readHead(1024, 4096, { skipEmptyLines: false });
    assert.equal(cut.ok === false && cut.reason, "truncated");
  });

  it("keeps the head intact when the connection reuses its read buffer", T, async () => {
    // The second chunk lands where the first one was: the leftover must be copied before reading.
    const r = readerOf("GET / HTTP/1.1\r\nHo", "st: x\r\n\r\n");
    assert.equal(headText(await r.readHead(1024, 4096)), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  });

  it("reads pipelined heads one at a time", T, async () => {
    for (const parts of splits(HEAD + HEAD + "tail")) {
      const r = readerOf(...parts);
      assert.equal(headText(await r.readHead(1024, 4096)), HEAD);
      assert.equal(headText(await r.readHead(1024, 4096)), HEAD);
      assert.equal(await rest(r), "tail");
    }
  });

  it("skips leading empty lines (RFC 9112 §2.2), at every split point", T, async () => {
    for (const parts of splits("\r\n\r\n" + HEAD)) {
      const r = readerOf(...parts);
      assert.equal(headText(await r.readHead(1024, 4096)), HEAD);
      assert.equal(await r.readHead(1024, 4096).then((x) => x.ok ? "head" : x.reason), "eof");
    }
  });

  it("returns the head as a copy that survives later reads", T, async () => {
    const r = readerOf(HEAD, "x".repeat(100), "y".repeat(100));
    const res = await r.readHead(1024, 4096);
    assert.ok(res.ok);
    await rest(r);
    assert.equal(dec(res.head), HEAD);
  });

  it("reports eof when the peer closes before any byte (or only empty lines)", T, async () => {
    for (const chunks of [[], ["\r\n"], ["\r\n", "\r\n"]]) {
      const r = readerOf(...chunks);
      assert.deepEqual(await r.readHead(1024, 4096), { ok: false, reason: "eof" });
      assert.equal(r.eof, true);
    }
  });

  it("reports truncated with the partial head when EOF cuts a head short", T, async () => {
    const partial = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (const parts of splits(partial)) {
      const res = await readerOf(...parts).readHead(1024, 4096);
      assert.ok(!res.ok && res.reason === "truncated", JSON.stringify(res));
      assert.equal(dec(res.partial), partial);
    }
  });

  it("line_too_long: a first line over maxLine is rejected at every split point", T, async () => {
    const line = "GET /" + "a".repeat(20) + " HTTP/1.1"; // 34 bytes
    for (const parts of splits(line + "\r\nHost: a\r\n\r\n")) {
      assert.deepEqual(await readerOf(...parts).readHead(33, 4096), { ok: false, reason: "line_too_long" });
    }
    // ...also when it never ends.
    assert.deepEqual(await readerOf("x".repeat(100)).readHead(33, 4096), { ok: false, reason: "line_too_long" });
  });

  it("line_too_long: a first line of exactly maxLine bytes (CRLF not counted) is accepted", T, async () => {
    const line = "GET /" + "a".repeat(20) + " HTTP/1.1";
    for (const parts of splits(line + "\r\nHost: a\r\n\r\n")) {
      const res = await readerOf(...parts).readHead(line.length, 4096);
      assert.equal(headText(res), line + "\r\nHost: a\r\n\r\n");
    }
  });

  it("head_too_long: a head over maxHead is rejected at every split point, one of maxHead is accepted", T, async () => {
    for (const parts of splits(HEAD + "body")) {
      assert.deepEqual(await readerOf(...parts).readHead(1024, HEAD.length - 1), {
        ok: false,
        reason: "head_too_long",
      });
      assert.equal(headText(await readerOf(...parts).readHead(1024, HEAD.length)), HEAD);
    }
    // A head that never ends is cut off too, without waiting for EOF.
    const endless = new FakeConn().push("GET / HTTP/1.1\r\n", "A: b\r\n".repeat(100));
    assert.deepEqual(await new BufReader(endless).readHead(1024, 256), { ok: false, reason: "head_too_long" });
  });

  it("refuses a bare LF at once instead of waiting for a CRLF CRLF that never comes", T, async () => {
    const res = await readerOf("GET / HTTP/1.1\n\n").readHead(1024, 4096);
    assert.equal(res.ok ? "head" : res.reason, "malformed");
  });

  it("refuses a bare LF in a later field line, even split across reads", T, async () => {
    const res = await readerOf("GET / HTTP/1.1\r\nHost: a\r", "\nX: y\n", "Z: 1\r\n\r\n").readHead(1024, 4096);
    assert.equal(res.ok ? "head" : res.reason, "malformed");
  });

  it("refuses control bytes in the first line (a TLS ClientHello on a plain port)", T, async () => {
    const res = await readerOf("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03").readHead(1024, 4096);
    assert.equal(res.ok ? "head" : res.reason, "malformed");
  });

  it("refuses a bare CR in the first line whichever way the reads split it", T, async () => {
    for (const parts of [["GET /\rX"], ["GET /\r", "X"], ...splits("GET /\rX HTTP/1.1\r\n\r\n")]) {
      const res = await readerOf(...parts).readHead(1024, 4096);
      assert.equal(res.ok ? "head" : res.reason, "malformed", JSON.stringify(parts));
    }
  });

  it("refuses a bare CR in a later line at once, before any head end (it could keep one from coming)", T, async () => {
    const head = "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n";
    for (const parts of splits(head)) {
      // No EOF after the bytes: a reader that waited for CRLF CRLF would hang here.
      const r = new BufReader(new FakeConn().push(...parts));
      const res = await r.readHead(1024, 4096);
      assert.equal(res.ok ? "head" : res.reason, "malformed", JSON.stringify(parts));
    }
  });

  it("accepts a CR that ends a read while its LF is still on the way", T, async () => {
    const res = await readerOf("GET / HTTP/1.1\r", "\nHost: a\r\n\r\n").readHead(1024, 4096);
    assert.ok(res.ok);
  });
});

describe("BufReader.read() / take() / peek()", () => {
  it("read() returns buffered bytes first, then chunks, then null", T, async () => {
    const r = readerOf("HEAD\r\n\r\nab", "cd");
    assert.ok((await r.readHead(100, 100)).ok);
    assert.equal(r.buffered, 2);
    assert.equal(dec(r.peek()), "ab");
    assert.equal(dec(await r.read(1)), "a");
    assert.equal(dec(await r.read()), "b");
    assert.equal(dec(await r.read()), "cd");
    assert.equal(await r.read(), null);
    assert.equal(r.eof, true);
  });

  it("fill() appends to what is buffered", T, async () => {
    const r = readerOf("ab", "cd");
    assert.equal(await r.fill(), true);
    assert.equal(await r.fill(), true);
    assert.equal(dec(r.take(3)), "abc");
    assert.equal(dec(r.peek()), "d");
    assert.equal(await r.fill(), false);
    assert.equal(r.eof, false, "a byte is still buffered");
    r.take(1);
    assert.equal(r.eof, true);
  });

  it("read() passes a reset on", T, async () => {
    const r = new BufReader(new FakeConn().push("x").pushError(new Error("reset")));
    assert.equal(dec(await r.read()), "x");
    await assert.rejects(r.read(), /reset/);
  });
});

describe("BufReader.readHead() and the bytes after the head", () => {
  it("does not judge body bytes that arrive with the head (bare LF and control bytes are fine there)", T, async () => {
    const r = readerOf("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\n\x00\x16\n");
    const res = await r.readHead(1024, 4096);
    assert.ok(res.ok);
    assert.equal(r.buffered, 4);
  });
});

describe("BufReader with a read pending", () => {
  const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

  it("fill() calls made while a read is pending share it: one read, no bytes doubled", async () => {
    const conn = new FakeConn();
    const r = new BufReader(conn);
    const a = r.fill();
    const b = r.fill();
    conn.push("abc");
    assert.deepEqual(await Promise.all([a, b]), [true, true]);
    assert.equal(conn.readCalls, 1);
    assert.equal(text(r.take(r.buffered)), "abc");
  });

  it("bytes taken while a read is pending are not given again when it completes", async () => {
    const conn = new FakeConn();
    const r = new BufReader(conn);
    conn.push("head|body");
    await r.fill();
    r.take(5);
    const pending = r.fill();
    const body = text(r.take(4));
    conn.push("next");
    await pending;
    assert.equal(body, "body");
    assert.equal(text(r.take(r.buffered)), "next");
  });
});
