/**
 * Generators for the HTTP fuzz tests (tests/fuzz/): valid-ish requests and responses built from
 * a small model (methods, targets, fields, Content-Length or chunked bodies with extensions and
 * trailers), then byte-level mutations (flips, inserted CR/LF/NUL/SP/colon, deleted or
 * duplicated lines, changed digits, LF for CRLF, truncation), and the random points at which
 * the bytes are split into reads or writes.
 *
 * Runs are reproducible: `FUZZ_SEED` (default: the file's fixed seed), `FUZZ_RUNS` (default: the
 * file's CI count) and `FUZZ_PATH` (the `path` fast-check prints with a failure, to replay just
 * that case) come from the environment, and every file prints the seed it used.
 * `FUZZ_NO_SHRINK=1` reports the first failure as generated instead of shrinking it.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import process from "node:process";

// --- run parameters --------------------------------------------------------------------------

export interface FuzzParams {
  seed: number;
  numRuns: number;
  path?: string;
  endOnFailure?: boolean;
}

/** The fast-check parameters for one property, from the environment or the defaults; logs them. */
export function fuzzParams(name: string, defaults: { seed: number; runs: number }): FuzzParams {
  const seedText = process.env.FUZZ_SEED?.trim();
  const runsText = process.env.FUZZ_RUNS?.trim();
  const seed = seedText ? Number(seedText) | 0 : defaults.seed;
  const runs = runsText ? Math.max(1, Number(runsText) | 0) : defaults.runs;
  const path = process.env.FUZZ_PATH?.trim() || undefined;
  // FUZZ_NO_SHRINK=1 reports the first failing case as it was generated.
  const endOnFailure = process.env.FUZZ_NO_SHRINK === "1";
  console.log(`fuzz ${name}: seed=${seed} runs=${runs}${path ? ` path=${path}` : ""} (FUZZ_SEED, FUZZ_RUNS, FUZZ_PATH to change)`);
  return { seed, numRuns: runs, ...(path ? { path } : {}), ...(endOnFailure ? { endOnFailure } : {}) };
}

// --- bytes -----------------------------------------------------------------------------------

/** A string whose chars are all < 256 to the same bytes. */
export function bytesOf(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/** Bytes to a string, one char per byte. */
export function textOf(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode(...b.subarray(i, i + 4096));
  return s;
}

/** For messages: the bytes as a JSON string, cut at `max` chars. */
export function show(b: Uint8Array, max = 600): string {
  const s = JSON.stringify(textOf(b.subarray(0, max)));
  return b.length > max ? `${s}… (${b.length} bytes)` : s;
}

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Cuts `b` at the given points (each taken modulo `b.length + 1`); no empty piece. `-1` in
 * `cuts` means byte by byte.
 */
export function splitAt(b: Uint8Array, cuts: number[]): Uint8Array[] {
  if (cuts.includes(-1)) return Array.from(b, (_, i) => b.subarray(i, i + 1));
  const points = [...new Set(cuts.map((c) => c % (b.length + 1)))].filter((p) => p > 0 && p < b.length).sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, b.length]) {
    if (p > prev) out.push(b.subarray(prev, p));
    prev = p;
  }
  return out;
}

/** Where to split: a few random points, sometimes every byte. */
export const cutsArb: fc.Arbitrary<number[]> = fc.oneof(
  { weight: 12, arbitrary: fc.array(fc.nat(1 << 16), { maxLength: 8 }) },
  { weight: 1, arbitrary: fc.constant<number[]>([-1]) },
);

// --- mutations -------------------------------------------------------------------------------

export type Mutation =
  | { op: "flip"; at: number; byte: number }
  | { op: "insert"; at: number; text: string }
  | { op: "delete"; at: number; n: number }
  | { op: "dupLine"; line: number }
  | { op: "dropLine"; line: number }
  | { op: "digit"; nth: number; to: string }
  | { op: "bareLf"; nth: number }
  | { op: "truncate"; at: number };

const INSERTS = ["\r", "\n", "\r\n", "\0", " ", "\t", ":", ";", ",", "0", "a", "\x7f", "\xff", "\xa0", '"', "#", "%", "\\", "\x0b", "=", "-"];

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ op: fc.constant("flip" as const), at: fc.nat(1 << 16), byte: fc.nat(255) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("insert" as const), at: fc.nat(1 << 16), text: fc.constantFrom(...INSERTS) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), at: fc.nat(1 << 16), n: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("dupLine" as const), line: fc.nat(64) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("dropLine" as const), line: fc.nat(64) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("digit" as const), nth: fc.nat(64), to: fc.constantFrom(..."0123456789aAfFgx+- ") }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("bareLf" as const), nth: fc.nat(64) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("truncate" as const), at: fc.nat(1 << 16) }) },
);

/** No mutation in two cases out of five, else one to three. */
export const mutationsArb: fc.Arbitrary<Mutation[]> = fc.oneof(
  { weight: 2, arbitrary: fc.constant<Mutation[]>([]) },
  { weight: 3, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 3 }) },
);

function lineStarts(s: string): number[] {
  const out = [0];
  for (let i = s.indexOf("\r\n"); i >= 0; i = s.indexOf("\r\n", i + 2)) out.push(i + 2);
  return out;
}

/** Applies `m` to `s` (one char per byte). */
export function mutate(s: string, ms: Mutation[]): string {
  for (const m of ms) {
    const at = (n: number) => n % (s.length + 1);
    switch (m.op) {
      case "flip":
        if (s.length) {
          const i = m.at % s.length;
          s = s.slice(0, i) + String.fromCharCode(m.byte) + s.slice(i + 1);
        }
        break;
      case "insert":
        s = s.slice(0, at(m.at)) + m.text + s.slice(at(m.at));
        break;
      case "delete":
        s = s.slice(0, at(m.at)) + s.slice(at(m.at) + m.n);
        break;
      case "dupLine":
      case "dropLine": {
        const starts = lineStarts(s);
        const k = m.line % starts.length;
        const a = starts[k];
        const b = k + 1 < starts.length ? starts[k + 1] : s.length;
        s = m.op === "dupLine" ? s.slice(0, b) + s.slice(a, b) + s.slice(b) : s.slice(0, a) + s.slice(b);
        break;
      }
      case "digit": {
        const where: number[] = [];
        for (let i = 0; i < s.length; i++) if (/[0-9a-fA-F]/.test(s[i])) where.push(i);
        if (where.length) {
          const i = where[m.nth % where.length];
          s = s.slice(0, i) + m.to + s.slice(i + 1);
        }
        break;
      }
      case "bareLf": {
        const where: number[] = [];
        for (let i = s.indexOf("\r\n"); i >= 0; i = s.indexOf("\r\n", i + 1)) where.push(i);
        if (where.length) {
          const i = where[m.nth % where.length];
          s = s.slice(0, i) + s.slice(i + 1);
        }
        break;
      }
      case "truncate":
        s = s.slice(0, at(m.at));
        break;
    }
  }
  return s;
}

// --- pieces of messages ----------------------------------------------------------------------

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const tokenArb = (max = 10) => fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: max });

/** Optional whitespace around a value: mostly one space, sometimes none, tabs or several. */
const owsArb = fc.constantFrom("", " ", " ", " ", "  ", "\t", " \t ");

/** Field-value text: printable ASCII, sometimes spaces, tabs, obs-text and the NBSP JS trims. */
const valueCharArb = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom(..."abcdefxyzABC0123456789-_.,;:=/?()<>@[]{}\"'!*+") },
  { weight: 3, arbitrary: fc.constantFrom(" ", "\t") },
  { weight: 1, arbitrary: fc.constantFrom("\x80", "\xa0", "\xe9", "\xff") },
);
const valueArb = fc.string({ unit: valueCharArb, maxLength: 16 });

const hostArb = fc.oneof(
  { weight: 24, arbitrary: fc.constantFrom("example.com", "example.com:8080", "a.test", "127.0.0.1:80", "localhost") },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "EXAMPLE.com",
      "[::1]:8080",
      "[2001:db8::7]",
      "[::ffff:1.2.3.4]",
      "xn--bcher-kva.example",
      "a%41b",
      "",
      "example.com.",
      "sub_domain.test:",
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "a%zz",
      "a%4",
      "[::::]",
      "[1.2.3.4]",
      "[1::2::3]",
      "[v1.x]",
      "[fe80::1%25eth0]",
      "user@host",
      "host:99999",
      "host:123456",
      ":80",
      "a b",
      "a,b",
      "[::1",
      "a:b:c",
      "\xe9.test",
    ),
  },
);

const pathCharArb = fc.oneof(
  { weight: 100, arbitrary: fc.constantFrom(..."abcxyz0189-._~!$&'()*+,;=:@/") },
  { weight: 8, arbitrary: fc.constantFrom("%41", "%2F", "%2e", "?", "?a=b", "&") },
  { weight: 2, arbitrary: fc.constantFrom("%", "%z", "%4", "|", "^", "{", "}", "`", '"', "<", ">", "\\", "[", "]") },
  { weight: 3, arbitrary: fc.constantFrom("#", "\x7f", "\xe9", "\t") },
);
const pathArb = fc.string({ unit: pathCharArb, maxLength: 12 }).map((p) => "/" + p);

const targetArb = fc.oneof(
  { weight: 30, arbitrary: pathArb },
  { weight: 1, arbitrary: fc.constant("*") },
  {
    weight: 3,
    arbitrary: fc.tuple(fc.constantFrom("http", "https", "HTTP", "ftp", "http:", "h"), hostArb, fc.oneof(pathArb, fc.constantFrom("", "?q=1", "?")))
      .map(([scheme, host, rest]) => `${scheme}://${host}${rest}`),
  },
  { weight: 1, arbitrary: fc.constantFrom("example.com:443", "http:/x", "//a/b", "", "a/b", "http://", "http://[::1]") },
);

const methodArb = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom("GET", "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH") },
  { weight: 2, arbitrary: tokenArb(8) },
  { weight: 1, arbitrary: fc.constantFrom("CONNECT", "get", "M-SEARCH", "GE T", "G\0T", "") },
);

const requestVersionArb = fc.oneof(
  { weight: 40, arbitrary: fc.constant("HTTP/1.1") },
  { weight: 10, arbitrary: fc.constant("HTTP/1.0") },
  { weight: 1, arbitrary: fc.constantFrom("HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "http/1.1", "HTTP/1.1 ", "HTTP/11", "HTTP/1") },
);

/** Content-Length values for a body of `n` bytes, most of them right. */
function clValueArb(n: number): fc.Arbitrary<string[]> {
  return fc.oneof(
    { weight: 14, arbitrary: fc.constant<string[]>([String(n)]) },
    {
      weight: 4,
      arbitrary: fc.constantFrom<string[]>(
        [`0${n}`],
        [`${n}, ${n}`],
        [`${n},${n}`],
        [String(n), String(n)],
        [`${n}${" "}`],
        [`000000000000000${n}`],
      ),
    },
    {
      weight: 3,
      arbitrary: fc.constantFrom<string[]>(
        [`${n},${n + 1}`],
        [`${n + 1}, ${n}`],
        [String(n), String(n + 1)],
        [String(n + 2), String(n)],
        [`+${n}`],
        [`-${n}`],
        [`${n}.0`],
        [`0x${n.toString(16)}`],
        [`${n},`],
        [`, ${n}`],
        [`${n},\xa0${n}`],
        [""],
        [`${n} ${n}`],
        ["1".repeat(16)],
      ),
    },
  );
}

const teValueArb = fc.oneof(
  { weight: 12, arbitrary: fc.constant<string[]>(["chunked"]) },
  { weight: 3, arbitrary: fc.constantFrom<string[]>(["Chunked"], ["CHUNKED"], ["chunked,"], [", chunked"], [" chunked"]) },
  {
    weight: 3,
    arbitrary: fc.constantFrom<string[]>(
      ["gzip, chunked"],
      ["chunked, chunked"],
      ["chunked", "chunked"],
      ["identity"],
      ["chunked;q=1"],
      [""],
      ["chunked\xa0"],
      ["\xa0chunked"],
      ["chunk"],
      ["gzip"],
      ["chunked, gzip"],
    ),
  },
);

export type Field = [string, string];

const REQUEST_NAMES = [
  "Accept",
  "User-Agent",
  "X-Custom",
  "Cookie",
  "Content-Type",
  "Accept-Encoding",
  "X-Forwarded-For",
  "Via",
  "Trailer",
  "Expect",
  "Authorization",
  "If-None-Match",
  "x-dup",
];
const RESPONSE_NAMES = ["Content-Type", "Set-Cookie", "Cache-Control", "ETag", "Location", "X-Custom", "Vary", "Via", "Trailer", "Date", "x-dup"];

/** One generic field: a known or random name, a value; rarely a hop-by-hop one. */
function fieldArb(names: string[]): fc.Arbitrary<Field> {
  return fc.oneof(
    { weight: 30, arbitrary: fc.tuple(fc.constantFrom(...names), valueArb) },
    { weight: 8, arbitrary: fc.tuple(tokenArb(12), valueArb) },
    {
      weight: 6,
      arbitrary: fc.tuple(
        fc.constantFrom("Connection", "Connection", "Keep-Alive", "TE", "Upgrade", "Proxy-Connection", "Proxy-Authorization", "Proxy-Authenticate"),
        fc.constantFrom(
          "close",
          "keep-alive",
          "Close",
          "x-custom",
          "X-Custom, x-dup",
          "upgrade",
          "trailers",
          "timeout=5",
          "close\xa0",
          ",close",
          "keep-alive, x-dup",
          "foo",
          "cookie",
          "Content-Type",
        ),
      ),
    },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom("Bad Name", "Bad:Name", "", "Ä", "X-\0", "Accept ", "X-Custom\t", " X-Custom"), valueArb) },
  );
}

/** A field line: name, colon, OWS, value, OWS (the OWS is part of the test). */
function fieldLine([name, value]: Field, pre: string, post: string): string {
  return `${name}:${pre}${value}${post}`;
}

const fieldLinesArb = (names: string[], max: number) =>
  fc.array(fc.tuple(fieldArb(names), owsArb, owsArb).map(([f, a, b]) => fieldLine(f, a, b)), { maxLength: max });

// --- bodies ----------------------------------------------------------------------------------

const bodyDataArb = fc.string({ unit: fc.oneof(fc.constantFrom(..."abcXYZ019 \r\n"), fc.nat(255).map((c) => String.fromCharCode(c))), maxLength: 24 });

const chunkExtArb = fc.oneof(
  { weight: 10, arbitrary: fc.constant("") },
  { weight: 3, arbitrary: fc.constantFrom(";a", ";a=b", ";name=value", '; q="x y"', " ;a", ";a;b=c", ';a="\\"q"') },
  { weight: 1, arbitrary: fc.constantFrom(";", " ;", ";=x", ";a b", ";a=", ';a="x', ";a=b ", "\t;a\t=\tb") },
);

/**
 * A chunk: its data, and how its size is written (hex case, leading zeros up to and past 15
 * digits, extension, and now and then a size one off from the data's).
 */
const chunkArb = fc.record({
  data: bodyDataArb.filter((d) => d.length > 0),
  upper: fc.boolean(),
  zeros: fc.constantFrom("", "", "", "", "0", "00", "0".repeat(13), "0".repeat(14), "0".repeat(15)),
  ext: chunkExtArb,
  delta: fc.constantFrom(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, 1),
});

const trailerLinesArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant([] as string[]) },
  { weight: 2, arbitrary: fieldLinesArb(["X-Checksum", "Expires", "X-Custom", "Server-Timing"], 3) },
);

export interface BodyPlan {
  /** Field lines that frame the body (Content-Length, Transfer-Encoding). */
  framingLines: string[];
  /** The bytes after the head. */
  wire: string;
}

function clLines(values: string[], ows: string): string[] {
  return values.map((v) => `Content-Length:${ows}${v}`);
}

interface ChunkPlan {
  data: string;
  upper: boolean;
  zeros: string;
  ext: string;
  delta: number;
}

function chunkedWire(chunks: ChunkPlan[], lastExt: string, trailers: string[]): string {
  let s = "";
  for (const c of chunks) {
    const hex = Math.max(0, c.data.length + c.delta).toString(16);
    s += `${c.zeros}${c.upper ? hex.toUpperCase() : hex}${c.ext}\r\n${c.data}\r\n`;
  }
  return s + `0${lastExt}\r\n` + trailers.map((t) => t + "\r\n").join("") + "\r\n";
}

/** A body with its framing fields: none, Content-Length, chunked, or (rarely) both. */
export const bodyPlanArb: fc.Arbitrary<BodyPlan> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom<BodyPlan>({ framingLines: [], wire: "" }, { framingLines: ["Content-Length: 0"], wire: "" }) },
  {
    weight: 5,
    arbitrary: bodyDataArb.chain((data) =>
      fc.tuple(clValueArb(data.length), owsArb).map(([values, ows]) => ({ framingLines: clLines(values, ows), wire: data }))
    ),
  },
  {
    weight: 6,
    arbitrary: fc.tuple(fc.array(chunkArb, { maxLength: 3 }), chunkExtArb, trailerLinesArb, teValueArb, owsArb).map(
      ([chunks, lastExt, trailers, te, ows]) => ({
        framingLines: te.map((v) => `Transfer-Encoding:${ows}${v}`),
        wire: chunkedWire(chunks, lastExt, trailers),
      }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(bodyDataArb, fc.boolean()).map(([data, teFirst]) => {
      const lines = [`Content-Length: ${data.length}`, "Transfer-Encoding: chunked"];
      return { framingLines: teFirst ? lines.reverse() : lines, wire: data.length ? chunkedWire([{ data, upper: false, zeros: "", ext: "", delta: 0 }], "", []) : data };
    }),
  },
);

// --- requests --------------------------------------------------------------------------------

export interface RequestPlan {
  lead: string;
  /** What separates the request line's parts: one SP, nearly always. */
  seps: [string, string];
  method: string;
  target: string;
  version: string;
  /** Host lines (usually one). */
  hostLines: string[];
  fieldLines: string[];
  body: BodyPlan;
  /** Where the framing lines go among the other fields. */
  framingAt: number;
}

const hostLinesArb = fc.oneof(
  { weight: 40, arbitrary: fc.tuple(hostArb, owsArb).map(([h, ows]) => [`Host:${h ? ows : ""}${h}`]) },
  { weight: 1, arbitrary: fc.constant([] as string[]) },
  { weight: 1, arbitrary: fc.tuple(hostArb, hostArb).map(([a, b]) => [`Host: ${a}`, `host: ${b}`]) },
  { weight: 1, arbitrary: fc.constantFrom<string[]>(["Host: example.com", "Host: example.com"], ["Host : example.com"], [" Host: x"], ["Host:\texample.com\t"]) },
);

const sepArb = fc.oneof({ weight: 40, arbitrary: fc.constant(" ") }, { weight: 1, arbitrary: fc.constantFrom("  ", "\t", " \t", "\x0b") });

export const requestPlanArb: fc.Arbitrary<RequestPlan> = fc.record({
  lead: fc.constantFrom("", "", "", "", "", "", "\r\n", "\r\n\r\n"),
  seps: fc.tuple(sepArb, sepArb),
  method: methodArb,
  target: targetArb,
  version: requestVersionArb,
  hostLines: hostLinesArb,
  fieldLines: fieldLinesArb(REQUEST_NAMES, 5),
  body: bodyPlanArb,
  framingAt: fc.nat(6),
});

export function requestText(p: RequestPlan): string {
  const fields = [...p.hostLines, ...p.fieldLines];
  const at = Math.min(p.framingAt, fields.length);
  fields.splice(at, 0, ...p.body.framingLines);
  return `${p.lead}${p.method}${p.seps[0]}${p.target}${p.seps[1]}${p.version}\r\n${fields.map((f) => f + "\r\n").join("")}\r\n${p.body.wire}`;
}

export interface FuzzInput {
  /** The bytes, as a string of one char per byte. */
  text: string;
  mutations: Mutation[];
}

/** One to three pipelined requests, then mutations over the whole. */
export const requestsInputArb: fc.Arbitrary<FuzzInput> = fc.tuple(
  fc.oneof({ weight: 5, arbitrary: fc.array(requestPlanArb, { minLength: 1, maxLength: 1 }) }, {
    weight: 2,
    arbitrary: fc.array(requestPlanArb, { minLength: 2, maxLength: 3 }),
  }),
  mutationsArb,
).map(([plans, mutations]) => ({ text: mutate(plans.map(requestText).join(""), mutations), mutations }));

// --- responses -------------------------------------------------------------------------------

const statusArb = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom("200", "200", "201", "204", "206", "301", "304", "404", "500", "503") },
  { weight: 2, arbitrary: fc.constantFrom("101", "199", "599", "600", "999", "099", "000", "20", "2000", "2x0", " 200") },
);

const reasonArb = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom(" OK", " Not Found", " ", "", " Tr\xe8s bien", " a\tb", " ok ") },
  { weight: 1, arbitrary: fc.constantFrom(" O\0K", " \x7f", "  OK", "\tOK", " O\x1bK") },
);

const responseVersionArb = fc.oneof(
  { weight: 40, arbitrary: fc.constant("HTTP/1.1") },
  { weight: 8, arbitrary: fc.constant("HTTP/1.0") },
  { weight: 1, arbitrary: fc.constantFrom("HTTP/1.2", "HTTP/2", "http/1.1", "HTTP/1.1 ") },
);

export interface ResponsePlan {
  lead: string;
  interims: string[];
  version: string;
  status: string;
  reason: string;
  fieldLines: string[];
  /** A close-delimited body instead of the plan's framing (only without framing lines). */
  body: BodyPlan;
  closeBody: string | null;
  framingAt: number;
}

const interimArb = fc.tuple(fc.constantFrom("100 Continue", "102 Processing", "103 Early Hints", "100"), fieldLinesArb(["Link", "X-Custom"], 2))
  .map(([line, fields]) => `HTTP/1.1 ${line}\r\n${fields.map((f) => f + "\r\n").join("")}\r\n`);

export const responsePlanArb: fc.Arbitrary<ResponsePlan> = fc.record({
  lead: fc.constantFrom("", "", "", "", "", "\r\n"),
  interims: fc.oneof({ weight: 6, arbitrary: fc.constant([] as string[]) }, { weight: 1, arbitrary: fc.array(interimArb, { minLength: 1, maxLength: 2 }) }),
  version: responseVersionArb,
  status: statusArb,
  reason: reasonArb,
  fieldLines: fieldLinesArb(RESPONSE_NAMES, 5),
  body: bodyPlanArb,
  closeBody: fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: bodyDataArb }),
  framingAt: fc.nat(6),
});

export function responseText(p: ResponsePlan): string {
  const fields = [...p.fieldLines];
  const at = Math.min(p.framingAt, fields.length);
  const close = p.closeBody !== null;
  if (!close) fields.splice(at, 0, ...p.body.framingLines);
  const head = `${p.lead}${p.interims.join("")}${p.version} ${p.status}${p.reason}\r\n${fields.map((f) => f + "\r\n").join("")}\r\n`;
  return head + (close ? p.closeBody : p.body.wire);
}

export interface ResponseInput extends FuzzInput {
  /** The method of the request being answered. */
  method: "GET" | "HEAD";
}

export const responseInputArb: fc.Arbitrary<ResponseInput> = fc.tuple(
  responsePlanArb,
  mutationsArb,
  fc.oneof({ weight: 6, arbitrary: fc.constant("GET" as const) }, { weight: 1, arbitrary: fc.constant("HEAD" as const) }),
).map(([plan, mutations, method]) => ({ text: mutate(responseText(plan), mutations), mutations, method }));

// --- what a proxy passes on ------------------------------------------------------------------

/** RFC 9110 §7.6.1 (and §11.7 for the Proxy-* pair): never forwarded as they came. */
export const HOP_BY_HOP = new Set(["connection", "proxy-connection", "keep-alive", "te", "transfer-encoding", "upgrade", "proxy-authenticate", "proxy-authorization"]);

/** The names listed in Connection (RFC 9110 §7.6.1), lowercased. */
export function connectionNames(fields: Field[]): Set<string> {
  const out = new Set<string>();
  for (const [n, v] of fields) {
    if (n.toLowerCase() !== "connection") continue;
    for (const part of v.split(",")) {
      const t = part.replace(/^[ \t]+|[ \t]+$/g, "").toLowerCase();
      if (t) out.add(t);
    }
  }
  return out;
}

/**
 * The end-to-end fields, in order: without hop-by-hop ones, without those named in Connection,
 * and without `skip` (the fields a proxy rewrites: Via, X-Forwarded-*, framing, ...).
 */
export function endToEnd(fields: Field[], skip: Iterable<string>): Field[] {
  const drop = new Set([...HOP_BY_HOP, ...connectionNames(fields), ...skip]);
  return fields.filter(([n]) => !drop.has(n.toLowerCase()));
}

/** The origin-form a proxy sends for `target` (RFC 9112 §3.2.1: absolute-form loses its authority). */
export function originForm(target: string): string {
  if (target.startsWith("/") || target === "*") return target;
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*(.*)$/.exec(target);
  if (!m) throw new Error(`not an absolute-form target: ${target}`);
  return m[1].startsWith("/") ? m[1] : "/" + m[1];
}

// --- running ferry on a case -----------------------------------------------------------------

/** Longest a single run may take before it counts as a hang. */
const CASE_BOUND_MS = 2_000;

/** Runs `p`, failing the case if it takes longer than the bound (a hang). */
export async function bounded<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${CASE_BOUND_MS} ms (a hang)`)), CASE_BOUND_MS);
  });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** What a unit fuzz test saw: the messages read, then how the stream ended. */
export interface FuzzRun {
  messages: unknown[];
  /**
   * "clean" (EOF between messages; for a response, "ok"), or where and how the next message
   * was refused: `head:<readHead's reason>`, `parse:<status>` or `body:<status | truncated>`.
   */
  end: string;
}

/**
 * The status a client would get for `end` ("truncated": none, the connection is closed).
 */
export function verdict(end: string): string {
  const head: Record<string, string> = { malformed: "400", line_too_long: "414", head_too_long: "431", truncated: "truncated" };
  if (end.startsWith("head:")) return head[end.slice(5)];
  return end.replace(/^(parse|body):/, "");
}

/**
 * Whether two runs of the same bytes, split differently, agree: the same messages, and the same
 * verdict on the next one, with one exception. When readHead (lib/net/reader.ts) refuses a head
 * with several faults, which fault it names first can depend on the split (whether the head is
 * refused cannot, nor whether it gets to the head parser). Found by this test:
 *   "CONNECT / HTTP/1.1\r\nTransfer-Encoding:chunked\nHost:example.com\r\n\r\n", with
 *     max_head_size 40: whole, "malformed" (400, the bare LF); cut before the LF, "head_too_long" (431).
 *   "GET /\rX", then EOF: whole, "malformed" (400); cut just after the CR, "truncated" (a
 *     silent close): a CR at the end of a read is let through and not looked at again.
 */
export function assertSameOutcome(a: FuzzRun, b: FuzzRun, context: string): void {
  assert.deepEqual(a.messages, b.messages, `the messages depend on how the bytes were split\n${context}`);
  const headStage = (e: string) => e.startsWith("head:") || e.startsWith("parse:");
  if ((a.end.startsWith("head:") || b.end.startsWith("head:")) && headStage(a.end) && headStage(b.end)) return;
  assert.equal(verdict(a.end), verdict(b.end), `the verdict depends on how the bytes were split (${a.end} / ${b.end})\n${context}`);
}
