/**
 * Strict message parsing through a live ferry, both directions, on raw bytes (issue 4,
 * "Hardening"): every request form ferry must refuse gets 400 (or 501) and reaches no backend;
 * every response form it must refuse gets 502 with nothing of the bad response; a request body
 * that breaks mid-way leaves the backend an unfinished message on a closed connection; a response
 * that breaks or is cut after its head went out aborts the client connection, which then carries
 * no pipelined request; 1xx are relayed as interim, a 101 only when asked for; and request
 * targets reach the backend byte for byte. One ferry and one raw backend serve every case.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type net from "node:net";
import { type BaseBackend, type ConnRecord, rawBackend } from "../_helpers/backends.ts";
import { type Ferry, ferryLabel, ferryRuntime, startFerry } from "../_helpers/ferry.ts";
import { connectRaw, header, preview, type RawClient, request, Watch } from "../_helpers/raw_http.ts";

const bytes = (s: string) => Buffer.from(s, "latin1");
const text = (b: Buffer) => b.toString("latin1");

// ------------------------------------------------------------------ requests ferry must refuse

/** Raw requests that must get `status` (400 unless said) and reach no backend. Each carries "smuggle", made unique per case. */
const BAD_REQUESTS: [name: string, raw: string, status?: number][] = [
  // Framing (RFC 9112 §6.1, §6.3; RFC 9110 §8.6).
  ["CL + TE", "POST /smuggle HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggle-2 HTTP/1.1\r\nHost: a\r\n\r\n"],
  ["TE + CL", "POST /smuggle HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"],
  ["differing CL", "POST /smuggle HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"],
  ...["+5", "-1", "5 5", "0x5", "", "1234567890123456", "5,6", "5\xa0"].map((v): [string, string] => [
    `Content-Length: ${JSON.stringify(v)}`,
    `POST /smuggle HTTP/1.1\r\nHost: a\r\nContent-Length: ${v}\r\n\r\nhello`,
  ]),
  ...["gzip", "chunked, gzip", "chunked;q=1", "identity", "chunked, chunked", "chunked\xa0", '"chunked"'].map((v): [string, string] => [
    `Transfer-Encoding: ${JSON.stringify(v)}`,
    `POST /smuggle HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ${v}\r\n\r\n0\r\n\r\n`,
  ]),
  ["Transfer-Encoding: chunked twice", "POST /smuggle HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"],
  ["a coding before chunked (501)", "POST /smuggle HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501],
  ["Transfer-Encoding on HTTP/1.0", "POST /smuggle HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"],
  ["Transfer-Encoding on HTTP/1.0 with Host", "POST /smuggle HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"],
  // Field lines (RFC 9112 §5.1, §5.2, §2.2; RFC 9110 §5.5, §5.6.2).
  ["space before the colon", "GET /smuggle HTTP/1.1\r\nHost: a\r\nContent-Length : 0\r\n\r\n"],
  ["tab before the colon", "GET /smuggle HTTP/1.1\r\nHost\t: a\r\n\r\n"],
  ["obs-fold (SP)", "GET /smuggle HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n"],
  ["obs-fold (HTAB)", "GET /smuggle HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n"],
  ["obs-fold of the first field", "GET /smuggle HTTP/1.1\r\n Host: a\r\n\r\n"],
  ["bare CR in a value", "GET /smuggle HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n"],
  ["bare CR as a line end", "GET /smuggle HTTP/1.1\r\nHost: a\rX-A: b\r\n\r\n"],
  ["a bare CR where the head should end", "GET /smuggle HTTP/1.1\r\nHost: a\r\n\r\r\n"],
  ["bare LF as a line end", "GET /smuggle HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n"],
  ["bare LF head", "GET /smuggle HTTP/1.1\nHost: a\n\n"],
  ...["\x00", "\x01", "\x0b", "\x1b", "\x1f", "\x7f"].map((c): [string, string] => [
    `control byte ${JSON.stringify(c)} in a value`,
    `GET /smuggle HTTP/1.1\r\nHost: a\r\nX-A: b${c}c\r\n\r\n`,
  ]),
  ...["a b", "a@b", "(x)", "", "caf\xe9", "a\x00b", "a;b"].map((n): [string, string] => [
    `field name ${JSON.stringify(n)}`,
    `GET /smuggle HTTP/1.1\r\nHost: a\r\n${n}: v\r\n\r\n`,
  ]),
  ["a field line without a colon", "GET /smuggle HTTP/1.1\r\nHost: a\r\nX-A\r\n\r\n"],
  // Host (RFC 9112 §3.2, §3.2.2).
  ["no Host on HTTP/1.1", "GET /smuggle HTTP/1.1\r\nX-A: b\r\n\r\n"],
  ["two different Hosts", "GET /smuggle HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"],
  ["the same Host twice", "GET /smuggle HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"],
  ["Host twice on HTTP/1.0", "GET /smuggle HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"],
  ["a comma in Host", "GET /smuggle HTTP/1.1\r\nHost: a,b\r\n\r\n"],
  ["absolute-form authority other than Host", "GET http://a/smuggle HTTP/1.1\r\nHost: b\r\n\r\n"],
  ["absolute-form port other than Host's", "GET http://a:81/smuggle HTTP/1.1\r\nHost: a:82\r\n\r\n"],
  ["absolute-form without Host on HTTP/1.1", "GET http://a/smuggle HTTP/1.1\r\n\r\n"],
  // Request line (RFC 9112 §3).
  ["double space", "GET  /smuggle HTTP/1.1\r\nHost: a\r\n\r\n"],
  ["double space before the version", "GET /smuggle  HTTP/1.1\r\nHost: a\r\n\r\n"],
  ["leading space", " GET /smuggle HTTP/1.1\r\nHost: a\r\n\r\n"],
  ["trailing space", "GET /smuggle HTTP/1.1 \r\nHost: a\r\n\r\n"],
  ["tab instead of space", "GET\t/smuggle\tHTTP/1.1\r\nHost: a\r\n\r\n"],
  ["missing version", "GET /smuggle\r\nHost: a\r\n\r\n"],
  ["lowercase version", "GET /smuggle http/1.1\r\nHost: a\r\n\r\n"],
  ["HTTP/1.1x", "GET /smuggle HTTP/1.1x\r\nHost: a\r\n\r\n"],
  ["NUL in the target", "GET /smuggle\x00 HTTP/1.1\r\nHost: a\r\n\r\n"],
  ["a fragment in the target", "GET /smuggle#x HTTP/1.1\r\nHost: a\r\n\r\n"],
  ["non-ASCII in the target", "GET /smuggle\xfc HTTP/1.1\r\nHost: a\r\n\r\n"],
  // RFC 3986 §3.3 leaves these out of a path; backends read them differently ("\" as "/").
  ...["\\", '"', "<", ">", "^", "`", "{", "|", "}"].map((c): [string, string] => [
    `${JSON.stringify(c)} in the path`,
    `GET /smuggle/x${c}..${c}admin HTTP/1.1\r\nHost: a\r\n\r\n`,
  ]),
];

/**
 * Chunked request bodies that break after the head (and `valid`) went upstream: the client gets
 * 400, the backend keeps exactly head + `valid` (a message it cannot complete) and sees its
 * connection closed; nothing of `bad` reaches it, least of all a request smuggled inside.
 */
const BAD_REQUEST_BODIES: [name: string, valid: string, bad: string][] = [
  ["a first chunk size that is not hex", "", "zz\r\nhello\r\n0\r\n\r\n"],
  ...["+a", "-1", "0x10", "g", " 5", "5 ", "ffffffffffffffff", "10000000000000000"].map((size): [string, string, string] => [
    `chunk size ${JSON.stringify(size)} after a chunk`,
    "5\r\nhello\r\n",
    `${size}\r\nhello\r\n0\r\n\r\n`,
  ]),
  ["a chunk size line with a bare LF", "5\r\nhello\r\n", "0\n\r\n"],
  ["a chunk size line with a bare CR", "5\r\nhello\r\n", "0\r;x\r\n\r\n"],
  ["chunk data without CRLF", "5\r\nhello", "X\r\n0\r\n\r\n"],
  ["chunk data ended by a bare LF", "5\r\nhello", "\n0\r\n\r\n"],
  ["a request smuggled after a bad last chunk", "5\r\nhello\r\n", "0x0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"],
  ["an invalid trailer field", "5\r\nhello\r\n", "0\r\nBad Name: x\r\n\r\n"],
  // RFC 9110 §6.5.1: framing and routing fields may not be trailers.
  ...["Host: evil", "Content-Length: 5", "Transfer-Encoding: chunked", "Authorization: x"].map((t): [string, string, string] => [
    `a trailer ${JSON.stringify(t)}`,
    "5\r\nhello\r\n",
    `0\r\n${t}\r\n\r\n`,
  ]),
];

// ------------------------------------------------------------------ responses ferry must refuse

/** The start of every bad response: what must never reach the client is marked LEAK. */
const OK_LEAK = "HTTP/1.1 200 OK\r\nX-Leak: 1\r\n";

/** Raw responses answered with 502, nothing of them sent on (each one written at once, then FIN). */
const BAD_RESPONSES: [name: string, raw: string][] = [
  ["CL + TE", OK_LEAK + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nLEAK\r\n0\r\n\r\n"],
  ["TE + CL", OK_LEAK + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n4\r\nLEAK\r\n0\r\n\r\n"],
  ["differing CL", OK_LEAK + "Content-Length: 4\r\nContent-Length: 5\r\n\r\nLEAK!"],
  ...["+4", "-1", "4 4", "0x4", "", "1234567890123456", "4,5", "4\xa0"].map((v): [string, string] => [
    `Content-Length: ${JSON.stringify(v)}`,
    OK_LEAK + `Content-Length: ${v}\r\n\r\nLEAK`,
  ]),
  ...["gzip", "chunked, gzip", "chunked;q=1", "identity", "chunked, chunked", "gzip, chunked", "chunked\xa0"].map((v): [string, string] => [
    `Transfer-Encoding: ${JSON.stringify(v)}`,
    OK_LEAK + `Transfer-Encoding: ${v}\r\n\r\n4\r\nLEAK\r\n0\r\n\r\n`,
  ]),
  ["Transfer-Encoding: chunked twice", OK_LEAK + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nLEAK\r\n0\r\n\r\n"],
  ["Transfer-Encoding on HTTP/1.0", "HTTP/1.0 200 OK\r\nX-Leak: 1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nLEAK\r\n0\r\n\r\n"],
  ["space before the colon", OK_LEAK + "Content-Length : 4\r\n\r\nLEAK"],
  ["obs-fold", OK_LEAK + "X-A: b\r\n c\r\nContent-Length: 4\r\n\r\nLEAK"],
  ["bare CR in a value", OK_LEAK + "X-A: b\rc\r\nContent-Length: 4\r\n\r\nLEAK"],
  ["bare LF as a line end", OK_LEAK + "X-A: b\nContent-Length: 4\r\n\r\nLEAK"],
  ...["\x00", "\x08", "\x1f", "\x7f"].map((c): [string, string] => [
    `control byte ${JSON.stringify(c)} in a value`,
    OK_LEAK + `X-A: b${c}c\r\nContent-Length: 4\r\n\r\nLEAK`,
  ]),
  ...["a b", "a@b", "(x)", "", "caf\xe9"].map((n): [string, string] => [
    `field name ${JSON.stringify(n)}`,
    OK_LEAK + `${n}: v\r\nContent-Length: 4\r\n\r\nLEAK`,
  ]),
  ["double space in the status line", "HTTP/1.1  200 OK\r\nX-Leak: 1\r\nContent-Length: 4\r\n\r\nLEAK"],
  ["lowercase version", "http/1.1 200 OK\r\nX-Leak: 1\r\nContent-Length: 4\r\n\r\nLEAK"],
  ["four-digit status", "HTTP/1.1 2000 OK\r\nX-Leak: 1\r\nContent-Length: 4\r\n\r\nLEAK"],
  ["HTTP/2 status line", "HTTP/2 200 OK\r\nX-Leak: 1\r\nContent-Length: 4\r\n\r\nLEAK"],
  ["leading space before the status line", " HTTP/1.1 200 OK\r\nX-Leak: 1\r\nContent-Length: 4\r\n\r\nLEAK"],
  // RFC 9112 §2.2 lets a server skip empty lines before a request-line, not a client before a
  // status-line: skipping them would let a server feed any number of them.
  ["an empty line before the status line", "\r\nHTTP/1.1 200 OK\r\nX-Leak: 1\r\nContent-Length: 4\r\n\r\nLEAK"],
  // RFC 9110 §15: 100 to 599 only.
  ["status 600", "HTTP/1.1 600 OK\r\nX-Leak: 1\r\nContent-Length: 4\r\n\r\nLEAK"],
  ["status 999", "HTTP/1.1 999 OK\r\nX-Leak: 1\r\nContent-Length: 4\r\n\r\nLEAK"],
  // The first chunk-size line is checked before the head goes out (it is sent with the first
  // body bytes), so these are clean 502s too.
  ...["+a", "-1", "0x10", "g", " 5", "5 ", "ffffffffffffffff", "10000000000000000", "5\n"].map((size): [string, string] => [
    `first chunk size ${JSON.stringify(size)}`,
    OK_LEAK + `Transfer-Encoding: chunked\r\n\r\n${size}\r\nLEAK5\r\n0\r\n\r\n`,
  ]),
  ["101 nobody asked for", "HTTP/1.1 101 Switching Protocols\r\nX-Leak: 1\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nLEAK"],
];

/**
 * Responses that go wrong after their head (with `sent` of the body) reached the client: the
 * backend writes `sent`, waits until the client has it, writes `rest`, then FIN. The client gets
 * exactly head + `body` (`sent` without a held-back last chunk) and then the end of the
 * connection: never the declared length, never a whole chunked body.
 */
const CUT_RESPONSES: [name: string, sent: string, rest: string, body: string][] = [
  ["fewer bytes than Content-Length", "Content-Length: 10\r\n\r\nLEAK5", "", "LEAK5"],
  ["chunked without the last chunk", "Transfer-Encoding: chunked\r\n\r\n5\r\nLEAK5\r\n", "", "5\r\nLEAK5\r\n"],
  ["EOF after the last chunk", "Transfer-Encoding: chunked\r\n\r\n5\r\nLEAK5\r\n0\r\n", "", "5\r\nLEAK5\r\n"],
  ["EOF inside the trailer section", "Transfer-Encoding: chunked\r\n\r\n5\r\nLEAK5\r\n0\r\nX-T: 1\r\n", "", "5\r\nLEAK5\r\n"],
  ["a bad chunk size mid-body", "Transfer-Encoding: chunked\r\n\r\n5\r\nLEAK5\r\n", "zz\r\n0\r\n\r\n", "5\r\nLEAK5\r\n"],
  ["a chunk size overflow mid-body", "Transfer-Encoding: chunked\r\n\r\n5\r\nLEAK5\r\n", "ffffffffffffffff\r\nx\r\n0\r\n\r\n", "5\r\nLEAK5\r\n"],
  ["chunk data without CRLF", "Transfer-Encoding: chunked\r\n\r\n5\r\nLEAK5", "X\r\n0\r\n\r\n", "5\r\nLEAK5"],
  ["chunk data ended by a bare LF", "Transfer-Encoding: chunked\r\n\r\n5\r\nLEAK5", "\n0\r\n\r\n", "5\r\nLEAK5"],
  ["an invalid trailer field", "Transfer-Encoding: chunked\r\n\r\n5\r\nLEAK5\r\n0\r\n", "Bad Name: x\r\n\r\n", "5\r\nLEAK5\r\n"],
  ["a Content-Length trailer", "Transfer-Encoding: chunked\r\n\r\n5\r\nLEAK5\r\n0\r\n", "Content-Length: 50\r\n\r\n", "5\r\nLEAK5\r\n"],
  ["a Set-Cookie trailer", "Transfer-Encoding: chunked\r\n\r\n5\r\nLEAK5\r\n0\r\n", "Set-Cookie: a=b\r\n\r\n", "5\r\nLEAK5\r\n"],
];

/** Request targets that must reach the backend exactly as sent (routing normalises its own copy only). */
const TARGETS: [sent: string, forwarded: string][] = [
  ["/a/../b", "/a/../b"],
  ["/%2e%2e/", "/%2e%2e/"],
  ["/%2E%2E/%2f/x", "/%2E%2E/%2f/x"],
  ["//x", "//x"],
  ["/./x/.", "/./x/."],
  ["/a?b=%20&c", "/a?b=%20&c"],
  ["/%C3%BC?%c3%bc=%FF", "/%C3%BC?%c3%bc=%FF"],
  ["/?", "/?"],
  ["/a??b?&", "/a??b?&"],
  ["/a;p=1,2/b+c", "/a;p=1,2/b+c"],
  ["/q?" + "k=%20v&".repeat(1000), "/q?" + "k=%20v&".repeat(1000)],
  ["http://a/x/../y?z=%2F", "/x/../y?z=%2F"],
  // The scheme's default port names the same origin as Host without one (RFC 9110 §4.2.3).
  ["http://a:80/default-port", "/default-port"],
  // Query characters outside RFC 3986 that clients do send raw (JSON in a query) pass.
  ['/q?json={"a":[1,2]}|x^`', '/q?json={"a":[1,2]}|x^`'],
];

describe(`strict HTTP parsing, both directions (${ferryLabel()})`, () => {
  let backend: BaseBackend;
  /** Keep-alive backend whose first answer on each connection has a second response stuck to its end. */
  let smuggler: BaseBackend;
  let ferry: Ferry;
  let port: number;
  /** Request heads the backend read, in order (request line, whole head). */
  const seen: { line: string; head: string; conn: number }[] = [];
  /** Scripted responses by name (request target `/r/NAME`). */
  /** `/r/KEY` answers: `sent`, then (after `gate`) `rest`, then FIN, or a reset with `reset`. */
  const scripts = new Map<string, { sent: string; rest?: string; gate?: Promise<void>; reset?: boolean }>();

  before(async () => {
    backend = await rawBackend(async (conn, self) => {
      for (;;) {
        if (await conn.reader.atEof()) return;
        const head = text(await conn.reader.readUntil("\r\n\r\n"));
        const line = head.slice(0, head.indexOf("\r\n"));
        seen.push({ line, head, conn: conn.id });
        self.watch.notify();
        const target = line.split(" ")[1] ?? "";
        // A request body that will break: read no further, ferry must close the connection.
        if (target.startsWith("/mid/")) return;
        const script = target.startsWith("/r/") ? scripts.get(decodeURIComponent(target.slice(3))) : undefined;
        if (!script) {
          conn.socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
          continue;
        }
        conn.socket.write(bytes(script.sent));
        if (script.gate) {
          await script.gate;
          if (script.rest) conn.socket.write(bytes(script.rest));
        }
        if (script.reset) conn.socket.resetAndDestroy();
        else conn.socket.end();
        return;
      }
    });
    smuggler = await rawBackend(async (conn) => {
      let first = true;
      while (!(await conn.reader.atEof())) {
        await conn.reader.readUntil("\r\n\r\n");
        conn.socket.write(first ? "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled" : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        first = false;
      }
    });
    ferry = await startFerry(`
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - { path: /smuggle, backend: smuggler }
    backend: app
backends:
  app:
    servers: [ "${backend.address}" ]
    passive: { max_fails: 0 }
  smuggler:
    servers: [ "${smuggler.address}" ]
`);
    port = ferry.ports.web;
  });

  after(async () => {
    await ferry?.stop();
    await backend?.close();
    await smuggler?.close();
  });

  /** Every byte the backend received so far, all connections. */
  const allReceived = () => backend.connections.map((c) => text(c.received())).join("\n---\n");

  /** A normal request, answered by the backend: ferry has handled everything sent before it on other connections. */
  async function sync(tag: string): Promise<void> {
    const c = await connectRaw(port);
    try {
      await c.send(`GET /sync/${tag} HTTP/1.1\r\nHost: a\r\n\r\n`);
      const res = await c.response();
      assert.equal(res.status, 200, `sync ${tag}: ${preview(res.raw)}`);
      assert.equal(res.body.toString(), "ok");
    } finally {
      c.close();
    }
  }

  // ---------------------------------------------------------------- requests

  for (const [i, [name, template, status = 400]] of BAD_REQUESTS.entries()) {
    it(`answers a request with ${name} with ${status}, closes, and forwards nothing`, { timeout: 10_000 }, async () => {
      // A marker of its own, so that a leak fails this case and no other.
      const marker = `smuggle${i}x`;
      const raw = template.replaceAll("smuggle", marker);
      assert.ok(raw.includes(marker), "the case must carry the marker");
      const c = await connectRaw(port);
      try {
        await c.send(raw);
        const res = await c.response();
        assert.equal(res.status, status, `${JSON.stringify(raw)} got ${preview(res.raw)}`);
        assert.equal(res.body.toString(), `${status} ${status === 400 ? "Bad Request" : "Not Implemented"}\n`);
        assert.equal((await c.readToEnd()).length, 0, "more bytes after the error page, or the connection stayed open");
      } finally {
        c.close();
      }
      // Refused before routing: no connection was made for it, so none can be in flight.
      assert.ok(!allReceived().includes(marker), `the backend received:\n${allReceived()}`);
    });
  }

  it("forwarded none of the refused requests (checked after a request the backend answered)", { timeout: 10_000 }, async () => {
    await sync("after-bad-requests");
    assert.ok(seen.some((s) => s.line === "GET /sync/after-bad-requests HTTP/1.1"));
    assert.ok(!allReceived().includes("smuggle"), `the backend received:\n${allReceived()}`);
  });

  for (const [i, [name, valid, bad]] of BAD_REQUEST_BODIES.entries()) {
    it(`answers ${name} in a chunked request body with 400 and leaves the backend an unfinished message`, { timeout: 10_000 }, async () => {
      const target = `/mid/${i}`;
      const head = `POST ${target} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n`;
      const c = await connectRaw(port);
      try {
        await c.send(head + valid);
        // The head and the good part reached the backend before the bad part is even sent.
        const carrier = () => backend.connections.find((conn) => text(conn.received()).includes(`POST ${target} `));
        const upstream = () => {
          const all = text(carrier()!.received());
          return all.slice(all.indexOf(`POST ${target} `));
        };
        await backend.until(
          () => carrier() !== undefined && upstream().includes("\r\n\r\n") && upstream().endsWith("\r\n\r\n" + valid),
          () => `head and ${JSON.stringify(valid)} at the backend (got ${JSON.stringify(carrier() && upstream())})`,
        );
        await c.send(bad);
        const res = await c.response("POST");
        assert.equal(res.status, 400, preview(res.raw));
        assert.equal((await c.readToEnd()).length, 0, "connection not closed after 400");
        const conn: ConnRecord = carrier()!;
        await backend.until(() => conn.gotEnd, "ferry to close the backend connection");
        const got = upstream();
        const body = got.slice(got.indexOf("\r\n\r\n") + 4);
        assert.equal(body, valid, `the backend received more than the good part:\n${JSON.stringify(got)}`);
        assert.match(got, /\r\nTransfer-Encoding: chunked\r\n/i);
      } finally {
        c.close();
      }
      assert.ok(!allReceived().includes("smuggled"), `the backend received:\n${allReceived()}`);
    });
  }

  // ---------------------------------------------------------------- responses

  for (const [i, [name, raw]] of BAD_RESPONSES.entries()) {
    it(`answers a response with ${name} with 502 and sends nothing of it`, { timeout: 10_000 }, async () => {
      const key = `bad-${i}`;
      scripts.set(key, { sent: raw });
      const c = await connectRaw(port);
      try {
        await c.send(`GET /r/${key} HTTP/1.1\r\nHost: a\r\n\r\n`);
        const res = await c.response();
        assert.equal(res.status, 502, `${JSON.stringify(raw)} got ${preview(res.raw)}`);
        assert.equal(res.body.toString(), "502 Bad Gateway\n");
        assert.ok(!/leak/i.test(text(res.raw)), `the client got part of the bad response: ${preview(res.raw)}`);
      } finally {
        c.close();
      }
    });
  }

  for (const [i, [name, sent, rest, body]] of CUT_RESPONSES.entries()) {
    it(`aborts the client connection on a response with ${name}, and serves no pipelined request after it`, { timeout: 10_000 }, async () => {
      const key = `cut-${i}`;
      let open!: () => void;
      scripts.set(key, { sent: OK_LEAK + sent, rest, gate: new Promise<void>((r) => (open = r)) });
      const c = await connectRaw(port);
      const got = record(c);
      try {
        await c.send(`GET /r/${key} HTTP/1.1\r\nHost: a\r\n\r\nGET /sync/after-${key} HTTP/1.1\r\nHost: a\r\n\r\n`);
        // The head and the first body bytes are at the client before the backend goes on.
        await got.until(() => got.text().includes("\r\n\r\n" + body), `head and ${JSON.stringify(body)} at the client`);
        open();
        await got.until(() => got.ended, "ferry to end the client connection");
        const all = got.text();
        const split = all.indexOf("\r\n\r\n");
        const head = all.slice(0, split + 4);
        assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
        assert.equal(header(parseHead(head), "x-leak"), "1");
        assert.equal(all.slice(split + 4), body, `the client got more than the sent part: ${JSON.stringify(all)}`);
        // By construction neither the declared length nor the end of a chunked body is there.
        const declared = header(parseHead(head), "content-length");
        if (declared !== undefined) assert.ok(body.length < Number(declared));
        else assert.ok(!/(^|\r\n)0(;[^\r]*)?\r\n/.test(body), "the client got a last chunk");
      } finally {
        c.close();
      }
      // The pipelined request never went anywhere.
      await sync(`after-${key}-check`);
      assert.ok(!seen.some((s) => s.line.includes(`/sync/after-${key} `)), "ferry served a pipelined request after an aborted response");
    });
  }

  // ------------------------------------------------- bodies delimited by the connection's end

  it("sends a body the server ends by closing to an HTTP/1.1 client chunked, with the last chunk, and keeps the connection", { timeout: 10_000 }, async () => {
    scripts.set("close-ok", { sent: "HTTP/1.1 200 OK\r\nX-Leak: 1\r\n\r\nhello, " + "x".repeat(70_000) });
    const c = await connectRaw(port);
    try {
      await c.send("GET /r/close-ok HTTP/1.1\r\nHost: a\r\n\r\n");
      const res = await c.response();
      assert.equal(res.status, 200);
      assert.equal(header(res.headers, "transfer-encoding"), "chunked");
      assert.equal(header(res.headers, "connection"), undefined, "the connection could have stayed open");
      assert.equal(res.body.toString("latin1"), "hello, " + "x".repeat(70_000));
      // The same connection serves the next request.
      await c.send("GET /sync/after-close-ok HTTP/1.1\r\nHost: a\r\n\r\n");
      assert.equal((await c.response()).body.toString(), "ok");
    } finally {
      c.close();
    }
  });

  it("never ends a body the server reset mid-way with the last chunk (HTTP/1.1 client)", { timeout: 10_000 }, async () => {
    let open!: () => void;
    scripts.set("close-rst", { sent: "HTTP/1.1 200 OK\r\nX-Leak: 1\r\n\r\nLEAK5", gate: new Promise<void>((r) => (open = r)), reset: true });
    const c = await connectRaw(port);
    const got = record(c);
    try {
      await c.send("GET /r/close-rst HTTP/1.1\r\nHost: a\r\n\r\n");
      await got.until(() => got.text().endsWith("\r\n\r\n5\r\nLEAK5\r\n"), "the head and the first chunk at the client");
      open();
      await got.until(() => got.ended, "ferry to end the client connection");
      assert.ok(got.text().endsWith("\r\n\r\n5\r\nLEAK5\r\n"), `the client got more: ${JSON.stringify(got.text())}`);
    } finally {
      c.close();
    }
  });

  it("streams a chunked body to an HTTP/1.0 client as it comes, and aborts it when the server breaks off", { timeout: 10_000 }, async () => {
    let open!: () => void;
    scripts.set("to-http10", { sent: "HTTP/1.1 200 OK\r\nX-Leak: 1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", gate: new Promise<void>((r) => (open = r)) });
    const c = await connectRaw(port);
    const got = record(c);
    try {
      await c.send("GET /r/to-http10 HTTP/1.0\r\nHost: a\r\n\r\n");
      // The first chunk's data reaches the client while the server is still sending.
      await got.until(() => got.text().endsWith("\r\n\r\nabc"), "the decoded first chunk at the client");
      assert.doesNotMatch(got.text(), /transfer-encoding/i);
      open(); // the server closes without the last chunk
      await got.until(() => got.ended, "ferry to end the client connection");
      assert.ok(got.text().endsWith("\r\n\r\nabc"), `the client got more: ${JSON.stringify(got.text())}`);
      // An HTTP/1.0 body ends where the connection ends: only a reset tells the client it was cut.
      if (ferryRuntime() === "bun") assert.ok(got.reset, "the client saw an orderly end, not a reset");
      else console.log("# the reset is not checked on Deno: Deno.Conn cannot send one (no SO_LINGER); the client sees an orderly end");
    } finally {
      c.close();
    }
  });

  // ---------------------------------------------------------------- 1xx and 101

  it("relays 100 and 103 as interim responses before the final one", { timeout: 10_000 }, async () => {
    scripts.set("interim", {
      sent: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" +
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal",
    });
    const c = await connectRaw(port);
    try {
      await c.send("GET /r/interim HTTP/1.1\r\nHost: a\r\n\r\n");
      const r100 = await c.response();
      const r103 = await c.response();
      const final = await c.response();
      assert.equal(r100.startLine, "HTTP/1.1 100 Continue");
      assert.equal(r100.body.length, 0);
      assert.equal(r103.startLine, "HTTP/1.1 103 Early Hints");
      assert.equal(header(r103.headers, "link"), "</a.css>; rel=preload");
      assert.equal(final.status, 200);
      assert.equal(final.body.toString(), "final");
    } finally {
      c.close();
    }
  });

  it("drops Content-Length from 1xx and 204 responses, and normalises it on HEAD responses", { timeout: 10_000 }, async () => {
    scripts.set("bodiless-cl", {
      sent: "HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
    });
    scripts.set("head-cl", { sent: "HTTP/1.1 200 OK\r\nContent-Length: 7, 7\r\n\r\n" });
    const c = await connectRaw(port);
    try {
      await c.send("GET /r/bodiless-cl HTTP/1.1\r\nHost: a\r\n\r\n");
      const r100 = await c.response();
      const r204 = await c.response();
      assert.equal(r100.status, 100);
      assert.equal(header(r100.headers, "content-length"), undefined, preview(r100.raw));
      assert.equal(r204.status, 204);
      assert.equal(header(r204.headers, "content-length"), undefined, preview(r204.raw));
    } finally {
      c.close();
    }
    const h = await connectRaw(port);
    try {
      await h.send("HEAD /r/head-cl HTTP/1.1\r\nHost: a\r\n\r\n");
      const res = await h.response("HEAD");
      assert.equal(res.status, 200);
      assert.deepEqual(res.headers.filter(([n]) => n.toLowerCase() === "content-length"), [["Content-Length", "7"]]);
    } finally {
      h.close();
    }
  });

  it("does not reuse a server connection that sent bytes after its response", { timeout: 10_000 }, async () => {
    for (const n of [1, 2]) {
      const res = await request(port, { path: `/smuggle/${n}` });
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), "ok", `request ${n} got the bytes stuck to an earlier response`);
    }
    assert.equal(smuggler.connections.length, 2, "the second request went on the connection with extra bytes");
  });

  it("sends no interim response to an HTTP/1.0 client", { timeout: 10_000 }, async () => {
    scripts.set("interim-10", { sent: "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal" });
    const c = await connectRaw(port);
    try {
      await c.send("GET /r/interim-10 HTTP/1.0\r\n\r\n");
      const all = text(await c.readToEnd());
      assert.match(all, /^HTTP\/1\.1 200 OK\r\n/, JSON.stringify(all));
      assert.ok(all.endsWith("\r\n\r\nfinal") && !all.includes("103"), JSON.stringify(all));
    } finally {
      c.close();
    }
  });

  it("never asks for an h2c upgrade (h2c smuggling): the server sees a plain request, and a 101 it sends anyway is refused", { timeout: 10_000 }, async () => {
    scripts.set("h2c", { sent: "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\nLEAK" });
    const c = await connectRaw(port);
    try {
      await c.send("GET /r/h2c HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n");
      const res = await c.response();
      assert.equal(res.status, 502, preview(res.raw));
      assert.ok(!text(res.raw).includes("LEAK"));
    } finally {
      c.close();
    }
    const asked = seen.find((s) => s.line.startsWith("GET /r/h2c "));
    assert.ok(asked, "the request did not reach the server");
    assert.doesNotMatch(asked.head, /\r\n(upgrade|http2-settings):/i, `the server was asked to upgrade: ${JSON.stringify(asked.head)}`);
    assert.doesNotMatch(asked.head, /\r\nconnection:[^\r]*upgrade/i);
  });

  it("passes a 101 on when the client asked to upgrade, then tunnels bytes", { timeout: 10_000 }, async () => {
    scripts.set("upgrade", { sent: "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: x-test\r\n\r\ntunnel bytes" });
    const c = await connectRaw(port);
    try {
      await c.send("GET /r/upgrade HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: x-test\r\n\r\n");
      const all = text(await c.readToEnd());
      assert.match(all, /^HTTP\/1\.1 101 Switching Protocols\r\n/, JSON.stringify(all));
      assert.ok(all.endsWith("\r\n\r\ntunnel bytes"), JSON.stringify(all));
    } finally {
      c.close();
    }
    const asked = seen.find((s) => s.line.startsWith("GET /r/upgrade "));
    assert.match(asked?.head ?? "", /\r\nUpgrade: x-test\r\n/);
  });

  for (
    const [name, answer] of [
      ["a protocol the client did not ask for", "Upgrade: h2c\r\n"],
      ["no Upgrade field", ""],
    ] as const
  ) {
    it(`answers 502 to a 101 with ${name}, and tunnels nothing`, { timeout: 10_000 }, async () => {
      const key = `upgrade-${name.length}`;
      scripts.set(key, { sent: `HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n${answer}\r\nLEAK` });
      const c = await connectRaw(port);
      try {
        await c.send(`GET /r/${key} HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n`);
        const res = await c.response();
        assert.equal(res.status, 502, preview(res.raw));
        assert.ok(!text(res.raw).includes("LEAK"));
      } finally {
        c.close();
      }
    });
  }

  it("answers 502 to a 101 for an HTTP/1.0 request, where Upgrade means nothing", { timeout: 10_000 }, async () => {
    scripts.set("upgrade-10", { sent: "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: x-test\r\n\r\nLEAK" });
    const c = await connectRaw(port);
    try {
      await c.send("GET /r/upgrade-10 HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: x-test\r\n\r\n");
      const res = await c.response();
      assert.equal(res.status, 502, preview(res.raw));
      assert.ok(!text(res.raw).includes("LEAK"));
    } finally {
      c.close();
    }
  });

  // ---------------------------------------------------------------- request targets

  it("forwards request targets byte for byte: no decoding, normalising or re-encoding", { timeout: 10_000 }, async () => {
    const c = await connectRaw(port);
    try {
      for (const [i, [sent, forwarded]] of TARGETS.entries()) {
        await c.send(`GET ${sent} HTTP/1.1\r\nHost: a\r\nX-Case: target-${i}\r\n\r\n`);
        const res = await c.response();
        assert.equal(res.status, 200, `${sent}: ${preview(res.raw)}`);
        const at = seen.find((s) => s.head.includes(`\r\nX-Case: target-${i}\r\n`));
        assert.equal(at?.line, `GET ${forwarded} HTTP/1.1`, sent);
      }
    } finally {
      c.close();
    }
  });
});

/** Collects every byte a client connection receives, and whether it ended (FIN, reset or close). */
function record(c: RawClient): { text(): string; readonly ended: boolean; readonly reset: boolean; until(pred: () => boolean, what: string): Promise<void> } {
  const watch = new Watch();
  const chunks: Buffer[] = [];
  let ended = false;
  let reset = false;
  const socket: net.Socket = c.socket;
  socket.on("data", (d: Buffer) => {
    chunks.push(d);
    watch.notify();
  });
  socket.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "ECONNRESET") reset = true;
  });
  for (const ev of ["end", "close", "error"]) {
    socket.on(ev, () => {
      ended = true;
      watch.notify();
    });
  }
  return {
    text: () => text(Buffer.concat(chunks)),
    get ended() {
      return ended;
    },
    get reset() {
      return reset;
    },
    until: (pred, what) => watch.until(pred, 5_000, () => `${what} (got ${JSON.stringify(text(Buffer.concat(chunks)))}, ended: ${ended})`),
  };
}

/** The fields of a response head (lines after the status line). */
function parseHead(head: string): [string, string][] {
  return head.split("\r\n").slice(1).filter(Boolean).map((l) => {
    const i = l.indexOf(":");
    return [l.slice(0, i), l.slice(i + 1).trim()] as [string, string];
  });
}
