/**
 * Property-based fuzzing end to end: ferry runs as a subprocess between a raw TCP client and raw
 * TCP backends, and generated or mutated bytes go through it in random writes.
 *
 * Requests (the client sends one to three pipelined requests, possibly mutated): ferry answers
 * within a bound, and
 * - each request the strict reference parser accepts reaches the backend with the same method,
 *   target (in origin-form), body (and chunk lines and trailers, which go through byte for
 *   byte) and end-to-end fields, in order; the client gets the backend's answer to each;
 * - where the reference refuses, nothing more of that request reaches the backend than an
 *   unfinished message on a connection ferry then closes (nothing at all when the head is at
 *   fault), and the client gets one 4xx/5xx error page or a close, nothing else;
 * - whatever ferry sends the backend is itself a valid message to the reference.
 *
 * Responses (the backend answers with generated or mutated bytes, in random writes): the client
 * gets exactly the response the reference reads (interim responses, status, reason, end-to-end
 * fields, body, trailers), or, where the reference refuses, a 502 or a response cut short.
 *
 * CI runs a fixed seed and a short count; FUZZ_RUNS, FUZZ_SEED and FUZZ_PATH as in the unit
 * fuzz tests. Under tests/fuzz/, so it runs in the deno and bun stages, not against the binary.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import net from "node:net";
import fc from "fast-check";
import { type BaseBackend, type ConnRecord, rawBackend } from "../_helpers/backends.ts";
import { type Ferry, ferryLabel, startFerry } from "../_helpers/ferry.ts";
import {
  bytesOf,
  cutsArb,
  endToEnd,
  type Field,
  fuzzParams,
  originForm,
  requestsInputArb,
  responseInputArb,
  show,
  splitAt,
  textOf,
} from "../_helpers/http_fuzz.ts";
import { Watch } from "../_helpers/raw_http.ts";
import { FERRY_LENIENCIES, type RefLimits, refParseRequest, type RefRequest, refParseResponse, type RefResponse } from "../_helpers/reference_http.ts";

const REQUEST_PARAMS = fuzzParams("live requests", { seed: 0x4c495645, runs: 400 });
const RESPONSE_PARAMS = fuzzParams("live responses", { seed: 0x4c495646, runs: 400 });
/** How long one step of a case (a response, a close) may take before it counts as a hang. */
const STEP_MS = 5_000;
/** The listener limits below, for the reference. */
const LIMITS: Partial<RefLimits> = { maxLine: 64, maxHead: 512, maxFields: 12, maxBody: 48 };
/** What ferry answers a request it refuses with. */
const REFUSAL_STATUSES = [400, 413, 414, 431, 501, 505];
/** Fields ferry rewrites on a request: the forwarding ones, the framing, and Host (compared on its own). */
const REQUEST_REWRITTEN = ["via", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "forwarded", "x-real-ip", "content-length", "host"];
/** Fields ferry rewrites on a response: Via, and the framing. */
const RESPONSE_REWRITTEN = ["via", "content-length"];

/**
 * `fields` without the ones named in `names` and without the fields ferry adds of its own (the
 * framing, and the hop-by-hop ones it sends for its own hop): what is left must be exactly the
 * end-to-end fields it was given, so a hop-by-hop field let through shows.
 */
function withoutOwn(fields: Field[], names: string[], own: (f: Field) => boolean): Field[] {
  const skip = new Set(names);
  return fields.filter((f) => !skip.has(f[0].toLowerCase()) && !own(f));
}
const testTimeout = (runs: number) => 120_000 + runs * 200;

/** A raw client socket that keeps everything it receives. */
class Peer {
  readonly watch = new Watch();
  #chunks: Buffer[] = [];
  ended = false;
  writeFailed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (c: Buffer) => {
      this.#chunks.push(c);
      this.watch.notify();
    });
    const end = () => {
      this.ended = true;
      this.watch.notify();
    };
    socket.on("end", end);
    socket.on("close", end);
    socket.on("error", end);
  }

  static connect(port: number): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        socket.setNoDelay(true);
        resolve(new Peer(socket));
      });
    });
  }

  bytes(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.#chunks));
  }

  /** Writes and waits until the bytes are handed to the kernel; false once ferry has closed. */
  write(b: Uint8Array): Promise<boolean> {
    if (this.writeFailed || this.socket.destroyed) return Promise.resolve(false);
    return new Promise((resolve) =>
      this.socket.write(b, (e) => {
        if (e) this.writeFailed = true;
        resolve(!e);
      })
    );
  }

  until(pred: () => boolean, what: () => string): Promise<void> {
    return this.watch.until(pred, STEP_MS, what);
  }
}

/** Writes `b` on a node socket and waits for it to be handed to the kernel. */
function writeSocket(s: net.Socket, b: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve();
    s.write(b, () => resolve());
  });
}

const lower = (fields: Field[], name: string) => fields.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);

describe(`fuzz, live (${ferryLabel()})`, () => {
  /** Requests the request backend read, in arrival order. */
  const received: { conn: ConnRecord; msg: RefRequest }[] = [];
  /** Per backend connection: how far its bytes have been read as complete requests. */
  const parsedUpTo = new Map<ConnRecord, number>();
  /** Things the request backend saw that no ferry should send. */
  const backendViolations: string[] = [];
  /** The bytes (in pieces) the response backend sends next. */
  let responsePieces: Uint8Array[] = [];
  let reqBackend: BaseBackend;
  let resBackend: BaseBackend;
  let ferry: Ferry;

  before(async () => {
    reqBackend = await rawBackend((conn) => {
      parsedUpTo.set(conn, 0);
      conn.socket.on("data", () => {
        // Every request ferry forwards must be a valid message: read them with the reference.
        for (;;) {
          const all = new Uint8Array(conn.received());
          const r = refParseRequest(all, parsedUpTo.get(conn)!, { eof: false, ...FERRY_LENIENCIES });
          if (!r.ok) {
            if (!r.incomplete) {
              backendViolations.push(`ferry sent the backend an invalid request (${r.reason}): ${show(all.subarray(parsedUpTo.get(conn)!))}`);
              conn.socket.destroy();
            }
            return;
          }
          received.push({ conn, msg: r.message });
          parsedUpTo.set(conn, r.message.end);
          conn.socket.write(r.message.method === "HEAD" ? "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n" : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        }
      });
    });
    resBackend = await rawBackend(async (conn) => {
      const pieces = responsePieces;
      await conn.reader.readUntil("\r\n\r\n");
      for (const p of pieces) await writeSocket(conn.socket, p);
      conn.socket.end();
    });
    ferry = await startFerry(`
log: { access: "off" }
listeners:
  - name: req
    listen: "127.0.0.1:0"
    limits: { max_request_line: 64B, max_head_size: 512B, max_headers: 12, max_body_size: 48B }
    backend: reqb
  - name: res
    listen: "127.0.0.1:0"
    backend: resb
backends:
  reqb:
    servers: [ "${reqBackend.address}" ]
    passive: { max_fails: 0 }
  resb:
    servers: [ "${resBackend.address}" ]
    passive: { max_fails: 0 }
`);
  });

  after(async () => {
    await ferry?.stop();
    await reqBackend?.close();
    await resBackend?.close();
  });

  /** What the reference says of a client's bytes: the requests ferry must forward, and how the stream ends. */
  function expectedRequests(bytes: Uint8Array) {
    const forwarded: RefRequest[] = [];
    let pos = 0;
    for (;;) {
      const r = refParseRequest(bytes, pos, { limits: LIMITS, ...FERRY_LENIENCIES });
      if (!r.ok) {
        const end = r.empty ? "clean" : r.incomplete ? "incomplete" : "refused";
        return { forwarded, end, stage: r.stage, reason: r.reason };
      }
      forwarded.push(r.message);
      if (!r.message.keepAlive) return { forwarded, end: "closed", stage: "head", reason: "Connection: close" };
      pos = r.message.end;
    }
  }

  /** The complete responses in `b`, read with the methods they answer (then GET). */
  function responsesIn(b: Uint8Array, methods: string[], eof: boolean): { responses: RefResponse[]; rest: number; bad: string | null } {
    const responses: RefResponse[] = [];
    let pos = 0;
    for (;;) {
      const r = refParseResponse(b, pos, methods[responses.length] ?? "GET", { eof, ...FERRY_LENIENCIES });
      if (!r.ok) return { responses, rest: pos, bad: r.empty || r.incomplete ? null : r.reason };
      responses.push(r.message);
      pos = r.message.end;
    }
  }

  it("forwards exactly the requests the reference accepts, and nothing of the others", { timeout: testTimeout(REQUEST_PARAMS.numRuns) }, async () => {
    await fc.assert(
      fc.asyncProperty(requestsInputArb, cutsArb, async (input, cuts) => {
        const bytes = bytesOf(input.text);
        const exp = expectedRequests(bytes);
        const k = exp.forwarded.length;
        // A request refused for its body was parsed (and may be a HEAD, whose error page has no body).
        const next = textOf(bytes.subarray(exp.forwarded.at(-1)?.end ?? 0)).replace(/^(\r\n)+/, "");
        const methods = [...exp.forwarded.map((m) => m.method), exp.stage === "body" ? next.slice(0, next.indexOf(" ")) : "GET"];
        const context = () =>
          `client sent: ${show(bytes)}\nreference: ${k} request(s), then ${exp.end} (${exp.reason})\nclient got: ${show(client.bytes())}`;
        // Leftovers of a case that failed (while fast-check shrinks it) must not be blamed on this one.
        for (const [c, upTo] of [...parsedUpTo]) {
          if (!c.gotEnd && c.received().length === upTo) continue;
          parsedUpTo.delete(c);
          c.socket.destroy();
        }
        const mark = received.length;
        const client = await Peer.connect(ferry.ports.req);
        try {
          for (const piece of splitAt(bytes, cuts)) if (!(await client.write(piece))) break;
          // The answers to the accepted requests, then a FIN: ferry must close, answering at most an error.
          await client.until(() => client.ended || responsesIn(client.bytes(), methods, false).responses.length >= k, () => `${k} responses\n${context()}`);
          client.socket.end();
          await client.until(() => client.ended, () => `ferry to close the connection\n${context()}`);
        } finally {
          client.socket.destroy();
        }

        const got = responsesIn(client.bytes(), methods, true);
        assert.equal(got.bad, null, `ferry sent the client an invalid response (${got.bad})\n${context()}`);
        assert.ok(got.responses.length >= k, `the client got ${got.responses.length} of ${k} answers\n${context()}`);
        for (let i = 0; i < k; i++) {
          assert.equal(got.responses[i].status, 200, `answer ${i + 1} is not the backend's\n${context()}`);
        }
        const extra = got.responses.slice(k);
        if (exp.end === "refused") {
          assert.ok(extra.length <= 1 && extra.every((r) => REFUSAL_STATUSES.includes(r.status)), `after the refused request the client got ${extra.map((r) => r.status)}\n${context()}`);
        } else assert.equal(extra.length, 0, `the client got ${extra.length} unexpected response(s)\n${context()}`);
        assert.equal(got.rest, client.bytes().length, `ferry sent the client a partial response\n${context()}`);

        // The backend: the same k requests, and no more.
        await reqBackend.until(() => received.length >= mark + k, () => `the backend to get ${k} requests\n${context()}`, STEP_MS);
        assert.equal(backendViolations.length, 0, `${backendViolations.join("\n")}\n${context()}`);
        const arrived = received.slice(mark);
        assert.equal(arrived.length, k, `the backend got ${arrived.length} requests, the reference accepts ${k}\n${context()}`);
        for (let i = 0; i < k; i++) assertForwarded(exp.forwarded[i], arrived[i].msg, `request ${i + 1}\n${context()}`);
        // A request refused (or cut short) in its body had its head forwarded, maybe part of the
        // body too: that unfinished request must end with ferry closing the connection. Any
        // other unfinished bytes at the backend are a request the reference never accepted.
        const unfinished = () => [...parsedUpTo].filter(([c, upTo]) => c.received().length > upTo);
        const show1 = ([c, upTo]: [ConnRecord, number]) => show(new Uint8Array(c.received().subarray(upTo)));
        if (exp.end !== "clean" && exp.end !== "closed" && exp.stage === "body") {
          await reqBackend.until(() => unfinished().some(([c]) => c.gotEnd), () => `ferry to forward the head and close the backend connection\n${context()}`, STEP_MS);
        }
        const open = unfinished().filter(([c]) => !c.gotEnd);
        assert.equal(open.length, 0, `ferry left part of a request at the backend: ${open.map(show1).join(", ")}\n${context()}`);
        const stray = unfinished().length - (exp.end !== "clean" && exp.end !== "closed" && exp.stage === "body" ? 1 : 0);
        assert.equal(stray, 0, `ferry sent the backend part of a request the reference does not see: ${unfinished().map(show1).join(", ")}\n${context()}`);
        // A connection ferry closed is done with; the backend closes its side too.
        for (const c of [...parsedUpTo.keys()]) {
          if (!c.gotEnd) continue;
          parsedUpTo.delete(c);
          c.socket.destroy();
        }
      }),
      REQUEST_PARAMS,
    );
  });

  /** The request the backend got is the one the client sent, as a proxy passes it on. */
  function assertForwarded(sent: RefRequest, got: RefRequest, context: string): void {
    assert.equal(got.method, sent.method, `method\n${context}`);
    assert.equal(got.target, originForm(sent.target), `target\n${context}`);
    assert.equal(got.version, "HTTP/1.1", `version\n${context}`);
    // ferry's own: chunked framing, "TE: trailers" kept for a client that sent it, and a re-asked upgrade.
    const has = (name: string, token: string) => lower(sent.fields, name).some((v) => v.split(",").some((t) => t.trim().toLowerCase() === token));
    const upgrade = sent.version === "HTTP/1.1" && has("connection", "upgrade");
    const trailers = has("te", "trailers");
    const own = ([n, v]: Field) => {
      const l = n.toLowerCase();
      return (l === "transfer-encoding" && v === "chunked") || (trailers && l === "te" && v === "trailers") ||
        (upgrade && ((l === "connection" && v === "upgrade") || l === "upgrade"));
    };
    assert.deepEqual(withoutOwn(got.fields, REQUEST_REWRITTEN, own), endToEnd(sent.fields, REQUEST_REWRITTEN), `end-to-end fields\n${context}`);
    const host = lower(sent.fields, "host")[0] ?? sent.authority ?? reqBackend.address;
    assert.deepEqual(lower(got.fields, "host"), [host], `Host\n${context}`);
    assert.equal(textOf(got.body), textOf(sent.body), `body\n${context}`);
    if (sent.framing === "chunked") {
      assert.equal(got.framing, "chunked", `framing\n${context}`);
      assert.deepEqual(got.chunkLines, sent.chunkLines, `chunk-size lines (forwarded byte for byte)\n${context}`);
      assert.deepEqual(got.trailers, sent.trailers, `trailers\n${context}`);
    } else assert.notEqual(got.framing, "chunked", `framing\n${context}`);
  }

  /** What the reference reads in a backend's answer: interim responses, then the final one. */
  function expectedResponse(bytes: Uint8Array, method: string) {
    const interims: RefResponse[] = [];
    let pos = 0;
    for (;;) {
      const r = refParseResponse(bytes, pos, method, FERRY_LENIENCIES);
      if (!r.ok) return { interims, final: null, reason: r.reason };
      if (r.message.status === 101) return { interims, final: null, reason: "101 without an upgrade asked for" };
      if (r.message.status >= 200) return { interims, final: r.message, reason: "accepted" };
      interims.push(r.message);
      pos = r.message.end;
    }
  }

  it("passes on exactly the responses the reference accepts, and a 502 or a cut response for the others", { timeout: testTimeout(RESPONSE_PARAMS.numRuns) }, async () => {
    const clientArb = fc.oneof({ weight: 4, arbitrary: fc.constant("HTTP/1.1" as const) }, { weight: 1, arbitrary: fc.constant("HTTP/1.0" as const) });
    await fc.assert(
      fc.asyncProperty(responseInputArb, cutsArb, clientArb, async (input, cuts, version) => {
        const bytes = bytesOf(input.text);
        const exp = expectedResponse(bytes, input.method);
        const relayed = version === "HTTP/1.1" ? exp.interims : [];
        responsePieces = splitAt(bytes, cuts);
        const client = await Peer.connect(ferry.ports.res);
        const context = () =>
          `${input.method} from an ${version} client; backend sent: ${show(bytes)}\nreference: ${exp.reason}\nclient got: ${show(client.bytes())}`;
        try {
          const head = version === "HTTP/1.1" ? "Host: fuzz\r\nConnection: close\r\n" : "";
          await client.write(bytesOf(`${input.method} /fuzz ${version}\r\n${head}\r\n`));
          await client.until(() => client.ended, () => `ferry to answer and close\n${context()}`);
        } finally {
          client.socket.destroy();
        }
        const b = client.bytes();
        const methods = [...relayed.map(() => input.method), input.method];
        const got = responsesIn(b, methods, true);
        assert.equal(got.bad, null, `ferry sent the client an invalid response (${got.bad})\n${context()}`);
        for (let i = 0; i < Math.min(relayed.length, got.responses.length); i++) {
          assertSameResponse(got.responses[i], relayed[i], false, `interim response ${i + 1}\n${context()}`);
        }
        const final = got.responses[relayed.length];
        if (exp.final) {
          assert.equal(got.responses.length, relayed.length + 1, `the client did not get the response\n${context()}`);
          assertSameResponse(final, exp.final, version === "HTTP/1.0", `final response\n${context()}`);
          assert.equal(got.rest, b.length, `extra bytes after the response\n${context()}`);
          return;
        }
        // Refused: the interims that were fine, then a 502, or a response cut short (never a complete one).
        assert.ok(got.responses.length <= relayed.length + 1, `too many responses\n${context()}`);
        if (final === undefined) return;
        if (final.status === 502 && got.rest === b.length) return;
        // An HTTP/1.0 client gets a chunked body decoded and delimited by the close (RFC 9112
        // §7.1), so a body that breaks off looks like a whole one there: nothing tells them apart.
        if (version === "HTTP/1.0" && final.framing === "close") return;
        assert.fail(`the client got a complete ${final.status} response for one the reference refuses\n${context()}`);
      }),
      RESPONSE_PARAMS,
    );
  });

  /** The client's response is the backend's, as a proxy passes it on. */
  function assertSameResponse(got: RefResponse, sent: RefResponse, dechunked: boolean, context: string): void {
    assert.equal(got.status, sent.status, `status\n${context}`);
    assert.equal(got.reason, sent.reason, `reason\n${context}`);
    assert.equal(got.version, "HTTP/1.1", `version\n${context}`);
    const skip = [...RESPONSE_REWRITTEN, ...(dechunked && sent.framing === "chunked" ? ["trailer"] : [])];
    // ferry's own: chunked framing, and whether the connection stays open. And "TE: trailers":
    // stripHopByHop keeps it for requests (gRPC needs it) and, harmlessly, on responses too,
    // where TE means nothing (RFC 9110 §10.1.4 defines it as a request field).
    const own = ([n, v]: Field) => {
      const l = n.toLowerCase();
      return (l === "transfer-encoding" && v === "chunked") || (l === "connection" && (v === "close" || v === "keep-alive")) ||
        (l === "te" && v === "trailers");
    };
    assert.deepEqual(withoutOwn(got.fields, skip, own), endToEnd(sent.fields, skip), `end-to-end fields\n${context}`);
    assert.equal(textOf(got.body), textOf(sent.body), `body\n${context}`);
    if (sent.framing === "chunked" && !dechunked) {
      assert.equal(got.framing, "chunked", `framing\n${context}`);
      assert.deepEqual(got.chunkLines, sent.chunkLines, `chunk-size lines (forwarded byte for byte)\n${context}`);
      assert.deepEqual(got.trailers, sent.trailers, `trailers\n${context}`);
    } else if (sent.framing === "close" && !dechunked) {
      // A body the server ends by closing goes to an HTTP/1.1 client chunked, so that a cut one
      // can be told from a whole one.
      assert.equal(got.framing, "chunked", `framing\n${context}`);
    } else if (sent.framing !== "none") {
      assert.equal(got.framing, sent.framing === "chunked" ? "close" : sent.framing, `framing\n${context}`);
    }
  }
});
