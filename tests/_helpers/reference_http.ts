/**
 * A small, strict HTTP/1.1 message parser for tests, written from the grammar of RFC 9112
 * (message syntax), RFC 9110 (fields, framing) and RFC 3986 (URIs). It shares no code with
 * lib/http on purpose: the fuzz tests hold ferry's parsers to what this one reads.
 *
 * Given bytes (the whole stream, or what arrived so far) and an offset, it returns either the
 * next message, decoded (fields trimmed of OWS, body without its chunked framing), or a refusal
 * `{ ok: false }` that says whether the bytes were merely cut short (`incomplete`) and where
 * (`stage`: head or body).
 *
 * Strict everywhere RFC 9112 lets a recipient be: one SP between the request-line parts, CRLF
 * only, no obs-fold, no whitespace before a colon, token field names, no CTLs but HTAB in values,
 * exactly one valid Host in a 1.1 request, no Content-Length with Transfer-Encoding, a lone
 * `chunked` coding in 1.1 and none in 1.0, Content-Length digits only and all equal.
 *
 * Where ferry is stricter than the RFC lets it be, in a defensible way, this parser is too,
 * marked "ferry:" with the reason. Two deliberate ferry leniencies are options
 * (`FERRY_LENIENCIES`), off by default, so the grammar itself stays here in full.
 */

export type RefField = [name: string, value: string];

export interface RefLimits {
  /** Longest start line, CRLF excluded (ferry: `max_request_line`, 414). */
  maxLine: number;
  /** Largest head, start line through the blank line (ferry: `max_head_size`, 431). */
  maxHead: number;
  /** Most header fields (ferry: `max_headers`, 431). */
  maxFields: number;
  /** Longest chunk-size line, CRLF excluded (ferry: 4 KiB). */
  maxChunkLine: number;
  /** Largest trailer section, its CRLFs included (ferry: 32 KiB). */
  maxTrailerBytes: number;
  /** Most trailer fields (ferry: 100). */
  maxTrailerFields: number;
  /**
   * Largest request body (ferry: `max_body_size`, 413): a larger Content-Length is refused with
   * the head, a chunk that would cross it as soon as its size line is read.
   */
  maxBody: number;
}

export const DEFAULT_REF_LIMITS: RefLimits = {
  maxLine: 8192,
  maxHead: 32 * 1024,
  maxFields: 100,
  maxChunkLine: 4096,
  maxTrailerBytes: 32 * 1024,
  maxTrailerFields: 100,
  maxBody: Infinity,
};

export interface RefOptions {
  limits?: Partial<RefLimits>;
  /**
   * True (default): the bytes are the whole stream, so a close-delimited response body ends with
   * them. False: more may follow, and such a body is `incomplete`.
   */
  eof?: boolean;
  /** Any VCHAR but "#" in a request-target (see `FERRY_LENIENCIES`). */
  lenientTarget?: boolean;
  /** Any text after a chunk size's ";" (see `FERRY_LENIENCIES`). */
  lenientChunkExt?: boolean;
}

/**
 * The two places where ferry deliberately accepts more than the grammar, both safe because
 * ferry forwards those bytes unchanged and they cannot move a message or line boundary:
 *
 * - request-target: RFC 3986 allows only unreserved, sub-delims, ":", "@", "/", "?" and
 *   well-formed pct-encoding; ferry takes any VCHAR except "#" (RFC 9112 §3.2 says a server
 *   SHOULD answer an invalid request-line with 400, not MUST). Browsers send `|`, `^`, `{`, `}`
 *   and `` ` `` unencoded (WHATWG URL's percent-encode sets leave them), and the README promises
 *   the target is forwarded byte for byte, so the backend judges it.
 * - chunk extensions: RFC 9112 §7.1.1 gives them a grammar (`;name[=token|quoted-string]`), but
 *   a recipient MUST ignore the ones it does not know; ferry only checks that the line is text
 *   ending in CRLF and passes it on as is (tests/http/body_test.ts pins "5;" and "5 ;").
 */
export const FERRY_LENIENCIES: Pick<RefOptions, "lenientTarget" | "lenientChunkExt"> = {
  lenientTarget: true,
  lenientChunkExt: true,
};

export interface RefBody {
  framing: "none" | "length" | "chunked" | "close";
  /** The payload, chunked framing removed. */
  body: Uint8Array;
  /** Trailer fields of a chunked body. */
  trailers: RefField[];
  /** Each chunk-size line as it came (chunked only), e.g. `"5;ext=1"`. */
  chunkLines: string[];
  /** Offset of the first byte of the message's start line (leading CRLFs skipped). */
  start: number;
  /** Offset just past the head's blank line: the body starts here. */
  headEnd: number;
  /** Offset just past the message. */
  end: number;
}

export interface RefRequest extends RefBody {
  method: string;
  target: string;
  version: "HTTP/1.0" | "HTTP/1.1";
  fields: RefField[];
  /** The absolute-form target's authority, else the Host value, else null. */
  authority: string | null;
  /** The connection may carry another request after this one (RFC 9112 §9.3). */
  keepAlive: boolean;
}

export interface RefResponse extends RefBody {
  version: "HTTP/1.0" | "HTTP/1.1";
  status: number;
  reason: string;
  fields: RefField[];
  keepAlive: boolean;
}

export interface RefReject {
  ok: false;
  /** The bytes ended before the message did, and nothing invalid came before. */
  incomplete: boolean;
  /** Nothing of a message arrived (only empty lines, or no byte): a clean end of stream. */
  empty: boolean;
  stage: "head" | "body";
  reason: string;
}

export type RefResult<T> = { ok: true; message: T } | RefReject;

// --- character classes (RFC 9110 §5.6.2, §5.5; RFC 3986 §2) ------------------------------

const TCHAR = charSet("!#$%&'*+-.^_`|~", [0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]);
const UNRESERVED = charSet("-._~", [0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]);
const SUB_DELIMS = charSet("!$&'()*+,;=");
const HEXDIG = charSet("", [0x30, 0x39], [0x41, 0x46], [0x61, 0x66]);

function charSet(chars: string, ...ranges: [number, number][]): Uint8Array {
  const t = new Uint8Array(256);
  for (const c of chars) t[c.charCodeAt(0)] = 1;
  for (const [a, b] of ranges) for (let c = a; c <= b; c++) t[c] = 1;
  return t;
}

function isToken(s: string): boolean {
  if (s === "") return false;
  for (let i = 0; i < s.length; i++) if (!TCHAR[s.charCodeAt(i)]) return false;
  return true;
}

const isVchar = (c: number) => c >= 0x21 && c <= 0x7e;
const isObsText = (c: number) => c >= 0x80 && c <= 0xff;
const isWs = (c: number) => c === 0x20 || c === 0x09;

/** field-value (RFC 9110 §5.5): field-vchar with SP/HTAB only between them. */
function isFieldValue(v: string): boolean {
  if (v === "") return true;
  if (isWs(v.charCodeAt(0)) || isWs(v.charCodeAt(v.length - 1))) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (!isVchar(c) && !isObsText(c) && !isWs(c)) return false;
  }
  return true;
}

/** OWS = *( SP / HTAB ) (RFC 9110 §5.6.3), off both ends. */
function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isWs(s.charCodeAt(a))) a++;
  while (b > a && isWs(s.charCodeAt(b - 1))) b--;
  return s.slice(a, b);
}

/** `#element` list (RFC 9110 §5.6.1): split on commas, OWS trimmed, empty elements ignored. */
function listElements(values: string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    for (const part of v.split(",")) {
      const e = trimOws(part);
      if (e !== "") out.push(e);
    }
  }
  return out;
}

function valuesOf(fields: RefField[], name: string): string[] {
  const lower = name.toLowerCase();
  return fields.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
}

/** Lowercases ASCII letters only (field names and codings are ASCII; values may not be). */
function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

// --- URIs (RFC 3986) -----------------------------------------------------------------------

/** `*( allowed / pct-encoded )`, where pct-encoded = "%" HEXDIG HEXDIG. */
function isPctString(s: string, allowed: (c: number) => boolean): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 /* % */) {
      if (!HEXDIG[s.charCodeAt(i + 1)] || !HEXDIG[s.charCodeAt(i + 2)]) return false;
      i += 2;
    } else if (c > 0xff || !allowed(c)) return false;
  }
  return true;
}

/** pchar without "%" (which isPctString handles): unreserved / sub-delims / ":" / "@". */
const isPcharNoPct = (c: number) => UNRESERVED[c] === 1 || SUB_DELIMS[c] === 1 || c === 0x3a || c === 0x40;

/** path-abempty [ "?" query ] (RFC 3986 §3.3, §3.4); `absolute` requires a leading "/". */
function isPathAndQuery(s: string, lenient: boolean): boolean {
  if (lenient) {
    // ferry: any VCHAR but "#", except that the path (not the query) may not hold the
    // characters RFC 3986 leaves out of pchar that backends read differently (`\` for `/`).
    for (let i = 0; i < s.length; i++) if (!isVchar(s.charCodeAt(i)) || s[i] === "#") return false;
    const q = s.indexOf("?");
    return !/["<>\\^`{|}]/.test(q < 0 ? s : s.slice(0, q));
  }
  const q = s.indexOf("?");
  const path = q < 0 ? s : s.slice(0, q);
  const query = q < 0 ? "" : s.slice(q + 1);
  return isPctString(path, (c) => isPcharNoPct(c) || c === 0x2f) &&
    isPctString(query, (c) => isPcharNoPct(c) || c === 0x2f || c === 0x3f);
}

function isDecOctet(s: string): boolean {
  return /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/.test(s);
}

function isIPv4(s: string): boolean {
  const p = s.split(".");
  return p.length === 4 && p.every(isDecOctet);
}

/** IPv6address (RFC 3986 §3.2.2): 8 groups, or fewer around one "::", the last two may be IPv4. */
function isIPv6(s: string): boolean {
  const dbl = s.indexOf("::");
  if (dbl >= 0 && s.indexOf("::", dbl + 1) >= 0) return false;
  const head = dbl >= 0 ? s.slice(0, dbl) : s;
  const tail = dbl >= 0 ? s.slice(dbl + 2) : null;
  const h = head === "" ? [] : head.split(":");
  const t = tail === null || tail === "" ? [] : tail.split(":");
  const last = tail === null ? h : t;
  let groups = 0;
  for (const [list, isLast] of [[h, last === h], [t, last === t]] as const) {
    for (let i = 0; i < list.length; i++) {
      const g = list[i];
      if (isLast && i === list.length - 1 && g.includes(".")) {
        if (!isIPv4(g)) return false;
        groups += 2;
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(g)) groups++;
      else return false;
    }
  }
  return dbl >= 0 ? groups <= 7 : groups === 8;
}

/**
 * uri-host [ ":" port ] (RFC 3986 §3.2.2, §3.2.3). The host may be empty only when the whole
 * value is (a Host for a target without authority, RFC 9110 §7.2).
 *
 * ferry: a port has at most 5 digits (none is a port number above 65535, RFC 6335 §6), an
 * IPvFuture literal is refused (nothing can route it), an empty host with a port (":80") is
 * refused (RFC 9110 §4.2.1: an http URI with an empty host is invalid), and so is a "," in a
 * reg-name (RFC 9110 §5.3: `a,b` is what two Host fields look like once a hop joined them).
 */
function isAuthority(a: string, allowEmpty: boolean): boolean {
  if (a === "") return allowEmpty;
  let host: string;
  let rest: string;
  if (a.startsWith("[")) {
    const close = a.indexOf("]");
    if (close < 0 || !isIPv6(a.slice(1, close))) return false;
    host = a.slice(0, close + 1);
    rest = a.slice(close + 1);
  } else {
    const colon = a.indexOf(":");
    host = colon < 0 ? a : a.slice(0, colon);
    rest = colon < 0 ? "" : a.slice(colon);
    // reg-name (an IPv4address is one too).
    if (host === "" || !isPctString(host, (c) => UNRESERVED[c] === 1 || (SUB_DELIMS[c] === 1 && c !== 0x2c))) return false;
  }
  if (rest === "") return true;
  return /^:[0-9]{0,5}$/.test(rest) && host !== "";
}

// --- the head ------------------------------------------------------------------------------

interface Head {
  startLine: string;
  fieldLines: string[];
  start: number;
  headEnd: number;
}

function reject(stage: "head" | "body", reason: string, incomplete = false, empty = false): RefReject {
  return { ok: false, incomplete, empty, stage, reason };
}

/** Bytes to a string, one char per byte. */
function chars(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode(...b.subarray(i, i + 4096));
  return s;
}

/** CTLs but HTAB, and DEL (CR and LF are looked at on their own). */
// deno-lint-ignore no-control-regex
const CTL_BUT_HTAB = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;

/**
 * Splits off one head: lines ending in CRLF up to the blank line. A bare CR or a bare LF is
 * invalid (RFC 9112 §2.2: a recipient may not treat either as a line end here, and a bare CR
 * must be rejected or replaced).
 */
function readHead(s: string, from: number, lim: RefLimits, skipEmptyLines: boolean): Head | RefReject {
  let i = from;
  // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request-line.
  // ferry skips any number (they count toward the head size limit), and none before a
  // status-line, where §2.2 allows nothing of the kind.
  if (skipEmptyLines) while (s.startsWith("\r\n", i)) i += 2;
  const start = i;
  if (start === s.length) return reject("head", "no message", true, true);
  const lines: string[] = [];
  let pos = start;
  for (;;) {
    const lf = s.indexOf("\n", pos);
    if (lf < 0) {
      const partial = s.slice(pos);
      const cr = partial.indexOf("\r");
      if (cr >= 0 && cr !== partial.length - 1) return reject("head", "bare CR");
      // No head line may hold a control byte but HTAB: refused now, whatever follows.
      if (CTL_BUT_HTAB.test(partial)) return reject("head", "control byte in a head line");
      const len = partial.endsWith("\r") ? partial.length - 1 : partial.length;
      if (lines.length === 0 && len > lim.maxLine) return reject("head", "start line too long");
      if (s.length - start > lim.maxHead) return reject("head", "head too large");
      return reject("head", "head cut short", true);
    }
    if (lf === pos || s.charCodeAt(lf - 1) !== 0x0d) return reject("head", "bare LF");
    const line = s.slice(pos, lf - 1);
    if (line.includes("\r")) return reject("head", "bare CR");
    if (CTL_BUT_HTAB.test(line)) return reject("head", "control byte in a head line");
    if (lines.length === 0 && line.length > lim.maxLine) return reject("head", "start line too long");
    pos = lf + 1;
    if (pos - start > lim.maxHead) return reject("head", "head too large");
    if (line === "") break;
    lines.push(line);
  }
  return { startLine: lines[0], fieldLines: lines.slice(1), start, headEnd: pos };
}

/** field-line = field-name ":" OWS field-value OWS (RFC 9112 §5). */
function parseFieldLine(line: string): RefField | string {
  // RFC 9112 §5.2: obs-fold is rejected (a server may, a proxy that unfolded it would change it).
  if (isWs(line.charCodeAt(0))) return "obs-fold";
  const colon = line.indexOf(":");
  if (colon < 0) return "field line without colon";
  const name = line.slice(0, colon);
  // RFC 9112 §5.1: no whitespace between name and colon (then the name is not a token).
  if (!isToken(name)) return `invalid field name ${JSON.stringify(name)}`;
  const value = trimOws(line.slice(colon + 1));
  if (!isFieldValue(value)) return `invalid value in field ${JSON.stringify(name)}`;
  return [name, value];
}

function parseFields(lines: string[], max: number): RefField[] | string {
  if (lines.length > max) return "too many fields";
  const out: RefField[] = [];
  for (const l of lines) {
    const f = parseFieldLine(l);
    if (typeof f === "string") return f;
    out.push(f);
  }
  return out;
}

function keepAliveOf(version: string, fields: RefField[]): boolean {
  const conn = listElements(valuesOf(fields, "connection")).map(asciiLower);
  if (conn.includes("close")) return false;
  return version === "HTTP/1.1" || conn.includes("keep-alive");
}

/**
 * Content-Length (RFC 9110 §8.6): 1*DIGIT; a list or repeated field only of equal values
 * (RFC 9112 §6.3 rule 5). Returns undefined without one, a string for an invalid one.
 * ferry: at most 15 digits (no body is larger, and the value stays an exact JS number).
 */
function contentLength(fields: RefField[]): number | undefined | string {
  const values = valuesOf(fields, "content-length");
  if (values.length === 0) return undefined;
  let n: number | undefined;
  for (const v of values) {
    for (const part of v.split(",")) {
      const e = trimOws(part);
      if (!/^[0-9]{1,15}$/.test(e)) return `invalid Content-Length ${JSON.stringify(v)}`;
      if (n !== undefined && Number(e) !== n) return "differing Content-Length values";
      n = Number(e);
    }
  }
  return n;
}

/**
 * Transfer-Encoding: in 1.1, exactly the one coding `chunked` (case-insensitive, RFC 9112 §7);
 * with Content-Length as well, refused (RFC 9112 §6.1: a smuggling attempt, MAY reject); in 1.0,
 * refused (RFC 9112 §6.1: faulty framing). ferry: other codings are refused too (it cannot
 * decode them, and a request whose final coding is not chunked cannot be framed, §6.3 rule 4).
 */
function transferFraming(fields: RefField[], version: string, hasCl: boolean): "chunked" | undefined | string {
  const values = valuesOf(fields, "transfer-encoding");
  if (values.length === 0) return undefined;
  if (hasCl) return "Transfer-Encoding with Content-Length";
  if (version === "HTTP/1.0") return "Transfer-Encoding in HTTP/1.0";
  const codings = listElements(values).map(asciiLower);
  if (codings.length !== 1 || codings[0] !== "chunked") return `unsupported Transfer-Encoding ${JSON.stringify(values.join(", "))}`;
  return "chunked";
}

// --- bodies --------------------------------------------------------------------------------

type BodyResult = { ok: true; body: Uint8Array; trailers: RefField[]; chunkLines: string[]; end: number } | RefReject;

/** The next CRLF-terminated line at `pos`, at most `max` chars; "incomplete" when it has not ended. */
function bodyLine(s: string, pos: number, max: number): { line: string; next: number } | RefReject {
  const lf = s.indexOf("\n", pos);
  if (lf < 0) {
    const partial = s.slice(pos);
    const cr = partial.indexOf("\r");
    if (cr >= 0 && cr !== partial.length - 1) return reject("body", "bare CR in chunked framing");
    if ((partial.endsWith("\r") ? partial.length - 1 : partial.length) > max) return reject("body", "chunked framing line too long");
    return reject("body", "chunked body cut short", true);
  }
  if (lf === pos || s.charCodeAt(lf - 1) !== 0x0d) return reject("body", "bare LF in chunked framing");
  const line = s.slice(pos, lf - 1);
  if (line.includes("\r")) return reject("body", "bare CR in chunked framing");
  if (line.length > max) return reject("body", "chunked framing line too long");
  return { line, next: lf + 1 };
}

/** quoted-string (RFC 9110 §5.6.4) at `i`; the index past it, or -1. */
function quotedStringEnd(s: string, i: number): number {
  if (s[i] !== '"') return -1;
  for (i++; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c === 0x5c) {
      const d = s.charCodeAt(++i);
      if (!(isWs(d) || isVchar(d) || isObsText(d))) return -1;
    } else if (!(isWs(c) || c === 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || isObsText(c))) return -1;
  }
  return -1;
}

/**
 * chunk-size [ chunk-ext ] (RFC 9112 §7.1.1); the size, or a string for an invalid line.
 * chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ).
 * ferry: 1 to 15 hex digits (no overflow, RFC 9112 §7.1.1 asks recipients to guard against it).
 */
function chunkSize(line: string, lenientExt: boolean): number | string {
  const m = /^[0-9A-Fa-f]+/.exec(line);
  if (!m || m[0].length > 15) return `invalid chunk size ${JSON.stringify(line)}`;
  const size = parseInt(m[0], 16);
  let i = m[0].length;
  const skipBws = () => {
    while (i < line.length && isWs(line.charCodeAt(i))) i++;
  };
  if (i === line.length) return size;
  if (lenientExt) {
    skipBws();
    if (line[i] !== ";") return `invalid chunk size line ${JSON.stringify(line)}`;
    for (let j = i; j < line.length; j++) {
      const c = line.charCodeAt(j);
      if (!(isWs(c) || isVchar(c) || isObsText(c))) return "invalid chunk extension";
    }
    return size;
  }
  while (i < line.length) {
    skipBws();
    if (line[i] !== ";") return `invalid chunk extension in ${JSON.stringify(line)}`;
    i++;
    skipBws();
    const name = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/.exec(line.slice(i));
    if (!name) return `invalid chunk extension name in ${JSON.stringify(line)}`;
    i += name[0].length;
    const save = i;
    skipBws();
    if (line[i] === "=") {
      i++;
      skipBws();
      const tok = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/.exec(line.slice(i));
      if (tok) i += tok[0].length;
      else {
        const end = quotedStringEnd(line, i);
        if (end < 0) return `invalid chunk extension value in ${JSON.stringify(line)}`;
        i = end;
      }
    } else i = save;
  }
  return size;
}

function parseChunked(s: string, bytes: Uint8Array, pos: number, lim: RefLimits, lenientExt: boolean): BodyResult {
  const parts: Uint8Array[] = [];
  const chunkLines: string[] = [];
  let total = 0;
  for (;;) {
    const l = bodyLine(s, pos, lim.maxChunkLine);
    if (!("line" in l)) return l;
    const size = chunkSize(l.line, lenientExt);
    if (typeof size === "string") return reject("body", size);
    if (total + size > lim.maxBody) return reject("body", "body larger than the limit");
    total += size;
    chunkLines.push(l.line);
    pos = l.next;
    if (size === 0) break;
    if (s.length - pos < size) return reject("body", "chunk data cut short", true);
    parts.push(bytes.subarray(pos, pos + size));
    pos += size;
    // chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
    if (s.length - pos < 2) {
      if (s.length - pos === 1 && s[pos] !== "\r") return reject("body", "chunk data not followed by CRLF");
      return reject("body", "chunk data cut short", true);
    }
    if (s[pos] !== "\r" || s[pos + 1] !== "\n") return reject("body", "chunk data not followed by CRLF");
    pos += 2;
  }
  // trailer-section = *( field-line CRLF ), then CRLF (RFC 9112 §7.1.2).
  const trailers: RefField[] = [];
  let used = 0;
  for (;;) {
    const l = bodyLine(s, pos, lim.maxTrailerBytes - used);
    if (!("line" in l)) return l;
    pos = l.next;
    if (l.line === "") break;
    if (trailers.length >= lim.maxTrailerFields) return reject("body", "too many trailer fields");
    const f = parseFieldLine(l.line);
    if (typeof f === "string") return reject("body", `trailer: ${f}`);
    // RFC 9110 §6.5.1: framing, routing, request modifiers, authentication, response control
    // and content-processing fields may not be trailers; ferry refuses the message.
    if (NOT_IN_TRAILERS.has(asciiLower(f[0]))) return reject("body", `trailer: ${f[0]} is not allowed in a trailer section`);
    trailers.push(f);
    used += l.line.length + 2;
  }
  return { ok: true, body: concatBytes(parts), trailers, chunkLines, end: pos };
}

/** Listed independently of lib/http/forbidden_trailers.ts, from RFC 9110 §6.5.1 and the sections it points to. */
const NOT_IN_TRAILERS = new Set([
  "content-length", "transfer-encoding", "host", "connection", "keep-alive", "proxy-connection", "te", "trailer",
  "upgrade", "cache-control", "expect", "max-forwards", "pragma", "range", "if-match", "if-none-match",
  "if-modified-since", "if-unmodified-since", "if-range", "authorization", "proxy-authorization", "www-authenticate",
  "proxy-authenticate", "cookie", "set-cookie", "age", "expires", "date", "location", "retry-after", "vary", "warning",
  "content-encoding", "content-type", "content-range",
]);

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function readBody(
  s: string,
  bytes: Uint8Array,
  headEnd: number,
  framing: RefBody["framing"],
  length: number,
  lim: RefLimits,
  opts: RefOptions,
): BodyResult {
  const empty = { ok: true as const, body: new Uint8Array(0), trailers: [], chunkLines: [] };
  switch (framing) {
    case "none":
      return { ...empty, end: headEnd };
    case "length":
      if (bytes.length - headEnd < length) return reject("body", "body shorter than Content-Length", true);
      return { ...empty, body: bytes.subarray(headEnd, headEnd + length), end: headEnd + length };
    case "close":
      if (opts.eof === false) return reject("body", "close-delimited body not ended yet", true);
      return { ...empty, body: bytes.subarray(headEnd), end: bytes.length };
    case "chunked":
      return parseChunked(s, bytes, headEnd, lim, opts.lenientChunkExt ?? false);
  }
}

// --- requests ------------------------------------------------------------------------------

/** The next request in `bytes` at `from`. */
export function refParseRequest(bytes: Uint8Array, from = 0, opts: RefOptions = {}): RefResult<RefRequest> {
  const lim = { ...DEFAULT_REF_LIMITS, ...opts.limits };
  const s = chars(bytes);
  const head = readHead(s, from, lim, true);
  if ("ok" in head) return head;

  // request-line = method SP request-target SP HTTP-version (RFC 9112 §3)
  const parts = head.startLine.split(" ");
  if (parts.length !== 3) return reject("head", "request line is not three parts split by single spaces");
  const [method, target, version] = parts;
  if (!isToken(method)) return reject("head", "method is not a token");
  // HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 §2.3); ferry speaks 1.0 and 1.1.
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") return reject("head", `unsupported version ${JSON.stringify(version)}`);

  const fields = parseFields(head.fieldLines, lim.maxFields);
  if (typeof fields === "string") return reject("head", fields);

  // ferry: CONNECT (authority-form, RFC 9112 §3.2.3) is not proxied: 501 (RFC 9110 §9.3.6).
  if (method === "CONNECT") return reject("head", "CONNECT is not supported");
  let targetAuthority: string | null = null;
  let targetScheme = "";
  if (target.startsWith("/")) {
    // origin-form = absolute-path [ "?" query ]
    if (!isPathAndQuery(target, opts.lenientTarget ?? false)) return reject("head", "invalid origin-form target");
  } else if (target === "*") {
    // asterisk-form, OPTIONS only (RFC 9112 §3.2.4)
    if (method !== "OPTIONS") return reject("head", "asterisk-form without OPTIONS");
  } else {
    // absolute-form = absolute-URI (RFC 9112 §3.2.2). ferry: http and https only (a gateway
    // to other schemes it is not); "//" authority required, userinfo refused and the host
    // non-empty (RFC 9110 §4.2.1, §4.2.4).
    const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/.exec(target);
    if (!m || !/^https?$/i.test(m[1])) return reject("head", "invalid request target");
    if (m[2].includes("@") || !isAuthority(m[2], false)) return reject("head", "invalid authority in absolute-form");
    if (m[3] !== "" && !m[3].startsWith("/") && !m[3].startsWith("?")) return reject("head", "invalid absolute-form");
    if (!isPathAndQuery(m[3], opts.lenientTarget ?? false)) return reject("head", "invalid path in absolute-form");
    targetAuthority = m[2];
    targetScheme = asciiLower(m[1]);
  }

  // RFC 9112 §3.2: 400 for a 1.1 request without Host, for any request with more than one,
  // and for an invalid one.
  const hosts = valuesOf(fields, "host");
  if (hosts.length > 1) return reject("head", "more than one Host");
  if (version === "HTTP/1.1" && hosts.length === 0) return reject("head", "HTTP/1.1 request without Host");
  if (hosts.length === 1 && !isAuthority(hosts[0], true)) return reject("head", "invalid Host");
  // ferry: with an absolute-form target, a Host that names another authority is refused rather
  // than ignored (RFC 9112 §3.2.2 says ignore): the backend might route by either.
  // The scheme's default port is the same as no port (RFC 9110 §4.2.3).
  const origin = (a: string) => asciiLower(a).replace(targetScheme === "https" ? /:443$/ : /:80$/, "");
  if (targetAuthority !== null && hosts.length === 1 && origin(hosts[0]) !== origin(targetAuthority)) {
    return reject("head", "Host differs from the target's authority");
  }

  const cl = contentLength(fields);
  if (typeof cl === "string") return reject("head", cl);
  const te = transferFraming(fields, version, cl !== undefined);
  if (te !== undefined && te !== "chunked") return reject("head", te);
  // RFC 9112 §6.3 rules 4-7: chunked, else Content-Length, else no body.
  const framing: RefBody["framing"] = te === "chunked" ? "chunked" : cl ? "length" : "none";
  if (framing === "length" && cl! > lim.maxBody) return reject("head", "body larger than the limit");

  const body = readBody(s, bytes, head.headEnd, framing, cl ?? 0, lim, opts);
  if (!body.ok) return body;
  return {
    ok: true,
    message: {
      method,
      target,
      version,
      fields,
      authority: targetAuthority ?? hosts[0] ?? null,
      keepAlive: keepAliveOf(version, fields),
      framing,
      body: body.body,
      trailers: body.trailers,
      chunkLines: body.chunkLines,
      start: head.start,
      headEnd: head.headEnd,
      end: body.end,
    },
  };
}

// --- responses -----------------------------------------------------------------------------

/** The next response in `bytes` at `from`, answering a `method` request. */
export function refParseResponse(bytes: Uint8Array, from: number, method: string, opts: RefOptions = {}): RefResult<RefResponse> {
  const lim = { ...DEFAULT_REF_LIMITS, ...opts.limits };
  const s = chars(bytes);
  const head = readHead(s, from, lim, false);
  if ("ok" in head) return head;

  // status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4), where
  // reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ). ferry: the SP before an empty reason may
  // be missing (a common omission that cannot be misread). status-code = 3DIGIT; RFC 9110 §15:
  // only 100 to 599 are valid, and ferry refuses the rest (a 502 is the 5xx a client is told to
  // read them as).
  const m = /^(HTTP\/1\.[01]) ([0-9]{3})(?: (.*))?$/.exec(head.startLine);
  if (!m) return reject("head", "malformed status line");
  const status = Number(m[2]);
  if (status < 100 || status > 599) return reject("head", "status code outside 100-599");
  const reason = m[3] ?? "";
  for (let i = 0; i < reason.length; i++) {
    const c = reason.charCodeAt(i);
    if (!(isWs(c) || isVchar(c) || isObsText(c))) return reject("head", "invalid reason phrase");
  }
  const version = m[1] as "HTTP/1.0" | "HTTP/1.1";
  const fields = parseFields(head.fieldLines, lim.maxFields);
  if (typeof fields === "string") return reject("head", fields);

  let framing: RefBody["framing"];
  let length = 0;
  // RFC 9112 §6.3 rule 1: no body after HEAD, 1xx, 204 or 304, whatever the fields say (so
  // they are not interpreted as framing at all).
  if (method === "HEAD" || status < 200 || status === 204 || status === 304) framing = "none";
  else {
    const cl = contentLength(fields);
    if (typeof cl === "string") return reject("head", cl);
    // RFC 9112 §6.3 rule 3 lets Transfer-Encoding override Content-Length; ferry refuses both
    // together (a smuggling vector towards the client), like a request.
    const te = transferFraming(fields, version, cl !== undefined);
    if (te !== undefined && te !== "chunked") return reject("head", te);
    if (te === "chunked") framing = "chunked";
    else if (cl !== undefined) {
      framing = cl === 0 ? "none" : "length";
      length = cl;
    } else framing = "close"; // rule 8
  }
  const body = readBody(s, bytes, head.headEnd, framing, length, lim, opts);
  if (!body.ok) return body;
  return {
    ok: true,
    message: {
      version,
      status,
      reason,
      fields,
      keepAlive: framing !== "close" && keepAliveOf(version, fields),
      framing,
      body: body.body,
      trailers: body.trailers,
      chunkLines: body.chunkLines,
      start: head.start,
      headEnd: head.headEnd,
      end: body.end,
    },
  };
}
