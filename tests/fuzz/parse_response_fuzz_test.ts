/**
 * Property-based fuzzing of the response side, unit level: generated and mutated response bytes
 * (interim 1xx responses, then a final one with a Content-Length, chunked or close-delimited
 * body) go through the reading path exchange.ts uses for a backend's answer: BufReader.readHead,
 * parseResponseHead, responseFraming and copyBody, over a FakeConn that delivers them split at
 * random points, answering a GET or a HEAD.
 *
 * Properties, for every input:
 * - ferry never throws anything but a ProxyError and never hangs (each run is time-bounded);
 * - the outcome does not depend on how the bytes were split;
 * - ferry accepts exactly the responses the strict reference parser accepts, with the same
 *   status line, fields, framing and body (forwarded byte for byte, or decoded in dechunk mode,
 *   as for an HTTP/1.0 client), and leaves the same bytes unread after it.
 *
 * CI runs a fixed seed; FUZZ_RUNS=20000 (and FUZZ_SEED, FUZZ_PATH to replay) for a longer run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ProxyError } from "../../lib/errors.ts";
import { copyBody } from "../../lib/http/body.ts";
import { parseResponseHead, type ResponseHead, responseFraming } from "../../lib/http/parse_response.ts";
import { BufReader } from "../../lib/net/reader.ts";
import { FakeConn } from "../_helpers/fake_conn.ts";
import { assertSameOutcome, bounded, bytesOf, concatBytes, cutsArb, fuzzParams, responseInputArb, show, splitAt, textOf } from "../_helpers/http_fuzz.ts";
import { FERRY_LENIENCIES, type RefLimits, refParseResponse } from "../_helpers/reference_http.ts";

const PARAMS = fuzzParams("parse_response", { seed: 0x52455350, runs: 1500 });
/** exchange.ts's cap on interim responses before the final one. */
const MAX_INTERIM_RESPONSES = 32;

interface Limits {
  maxHead: number;
  maxFields: number;
}

/** exchange.ts's limits (64 KiB head, 200 fields), or small ones so that they are fuzzed too. */
const limitsArb: fc.Arbitrary<Limits> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ maxHead: 64 * 1024, maxFields: 200 }) },
  { weight: 1, arbitrary: fc.record({ maxHead: fc.integer({ min: 16, max: 300 }), maxFields: fc.integer({ min: 1, max: 8 }) }) },
);

interface SeenHead {
  version: string;
  status: number;
  reason: string;
  fields: [string, string][];
}

interface Seen {
  interims: SeenHead[];
  final: SeenHead;
  framing: string;
  /** The body as written out (framed as received, or decoded), one char per byte. */
  body: string;
  /** What is left unread after the response. */
  rest: string;
}

interface Run {
  messages: Seen[];
  end: string;
}

const headOf = (r: ResponseHead): SeenHead => ({ version: r.version, status: r.status, reason: r.reason, fields: r.fields });

/** The response reading of exchange.ts, over `chunks`. */
async function ferryRun(chunks: Uint8Array[], method: string, limits: Limits, dechunk: boolean): Promise<Run> {
  const conn = new FakeConn();
  for (const c of chunks) conn.push(c);
  conn.pushEof();
  const reader = new BufReader(conn);
  const interims: SeenHead[] = [];
  let res: ResponseHead;
  for (;;) {
    // exchange.ts passes one bound for both the status line and the head.
    const got = await reader.readHead(limits.maxHead, limits.maxHead, { skipEmptyLines: false });
    if (!got.ok) return { messages: [], end: `head:${got.reason}` };
    try {
      res = parseResponseHead(got.head, limits.maxFields);
    } catch (e) {
      if (!(e instanceof ProxyError)) throw e;
      return { messages: [], end: `parse:${e.status}` };
    }
    if (res.status >= 200 || res.status === 101) break;
    if (interims.length >= MAX_INTERIM_RESPONSES) return { messages: [], end: "parse:502" };
    interims.push(headOf(res));
  }
  let framing;
  try {
    framing = responseFraming(res, method);
  } catch (e) {
    if (!(e instanceof ProxyError)) throw e;
    return { messages: [], end: `parse:${e.status}` };
  }
  const dst = new FakeConn();
  try {
    await copyBody(reader, framing, {
      dst,
      dechunk,
      // As exchange.ts blames a response body: malformed is a 502, cut short is the server closing.
      srcError: (m, cause, malformed) => new ProxyError(malformed ? "upstream_bad_response" : "upstream_closed", m, { cause }),
      dstError: (m, cause) => new ProxyError("client_closed", m, { cause }),
    });
  } catch (e) {
    if (!(e instanceof ProxyError)) throw e;
    return { messages: [], end: e.kind === "upstream_closed" ? "body:truncated" : `body:${e.status}` };
  }
  const rest: Uint8Array[] = [reader.take(reader.buffered).slice()];
  for (let c = await reader.read(); c !== null; c = await reader.read()) rest.push(c.slice());
  return {
    messages: [{ interims, final: headOf(res), framing: framing.kind, body: textOf(dst.written()), rest: textOf(concatBytes(rest)) }],
    end: "ok",
  };
}

/** What the reference reads: interims, then the final response, raw and decoded. */
function referenceRun(bytes: Uint8Array, method: string, limits: Limits): { raw: Run; decoded: Run; reason: string } {
  const lim: Partial<RefLimits> = { maxLine: limits.maxHead, maxHead: limits.maxHead, maxFields: limits.maxFields };
  const interims: SeenHead[] = [];
  let pos = 0;
  for (;;) {
    const r = refParseResponse(bytes, pos, method, { limits: lim, ...FERRY_LENIENCIES });
    if (!r.ok) return { raw: { messages: [], end: "refused" }, decoded: { messages: [], end: "refused" }, reason: r.reason };
    const m = r.message;
    const head = { version: m.version, status: m.status, reason: m.reason, fields: m.fields };
    if (m.status < 200 && m.status !== 101) {
      if (interims.length >= MAX_INTERIM_RESPONSES) return { raw: { messages: [], end: "refused" }, decoded: { messages: [], end: "refused" }, reason: "too many interim responses" };
      interims.push(head);
      pos = m.end;
      continue;
    }
    const seen: Seen = {
      interims,
      final: head,
      framing: m.framing,
      body: textOf(bytes.subarray(m.headEnd, m.end)),
      rest: textOf(bytes.subarray(m.end)),
    };
    return {
      raw: { messages: [seen], end: "ok" },
      decoded: { messages: [{ ...seen, body: textOf(m.body) }], end: "ok" },
      reason: "accepted",
    };
  }
}

function assertAgrees(ferry: Run, ref: Run, context: string): void {
  assert.deepEqual(ferry.messages, ref.messages, `ferry and the reference read different responses\n${context}`);
  if (ref.end === "ok") assert.equal(ferry.end, "ok", `the reference accepts the response, ferry does not\n${context}`);
  else assert.notEqual(ferry.end, "ok", `the reference refuses the response, ferry accepts it\n${context}`);
}

test("fuzz: ferry reads responses exactly as the strict reference does, however the bytes are split", { timeout: 60_000 + PARAMS.numRuns * 100 }, async () => {
  await fc.assert(
    fc.asyncProperty(responseInputArb, limitsArb, cutsArb, cutsArb, async (input, limits, cutsA, cutsB) => {
      const bytes = bytesOf(input.text);
      const ref = referenceRun(bytes, input.method, limits);
      const context = `input (answering ${input.method}): ${show(bytes)}\nlimits: ${JSON.stringify(limits)}\nreference: ${ref.raw.end} (${ref.reason})`;
      const whole = await bounded(ferryRun([bytes], input.method, limits, false), "ferry on the whole input");
      const split = await bounded(ferryRun(splitAt(bytes, cutsA), input.method, limits, false), "ferry on split input");
      const decoded = await bounded(ferryRun(splitAt(bytes, cutsB), input.method, limits, true), "ferry decoding");
      assertSameOutcome(split, whole, `${context}\ncut at: ${JSON.stringify(cutsA)}`);
      assertSameOutcome({ ...decoded, messages: [] }, { ...whole, messages: [] }, `${context}\n(dechunk mode, cut at ${JSON.stringify(cutsB)})`);
      assertAgrees(whole, ref.raw, context);
      assertAgrees(decoded, ref.decoded, `${context}\n(dechunk mode)`);
    }),
    PARAMS,
  );
});
