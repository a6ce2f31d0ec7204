/**
 * Property-based fuzzing of the request side, unit level: generated and mutated request bytes
 * (one to three pipelined requests) go through ferry's own reading path, BufReader.readHead,
 * parseRequestHead and copyBody, over a FakeConn that delivers them split at random points.
 *
 * Properties, for every input:
 * - ferry never throws anything but a ProxyError and never hangs (each run is time-bounded);
 * - the outcome (messages, and how the stream ended) does not depend on how the bytes were split;
 * - ferry accepts exactly the messages the strict reference parser (tests/_helpers/reference_http.ts)
 *   accepts, with the same method, target, version, fields, keep-alive and body: forwarded byte
 *   for byte as framed, or decoded in dechunk mode; and it refuses where the reference refuses.
 *
 * CI runs a fixed seed; FUZZ_RUNS=20000 (and FUZZ_SEED, FUZZ_PATH to replay) for a longer run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ProxyError } from "../../lib/errors.ts";
import { copyBody } from "../../lib/http/body.ts";
import { parseRequestHead } from "../../lib/http/parse_request.ts";
import { BufReader } from "../../lib/net/reader.ts";
import { FakeConn } from "../_helpers/fake_conn.ts";
import { assertSameOutcome, bounded, bytesOf, cutsArb, fuzzParams, originForm, requestsInputArb, show, splitAt, textOf } from "../_helpers/http_fuzz.ts";
import { FERRY_LENIENCIES, type RefLimits, refParseRequest } from "../_helpers/reference_http.ts";

const PARAMS = fuzzParams("parse_request", { seed: 0x46455259, runs: 1500 });

interface Limits {
  maxLine: number;
  maxHead: number;
  maxFields: number;
  /** `max_body_size`; 0: none. */
  maxBody: number;
}

/** Mostly ferry's defaults; sometimes small, so that the 413/414/431 paths are fuzzed too. */
const limitsArb: fc.Arbitrary<Limits> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ maxLine: 8192, maxHead: 32 * 1024, maxFields: 100, maxBody: 0 }) },
  {
    weight: 1,
    arbitrary: fc.record({
      maxLine: fc.integer({ min: 16, max: 90 }),
      maxHead: fc.integer({ min: 40, max: 400 }),
      maxFields: fc.integer({ min: 1, max: 8 }),
      maxBody: fc.integer({ min: 0, max: 40 }),
    }),
  },
);

/** What ferry made of one message. */
interface Seen {
  method: string;
  target: string;
  forwardTarget: string;
  version: string;
  fields: [string, string][];
  authority: string;
  keepAlive: boolean;
  framing: string;
  /** The body as ferry wrote it out (framed as received, or decoded), one char per byte. */
  body: string;
}

interface Run {
  messages: Seen[];
  /**
   * "clean" (EOF between messages), or where and how the next message was refused:
   * `head:<readHead's reason>`, `parse:<status>` or `body:<status | truncated>`.
   */
  end: string;
}


/** ferry's reading loop over `chunks`, as serve_conn and exchange use it. */
async function ferryRun(chunks: Uint8Array[], limits: Limits, dechunk: boolean): Promise<Run> {
  const conn = new FakeConn();
  for (const c of chunks) conn.push(c);
  conn.pushEof();
  const reader = new BufReader(conn);
  const messages: Seen[] = [];
  for (;;) {
    const got = await reader.readHead(limits.maxLine, limits.maxHead);
    if (!got.ok) {
      return { messages, end: got.reason === "eof" ? "clean" : `head:${got.reason}` };
    }
    let req;
    try {
      req = parseRequestHead(got.head, { max_request_line: limits.maxLine, max_headers: limits.maxFields });
    } catch (e) {
      if (!(e instanceof ProxyError)) throw e;
      return { messages, end: `parse:${e.status}` };
    }
    // serve_conn.ts refuses a Content-Length over max_body_size before forwarding anything.
    if (limits.maxBody > 0 && req.body.kind === "length" && req.body.length > limits.maxBody) return { messages, end: "parse:413" };
    const dst = new FakeConn();
    try {
      await copyBody(reader, req.body, {
        dst,
        dechunk,
        maxBytes: limits.maxBody,
        // As exchange.ts blames a request body: malformed is the client's 400, cut short is it leaving.
        srcError: (m, cause, malformed) => new ProxyError(malformed ? "bad_request" : "client_closed", m, { cause }),
        dstError: (m, cause) => new ProxyError("upstream_closed", m, { cause }),
      });
    } catch (e) {
      if (!(e instanceof ProxyError)) throw e;
      return { messages, end: e.kind === "client_closed" ? "body:truncated" : `body:${e.status}` };
    }
    messages.push({
      method: req.method,
      target: req.target,
      forwardTarget: req.forwardTarget,
      version: req.version,
      fields: req.fields,
      authority: req.authority,
      keepAlive: req.keepAlive,
      framing: req.body.kind,
      body: textOf(dst.written()),
    });
  }
}


/** What the reference reads: each message, as ferry would forward it, raw and decoded. */
function referenceRun(bytes: Uint8Array, limits: Limits): { raw: Run; decoded: Run; reason: string } {
  const lim: Partial<RefLimits> = { maxLine: limits.maxLine, maxHead: limits.maxHead, maxFields: limits.maxFields, maxBody: limits.maxBody || Infinity };
  const raw: Seen[] = [];
  const decoded: Seen[] = [];
  let pos = 0;
  for (;;) {
    const r = refParseRequest(bytes, pos, { limits: lim, ...FERRY_LENIENCIES });
    if (!r.ok) {
      const end = r.empty ? "clean" : "refused";
      return { raw: { messages: raw, end }, decoded: { messages: decoded, end }, reason: r.reason };
    }
    const m = r.message;
    const seen: Seen = {
      method: m.method,
      target: m.target,
      forwardTarget: originForm(m.target),
      version: m.version,
      fields: m.fields,
      authority: m.authority ?? "",
      keepAlive: m.keepAlive,
      framing: m.framing,
      body: textOf(bytes.subarray(m.headEnd, m.end)),
    };
    raw.push(seen);
    decoded.push({ ...seen, body: textOf(m.body) });
    pos = m.end;
  }
}

/** ferry's run against the reference's: the same messages, and a refusal where it refuses. */
function assertAgrees(ferry: Run, ref: Run, context: string): void {
  assert.deepEqual(ferry.messages, ref.messages, `ferry and the reference read different messages\n${context}`);
  if (ref.end === "clean") assert.equal(ferry.end, "clean", `the reference ends cleanly, ferry did not\n${context}`);
  else assert.notEqual(ferry.end, "clean", `the reference refuses message ${ref.messages.length + 1}, ferry ended cleanly\n${context}`);
}

test("fuzz: ferry reads requests exactly as the strict reference does, however the bytes are split", { timeout: 60_000 + PARAMS.numRuns * 100 }, async () => {
  await fc.assert(
    fc.asyncProperty(requestsInputArb, limitsArb, cutsArb, cutsArb, async (input, limits, cutsA, cutsB) => {
      const bytes = bytesOf(input.text);
      const ref = referenceRun(bytes, limits);
      const context = `input: ${show(bytes)}\nlimits: ${JSON.stringify(limits)}\nreference: ${ref.raw.end} (${ref.reason})`;
      const whole = await bounded(ferryRun([bytes], limits, false), "ferry on the whole input");
      const split = await bounded(ferryRun(splitAt(bytes, cutsA), limits, false), "ferry on split input");
      const decoded = await bounded(ferryRun(splitAt(bytes, cutsB), limits, true), "ferry decoding");
      assertSameOutcome(split, whole, `${context}\ncut at: ${JSON.stringify(cutsA)}`);
      assertSameOutcome({ ...decoded, messages: [] }, { ...whole, messages: [] }, `${context}\n(dechunk mode, cut at ${JSON.stringify(cutsB)})`);
      assertAgrees(whole, ref.raw, context);
      assertAgrees(decoded, ref.decoded, `${context}\n(dechunk mode)`);
    }),
    PARAMS,
  );
});
